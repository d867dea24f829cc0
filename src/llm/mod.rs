//! Reasoners: turn an alert and its evidence into an [`Rca`].
//!
//! [`offline::OfflineReasoner`] is deterministic and evidence-driven; it is the default when no
//! LLM is configured and the fallback when the LLM fails. The LLM reasoner (OpenAI, Azure OpenAI
//! or any OpenAI-compatible endpoint) implements the same trait.

pub mod offline;

use std::future::Future;
use std::pin::Pin;

use crate::agent::AgentSpec;
use crate::alert::Alert;
use crate::evidence::Evidence;
use crate::rca::Rca;
use crate::router::Route;
use crate::target::Target;

/// Everything a reasoner may look at for one alert.
#[derive(Debug, Clone, Copy)]
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
}

#[derive(Debug, thiserror::Error)]
pub enum ReasonError {
    #[error("the model did not answer in time")]
    Timeout,
    #[error("the model's answer was not a valid RCA: {0}")]
    InvalidAnswer(String),
    #[error("the model endpoint failed: {0}")]
    Backend(String),
}

/// Boxed future returned by [`Reasoner::reason`] (object-safe, `Send`).
pub type ReasonFuture<'a> = Pin<Box<dyn Future<Output = Result<Rca, ReasonError>> + Send + 'a>>;

/// Produces an RCA from an alert and its evidence.
pub trait Reasoner: Send + Sync {
    /// Short name shown in the reply footer (`offline`, `llm:gpt-4o`).
    fn name(&self) -> String;
    /// Whether this reasoner reads the rendered prompt. The prompt embeds all the evidence as
    /// JSON, so the engine skips building it for reasoners that work on the typed evidence.
    fn wants_prompt(&self) -> bool {
        true
    }
    fn reason<'a>(&'a self, input: ReasonInput<'a>) -> ReasonFuture<'a>;
}
