//! `Toolbox`: the in-process MCP client that reaches every embedded tool server.
//!
//! [`Toolbox::start`] runs each server (`signoz`, `kubernetes`, `slack`, `network`) on its own
//! `tokio::io::duplex` pipe, connects an rmcp client to it (the real MCP handshake and JSON-RPC
//! framing), lists its tools into [`ToolDescriptor`]s and keeps a tool-name → client map.
//! [`Toolbox::call`] never fails: an unknown tool, a protocol error or an error result is
//! `ToolOutcome::Failed`, a call over its time budget is `ToolOutcome::TimedOut`, and the answer's
//! JSON (see [`crate::tools::wire`]) becomes `Data` or `NoData`, cut to the result byte budget
//! ([`crate::tools::budget`]). External MCP servers ([`crate::tools::external`]) join through
//! [`Toolbox::start_with`]: their tools are routed under their prefix. Dropping the toolbox
//! cancels the clients and aborts the server tasks; [`Toolbox::shutdown`] does the same and
//! waits.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use rmcp::{ServerHandler, ServiceExt};
use tokio::task::JoinHandle;

use crate::evidence::{ToolCall, ToolOutcome, ToolOutput};
use crate::tools::budget::{self, DEFAULT_RESULT_BYTES};
use crate::tools::external::{self, ExternalError, McpServerSpec};
use crate::tools::kubernetes::KubernetesServer;
use crate::tools::network::NetworkServer;
use crate::tools::signoz::SignozServer;
use crate::tools::signoz::catalogue::MetricCatalogue;
use crate::tools::slack::SlackServer;
use crate::tools::{BackendError, Backends, SourceMode, SourceStatus, TOOL_NAMES, wire};

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

/// Where a tool name leads: a client and the name that server knows the tool by.
struct Route {
    client: usize,
    remote: String,
}

/// Connected clients to every embedded tool server (and the external ones configured).
pub struct Toolbox {
    descriptors: Vec<ToolDescriptor>,
    routes: HashMap<String, Route>,
    clients: Vec<Client>,
    servers: Vec<JoinHandle<()>>,
    sources: Vec<SourceStatus>,
    result_bytes: usize,
}

/// What [`Toolbox::start_with`] needs for the external MCP servers.
pub struct ExternalServers<'a> {
    pub specs: &'a [McpServerSpec],
    /// Reads the environment (secrets for `env_from` and `bearer_token_env`).
    pub lookup: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// The process's HTTP client, for streamable-HTTP servers.
    pub http: &'a reqwest::Client,
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
    /// Start every embedded tool server in-process and connect a client to each; metrics are
    /// read through the built-in catalogue.
    pub async fn start(backends: Backends) -> Result<Toolbox, BackendError> {
        Self::start_with(backends, None, None).await
    }

    /// [`Toolbox::start`], reading metrics through `catalogue` (the configuration's `metrics:`).
    pub async fn start_with_catalogue(
        backends: Backends,
        catalogue: Arc<MetricCatalogue>,
    ) -> Result<Toolbox, BackendError> {
        Self::start_with(backends, Some(catalogue), None).await
    }

    /// Start the embedded servers (metrics through `catalogue`, else the built-in one) and
    /// connect the external ones. An external server that cannot be reached is logged once,
    /// listed as unavailable in [`Toolbox::sources`] and skipped; an embedded server that fails
    /// is an error.
    pub async fn start_with(
        backends: Backends,
        catalogue: Option<Arc<MetricCatalogue>>,
        external: Option<ExternalServers<'_>>,
    ) -> Result<Toolbox, BackendError> {
        let mut toolbox = Toolbox {
            descriptors: Vec::new(),
            routes: HashMap::new(),
            clients: Vec::with_capacity(4),
            servers: Vec::with_capacity(4),
            sources: backends.sources.clone(),
            result_bytes: DEFAULT_RESULT_BYTES,
        };
        let connected = [
            connect(
                "signoz",
                SignozServer::with_catalogue(
                    backends.signoz,
                    catalogue.unwrap_or_else(|| Arc::new(MetricCatalogue::builtin().clone())),
                ),
            )
            .await?,
            connect("kubernetes", KubernetesServer::new(backends.kube)).await?,
            connect("slack", SlackServer::new(backends.slack)).await?,
            connect("network", NetworkServer::new(backends.network)).await?,
        ];
        for (client, task) in connected {
            toolbox.servers.push(task);
            toolbox.add_client(client, "").await?;
        }
        if let Some(ext) = external {
            let started = futures::future::join_all(
                ext.specs
                    .iter()
                    .map(|spec| external::connect(spec, ext.lookup, ext.http)),
            )
            .await;
            for (spec, started) in ext.specs.iter().zip(started) {
                let outcome =
                    match started {
                        Ok(client) => toolbox.add_client(client, &spec.prefix).await.map_err(|e| {
                            ExternalError {
                                server: spec.name.clone(),
                                reason: e.to_string(),
                            }
                        }),
                        Err(e) => Err(e),
                    };
                let status = match outcome {
                    Ok(count) => SourceStatus {
                        source: format!("mcp:{}", spec.name),
                        mode: SourceMode::Live,
                        detail: format!("{count} tools as {}*", spec.prefix),
                    },
                    Err(e) => {
                        tracing::warn!(server = %spec.name, error = %e.reason, "external MCP server unavailable; its tools are skipped");
                        SourceStatus {
                            source: format!("mcp:{}", spec.name),
                            mode: SourceMode::Unavailable,
                            detail: e.reason,
                        }
                    }
                };
                toolbox.sources.push(status);
            }
        }
        toolbox
            .descriptors
            .sort_by(|a, b| (rank(&a.name), &a.name).cmp(&(rank(&b.name), &b.name)));
        Ok(toolbox)
    }

    /// Register every tool `client` lists under `prefix`; returns how many were added.
    async fn add_client(&mut self, client: Client, prefix: &str) -> Result<usize, BackendError> {
        let tools = client.peer().list_all_tools().await.map_err(|e| {
            BackendError::Request(format!("listing the tools of an MCP server failed: {e}"))
        })?;
        let index = self.clients.len();
        self.clients.push(client);
        let mut added = 0;
        for tool in tools {
            let remote = tool.name.to_string();
            let name = format!("{prefix}{remote}");
            if self.routes.contains_key(&name) {
                tracing::warn!(tool = %name, "two tool servers offer the same tool; keeping the first");
                continue;
            }
            self.routes.insert(
                name.clone(),
                Route {
                    client: index,
                    remote,
                },
            );
            self.descriptors.push(ToolDescriptor {
                name,
                description: tool.description.map(|d| d.into_owned()).unwrap_or_default(),
                input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
            });
            added += 1;
        }
        Ok(added)
    }

    /// The most bytes of JSON one tool result may carry (default 64 KiB).
    pub fn with_result_budget(mut self, bytes: usize) -> Toolbox {
        self.result_bytes = bytes.max(1024);
        self
    }

    /// Where each data source reads from: embedded backends, then external servers.
    pub fn sources(&self) -> &[SourceStatus] {
        &self.sources
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
            Some(route) => {
                let params = CallToolRequestParams::new(route.remote.clone())
                    .with_arguments(call.args.clone());
                let request = self.clients[route.client].peer().call_tool(params);
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
        let mut outcome = outcome;
        let truncated = match &mut outcome {
            ToolOutcome::Data { observation } => budget::fit(observation, self.result_bytes),
            _ => None,
        };
        ToolOutput {
            call,
            outcome,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
            truncated,
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
