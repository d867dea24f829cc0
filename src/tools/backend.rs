//! The traits behind the tools: where each tool's raw data comes from.
//!
//! A backend returns the data source's response in its real wire format (SigNoz `query_range`
//! JSON, Kubernetes API objects, Slack Web API JSON); the tool servers decode it. So the fixture
//! backends and the live backends share every decoder.

use std::sync::Arc;

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{Endpoints, Event, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::evidence::{CertInfo, DnsResult};
pub use crate::tools::kube_api::{ListQuery, LogQuery, Workload, WorkloadKind};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error("{0} is not configured")]
    NotConfigured(&'static str),
    #[error("request failed: {0}")]
    Request(String),
    #[error("response could not be decoded: {0}")]
    Decode(String),
    /// RBAC refused the call: an evidence gap, never a failed run.
    #[error("forbidden: the service account may not {verb} {resource} in {}", namespace_phrase(.namespace))]
    Forbidden {
        verb: String,
        resource: String,
        /// `None` for cluster-scoped resources (nodes).
        namespace: Option<String>,
    },
    /// A safety rule refused the call before anything was sent (e.g. a link-local address).
    #[error("refused: {0}")]
    Refused(String),
    /// The source is not configured or could not be reached at start; says why.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

fn namespace_phrase(namespace: &Option<String>) -> String {
    match namespace {
        Some(ns) => format!("namespace {ns}"),
        None => "the cluster scope".to_string(),
    }
}

/// SigNoz's query API. `None` means the source has nothing for this query.
pub trait SignozBackend: Send + Sync {
    /// `POST /api/v5/query_range` with `body`; the answer is the response JSON.
    fn query_range(
        &self,
        body: serde_json::Value,
    ) -> BoxFuture<'_, Result<Option<serde_json::Value>, BackendError>>;

    /// The `service.name`s SigNoz knows (recently seen), to map an alert's service name to
    /// SigNoz's spelling. `None` means the source cannot tell (then names are used as given).
    fn services(&self) -> BoxFuture<'_, Result<Option<Vec<String>>, BackendError>> {
        Box::pin(std::future::ready(Ok(None)))
    }
}

/// What a Kubernetes call answers: `Ok(None)` is "no such object(s)" (a 404, or no recorded
/// file).
pub type KubeFuture<'a, T> = BoxFuture<'a, Result<Option<T>, BackendError>>;

/// Read-only Kubernetes API, answering with the API's objects. List calls take server-side
/// selectors ([`ListQuery`]); namespaced calls may be refused (`BackendError::Refused`) for a
/// namespace outside the allow-list, and RBAC may forbid any (`BackendError::Forbidden`).
pub trait KubeBackend: Send + Sync {
    /// `GET /api/v1/namespaces/{ns}/pods?labelSelector=…&fieldSelector=…`; an empty `namespace`
    /// lists every namespace (`GET /api/v1/pods`, e.g. the pods of one node).
    fn list_pods(&self, namespace: &str, query: &ListQuery) -> KubeFuture<'_, Vec<Pod>>;
    /// `GET /api/v1/namespaces/{ns}/pods/{name}`
    fn get_pod(&self, namespace: &str, name: &str) -> KubeFuture<'_, Pod>;
    /// `GET /api/v1/namespaces/{ns}/events`, e.g. with
    /// `fieldSelector=involvedObject.name=…,involvedObject.kind=…`; an empty `namespace` lists
    /// every namespace (`GET /api/v1/events`).
    fn list_events(&self, namespace: &str, query: &ListQuery) -> KubeFuture<'_, Vec<Event>>;
    fn list_services(&self, namespace: &str) -> KubeFuture<'_, Vec<Service>>;
    fn list_endpoints(&self, namespace: &str) -> KubeFuture<'_, Vec<Endpoints>>;
    /// `discovery.k8s.io/v1` slices, e.g. `labelSelector=kubernetes.io/service-name=…`.
    fn list_endpoint_slices(
        &self,
        namespace: &str,
        query: &ListQuery,
    ) -> KubeFuture<'_, Vec<EndpointSlice>>;
    /// Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs or CronJobs of a namespace.
    fn list_workloads(
        &self,
        namespace: &str,
        kind: WorkloadKind,
        query: &ListQuery,
    ) -> KubeFuture<'_, Vec<Workload>>;
    /// One workload by name.
    fn get_workload(
        &self,
        namespace: &str,
        kind: WorkloadKind,
        name: &str,
    ) -> KubeFuture<'_, Workload>;
    /// `GET /api/v1/nodes` (cluster-scoped).
    fn list_nodes(&self, query: &ListQuery) -> KubeFuture<'_, Vec<Node>>;
    /// `GET /api/v1/nodes/{name}`
    fn get_node(&self, name: &str) -> KubeFuture<'_, Node>;
    /// Plain-text log of one container of a pod. `Ok(None)`: no such pod, or no previous
    /// container when `query.previous` asks for one.
    fn pod_logs(&self, namespace: &str, pod: &str, query: &LogQuery) -> KubeFuture<'_, String>;
    /// The most bytes one log read may return, when the backend has a budget of its own.
    fn log_budget(&self) -> Option<u64> {
        None
    }
}

/// Slack Web API, answers as the API's JSON.
pub trait SlackBackend: Send + Sync {
    fn conversations_replies(
        &self,
        channel: &str,
        ts: &str,
    ) -> BoxFuture<'_, Result<Option<serde_json::Value>, BackendError>>;
    fn conversations_info(
        &self,
        channel: &str,
    ) -> BoxFuture<'_, Result<Option<serde_json::Value>, BackendError>>;
    fn post_message(
        &self,
        channel: &str,
        thread_ts: &str,
        text: &str,
    ) -> BoxFuture<'_, Result<serde_json::Value, BackendError>>;
}

/// Network probes. The live probe fills the same structs from a handshake / lookup.
pub trait NetworkBackend: Send + Sync {
    fn tls_certificate(
        &self,
        host: &str,
        port: u16,
    ) -> BoxFuture<'_, Result<Option<CertInfo>, BackendError>>;
    fn resolve(
        &self,
        name: &str,
        record_type: &str,
    ) -> BoxFuture<'_, Result<Option<DnsResult>, BackendError>>;
}

/// Where one data source's answers come from, for the RCA footer and `config check --probe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceMode {
    /// Recorded fixture files (replay, eval, tests).
    Fixture,
    /// The real system.
    Live,
    /// Not configured or not reachable; its tools answer "no data" saying why.
    Unavailable,
}

/// One data source (`signoz`, `kubernetes`, `slack`, `network`) and where it reads from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceStatus {
    pub source: String,
    pub mode: SourceMode,
    /// Why it is unavailable, or what it reads (e.g. `in-cluster`), for people.
    pub detail: String,
}

/// One backend per tool server, and where each reads from.
#[derive(Clone)]
pub struct Backends {
    pub signoz: Arc<dyn SignozBackend>,
    pub kube: Arc<dyn KubeBackend>,
    pub slack: Arc<dyn SlackBackend>,
    pub network: Arc<dyn NetworkBackend>,
    pub sources: Vec<SourceStatus>,
}
