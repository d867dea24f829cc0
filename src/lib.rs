//! sre-agent: turns an alert posted in Slack into a root-cause analysis in the alert's thread.
//!
//! The flow is a straight line of plain types, one module per stage:
//!
//! ```text
//! Slack event ─▶ alert::parse ─▶ pipeline (dedup, queue, workers) ─▶ router ─▶ agent::Engine
//!   (Alert)                         (Job)                           (Route)    │ tools::Toolbox (MCP) ─▶ Evidence
//!                                                                              │ llm::Reasoner        ─▶ Rca
//!                                                                              ▼
//!                                                               slack::blocks ─▶ thread reply
//! ```
//!
//! Every boundary with the outside world (Slack, SigNoz, Kubernetes, the network, an LLM) is a
//! trait with a fixture implementation beside the live one, so the offline replay and the tests
//! drive the very pipeline the bot runs.

pub mod agent;
pub mod alert;
pub mod config;
pub mod evidence;
pub mod findings;
pub mod llm;
pub mod pipeline;
pub mod rca;
pub mod redact;
pub mod router;
pub mod scenario;
pub mod slack;
pub mod target;
pub mod telemetry;
pub mod tools;
