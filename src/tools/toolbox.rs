//! `Toolbox`: the in-process MCP client that reaches every embedded tool server. (stub)

use std::time::Duration;

use crate::evidence::{ToolCall, ToolOutcome, ToolOutput};
use crate::tools::{BackendError, Backends};

/// A tool as the MCP server lists it (name, description, JSON schema of its arguments).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDescriptor {
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
}

/// Connected clients to every embedded tool server.
pub struct Toolbox {
    descriptors: Vec<ToolDescriptor>,
    _backends: Backends,
}

impl Toolbox {
    /// Start every tool server in-process and connect a client to each.
    pub async fn start(backends: Backends) -> Result<Toolbox, BackendError> {
        Ok(Toolbox {
            descriptors: Vec::new(),
            _backends: backends,
        })
    }

    pub fn descriptors(&self) -> &[ToolDescriptor] {
        &self.descriptors
    }

    /// Call one tool. Never fails: errors and timeouts become the outcome.
    pub async fn call(&self, call: ToolCall, timeout: Duration) -> ToolOutput {
        let _ = timeout;
        ToolOutput {
            call,
            outcome: ToolOutcome::NoData {
                reason: "not implemented".into(),
            },
            elapsed_ms: 0.0,
        }
    }
}
