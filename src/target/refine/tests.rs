//! Refinement on the evidence shapes the tools return.

use std::collections::BTreeMap;

use super::*;
use crate::alert::sources::text_alert;
use crate::evidence::{LogRecord, NodeState, PodState, RolloutStatus, WorkloadState};

fn evidence(observations: Vec<Observation>) -> Evidence {
    Evidence::from_observations(observations)
}

fn target(kind: TargetKind, name: &str, ns: Option<&str>) -> Target {
    Target {
        kind,
        name: name.into(),
        namespace: ns.map(str::to_string),
        workload: None,
        container: None,
        why: Vec::new(),
        guessed: false,
    }
}

fn pod(name: &str, ns: &str, owner: Option<&str>) -> PodState {
    PodState {
        name: name.into(),
        namespace: ns.into(),
        phase: "Running".into(),
        ready: true,
        owner: owner.map(str::to_string),
        ..PodState::default()
    }
}

fn workload(kind: &str, name: &str, ns: &str, chain: &[&str]) -> WorkloadState {
    WorkloadState {
        kind: kind.into(),
        name: name.into(),
        namespace: ns.into(),
        owner_chain: chain.iter().map(|s| s.to_string()).collect(),
        rollout: RolloutStatus::Complete,
        desired: 1,
        ready: 1,
        updated: 1,
        available: 1,
        unavailable: 0,
        revision: None,
        images: vec![],
        conditions: vec![],
        selector: None,
        revisions: vec![],
        notes: vec![],
        gaps: vec![],
    }
}

fn log(body: &str, attrs: &[(&str, &str)]) -> LogRecord {
    LogRecord {
        timestamp: None,
        severity: Some("ERROR".into()),
        service: None,
        pod: None,
        body: body.into(),
        attributes: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn a_pods_owner_reference_beats_its_name_shape() {
    let mut t = target(TargetKind::Pod, "fluent-bit-gcz8v", Some("logging"));
    t.workload = Some((TargetKind::Job, "fluent-bit".into()));
    let ev = evidence(vec![Observation::Pods {
        pods: vec![pod(
            "fluent-bit-gcz8v",
            "logging",
            Some("DaemonSet/fluent-bit"),
        )],
    }]);
    let r = refine(&t, &text_alert("x"), &ev);
    assert_eq!(
        r.workload,
        Some((TargetKind::DaemonSet, "fluent-bit".into()))
    );
    // A ReplicaSet owner is its Deployment's.
    let t = target(TargetKind::Pod, "api-7f5b9c4d8-zk5pm", Some("cx"));
    let ev = evidence(vec![Observation::Pods {
        pods: vec![pod(
            "api-7f5b9c4d8-zk5pm",
            "cx",
            Some("ReplicaSet/api-7f5b9c4d8"),
        )],
    }]);
    assert_eq!(
        refine(&t, &text_alert("x"), &ev).workload,
        Some((TargetKind::Deployment, "api".into()))
    );
    // The owner chain get_workload followed wins.
    let ev = evidence(vec![Observation::Workload {
        workload: Box::new(workload(
            "CronJob",
            "report-builder",
            "analytics",
            &[
                "Pod/report-builder-29-abcde",
                "Job/report-builder-29",
                "CronJob/report-builder",
            ],
        )),
    }]);
    let t = target(
        TargetKind::Pod,
        "report-builder-29-abcde",
        Some("analytics"),
    );
    assert_eq!(
        refine(&t, &text_alert("x"), &ev).workload,
        Some((TargetKind::CronJob, "report-builder".into()))
    );
}

#[test]
fn a_node_named_by_address_gets_its_name() {
    let node = |name: &str, addresses: &[&str]| NodeState {
        name: name.into(),
        ready: true,
        pressure: vec![],
        conditions: vec![],
        unschedulable: false,
        taints: vec![],
        allocatable: BTreeMap::new(),
        capacity: BTreeMap::new(),
        kubelet_version: None,
        addresses: addresses.iter().map(|a| a.to_string()).collect(),
        pods: vec![],
    };
    let t = target(TargetKind::Node, "10.20.5.17", None);
    let ev = evidence(vec![Observation::Nodes {
        nodes: vec![
            node("ip-10-20-4-60.eu-west-1.compute.internal", &["10.20.4.60"]),
            node("worker-3", &["10.20.5.17"]),
        ],
    }]);
    assert_eq!(refine(&t, &text_alert("x"), &ev).name, "worker-3");
    // Without addresses, the cloud's ip-a-b-c-d name.
    let ev = evidence(vec![Observation::Nodes {
        nodes: vec![node("ip-10-20-5-17.eu-west-1.compute.internal", &[])],
    }]);
    assert_eq!(
        refine(&t, &text_alert("x"), &ev).name,
        "ip-10-20-5-17.eu-west-1.compute.internal"
    );
}

#[test]
fn an_address_is_the_service_a_clients_log_names_with_it() {
    let t = target(TargetKind::Host, "10.42.3.88", None);
    let ev = evidence(vec![Observation::Logs {
        records: vec![log(
            "failed to connect to `user=orders database=orders`: 10.42.3.88:5432 (pg-orders.orders.svc): server error",
            &[],
        )],
    }]);
    let r = refine(&t, &text_alert("x"), &ev);
    assert_eq!(
        (r.kind, r.name.as_str(), r.namespace.as_deref()),
        (TargetKind::Service, "pg-orders", Some("orders"))
    );
    assert_eq!(
        svc_name("dial tcp: lookup rates-cache.pricing.svc.cluster.local: no such host"),
        Some(("rates-cache".into(), "pricing".into()))
    );
    assert_eq!(svc_name("nothing here"), None);
}

#[test]
fn the_telemetry_names_a_loosely_asked_app_and_its_namespace() {
    let mut t = target(TargetKind::App, "checkout", None);
    t.guessed = true;
    let attrs = [
        ("service.name", "checkout-api"),
        ("k8s.namespace.name", "webshop"),
        ("k8s.deployment.name", "checkout-api"),
    ];
    let ev = evidence(vec![Observation::Logs {
        records: vec![log("slow query 9450 ms", &attrs)],
    }]);
    let r = refine(&t, &text_alert("checkout is slow"), &ev);
    assert_eq!(
        (r.kind, r.name.as_str(), r.namespace.as_deref(), r.guessed),
        (
            TargetKind::Deployment,
            "checkout-api",
            Some("webshop"),
            false
        )
    );
    // A name the alert gave for sure is not renamed.
    let t = target(TargetKind::App, "checkout", None);
    assert_eq!(refine(&t, &text_alert("x"), &ev).name, "checkout");
}

#[test]
fn an_app_is_the_workload_of_its_name() {
    let t = target(TargetKind::App, "quote-engine", Some("pricing"));
    let ev = evidence(vec![Observation::Workload {
        workload: Box::new(workload("Deployment", "quote-engine", "pricing", &[])),
    }]);
    assert_eq!(
        refine(&t, &text_alert("x"), &ev).kind,
        TargetKind::Deployment
    );
    let ev = evidence(vec![Observation::Workload {
        workload: Box::new(workload("StatefulSet", "quote-engine", "other", &[])),
    }]);
    assert_eq!(
        refine(&t, &text_alert("x"), &ev).kind,
        TargetKind::App,
        "another namespace's workload is not it"
    );
}

#[test]
fn a_namespace_without_a_name_gives_its_workload() {
    let t = target(TargetKind::App, "", Some("etl-7"));
    let ev = evidence(vec![Observation::Pods {
        pods: vec![
            pod("etl-worker-7b5c9d6f8-qh6cd", "etl-7", None),
            pod("etl-worker-7b5c9d6f8-f8psp", "etl-7", None),
        ],
    }]);
    let alert = text_alert("celery workers in etl-7 keep failing tasks");
    let r = refine(&t, &alert, &ev);
    assert_eq!(
        (r.kind, r.name.as_str()),
        (TargetKind::Deployment, "etl-worker")
    );
    let ev = evidence(vec![Observation::Pods {
        pods: vec![
            pod("etl-worker-7b5c9d6f8-qh6cd", "etl-7", None),
            pod("redis-0", "etl-7", None),
        ],
    }]);
    assert_eq!(
        refine(&t, &alert, &ev).name,
        "etl-worker",
        "the word names it"
    );
    let ev = evidence(vec![Observation::Pods {
        pods: vec![
            pod("api-7b5c9d6f8-qh6cd", "etl-7", None),
            pod("redis-0", "etl-7", None),
        ],
    }]);
    assert_eq!(refine(&t, &alert, &ev).name, "", "nothing to choose by");
}

#[test]
fn an_hpa_scales_the_workload_found() {
    let mut t = target(TargetKind::HorizontalPodAutoscaler, "web", Some("shop"));
    t.workload = Some((TargetKind::App, "web".into()));
    let ev = evidence(vec![Observation::Workload {
        workload: Box::new(workload("Deployment", "web", "shop", &[])),
    }]);
    assert_eq!(
        refine(&t, &text_alert("x"), &ev).workload,
        Some((TargetKind::Deployment, "web".into()))
    );
}

#[test]
fn a_claims_workload_is_the_pod_that_mounts_it() {
    let t = target(
        TargetKind::PersistentVolumeClaim,
        "data-pg-main-0",
        Some("data"),
    );
    let mut db = pod("pg-main-0", "data", Some("StatefulSet/pg-main"));
    db.claims = vec!["data-pg-main-0".into()];
    let mut other_ns = pod("pg-main-0", "staging", Some("StatefulSet/pg-main-staging"));
    other_ns.claims = vec!["data-pg-main-0".into()];
    let ev = evidence(vec![Observation::Pods {
        pods: vec![
            other_ns,
            pod(
                "cdc-connect-5f6d7c8b9-fb5cg",
                "data",
                Some("ReplicaSet/cdc-connect-5f6d7c8b9"),
            ),
            db,
        ],
    }]);
    let r = refine(&t, &text_alert("x"), &ev);
    assert_eq!(
        r.workload,
        Some((TargetKind::StatefulSet, "pg-main".into()))
    );
    assert_eq!(r.kind, TargetKind::PersistentVolumeClaim, "still the claim");
    assert_eq!(r.workload(), Some((TargetKind::StatefulSet, "pg-main")));
    assert!(
        r.why
            .iter()
            .any(|w| w == "pod pg-main-0 mounts the claim: StatefulSet pg-main"),
        "{:?}",
        r.why
    );
    // No pod mounts it: nothing is guessed.
    let ev = evidence(vec![Observation::Pods {
        pods: vec![pod("cdc-connect-5f6d7c8b9-fb5cg", "data", None)],
    }]);
    assert_eq!(refine(&t, &text_alert("x"), &ev).workload, None);
}
