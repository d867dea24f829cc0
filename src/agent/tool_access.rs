//! The tools a reasoner may call during one run: the routed agent's, read-only, within policy.
//!
//! A model chooses its own tool calls, so each one passes the same gates as the up-front calls
//! and one more: the tool must match the agent's `tools:` patterns, must not be one that writes
//! ([`WRITE_TOOLS`], e.g. posting to Slack), and a network probe must aim at a host the alert
//! names or `backends.network.allow_hosts` allows ([`super::probe_policy`]). A call that fails a
//! gate is answered "not run: …" and never reaches the tool server.

use std::time::Duration;

use futures::future::BoxFuture;

use super::{AgentSpec, probe_policy};
use crate::alert::Alert;
use crate::config::glob_match;
use crate::evidence::{ToolCall, ToolOutcome, ToolOutput};
use crate::llm::ToolAccess;
use crate::tools::live::network::NetworkSettings;
use crate::tools::{ToolDescriptor, Toolbox};

/// Tools with side effects: never offered to a model, whatever the agent lists.
pub const WRITE_TOOLS: &[&str] = &["post_thread_reply"];

/// One run's tool access.
pub struct AgentTools<'a> {
    pub toolbox: &'a Toolbox,
    pub agent: &'a AgentSpec,
    pub alert: &'a Alert,
    pub network: &'a NetworkSettings,
    /// Per call.
    pub timeout: Duration,
}

impl AgentTools<'_> {
    fn allowed(&self, name: &str) -> bool {
        !WRITE_TOOLS
            .iter()
            .any(|w| name == *w || name.ends_with(&format!("_{w}")))
            && self.agent.tools.iter().any(|p| glob_match(p, name))
            && self.toolbox.has_tool(name)
    }

    fn refused(call: ToolCall, reason: String) -> ToolOutput {
        ToolOutput {
            call,
            outcome: ToolOutcome::NoData { reason },
            elapsed_ms: 0.0,
            truncated: None,
        }
    }
}

impl ToolAccess for AgentTools<'_> {
    fn descriptors(&self) -> Vec<ToolDescriptor> {
        self.toolbox
            .descriptors()
            .iter()
            .filter(|d| self.allowed(&d.name))
            .cloned()
            .collect()
    }

    fn call(&self, call: ToolCall) -> BoxFuture<'_, ToolOutput> {
        Box::pin(async move {
            if !self.allowed(&call.tool) {
                let reason = format!(
                    "not run: `{}` is not one of the read-only tools of agent `{}`",
                    call.tool, self.agent.name
                );
                tracing::info!(tool = %call.tool, agent = %self.agent.name, "refused a tool call the model asked for");
                return Self::refused(call, reason);
            }
            if let Err(reason) = probe_policy::check(&call, self.alert, self.network) {
                tracing::info!(tool = %call.tool, "refused a probe the model asked for");
                return Self::refused(call, reason);
            }
            self.toolbox.call(call, self.timeout).await
        })
    }
}
