//! Embedded MCP tools and the in-process client that calls them.
//!
//! Each data source is an `rmcp` server (`signoz`, `kubernetes`, `slack`, `network`) that decodes
//! its backend's real API responses into [`crate::evidence::Observation`]s. The [`Toolbox`] starts
//! every server on an in-memory duplex transport, connects an rmcp client to each, and routes a
//! call by tool name. Backends are traits with a fixture implementation ([`fixture`]) and live
//! ones ([`live`]) beside it.

pub mod backend;
pub mod budget;
pub mod external;
pub mod fixture;
pub mod kube_api;
pub mod kubernetes;
pub mod live;
pub mod network;
pub mod signoz;
pub mod slack;
pub mod stdio;
mod toolbox;
pub mod wire;

pub use backend::{
    BackendError, Backends, KubeBackend, KubeFuture, ListQuery, LogQuery, NetworkBackend,
    SignozBackend, SlackBackend, SourceMode, SourceStatus, Workload, WorkloadKind,
};
pub use toolbox::{ExternalServers, ToolDescriptor, Toolbox};

/// Every embedded tool, for config validation.
pub const TOOL_NAMES: &[&str] = &[
    "query_logs",
    "query_metrics",
    "query_traces",
    "get_pod_status",
    "get_service_health",
    "get_events",
    "get_pod_logs",
    "get_workload",
    "get_node_status",
    "get_thread_info",
    "get_channel_info",
    "post_thread_reply",
    "check_tls_certificate",
    "resolve_dns",
];
