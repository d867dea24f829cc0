//! The LLM reasoner: OpenAI, Azure OpenAI or any OpenAI-compatible server, through async-openai.
//!
//! One run is a short loop of chat completions inside the run deadline:
//!
//! 1. Our system message ([`messages::system_prompt`]) and one user message: the agent's prompt
//!    rendered with the alert and the evidence digest as fenced data, plus the offline
//!    analyzer's root cause and hypotheses as a second opinion. The answer is asked for as
//!    strict `json_schema` where the server takes it (else `json_object`, else JSON in text:
//!    [`settings::OutputMode`]).
//! 2. Evidence first ([`ToolPolicy::WhenUnsure`], the default): that first request carries no
//!    tool definitions, and its answer is a draft. A sure draft (confidence at least
//!    `investigate_below`, or nothing listed as missing) is the answer: one request. An unsure
//!    one is kept, and the agent's read-only tools are offered as functions to check what it
//!    lists as missing; if that follow-up fails, the draft is the answer. With `tools: always`
//!    the tools are offered from the first request.
//! 3. While the model calls tools (at most `max_tool_calls`, `max_steps` requests, 80 % of
//!    `max_total_tokens`), each call goes through [`ToolAccess`] (the agent's patterns, the
//!    probe policy) and its digest comes back as fenced data. On the last step the model is told
//!    to answer.
//! 4. The answer is parsed ([`answer::parse`]); an unusable one gets one repair request, then
//!    the run fails. A usable one is checked against the alert and every tool output
//!    ([`crate::llm::grounding`]): unsupported claims are marked and cost confidence, and a root
//!    cause that cites nothing observed fails the run.
//!
//! Each request is sent once by [`transport::Transport`]; a 429 is retried after its
//! `Retry-After` only if that ends inside the deadline, a 5xx after a short pause, both at most
//! `max_retries` times. Any failure is a [`ReasonError::Llm`] with what was spent, and the
//! engine answers with the offline RCA, its footer saying why.

pub mod answer;
pub mod messages;
pub mod provider;
mod send;
pub mod settings;
pub mod transport;

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use async_openai::types::chat::{
    ChatCompletionMessageToolCalls, ChatCompletionRequestAssistantMessage,
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestToolMessage, ChatCompletionRequestUserMessage,
    ChatCompletionToolChoiceOption, CreateChatCompletionRequest, FinishReason, ResponseFormat,
    ResponseFormatJsonSchema, ToolChoiceOptions,
};
use tokio::time::Instant;

use super::grounding::{self, Haystack};
use super::{LlmFailure, ReasonError, ReasonFuture, ReasonInput, Reasoner, offline};
use crate::evidence::{ToolCall, ToolOutcome, ToolOutput};
use crate::rca::{LlmUsage, Rca};
use crate::redact::redact_string;
pub use provider::{ChatClient, LlmEnv, LlmEnvError, Provider};
use send::SendError;
pub use settings::{LlmSettings, OutputMode, Price, ToolPolicy};

/// Deadline of a run when the engine gives none.
const DEFAULT_BUDGET: Duration = Duration::from_secs(120);
/// Longest pause before retrying a 5xx.
const SERVER_BACKOFF: Duration = Duration::from_millis(500);

/// The structured-output modes, from most to least structured.
const MODES: [OutputMode; 3] = [
    OutputMode::JsonSchema,
    OutputMode::JsonObject,
    OutputMode::Text,
];

/// The LLM reasoner (name `llm:<model>`).
pub struct LlmReasoner {
    env: LlmEnv,
    client: ChatClient,
    settings: LlmSettings,
    /// Index into [`MODES`]; moves down when the server refuses a `response_format`.
    mode: AtomicU8,
    /// Cleared when the server refuses function calling.
    tools_supported: AtomicBool,
}

/// What `config check --probe` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeAnswer {
    /// The model that answered, as the endpoint names it.
    pub model: String,
    pub elapsed: Duration,
}

impl LlmReasoner {
    /// Over the process's HTTP client (one per process).
    pub fn new(env: LlmEnv, settings: LlmSettings, http: reqwest::Client) -> LlmReasoner {
        let client = ChatClient::new(&env, http);
        let mode = match settings.output {
            OutputMode::Auto | OutputMode::JsonSchema => 0,
            OutputMode::JsonObject => 1,
            OutputMode::Text => 2,
        };
        LlmReasoner {
            env,
            client,
            settings,
            mode: AtomicU8::new(mode),
            tools_supported: AtomicBool::new(true),
        }
    }

    /// The reasoner the environment configures, `Ok(None)` without a key.
    pub fn from_env(
        lookup: &dyn Fn(&str) -> Option<String>,
        settings: LlmSettings,
        http: reqwest::Client,
    ) -> Result<Option<LlmReasoner>, LlmEnvError> {
        Ok(LlmEnv::from_lookup(lookup)?.map(|env| LlmReasoner::new(env, settings, http)))
    }

    pub fn env(&self) -> &LlmEnv {
        &self.env
    }

    pub fn settings(&self) -> &LlmSettings {
        &self.settings
    }

    fn mode(&self) -> OutputMode {
        MODES[usize::from(self.mode.load(Ordering::Relaxed)).min(MODES.len() - 1)]
    }

    /// One tiny request: which model answers, and how fast.
    pub async fn probe(&self, timeout: Duration) -> Result<ProbeAnswer, LlmFailure> {
        let started = Instant::now();
        let mut usage = LlmUsage::default();
        let request = self.request(
            vec![ChatCompletionRequestUserMessage::from("Reply with the single word: ok").into()],
            None,
            false,
            16,
        );
        match self
            .send(request, started + timeout, started, &mut usage)
            .await
        {
            Ok(response) => Ok(ProbeAnswer {
                model: response.model,
                elapsed: started.elapsed(),
            }),
            Err(SendError::Failed(f)) => Err(f),
            Err(SendError::Downgraded) => Err(LlmFailure::Rejected {
                status: 400,
                message: "the request was refused".into(),
            }),
        }
    }

    /// A chat-completion request.
    #[allow(deprecated)] // `max_tokens`: what OpenAI-compatible servers read
    fn request(
        &self,
        messages: Vec<ChatCompletionRequestMessage>,
        tools: Option<&[async_openai::types::chat::ChatCompletionTools]>,
        answer_now: bool,
        max_tokens: u32,
    ) -> CreateChatCompletionRequest {
        let mut r = CreateChatCompletionRequest {
            model: self.env.model().to_string(),
            messages,
            temperature: self.settings.temperature,
            ..Default::default()
        };
        if self.env.is_openai_proper() {
            r.max_completion_tokens = Some(max_tokens);
        } else {
            r.max_tokens = Some(max_tokens);
        }
        if let Some(tools) = tools.filter(|t| !t.is_empty()) {
            r.tools = Some(tools.to_vec());
            r.tool_choice = Some(ChatCompletionToolChoiceOption::Mode(if answer_now {
                ToolChoiceOptions::None
            } else {
                ToolChoiceOptions::Auto
            }));
        }
        r.response_format = match self.mode() {
            OutputMode::JsonSchema => Some(ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: Some("Root-cause analysis of the alert".into()),
                    name: "rca".into(),
                    schema: answer::rca_schema(),
                    strict: Some(true),
                },
            }),
            OutputMode::JsonObject => Some(ResponseFormat::JsonObject),
            OutputMode::Text | OutputMode::Auto => None,
        };
        r
    }

    async fn run(&self, input: ReasonInput<'_>) -> Result<Rca, ReasonError> {
        let started = Instant::now();
        let deadline = input.deadline.unwrap_or(started + DEFAULT_BUDGET);
        let mut usage = LlmUsage {
            model: self.env.model().to_string(),
            ..LlmUsage::default()
        };
        let result = self.converse(input, started, deadline, &mut usage).await;
        usage.llm_ms = started.elapsed().as_millis() as u64;
        usage.cost_usd =
            self.settings
                .cost(&usage.model, usage.prompt_tokens, usage.completion_tokens);
        match result {
            Ok(mut rca) => {
                rca.usage = Some(usage);
                Ok(rca)
            }
            Err(failure) => Err(ReasonError::Llm {
                failure,
                usage: Box::new(usage),
            }),
        }
    }

    /// The loop, and what an unsure draft is worth when the follow-up fails: the draft itself
    /// (grounded already), saying in its missing evidence why it was not checked further.
    async fn converse(
        &self,
        input: ReasonInput<'_>,
        started: Instant,
        deadline: Instant,
        usage: &mut LlmUsage,
    ) -> Result<Rca, LlmFailure> {
        let mut draft = None;
        let result = self
            .conversation(input, started, deadline, usage, &mut draft)
            .await;
        match (result, draft) {
            (Err(failure), Some(mut rca)) => {
                tracing::warn!(%failure, "the LLM's follow-up with tools failed; answering with its draft");
                rca.missing_evidence.push(format!(
                    "the follow-up tool calls did not finish: {failure}"
                ));
                Ok(rca)
            }
            (result, _) => result,
        }
    }

    /// The loop: requests, tool calls, the answer, its check. With `tools: when_unsure` the
    /// first answer is a draft from the up-front evidence; an unsure one is kept in `draft`
    /// while the model checks what it lists as missing with the tools.
    async fn conversation(
        &self,
        input: ReasonInput<'_>,
        started: Instant,
        deadline: Instant,
        usage: &mut LlmUsage,
        draft: &mut Option<Rca>,
    ) -> Result<Rca, LlmFailure> {
        let s = &self.settings;
        let offline = offline::analyze_for(
            input.alert,
            &input.route.agent,
            input.evidence,
            input.target,
        );
        let descriptors = input.tools.map(|t| t.descriptors()).unwrap_or_default();
        let defs = messages::tool_definitions(&descriptors);
        let mut called: Vec<ToolOutput> = Vec::new();
        let mut history: Vec<ChatCompletionRequestMessage> = vec![
            ChatCompletionRequestUserMessage::from(redact_string(&messages::first_message(
                input.prompt,
                &offline,
            )))
            .into(),
        ];
        let mut repaired = false;
        let mut steps = 0u32;
        let mut investigating = s.tools == ToolPolicy::Always;
        loop {
            let tools_usable = !defs.is_empty()
                && input.tools.is_some()
                && s.max_tool_calls > 0
                && self.tools_supported.load(Ordering::Relaxed);
            let tools_on = tools_usable && investigating;
            let answer_now = steps + 1 >= s.max_steps + u32::from(repaired)
                || usage.tool_calls >= s.max_tool_calls
                || usage.total_tokens() * 5 >= s.max_total_tokens * 4;
            // The one repair request comes on top of the budget.
            if steps >= s.max_steps + u32::from(repaired) {
                return Err(LlmFailure::BudgetExhausted {
                    what: format!("{} requests", s.max_steps),
                });
            }
            if usage.total_tokens() >= s.max_total_tokens {
                return Err(LlmFailure::BudgetExhausted {
                    what: format!("{} tokens", s.max_total_tokens),
                });
            }
            let tools_now = if tools_on {
                messages::Tools::Offered
            } else if tools_usable && draft.is_none() && steps + 2 <= s.max_steps {
                messages::Tools::IfUnsure
            } else {
                messages::Tools::None
            };
            let system = messages::system_prompt(
                s.max_tool_calls,
                tools_now,
                self.mode() != OutputMode::JsonSchema,
            );
            let mut all: Vec<ChatCompletionRequestMessage> =
                vec![ChatCompletionRequestSystemMessage::from(system).into()];
            all.extend(history.iter().cloned());
            let request = self.request(
                all,
                tools_on.then_some(defs.as_slice()),
                answer_now,
                s.max_tokens,
            );
            steps += 1;
            let response = match self.send(request, deadline, started, usage).await {
                Ok(r) => r,
                Err(SendError::Downgraded) => {
                    steps -= 1;
                    continue;
                }
                Err(SendError::Failed(f)) => return Err(f),
            };
            let Some(choice) = response.choices.into_iter().next() else {
                return Err(LlmFailure::Rejected {
                    status: 200,
                    message: "the reply has no choices".into(),
                });
            };
            let message = choice.message;
            if let Some(refusal) = message.refusal.filter(|r| !r.trim().is_empty()) {
                return Err(LlmFailure::Refused {
                    detail: clip(&redact_string(&refusal), 120),
                });
            }
            if choice.finish_reason == Some(FinishReason::ContentFilter) {
                return Err(LlmFailure::Refused {
                    detail: "content filter".into(),
                });
            }
            let calls: Vec<_> = message
                .tool_calls
                .clone()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| match c {
                    ChatCompletionMessageToolCalls::Function(f) => Some(f),
                    ChatCompletionMessageToolCalls::Custom(_) => None,
                })
                .collect();
            if !calls.is_empty() {
                history.push(
                    ChatCompletionRequestAssistantMessage {
                        content: message.content.clone().map(Into::into),
                        tool_calls: message.tool_calls.clone(),
                        ..Default::default()
                    }
                    .into(),
                );
                for call in calls {
                    usage.tool_calls += 1;
                    let content = match (
                        input.tools,
                        answer_now || usage.tool_calls > s.max_tool_calls,
                    ) {
                        (Some(tools), false) => {
                            let output = self
                                .call_tool(
                                    tools,
                                    &call.function.name,
                                    &call.function.arguments,
                                    deadline,
                                )
                                .await;
                            let text = messages::tool_result(&output, s.tool_result_bytes);
                            called.push(output);
                            text
                        }
                        (None, _) => "not run: no tools are available".to_string(),
                        (_, true) => {
                            "not run: the tool-call budget is used; answer now".to_string()
                        }
                    };
                    history.push(
                        ChatCompletionRequestToolMessage {
                            content: redact_string(&content).into(),
                            tool_call_id: call.id,
                        }
                        .into(),
                    );
                }
                if answer_now {
                    history
                        .push(ChatCompletionRequestUserMessage::from(messages::ANSWER_NOW).into());
                }
                continue;
            }
            let content = message.content.unwrap_or_default();
            match answer::parse(&content) {
                Ok(mut rca) => {
                    rca.reasoner = format!("llm:{}", self.env.model());
                    let hay = Haystack::new(
                        input.alert,
                        input.evidence.outputs.iter().chain(called.iter()),
                    );
                    let verdict = grounding::check(&rca, &hay);
                    if hay.has_data() && !verdict.root_cause_grounded {
                        tracing::warn!(model = %self.env.model(), "the LLM's root cause cites nothing observed; using the offline analysis");
                        return Err(LlmFailure::Ungrounded);
                    }
                    grounding::apply(&mut rca, &verdict);
                    let unsure = rca.confidence.value() < s.investigate_below
                        && !rca.missing_evidence.is_empty();
                    if tools_now == messages::Tools::IfUnsure && unsure {
                        tracing::info!(
                            confidence = rca.confidence.value(),
                            "the LLM's draft is unsure; offering it the tools"
                        );
                        investigating = true;
                        answer_then(
                            &mut history,
                            &content,
                            messages::investigate(s.max_tool_calls),
                        );
                        *draft = Some(rca);
                        continue;
                    }
                    return Ok(rca);
                }
                Err(problem) if !repaired => {
                    repaired = true;
                    tracing::info!(problem = %clip(&redact_string(&problem), 200), "the LLM's answer is not a valid RCA; asking once to repair it");
                    answer_then(&mut history, &content, messages::repair(&problem));
                }
                Err(problem) => {
                    return Err(LlmFailure::InvalidAnswer {
                        detail: clip(&redact_string(&problem), 120),
                    });
                }
            }
        }
    }

    /// One tool call the model asked for, within the run deadline.
    async fn call_tool(
        &self,
        tools: &dyn super::ToolAccess,
        name: &str,
        arguments: &str,
        deadline: Instant,
    ) -> ToolOutput {
        let args = match serde_json::from_str::<serde_json::Value>(arguments) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(serde_json::Value::Null) => serde_json::Map::new(),
            _ => {
                return ToolOutput {
                    call: ToolCall {
                        tool: name.to_string(),
                        args: serde_json::Map::new(),
                    },
                    outcome: ToolOutcome::Failed {
                        error: "the arguments are not a JSON object".into(),
                    },
                    elapsed_ms: 0.0,
                    truncated: None,
                };
            }
        };
        let call = ToolCall {
            tool: name.to_string(),
            args,
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, tools.call(call.clone())).await {
            Ok(output) => output,
            Err(_) => ToolOutput {
                call,
                outcome: ToolOutcome::TimedOut {
                    after_ms: remaining.as_millis() as u64,
                },
                elapsed_ms: remaining.as_secs_f64() * 1000.0,
                truncated: None,
            },
        }
    }
}

/// The model's answer back into the conversation (redacted, at most 4,000 characters), then our
/// next request about it: a repair, or the offer of the tools after an unsure draft.
fn answer_then(history: &mut Vec<ChatCompletionRequestMessage>, answer: &str, next: String) {
    history.push(
        ChatCompletionRequestAssistantMessage {
            content: Some(redact_string(&clip(answer, 4000)).into()),
            ..Default::default()
        }
        .into(),
    );
    history.push(ChatCompletionRequestUserMessage::from(next).into());
}

/// At most `max` characters.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

impl Reasoner for LlmReasoner {
    fn name(&self) -> String {
        format!("llm:{}", self.env.model())
    }
    fn prompt_budget(&self) -> usize {
        self.settings.evidence_bytes
    }
    fn reason<'a>(&'a self, input: ReasonInput<'a>) -> ReasonFuture<'a> {
        Box::pin(self.run(input))
    }
}
