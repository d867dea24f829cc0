//! One test per cause function, on evidence shaped as the Kubernetes API, the kubelet, the
//! scheduler and the drivers write it.

use chrono::{TimeZone, Utc};

use super::*;
use crate::alert::sources::text_alert;
use crate::evidence::{ContainerState, Evidence, KubeEvent, LogRecord, Observation, PodState};
use crate::llm::offline::common::Ctx;
use crate::target::{Target, TargetKind};

pub(super) fn evidence(observations: Vec<Observation>) -> Evidence {
    Evidence::from_observations(observations)
}

pub(super) fn target(kind: TargetKind, name: &str, ns: &str) -> Target {
    Target {
        kind,
        name: name.into(),
        namespace: Some(ns.into()),
        workload: None,
        container: None,
        why: vec![],
        guessed: false,
    }
}

pub(super) fn pod(name: &str, containers: Vec<ContainerState>) -> PodState {
    PodState {
        name: name.into(),
        namespace: "billing-3".into(),
        phase: "Running".into(),
        node: Some("ip-10-0-1-5".into()),
        containers,
        ..PodState::default()
    }
}

pub(super) fn container(state: &str, reason: Option<&str>) -> ContainerState {
    ContainerState {
        name: "worker".into(),
        image: "acme/invoice-sync:2.4.1".into(),
        ready: false,
        restart_count: 7,
        state: state.into(),
        reason: reason.map(Into::into),
        message: None,
        last_termination_reason: None,
        last_exit_code: None,
        last_finished_at: None,
        memory_limit: Some("512Mi".into()),
        cpu_limit: None,
    }
}

fn crashed(reason: &str, code: i32) -> ContainerState {
    let mut c = container("waiting", Some("CrashLoopBackOff"));
    c.last_termination_reason = Some(reason.into());
    c.last_exit_code = Some(code);
    c
}

pub(super) fn event(reason: &str, object: &str, message: &str) -> KubeEvent {
    KubeEvent {
        timestamp: Some(Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap()),
        event_type: "Warning".into(),
        reason: reason.into(),
        object: object.into(),
        message: message.into(),
        count: 4,
    }
}

pub(super) fn log(pod: &str, body: &str) -> LogRecord {
    LogRecord {
        timestamp: Some(Utc.with_ymd_and_hms(2026, 3, 1, 9, 59, 0).unwrap()),
        severity: Some("ERROR".into()),
        service: None,
        pod: Some(pod.into()),
        body: body.into(),
        attributes: Default::default(),
    }
}

/// Runs one cause over the evidence for the target.
pub(super) fn run(cause: Cause, ev: &Evidence, t: &Target) -> Vec<Finding> {
    let alert = text_alert("pods of invoice-sync are failing in namespace billing-3");
    let ctx = Ctx::new(&alert, ev).with_target(t);
    let facts = Facts::new(&ctx, t, find_all(ev, ctx.now));
    cause(&facts)
}

pub(super) fn deploy() -> Target {
    target(TargetKind::Deployment, "invoice-sync", "billing-3")
}

pub(super) const POD: &str = "invoice-sync-5f7d9bcc48-rtw2p";

#[test]
fn oom_kill_is_the_cause_of_the_back_off() {
    let ev = evidence(vec![Observation::Pods {
        pods: vec![pod(POD, vec![crashed("OOMKilled", 137)])],
    }]);
    let found = run(crash::oom_killed, &ev, &deploy());
    let c = found.first().expect("an OOM cause");
    assert!(c.score >= 0.9, "{}", c.score);
    assert!(c.root_cause.contains("OOMKilled"), "{}", c.root_cause);
    assert!(c.root_cause.contains("512Mi"), "{}", c.root_cause);
    let cmds: Vec<_> = c.actions.iter().filter_map(|a| a.command.clone()).collect();
    assert!(cmds.iter().all(|c| c.contains("-n billing-3")), "{cmds:?}");
    // No OOM kill: no OOM cause.
    let ev = evidence(vec![Observation::Pods {
        pods: vec![pod(POD, vec![crashed("Error", 1)])],
    }]);
    assert!(run(crash::oom_killed, &ev, &deploy()).is_empty());
}

#[test]
fn an_exit_code_is_explained_by_the_last_error_line() {
    let ev = evidence(vec![
        Observation::Pods {
            pods: vec![pod(POD, vec![crashed("Error", 1)])],
        },
        Observation::PodLogs {
            pod: POD.into(),
            records: vec![
                log(POD, "starting worker"),
                log(
                    POD,
                    "KeyError: 'INVOICE_API_TOKEN' environment variable is required but not set",
                ),
            ],
            container: None,
            previous: true,
        },
    ]);
    let c = run(crash::crash_exit, &ev, &deploy()).remove(0);
    assert!(c.score >= 0.8, "{}", c.score);
    assert!(
        c.root_cause.contains("INVOICE_API_TOKEN"),
        "{}",
        c.root_cause
    );
    assert!(
        c.root_cause.contains("configuration setting"),
        "{}",
        c.root_cause
    );

    // Exit 139 is a native crash, said at decisive strength without any log.
    let ev = evidence(vec![Observation::Pods {
        pods: vec![pod(POD, vec![crashed("Error", 139)])],
    }]);
    let c = run(crash::crash_exit, &ev, &deploy()).remove(0);
    assert!(
        c.root_cause.contains("segmentation fault"),
        "{}",
        c.root_cause
    );
    assert!(
        c.root_cause.contains("acme/invoice-sync:2.4.1"),
        "{}",
        c.root_cause
    );

    // Back-off with no exit reason: a weak cause that says what is missing.
    let ev = evidence(vec![Observation::Pods {
        pods: vec![pod(
            POD,
            vec![container("waiting", Some("CrashLoopBackOff"))],
        )],
    }]);
    let c = run(crash::crash_exit, &ev, &deploy()).remove(0);
    assert!(c.score <= 0.5, "{}", c.score);
    assert!(!c.missing.is_empty());
}

#[test]
fn a_missing_secret_blocks_the_container() {
    let mut c = container("waiting", Some("CreateContainerConfigError"));
    c.message = Some("secret \"invoice-sync-env\" not found".into());
    let ev = evidence(vec![Observation::Pods {
        pods: vec![pod(POD, vec![c])],
    }]);
    let c = run(crash::missing_config_object, &ev, &deploy()).remove(0);
    assert!(
        c.root_cause.contains("invoice-sync-env"),
        "{}",
        c.root_cause
    );
    assert!(c.score >= 0.85);
}

#[test]
fn a_job_past_its_deadline_or_backoff_limit() {
    let job = target(TargetKind::Job, "reindex-29115120", "billing-3");
    let ev = evidence(vec![Observation::Events {
        events: vec![event(
            "DeadlineExceeded",
            "Job/reindex-29115120",
            "Job was active longer than its deadline",
        )],
    }]);
    let c = run(crash::job_failed, &ev, &job).remove(0);
    assert!(
        c.root_cause.contains("activeDeadlineSeconds"),
        "{}",
        c.root_cause
    );
    assert!(c.score >= 0.85);

    let p = "reindex-29115120-x7k2p";
    let ev = evidence(vec![
        Observation::Events {
            events: vec![event(
                "BackoffLimitExceeded",
                "Job/reindex-29115120",
                "Job has reached the specified backoff limit",
            )],
        },
        Observation::PodLogs {
            pod: p.into(),
            records: vec![log(
                p,
                "FATAL: password authentication failed for user \"reindexer\"",
            )],
            container: None,
            previous: false,
        },
    ]);
    let c = run(crash::job_failed, &ev, &job).remove(0);
    assert!(
        c.root_cause.contains("password authentication failed"),
        "{}",
        c.root_cause
    );
    // The same Job seen from an alert about something else is only a rival.
    let other = run(crash::job_failed, &ev, &deploy()).remove(0);
    assert!(other.score < c.score);
}

#[test]
fn image_pull_tells_a_missing_tag_from_refused_credentials() {
    let mut c = container("waiting", Some("ImagePullBackOff"));
    c.image = "ghcr.io/acme/invoice-sync:2.5.0-rc1".into();
    c.message = Some("Error response from daemon: manifest for ghcr.io/acme/invoice-sync:2.5.0-rc1 not found: manifest unknown: manifest unknown".into());
    let ev = evidence(vec![Observation::Pods {
        pods: vec![pod(POD, vec![c.clone()])],
    }]);
    let found = run(pull::image_pull, &ev, &deploy()).remove(0);
    assert!(
        found.root_cause.contains("no tag 2.5.0-rc1"),
        "{}",
        found.root_cause
    );
    assert!(found.actions.iter().any(|a| a.command.as_deref()
        == Some("kubectl -n billing-3 rollout undo deployment/invoice-sync")));

    c.message = Some(
        "failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized"
            .into(),
    );
    let ev = evidence(vec![Observation::Pods {
        pods: vec![pod(POD, vec![c])],
    }]);
    let found = run(pull::image_pull, &ev, &deploy()).remove(0);
    assert!(
        found.root_cause.contains("unauthorized"),
        "{}",
        found.root_cause
    );
    assert_eq!(pull::split_image("a/b:1.2"), ("a/b", Some("1.2")));
    assert_eq!(pull::split_image("reg:5000/b"), ("reg:5000/b", None));
}

#[test]
fn scheduling_reasons_compete_and_name_their_check() {
    let ev = evidence(vec![Observation::Events {
        events: vec![event(
            "FailedScheduling",
            &format!("Pod/{POD}"),
            "0/6 nodes are available: 4 Insufficient memory, 2 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/6 nodes are available: 6 Preemption is not helpful for scheduling.",
        )],
    }]);
    let found = run(scheduling::unschedulable, &ev, &deploy());
    assert_eq!(found.len(), 2);
    assert!(found[0].root_cause.contains("Insufficient memory"));
    assert!(found[0].score > found[1].score);
    assert!(found[1].cause.contains("taint"));
    assert!(
        found.iter().all(|c| c.score < 0.9),
        "several reasons: none decisive alone"
    );
}

#[test]
fn liveness_kills_are_not_oom_kills() {
    let mut c = container("running", None);
    c.last_termination_reason = Some("Error".into());
    c.last_exit_code = Some(143);
    let ev = evidence(vec![
        Observation::Pods {
            pods: vec![pod(POD, vec![c])],
        },
        Observation::Events {
            events: vec![event(
                "Unhealthy",
                &format!("Pod/{POD}"),
                "Liveness probe failed: Get \"http://10.42.1.7:8080/healthz\": context deadline exceeded",
            )],
        },
    ]);
    let c = run(probes::liveness_failing, &ev, &deploy()).remove(0);
    assert!(c.root_cause.contains("timeoutSeconds"), "{}", c.root_cause);
    assert!(c.score >= 0.8);
    // The kill is the probe's effect: the exit cause stands back.
    assert!(run(crash::crash_exit, &ev, &deploy()).is_empty());
}

#[test]
fn readiness_failure_names_what_the_log_reports() {
    let ev = evidence(vec![
        Observation::Events {
            events: vec![event(
                "Unhealthy",
                &format!("Pod/{POD}"),
                "Readiness probe failed: HTTP probe failed with statuscode: 503",
            )],
        },
        Observation::PodLogs {
            pod: POD.into(),
            records: vec![log(
                POD,
                "HikariPool-1 - Connection is not available, request timed out after 30000ms.",
            )],
            container: None,
            previous: false,
        },
    ]);
    let c = run(probes::readiness_failing, &ev, &deploy()).remove(0);
    assert!(c.root_cause.contains("connection pool"), "{}", c.root_cause);
}

#[test]
fn node_not_ready_says_the_kubelet_stopped() {
    let node = target(TargetKind::Node, "ip-10-0-1-5", "");
    let ev = evidence(vec![Observation::Events {
        events: vec![event(
            "NodeNotReady",
            "Node/ip-10-0-1-5",
            "Node ip-10-0-1-5 status is now: NodeNotReady",
        )],
    }]);
    let c = run(nodes::node_not_ready, &ev, &node).remove(0);
    assert!(c.root_cause.contains("ip-10-0-1-5"));
    assert!(
        c.actions
            .iter()
            .any(|a| a.command.as_deref() == Some("kubectl describe node ip-10-0-1-5"))
    );
}

#[test]
fn evictions_name_the_consumer_only_when_it_used_a_lot() {
    let big = evidence(vec![Observation::Events {
        events: vec![event(
            "Evicted",
            "Pod/exporter-29115120-abcde",
            "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 1Gi. Container exporter was using 61Gi, request is 0, has larger consumption of ephemeral-storage.",
        )],
    }]);
    let c = run(nodes::node_pressure, &big, &deploy()).remove(0);
    assert!(
        c.root_cause.contains("exporter-29115120-abcde"),
        "{}",
        c.root_cause
    );
    assert!(c.score >= 0.85);
    let small = evidence(vec![Observation::Events {
        events: vec![event(
            "Evicted",
            "Pod/api-1",
            "The node was low on resource: ephemeral-storage. Container api was using 1184Ki, request is 0.",
        )],
    }]);
    let c = run(nodes::node_pressure, &small, &deploy()).remove(0);
    assert!(c.score < 0.7);
    assert_eq!(
        nodes::used_in_eviction("Container x was using 2Gi, request"),
        Some(2.0 * 1024.0 * 1024.0 * 1024.0)
    );
}

#[test]
fn driver_errors_name_the_dependency_and_its_class() {
    let ev = evidence(vec![Observation::Logs {
        records: (0..4)
            .map(|_| log(POD, "Error: getaddrinfo ENOTFOUND smtp.example-mail.net"))
            .collect(),
    }]);
    let found = run(dependency::dependency_errors, &ev, &deploy());
    let c = found.first().expect("a DNS cause");
    assert!(
        c.root_cause.contains("smtp.example-mail.net"),
        "{}",
        c.root_cause
    );
    assert!(c.actions.iter().any(|a| {
        a.command
            .as_deref()
            .is_some_and(|c| c.contains("nslookup smtp.example-mail.net"))
    }));
    assert_eq!(
        dependency::host_in(
            "dial tcp: lookup ledger.prod.svc.cluster.local on 10.96.0.10:53: server misbehaving"
        ),
        Some("ledger.prod.svc.cluster.local".into())
    );
    assert_eq!(
        dependency::host_in(
            "java.net.UnknownHostException: cache.pricing.svc.cluster.local: Name or service not known"
        ),
        Some("cache.pricing.svc.cluster.local".into())
    );
    // Timeouts alone are an effect more often than a cause: low.
    let ev = evidence(vec![Observation::Logs {
        records: (0..5)
            .map(|_| log(POD, "upstream request failed: context deadline exceeded"))
            .collect(),
    }]);
    let found = run(dependency::dependency_errors, &ev, &deploy());
    assert!(found.iter().all(|c| c.score <= 0.45));
}

#[test]
fn an_unbound_claim_says_why_it_does_not_bind() {
    let sts = target(TargetKind::StatefulSet, "ledger-db", "billing-3");
    let ev = evidence(vec![Observation::Events {
        events: vec![
            event(
                "FailedScheduling",
                "Pod/ledger-db-2",
                "0/5 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.",
            ),
            event(
                "ProvisioningFailed",
                "PersistentVolumeClaim/data-ledger-db-2",
                "storageclass.storage.k8s.io \"fast-ssd\" not found",
            ),
        ],
    }]);
    let c = run(scheduling::unschedulable, &ev, &sts).remove(0);
    assert!(c.root_cause.contains("fast-ssd"), "{}", c.root_cause);
    assert!(
        c.actions
            .iter()
            .any(|a| a.command.as_deref() == Some("kubectl get storageclass"))
    );
}

#[test]
fn a_server_connection_limit_is_told_from_a_client_pool() {
    let ev = evidence(vec![Observation::Logs {
        records: (0..3)
            .map(|_| {
                log(
                    POD,
                    "FATAL: sorry, too many clients already (SQLSTATE 53300)",
                )
            })
            .collect(),
    }]);
    let c = run(dependency::dependency_errors, &ev, &deploy()).remove(0);
    assert!(c.root_cause.contains("max_connections"), "{}", c.root_cause);
    let ev = evidence(vec![Observation::Logs {
        records: (0..3)
            .map(|_| log(POD, "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30"))
            .collect(),
    }]);
    let c = run(dependency::dependency_errors, &ev, &deploy()).remove(0);
    assert!(
        !c.root_cause.contains("max_connections"),
        "{}",
        c.root_cause
    );
    assert!(c.root_cause.contains("connection pool"), "{}", c.root_cause);
}

#[test]
fn a_pull_event_tells_what_the_back_off_message_hides() {
    let mut c = container("waiting", Some("ImagePullBackOff"));
    c.image = "registry.example.net/team/app:3.2.1".into();
    c.message = Some("Back-off pulling image registry.example.net/team/app:3.2.1".into());
    let ev = evidence(vec![
        Observation::Pods {
            pods: vec![pod(POD, vec![c])],
        },
        Observation::Events {
            events: vec![event(
                "Failed",
                &format!("Pod/{POD}"),
                "Failed to pull image registry.example.net/team/app:3.2.1: failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized",
            )],
        },
    ]);
    let found = run(pull::image_pull, &ev, &deploy()).remove(0);
    assert!(
        found.root_cause.contains("unauthorized"),
        "{}",
        found.root_cause
    );
    assert!(found.score >= 0.9);
}

#[test]
fn a_crash_loop_is_addressed_at_the_crashing_pods_own_workload() {
    // A namespace-wide pod list (the alert is about a volume): the StatefulSet's pod is healthy,
    // another Deployment's pod crash-loops. The reply names and commands that Deployment.
    let mut db = pod("pg-main-0", vec![container("running", None)]);
    db.owner = Some("StatefulSet/pg-main".into());
    db.labels
        .insert("app.kubernetes.io/name".into(), "postgresql".into());
    let mut consumer = pod("cdc-connect-5f6d7c8b9-fb5cg", vec![crashed("Error", 1)]);
    consumer.owner = Some("ReplicaSet/cdc-connect-5f6d7c8b9".into());
    let ev = evidence(vec![Observation::Pods {
        pods: vec![db, consumer],
    }]);
    let alert = text_alert("PersistentVolume data-pg-main-0 in namespace billing-3 is filling up");
    let t = target(
        TargetKind::PersistentVolumeClaim,
        "data-pg-main-0",
        "billing-3",
    );
    let ctx = Ctx::new(&alert, &ev).with_target(&t);
    let f = crashloop::crashloop(&ctx).expect("a crash loop");
    assert!(
        f.summary.starts_with("cdc-connect is crash-looping"),
        "{}",
        f.summary
    );
    assert!(
        f.cause.starts_with("cdc-connect crash-looping"),
        "{}",
        f.cause
    );
    let cmds: Vec<String> = f.actions.iter().filter_map(|a| a.command.clone()).collect();
    assert!(
        cmds.iter()
            .any(|c| c == "kubectl -n billing-3 rollout undo deployment/cdc-connect"),
        "{cmds:?}"
    );
    assert!(
        cmds.iter()
            .all(|c| !c.contains("postgresql") && !c.contains("pg-main ")),
        "{cmds:?}"
    );

    // A Job's crashing pod: no rollout to undo.
    let mut job_pod = pod("reindex-29115120-x7k2p", vec![crashed("Error", 1)]);
    job_pod.owner = Some("Job/reindex-29115120".into());
    let ev = evidence(vec![Observation::Pods {
        pods: vec![job_pod],
    }]);
    let ctx = Ctx::new(&alert, &ev).with_target(&t);
    let f = crashloop::crashloop(&ctx).expect("a crash loop");
    let cmds: Vec<String> = f.actions.iter().filter_map(|a| a.command.clone()).collect();
    assert!(cmds.iter().all(|c| !c.contains("rollout undo")), "{cmds:?}");
    assert!(
        cmds.iter()
            .any(|c| c.contains("set env job/reindex-29115120 --list")),
        "{cmds:?}"
    );
}

#[test]
fn without_a_named_service_the_unhealthy_pods_app_is_the_subject() {
    let mut up = container("running", None);
    up.ready = true;
    up.restart_count = 0;
    let mut healthy = pod("pg-main-0", vec![up]);
    healthy.ready = true;
    healthy
        .labels
        .insert("app.kubernetes.io/name".into(), "postgresql".into());
    let mut crashing = pod("cdc-connect-5f6d7c8b9-fb5cg", vec![crashed("Error", 1)]);
    crashing
        .labels
        .insert("app.kubernetes.io/name".into(), "cdc-connect".into());
    let ev = evidence(vec![Observation::Pods {
        pods: vec![healthy, crashing],
    }]);
    let alert = text_alert("a volume is filling up");
    let ctx = Ctx::new(&alert, &ev);
    assert_eq!(ctx.service, "cdc-connect");
}

#[test]
fn a_pod_known_only_from_its_back_off_events() {
    // The pod list is another workload's (the volume's writer); the crashing pod is named only
    // by kubelet's BackOff events: its workload comes from its name, its restart count is not
    // claimed, and the writer's log lines are not quoted as its own.
    let mut db = pod("pg-main-0", vec![container("running", None)]);
    db.owner = Some("StatefulSet/pg-main".into());
    let ev = evidence(vec![
        Observation::Pods { pods: vec![db] },
        Observation::Events {
            events: vec![event(
                "BackOff",
                "Pod/cdc-connect-5f6d7c8b9-fb5cg",
                "Back-off restarting failed container connect in pod cdc-connect-5f6d7c8b9-fb5cg_billing-3(e4e6)",
            )],
        },
        Observation::PodLogs {
            pod: "pg-main-0".into(),
            records: vec![log("pg-main-0", "FATAL: checkpoint complete: 0 removed")],
            container: None,
            previous: false,
        },
    ]);
    let alert = text_alert("PersistentVolume data-pg-main-0 in namespace billing-3 is filling up");
    let mut t = target(
        TargetKind::PersistentVolumeClaim,
        "data-pg-main-0",
        "billing-3",
    );
    t.workload = Some((TargetKind::StatefulSet, "pg-main".into()));
    let ctx = Ctx::new(&alert, &ev).with_target(&t);
    let f = crashloop::crashloop(&ctx).expect("a crash loop");
    assert!(
        f.cause.starts_with("cdc-connect crash-looping"),
        "{}",
        f.cause
    );
    assert!(
        f.root_cause.contains("its pod status not read"),
        "{}",
        f.root_cause
    );
    assert!(!f.root_cause.contains("0 restarts"), "{}", f.root_cause);
    assert!(!f.root_cause.contains("checkpoint"), "{}", f.root_cause);
    let cmds: Vec<String> = f.actions.iter().filter_map(|a| a.command.clone()).collect();
    assert!(
        cmds.iter()
            .any(|c| c == "kubectl -n billing-3 rollout undo deployment/cdc-connect"),
        "{cmds:?}"
    );
}
