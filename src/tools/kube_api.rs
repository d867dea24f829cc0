//! The vocabulary of the [`crate::tools::KubeBackend`] trait: server-side list filters, what to
//! read of a pod log, and the workload kinds (with their `k8s-openapi` objects) the tools resolve
//! owners through.
//!
//! These are plain data; the fixture store and the live API client both read them, so the tools
//! ask for the same thing whichever backend answers.

use std::fmt;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Server-side filters of a list call: `labelSelector` and `fieldSelector`, in the API's syntax
/// (see [`crate::tools::kubernetes::selector`] for building and matching them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
}

impl ListQuery {
    /// Everything.
    pub fn all() -> ListQuery {
        ListQuery::default()
    }

    /// Objects whose labels match `selector`.
    pub fn labels(selector: impl Into<String>) -> ListQuery {
        ListQuery {
            label_selector: Some(selector.into()),
            field_selector: None,
        }
    }

    /// Objects whose fields match `selector`.
    pub fn fields(selector: impl Into<String>) -> ListQuery {
        ListQuery {
            label_selector: None,
            field_selector: Some(selector.into()),
        }
    }
}

/// What to read of one pod's log (`GET …/pods/{pod}/log`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// The container; required by the API when the pod has several.
    pub container: Option<String>,
    /// The previous (terminated) instance of the container.
    pub previous: bool,
    /// Lines from the end (`tailLines`).
    pub tail_lines: u32,
    /// Only lines of the last so many seconds (`sinceSeconds`).
    pub since_seconds: Option<u64>,
    /// At most so many bytes (`limitBytes`); the backend may lower it to its own budget.
    pub limit_bytes: Option<u64>,
}

impl LogQuery {
    /// The last `tail_lines` lines of the current container.
    pub fn tail(tail_lines: u32) -> LogQuery {
        LogQuery {
            container: None,
            previous: false,
            tail_lines,
            since_seconds: None,
            limit_bytes: None,
        }
    }
}

/// The controllers a pod can belong to, directly or through another controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadKind {
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 6] = [
        WorkloadKind::Deployment,
        WorkloadKind::ReplicaSet,
        WorkloadKind::StatefulSet,
        WorkloadKind::DaemonSet,
        WorkloadKind::Job,
        WorkloadKind::CronJob,
    ];

    /// The API's `kind`, e.g. `StatefulSet`.
    pub fn kind(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
        }
    }

    /// The resource name in URLs and RBAC rules, e.g. `statefulsets`.
    pub fn plural(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployments",
            WorkloadKind::ReplicaSet => "replicasets",
            WorkloadKind::StatefulSet => "statefulsets",
            WorkloadKind::DaemonSet => "daemonsets",
            WorkloadKind::Job => "jobs",
            WorkloadKind::CronJob => "cronjobs",
        }
    }

    /// The API group (`apps` or `batch`).
    pub fn group(self) -> &'static str {
        match self {
            WorkloadKind::Job | WorkloadKind::CronJob => "batch",
            _ => "apps",
        }
    }

    /// A kind as people and LLMs write it: `Deployment`, `deployments`, `deploy`, `sts`, `ds`,
    /// `cj`, `rs`… (case-insensitive).
    pub fn parse(text: &str) -> Option<WorkloadKind> {
        let t = text.trim().to_ascii_lowercase();
        let t = t.split('.').next().unwrap_or_default();
        Some(match t {
            "deployment" | "deployments" | "deploy" => WorkloadKind::Deployment,
            "replicaset" | "replicasets" | "rs" => WorkloadKind::ReplicaSet,
            "statefulset" | "statefulsets" | "sts" => WorkloadKind::StatefulSet,
            "daemonset" | "daemonsets" | "ds" => WorkloadKind::DaemonSet,
            "job" | "jobs" => WorkloadKind::Job,
            "cronjob" | "cronjobs" | "cj" => WorkloadKind::CronJob,
            _ => return None,
        })
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

/// One workload object as the API returns it.
#[derive(Debug, Clone, PartialEq)]
pub enum Workload {
    Deployment(Box<Deployment>),
    ReplicaSet(Box<ReplicaSet>),
    StatefulSet(Box<StatefulSet>),
    DaemonSet(Box<DaemonSet>),
    Job(Box<Job>),
    CronJob(Box<CronJob>),
}

impl Workload {
    pub fn kind(&self) -> WorkloadKind {
        match self {
            Workload::Deployment(_) => WorkloadKind::Deployment,
            Workload::ReplicaSet(_) => WorkloadKind::ReplicaSet,
            Workload::StatefulSet(_) => WorkloadKind::StatefulSet,
            Workload::DaemonSet(_) => WorkloadKind::DaemonSet,
            Workload::Job(_) => WorkloadKind::Job,
            Workload::CronJob(_) => WorkloadKind::CronJob,
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Workload::Deployment(o) => &o.metadata,
            Workload::ReplicaSet(o) => &o.metadata,
            Workload::StatefulSet(o) => &o.metadata,
            Workload::DaemonSet(o) => &o.metadata,
            Workload::Job(o) => &o.metadata,
            Workload::CronJob(o) => &o.metadata,
        }
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_from_what_people_write() {
        assert_eq!(
            WorkloadKind::parse("deploy"),
            Some(WorkloadKind::Deployment)
        );
        assert_eq!(
            WorkloadKind::parse("StatefulSets"),
            Some(WorkloadKind::StatefulSet)
        );
        assert_eq!(
            WorkloadKind::parse("deployments.apps"),
            Some(WorkloadKind::Deployment)
        );
        assert_eq!(WorkloadKind::parse("cj"), Some(WorkloadKind::CronJob));
        assert_eq!(WorkloadKind::parse("pod"), None);
        for kind in WorkloadKind::ALL {
            assert_eq!(WorkloadKind::parse(kind.kind()), Some(kind));
            assert_eq!(WorkloadKind::parse(kind.plural()), Some(kind));
        }
    }
}
