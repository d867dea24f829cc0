//! Kubernetes names: what a plausible object name looks like, and the workload a pod's name
//! points to.
//!
//! Controllers name their pods predictably: a Deployment's pods are
//! `<deployment>-<pod-template-hash>-<5 chars>` (the hash is 6-10 characters from the
//! alphabet `bcdfghjklmnpqrstvwxz2456789`), a StatefulSet's `<name>-<ordinal>`, a CronJob's
//! Job is `<cronjob>-<minutes since epoch>` (8+ digits) and its pod gets 5 more characters,
//! a Job's or a DaemonSet's pod is `<name>-<5 chars>`.

use crate::target::TargetKind;

/// The characters Kubernetes uses for generated suffixes (no vowels, no 0/1/3, to avoid words).
const SAFE: &str = "bcdfghjklmnpqrstvwxz2456789";

/// Words that may look like names but never are one.
const NOT_NAMES: &[&str] = &[
    "longer",
    "high",
    "low",
    "default",
    "the",
    "is",
    "are",
    "and",
    "for",
    "with",
    "pods",
    "pod",
    "service",
    "services",
    "deployment",
    "namespace",
    "node",
    "nodes",
    "error",
    "errors",
    "firing",
    "resolved",
    "critical",
    "warning",
    "info",
    "alert",
    "alerts",
    "down",
    "up",
    "ok",
    "true",
    "false",
    "none",
    "null",
    "unknown",
    "all",
    "restarting",
    "crashing",
    "failing",
    "slow",
    "why",
    "what",
    "how",
    "since",
    "after",
    "before",
    "than",
    "more",
    "less",
    "too",
    "many",
    "not",
    "ready",
    "running",
    "pending",
    "latency",
    "memory",
    "cpu",
    "disk",
    "usage",
    "rate",
    "ratio",
];

/// Whether `s` could be a Kubernetes object name (DNS-1123, not a free word).
pub fn is_plausible_name(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
        && !NOT_NAMES.contains(&s)
        && !s.chars().all(|c| c.is_ascii_digit() || c == '.')
}

fn is_safe_suffix(s: &str, lens: std::ops::RangeInclusive<usize>) -> bool {
    lens.contains(&s.len()) && s.chars().all(|c| SAFE.contains(c))
}

/// Which controller a pod's name points to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodShape {
    /// `<deployment>-<hash>-<xxxxx>`
    ReplicaSet,
    /// `<statefulset>-<n>`
    Ordinal,
    /// `<cronjob>-<8+ digits>-<xxxxx>`
    CronJob,
    /// `<job or daemonset>-<xxxxx>`
    JobOrDaemonSet,
}

impl PodShape {
    pub fn kind(self) -> TargetKind {
        match self {
            PodShape::ReplicaSet => TargetKind::Deployment,
            PodShape::Ordinal => TargetKind::StatefulSet,
            PodShape::CronJob => TargetKind::CronJob,
            PodShape::JobOrDaemonSet => TargetKind::Job,
        }
    }
    pub fn kind_words(self) -> &'static str {
        match self {
            PodShape::ReplicaSet => "Deployment",
            PodShape::Ordinal => "StatefulSet",
            PodShape::CronJob => "CronJob",
            PodShape::JobOrDaemonSet => "Job or DaemonSet",
        }
    }
}

/// The workload a pod's name points to, if its shape says.
pub fn workload_of_pod(pod: &str) -> Option<(PodShape, String)> {
    let parts: Vec<&str> = pod.split('-').collect();
    if parts.len() < 2 {
        return None;
    }
    let last = parts[parts.len() - 1];
    if parts.len() >= 3 {
        let middle = parts[parts.len() - 2];
        let base = parts[..parts.len() - 2].join("-");
        if is_safe_suffix(last, 5..=5)
            && middle.len() >= 8
            && middle.chars().all(|c| c.is_ascii_digit())
        {
            return Some((PodShape::CronJob, base));
        }
        if is_safe_suffix(last, 5..=5) && is_safe_suffix(middle, 6..=10) && !base.is_empty() {
            return Some((PodShape::ReplicaSet, base));
        }
    }
    let base = parts[..parts.len() - 1].join("-");
    if last.chars().all(|c| c.is_ascii_digit()) && last.len() <= 5 {
        return Some((PodShape::Ordinal, base));
    }
    if is_safe_suffix(last, 5..=5) {
        return Some((PodShape::JobOrDaemonSet, base));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_names_point_to_their_workload() {
        assert_eq!(
            workload_of_pod("checkout-7d9f8c6b5d-x2kqz"),
            Some((PodShape::ReplicaSet, "checkout".into()))
        );
        assert_eq!(
            workload_of_pod("invoice-sync-5f7d9bcc48-rtw2p"),
            Some((PodShape::ReplicaSet, "invoice-sync".into()))
        );
        assert_eq!(
            workload_of_pod("kafka-2"),
            Some((PodShape::Ordinal, "kafka".into()))
        );
        assert_eq!(
            workload_of_pod("nightly-export-28911520-7xk2d"),
            Some((PodShape::CronJob, "nightly-export".into()))
        );
        assert_eq!(
            workload_of_pod("db-migrate-9vkq4"),
            Some((PodShape::JobOrDaemonSet, "db-migrate".into()))
        );
        assert_eq!(workload_of_pod("standalone"), None);
        assert_eq!(workload_of_pod("my-app"), None, "no generated suffix");
    }

    #[test]
    fn free_words_are_not_names() {
        for w in [
            "longer", "high", "default", "pods", "Checkout", "10.0.0.1", "-x", "",
        ] {
            assert!(!is_plausible_name(w), "{w}");
        }
        for n in [
            "checkout",
            "invoice-sync",
            "ip-10-0-3-17.ec2.internal",
            "kafka-0",
        ] {
            assert!(is_plausible_name(n), "{n}");
        }
    }
}
