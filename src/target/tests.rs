//! Target resolution on the shapes real alerts carry.

use super::*;
use crate::alert::sources::text_alert;

fn alert_with(title: &str, labels: &[(&str, &str)]) -> Alert {
    let mut a = text_alert(title);
    a.labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    a
}

#[test]
fn kube_state_metrics_labels_name_the_pod_not_the_exporter() {
    // kube-prometheus KubePodCrashLooping as Alertmanager sends it.
    let a = alert_with(
        "KubePodCrashLooping",
        &[
            ("alertname", "KubePodCrashLooping"),
            ("container", "worker"),
            ("endpoint", "http"),
            ("instance", "10.1.4.7:8080"),
            ("job", "kube-state-metrics"),
            ("namespace", "billing-3"),
            ("pod", "invoice-sync-5f7d9bcc48-rtw2p"),
            ("service", "prometheus-kube-state-metrics"),
            ("severity", "warning"),
        ],
    );
    let t = resolve(&a);
    assert_eq!(t.kind, TargetKind::Pod);
    assert_eq!(t.name, "invoice-sync-5f7d9bcc48-rtw2p");
    assert_eq!(t.namespace.as_deref(), Some("billing-3"));
    assert_eq!(
        t.workload,
        Some((TargetKind::Deployment, "invoice-sync".to_string()))
    );
    assert_eq!(
        t.container.as_deref(),
        Some("worker"),
        "the container is not the workload"
    );
    assert!(
        t.why.iter().any(|w| w.contains("name the exporter")),
        "{:?}",
        t.why
    );
    assert_eq!(
        t.kubectl_ref().as_deref(),
        Some("pod/invoice-sync-5f7d9bcc48-rtw2p")
    );
}

#[test]
fn workload_labels_win_over_pods() {
    let a = alert_with(
        "KubeStatefulSetReplicasMismatch",
        &[
            ("statefulset", "kafka"),
            ("namespace", "data"),
            ("job", "kube-state-metrics"),
        ],
    );
    let t = resolve(&a);
    assert_eq!(
        (t.kind, t.name.as_str()),
        (TargetKind::StatefulSet, "kafka")
    );
    let a = alert_with(
        "KubeJobFailed",
        &[
            ("job_name", "nightly-export-28911520"),
            ("namespace", "etl"),
            ("job", "kube-state-metrics"),
        ],
    );
    assert_eq!(resolve(&a).kind, TargetKind::Job);
    let a = alert_with(
        "KubePersistentVolumeFillingUp",
        &[
            ("persistentvolumeclaim", "data-postgres-0"),
            ("namespace", "db"),
            ("job", "kubelet"),
        ],
    );
    assert_eq!(resolve(&a).kind, TargetKind::PersistentVolumeClaim);
}

#[test]
fn datadog_tags_and_nodes_and_probes() {
    let a = alert_with(
        "High restarts",
        &[("kube_deployment", "checkout"), ("kube_namespace", "shop")],
    );
    let t = resolve(&a);
    assert_eq!(
        (t.kind, t.name.as_str(), t.namespace.as_deref()),
        (TargetKind::Deployment, "checkout", Some("shop"))
    );
    let a = alert_with(
        "KubeNodeNotReady",
        &[
            ("node", "ip-10-0-3-17.ec2.internal"),
            ("job", "kube-state-metrics"),
        ],
    );
    let t = resolve(&a);
    assert_eq!((t.kind, t.namespace.clone()), (TargetKind::Node, None));
    let a = alert_with(
        "ProbeFailed",
        &[
            ("instance", "https://api.example.com/health"),
            ("job", "blackbox"),
        ],
    );
    let t = resolve(&a);
    assert_eq!(
        (t.kind, t.name.as_str()),
        (TargetKind::Url, "https://api.example.com/health")
    );
    let a = alert_with(
        "TargetDown",
        &[
            ("alertname", "TargetDown"),
            ("job", "payments-api"),
            ("namespace", "pay"),
        ],
    );
    assert_eq!(
        (resolve(&a).kind, resolve(&a).name),
        (TargetKind::Service, "payments-api".into())
    );
}

#[test]
fn questions_in_words() {
    let t = resolve(&text_alert(
        "why are the invoice-sync pods restarting in namespace billing-3",
    ));
    assert_eq!(
        (t.kind, t.name.as_str(), t.namespace.as_deref()),
        (TargetKind::App, "invoice-sync", Some("billing-3"))
    );
    assert!(!t.guessed);
    let t = resolve(&text_alert("is the latency high for longer than usual?"));
    assert!(t.guessed);
    assert!(t.name.is_empty() || is_plausible_name(&t.name), "{t:?}");
    assert_ne!(t.name, "longer");
}
