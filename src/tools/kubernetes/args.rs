//! Arguments of the Kubernetes tools, and what they point at ([`Target`]).
//!
//! Every tool that reads pods accepts a pod name, a workload (`kind` + `name`, or a bare `name`
//! looked up as Deployment, StatefulSet, DaemonSet, CronJob, Job) or a service, as the agents'
//! `collect` calls and the LLM write them; numbers and booleans may come as strings.

use rmcp::schemars::JsonSchema;
use serde::Deserialize;

use crate::tools::kube_api::WorkloadKind;
use crate::tools::kubernetes::resolve::NAMED_KINDS;
use crate::tools::wire;

/// Arguments of `get_pod_status`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct PodStatusArgs {
    /// Namespace of the pods (may be left out with `node`: then every namespace).
    #[serde(default)]
    pub namespace: String,
    /// Only the pods scheduled on this node.
    #[serde(default)]
    pub node: Option<String>,
    /// Only the pods of this service (its Service's selector, else the workload of that name,
    /// else label app / app.kubernetes.io/name, or name prefix).
    #[serde(default)]
    pub service: Option<String>,
    /// Only this pod.
    #[serde(default)]
    pub pod: Option<String>,
    /// Workload kind (Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet) of `name`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Only the pods of the workload of this name.
    #[serde(default)]
    pub name: Option<String>,
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
    /// Namespace of the events (may be left out with `node`: then every namespace).
    #[serde(default)]
    pub namespace: String,
    /// Events about this node and about the pods scheduled on it (evictions, kills).
    #[serde(default)]
    pub node: Option<String>,
    /// Only events about this object and its `<object>-…` children (e.g. a service's pods).
    #[serde(default, alias = "service")]
    pub object: Option<String>,
    /// Only Warning events (default false).
    #[serde(default, deserialize_with = "wire::opt_bool")]
    pub warnings_only: Option<bool>,
    /// Only events about this pod.
    #[serde(default)]
    pub pod: Option<String>,
    /// Workload kind of `name`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Events about the workload of this name, its ReplicaSets / Jobs and its pods.
    #[serde(default)]
    pub name: Option<String>,
}

/// Arguments of `get_pod_logs`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct PodLogsArgs {
    /// Namespace of the pod.
    pub namespace: String,
    /// The pod; when absent, the service's (or workload's) pod with the most restarts (or not
    /// ready).
    #[serde(default)]
    pub pod: Option<String>,
    /// Service whose worst pod to read, when no pod is named.
    #[serde(default)]
    pub service: Option<String>,
    /// Workload kind of `name`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Workload whose worst pod to read, when no pod is named.
    #[serde(default)]
    pub name: Option<String>,
    /// The container (default: the only one, the pod's default container, else the one with
    /// the most restarts).
    #[serde(default)]
    pub container: Option<String>,
    /// Number of lines from the end (default 100).
    #[serde(default, deserialize_with = "wire::opt_u32")]
    pub tail_lines: Option<u32>,
    /// The previous (crashed) container's log (default false).
    #[serde(default, deserialize_with = "wire::opt_bool")]
    pub previous: Option<bool>,
    /// Only lines of the last so many minutes.
    #[serde(default, deserialize_with = "wire::opt_u32")]
    pub minutes: Option<u32>,
    /// Only lines since this time (RFC 3339, e.g. a few minutes before the alert fired).
    #[serde(default)]
    pub since: Option<String>,
    /// At most so many bytes of log (default 64 KiB).
    #[serde(default, deserialize_with = "wire::opt_u32")]
    pub limit_bytes: Option<u32>,
}

/// Arguments of `get_workload`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct WorkloadArgs {
    /// Namespace of the workload.
    pub namespace: String,
    /// Deployment, StatefulSet, DaemonSet, Job, CronJob or ReplicaSet (default: try them).
    #[serde(default)]
    pub kind: Option<String>,
    /// Workload name.
    #[serde(default)]
    pub name: Option<String>,
    /// A pod whose controller to find (pod → ReplicaSet → Deployment, pod → Job → CronJob).
    #[serde(default)]
    pub pod: Option<String>,
}

/// Arguments of `get_node_status`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct NodeStatusArgs {
    /// One node.
    #[serde(default)]
    pub node: Option<String>,
    /// With `service`, `pod` or a workload: the nodes their pods run on.
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub pod: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// What a call is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Pod(String),
    /// A workload of one of these kinds.
    Workload(Vec<WorkloadKind>, String),
    Service(String),
    /// The whole namespace.
    Namespace,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Target {
    /// From the optional arguments: a pod wins, then a workload, then a service.
    pub fn from_args(
        pod: &Option<String>,
        kind: &Option<String>,
        name: &Option<String>,
        service: &Option<String>,
    ) -> Result<Target, String> {
        if let Some(pod) = given(pod) {
            return Ok(Target::Pod(pod.to_owned()));
        }
        match (given(kind), given(name)) {
            (Some(kind), Some(name)) => {
                if kind.eq_ignore_ascii_case("pod") || kind.eq_ignore_ascii_case("pods") {
                    return Ok(Target::Pod(name.to_owned()));
                }
                if kind.eq_ignore_ascii_case("service") || kind.eq_ignore_ascii_case("svc") {
                    return Ok(Target::Service(name.to_owned()));
                }
                let kind = WorkloadKind::parse(kind).ok_or_else(|| {
                    format!(
                        "unknown workload kind {kind:?} (Deployment, StatefulSet, DaemonSet, \
                         Job, CronJob or ReplicaSet)"
                    )
                })?;
                return Ok(Target::Workload(vec![kind], name.to_owned()));
            }
            (Some(kind), None) => return Err(format!("`kind` {kind:?} needs a `name`")),
            (None, Some(name)) => {
                return Ok(Target::Workload(NAMED_KINDS.to_vec(), name.to_owned()));
            }
            (None, None) => {}
        }
        Ok(match given(service) {
            Some(service) => Target::Service(service.to_owned()),
            None => Target::Namespace,
        })
    }

    /// ` named x` / ` of deployment x` / ` of x`, for "no data" sentences.
    pub fn describe(&self) -> String {
        match self {
            Target::Pod(p) => format!(" named {p}"),
            Target::Workload(kinds, n) if kinds.len() == 1 => {
                format!(" of {} {n}", kinds[0].kind())
            }
            Target::Workload(_, n) => format!(" of workload {n}"),
            Target::Service(s) => format!(" of {s}"),
            Target::Namespace => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn targets_from_arguments() {
        assert_eq!(
            Target::from_args(&s("p-1"), &None, &s("x"), &s("svc")),
            Ok(Target::Pod("p-1".into()))
        );
        assert_eq!(
            Target::from_args(&None, &s("sts"), &s("db"), &s("svc")),
            Ok(Target::Workload(
                vec![WorkloadKind::StatefulSet],
                "db".into()
            ))
        );
        assert_eq!(
            Target::from_args(&None, &None, &s("db"), &None),
            Ok(Target::Workload(NAMED_KINDS.to_vec(), "db".into()))
        );
        assert_eq!(
            Target::from_args(&None, &s("Pod"), &s("p"), &None),
            Ok(Target::Pod("p".into()))
        );
        assert_eq!(
            Target::from_args(&None, &None, &None, &s("svc")),
            Ok(Target::Service("svc".into()))
        );
        assert_eq!(
            Target::from_args(&s(" "), &None, &None, &None),
            Ok(Target::Namespace)
        );
        assert!(Target::from_args(&None, &s("widget"), &s("x"), &None).is_err());
        assert!(Target::from_args(&None, &s("deploy"), &None, &None).is_err());
    }
}
