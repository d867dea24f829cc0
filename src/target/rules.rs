//! What well-known alert names say about their object, and which label values belong to the
//! monitoring system rather than to the object.
//!
//! The kubernetes-mixin rules (kube-prometheus, kube-prometheus-stack) name their object's kind
//! in the alert name (`KubeDeploymentReplicasMismatch` is about a Deployment, `KubePodCrashLooping`
//! about a pod, `KubeHpaMaxedOut` about an HPA, `KubePersistentVolumeFillingUp` about a claim);
//! the node-exporter mixin's `Node*` alerts are about the node whose exporter is the `instance`;
//! blackbox-exporter's `Probe*` / `Blackbox*` alerts are about the probed URL; `TargetDown` is
//! about a scrape job's Service. When a message keeps only the label values (Alertmanager's
//! default title), the kind still says which value to look for.

use crate::alert::Alert;
use crate::target::TargetKind;

/// The kind an alert name implies, with the label key that names the object in that rule.
pub fn kind_by_alertname(name: &str) -> Option<(TargetKind, &'static [&'static str])> {
    const RULES: &[(&str, TargetKind, &[&str])] = &[
        ("KubePod", TargetKind::Pod, &["pod"]),
        ("KubeContainer", TargetKind::Pod, &["pod"]),
        ("CPUThrottlingHigh", TargetKind::Pod, &["pod"]),
        ("KubeDeployment", TargetKind::Deployment, &["deployment"]),
        ("KubeStatefulSet", TargetKind::StatefulSet, &["statefulset"]),
        ("KubeDaemonSet", TargetKind::DaemonSet, &["daemonset"]),
        ("KubeCronJob", TargetKind::CronJob, &["cronjob"]),
        ("KubeJob", TargetKind::Job, &["job_name"]),
        (
            "KubeHpa",
            TargetKind::HorizontalPodAutoscaler,
            &["horizontalpodautoscaler"],
        ),
        (
            "KubePersistentVolume",
            TargetKind::PersistentVolumeClaim,
            &["persistentvolumeclaim"],
        ),
        ("KubeNode", TargetKind::Node, &["node"]),
        ("KubeletDown", TargetKind::Node, &["node"]),
        ("TargetDown", TargetKind::Service, &["job", "service"]),
        ("Blackbox", TargetKind::Url, &["instance"]),
        ("Probe", TargetKind::Url, &["instance"]),
        // node-exporter mixin: NodeFilesystemSpaceFillingUp, NodeMemoryHighUtilization…
        ("Node", TargetKind::Node, &["instance"]),
    ];
    RULES
        .iter()
        .find(|(prefix, _, _)| {
            name.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_uppercase))
        })
        .map(|(_, kind, keys)| (*kind, *keys))
}

/// The alert's rule name: the `alertname` label, else a CamelCase word of the title shaped like
/// a rule name (`KubePodCrashLooping`).
pub fn alert_name(alert: &Alert) -> Option<String> {
    if let Some(n) = alert.labels.get("alertname") {
        return Some(n.clone());
    }
    alert
        .title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| {
            w.len() >= 6
                && w.starts_with(|c: char| c.is_ascii_uppercase())
                && w.chars().skip(1).any(|c| c.is_ascii_uppercase())
                && w.chars().any(|c| c.is_ascii_lowercase())
        })
        .map(str::to_string)
}

/// Parts that mark a monitoring component, whatever the Helm release prefix
/// (`kube-prometheus-stack-kube-state-metrics-6b4f8c9d7-2xkqp`, `prometheus-node-exporter-x8k2p`,
/// `kube-prometheus-stack-kubelet`).
const MONITORING_PARTS: &[&str] = &[
    "kube-state-metrics",
    "node-exporter",
    "blackbox-exporter",
    "kubelet",
    "prometheus-operator",
];

/// Whether a label value names the monitoring system (an exporter's pod or service, the
/// Prometheus or Alertmanager of a release), never the object an alert is about.
pub fn is_monitoring_value(value: &str) -> bool {
    let v = value.to_ascii_lowercase();
    let last = v.rsplit('/').next().unwrap_or(&v);
    MONITORING_PARTS.iter().any(|p| v.contains(p))
        || ["prometheus", "alertmanager", "grafana"]
            .iter()
            .any(|m| last == *m || last.ends_with(&format!("-{m}")))
}

/// A generated id (`5a70e64b-5f7f-3b9b-7605-8c89c153873f`), not a name.
pub fn is_uuid(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// An IPv4 address, with or without a port.
pub fn ip_of(value: &str) -> Option<std::net::Ipv4Addr> {
    let host = value.rsplit_once(':').map_or(value, |(h, _)| h);
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixin_alert_names_imply_the_kind() {
        let kind = |n: &str| kind_by_alertname(n).map(|(k, _)| k);
        assert_eq!(kind("KubePodCrashLooping"), Some(TargetKind::Pod));
        assert_eq!(
            kind("KubeDeploymentReplicasMismatch"),
            Some(TargetKind::Deployment)
        );
        assert_eq!(
            kind("KubeStatefulSetReplicasMismatch"),
            Some(TargetKind::StatefulSet)
        );
        assert_eq!(
            kind("KubeDaemonSetRolloutStuck"),
            Some(TargetKind::DaemonSet)
        );
        assert_eq!(kind("KubeJobFailed"), Some(TargetKind::Job));
        assert_eq!(kind("KubeCronJobRunning"), Some(TargetKind::CronJob));
        assert_eq!(
            kind("KubeHpaMaxedOut"),
            Some(TargetKind::HorizontalPodAutoscaler)
        );
        assert_eq!(
            kind("KubePersistentVolumeFillingUp"),
            Some(TargetKind::PersistentVolumeClaim)
        );
        assert_eq!(kind("KubeNodeNotReady"), Some(TargetKind::Node));
        assert_eq!(kind("NodeFilesystemSpaceFillingUp"), Some(TargetKind::Node));
        assert_eq!(kind("BlackboxProbeFailed"), Some(TargetKind::Url));
        assert_eq!(kind("TargetDown"), Some(TargetKind::Service));
        assert_eq!(kind("Nodejs heap"), None, "a word that starts alike");
        assert_eq!(kind("HighErrorRate"), None);
    }

    #[test]
    fn exporter_values_are_monitoring() {
        for v in [
            "kube-prometheus-stack-kube-state-metrics-6b4f8c9d7-2xkqp",
            "kube-prometheus-stack-prometheus-node-exporter-x8k2p",
            "kube-prometheus-stack-kubelet",
            "monitoring/kube-prometheus-stack-prometheus",
            "prometheus",
        ] {
            assert!(is_monitoring_value(v), "{v}");
        }
        for v in ["checkout-api", "prometheus-adapter-test", "log-shipper"] {
            assert!(!is_monitoring_value(v), "{v}");
        }
    }

    #[test]
    fn ids_and_addresses() {
        assert!(is_uuid("5a70e64b-5f7f-3b9b-7605-8c89c153873f"));
        assert!(!is_uuid("feedback-api-7f5b9c4d8-zk5pm"));
        assert_eq!(
            ip_of("10.20.5.17:9100").map(|i| i.to_string()).as_deref(),
            Some("10.20.5.17")
        );
        assert_eq!(ip_of("ip-10-20-5-17"), None);
    }
}
