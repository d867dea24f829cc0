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

/// An Alertmanager message as the default template renders it: the title lists the group's
/// values, then the other labels' values in parentheses.
fn am_title(title: &str, labels: &[(&str, &str)], hints: &[&str]) -> Alert {
    let mut a = alert_with(title, labels);
    a.source = AlertSource::Alertmanager;
    a.target_hints = hints
        .iter()
        .map(|v| crate::alert::TargetHint {
            value: v.to_string(),
            origin: HintOrigin::TitleValue,
            key: None,
        })
        .collect();
    a
}

#[test]
fn the_exporters_own_pod_is_never_the_target() {
    let a = alert_with(
        "KubeNodeNotReady",
        &[
            ("alertname", "KubeNodeNotReady"),
            ("job", "kube-state-metrics"),
            ("node", "ip-10-20-3-41.eu-west-1.compute.internal"),
            (
                "pod",
                "kube-prometheus-stack-kube-state-metrics-6b4f8c9d7-2xkqp",
            ),
            ("service", "kube-prometheus-stack-kube-state-metrics"),
        ],
    );
    let t = resolve(&a);
    assert_eq!(
        (t.kind, t.name.as_str()),
        (TargetKind::Node, "ip-10-20-3-41.eu-west-1.compute.internal")
    );
    // node-exporter: the instance is the node's address; its namespace/pod are the exporter's.
    let a = alert_with(
        "NodeFilesystemSpaceFillingUp",
        &[
            ("alertname", "NodeFilesystemSpaceFillingUp"),
            ("instance", "10.20.5.17:9100"),
            ("job", "node-exporter"),
            ("namespace", "monitoring"),
            (
                "pod",
                "kube-prometheus-stack-prometheus-node-exporter-x8k2p",
            ),
        ],
    );
    let t = resolve(&a);
    assert_eq!(
        (t.kind, t.name.as_str(), t.namespace.clone()),
        (TargetKind::Node, "10.20.5.17", None)
    );
}

#[test]
fn a_default_title_gives_the_namespace_and_the_object_by_the_alerts_kind() {
    let a = am_title(
        "cx-tools (KubePodCrashLooping api http 10.42.0.37:8080 kube-state-metrics feedback-api-7f5b9c4d8-zk5pm monitoring/kube-prometheus-stack-prometheus CrashLoopBackOff kube-prometheus-stack-kube-state-metrics warning 5a70e64b-5f7f-3b9b-7605-8c89c153873f)",
        &[("alertname", "KubePodCrashLooping")],
        &[
            "cx-tools",
            "api",
            "10.42.0.37:8080",
            "feedback-api-7f5b9c4d8-zk5pm",
            "5a70e64b-5f7f-3b9b-7605-8c89c153873f",
        ],
    );
    let t = resolve(&a);
    assert_eq!(
        (t.kind, t.name.as_str(), t.namespace.as_deref()),
        (
            TargetKind::Pod,
            "feedback-api-7f5b9c4d8-zk5pm",
            Some("cx-tools")
        )
    );
    let a = am_title(
        "catalog (KubeDeploymentReplicasMismatch kube-state-metrics search-api http 10.42.0.37:8080 kube-state-metrics kube-prometheus-stack-kube-state-metrics-6b4f8c9d7-2xkqp monitoring/kube-prometheus-stack-prometheus kube-prometheus-stack-kube-state-metrics warning)",
        &[("alertname", "KubeDeploymentReplicasMismatch")],
        &["catalog", "search-api", "10.42.0.37:8080"],
    );
    let t = resolve(&a);
    assert_eq!(
        (t.kind, t.name.as_str(), t.namespace.as_deref()),
        (TargetKind::Deployment, "search-api", Some("catalog"))
    );
    let a = am_title(
        "TargetDown finance-ops (billing-exporter monitoring/kube-prometheus-stack-prometheus billing-exporter warning)",
        &[("alertname", "TargetDown")],
        &["finance-ops", "billing-exporter"],
    );
    let t = resolve(&a);
    assert_eq!(
        (t.kind, t.name.as_str(), t.namespace.as_deref()),
        (TargetKind::Service, "billing-exporter", Some("finance-ops"))
    );
}

#[test]
fn a_kind_ns_name_phrase_and_a_probed_url_in_the_title() {
    let mut a = alert_with(
        "KubeDaemonSetRolloutStuck (kube-state-metrics log-shipper http observability warning)",
        &[("alertname", "KubeDaemonSetRolloutStuck")],
    );
    a.text = "*Summary:* DaemonSet rollout is stuck.\n*Description:* DaemonSet observability/log-shipper has not finished or progressed for at least 15m.".into();
    let t = resolve(&a);
    assert_eq!(
        (t.kind, t.name.as_str(), t.namespace.as_deref()),
        (TargetKind::DaemonSet, "log-shipper", Some("observability"))
    );
    let a = alert_with(
        "BlackboxSslCertificateWillExpireSoon (https://portal.acme-clinic.org blackbox-https warning)",
        &[
            ("alertname", "BlackboxSslCertificateWillExpireSoon"),
            ("job", "blackbox-https"),
        ],
    );
    let t = resolve(&a);
    assert_eq!(
        (t.kind, t.name.as_str()),
        (TargetKind::Url, "https://portal.acme-clinic.org")
    );
}

#[test]
fn an_apps_label_wins_over_a_host_it_calls_and_a_service_tag_over_its_ingress() {
    let mut a = alert_with(
        "Claims processing error rate",
        &[("namespace", "claims"), ("service", "claims-processor")],
    );
    a.host = Some("vault.platform.svc".into());
    let t = resolve(&a);
    assert_eq!(
        (t.kind, t.name.as_str()),
        (TargetKind::App, "claims-processor")
    );
    let a = alert_with(
        "5xx ratio on ingress search above 10%",
        &[
            ("ingress", "search"),
            ("kube_namespace", "discovery"),
            ("kube_service", "search-gateway"),
        ],
    );
    let t = resolve(&a);
    assert_eq!(
        (t.kind, t.name.as_str()),
        (TargetKind::Service, "search-gateway")
    );
}

#[test]
fn an_hpa_points_at_the_workload_it_scales() {
    let a = alert_with(
        "KubeHpaMaxedOut",
        &[
            ("alertname", "KubeHpaMaxedOut"),
            ("horizontalpodautoscaler", "checkout-web"),
            ("namespace", "storefront"),
            ("job", "kube-state-metrics"),
        ],
    );
    let t = resolve(&a);
    assert_eq!(t.kind, TargetKind::HorizontalPodAutoscaler);
    assert_eq!(t.workload(), Some((TargetKind::App, "checkout-web")));
}

#[test]
fn the_subject_of_a_question_is_a_guess() {
    let t = resolve(&text_alert("checkout is slow since 10:40"));
    assert_eq!(
        (t.kind, t.name.as_str(), t.guessed),
        (TargetKind::App, "checkout", true)
    );
    let t = resolve(&text_alert(
        "celery workers in etl-7 keep failing tasks with gaierror since ~09:20, anyone?",
    ));
    assert_eq!(
        (t.name.as_str(), t.namespace.as_deref()),
        ("", Some("etl-7"))
    );
}

#[test]
fn an_exporters_instance_is_the_address_to_look_up() {
    let a = am_title(
        "PostgresqlTooManyConnections (10.42.3.88:9187 pg-orders-metrics monitoring/kube-prometheus-stack-prometheus warning)",
        &[
            ("alertname", "PostgresqlTooManyConnections"),
            ("job", "pg-orders-metrics"),
        ],
        &["10.42.3.88:9187", "pg-orders-metrics"],
    );
    let t = resolve(&a);
    assert_eq!((t.kind, t.name.as_str()), (TargetKind::Host, "10.42.3.88"));
    // kube-state-metrics' own address is never the target.
    let a = am_title(
        "x (10.42.0.37:8080 kube-state-metrics)",
        &[("job", "kube-state-metrics")],
        &["10.42.0.37:8080"],
    );
    assert_ne!(resolve(&a).kind, TargetKind::Host);
}
