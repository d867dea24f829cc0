//! Reasoners: turn an alert and its evidence into an [`Rca`].
//!
//! [`offline::OfflineReasoner`] is deterministic and evidence-driven; it is the default when no
//! LLM is configured and the fallback when the LLM fails. [`openai::LlmReasoner`] (OpenAI, Azure
//! OpenAI or any OpenAI-compatible endpoint) implements the same trait: it reads the rendered
//! prompt, may call the agent's tools through [`ToolAccess`], and its answer is checked against
//! the evidence by [`grounding`]. [`digest`] is the compact form of the evidence it is sent.

pub mod digest;
pub mod grounding;
pub mod offline;
pub mod openai;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use futures::future::BoxFuture;

use crate::agent::AgentSpec;
use crate::alert::Alert;
use crate::evidence::{Evidence, ToolCall, ToolOutput};
use crate::rca::{LlmUsage, Rca};
use crate::router::Route;
use crate::target::Target;
use crate::tools::ToolDescriptor;

/// The tools a reasoner may call for one run: the routed agent's, read-only, within the probe
/// policy. A refused or failed call is an answer (`NoData`/`Failed`), never an error.
pub trait ToolAccess: Send + Sync {
    /// The tools the reasoner may call (name, description, JSON schema of the arguments).
    fn descriptors(&self) -> Vec<ToolDescriptor>;
    /// Run one call (or refuse it, saying why in the output).
    fn call(&self, call: ToolCall) -> BoxFuture<'_, ToolOutput>;
}

/// Everything a reasoner may look at for one alert.
#[derive(Clone, Copy)]
pub struct ReasonInput<'a> {
    pub alert: &'a Alert,
    pub route: &'a Route,
    pub agent: &'a AgentSpec,
    /// The agent's prompt file, rendered for this alert (empty when the reasoner said it does
    /// not want it).
    pub prompt: &'a str,
    pub evidence: &'a Evidence,
    /// The object the alert is about, as resolved and refined on the evidence.
    pub target: &'a Target,
    /// The agent's tools, for a reasoner that calls tools (`None`: no tool calls).
    pub tools: Option<&'a dyn ToolAccess>,
    /// When the reasoner must have answered (`None`: no deadline of its own).
    pub deadline: Option<tokio::time::Instant>,
}

impl fmt::Debug for ReasonInput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReasonInput")
            .field("alert", &self.alert.title)
            .field("agent", &self.agent.name)
            .field("prompt_bytes", &self.prompt.len())
            .field("outputs", &self.evidence.outputs.len())
            .field("tools", &self.tools.is_some())
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Why an LLM's answer was not used. Its `Display` is what the footer shows after `offline (`.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmFailure {
    /// No answer before the run deadline.
    TimedOut { after_secs: f64 },
    /// 429 and the `Retry-After` would outlast the deadline (or the retries ran out).
    RateLimited { retry_after_secs: Option<u64> },
    /// 5xx from the endpoint.
    Server { status: u16 },
    /// Any other refusal of the request (401, 404, 400…), with the endpoint's message.
    Rejected { status: u16, message: String },
    /// The endpoint could not be reached (connection refused, DNS, TLS).
    Unreachable { detail: String },
    /// The answer was not a valid RCA, twice (the second after a repair request).
    InvalidAnswer { detail: String },
    /// The model refused (`refusal`, or a content filter).
    Refused { detail: String },
    /// The root cause cites nothing that was observed.
    Ungrounded,
    /// The step or token budget ran out before an answer.
    BudgetExhausted { what: String },
}

impl fmt::Display for LlmFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LlmFailure::TimedOut { after_secs } => {
                write!(f, "LLM timed out after {} s", short_secs(*after_secs))
            }
            LlmFailure::RateLimited {
                retry_after_secs: Some(s),
            } => write!(
                f,
                "LLM rate-limited (429, Retry-After {s} s beyond the deadline)"
            ),
            LlmFailure::RateLimited {
                retry_after_secs: None,
            } => write!(f, "LLM rate-limited (429)"),
            LlmFailure::Server { status } => write!(f, "LLM endpoint error (HTTP {status})"),
            LlmFailure::Rejected { status, message } if message.is_empty() => {
                write!(f, "LLM request rejected (HTTP {status})")
            }
            LlmFailure::Rejected { status, message } => {
                write!(f, "LLM request rejected (HTTP {status}: {message})")
            }
            LlmFailure::Unreachable { detail } => write!(f, "LLM endpoint unreachable: {detail}"),
            LlmFailure::InvalidAnswer { detail } => {
                write!(f, "LLM answered invalid JSON twice: {detail}")
            }
            LlmFailure::Refused { detail } => write!(f, "LLM refused: {detail}"),
            LlmFailure::Ungrounded => {
                write!(f, "the LLM's root cause cited nothing observed")
            }
            LlmFailure::BudgetExhausted { what } => {
                write!(f, "LLM used its {what} without answering")
            }
        }
    }
}

/// `30`, `2.5`: seconds as a person writes them.
fn short_secs(secs: f64) -> String {
    if secs >= 10.0 || (secs - secs.round()).abs() < 0.05 {
        format!("{:.0}", secs.round())
    } else {
        format!("{secs:.1}")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReasonError {
    #[error("the model did not answer in time")]
    Timeout,
    #[error("the model's answer was not a valid RCA: {0}")]
    InvalidAnswer(String),
    #[error("the model endpoint failed: {0}")]
    Backend(String),
    /// The LLM was not used, and what it cost before that.
    #[error("{failure}")]
    Llm {
        failure: LlmFailure,
        usage: Box<LlmUsage>,
    },
}

/// Boxed future returned by [`Reasoner::reason`] (object-safe, `Send`).
pub type ReasonFuture<'a> = Pin<Box<dyn Future<Output = Result<Rca, ReasonError>> + Send + 'a>>;

/// Produces an RCA from an alert and its evidence.
pub trait Reasoner: Send + Sync {
    /// Short name shown in the reply footer (`offline`, `llm:gpt-4o`).
    fn name(&self) -> String;
    /// Whether this reasoner reads the rendered prompt. The prompt embeds all the evidence, so
    /// the engine skips building it for reasoners that work on the typed evidence.
    fn wants_prompt(&self) -> bool {
        true
    }
    /// Bytes of evidence the rendered prompt may carry.
    fn prompt_budget(&self) -> usize {
        digest::DEFAULT_EVIDENCE_BYTES
    }
    fn reason<'a>(&'a self, input: ReasonInput<'a>) -> ReasonFuture<'a>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_read_well_in_the_footer() {
        assert_eq!(
            LlmFailure::TimedOut { after_secs: 30.02 }.to_string(),
            "LLM timed out after 30 s"
        );
        assert_eq!(
            LlmFailure::TimedOut { after_secs: 2.46 }.to_string(),
            "LLM timed out after 2.5 s"
        );
        assert_eq!(
            LlmFailure::Server { status: 503 }.to_string(),
            "LLM endpoint error (HTTP 503)"
        );
    }
}
