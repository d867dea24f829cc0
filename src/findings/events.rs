//! Kubernetes events and workload conditions as the control plane writes them: scheduling
//! failures with the scheduler's reason, probe failures, Job failures, volume mount failures,
//! evictions and stalled rollouts.
//!
//! The messages are the components' own (kube-scheduler's `0/5 nodes are available: 3
//! Insufficient memory…`, the kubelet's `Readiness probe failed: HTTP probe failed with
//! statuscode: 503`, the Job controller's `Job has reached the specified backoff limit`).

use crate::evidence::{Evidence, KubeEvent};
use crate::findings::{Finding, FindingKind, Strength, clip, has_any};

/// Why the scheduler could not place a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedulingProblem {
    InsufficientCpu,
    InsufficientMemory,
    InsufficientGpu,
    InsufficientOther,
    UntoleratedTaint,
    NodeAffinity,
    UnboundVolume,
    VolumeNodeConflict,
    TooManyPods,
    HostPorts,
    Unknown,
}

impl SchedulingProblem {
    pub fn fact(self) -> &'static str {
        match self {
            SchedulingProblem::InsufficientCpu => "insufficient_cpu",
            SchedulingProblem::InsufficientMemory => "insufficient_memory",
            SchedulingProblem::InsufficientGpu => "insufficient_gpu",
            SchedulingProblem::InsufficientOther => "insufficient_resource",
            SchedulingProblem::UntoleratedTaint => "untolerated_taint",
            SchedulingProblem::NodeAffinity => "node_affinity_mismatch",
            SchedulingProblem::UnboundVolume => "unbound_pvc",
            SchedulingProblem::VolumeNodeConflict => "volume_node_conflict",
            SchedulingProblem::TooManyPods => "too_many_pods",
            SchedulingProblem::HostPorts => "host_port_conflict",
            SchedulingProblem::Unknown => "unschedulable",
        }
    }
}

/// Every reason a `FailedScheduling` message gives, most nodes first as the scheduler lists
/// them (`0/6 nodes are available: 4 Insufficient memory, 2 node(s) had untolerated taint…`).
pub fn scheduling_problems(message: &str) -> Vec<SchedulingProblem> {
    let m = message.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut add = |p| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    // Parts end at a comma or a sentence's full stop (not the dot of `nvidia.com/gpu`).
    let m = m.replace(". ", ",");
    for part in m.split(',') {
        let part = part.trim().trim_end_matches('.');
        if part.contains("insufficient cpu") {
            add(SchedulingProblem::InsufficientCpu);
        } else if part.contains("insufficient memory") {
            add(SchedulingProblem::InsufficientMemory);
        } else if part.contains("insufficient nvidia.com/gpu")
            || part.contains("insufficient amd.com/gpu")
            || part.contains("gpu") && part.contains("insufficient")
        {
            add(SchedulingProblem::InsufficientGpu);
        } else if part.contains("insufficient") {
            add(SchedulingProblem::InsufficientOther);
        } else if part.contains("untolerated taint")
            || part.contains("taint") && part.contains("tolerate")
        {
            add(SchedulingProblem::UntoleratedTaint);
        } else if part.contains("node affinity")
            || part.contains("node selector")
            || part.contains("nodeselector")
        {
            if part.contains("volume node affinity") {
                add(SchedulingProblem::VolumeNodeConflict);
            } else {
                add(SchedulingProblem::NodeAffinity);
            }
        } else if part.contains("unbound") && part.contains("persistentvolumeclaim") {
            add(SchedulingProblem::UnboundVolume);
        } else if part.contains("too many pods") {
            add(SchedulingProblem::TooManyPods);
        } else if part.contains("free ports") {
            add(SchedulingProblem::HostPorts);
        }
    }
    if out.is_empty() {
        out.push(SchedulingProblem::Unknown);
    }
    out
}

/// Which probe failed, from a kubelet `Unhealthy` / `Killing` event.
fn probe_kind(message: &str) -> Option<&'static str> {
    let m = message.to_ascii_lowercase();
    if m.starts_with("readiness probe") || m.contains("readiness probe failed") {
        Some("readiness_probe_failed")
    } else if m.starts_with("liveness probe")
        || m.contains("failed liveness probe")
        || m.contains("liveness probe failed")
    {
        Some("liveness_probe_failed")
    } else if m.contains("startup probe") {
        Some("startup_probe_failed")
    } else {
        None
    }
}

fn cite(e: &KubeEvent) -> String {
    let times = if e.count > 1 {
        format!(" ({}×)", e.count)
    } else {
        String::new()
    };
    format!(
        "{} {}{times}: {}",
        e.reason,
        e.object,
        clip(&e.message, 220)
    )
}

fn finding(
    kind: FindingKind,
    fact: &str,
    e: &KubeEvent,
    detail: String,
    strength: Strength,
) -> Finding {
    Finding::new(kind, fact, e.object.clone(), detail, strength)
        .at(e.timestamp)
        .cite(cite(e))
        .count(e.count)
}

/// The finding one event states, if any.
pub fn event_finding(e: &KubeEvent) -> Vec<Finding> {
    let reason = e.reason.as_str();
    let msg = e.message.as_str();
    match reason {
        "FailedScheduling" => scheduling_problems(msg)
            .into_iter()
            .map(|p| {
                let strength = if p == SchedulingProblem::Unknown {
                    Strength::Strong
                } else {
                    Strength::Decisive
                };
                finding(
                    FindingKind::Scheduling,
                    p.fact(),
                    e,
                    format!("{} cannot be scheduled: {}", e.object, clip(msg, 200)),
                    strength,
                )
            })
            .collect(),
        "Unhealthy" | "Killing" | "ProbeWarning" => match probe_kind(msg) {
            Some(fact) => vec![finding(
                FindingKind::ProbeFailure,
                fact,
                e,
                format!(
                    "{} fails its {}: {}",
                    e.object,
                    fact.trim_end_matches("_failed").replace('_', " "),
                    clip(msg, 200)
                ),
                Strength::Strong,
            )],
            None => Vec::new(),
        },
        "BackoffLimitExceeded" => vec![finding(
            FindingKind::JobFailure,
            "job_backoff_limit_exceeded",
            e,
            format!(
                "{} failed: its pods kept failing until the backoff limit",
                e.object
            ),
            Strength::Decisive,
        )],
        "DeadlineExceeded" => vec![finding(
            FindingKind::JobFailure,
            "job_deadline_exceeded",
            e,
            format!(
                "{} failed: it ran longer than its activeDeadlineSeconds",
                e.object
            ),
            Strength::Decisive,
        )],
        "FailedMount" | "FailedAttachVolume" => {
            let fact = if has_any(msg, &["secret"]) && has_any(msg, &["not found"]) {
                "missing_secret"
            } else if has_any(msg, &["configmap"]) && has_any(msg, &["not found"]) {
                "missing_configmap"
            } else if has_any(msg, &["multi-attach"]) {
                "volume_multi_attach"
            } else {
                "volume_mount_failed"
            };
            vec![finding(
                FindingKind::Volume,
                fact,
                e,
                format!("{} cannot mount a volume: {}", e.object, clip(msg, 200)),
                Strength::Decisive,
            )]
        }
        "Evicted" => {
            let fact = if has_any(msg, &["memory"]) {
                "evicted_memory"
            } else if has_any(msg, &["ephemeral-storage", "disk", "nodefs", "imagefs"]) {
                "evicted_disk"
            } else {
                "evicted"
            };
            vec![finding(
                FindingKind::Eviction,
                fact,
                e,
                format!("{} was evicted: {}", e.object, clip(msg, 200)),
                Strength::Strong,
            )]
        }
        "ProgressDeadlineExceeded" => vec![finding(
            FindingKind::Rollout,
            "rollout_stalled",
            e,
            format!(
                "the rollout of {} made no progress within its deadline",
                e.object
            ),
            Strength::Strong,
        )],
        "OOMKilling" | "SystemOOM" => vec![finding(
            FindingKind::NodeCondition,
            "node_system_oom",
            e,
            format!(
                "the kernel on {} killed a process for lack of memory: {}",
                e.object,
                clip(msg, 160)
            ),
            Strength::Strong,
        )],
        "NodeNotReady" => vec![finding(
            FindingKind::NodeCondition,
            "node_not_ready",
            e,
            format!("{} became NotReady", e.object),
            Strength::Strong,
        )],
        "EvictionThresholdMet" | "FreeDiskSpaceFailed" | "ImageGCFailed" => vec![finding(
            FindingKind::NodeCondition,
            if reason == "EvictionThresholdMet" {
                "node_eviction_threshold"
            } else {
                "node_disk_gc_failed"
            },
            e,
            format!("{}: {}", e.object, clip(msg, 160)),
            Strength::Strong,
        )],
        _ => Vec::new(),
    }
}

/// Findings of every event, and of workload conditions (a stalled rollout, a failed Job).
pub fn event_findings(evidence: &Evidence) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in evidence.events() {
        if !seen.insert((e.object.clone(), e.reason.clone(), e.message.clone())) {
            continue;
        }
        out.extend(event_finding(e));
    }
    for w in evidence.workloads() {
        let subject = format!("{}/{}", w.kind, w.name);
        for cond in &w.conditions {
            let fact = if cond.contains("ProgressDeadlineExceeded") {
                Some((
                    "rollout_stalled",
                    FindingKind::Rollout,
                    format!("the rollout of {subject} made no progress within its deadline"),
                ))
            } else if cond.contains("BackoffLimitExceeded") {
                Some((
                    "job_backoff_limit_exceeded",
                    FindingKind::JobFailure,
                    format!("{subject} failed: its pods kept failing until the backoff limit"),
                ))
            } else if cond.contains("DeadlineExceeded") {
                Some((
                    "job_deadline_exceeded",
                    FindingKind::JobFailure,
                    format!("{subject} failed: it ran longer than its activeDeadlineSeconds"),
                ))
            } else {
                None
            };
            if let Some((fact, kind, detail)) = fact
                && !out.iter().any(|f| f.fact == fact && f.subject == subject)
            {
                out.push(
                    Finding::new(kind, fact, subject.clone(), detail, Strength::Decisive)
                        .cite(format!("{subject}: {cond}")),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(reason: &str, object: &str, message: &str) -> KubeEvent {
        KubeEvent {
            timestamp: None,
            event_type: "Warning".into(),
            reason: reason.into(),
            object: object.into(),
            message: message.into(),
            count: 3,
        }
    }

    #[test]
    fn scheduler_messages() {
        use SchedulingProblem::*;
        assert_eq!(
            scheduling_problems(
                "0/6 nodes are available: 3 Insufficient memory, 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/6 nodes are available: 3 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling."
            ),
            vec![InsufficientMemory, UntoleratedTaint, NodeAffinity]
        );
        assert_eq!(
            scheduling_problems("0/3 nodes are available: 3 Insufficient cpu."),
            vec![InsufficientCpu]
        );
        assert_eq!(
            scheduling_problems("0/4 nodes are available: 4 Insufficient nvidia.com/gpu."),
            vec![InsufficientGpu]
        );
        assert_eq!(
            scheduling_problems(
                "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
            ),
            vec![UnboundVolume]
        );
        assert_eq!(
            scheduling_problems(
                "0/2 nodes are available: 2 node(s) had volume node affinity conflict."
            ),
            vec![VolumeNodeConflict]
        );
        assert_eq!(scheduling_problems("something new"), vec![Unknown]);
    }

    #[test]
    fn kubelet_and_controller_events() {
        let f = event_finding(&event(
            "Unhealthy",
            "Pod/web-1",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
        ));
        assert_eq!(f[0].fact, "readiness_probe_failed");
        let f = event_finding(&event(
            "Killing",
            "Pod/web-1",
            "Container web failed liveness probe, will be restarted",
        ));
        assert_eq!(f[0].fact, "liveness_probe_failed");
        let f = event_finding(&event(
            "BackoffLimitExceeded",
            "Job/nightly-export-28911",
            "Job has reached the specified backoff limit",
        ));
        assert_eq!(
            (f[0].fact.as_str(), f[0].strength),
            ("job_backoff_limit_exceeded", Strength::Decisive)
        );
        let f = event_finding(&event(
            "FailedMount",
            "Pod/api-1",
            "MountVolume.SetUp failed for volume \"cfg\" : configmap \"api-config\" not found",
        ));
        assert_eq!(f[0].fact, "missing_configmap");
        let f = event_finding(&event(
            "Evicted",
            "Pod/api-1",
            "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 2Gi.",
        ));
        assert_eq!(f[0].fact, "evicted_disk");
        let f = event_finding(&event(
            "FailedScheduling",
            "Pod/etl-0",
            "0/3 nodes are available: 3 Insufficient memory.",
        ));
        assert_eq!(f[0].fact, "insufficient_memory");
        assert!(f[0].cites[0].contains("(3×)"));
        assert!(event_finding(&event("Pulled", "Pod/a", "Successfully pulled image")).is_empty());
    }
}
