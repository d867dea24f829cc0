//! Agents: their specs (from `agents.yaml`), their prompts, and the run loop that collects
//! evidence and reasons about it.

mod engine;
pub mod probe_policy;
mod prompt;
pub mod spec;

pub use engine::{Analysis, Engine, EngineError};
pub use prompt::render_prompt;
pub use spec::{AgentSpec, CollectCall, LabelRule, MatchRules, MissingField, RegexRule};
