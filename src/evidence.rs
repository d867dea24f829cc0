//! Evidence: what the tools found, in one normalised vocabulary.
//!
//! Every embedded MCP tool decodes its backend's real response (a SigNoz `query_range` answer, a
//! Kubernetes `PodList`, a Slack `conversations.replies`, a TLS handshake) into one
//! [`Observation`] and returns it as the JSON of that observation. The reasoners read
//! observations, never raw API payloads, so a new backend only has to produce these types.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One tool call as the agent made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub tool: String,
    pub args: serde_json::Map<String, serde_json::Value>,
}

/// The result of one tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolOutput {
    pub call: ToolCall,
    pub outcome: ToolOutcome,
    pub elapsed_ms: f64,
    /// What was cut to keep the result within its byte budget, when anything was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<String>,
}

/// A tool either found something, found nothing, or could not answer. None of these stops a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ToolOutcome {
    Data { observation: Observation },
    NoData { reason: String },
    Failed { error: String },
    TimedOut { after_ms: u64 },
}

/// Everything collected for one alert.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub outputs: Vec<ToolOutput>,
}

impl Evidence {
    /// Evidence in which each observation came from its own successful call of a tool named
    /// `t` (how findings, causes and target refinement are tested on a given shape).
    pub fn from_observations(observations: Vec<Observation>) -> Self {
        Evidence {
            outputs: observations
                .into_iter()
                .map(|observation| ToolOutput {
                    call: ToolCall {
                        tool: "t".into(),
                        args: Default::default(),
                    },
                    outcome: ToolOutcome::Data { observation },
                    elapsed_ms: 0.0,
                    truncated: None,
                })
                .collect(),
        }
    }

    /// Observations that carried data, in call order.
    pub fn observations(&self) -> impl Iterator<Item = &Observation> {
        self.outputs.iter().filter_map(|o| match &o.outcome {
            ToolOutcome::Data { observation } => Some(observation),
            _ => None,
        })
    }

    /// Tools that answered without data (or failed), for "what is missing".
    pub fn missing(&self) -> impl Iterator<Item = &ToolOutput> {
        self.outputs
            .iter()
            .filter(|o| !matches!(o.outcome, ToolOutcome::Data { .. }))
    }

    pub fn logs(&self) -> impl Iterator<Item = &LogRecord> {
        self.observations().flat_map(|o| match o {
            Observation::Logs { records } | Observation::PodLogs { records, .. } => {
                records.as_slice()
            }
            _ => &[],
        })
    }

    pub fn metric(&self, name: &str) -> Option<&MetricSeries> {
        self.observations()
            .flat_map(|o| match o {
                Observation::Metrics { series } => series.as_slice(),
                _ => &[],
            })
            .find(|s| s.metric == name)
    }

    pub fn spans(&self) -> impl Iterator<Item = &SpanRecord> {
        self.observations().flat_map(|o| match o {
            Observation::Traces { spans } => spans.as_slice(),
            _ => &[],
        })
    }

    pub fn pods(&self) -> impl Iterator<Item = &PodState> {
        self.observations().flat_map(|o| match o {
            Observation::Pods { pods } => pods.as_slice(),
            _ => &[],
        })
    }

    pub fn events(&self) -> impl Iterator<Item = &KubeEvent> {
        self.observations().flat_map(|o| match o {
            Observation::Events { events } => events.as_slice(),
            _ => &[],
        })
    }

    pub fn services(&self) -> impl Iterator<Item = &ServiceHealth> {
        self.observations().flat_map(|o| match o {
            Observation::ServiceHealth { services } => services.as_slice(),
            _ => &[],
        })
    }

    pub fn workloads(&self) -> impl Iterator<Item = &WorkloadState> {
        self.observations().filter_map(|o| match o {
            Observation::Workload { workload } => Some(workload.as_ref()),
            _ => None,
        })
    }

    pub fn nodes(&self) -> impl Iterator<Item = &NodeState> {
        self.observations().flat_map(|o| match o {
            Observation::Nodes { nodes } => nodes.as_slice(),
            _ => &[],
        })
    }

    pub fn certificates(&self) -> impl Iterator<Item = &CertInfo> {
        self.observations().filter_map(|o| match o {
            Observation::Certificate { cert } => Some(cert),
            _ => None,
        })
    }

    pub fn dns(&self) -> impl Iterator<Item = &DnsResult> {
        self.observations().filter_map(|o| match o {
            Observation::Dns { result } => Some(result),
            _ => None,
        })
    }
}

/// What one tool call found. Serialised with a `kind` tag; this JSON is the MCP tool's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Observation {
    Logs {
        records: Vec<LogRecord>,
    },
    Metrics {
        series: Vec<MetricSeries>,
    },
    Traces {
        spans: Vec<SpanRecord>,
    },
    Pods {
        pods: Vec<PodState>,
    },
    /// Services with their endpoints and the deployments behind them.
    ServiceHealth {
        services: Vec<ServiceHealth>,
    },
    Events {
        events: Vec<KubeEvent>,
    },
    PodLogs {
        pod: String,
        records: Vec<LogRecord>,
        /// The container read, when the tool named one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        container: Option<String>,
        /// The log is the previous (terminated) container's.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        previous: bool,
    },
    /// A controller (Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet) and its
    /// rollout state.
    Workload {
        workload: Box<WorkloadState>,
    },
    /// Nodes with their conditions and allocatable resources.
    Nodes {
        nodes: Vec<NodeState>,
    },
    Certificate {
        cert: CertInfo,
    },
    Dns {
        result: DnsResult,
    },
    Thread {
        thread: ThreadInfo,
    },
    Channel {
        channel: ChannelInfo,
    },
    /// A message the Slack tool posted.
    Posted {
        channel: String,
        ts: String,
    },
    /// Free text from a tool we do not decode (external MCP servers).
    Text {
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    pub timestamp: Option<DateTime<Utc>>,
    /// `ERROR`, `WARN`, `INFO`… as the source wrote it (upper-cased).
    pub severity: Option<String>,
    pub service: Option<String>,
    pub pod: Option<String>,
    pub body: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    /// Metric name from the shared vocabulary (`fixtures/README.md`).
    pub metric: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub points: Vec<MetricPoint>,
}

impl MetricSeries {
    pub fn last(&self) -> Option<f64> {
        self.points.last().map(|p| p.value)
    }
    pub fn first(&self) -> Option<f64> {
        self.points.first().map(|p| p.value)
    }
    pub fn max(&self) -> Option<f64> {
        self.points.iter().map(|p| p.value).reduce(f64::max)
    }
    pub fn min(&self) -> Option<f64> {
        self.points.iter().map(|p| p.value).reduce(f64::min)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    pub timestamp: DateTime<Utc>,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanRecord {
    pub timestamp: Option<DateTime<Utc>>,
    pub service: String,
    pub name: String,
    pub duration_ms: f64,
    pub has_error: bool,
    pub status_code: Option<String>,
    /// Peer the span called (`peer.service`, `server.address`, `db.system`…), when known.
    pub peer: Option<String>,
    pub trace_id: Option<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodState {
    pub name: String,
    pub namespace: String,
    pub phase: String,
    pub node: Option<String>,
    pub ready: bool,
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `PodScheduled=False: Unschedulable …` style condition notes for conditions that are not True.
    #[serde(default)]
    pub conditions: Vec<String>,
    pub containers: Vec<ContainerState>,
    /// The pod's controller from its owner references, e.g. `ReplicaSet/cart-7f9c`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The PersistentVolumeClaims its volumes mount (`spec.volumes[].persistentVolumeClaim`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<String>,
}

impl PodState {
    pub fn restarts(&self) -> u32 {
        self.containers.iter().map(|c| c.restart_count).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerState {
    pub name: String,
    pub image: String,
    pub ready: bool,
    pub restart_count: u32,
    /// `running`, `waiting` or `terminated`.
    pub state: String,
    /// e.g. `CrashLoopBackOff`, `ImagePullBackOff`, `OOMKilled`.
    pub reason: Option<String>,
    pub message: Option<String>,
    pub last_termination_reason: Option<String>,
    pub last_exit_code: Option<i32>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub memory_limit: Option<String>,
    pub cpu_limit: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceHealth {
    pub name: String,
    pub namespace: String,
    pub ready_endpoints: u32,
    pub not_ready_endpoints: u32,
    /// Deployment matching the service's name/selector, when one was found.
    pub deployment: Option<DeploymentState>,
    /// What the endpoint counts were read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_from: Option<EndpointSource>,
    /// The service's pod selector (`app=cart,tier=web`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Pods (or addresses) behind the not-ready endpoints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_ready_targets: Vec<String>,
    /// With no endpoint at all: the namespace's pods that look like the service's (by name, by
    /// the `app`/`app.kubernetes.io/name`/`k8s-app` label, or of the Deployment behind it) but
    /// that the selector does not match, as `name (k=v,k=v)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unselected_pods: Vec<String>,
    /// Parts that could not be read (e.g. RBAC forbids EndpointSlices), for "what is missing".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<String>,
}

/// Where a service's ready / not-ready endpoint counts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointSource {
    /// `discovery.k8s.io/v1` EndpointSlices (what kube-proxy routes by).
    EndpointSlices,
    /// The core/v1 Endpoints object.
    Endpoints,
    /// No endpoint object: the selected pods' readiness.
    Pods,
    /// No endpoint object nor pods: the deployment's ready / missing replicas.
    Deployment,
}

/// Where a workload's rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutStatus {
    /// Every replica runs the current revision and is available.
    Complete,
    /// A new revision is rolling out (within its progress deadline).
    Progressing,
    /// The rollout finished but replicas are missing or not ready.
    Degraded,
    /// The rollout stopped making progress (`ProgressDeadlineExceeded`).
    Stalled,
    /// `spec.paused` (Deployment).
    Paused,
    /// `spec.suspend` (Job, CronJob).
    Suspended,
    /// A Job (or a CronJob's job) is running.
    Running,
    /// A Job completed (or a CronJob's last run did).
    Succeeded,
    /// A Job failed (or a CronJob's last run did).
    Failed,
}

/// A controller as the reasoners see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadState {
    /// `Deployment`, `StatefulSet`, `DaemonSet`, `Job`, `CronJob` or `ReplicaSet`.
    pub kind: String,
    pub name: String,
    pub namespace: String,
    /// How it was reached from the pod asked about, e.g.
    /// `[Pod/cart-7f9c-x1, ReplicaSet/cart-7f9c, Deployment/cart]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_chain: Vec<String>,
    pub rollout: RolloutStatus,
    /// Replicas (pods for a DaemonSet, completions for a Job) wanted, ready, on the current
    /// revision, available, and missing.
    pub desired: u32,
    pub ready: u32,
    pub updated: u32,
    pub available: u32,
    pub unavailable: u32,
    /// Deployment revision, or the StatefulSet's update revision.
    pub revision: Option<String>,
    #[serde(default)]
    pub images: Vec<String>,
    /// Conditions out of their healthy state, e.g. `Progressing=False: ProgressDeadlineExceeded`.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// The pod selector, as a label selector string.
    pub selector: Option<String>,
    /// A Deployment's ReplicaSets or a CronJob's Jobs, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<RevisionState>,
    /// Kind-specific facts: update strategy, schedule, last run, backoff limit…
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Parts that could not be read, for "what is missing".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<String>,
}

/// One ReplicaSet of a Deployment, or one Job of a CronJob.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevisionState {
    pub name: String,
    pub revision: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub desired: u32,
    pub ready: u32,
    #[serde(default)]
    pub images: Vec<String>,
    /// A Job's outcome (`running`, `succeeded`, `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RolloutStatus>,
}

/// A node as the reasoners see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeState {
    pub name: String,
    pub ready: bool,
    /// `MemoryPressure`, `DiskPressure`, `PIDPressure`, `NetworkUnavailable` that are True.
    #[serde(default)]
    pub pressure: Vec<String>,
    /// Conditions out of their healthy state, e.g. `Ready=False: KubeletNotReady …`.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// Cordoned (`spec.unschedulable`).
    #[serde(default)]
    pub unschedulable: bool,
    /// `key=value:Effect`.
    #[serde(default)]
    pub taints: Vec<String>,
    /// `cpu`, `memory`, `ephemeral-storage`, `pods` as the kubelet reports them.
    #[serde(default)]
    pub allocatable: BTreeMap<String, String>,
    #[serde(default)]
    pub capacity: BTreeMap<String, String>,
    pub kubelet_version: Option<String>,
    /// The node's addresses (`InternalIP`, `ExternalIP`, `Hostname`), as the kubelet reports them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// The pods asked about that run on this node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentState {
    pub name: String,
    pub desired: u32,
    pub ready: u32,
    pub updated: u32,
    pub unavailable: u32,
    pub revision: Option<String>,
    pub images: Vec<String>,
    /// Non-healthy conditions, e.g. `Progressing=False: ProgressDeadlineExceeded`.
    #[serde(default)]
    pub conditions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KubeEvent {
    pub timestamp: Option<DateTime<Utc>>,
    /// `Normal` or `Warning`.
    pub event_type: String,
    pub reason: String,
    /// `Kind/name` of the involved object.
    pub object: String,
    pub message: String,
    pub count: u32,
}

/// The certificate a host presented. The fields after `verify_error` are optional extensions
/// the live probe fills; recorded files without them load with their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertInfo {
    pub host: String,
    pub port: u16,
    pub subject: String,
    pub issuer: String,
    #[serde(default)]
    pub sans: Vec<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub chain_verified: bool,
    /// Why the chain did not verify, for people (e.g. `certificate expired on 2026-01-01`).
    pub verify_error: Option<String>,
    /// Why the chain did not verify, for programs. `None` when it verified or was not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_reason: Option<CertProblem>,
    /// Whether the leaf is valid for `host` (checked on its own, whatever else failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname_match: Option<bool>,
    /// How many certificates the server sent (leaf included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_len: Option<usize>,
    /// The time the chain was verified at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<DateTime<Utc>>,
}

/// Why a certificate chain did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertProblem {
    /// Past its `not_after`.
    Expired,
    /// Before its `not_before`.
    NotYetValid,
    /// No trusted root signs the chain (often a missing intermediate).
    UnknownIssuer,
    /// The certificate does not name the host.
    WrongHost,
    /// The leaf signs itself and no trusted root is it.
    SelfSigned,
    /// Listed as revoked.
    Revoked,
    /// Anything else (bad signature, wrong key usage, unparsable certificate…).
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsResult {
    pub name: String,
    pub record_type: String,
    #[serde(default)]
    pub answers: Vec<DnsAnswer>,
    /// `NXDOMAIN`, `SERVFAIL`, `TIMEOUT`… when the lookup failed.
    pub error: Option<String>,
    /// CNAMEs followed from `name` to the answers, in order (without trailing dots).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cname_chain: Vec<String>,
    /// How long the lookup took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsAnswer {
    pub data: String,
    pub ttl: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadInfo {
    pub channel: String,
    pub ts: String,
    pub messages: Vec<ThreadMessage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadMessage {
    pub ts: String,
    pub user: Option<String>,
    pub bot_id: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelInfo {
    pub id: String,
    pub name: Option<String>,
    pub topic: Option<String>,
    pub purpose: Option<String>,
    pub is_private: bool,
}
