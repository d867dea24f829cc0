//! Slack Web API calls with the manners Slack asks for: per-channel pacing, 429 `Retry-After`,
//! retries with backoff on transient failures, and an error count per method.
//!
//! Calls go through slack-morphism's hyper client (so the base URL override and the TLS setup
//! are shared with the Socket Mode listener) but with JSON values in and out, because the
//! blocks we send are already JSON and the messages we read are handed to the alert parser as
//! JSON. `chat.postMessage` and `chat.postEphemeral` are paced to one message per
//! [`ApiConfig::pace`] per channel; every method honours `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use crate::config::Secret;
use crate::slack::metrics::Metrics;

/// The hyper connector type used for every Slack call (https, or http for a local fake).
pub type Connector = SlackClientHyperHttpsConnector;
/// The slack-morphism client over [`Connector`].
pub type Client = SlackClient<Connector>;

/// Default Web API base.
pub const DEFAULT_API_URL: &str = "https://slack.com/api/";

/// Tunables of the Web API caller.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Attempts per call for transient failures (429s are waited out separately).
    pub max_attempts: u32,
    /// First backoff; doubled per attempt.
    pub backoff: Duration,
    /// Minimum gap between two messages posted to one channel.
    pub pace: Duration,
    /// How many 429s one call waits out before giving up.
    pub max_rate_limited: u32,
    /// Upper bound on one `Retry-After` wait.
    pub max_retry_after: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_attempts: 4,
            backoff: Duration::from_millis(500),
            pace: Duration::from_secs(1),
            max_rate_limited: 10,
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// How a posted message queues for its channel's pacing slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Reserve the next slot (analyses, answers to people).
    Normal,
    /// Take a slot only when one is free now, after every reserved one (notices), so it never
    /// delays a normal message.
    Low,
}

/// A Web API call that failed for good.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// Slack answered `ok: false` with this code.
    #[error("Slack answered `{0}`")]
    Slack(String),
    /// Still rate limited after waiting out every `Retry-After`.
    #[error("still rate limited after {0} waits")]
    RateLimited(u32),
    /// Network or HTTP failure after every retry.
    #[error("transport failure: {0}")]
    Transport(String),
    /// The base URL or a response_url is not a URL.
    #[error("bad URL: {0}")]
    BadUrl(String),
}

impl ApiError {
    /// Short code for metrics labels.
    pub fn code(&self) -> String {
        match self {
            ApiError::Slack(c) => c.clone(),
            ApiError::RateLimited(_) => "ratelimited".into(),
            ApiError::Transport(_) => "transport".into(),
            ApiError::BadUrl(_) => "bad_url".into(),
        }
    }
}

/// Normalise a Web API base URL to what slack-morphism wants: no trailing slash.
pub fn normalise_api_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

/// The shared slack-morphism client for `api_url` (https, or plain http for local tests).
pub fn build_client(api_url: &str) -> Result<Arc<Client>, std::io::Error> {
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let https = match builder.with_native_roots() {
        Ok(b) => b.https_or_http().enable_http1().enable_http2().build(),
        Err(e) => {
            // No system roots (minimal containers): plain http still works, https will fail
            // with a clear TLS error at call time.
            tracing::warn!(error = %e, "no native TLS roots found; https calls will fail");
            let tls = rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_or_http()
                .enable_http1()
                .enable_http2()
                .build()
        }
    };
    let connector = SlackClientHyperConnector::with_connector(https)
        .with_slack_api_url(&normalise_api_url(api_url));
    Ok(Arc::new(SlackClient::new(connector)))
}

/// Classify an error: `Ok(wait)` to retry after `wait` (for 429: the Retry-After), `Err` to stop.
enum Verdict {
    RateLimited(Duration),
    Transient(String),
    Fatal(ApiError),
}

fn classify(err: &SlackClientError) -> Verdict {
    match err {
        SlackClientError::RateLimitError(e) => {
            Verdict::RateLimited(e.retry_after.unwrap_or(Duration::from_secs(1)))
        }
        SlackClientError::ApiError(e) => match e.code.as_str() {
            "ratelimited" => Verdict::RateLimited(Duration::from_secs(1)),
            "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
                Verdict::Transient(e.code.clone())
            }
            code => Verdict::Fatal(ApiError::Slack(code.to_string())),
        },
        SlackClientError::HttpError(e) => {
            if e.status_code.is_server_error() || e.status_code.as_u16() == 408 {
                Verdict::Transient(format!("HTTP {}", e.status_code))
            } else {
                Verdict::Fatal(ApiError::Transport(format!("HTTP {}", e.status_code)))
            }
        }
        SlackClientError::HttpProtocolError(e) => Verdict::Transient(e.to_string()),
        SlackClientError::EndOfStream(e) => Verdict::Transient(e.to_string()),
        SlackClientError::SystemError(e) => Verdict::Transient(e.to_string()),
        SlackClientError::ProtocolError(e) => {
            Verdict::Fatal(ApiError::Transport(format!("bad answer: {e}")))
        }
        SlackClientError::SocketModeProtocolError(e) => {
            Verdict::Fatal(ApiError::Transport(e.to_string()))
        }
    }
}

/// The bot's Web API caller.
pub struct SlackApi {
    client: Arc<Client>,
    token: SlackApiToken,
    cfg: ApiConfig,
    /// Per channel: the earliest instant the next message may go out.
    pacer: Mutex<HashMap<String, Instant>>,
    metrics: Arc<Metrics>,
}

impl SlackApi {
    pub fn new(
        client: Arc<Client>,
        bot_token: &Secret,
        cfg: ApiConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        SlackApi {
            client,
            token: SlackApiToken::new(SlackApiTokenValue(bot_token.expose().to_string())),
            cfg,
            pacer: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }

    pub fn config(&self) -> &ApiConfig {
        &self.cfg
    }

    /// The metrics every call counts into (shared with the bot's `/metrics`).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Wait for this channel's next posting slot.
    async fn pace(&self, channel: &str, priority: Priority) {
        if self.cfg.pace.is_zero() {
            return;
        }
        loop {
            let wait = {
                let Ok(mut map) = self.pacer.lock() else {
                    return;
                };
                let now = Instant::now();
                let next = map.get(channel).copied().unwrap_or(now).max(now);
                match priority {
                    Priority::Normal => {
                        map.insert(channel.to_string(), next + self.cfg.pace);
                        tokio::time::sleep_until(next.into())
                    }
                    // Free now: take it. Else wait for the last reserved slot and look again
                    // (a normal message may have reserved more meanwhile).
                    Priority::Low if next <= now => {
                        map.insert(channel.to_string(), now + self.cfg.pace);
                        return;
                    }
                    Priority::Low => tokio::time::sleep_until(next.into()),
                }
            };
            wait.await;
            if priority == Priority::Normal {
                return;
            }
        }
    }

    /// POST a JSON body to a Web API method, with pacing and retries.
    pub async fn post(&self, method: &str, body: &Value) -> Result<Value, ApiError> {
        self.post_with(method, body, Priority::Normal).await
    }

    /// [`SlackApi::post`] with a pacing priority for posted messages.
    pub async fn post_with(
        &self,
        method: &str,
        body: &Value,
        priority: Priority,
    ) -> Result<Value, ApiError> {
        // The last gate before Slack: no secret leaves in a message's text.
        let redacted;
        let body = if method.starts_with("chat.") {
            redacted = crate::redact::redact_text_fields(body);
            &redacted
        } else {
            body
        };
        if matches!(method, "chat.postMessage" | "chat.postEphemeral")
            && let Some(channel) = body.get("channel").and_then(Value::as_str)
        {
            self.pace(channel, priority).await;
        }
        self.with_retries(method, || async {
            let session = self.client.open_session(&self.token);
            session
                .http_session_api
                .http_post::<Value, Value>(method, body, None)
                .await
        })
        .await
    }

    /// GET a Web API method with query parameters, with retries.
    pub async fn get(&self, method: &str, params: &[(&str, String)]) -> Result<Value, ApiError> {
        self.with_retries(method, || async {
            let session = self.client.open_session(&self.token);
            let p: Vec<(&str, Option<&String>)> =
                params.iter().map(|(k, v)| (*k, Some(v))).collect();
            session
                .http_session_api
                .http_get::<Value, _, &String>(method, &p, None)
                .await
        })
        .await
    }

    /// POST to a `response_url` (slash commands, interactions), with retries. The URL carries
    /// its own authority: no token is sent with it (the bot token must never leave for a URL
    /// taken from a payload).
    pub async fn post_response_url(
        &self,
        url: &SlackResponseUrl,
        body: &Value,
    ) -> Result<Value, ApiError> {
        let body = &crate::redact::redact_text_fields(body);
        self.with_retries("response_url", || {
            let parsed = url.value().clone();
            async move {
                let span = tracing::debug_span!("Slack response_url");
                let context = slack_morphism::SlackClientApiCallContext {
                    rate_control_params: None,
                    token: None,
                    tracing_span: &span,
                    is_sensitive_url: true,
                };
                self.client
                    .http_api
                    .connector
                    .http_post_uri::<Value, Value>(parsed, body, context)
                    .await
            }
        })
        .await
    }

    async fn with_retries<F, Fut>(&self, method: &str, call: F) -> Result<Value, ApiError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Value, SlackClientError>>,
    {
        let mut attempts = 0u32;
        let mut waits = 0u32;
        let mut backoff = self.cfg.backoff;
        loop {
            let err = match call().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            match classify(&err) {
                Verdict::RateLimited(wait) => {
                    Metrics::inc(&self.metrics.slack_rate_limited);
                    waits += 1;
                    if waits > self.cfg.max_rate_limited {
                        let e = ApiError::RateLimited(waits - 1);
                        self.metrics.slack_api_errors.inc(&[method, &e.code()]);
                        return Err(e);
                    }
                    let wait = wait.min(self.cfg.max_retry_after);
                    tracing::info!(
                        method,
                        wait_ms = wait.as_millis() as u64,
                        "Slack rate limit; waiting Retry-After"
                    );
                    tokio::time::sleep(wait).await;
                }
                Verdict::Transient(why) => {
                    attempts += 1;
                    if attempts >= self.cfg.max_attempts.max(1) {
                        let e = ApiError::Transport(why);
                        self.metrics.slack_api_errors.inc(&[method, &e.code()]);
                        return Err(e);
                    }
                    tracing::info!(method, attempt = attempts, error = %why, "transient Slack failure; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                }
                Verdict::Fatal(e) => {
                    self.metrics.slack_api_errors.inc(&[method, &e.code()]);
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn low_priority_posts_wait_behind_reserved_slots() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = build_client("http://127.0.0.1:9/api/").expect("client");
        let cfg = ApiConfig {
            pace: Duration::from_millis(30),
            ..ApiConfig::default()
        };
        let api = Arc::new(SlackApi::new(
            client,
            &Secret::new("xoxb-test"),
            cfg,
            Arc::new(Metrics::default()),
        ));
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Three analyses reserve slots first; the notice asks after them.
        for (name, priority) in [
            ("rca1", Priority::Normal),
            ("rca2", Priority::Normal),
            ("rca3", Priority::Normal),
            ("notice", Priority::Low),
        ] {
            let api = api.clone();
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                api.pace("C1", priority).await;
                order.lock().expect("lock").push(name);
            }));
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.expect("task");
        }
        let order = order.lock().expect("lock").clone();
        assert_eq!(order.last(), Some(&"notice"), "{order:?}");
        // A notice in a quiet channel goes at once.
        let t = Instant::now();
        api.pace("C2", Priority::Low).await;
        assert!(
            api.pacer
                .lock()
                .expect("lock")
                .get("C2")
                .is_some_and(|n| *n > t)
        );
    }

    #[test]
    fn api_url_loses_trailing_slashes() {
        assert_eq!(
            normalise_api_url("https://slack.com/api/"),
            "https://slack.com/api"
        );
        assert_eq!(
            normalise_api_url("http://127.0.0.1:9/api"),
            "http://127.0.0.1:9/api"
        );
    }
}
