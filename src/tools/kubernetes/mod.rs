//! The `kubernetes` MCP tool server: `get_pod_status`, `get_service_health`, `get_events`,
//! `get_pod_logs`, `get_workload`, `get_node_status`.
//!
//! The [`KubeBackend`] answers with `k8s-openapi` objects exactly as the API server returns
//! them; the submodules turn them into the evidence vocabulary, one concern each:
//!
//! | module | reads | gives |
//! |---|---|---|
//! | [`pods`] | `Pod` | [`crate::evidence::PodState`], which pod / container explains most |
//! | [`workloads`] | Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob | [`crate::evidence::WorkloadState`] (rollout status), owner references |
//! | [`services`] | Service, Endpoints, EndpointSlices | [`crate::evidence::ServiceHealth`] |
//! | [`events`] | `Event` | [`crate::evidence::KubeEvent`] |
//! | [`logs`] | pod log text | [`crate::evidence::LogRecord`]s |
//! | [`nodes`] | `Node` | [`crate::evidence::NodeState`] |
//!
//! [`resolve`] finds what a call is about (a service's pods through its selector, a pod's
//! controller through its owner references), [`selector`] builds and matches label and field
//! selectors, [`args`] holds the tools' arguments, and [`gaps`] turns an RBAC refusal into an
//! evidence gap that names the rule that would grant it. The tools' bodies are in [`answers`].

pub mod answers;
pub mod args;
pub mod events;
pub mod gaps;
pub mod logs;
pub mod nodes;
pub mod pods;
pub mod resolve;
pub mod rollout;
pub mod selector;
pub mod services;
#[cfg(test)]
mod testdata;
pub mod workloads;

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};

use crate::tools::KubeBackend;
pub use args::{
    EventsArgs, NodeStatusArgs, PodLogsArgs, PodStatusArgs, ServiceHealthArgs, WorkloadArgs,
};
pub use events::{kube_event, select_events};
pub use logs::parse_log_lines;
pub use pods::{pod_matches_service, pod_state, ranked_pods, time, worst_pod};
pub use services::service_health;
pub use workloads::{deployment_state, workload_state};

/// Default number of log lines.
pub const DEFAULT_TAIL_LINES: u32 = 100;

/// The Kubernetes tool server.
#[derive(Clone)]
pub struct KubernetesServer {
    backend: Arc<dyn KubeBackend>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl KubernetesServer {
    pub fn new(backend: Arc<dyn KubeBackend>) -> Self {
        Self {
            backend,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Pods of a namespace (optionally of one service, one workload by kind+name, or one pod): phase, readiness, node, controller, restarts, container states and reasons (CrashLoopBackOff, OOMKilled, ImagePullBackOff…), last termination, limits, failing conditions."
    )]
    async fn get_pod_status(
        &self,
        Parameters(args): Parameters<PodStatusArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(answers::pod_status(self.backend.as_ref(), &args).await)
    }

    #[tool(
        description = "Health of a Kubernetes Service: ready and not-ready endpoints (from its EndpointSlices, else Endpoints) and which pods are not ready, its selector, and the Deployment behind it (desired/ready/updated/unavailable replicas, revision, images, failing conditions such as ProgressDeadlineExceeded)."
    )]
    async fn get_service_health(
        &self,
        Parameters(args): Parameters<ServiceHealthArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(answers::service_health(self.backend.as_ref(), &args).await)
    }

    #[tool(
        description = "Kubernetes events of a namespace, oldest first: for one pod (`pod`), one workload with its ReplicaSets/Jobs and pods (`kind`+`name`), one object and its `<object>-…` children (`object`), else every Warning plus rollout events; `warnings_only` keeps Warnings."
    )]
    async fn get_events(
        &self,
        Parameters(args): Parameters<EventsArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(answers::events(self.backend.as_ref(), &args).await)
    }

    #[tool(
        description = "The log of a pod (or of a service's or workload's pod with the most restarts), last `tail_lines` lines (default 100), of one `container`; `previous` reads the crashed container's log; `minutes`/`since` bound it in time, `limit_bytes` in size."
    )]
    async fn get_pod_logs(
        &self,
        Parameters(args): Parameters<PodLogsArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(logs::pod_logs(self.backend.as_ref(), &args).await)
    }

    #[tool(
        description = "A workload (Deployment, StatefulSet, DaemonSet, Job, CronJob) by kind+name, by name, or the controller of a pod (pod → ReplicaSet → Deployment, pod → Job → CronJob): rollout status (complete, progressing, degraded, stalled, paused, failed…), replicas, revision and ReplicaSets/Jobs history, images, failing conditions."
    )]
    async fn get_workload(
        &self,
        Parameters(args): Parameters<WorkloadArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(answers::workload(self.backend.as_ref(), &args).await)
    }

    #[tool(
        description = "Kubernetes nodes: readiness, MemoryPressure/DiskPressure/PIDPressure, cordon and taints, allocatable and capacity (cpu, memory, ephemeral-storage, pods). One `node`, the nodes a service's/workload's/pod's pods run on (`namespace` + `service`/`name`/`pod`), or all nodes, unhealthy first."
    )]
    async fn get_node_status(
        &self,
        Parameters(args): Parameters<NodeStatusArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        Ok(answers::node_status(self.backend.as_ref(), &args).await)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for KubernetesServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("kubernetes", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Read-only Kubernetes state: pods, workloads and rollouts, services and \
                 endpoints, events, pod logs, nodes.",
            )
    }
}
