//! The `kubernetes` MCP tool server: `get_pod_status`, `get_service_health`, `get_events`,
//! `get_pod_logs`.
//!
//! The [`KubeBackend`] answers with `k8s-openapi` objects (`Pod`, `Event`, `Service`,
//! `Endpoints`, `Deployment`) exactly as the API server lists them; this module turns them into
//! [`PodState`], [`KubeEvent`], [`ServiceHealth`] and [`DeploymentState`]:
//!
//! - the pods of a service are those labelled `app` or `app.kubernetes.io/name` = service, or
//!   named `<service>-…`;
//! - events are sorted by time; with an `object` they are that object's (and its `<object>-…`
//!   children's) events, without one every `Warning` plus the rollout events;
//! - service health counts ready / not-ready endpoint addresses over all subsets and attaches
//!   the deployment behind the service (same name, else the one whose pod template the service
//!   selects);
//! - pod logs come from the pod named, or for a service the pod with the most restarts (then a
//!   not-ready one); each line becomes a [`LogRecord`] (JSON lines and `timestamp level msg`
//!   lines are understood).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Endpoints, Event, Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Implementation, ServerCapabilities, ServerConfig};
use rmcp::schemars::JsonSchema;
use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::Value;

use crate::evidence::{
    ContainerState, DeploymentState, KubeEvent, LogRecord, Observation, PodState, ServiceHealth,
};
use crate::tools::KubeBackend;
use crate::tools::wire::{self, scalar_string, time_of};

/// Default number of log lines.
pub const DEFAULT_TAIL_LINES: u32 = 100;
const MAX_TAIL_LINES: u32 = 5000;
/// Pods of a service whose logs are tried, worst first, until one has a log.
const MAX_LOG_CANDIDATES: usize = 5;
/// Most events one call returns (the newest).
const MAX_EVENTS: usize = 200;

/// Normal-type event reasons that belong to a rollout or a node problem (kept without an
/// object filter, beside every Warning).
const ROLLOUT_REASONS: &[&str] = &[
    "ScalingReplicaSet",
    "SuccessfulRescale",
    "DeploymentRollback",
    "DeploymentPaused",
    "DeploymentResumed",
    "NodeNotReady",
    "TaintManagerEviction",
    "Preempted",
];

/// Arguments of `get_pod_status`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct PodStatusArgs {
    /// Namespace of the pods.
    pub namespace: String,
    /// Only the pods of this service (label app / app.kubernetes.io/name, or name prefix).
    #[serde(default)]
    pub service: Option<String>,
    /// Only this pod.
    #[serde(default)]
    pub pod: Option<String>,
}

/// Arguments of `get_service_health`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct ServiceHealthArgs {
    /// Namespace of the service.
    pub namespace: String,
    /// Service name.
    pub service: String,
}

/// Arguments of `get_events`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct EventsArgs {
    /// Namespace of the events.
    pub namespace: String,
    /// Only events about this object and its `<object>-…` children (e.g. a service's pods).
    #[serde(default, alias = "service")]
    pub object: Option<String>,
    /// Only Warning events (default false).
    #[serde(default, deserialize_with = "wire::opt_bool")]
    pub warnings_only: Option<bool>,
}

/// Arguments of `get_pod_logs`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct PodLogsArgs {
    /// Namespace of the pod.
    pub namespace: String,
    /// The pod; when absent, the service's pod with the most restarts (or not ready).
    #[serde(default)]
    pub pod: Option<String>,
    /// Service whose worst pod to read, when no pod is named.
    #[serde(default)]
    pub service: Option<String>,
    /// Number of lines from the end (default 100).
    #[serde(default, deserialize_with = "wire::opt_u32")]
    pub tail_lines: Option<u32>,
    /// The previous (crashed) container's log (default false).
    #[serde(default, deserialize_with = "wire::opt_bool")]
    pub previous: Option<bool>,
}

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
        description = "Pods of a namespace (optionally of one service or one pod): phase, readiness, node, restarts, container states and reasons (CrashLoopBackOff, OOMKilled, ImagePullBackOff…), last termination, limits, failing conditions."
    )]
    async fn get_pod_status(
        &self,
        Parameters(args): Parameters<PodStatusArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let pods = match self.backend.list_pods(&args.namespace, None).await {
            Ok(Some(pods)) => pods,
            Ok(None) => return Ok(wire::no_data(format!("no pods in {}", args.namespace))),
            Err(e) => return Ok(wire::backend_failed("kubernetes", &e)),
        };
        let pods: Vec<PodState> = pods
            .iter()
            .filter(|p| {
                args.pod.as_deref().is_none_or(|name| pod_name(p) == name)
                    && args
                        .service
                        .as_deref()
                        .is_none_or(|svc| pod_matches_service(p, svc))
            })
            .map(|p| pod_state(p, &args.namespace))
            .collect();
        Ok(if pods.is_empty() {
            wire::no_data(format!(
                "no pods{} in {}",
                describe_filter(args.service.as_deref(), args.pod.as_deref()),
                args.namespace
            ))
        } else {
            wire::data(&Observation::Pods { pods })
        })
    }

    #[tool(
        description = "Health of a Kubernetes Service: ready and not-ready endpoint addresses, and the Deployment behind it (desired/ready/updated/unavailable replicas, revision, images, failing conditions such as ProgressDeadlineExceeded)."
    )]
    async fn get_service_health(
        &self,
        Parameters(args): Parameters<ServiceHealthArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let ns = args.namespace.as_str();
        let (services, endpoints, deployments) = tokio::join!(
            self.backend.list_services(ns),
            self.backend.list_endpoints(ns),
            self.backend.list_deployments(ns),
        );
        let (services, endpoints, deployments) = match (services, endpoints, deployments) {
            (Ok(s), Ok(e), Ok(d)) => (
                s.unwrap_or_default(),
                e.unwrap_or_default(),
                d.unwrap_or_default(),
            ),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                return Ok(wire::backend_failed("kubernetes", &e));
            }
        };
        // Without an Endpoints object, count what the endpoints controller would: the pods.
        let has_endpoints = endpoints
            .iter()
            .any(|e| e.metadata.name.as_deref() == Some(args.service.as_str()));
        let pods = if has_endpoints {
            None
        } else {
            self.backend.list_pods(ns, None).await.ok().flatten()
        };
        Ok(
            match service_health(
                ns,
                &args.service,
                &services,
                &endpoints,
                &deployments,
                pods.as_deref(),
            ) {
                Some(health) => wire::data(&Observation::ServiceHealth {
                    services: vec![health],
                }),
                None => wire::no_data(format!(
                    "no service, endpoints or deployment named {} in {ns}",
                    args.service
                )),
            },
        )
    }

    #[tool(
        description = "Kubernetes events of a namespace, oldest first: for one object (and its `<object>-…` pods/replicasets) when `object` is given, else every Warning plus rollout events; `warnings_only` keeps Warnings."
    )]
    async fn get_events(
        &self,
        Parameters(args): Parameters<EventsArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let events = match self.backend.list_events(&args.namespace).await {
            Ok(Some(events)) => events,
            Ok(None) => return Ok(wire::no_data(format!("no events in {}", args.namespace))),
            Err(e) => return Ok(wire::backend_failed("kubernetes", &e)),
        };
        let object = args.object.as_deref().filter(|s| !s.trim().is_empty());
        let events = select_events(&events, object, args.warnings_only.unwrap_or(false));
        Ok(if events.is_empty() {
            wire::no_data(format!(
                "no {}events{} in {}",
                if args.warnings_only.unwrap_or(false) || object.is_none() {
                    "warning "
                } else {
                    ""
                },
                object.map(|o| format!(" for {o}")).unwrap_or_default(),
                args.namespace
            ))
        } else {
            wire::data(&Observation::Events { events })
        })
    }

    #[tool(
        description = "The log of a pod (or of a service's pod with the most restarts), last `tail_lines` lines (default 100); `previous` reads the crashed container's log."
    )]
    async fn get_pod_logs(
        &self,
        Parameters(args): Parameters<PodLogsArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let ns = args.namespace.as_str();
        let tail = args
            .tail_lines
            .unwrap_or(DEFAULT_TAIL_LINES)
            .clamp(1, MAX_TAIL_LINES);
        let previous = args.previous.unwrap_or(false);
        let candidates = match (
            args.pod.as_deref().filter(|p| !p.is_empty()),
            args.service.as_deref(),
        ) {
            (Some(pod), _) => vec![pod.to_owned()],
            (None, Some(service)) => {
                let pods = match self.backend.list_pods(ns, None).await {
                    Ok(pods) => pods.unwrap_or_default(),
                    Err(e) => return Ok(wire::backend_failed("kubernetes", &e)),
                };
                let mut ranked = ranked_pods(&pods, service);
                ranked.truncate(MAX_LOG_CANDIDATES);
                if ranked.is_empty() {
                    return Ok(wire::no_data(format!("no pods of {service} in {ns}")));
                }
                ranked
            }
            (None, None) => return Ok(wire::failed("get_pod_logs needs `pod` or `service`")),
        };
        // The worst pod first; the next ones only when a pod has no log at all.
        for pod in &candidates {
            let mut text = self.backend.pod_logs(ns, pod, tail, previous).await;
            if previous && matches!(text, Ok(None)) {
                // No previous container (it never restarted): the current log is the next best.
                text = self.backend.pod_logs(ns, pod, tail, false).await;
            }
            match text {
                Ok(Some(text)) => {
                    let records = parse_log_lines(pod, &text, tail as usize);
                    if records.is_empty() {
                        continue;
                    }
                    return Ok(wire::data(&Observation::PodLogs {
                        pod: pod.clone(),
                        records,
                    }));
                }
                Ok(None) => continue,
                Err(e) => return Ok(wire::backend_failed("kubernetes", &e)),
            }
        }
        Ok(wire::no_data(format!(
            "no log for {} in {ns}",
            if candidates.len() == 1 {
                format!("pod {}", candidates[0])
            } else {
                format!("any of {} pods", candidates.len())
            }
        )))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for KubernetesServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("kubernetes", env!("CARGO_PKG_VERSION")))
            .with_instructions("Read-only Kubernetes state: pods, services, events, pod logs.")
    }
}

fn describe_filter(service: Option<&str>, pod: Option<&str>) -> String {
    match (service, pod) {
        (_, Some(pod)) => format!(" named {pod}"),
        (Some(svc), None) => format!(" of {svc}"),
        (None, None) => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Conversions

/// `k8s-openapi` time → chrono.
pub fn time(t: &Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
}

fn micro_time(t: &MicroTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
}

fn pod_name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or_default()
}

fn name_has_prefix(name: &str, prefix: &str) -> bool {
    name.len() > prefix.len() + 1
        && name.starts_with(prefix)
        && name.as_bytes().get(prefix.len()) == Some(&b'-')
}

/// Whether `pod` belongs to `service`: label `app` / `app.kubernetes.io/name` equals it, or the
/// pod is named `<service>-…`.
pub fn pod_matches_service(pod: &Pod, service: &str) -> bool {
    let labelled = pod.metadata.labels.as_ref().is_some_and(|labels| {
        ["app", "app.kubernetes.io/name", "k8s-app"]
            .iter()
            .any(|k| labels.get(*k).map(String::as_str) == Some(service))
    });
    labelled || name_has_prefix(pod_name(pod), service)
}

fn condition_note(
    type_: &str,
    status: &str,
    reason: Option<&str>,
    message: Option<&str>,
) -> String {
    let mut note = format!("{type_}={status}");
    let detail = [reason, message]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !detail.is_empty() {
        note.push_str(": ");
        note.push_str(&detail);
    }
    note
}

fn container_state(
    spec: Option<&Container>,
    status: Option<&ContainerStatus>,
    name: &str,
) -> ContainerState {
    let limits = spec
        .and_then(|c| c.resources.as_ref())
        .and_then(|r| r.limits.as_ref());
    let limit = |k: &str| limits.and_then(|l| l.get(k)).map(|q| q.0.clone());
    let mut out = ContainerState {
        name: name.to_owned(),
        image: status
            .map(|s| s.image.clone())
            .filter(|s| !s.is_empty())
            .or_else(|| spec.and_then(|c| c.image.clone()))
            .unwrap_or_default(),
        ready: status.is_some_and(|s| s.ready),
        restart_count: status.map(|s| s.restart_count.max(0) as u32).unwrap_or(0),
        state: "waiting".to_owned(),
        reason: None,
        message: None,
        last_termination_reason: None,
        last_exit_code: None,
        last_finished_at: None,
        memory_limit: limit("memory"),
        cpu_limit: limit("cpu"),
    };
    let Some(status) = status else {
        return out;
    };
    if let Some(state) = &status.state {
        if let Some(w) = &state.waiting {
            out.state = "waiting".to_owned();
            out.reason = w.reason.clone();
            out.message = w.message.clone();
        } else if let Some(t) = &state.terminated {
            out.state = "terminated".to_owned();
            out.reason = t.reason.clone();
            out.message = t.message.clone();
        } else if state.running.is_some() {
            out.state = "running".to_owned();
        }
    }
    if let Some(t) = status
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
    {
        out.last_termination_reason = t.reason.clone();
        out.last_exit_code = Some(t.exit_code);
        out.last_finished_at = t.finished_at.as_ref().and_then(time);
    }
    out
}

/// A pod as the reasoners see it.
pub fn pod_state(pod: &Pod, namespace: &str) -> PodState {
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let mut conditions: Vec<String> = status
        .and_then(|s| s.conditions.as_ref())
        .map(|cs| {
            cs.iter()
                .filter(|c| c.status != "True")
                .map(|c| {
                    condition_note(
                        &c.type_,
                        &c.status,
                        c.reason.as_deref(),
                        c.message.as_deref(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(reason) = status.and_then(|s| s.reason.as_deref()) {
        // e.g. Evicted: "The node was low on resource: memory."
        let message = status
            .and_then(|s| s.message.as_deref())
            .unwrap_or_default();
        conditions.insert(
            0,
            format!("{reason}: {message}")
                .trim_end_matches([' ', ':'])
                .to_owned(),
        );
    }
    if let Some(deleted) = pod.metadata.deletion_timestamp.as_ref().and_then(time) {
        conditions.push(format!("Terminating since {}", deleted.to_rfc3339()));
    }
    let statuses = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let spec_containers = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
    let mut containers: Vec<ContainerState> =
        Vec::with_capacity(spec_containers.len().max(statuses.len()));
    // Init containers only while they are in the way (not completed successfully).
    let init_statuses = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or_default();
    let init_specs = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or_default();
    for st in init_statuses {
        let done = st
            .state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .is_some_and(|t| t.exit_code == 0);
        let running = st.state.as_ref().is_some_and(|s| s.running.is_some());
        if !done && !running {
            let spec = init_specs.iter().find(|c| c.name == st.name);
            containers.push(container_state(spec, Some(st), &st.name));
        }
    }
    for c in spec_containers {
        let st = statuses.iter().find(|s| s.name == c.name);
        containers.push(container_state(Some(c), st, &c.name));
    }
    for st in statuses {
        if !spec_containers.iter().any(|c| c.name == st.name) {
            containers.push(container_state(None, Some(st), &st.name));
        }
    }
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    PodState {
        name: pod_name(pod).to_owned(),
        namespace: pod
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| namespace.to_owned()),
        phase: status
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Unknown".to_owned()),
        node: spec.and_then(|s| s.node_name.clone()),
        ready,
        created_at: pod.metadata.creation_timestamp.as_ref().and_then(time),
        labels: pod.metadata.labels.clone().unwrap_or_default(),
        conditions,
        containers,
    }
}

/// The pods of `service`, those whose logs explain most first: most restarts, then not ready,
/// then in list order.
pub fn ranked_pods(pods: &[Pod], service: &str) -> Vec<String> {
    let mut ranked: Vec<(u32, bool, usize, String)> = pods
        .iter()
        .filter(|p| pod_matches_service(p, service))
        .map(|p| pod_state(p, ""))
        .enumerate()
        .map(|(i, p)| (p.restarts(), p.ready, i, p.name))
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    ranked.into_iter().map(|(_, _, _, name)| name).collect()
}

/// The pod of `service` whose logs explain most (see [`ranked_pods`]).
pub fn worst_pod(pods: &[Pod], service: &str) -> Option<String> {
    ranked_pods(pods, service).into_iter().next()
}

fn event_time(ev: &Event) -> Option<DateTime<Utc>> {
    ev.last_timestamp
        .as_ref()
        .and_then(time)
        .or_else(|| {
            ev.series
                .as_ref()
                .and_then(|s| s.last_observed_time.as_ref())
                .and_then(micro_time)
        })
        .or_else(|| ev.event_time.as_ref().and_then(micro_time))
        .or_else(|| ev.first_timestamp.as_ref().and_then(time))
        .or_else(|| ev.metadata.creation_timestamp.as_ref().and_then(time))
}

/// An event as the reasoners see it.
pub fn kube_event(ev: &Event) -> KubeEvent {
    let obj = &ev.involved_object;
    KubeEvent {
        timestamp: event_time(ev),
        event_type: ev.type_.clone().unwrap_or_else(|| "Normal".to_owned()),
        reason: ev.reason.clone().unwrap_or_default(),
        object: format!(
            "{}/{}",
            obj.kind.as_deref().unwrap_or("Object"),
            obj.name.as_deref().unwrap_or_default()
        ),
        message: ev.message.clone().unwrap_or_default(),
        count: ev
            .count
            .or_else(|| ev.series.as_ref().and_then(|s| s.count))
            .unwrap_or(1)
            .max(1) as u32,
    }
}

/// Events about `object` (and `<object>-…`), or every Warning and rollout event; oldest first,
/// the newest [`MAX_EVENTS`] at most.
pub fn select_events(
    events: &[Event],
    object: Option<&str>,
    warnings_only: bool,
) -> Vec<KubeEvent> {
    let mut out: Vec<KubeEvent> = events
        .iter()
        .filter(|ev| {
            let warning = ev.type_.as_deref() == Some("Warning");
            if warnings_only && !warning {
                return false;
            }
            match object {
                Some(object) => {
                    let name = ev.involved_object.name.as_deref().unwrap_or_default();
                    name == object || name_has_prefix(name, object)
                }
                None => {
                    warning
                        || ev
                            .reason
                            .as_deref()
                            .is_some_and(|r| ROLLOUT_REASONS.contains(&r))
                }
            }
        })
        .map(kube_event)
        .collect();
    out.sort_by_key(|e| e.timestamp);
    if out.len() > MAX_EVENTS {
        out.drain(..out.len() - MAX_EVENTS);
    }
    out
}

/// A deployment as the reasoners see it.
pub fn deployment_state(d: &Deployment) -> DeploymentState {
    let spec = d.spec.as_ref();
    let status = d.status.as_ref();
    let count = |v: Option<i32>| v.unwrap_or(0).max(0) as u32;
    let conditions = status
        .and_then(|s| s.conditions.as_ref())
        .map(|cs| {
            cs.iter()
                .filter(|c| {
                    let failure = c.type_ == "ReplicaFailure";
                    (failure && c.status == "True")
                        || (!failure && c.status != "True")
                        || c.reason.as_deref() == Some("ProgressDeadlineExceeded")
                })
                .map(|c| {
                    condition_note(
                        &c.type_,
                        &c.status,
                        c.reason.as_deref(),
                        c.message.as_deref(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    DeploymentState {
        name: d.metadata.name.clone().unwrap_or_default(),
        desired: spec.and_then(|s| s.replicas).unwrap_or(1).max(0) as u32,
        ready: count(status.and_then(|s| s.ready_replicas)),
        updated: count(status.and_then(|s| s.updated_replicas)),
        unavailable: count(status.and_then(|s| s.unavailable_replicas)),
        revision: d
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("deployment.kubernetes.io/revision"))
            .cloned(),
        images: spec
            .and_then(|s| s.template.spec.as_ref())
            .map(|ps| {
                ps.containers
                    .iter()
                    .filter_map(|c| c.image.clone())
                    .collect()
            })
            .unwrap_or_default(),
        conditions,
    }
}

fn selects(selector: &BTreeMap<String, String>, labels: Option<&BTreeMap<String, String>>) -> bool {
    !selector.is_empty()
        && labels.is_some_and(|labels| selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// Endpoint counts of `service` and the deployment behind it; `None` when nothing by that name
/// exists. Without an Endpoints object the counts are those the endpoints controller would
/// publish: the ready / not-ready running pods the service selects (from `pods`), else the
/// deployment's ready / missing replicas.
pub fn service_health(
    namespace: &str,
    service: &str,
    services: &[Service],
    endpoints: &[Endpoints],
    deployments: &[Deployment],
    pods: Option<&[Pod]>,
) -> Option<ServiceHealth> {
    let svc = services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(service));
    let eps = endpoints
        .iter()
        .find(|e| e.metadata.name.as_deref() == Some(service));
    let selector = svc
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.selector.as_ref());
    let deployment = deployments
        .iter()
        .find(|d| d.metadata.name.as_deref() == Some(service))
        .or_else(|| {
            let selector = selector?;
            deployments.iter().find(|d| {
                selects(
                    selector,
                    d.spec
                        .as_ref()
                        .and_then(|s| s.template.metadata.as_ref())
                        .and_then(|m| m.labels.as_ref()),
                )
            })
        })
        .or_else(|| {
            deployments.iter().find(|d| {
                d.metadata.labels.as_ref().is_some_and(|l| {
                    ["app", "app.kubernetes.io/name"]
                        .iter()
                        .any(|k| l.get(*k).map(String::as_str) == Some(service))
                })
            })
        });
    let found = svc.is_some() || eps.is_some() || deployment.is_some();
    let deployment = deployment.map(deployment_state);
    let (mut ready, mut not_ready) = (0u32, 0u32);
    if let Some(eps) = eps {
        for subset in eps.subsets.iter().flatten() {
            ready += subset.addresses.as_ref().map_or(0, |a| a.len() as u32);
            not_ready += subset
                .not_ready_addresses
                .as_ref()
                .map_or(0, |a| a.len() as u32);
        }
    } else {
        let selected: Vec<&Pod> = pods
            .unwrap_or_default()
            .iter()
            .filter(|p| match selector {
                Some(sel) if !sel.is_empty() => selects(sel, p.metadata.labels.as_ref()),
                _ => pod_matches_service(p, service),
            })
            .filter(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && !matches!(
                        p.status.as_ref().and_then(|s| s.phase.as_deref()),
                        Some("Succeeded" | "Failed")
                    )
            })
            .collect();
        if !selected.is_empty() {
            for p in &selected {
                if pod_state(p, namespace).ready {
                    ready += 1;
                } else {
                    not_ready += 1;
                }
            }
        } else if let Some(d) = &deployment {
            ready = d.ready;
            not_ready = d.desired.saturating_sub(d.ready);
        } else if !found {
            return None;
        }
    }
    Some(ServiceHealth {
        name: service.to_owned(),
        namespace: svc
            .and_then(|s| s.metadata.namespace.clone())
            .unwrap_or_else(|| namespace.to_owned()),
        ready_endpoints: ready,
        not_ready_endpoints: not_ready,
        deployment,
    })
}

// ---------------------------------------------------------------------------------------------
// Pod logs

fn level_of(word: &str) -> Option<&'static str> {
    let w = word.rsplit('=').next().unwrap_or(word);
    let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    Some(match w.to_ascii_uppercase().as_str() {
        "ERROR" | "ERR" => "ERROR",
        "WARN" | "WARNING" => "WARN",
        "INFO" => "INFO",
        "DEBUG" | "TRACE" => "DEBUG",
        "FATAL" | "PANIC" | "CRITICAL" | "CRIT" | "EMERG" => "FATAL",
        _ => return None,
    })
}

fn parse_json_line(pod: &str, line: &str) -> Option<LogRecord> {
    let Value::Object(obj) = serde_json::from_str::<Value>(line).ok()? else {
        return None;
    };
    let pick = |keys: &[&str]| keys.iter().find_map(|k| obj.get(*k));
    let timestamp = pick(&["ts", "time", "timestamp", "@timestamp", "t"]).and_then(time_of);
    let severity = pick(&["level", "severity", "lvl", "log.level", "levelname"])
        .and_then(Value::as_str)
        .map(|s| {
            level_of(s)
                .map(str::to_owned)
                .unwrap_or_else(|| s.to_ascii_uppercase())
        });
    let body = pick(&["msg", "message", "body", "log"])
        .and_then(scalar_string)
        .unwrap_or_else(|| line.to_owned());
    let attributes = obj
        .iter()
        .filter(|(k, _)| {
            ![
                "ts",
                "time",
                "timestamp",
                "@timestamp",
                "t",
                "level",
                "severity",
                "lvl",
                "log.level",
                "levelname",
                "msg",
                "message",
                "body",
                "log",
            ]
            .contains(&k.as_str())
        })
        .filter_map(|(k, v)| scalar_string(v).map(|v| (k.clone(), v)))
        .collect();
    Some(LogRecord {
        timestamp,
        severity,
        service: None,
        pod: Some(pod.to_owned()),
        body,
        attributes,
    })
}

/// A leading RFC 3339 timestamp (`kubectl logs --timestamps`) and the rest of the line.
fn split_timestamp(line: &str) -> (Option<DateTime<Utc>>, &str) {
    let first = line.split_whitespace().next().unwrap_or_default();
    match DateTime::parse_from_rfc3339(first.trim_matches(['[', ']'])) {
        Ok(t) => (
            Some(t.with_timezone(&Utc)),
            line.trim_start()[first.len()..].trim_start(),
        ),
        Err(_) => (None, line),
    }
}

fn parse_line(pod: &str, line: &str) -> LogRecord {
    let (prefix_time, rest) = split_timestamp(line);
    if rest.starts_with('{')
        && let Some(mut record) = parse_json_line(pod, rest)
    {
        record.timestamp = record.timestamp.or(prefix_time);
        return record;
    }
    let severity = rest
        .split_whitespace()
        .take(4)
        .find_map(level_of)
        .map(str::to_owned);
    LogRecord {
        timestamp: prefix_time,
        severity,
        service: None,
        pod: Some(pod.to_owned()),
        body: rest.to_owned(),
        attributes: BTreeMap::new(),
    }
}

/// The last `tail` non-empty lines of a pod log as records.
pub fn parse_log_lines(pod: &str, text: &str, tail: usize) -> Vec<LogRecord> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .collect();
    let start = lines.len().saturating_sub(tail);
    lines[start..]
        .iter()
        .map(|line| parse_line(pod, line))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct List<T> {
        items: Vec<T>,
    }

    fn list<T: serde::de::DeserializeOwned>(json: &str) -> Vec<T> {
        serde_json::from_str::<List<T>>(json).expect("list").items
    }

    const PODS: &str = r#"{"apiVersion":"v1","kind":"PodList","metadata":{},"items":[
      {"metadata":{"name":"checkout-7c9d-abcde","namespace":"shop","labels":{"app":"checkout"},
                   "creationTimestamp":"2026-11-24T09:00:00Z"},
       "spec":{"nodeName":"node-a","containers":[{"name":"app","image":"shop/checkout:1.4.2",
              "resources":{"limits":{"memory":"256Mi","cpu":"500m"}}}]},
       "status":{"phase":"Running",
         "conditions":[{"type":"Ready","status":"False","reason":"ContainersNotReady","message":"containers with unready status: [app]"},
                       {"type":"PodScheduled","status":"True"}],
         "containerStatuses":[{"name":"app","image":"shop/checkout:1.4.2","imageID":"","ready":false,"restartCount":7,
           "state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 5m0s restarting failed container"}},
           "lastState":{"terminated":{"exitCode":137,"reason":"OOMKilled","finishedAt":"2026-11-24T09:58:00Z"}}}]}},
      {"metadata":{"name":"checkout-7c9d-fghij","namespace":"shop","labels":{"app":"checkout"}},
       "spec":{"containers":[{"name":"app","image":"shop/checkout:1.4.3"}]},
       "status":{"phase":"Pending",
         "conditions":[{"type":"Ready","status":"False"}],
         "containerStatuses":[{"name":"app","image":"shop/checkout:1.4.3","imageID":"","ready":false,"restartCount":0,
           "state":{"waiting":{"reason":"ImagePullBackOff","message":"Back-off pulling image \"shop/checkout:1.4.3\""}}}]}},
      {"metadata":{"name":"web-1","namespace":"shop","labels":{"app.kubernetes.io/name":"web"}},
       "spec":{"containers":[{"name":"web","image":"nginx"}]},
       "status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable",
          "message":"0/3 nodes are available: 3 Insufficient cpu."}]}}
    ]}"#;

    #[test]
    fn pod_list_states() {
        let pods: Vec<Pod> = list(PODS);
        let crash = pod_state(&pods[0], "shop");
        assert_eq!(crash.phase, "Running");
        assert!(!crash.ready);
        assert_eq!(crash.node.as_deref(), Some("node-a"));
        assert_eq!(crash.restarts(), 7);
        let c = &crash.containers[0];
        assert_eq!(c.state, "waiting");
        assert_eq!(c.reason.as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(c.last_termination_reason.as_deref(), Some("OOMKilled"));
        assert_eq!(c.last_exit_code, Some(137));
        assert_eq!(c.memory_limit.as_deref(), Some("256Mi"));
        assert_eq!(c.cpu_limit.as_deref(), Some("500m"));
        assert_eq!(
            c.last_finished_at.map(|t| t.to_rfc3339()),
            Some("2026-11-24T09:58:00+00:00".to_owned())
        );
        assert_eq!(
            crash.conditions,
            vec!["Ready=False: ContainersNotReady containers with unready status: [app]"]
        );
        let pull = pod_state(&pods[1], "shop");
        assert_eq!(
            pull.containers[0].reason.as_deref(),
            Some("ImagePullBackOff")
        );
        let pending = pod_state(&pods[2], "shop");
        assert_eq!(
            pending.containers.len(),
            1,
            "spec containers without status"
        );
        assert_eq!(pending.containers[0].state, "waiting");
        assert!(pending.conditions[0].starts_with("PodScheduled=False: Unschedulable 0/3 nodes"));

        assert!(pod_matches_service(&pods[0], "checkout"));
        assert!(pod_matches_service(&pods[2], "web"));
        assert!(!pod_matches_service(&pods[2], "checkout"));
        assert_eq!(
            worst_pod(&pods, "checkout").as_deref(),
            Some("checkout-7c9d-abcde")
        );
    }

    const EVENTS: &str = r#"{"kind":"EventList","apiVersion":"v1","items":[
      {"metadata":{"name":"e3"},"involvedObject":{"kind":"Pod","name":"checkout-7c9d-abcde"},
       "reason":"BackOff","message":"Back-off restarting failed container","type":"Warning","count":12,
       "lastTimestamp":"2026-11-24T09:59:00Z"},
      {"metadata":{"name":"e1"},"involvedObject":{"kind":"Deployment","name":"checkout"},
       "reason":"ScalingReplicaSet","message":"Scaled up replica set checkout-7c9d to 3","type":"Normal",
       "lastTimestamp":"2026-11-24T09:00:00Z"},
      {"metadata":{"name":"e2"},"involvedObject":{"kind":"Pod","name":"checkout-7c9d-abcde"},
       "reason":"Pulled","message":"Successfully pulled image","type":"Normal","eventTime":"2026-11-24T09:01:00.000000Z"},
      {"metadata":{"name":"e4"},"involvedObject":{"kind":"Pod","name":"cart-1"},
       "reason":"Unhealthy","message":"Readiness probe failed","type":"Warning","firstTimestamp":"2026-11-24T09:30:00Z"}
    ]}"#;

    #[test]
    fn event_list_selection() {
        let events: Vec<Event> = list(EVENTS);
        let all = select_events(&events, None, false);
        let reasons: Vec<&str> = all.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons, vec!["ScalingReplicaSet", "Unhealthy", "BackOff"]);
        assert_eq!(all[2].count, 12);
        assert_eq!(all[2].object, "Pod/checkout-7c9d-abcde");
        let svc = select_events(&events, Some("checkout"), false);
        let reasons: Vec<&str> = svc.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons, vec!["ScalingReplicaSet", "Pulled", "BackOff"]);
        let warn = select_events(&events, Some("checkout"), true);
        assert_eq!(warn.len(), 1);
    }

    const ENDPOINTS: &str = r#"{"kind":"EndpointsList","apiVersion":"v1","items":[
      {"metadata":{"name":"ledger","namespace":"payments"},"subsets":[
        {"addresses":[{"ip":"10.0.4.17"}],"notReadyAddresses":[{"ip":"10.0.4.18"},{"ip":"10.0.4.19"}],"ports":[{"port":8080}]},
        {"addresses":[{"ip":"10.0.5.2"}],"ports":[{"port":9090}]}]},
      {"metadata":{"name":"other"}}]}"#;
    const SERVICES: &str = r#"{"kind":"ServiceList","apiVersion":"v1","items":[
      {"metadata":{"name":"ledger","namespace":"payments"},"spec":{"selector":{"tier":"ledger"},"ports":[{"port":80}]}}]}"#;
    const DEPLOYMENTS: &str = r#"{"kind":"DeploymentList","apiVersion":"apps/v1","items":[
      {"metadata":{"name":"unrelated"},"spec":{"selector":{"matchLabels":{"app":"x"}},"template":{"metadata":{"labels":{"app":"x"}},"spec":{"containers":[{"name":"x","image":"x:1"}]}}}},
      {"metadata":{"name":"ledger-v2","annotations":{"deployment.kubernetes.io/revision":"5"}},
       "spec":{"replicas":3,"selector":{"matchLabels":{"tier":"ledger"}},
               "template":{"metadata":{"labels":{"tier":"ledger","version":"v2"}},"spec":{"containers":[{"name":"app","image":"ledger:2.0.1"}]}}},
       "status":{"replicas":4,"readyReplicas":1,"updatedReplicas":2,"unavailableReplicas":3,
         "conditions":[{"type":"Available","status":"False","reason":"MinimumReplicasUnavailable","message":"Deployment does not have minimum availability."},
                       {"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded","message":"ReplicaSet \"ledger-v2-5f6\" has timed out progressing."}]}}]}"#;

    #[test]
    fn service_health_counts_and_deployment() {
        let services: Vec<Service> = list(SERVICES);
        let endpoints: Vec<Endpoints> = list(ENDPOINTS);
        let deployments: Vec<Deployment> = list(DEPLOYMENTS);
        let h = service_health(
            "payments",
            "ledger",
            &services,
            &endpoints,
            &deployments,
            None,
        )
        .expect("health");
        assert_eq!((h.ready_endpoints, h.not_ready_endpoints), (2, 2));
        let d = h.deployment.expect("deployment by selector");
        assert_eq!(d.name, "ledger-v2");
        assert_eq!((d.desired, d.ready, d.updated, d.unavailable), (3, 1, 2, 3));
        assert_eq!(d.revision.as_deref(), Some("5"));
        assert_eq!(d.images, vec!["ledger:2.0.1"]);
        assert!(
            d.conditions
                .iter()
                .any(|c| c.starts_with("Progressing=False: ProgressDeadlineExceeded"))
        );
        assert!(
            d.conditions
                .iter()
                .any(|c| c.starts_with("Available=False"))
        );
        assert!(
            service_health(
                "payments",
                "nope",
                &services,
                &endpoints,
                &deployments,
                None
            )
            .is_none()
        );
        let bare = service_health("payments", "other", &[], &endpoints, &[], None)
            .expect("endpoints only");
        assert_eq!((bare.ready_endpoints, bare.not_ready_endpoints), (0, 0));
        // No Endpoints object: the deployment's replicas stand in.
        let h = service_health("payments", "ledger", &services, &[], &deployments, None)
            .expect("health");
        assert_eq!((h.ready_endpoints, h.not_ready_endpoints), (1, 2));
        // ... or the pods, when known.
        let pods: Vec<Pod> = list(PODS);
        let h = service_health("shop", "checkout", &[], &[], &[], Some(&pods)).expect("health");
        assert_eq!((h.ready_endpoints, h.not_ready_endpoints), (0, 2));
    }

    #[test]
    fn log_lines() {
        let text = "2026-11-24T09:57:59.123Z INFO starting checkout v1.4.2\n\
                    2026-11-24T09:57:59.500000000Z {\"level\":\"warn\",\"msg\":\"config key not set\"}\n\
                    {\"ts\":\"2026-11-24T09:58:00Z\",\"level\":\"error\",\"msg\":\"missing env DATABASE_URL\",\"code\":1}\n\
                    \n\
                    panic: runtime error: invalid memory address\n";
        let records = parse_log_lines("p", text, 10);
        assert_eq!(records.len(), 4);
        assert_eq!(records[0].severity.as_deref(), Some("INFO"));
        assert_eq!(records[0].body, "INFO starting checkout v1.4.2");
        assert!(records[0].timestamp.is_some());
        assert_eq!(records[1].severity.as_deref(), Some("WARN"));
        assert_eq!(records[1].body, "config key not set");
        assert_eq!(
            records[1].timestamp.map(|t| t.timestamp_subsec_millis()),
            Some(500),
            "timestamp from the kubectl prefix"
        );
        assert_eq!(records[2].severity.as_deref(), Some("ERROR"));
        assert_eq!(records[2].body, "missing env DATABASE_URL");
        assert_eq!(
            records[2].attributes.get("code").map(String::as_str),
            Some("1")
        );
        assert_eq!(records[3].severity.as_deref(), Some("FATAL"));
        assert_eq!(records[3].pod.as_deref(), Some("p"));
        assert_eq!(parse_log_lines("p", text, 1).len(), 1);
        let lvl = parse_log_lines("p", "level=warn msg=\"slow\"", 5);
        assert_eq!(lvl[0].severity.as_deref(), Some("WARN"));
    }
}
