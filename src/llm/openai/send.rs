//! One chat-completion request on the wire, and what to do when the server says no: a 429 is
//! retried after its `Retry-After` only while that ends inside the run deadline, a 5xx after a
//! short pause, both at most `llm.max_retries` times; a 400 that names `response_format` or
//! tools downgrades what is sent (strict schema → `json_object` → text; tools → none) and the
//! loop resends.

use std::sync::atomic::Ordering;

use async_openai::error::OpenAIError;
use async_openai::types::chat::{CreateChatCompletionRequest, CreateChatCompletionResponse};
use tokio::time::Instant;

use super::transport::HttpFailure;
use super::{LlmReasoner, MODES, OutputMode, SERVER_BACKOFF};
use crate::llm::LlmFailure;
use crate::rca::LlmUsage;
use crate::redact::redact_string;

/// Why a request got no usable response.
pub(super) enum SendError {
    Failed(LlmFailure),
    /// The server refused `response_format` or tools; the loop downgraded and may resend.
    Downgraded,
}

impl LlmReasoner {
    /// Send one request, retrying 429 (within `Retry-After`) and 5xx inside the deadline.
    pub(super) async fn send(
        &self,
        request: CreateChatCompletionRequest,
        deadline: Instant,
        started: Instant,
        usage: &mut LlmUsage,
    ) -> Result<CreateChatCompletionResponse, SendError> {
        let timed_out = || {
            SendError::Failed(LlmFailure::TimedOut {
                after_secs: started.elapsed().as_secs_f64(),
            })
        };
        let bytes = serde_json::to_vec(&request).map_or(0, |b| b.len() as u64);
        let mut retries = 0;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(timed_out());
            }
            usage.requests += 1;
            usage.request_bytes += bytes;
            let answer = tokio::time::timeout(deadline - now, self.client.create(request.clone()));
            let err = match answer.await {
                Err(_) => return Err(timed_out()),
                Ok(Ok(response)) => {
                    match &response.usage {
                        Some(u) => {
                            usage.prompt_tokens += u64::from(u.prompt_tokens);
                            usage.completion_tokens += u64::from(u.completion_tokens);
                        }
                        None => {
                            // No usage reported: about four bytes a token.
                            usage.prompt_tokens += bytes / 4;
                            usage.completion_tokens += response
                                .choices
                                .first()
                                .and_then(|c| c.message.content.as_ref())
                                .map_or(0, |c| c.len() as u64 / 4);
                        }
                    }
                    return Ok(response);
                }
                Ok(Err(e)) => e,
            };
            let failure = match err {
                OpenAIError::Boxed(boxed) => match boxed.downcast::<HttpFailure>() {
                    Ok(http) => *http,
                    Err(other) => {
                        return Err(SendError::Failed(LlmFailure::Unreachable {
                            detail: redact_string(&other.to_string()),
                        }));
                    }
                },
                OpenAIError::Reqwest(e) => {
                    let detail = if e.is_connect() {
                        "connection failed".to_string()
                    } else if e.is_timeout() {
                        return Err(timed_out());
                    } else {
                        redact_string(&e.without_url().to_string())
                    };
                    return Err(SendError::Failed(LlmFailure::Unreachable { detail }));
                }
                OpenAIError::JSONDeserialize(e, _) => {
                    return Err(SendError::Failed(LlmFailure::Rejected {
                        status: 200,
                        message: format!("the reply is not a chat completion: {e}"),
                    }));
                }
                other => {
                    return Err(SendError::Failed(LlmFailure::Unreachable {
                        detail: redact_string(&other.to_string()),
                    }));
                }
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            match failure.status {
                429 => {
                    let wait = failure
                        .retry_after
                        .unwrap_or(SERVER_BACKOFF * 2u32.pow(retries));
                    if retries >= self.settings.max_retries || wait >= remaining {
                        return Err(SendError::Failed(LlmFailure::RateLimited {
                            retry_after_secs: failure
                                .retry_after
                                .filter(|w| *w >= remaining)
                                .map(|w| w.as_secs_f64().ceil() as u64),
                        }));
                    }
                    tracing::info!(
                        wait_ms = wait.as_millis() as u64,
                        "LLM rate-limited (429); retrying after Retry-After"
                    );
                    tokio::time::sleep(wait).await;
                }
                s if s >= 500 => {
                    let wait = SERVER_BACKOFF.min(remaining / 4);
                    if retries >= self.settings.max_retries || remaining < SERVER_BACKOFF * 2 {
                        return Err(SendError::Failed(LlmFailure::Server { status: s }));
                    }
                    tracing::info!(status = s, "LLM endpoint error; retrying once more");
                    tokio::time::sleep(wait).await;
                }
                400 if self.downgrade(&failure.message, request.tools.is_some()) => {
                    return Err(SendError::Downgraded);
                }
                status => {
                    return Err(SendError::Failed(LlmFailure::Rejected {
                        status,
                        message: failure.message,
                    }));
                }
            }
            retries += 1;
        }
    }

    /// After a 400: stop sending what the server refused (`response_format`, then tools), if
    /// the message names it and the configuration allows. True when something changed.
    fn downgrade(&self, message: &str, sent_tools: bool) -> bool {
        let m = message.to_ascii_lowercase();
        if self.settings.output == OutputMode::Auto
            && (m.contains("response_format")
                || m.contains("json_schema")
                || m.contains("json schema"))
        {
            let now = self.mode.load(Ordering::Relaxed);
            if usize::from(now) + 1 < MODES.len() {
                self.mode.store(now + 1, Ordering::Relaxed);
                tracing::warn!(mode = ?self.mode(), "the LLM endpoint refused the response format; asking for JSON in a simpler way");
                return true;
            }
        }
        if sent_tools && m.contains("tool") && self.tools_supported.swap(false, Ordering::Relaxed) {
            tracing::warn!("the LLM endpoint refused function calling; continuing without tools");
            return true;
        }
        false
    }
}
