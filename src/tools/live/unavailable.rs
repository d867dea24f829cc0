//! The backend of a source that is not configured or could not be reached: every call answers
//! [`BackendError::Unavailable`] with the reason (`SIGNOZ_URL is not set`), so the RCA's missing
//! evidence and footer say why the source was silent instead of a bare "no data".

use futures::FutureExt;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{Endpoints, Event, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::Value;

use crate::evidence::{CertInfo, DnsResult};
use crate::tools::backend::{KubeFuture, ListQuery, LogQuery, Workload, WorkloadKind};
use crate::tools::{BackendError, KubeBackend, NetworkBackend, SignozBackend, SlackBackend};

/// A source that answers every call with the reason it is unavailable.
#[derive(Debug, Clone)]
pub struct Unavailable {
    reason: String,
}

impl Unavailable {
    pub fn new(reason: impl Into<String>) -> Unavailable {
        Unavailable {
            reason: reason.into(),
        }
    }

    fn fail<'a, T: Send + 'a>(&self) -> BoxFuture<'a, Result<T, BackendError>> {
        std::future::ready(Err(BackendError::Unavailable(self.reason.clone()))).boxed()
    }
}

impl SignozBackend for Unavailable {
    fn query_range(&self, _body: Value) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        self.fail()
    }
}

impl KubeBackend for Unavailable {
    fn list_pods(&self, _: &str, _: &ListQuery) -> KubeFuture<'_, Vec<Pod>> {
        self.fail()
    }
    fn get_pod(&self, _: &str, _: &str) -> KubeFuture<'_, Pod> {
        self.fail()
    }
    fn list_events(&self, _: &str, _: &ListQuery) -> KubeFuture<'_, Vec<Event>> {
        self.fail()
    }
    fn list_services(&self, _: &str) -> KubeFuture<'_, Vec<Service>> {
        self.fail()
    }
    fn list_endpoints(&self, _: &str) -> KubeFuture<'_, Vec<Endpoints>> {
        self.fail()
    }
    fn list_endpoint_slices(&self, _: &str, _: &ListQuery) -> KubeFuture<'_, Vec<EndpointSlice>> {
        self.fail()
    }
    fn list_workloads(
        &self,
        _: &str,
        _: WorkloadKind,
        _: &ListQuery,
    ) -> KubeFuture<'_, Vec<Workload>> {
        self.fail()
    }
    fn get_workload(&self, _: &str, _: WorkloadKind, _: &str) -> KubeFuture<'_, Workload> {
        self.fail()
    }
    fn list_nodes(&self, _: &ListQuery) -> KubeFuture<'_, Vec<Node>> {
        self.fail()
    }
    fn get_node(&self, _: &str) -> KubeFuture<'_, Node> {
        self.fail()
    }
    fn pod_logs(&self, _: &str, _: &str, _: &LogQuery) -> KubeFuture<'_, String> {
        self.fail()
    }
}

impl SlackBackend for Unavailable {
    fn conversations_replies(
        &self,
        _: &str,
        _: &str,
    ) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        self.fail()
    }
    fn conversations_info(&self, _: &str) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        self.fail()
    }
    fn post_message(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> BoxFuture<'_, Result<Value, BackendError>> {
        self.fail()
    }
}

impl NetworkBackend for Unavailable {
    fn tls_certificate(
        &self,
        _: &str,
        _: u16,
    ) -> BoxFuture<'_, Result<Option<CertInfo>, BackendError>> {
        self.fail()
    }
    fn resolve(&self, _: &str, _: &str) -> BoxFuture<'_, Result<Option<DnsResult>, BackendError>> {
        self.fail()
    }
}
