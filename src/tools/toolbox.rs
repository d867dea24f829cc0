//! `Toolbox`: the in-process MCP client that reaches every embedded tool server.
//!
//! [`Toolbox::start`] runs each server (`signoz`, `kubernetes`, `slack`, `network`) on its own
//! `tokio::io::duplex` pipe, connects an rmcp client to it (the real MCP handshake and JSON-RPC
//! framing), lists its tools into [`ToolDescriptor`]s and keeps a tool-name → client map.
//! [`Toolbox::call`] never fails: an unknown tool, a protocol error or an error result is
//! `ToolOutcome::Failed`, a call over its time budget is `ToolOutcome::TimedOut`, and the answer's
//! JSON (see [`crate::tools::wire`]) becomes `Data` or `NoData`. Dropping the toolbox cancels
//! the clients and aborts the server tasks; [`Toolbox::shutdown`] does the same and waits.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use rmcp::{ServerHandler, ServiceExt};
use tokio::task::JoinHandle;

use crate::evidence::{ToolCall, ToolOutcome, ToolOutput};
use crate::tools::kubernetes::KubernetesServer;
use crate::tools::network::NetworkServer;
use crate::tools::signoz::SignozServer;
use crate::tools::signoz::catalogue::MetricCatalogue;
use crate::tools::slack::SlackServer;
use crate::tools::{BackendError, Backends, TOOL_NAMES, wire};

/// Bytes buffered in each direction of a server's in-memory pipe.
const PIPE_BUFFER: usize = 256 * 1024;
/// How long [`Toolbox::shutdown`] waits for a server to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// A tool as the MCP server lists it (name, description, JSON schema of its arguments).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDescriptor {
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
}

type Client = RunningService<RoleClient, ()>;

/// Connected clients to every embedded tool server.
pub struct Toolbox {
    descriptors: Vec<ToolDescriptor>,
    /// Tool name → index into `clients`.
    routes: HashMap<String, usize>,
    clients: Vec<Client>,
    servers: Vec<JoinHandle<()>>,
}

/// Run `server` on one end of a duplex pipe and connect a client to the other.
async fn connect<S>(name: &'static str, server: S) -> Result<(Client, JoinHandle<()>), BackendError>
where
    S: ServerHandler + 'static,
{
    let (client_io, server_io) = tokio::io::duplex(PIPE_BUFFER);
    let task = tokio::spawn(async move {
        match server.serve(server_io).await {
            Ok(running) => {
                let _ = running.waiting().await;
            }
            Err(e) => tracing::warn!(server = name, error = %e, "MCP tool server did not start"),
        }
    });
    match ().serve(client_io).await {
        Ok(client) => Ok((client, task)),
        Err(e) => {
            task.abort();
            Err(BackendError::Request(format!(
                "MCP handshake with the {name} tool server failed: {e}"
            )))
        }
    }
}

fn rank(name: &str) -> usize {
    TOOL_NAMES
        .iter()
        .position(|t| *t == name)
        .unwrap_or(TOOL_NAMES.len())
}

impl Toolbox {
    /// Start every tool server in-process and connect a client to each; metrics are read through
    /// the built-in catalogue.
    pub async fn start(backends: Backends) -> Result<Toolbox, BackendError> {
        Self::start_with_catalogue(backends, Arc::new(MetricCatalogue::builtin().clone())).await
    }

    /// [`Toolbox::start`], reading metrics through `catalogue` (the configuration's `metrics:`).
    pub async fn start_with_catalogue(
        backends: Backends,
        catalogue: Arc<MetricCatalogue>,
    ) -> Result<Toolbox, BackendError> {
        let mut toolbox = Toolbox {
            descriptors: Vec::new(),
            routes: HashMap::new(),
            clients: Vec::with_capacity(4),
            servers: Vec::with_capacity(4),
        };
        let connected = [
            connect(
                "signoz",
                SignozServer::with_catalogue(backends.signoz, catalogue),
            )
            .await?,
            connect("kubernetes", KubernetesServer::new(backends.kube)).await?,
            connect("slack", SlackServer::new(backends.slack)).await?,
            connect("network", NetworkServer::new(backends.network)).await?,
        ];
        for (client, task) in connected {
            toolbox.servers.push(task);
            let tools = client.peer().list_all_tools().await.map_err(|e| {
                BackendError::Request(format!("listing the tools of an MCP server failed: {e}"))
            })?;
            let index = toolbox.clients.len();
            toolbox.clients.push(client);
            for tool in tools {
                let name = tool.name.to_string();
                if toolbox.routes.contains_key(&name) {
                    tracing::warn!(tool = %name, "two tool servers offer the same tool; keeping the first");
                    continue;
                }
                toolbox.routes.insert(name.clone(), index);
                toolbox.descriptors.push(ToolDescriptor {
                    name,
                    description: tool.description.map(|d| d.into_owned()).unwrap_or_default(),
                    input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
                });
            }
        }
        toolbox
            .descriptors
            .sort_by(|a, b| (rank(&a.name), &a.name).cmp(&(rank(&b.name), &b.name)));
        Ok(toolbox)
    }

    pub fn descriptors(&self) -> &[ToolDescriptor] {
        &self.descriptors
    }

    /// Whether a tool of that name is served.
    pub fn has_tool(&self, name: &str) -> bool {
        self.routes.contains_key(name)
    }

    /// Call one tool. Never fails: errors and timeouts become the outcome.
    pub async fn call(&self, call: ToolCall, timeout: Duration) -> ToolOutput {
        let started = Instant::now();
        let outcome = match self.routes.get(call.tool.as_str()) {
            None => ToolOutcome::Failed {
                error: format!("unknown tool {:?}", call.tool),
            },
            Some(&index) => {
                let params =
                    CallToolRequestParams::new(call.tool.clone()).with_arguments(call.args.clone());
                let request = self.clients[index].peer().call_tool(params);
                match tokio::time::timeout(timeout, request).await {
                    Err(_) => ToolOutcome::TimedOut {
                        after_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                    },
                    Ok(Err(e)) => ToolOutcome::Failed {
                        error: format!("{}: {e}", call.tool),
                    },
                    Ok(Ok(result)) => wire::outcome_of(result),
                }
            }
        };
        ToolOutput {
            call,
            outcome,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        }
    }

    /// Close every client and wait (briefly) for the servers to stop.
    pub async fn shutdown(mut self) {
        for client in &mut self.clients {
            let _ = client.close_with_timeout(SHUTDOWN_GRACE).await;
        }
        for mut task in std::mem::take(&mut self.servers) {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
            {
                tracing::debug!("an MCP tool server did not stop in time; aborting it");
                task.abort();
            }
        }
    }
}

impl Drop for Toolbox {
    fn drop(&mut self) {
        // Dropping a client cancels it; the servers' pipes then close. Abort in case one is busy.
        for task in &self.servers {
            task.abort();
        }
    }
}
