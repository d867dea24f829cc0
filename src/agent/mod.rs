//! Agents: their specs (from `agents.yaml`), their prompts, and the run loop that collects
//! evidence and reasons about it.

mod engine;
pub mod probe_policy;
mod prompt;
pub mod spec;
mod tool_access;

pub use engine::{Analysis, Engine, EngineError};
pub use prompt::{data_block, render_prompt};
pub use spec::{AgentSpec, CollectCall, LabelRule, MatchRules, MissingField, RegexRule};
pub use tool_access::{AgentTools, WRITE_TOOLS};
