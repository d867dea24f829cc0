//! Live Kubernetes backend: the API server through `kube`, read-only (`get` and `list` only).
//!
//! [`KubeApi::connect`] uses the in-cluster service account first, else `KUBECONFIG` /
//! `~/.kube/config` (the context [`KubernetesSettings::context`] names, or the current one).
//! One client serves the whole process; `kube`'s own retries are off (a 503 is answered at
//! once, the tool's caller decides) and every call has a time budget. A namespace outside the
//! allow-list is refused before anything is sent; a 403 becomes `BackendError::Forbidden`
//! naming the verb, resource and namespace ([`errors`]); a 404 is "no such object".

pub mod errors;
mod probe;

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use futures::{AsyncReadExt, FutureExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Endpoints, Event, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams, LogParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, Resource};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::tools::{
    BackendError, KubeBackend, KubeFuture, ListQuery, LogQuery, SourceMode, SourceStatus, Workload,
    WorkloadKind,
};
use errors::{Call, Failure, classify};

/// `backends.kubernetes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KubernetesSettings {
    /// Namespaces the tools may read; empty means every namespace.
    pub namespaces: Vec<String>,
    /// kubeconfig context to use (default: the current one). Setting it skips the in-cluster
    /// service account.
    pub context: Option<String>,
    /// Time budget of one API call (a list may take several pages, each with this budget).
    pub request_timeout_ms: u64,
    /// Time budget of opening a connection to the API server.
    pub connect_timeout_ms: u64,
    /// Most bytes of log one read returns (`limitBytes`).
    pub log_limit_bytes: u64,
    /// Most objects one list returns (read in pages of [`PAGE_SIZE`]).
    pub max_list_items: u32,
}

/// Objects per list page.
pub const PAGE_SIZE: u32 = 500;

impl Default for KubernetesSettings {
    fn default() -> Self {
        KubernetesSettings {
            namespaces: Vec::new(),
            context: None,
            request_timeout_ms: 10_000,
            connect_timeout_ms: 3_000,
            log_limit_bytes: 64 * 1024,
            max_list_items: 2_000,
        }
    }
}

impl KubernetesSettings {
    fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms.max(1))
    }
}

/// The Kubernetes API, read-only. Cheap to share (`Arc`): one per process.
#[derive(Clone)]
pub struct KubeApi {
    client: Client,
    settings: KubernetesSettings,
    source: String,
}

impl std::fmt::Debug for KubeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeApi")
            .field("source", &self.source)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl KubeApi {
    /// In-cluster config first (unless a kubeconfig `context` is set), else the kubeconfig.
    /// Must run inside a Tokio runtime.
    pub async fn connect(settings: &KubernetesSettings) -> Result<KubeApi, BackendError> {
        if settings.context.is_none()
            && let Ok(config) = Config::incluster()
        {
            return Self::build(config, settings, "in-cluster".to_owned());
        }
        let kubeconfig = Kubeconfig::read().map_err(|e| {
            tracing::debug!(error = %e, "no kubeconfig");
            BackendError::NotConfigured(
                "kubernetes (no in-cluster service account, and no kubeconfig in KUBECONFIG or \
                 ~/.kube/config)",
            )
        })?;
        let context = settings
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())
            .unwrap_or_else(|| "(none)".to_owned());
        let options = KubeConfigOptions {
            context: settings.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| {
                BackendError::Request(format!("kubeconfig context {context} is unusable: {e}"))
            })?;
        Self::build(config, settings, format!("kubeconfig context {context}"))
    }

    /// A client for an explicit config (tests point it at `http://127.0.0.1:PORT`). Must run
    /// inside a Tokio runtime.
    pub fn from_config(
        config: Config,
        settings: &KubernetesSettings,
    ) -> Result<KubeApi, BackendError> {
        let source = format!("API server {}", config.cluster_url);
        Self::build(config, settings, source)
    }

    fn build(
        mut config: Config,
        settings: &KubernetesSettings,
        source: String,
    ) -> Result<KubeApi, BackendError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(BackendError::Request(
                "the Kubernetes client must be built inside a Tokio runtime".to_owned(),
            ));
        }
        // `kube` builds its TLS config with whatever provider is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        config.default_retry = false;
        config.connect_timeout = Some(Duration::from_millis(settings.connect_timeout_ms.max(1)));
        config.read_timeout = Some(settings.request_timeout());
        config.write_timeout = Some(settings.request_timeout());
        config.reset_reader_on_write = true;
        let client = Client::try_from(config)
            .map_err(|e| BackendError::Request(format!("kubernetes client: {e}")))?;
        Ok(KubeApi {
            client,
            settings: settings.clone(),
            source,
        })
    }

    /// Where the client reads from: `in-cluster`, `kubeconfig context X`, or the API URL.
    pub fn source_detail(&self) -> String {
        self.source.clone()
    }

    /// This source for `Backends::sources` (the RCA footer, `config check --probe`).
    pub fn source_status(&self) -> SourceStatus {
        SourceStatus {
            source: "kubernetes".to_owned(),
            mode: SourceMode::Live,
            detail: self.source_detail(),
        }
    }

    pub fn settings(&self) -> &KubernetesSettings {
        &self.settings
    }

    /// Refuse a namespace outside the allow-list, before anything is sent.
    fn allowed(&self, namespace: &str) -> Result<(), BackendError> {
        let allow = &self.settings.namespaces;
        if allow.is_empty() || allow.iter().any(|n| n == namespace) {
            return Ok(());
        }
        Err(BackendError::Refused(format!(
            "namespace {namespace} is outside the namespaces the agent may read \
             (backends.kubernetes.namespaces: {})",
            allow.join(", ")
        )))
    }

    /// `fut` within the call's time budget, its error classified.
    async fn timed<T>(
        &self,
        call: &Call,
        fut: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<Option<T>, BackendError> {
        match tokio::time::timeout(self.settings.request_timeout(), fut).await {
            Err(_) => Err(call.timed_out(self.settings.request_timeout_ms)),
            Ok(Ok(v)) => Ok(Some(v)),
            Ok(Err(e)) => match classify(e, call) {
                Failure::Absent => Ok(None),
                Failure::Error(e) => Err(e),
            },
        }
    }

    fn call<K: Resource<DynamicType = ()>>(verb: &'static str, namespace: Option<&str>) -> Call {
        Call::new(verb, &K::plural(&()), &K::group(&()), namespace)
    }

    /// A list, page by page up to `max_list_items`. `None` when the API does not serve it.
    async fn list<K>(
        &self,
        api: Api<K>,
        namespace: Option<&str>,
        query: &ListQuery,
    ) -> Result<Option<Vec<K>>, BackendError>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    {
        if let Some(ns) = namespace {
            self.allowed(ns)?;
        }
        let call = Self::call::<K>("list", namespace);
        let max = self.settings.max_list_items.max(1) as usize;
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let left = u32::try_from(max - items.len()).unwrap_or(u32::MAX);
            let mut params = ListParams::default().limit(PAGE_SIZE.min(left));
            if let Some(labels) = &query.label_selector {
                params = params.labels(labels);
            }
            if let Some(fields) = &query.field_selector {
                params = params.fields(fields);
            }
            if let Some(t) = &token {
                params = params.continue_token(t);
            }
            let Some(page) = self.timed(&call, api.list(&params)).await? else {
                return Ok(None);
            };
            items.extend(page.items);
            token = page.metadata.continue_.filter(|t| !t.is_empty());
            if token.is_none() || items.len() >= max {
                break;
            }
        }
        items.truncate(max);
        Ok(Some(items))
    }

    async fn get<K>(
        &self,
        api: Api<K>,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<K>, BackendError>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    {
        if let Some(ns) = namespace {
            self.allowed(ns)?;
        }
        let call = Self::call::<K>("get", namespace);
        self.timed(&call, api.get(name)).await
    }

    fn namespaced<K>(&self, namespace: &str) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    async fn workloads(
        &self,
        ns: &str,
        kind: WorkloadKind,
        query: &ListQuery,
    ) -> Result<Option<Vec<Workload>>, BackendError> {
        fn wrap<K>(items: Option<Vec<K>>, f: fn(Box<K>) -> Workload) -> Option<Vec<Workload>> {
            items.map(|v| v.into_iter().map(|o| f(Box::new(o))).collect())
        }
        let n = Some(ns);
        Ok(match kind {
            WorkloadKind::Deployment => wrap(
                self.list::<Deployment>(self.namespaced(ns), n, query)
                    .await?,
                Workload::Deployment,
            ),
            WorkloadKind::ReplicaSet => wrap(
                self.list::<ReplicaSet>(self.namespaced(ns), n, query)
                    .await?,
                Workload::ReplicaSet,
            ),
            WorkloadKind::StatefulSet => wrap(
                self.list::<StatefulSet>(self.namespaced(ns), n, query)
                    .await?,
                Workload::StatefulSet,
            ),
            WorkloadKind::DaemonSet => wrap(
                self.list::<DaemonSet>(self.namespaced(ns), n, query)
                    .await?,
                Workload::DaemonSet,
            ),
            WorkloadKind::Job => wrap(
                self.list::<Job>(self.namespaced(ns), n, query).await?,
                Workload::Job,
            ),
            WorkloadKind::CronJob => wrap(
                self.list::<CronJob>(self.namespaced(ns), n, query).await?,
                Workload::CronJob,
            ),
        })
    }

    async fn workload(
        &self,
        ns: &str,
        kind: WorkloadKind,
        name: &str,
    ) -> Result<Option<Workload>, BackendError> {
        fn wrap<K>(item: Option<K>, f: fn(Box<K>) -> Workload) -> Option<Workload> {
            item.map(|o| f(Box::new(o)))
        }
        let n = Some(ns);
        Ok(match kind {
            WorkloadKind::Deployment => wrap(
                self.get::<Deployment>(self.namespaced(ns), n, name).await?,
                Workload::Deployment,
            ),
            WorkloadKind::ReplicaSet => wrap(
                self.get::<ReplicaSet>(self.namespaced(ns), n, name).await?,
                Workload::ReplicaSet,
            ),
            WorkloadKind::StatefulSet => wrap(
                self.get::<StatefulSet>(self.namespaced(ns), n, name)
                    .await?,
                Workload::StatefulSet,
            ),
            WorkloadKind::DaemonSet => wrap(
                self.get::<DaemonSet>(self.namespaced(ns), n, name).await?,
                Workload::DaemonSet,
            ),
            WorkloadKind::Job => wrap(
                self.get::<Job>(self.namespaced(ns), n, name).await?,
                Workload::Job,
            ),
            WorkloadKind::CronJob => wrap(
                self.get::<CronJob>(self.namespaced(ns), n, name).await?,
                Workload::CronJob,
            ),
        })
    }

    async fn logs(
        &self,
        ns: &str,
        pod: &str,
        query: &LogQuery,
    ) -> Result<Option<String>, BackendError> {
        self.allowed(ns)?;
        let budget = self.settings.log_limit_bytes.max(1);
        let limit = query.limit_bytes.map_or(budget, |l| l.clamp(1, budget));
        let params = LogParams {
            container: query.container.clone(),
            previous: query.previous,
            tail_lines: Some(i64::from(query.tail_lines.max(1))),
            since_seconds: query
                .since_seconds
                .map(|s| i64::try_from(s.max(1)).unwrap_or(i64::MAX)),
            limit_bytes: Some(i64::try_from(limit).unwrap_or(i64::MAX)),
            // The lines' own times, for the timeline.
            timestamps: true,
            ..LogParams::default()
        };
        let call = Call::new("get", "pods/log", "", Some(ns));
        let api: Api<Pod> = self.namespaced(ns);
        let read = async {
            let stream = api.log_stream(pod, &params).await?;
            let mut bytes = Vec::new();
            // The server honours limitBytes; never hold more than that anyway.
            stream
                .take(limit)
                .read_to_end(&mut bytes)
                .await
                .map_err(kube::Error::ReadEvents)?;
            Ok::<_, kube::Error>(bytes)
        };
        Ok(self
            .timed(&call, read)
            .await?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }
}

fn boxed<'a, T: Send + 'a>(
    fut: impl Future<Output = Result<Option<T>, BackendError>> + Send + 'a,
) -> KubeFuture<'a, T> {
    fut.boxed()
}

impl KubeBackend for KubeApi {
    fn list_pods(&self, namespace: &str, query: &ListQuery) -> KubeFuture<'_, Vec<Pod>> {
        let (ns, query) = (namespace.to_owned(), query.clone());
        boxed(async move {
            if ns.is_empty() {
                // Every namespace: only when no allow-list narrows what the agent may read.
                self.allowed(&ns)?;
                return self
                    .list::<Pod>(Api::all(self.client.clone()), None, &query)
                    .await;
            }
            self.list::<Pod>(self.namespaced(&ns), Some(&ns), &query)
                .await
        })
    }

    fn get_pod(&self, namespace: &str, name: &str) -> KubeFuture<'_, Pod> {
        let (ns, name) = (namespace.to_owned(), name.to_owned());
        boxed(async move {
            self.get::<Pod>(self.namespaced(&ns), Some(&ns), &name)
                .await
        })
    }

    fn list_events(&self, namespace: &str, query: &ListQuery) -> KubeFuture<'_, Vec<Event>> {
        let (ns, query) = (namespace.to_owned(), query.clone());
        boxed(async move {
            if ns.is_empty() {
                self.allowed(&ns)?;
                return self
                    .list::<Event>(Api::all(self.client.clone()), None, &query)
                    .await;
            }
            self.list::<Event>(self.namespaced(&ns), Some(&ns), &query)
                .await
        })
    }

    fn list_services(&self, namespace: &str) -> KubeFuture<'_, Vec<Service>> {
        let ns = namespace.to_owned();
        boxed(async move {
            self.list::<Service>(self.namespaced(&ns), Some(&ns), &ListQuery::all())
                .await
        })
    }

    fn list_endpoints(&self, namespace: &str) -> KubeFuture<'_, Vec<Endpoints>> {
        let ns = namespace.to_owned();
        boxed(async move {
            self.list::<Endpoints>(self.namespaced(&ns), Some(&ns), &ListQuery::all())
                .await
        })
    }

    fn list_endpoint_slices(
        &self,
        namespace: &str,
        query: &ListQuery,
    ) -> KubeFuture<'_, Vec<EndpointSlice>> {
        let (ns, query) = (namespace.to_owned(), query.clone());
        boxed(async move {
            self.list::<EndpointSlice>(self.namespaced(&ns), Some(&ns), &query)
                .await
        })
    }

    fn list_workloads(
        &self,
        namespace: &str,
        kind: WorkloadKind,
        query: &ListQuery,
    ) -> KubeFuture<'_, Vec<Workload>> {
        let (ns, query) = (namespace.to_owned(), query.clone());
        boxed(async move { self.workloads(&ns, kind, &query).await })
    }

    fn get_workload(
        &self,
        namespace: &str,
        kind: WorkloadKind,
        name: &str,
    ) -> KubeFuture<'_, Workload> {
        let (ns, name) = (namespace.to_owned(), name.to_owned());
        boxed(async move { self.workload(&ns, kind, &name).await })
    }

    fn list_nodes(&self, query: &ListQuery) -> KubeFuture<'_, Vec<Node>> {
        let query = query.clone();
        boxed(async move {
            self.list::<Node>(Api::all(self.client.clone()), None, &query)
                .await
        })
    }

    fn get_node(&self, name: &str) -> KubeFuture<'_, Node> {
        let name = name.to_owned();
        boxed(async move {
            self.get::<Node>(Api::all(self.client.clone()), None, &name)
                .await
        })
    }

    fn pod_logs(&self, namespace: &str, pod: &str, query: &LogQuery) -> KubeFuture<'_, String> {
        let (ns, pod, query) = (namespace.to_owned(), pod.to_owned(), query.clone());
        boxed(async move { self.logs(&ns, &pod, &query).await })
    }

    fn log_budget(&self) -> Option<u64> {
        Some(self.settings.log_limit_bytes.max(1))
    }
}
