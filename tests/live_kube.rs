//! The live Kubernetes backend (`KubeApi` on `kube`) against a local fake API server that speaks
//! the real paths and JSON, through the real `Toolbox` (rmcp client ↔ kubernetes tool server):
//! every scenario's Kubernetes calls answer the same live as from the fixture files; owner
//! chains, EndpointSlices, logs (container, previous, byte budget, time window) and nodes.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sre_agent::agent::Engine;
use sre_agent::alert::Intake;
use sre_agent::config::LoadedConfig;
use sre_agent::evidence::{EndpointSource, Observation, RolloutStatus, ToolOutcome};
use sre_agent::llm::offline::OfflineReasoner;
use sre_agent::scenario::Scenario;
use sre_agent::tools::fixture::fixture_backends;
use sre_agent::tools::live::kubernetes::KubernetesSettings;
use sre_agent::tools::{TOOL_NAMES, Toolbox};
use support::fake_kube::FakeKube;
use support::kube_live::{
    Both, KUBE_TOOLS, TIMEOUT, call, cluster_dir, live_toolbox, no_data, observation,
};

// ---------------------------------------------------------------------------------------------
// Every shipped scenario: the agent's Kubernetes calls answer the same live.

fn scenario_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixtures/scenarios")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("kubernetes").is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn names_in(dir: &Path, file: &str) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(dir.join("kubernetes").join(file)) else {
        return Vec::new();
    };
    let list: Value = serde_json::from_str(&text).expect("list");
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.pointer("/metadata/name").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_scenario_answers_the_same_live_as_from_fixtures() {
    let config = LoadedConfig::load(Some(Path::new("agents.yaml")), TOOL_NAMES).expect("config");
    let engine = Engine::new(
        Arc::new(config),
        Arc::new(
            Toolbox::start(fixture_backends(None).expect("backends"))
                .await
                .expect("toolbox"),
        ),
        Arc::new(OfflineReasoner),
    )
    .expect("engine");
    let dirs = scenario_dirs();
    assert!(
        dirs.len() >= 15,
        "scenarios with Kubernetes data: {}",
        dirs.len()
    );
    let (mut agent_calls, mut agent_data) = (0, 0);
    for dir in dirs {
        let scenario = Scenario::from_dir(&dir).expect("scenario");
        let Ok(Intake::Alert(alert)) = scenario.intake() else {
            panic!("{}: not an alert", dir.display());
        };
        let route = engine.route(&alert);
        let agent = engine
            .config()
            .config
            .agents
            .iter()
            .find(|a| a.name == route.agent)
            .expect("agent");
        let both = Both::new(&dir, &KubernetesSettings::default()).await;
        for planned in engine.planned_calls(agent, &alert, &sre_agent::target::resolve(&alert)) {
            let Ok(planned) = planned else { continue };
            if !KUBE_TOOLS.contains(&planned.tool.as_str()) {
                continue;
            }
            agent_calls += 1;
            let out = both
                .same(&planned.tool, Value::Object(planned.args.clone()))
                .await;
            if matches!(out.outcome, ToolOutcome::Data { .. }) {
                agent_data += 1;
            }
        }
        // Beyond the agent's calls: each pod's controller, events and log.
        let ns = json!("prod");
        for pod in names_in(&dir, "pods.json") {
            both.same("get_workload", json!({"namespace": ns, "pod": pod}))
                .await;
            both.same("get_events", json!({"namespace": ns, "pod": pod}))
                .await;
        }
        for deployment in names_in(&dir, "deployments.json") {
            both.same(
                "get_workload",
                json!({"namespace": ns, "kind": "Deployment", "name": deployment}),
            )
            .await;
            both.same(
                "get_events",
                json!({"namespace": ns, "kind": "Deployment", "name": deployment}),
            )
            .await;
        }
        if let Ok(logs) = std::fs::read_dir(dir.join("kubernetes/logs")) {
            for f in logs.filter_map(Result::ok) {
                let name = f.file_name().to_string_lossy().into_owned();
                let pod = name.trim_end_matches(".log").trim_end_matches(".previous");
                let out = both
                    .same(
                        "get_pod_logs",
                        json!({"namespace": ns, "pod": pod, "tail_lines": 50, "previous": true}),
                    )
                    .await;
                assert!(
                    matches!(out.outcome, ToolOutcome::Data { .. }),
                    "{name}: {:?}",
                    out.outcome
                );
            }
        }
        assert!(
            !both.fake.requests().is_empty(),
            "{}: the live calls reached the API server",
            dir.display()
        );
    }
    assert!(agent_calls >= 40, "agent calls compared: {agent_calls}");
    assert!(agent_data >= 30, "agent calls with data: {agent_data}");
}

// ---------------------------------------------------------------------------------------------
// The small cluster of tests/data/kube-cluster.

/// Lines `n`, every one stamped a minute apart from 06:00:00Z.
fn log_lines(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "2025-11-25T{:02}:{:02}:00.000000000Z {{\"level\":\"info\",\"msg\":\"{prefix} line {i:03} {}\"}}\n",
                6 + i / 60,
                i % 60,
                "x".repeat(20)
            )
        })
        .collect()
}

#[tokio::test]
async fn owner_chains_resolve_through_the_api() {
    let both = Both::new(&cluster_dir(), &KubernetesSettings::default()).await;

    // pod → ReplicaSet → Deployment, with the Deployment's ReplicaSets as its revisions.
    let Observation::Workload { workload } = observation(
        both.same(
            "get_workload",
            json!({"namespace": "shop", "pod": "cart-7f9c-a"}),
        )
        .await,
    ) else {
        panic!("workload expected");
    };
    assert_eq!(
        workload.owner_chain,
        vec!["Pod/cart-7f9c-a", "ReplicaSet/cart-7f9c", "Deployment/cart"]
    );
    assert_eq!(
        (workload.kind.as_str(), workload.name.as_str()),
        ("Deployment", "cart")
    );
    assert_eq!(workload.rollout, RolloutStatus::Degraded);
    let revisions: Vec<&str> = workload.revisions.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(revisions, vec!["cart-7f9c", "cart-5b2a"]);
    assert!(
        both.fake
            .requests_ending("/apis/apps/v1/namespaces/shop/replicasets/cart-7f9c")
            .len()
            == 1,
        "the ReplicaSet was read by name"
    );
    let rs_lists = both
        .fake
        .requests_ending("/apis/apps/v1/namespaces/shop/replicasets");
    assert_eq!(
        rs_lists[0].query.get("labelSelector").map(String::as_str),
        Some("app=cart"),
        "the Deployment's ReplicaSets are selected server-side"
    );

    // StatefulSet ordinal pod.
    let Observation::Workload { workload } = observation(
        both.same("get_workload", json!({"namespace": "shop", "pod": "db-0"}))
            .await,
    ) else {
        panic!("workload expected");
    };
    assert_eq!(workload.owner_chain, vec!["Pod/db-0", "StatefulSet/db"]);
    assert_eq!(workload.rollout, RolloutStatus::Complete);

    // Job pod → Job → CronJob; the CronJob's last run failed.
    let Observation::Workload { workload } = observation(
        both.same(
            "get_workload",
            json!({"namespace": "shop", "pod": "backup-29400-x7k2p"}),
        )
        .await,
    ) else {
        panic!("workload expected");
    };
    assert_eq!(
        workload.owner_chain,
        vec![
            "Pod/backup-29400-x7k2p",
            "Job/backup-29400",
            "CronJob/backup"
        ]
    );
    assert_eq!(workload.rollout, RolloutStatus::Failed);
    assert_eq!(workload.revisions[0].status, Some(RolloutStatus::Failed));
    assert!(workload.notes.contains(&"schedule 0 3 * * *".to_owned()));

    // A bare pod: no labels, no owners.
    let reason = no_data(
        both.same("get_workload", json!({"namespace": "shop", "pod": "debug"}))
            .await,
    );
    assert!(reason.contains("bare pod"), "{reason}");
    let Observation::Pods { pods } = observation(
        both.same(
            "get_pod_status",
            json!({"namespace": "shop", "pod": "debug"}),
        )
        .await,
    ) else {
        panic!("pods expected");
    };
    assert_eq!((pods.len(), pods[0].owner.as_deref()), (1, None));

    // A workload's pods through its selector, server-side.
    both.fake.clear_requests();
    let Observation::Pods { pods } = observation(
        both.same(
            "get_pod_status",
            json!({"namespace": "shop", "kind": "deploy", "name": "cart"}),
        )
        .await,
    ) else {
        panic!("pods expected");
    };
    let names: Vec<&str> = pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["cart-7f9c-a", "cart-7f9c-b"]);
    assert_eq!(pods[0].owner.as_deref(), Some("ReplicaSet/cart-7f9c"));
    let pod_lists = both.fake.requests_ending("/api/v1/namespaces/shop/pods");
    assert_eq!(
        pod_lists[0].query.get("labelSelector").map(String::as_str),
        Some("app=cart")
    );
    // A service's pods through the Service's selector.
    both.fake.clear_requests();
    let Observation::Pods { pods } = observation(
        both.same(
            "get_pod_status",
            json!({"namespace": "shop", "service": "cart"}),
        )
        .await,
    ) else {
        panic!("pods expected");
    };
    assert_eq!(pods.len(), 2);
    assert!(
        both.fake
            .requests_ending("/api/v1/namespaces/shop/pods")
            .iter()
            .all(|r| r.query.get("labelSelector").map(String::as_str) == Some("app=cart")),
        "{:?}",
        both.fake.requests()
    );

    // A workload's events: its own, its ReplicaSets' and its pods', by field selectors.
    both.fake.clear_requests();
    let Observation::Events { events } = observation(
        both.same(
            "get_events",
            json!({"namespace": "shop", "kind": "Deployment", "name": "cart"}),
        )
        .await,
    ) else {
        panic!("events expected");
    };
    let objects: Vec<&str> = events.iter().map(|e| e.object.as_str()).collect();
    assert_eq!(
        objects,
        vec!["Deployment/cart", "ReplicaSet/cart-7f9c", "Pod/cart-7f9c-a"]
    );
    let selectors: Vec<String> = both
        .fake
        .requests_ending("/api/v1/namespaces/shop/events")
        .iter()
        .filter_map(|r| r.query.get("fieldSelector").cloned())
        .collect();
    assert!(
        selectors.contains(&"involvedObject.name=cart,involvedObject.kind=Deployment".to_owned()),
        "{selectors:?}"
    );
    assert!(
        selectors.contains(&"involvedObject.name=cart-7f9c-a,involvedObject.kind=Pod".to_owned()),
        "{selectors:?}"
    );
    // One pod's events.
    let Observation::Events { events } = observation(
        both.same("get_events", json!({"namespace": "shop", "pod": "debug"}))
            .await,
    ) else {
        panic!("events expected");
    };
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].reason, "Started");
    // A name without a kind finds the CronJob; its pods are its Jobs' pods.
    let Observation::Pods { pods } = observation(
        both.same(
            "get_pod_status",
            json!({"namespace": "shop", "name": "backup"}),
        )
        .await,
    ) else {
        panic!("pods expected");
    };
    assert_eq!(pods[0].name, "backup-29400-x7k2p");
    let Observation::PodLogs { pod, records, .. } = observation(
        both.same(
            "get_pod_logs",
            json!({"namespace": "shop", "name": "backup"}),
        )
        .await,
    ) else {
        panic!("logs expected");
    };
    assert_eq!(pod, "backup-29400-x7k2p");
    assert!(records[0].body.contains("mongodump"));
}

#[tokio::test]
async fn service_health_reads_endpoint_slices() {
    let both = Both::new(&cluster_dir(), &KubernetesSettings::default()).await;
    let Observation::ServiceHealth { services } = observation(
        both.same(
            "get_service_health",
            json!({"namespace": "shop", "service": "cart"}),
        )
        .await,
    ) else {
        panic!("service health expected");
    };
    let cart = &services[0];
    assert_eq!(cart.counted_from, Some(EndpointSource::EndpointSlices));
    assert_eq!(
        (cart.ready_endpoints, cart.not_ready_endpoints),
        (1, 1),
        "slices: terminating and IPv6 duplicates left out (Endpoints would say 1/2)"
    );
    assert_eq!(cart.not_ready_targets, vec!["cart-7f9c-a"]);
    assert_eq!(cart.selector.as_deref(), Some("app=cart"));
    assert_eq!(
        cart.deployment.as_ref().map(|d| d.name.as_str()),
        Some("cart")
    );
    let slices = both
        .fake
        .requests_ending("/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices");
    assert_eq!(
        slices[0].query.get("labelSelector").map(String::as_str),
        Some("kubernetes.io/service-name=cart")
    );

    // RBAC without discovery.k8s.io: the Endpoints count, and the gap says why.
    both.fake.forbid("list", "endpointslices", Some("shop"));
    let Observation::ServiceHealth { services } = observation(
        both.live(
            "get_service_health",
            json!({"namespace": "shop", "service": "cart"}),
        )
        .await,
    ) else {
        panic!("service health expected");
    };
    assert_eq!(services[0].counted_from, Some(EndpointSource::Endpoints));
    assert_eq!(
        (services[0].ready_endpoints, services[0].not_ready_endpoints),
        (1, 2)
    );
    assert!(
        services[0].gaps[0].contains("endpointslices")
            && services[0].gaps[0].contains("discovery.k8s.io"),
        "{:?}",
        services[0].gaps
    );
}

#[tokio::test]
async fn logs_pick_the_container_read_previous_and_stay_in_budget() {
    let settings = KubernetesSettings {
        log_limit_bytes: 2048,
        ..KubernetesSettings::default()
    };
    let fake = FakeKube::with_scenario(&cluster_dir()).await;
    let live = live_toolbox(&fake, &settings).await;
    fake.set_log(
        "cart-7f9c-a",
        Some("sidecar"),
        true,
        "2025-11-25T06:49:59.000000000Z FATAL upstream cluster cart_app: no healthy host\n",
    );
    fake.set_log(
        "cart-7f9c-a",
        Some("sidecar"),
        false,
        &log_lines("sidecar", 200),
    );
    fake.set_log("cart-7f9c-a", Some("app"), false, &log_lines("app", 3));

    // The crashing sidecar, previous instance.
    let Observation::PodLogs {
        pod,
        records,
        container,
        previous,
    } = observation(
        live.call(
            call(
                "get_pod_logs",
                json!({"namespace": "shop", "service": "cart", "previous": true}),
            ),
            TIMEOUT,
        )
        .await,
    )
    else {
        panic!("logs expected");
    };
    assert_eq!(pod, "cart-7f9c-a", "the pod with the most restarts");
    assert_eq!(container.as_deref(), Some("sidecar"));
    assert!(previous);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].severity.as_deref(), Some("FATAL"));
    assert!(
        records[0].timestamp.is_some(),
        "timestamps=true keeps times"
    );
    let reads = fake.requests_ending("/api/v1/namespaces/shop/pods/cart-7f9c-a/log");
    let q = &reads[0].query;
    assert_eq!(q.get("container").map(String::as_str), Some("sidecar"));
    assert_eq!(q.get("previous").map(String::as_str), Some("true"));
    assert_eq!(q.get("limitBytes").map(String::as_str), Some("2048"));
    assert_eq!(q.get("timestamps").map(String::as_str), Some("true"));

    // The current log is larger than the budget: read again with as many lines as fitted, so
    // the newest come back whole.
    fake.clear_requests();
    let Observation::PodLogs {
        records, previous, ..
    } = observation(
        live.call(
            call(
                "get_pod_logs",
                json!({"namespace": "shop", "pod": "cart-7f9c-a", "container": "sidecar",
                       "tail_lines": 100, "limit_bytes": 100000}),
            ),
            TIMEOUT,
        )
        .await,
    )
    else {
        panic!("logs expected");
    };
    assert!(!previous);
    let reads = fake.requests_ending("/pods/cart-7f9c-a/log");
    let tails: Vec<&str> = reads
        .iter()
        .filter_map(|r| r.query.get("tailLines").map(String::as_str))
        .collect();
    assert_eq!(tails.len(), 2, "{tails:?}");
    assert_eq!(tails[0], "100");
    let fitted: usize = tails[1].parse().expect("tailLines");
    assert!(fitted < 100);
    assert!(
        reads
            .iter()
            .all(|r| r.query.get("limitBytes").map(String::as_str) == Some("2048")),
        "the backend's budget caps what the call asks"
    );
    assert_eq!(records.len(), fitted, "the newest lines, whole");
    assert!(
        records[fitted - 1].body.contains("sidecar line 199"),
        "{:?}",
        records[fitted - 1]
    );

    // No previous instance: the current log, said so.
    let Observation::PodLogs {
        container,
        previous,
        records,
        ..
    } = observation(
        live.call(
            call(
                "get_pod_logs",
                json!({"namespace": "shop", "pod": "cart-7f9c-a", "container": "app", "previous": true}),
            ),
            TIMEOUT,
        )
        .await,
    )
    else {
        panic!("logs expected");
    };
    assert_eq!(
        (container.as_deref(), previous, records.len()),
        (Some("app"), false, 3)
    );

    // The alert window: sinceSeconds from `minutes`.
    let now: DateTime<Utc> = "2025-11-25T06:02:30Z".parse().expect("time");
    fake.set_clock(now);
    fake.clear_requests();
    let Observation::PodLogs { records, .. } = observation(
        live.call(
            call(
                "get_pod_logs",
                json!({"namespace": "shop", "pod": "cart-7f9c-a", "container": "app", "minutes": "1"}),
            ),
            TIMEOUT,
        )
        .await,
    ) else {
        panic!("logs expected");
    };
    let reads = fake.requests_ending("/pods/cart-7f9c-a/log");
    assert_eq!(
        reads[0].query.get("sinceSeconds").map(String::as_str),
        Some("60")
    );
    assert_eq!(records.len(), 1, "only the last minute's line");
    assert!(records[0].body.contains("app line 002"), "{:?}", records[0]);
    // The `since` form (e.g. the alert's time), against the real clock.
    fake.clear_requests();
    let since = (Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    let _ = live
        .call(
            call(
                "get_pod_logs",
                json!({"namespace": "shop", "pod": "cart-7f9c-a", "container": "app", "since": since}),
            ),
            TIMEOUT,
        )
        .await;
    let secs: i64 = fake.requests_ending("/pods/cart-7f9c-a/log")[0]
        .query
        .get("sinceSeconds")
        .and_then(|s| s.parse().ok())
        .expect("sinceSeconds");
    assert!((7200..7300).contains(&secs), "{secs}");
}

#[tokio::test]
async fn nodes_with_conditions_and_allocatable() {
    let both = Both::new(&cluster_dir(), &KubernetesSettings::default()).await;
    let Observation::Nodes { nodes } = observation(both.same("get_node_status", json!({})).await)
    else {
        panic!("nodes expected");
    };
    assert_eq!(nodes[0].name, "node-b", "the node under pressure first");
    assert_eq!(nodes[0].pressure, vec!["MemoryPressure"]);
    assert!(nodes[0].ready);
    assert_eq!(
        nodes[0].taints,
        vec!["node.kubernetes.io/memory-pressure:NoSchedule"]
    );
    assert_eq!(
        nodes[1]
            .allocatable
            .get("ephemeral-storage")
            .map(String::as_str),
        Some("95Gi")
    );
    // The nodes a service's pods run on, with those pods.
    let Observation::Nodes { nodes } = observation(
        both.same(
            "get_node_status",
            json!({"namespace": "shop", "service": "cart"}),
        )
        .await,
    ) else {
        panic!("nodes expected");
    };
    let placed: Vec<(&str, Vec<&str>)> = nodes
        .iter()
        .map(|n| (n.name.as_str(), n.pods.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        placed,
        vec![
            ("node-b", vec!["cart-7f9c-a"]),
            ("node-a", vec!["cart-7f9c-b"])
        ]
    );
    assert_eq!(both.fake.requests_ending("/api/v1/nodes/node-b").len(), 1);
    let reason = no_data(
        both.same("get_node_status", json!({"node": "node-x"}))
            .await,
    );
    assert_eq!(reason, "no node named node-x");
}

#[tokio::test]
async fn long_lists_are_paged_and_capped() {
    let fake = FakeKube::start().await;
    for i in 0..620 {
        fake.add(
            "pods",
            json!({"metadata": {"name": format!("batch-{i:03}"), "namespace": "jobs",
                                "labels": {"app": "batch"}},
                   "spec": {"containers": [{"name": "w", "image": "w:1"}]},
                   "status": {"phase": "Running"}}),
        );
    }
    // The paging is under test here, not the result budget (64 KiB, which 620 pods exceed).
    let live = live_toolbox(&fake, &KubernetesSettings::default())
        .await
        .with_result_budget(16 << 20);
    let Observation::Pods { pods } = observation(
        live.call(
            call("get_pod_status", json!({"namespace": "jobs"})),
            TIMEOUT,
        )
        .await,
    ) else {
        panic!("pods expected");
    };
    assert_eq!(pods.len(), 620, "every page read");
    let lists = fake.requests_ending("/api/v1/namespaces/jobs/pods");
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[0].query.get("limit").map(String::as_str), Some("500"));
    assert_eq!(
        lists[1].query.get("continue").map(String::as_str),
        Some("fake-continue:500")
    );
    // A cap below the list's size: that many, and no page beyond it.
    let capped = KubernetesSettings {
        max_list_items: 550,
        ..KubernetesSettings::default()
    };
    let live = live_toolbox(&fake, &capped)
        .await
        .with_result_budget(16 << 20);
    fake.clear_requests();
    let Observation::Pods { pods } = observation(
        live.call(
            call("get_pod_status", json!({"namespace": "jobs"})),
            TIMEOUT,
        )
        .await,
    ) else {
        panic!("pods expected");
    };
    assert_eq!(pods.len(), 550);
    assert_eq!(
        fake.requests_ending("/api/v1/namespaces/jobs/pods").len(),
        2
    );
    // With the default result budget the answer is cut, and says what was cut.
    let live = live_toolbox(&fake, &KubernetesSettings::default()).await;
    let out = live
        .call(
            call("get_pod_status", json!({"namespace": "jobs"})),
            TIMEOUT,
        )
        .await;
    let note = out.truncated.clone().expect("cut to the budget");
    let Observation::Pods { pods } = observation(out) else {
        panic!("pods expected");
    };
    assert!(pods.len() < 620, "{}", pods.len());
    assert_eq!(
        note,
        format!("kept the first {} of 620 pods (64 KiB budget)", pods.len())
    );
}
