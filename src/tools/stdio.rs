//! `sre-agent mcp <toolset>`: one embedded tool server over stdio, for any MCP client (Claude
//! Desktop, an IDE, another agent, or this bot's own `mcp_servers:`).
//!
//! The server is the very one the toolbox runs in-process; only the transport differs. Logs go
//! to stderr (stdout carries the protocol).

use std::str::FromStr;
use std::sync::Arc;

use rmcp::ServiceExt;

use crate::tools::kubernetes::KubernetesServer;
use crate::tools::network::NetworkServer;
use crate::tools::signoz::SignozServer;
use crate::tools::signoz::catalogue::MetricCatalogue;
use crate::tools::slack::SlackServer;
use crate::tools::{BackendError, Backends};

/// The embedded toolsets `sre-agent mcp` can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toolset {
    Signoz,
    Kubernetes,
    Network,
    Slack,
}

impl FromStr for Toolset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "signoz" => Ok(Toolset::Signoz),
            "kubernetes" | "k8s" => Ok(Toolset::Kubernetes),
            "network" => Ok(Toolset::Network),
            "slack" => Ok(Toolset::Slack),
            other => Err(format!(
                "unknown toolset {other:?} (one of: signoz, kubernetes, network, slack)"
            )),
        }
    }
}

/// Serve `toolset` over this process's stdin/stdout until the client disconnects.
/// Metrics are read through `catalogue` (the configuration's `metrics:`).
pub async fn serve_stdio(
    toolset: Toolset,
    backends: Backends,
    catalogue: Arc<MetricCatalogue>,
) -> Result<(), BackendError> {
    match toolset {
        Toolset::Signoz => serve(SignozServer::with_catalogue(backends.signoz, catalogue)).await,
        Toolset::Kubernetes => serve(KubernetesServer::new(backends.kube)).await,
        Toolset::Network => serve(NetworkServer::new(backends.network)).await,
        Toolset::Slack => serve(SlackServer::new(backends.slack)).await,
    }
}

async fn serve<S: rmcp::ServerHandler>(server: S) -> Result<(), BackendError> {
    let fail = |e: String| BackendError::Request(format!("MCP over stdio: {e}"));
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| fail(e.to_string()))?;
    running.waiting().await.map_err(|e| fail(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolset_names() {
        assert_eq!("kubernetes".parse(), Ok(Toolset::Kubernetes));
        assert_eq!("K8S".parse(), Ok(Toolset::Kubernetes));
        assert_eq!("signoz".parse(), Ok(Toolset::Signoz));
        let err = "grafana".parse::<Toolset>().unwrap_err();
        assert!(err.contains("one of: signoz"), "{err}");
    }
}
