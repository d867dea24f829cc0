//! Target hints: every raw string an alert carries that may name the affected object, with
//! where it was read. Target resolution (elsewhere) turns them into a Kubernetes object; this
//! module only gathers, in order of trust:
//!
//! 1. labels whose key names an object (`pod`, `deployment`, `namespace`, `service_name`,
//!    `instance`, `kube_deployment`, `k8s.pod.name`, …), the shared ones first, then each group
//!    member's own;
//! 2. the same keys set by prose heuristics ("pod X", "node-3"), marked [`HintOrigin::Text`],
//!    and a host name found in the text;
//! 3. positional title values whose label is unknown, marked [`HintOrigin::TitleValue`] with no
//!    key — kept raw, never guessed into a key.
//!
//! URLs are never hints.

use super::{Findings, words};
use crate::alert::{HintOrigin, TargetHint};

/// Label keys whose values can name the object an alert is about.
const OBJECT_KEYS: &[&str] = &[
    "namespace",
    "exported_namespace",
    "kube_namespace",
    "k8s.namespace.name",
    "k8s_namespace_name",
    "pod",
    "pod_name",
    "exported_pod",
    "kube_pod_name",
    "k8s.pod.name",
    "k8s_pod_name",
    "deployment",
    "kube_deployment",
    "k8s.deployment.name",
    "k8s_deployment_name",
    "statefulset",
    "kube_stateful_set",
    "k8s.statefulset.name",
    "k8s_statefulset_name",
    "daemonset",
    "kube_daemon_set",
    "k8s.daemonset.name",
    "k8s_daemonset_name",
    "replicaset",
    "k8s.replicaset.name",
    "job_name",
    "k8s.job.name",
    "cronjob",
    "k8s.cronjob.name",
    "horizontalpodautoscaler",
    "persistentvolumeclaim",
    "ingress",
    "container",
    "container_name",
    "kube_container_name",
    "k8s.container.name",
    "k8s_container_name",
    "service",
    "service_name",
    "service.name",
    "kube_service",
    "exported_service",
    "app",
    "app.kubernetes.io/name",
    "app_kubernetes_io_name",
    "k8s_app",
    "job",
    "instance",
    "host",
    "hostname",
    "host.name",
    "host_name",
    "node",
    "nodename",
    "kubernetes_node",
    "k8s.node.name",
    "k8s_node_name",
    "upstream",
    "entity",
];

/// Most hints kept.
const MAX_HINTS: usize = 64;

/// The hints of an alert's findings; `host` is the host finally chosen.
pub(super) fn collect(f: &Findings, host: Option<&str>) -> Vec<TargetHint> {
    let mut out: Vec<TargetHint> = Vec::new();
    let mut push = |value: &str, origin: HintOrigin, key: Option<&str>| {
        let value = value.trim();
        let fresh = !out
            .iter()
            .any(|h| h.value == value && h.key.as_deref() == key);
        if !value.is_empty() && !value.contains("://") && fresh && out.len() < MAX_HINTS {
            out.push(TargetHint {
                value: value.to_string(),
                origin,
                key: key.map(str::to_string),
            });
        }
    };
    let object = |k: &str| OBJECT_KEYS.contains(&k);
    for (k, v) in f.labels.iter().filter(|(k, _)| object(k)) {
        let origin = if f.from_text.contains(k) {
            HintOrigin::Text
        } else {
            HintOrigin::Label
        };
        push(v, origin, Some(k));
    }
    for member in &f.group {
        for (k, v) in member.labels.iter().filter(|(k, _)| object(k)) {
            push(v, HintOrigin::Label, Some(k));
        }
    }
    if let Some(h) = host {
        let labelled = f.labels.values().any(|v| v.contains(h));
        if !labelled {
            push(h, HintOrigin::Text, Some("host"));
        }
    }
    for v in f.positional.iter().filter(|v| could_name_object(v)) {
        push(v, HintOrigin::TitleValue, None);
    }
    out
}

/// A positional value that could name a Kubernetes object, host or address: lower-case DNS
/// characters (and `:port`), not a free word, not the monitoring system's own value
/// (`kube-state-metrics`, `http`), not a reason like `CrashLoopBackOff`.
fn could_name_object(v: &str) -> bool {
    v.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | ':' | '_'))
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !words::is_free_word(v)
        && !words::is_monitoring_value(v)
}
