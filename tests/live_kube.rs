//! The live Kubernetes backend (`KubeApi` on `kube`) against a local fake API server that speaks
//! the real paths and JSON, through the real [`Toolbox`] (rmcp client ↔ kubernetes tool server):
//! every scenario's Kubernetes calls answer the same live as from the fixture files; owner
//! chains, EndpointSlices, logs, nodes; RBAC refusals, the namespace allow-list, 404s, 503s and
//! slow answers.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sre_agent::agent::Engine;
use sre_agent::alert::Intake;
use sre_agent::config::LoadedConfig;
use sre_agent::evidence::{
    EndpointSource, Observation, RolloutStatus, ToolCall, ToolOutcome, ToolOutput,
};
use sre_agent::llm::offline::OfflineReasoner;
use sre_agent::scenario::Scenario;
use sre_agent::tools::fixture::fixture_backends;
use sre_agent::tools::live::kubernetes::{KubeApi, KubernetesSettings};
use sre_agent::tools::{BackendError, TOOL_NAMES, Toolbox};
use support::fake_kube::FakeKube;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The tools the kubernetes server offers.
const KUBE_TOOLS: &[&str] = &[
    "get_pod_status",
    "get_service_health",
    "get_events",
    "get_pod_logs",
    "get_workload",
    "get_node_status",
];

fn call(tool: &str, args: Value) -> ToolCall {
    let Value::Object(args) = args else {
        panic!("args must be an object");
    };
    ToolCall {
        tool: tool.to_owned(),
        args,
    }
}

fn observation(out: ToolOutput) -> Observation {
    match out.outcome {
        ToolOutcome::Data { observation } => observation,
        other => panic!(
            "{}({:?}): expected data, got {other:?}",
            out.call.tool, out.call.args
        ),
    }
}

fn no_data(out: ToolOutput) -> String {
    match out.outcome {
        ToolOutcome::NoData { reason } => reason,
        other => panic!("{}: expected no data, got {other:?}", out.call.tool),
    }
}

async fn live_toolbox(fake: &FakeKube, settings: &KubernetesSettings) -> Toolbox {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api = KubeApi::from_config(fake.config(), settings).expect("kube client");
    let mut backends = fixture_backends(None).expect("backends");
    backends.kube = Arc::new(api);
    Toolbox::start(backends).await.expect("toolbox")
}

/// The same data served from fixture files and from the fake API server.
struct Both {
    fixture: Toolbox,
    live: Toolbox,
    fake: FakeKube,
}

impl Both {
    async fn new(dir: &Path, settings: &KubernetesSettings) -> Both {
        let fake = FakeKube::with_scenario(dir).await;
        let live = live_toolbox(&fake, settings).await;
        let fixture = Toolbox::start(fixture_backends(Some(dir)).expect("fixture"))
            .await
            .expect("toolbox");
        Both {
            fixture,
            live,
            fake,
        }
    }

    /// Call both; the answers must be equal. Returns the live one.
    async fn same(&self, tool: &str, args: Value) -> ToolOutput {
        let fixture = self.fixture.call(call(tool, args.clone()), TIMEOUT).await;
        let live = self.live.call(call(tool, args.clone()), TIMEOUT).await;
        assert_eq!(
            live.outcome, fixture.outcome,
            "{tool}({args}): live and fixture answers differ"
        );
        live
    }

    async fn live(&self, tool: &str, args: Value) -> ToolOutput {
        self.live.call(call(tool, args), TIMEOUT).await
    }
}

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
        for planned in engine.planned_calls(agent, &alert) {
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
// A small cluster: Deployment → ReplicaSets → pods, StatefulSet, CronJob → Job → pod, a bare
// pod, a Service with Endpoints and EndpointSlices, nodes, and a pod in kube-system.

const DEPLOYMENTS: &str = r#"{"apiVersion":"apps/v1","kind":"DeploymentList","metadata":{"resourceVersion":"1"},"items":[
  {"metadata":{"name":"cart","namespace":"shop","uid":"d-cart","generation":3,
     "labels":{"app":"cart"},"annotations":{"deployment.kubernetes.io/revision":"3"}},
   "spec":{"replicas":2,"selector":{"matchLabels":{"app":"cart"}},
     "template":{"metadata":{"labels":{"app":"cart"}},"spec":{"containers":[
       {"name":"app","image":"shop/cart:8.4.0"},{"name":"sidecar","image":"envoy:1.30"}]}}},
   "status":{"observedGeneration":3,"replicas":2,"updatedReplicas":2,"readyReplicas":1,"availableReplicas":1,"unavailableReplicas":1,
     "conditions":[{"type":"Available","status":"False","reason":"MinimumReplicasUnavailable","message":"Deployment does not have minimum availability."},
                   {"type":"Progressing","status":"True","reason":"NewReplicaSetAvailable"}]}}]}"#;

const REPLICASETS: &str = r#"{"apiVersion":"apps/v1","kind":"ReplicaSetList","metadata":{},"items":[
  {"metadata":{"name":"cart-7f9c","namespace":"shop","uid":"rs-new","creationTimestamp":"2025-11-25T06:00:00Z",
     "labels":{"app":"cart","pod-template-hash":"7f9c"},"annotations":{"deployment.kubernetes.io/revision":"3"},
     "ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"cart","uid":"d-cart","controller":true}]},
   "spec":{"replicas":2,"selector":{"matchLabels":{"app":"cart","pod-template-hash":"7f9c"}},
     "template":{"metadata":{"labels":{"app":"cart","pod-template-hash":"7f9c"}},"spec":{"containers":[{"name":"app","image":"shop/cart:8.4.0"}]}}},
   "status":{"replicas":2,"readyReplicas":1,"availableReplicas":1}},
  {"metadata":{"name":"cart-5b2a","namespace":"shop","uid":"rs-old","creationTimestamp":"2025-11-20T06:00:00Z",
     "labels":{"app":"cart","pod-template-hash":"5b2a"},"annotations":{"deployment.kubernetes.io/revision":"2"},
     "ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"cart","uid":"d-cart","controller":true}]},
   "spec":{"replicas":0,"selector":{"matchLabels":{"app":"cart","pod-template-hash":"5b2a"}},
     "template":{"metadata":{"labels":{"app":"cart","pod-template-hash":"5b2a"}},"spec":{"containers":[{"name":"app","image":"shop/cart:8.3.1"}]}}},
   "status":{"replicas":0}}]}"#;

const STATEFULSETS: &str = r#"{"apiVersion":"apps/v1","kind":"StatefulSetList","metadata":{},"items":[
  {"metadata":{"name":"db","namespace":"shop","uid":"s-db","generation":1},
   "spec":{"replicas":2,"serviceName":"db","selector":{"matchLabels":{"app":"db"}},
     "template":{"metadata":{"labels":{"app":"db"}},"spec":{"containers":[{"name":"mongod","image":"mongo:7.0.14"}]}}},
   "status":{"observedGeneration":1,"replicas":2,"readyReplicas":2,"updatedReplicas":2,"availableReplicas":2,
     "currentRevision":"db-abc","updateRevision":"db-abc"}}]}"#;

const CRONJOBS: &str = r#"{"apiVersion":"batch/v1","kind":"CronJobList","metadata":{},"items":[
  {"metadata":{"name":"backup","namespace":"shop","uid":"c-backup"},
   "spec":{"schedule":"0 3 * * *","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"backup","image":"backup:2"}]}}}}},
   "status":{"lastScheduleTime":"2025-11-25T03:00:00Z","lastSuccessfulTime":"2025-11-24T03:00:05Z"}}]}"#;

const JOBS: &str = r#"{"apiVersion":"batch/v1","kind":"JobList","metadata":{},"items":[
  {"metadata":{"name":"backup-29400","namespace":"shop","uid":"j-1","creationTimestamp":"2025-11-25T03:00:00Z",
     "ownerReferences":[{"apiVersion":"batch/v1","kind":"CronJob","name":"backup","uid":"c-backup","controller":true}]},
   "spec":{"backoffLimit":1,"selector":{"matchLabels":{"batch.kubernetes.io/controller-uid":"j-1"}},
     "template":{"metadata":{"labels":{"batch.kubernetes.io/controller-uid":"j-1"}},"spec":{"restartPolicy":"Never","containers":[{"name":"backup","image":"backup:2"}]}}},
   "status":{"failed":2,"startTime":"2025-11-25T03:00:00Z",
     "conditions":[{"type":"Failed","status":"True","reason":"BackoffLimitExceeded","message":"Job has reached the specified backoff limit"}]}}]}"#;

const PODS: &str = r#"{"apiVersion":"v1","kind":"PodList","metadata":{},"items":[
  {"metadata":{"name":"cart-7f9c-a","namespace":"shop","labels":{"app":"cart","pod-template-hash":"7f9c"},
     "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"cart-7f9c","uid":"rs-new","controller":true}]},
   "spec":{"nodeName":"node-b","containers":[{"name":"app","image":"shop/cart:8.4.0"},{"name":"sidecar","image":"envoy:1.30"}]},
   "status":{"phase":"Running","conditions":[{"type":"Ready","status":"False","reason":"ContainersNotReady"}],
     "containerStatuses":[
       {"name":"app","image":"shop/cart:8.4.0","imageID":"","ready":true,"restartCount":0,"state":{"running":{}}},
       {"name":"sidecar","image":"envoy:1.30","imageID":"","ready":false,"restartCount":3,
        "state":{"waiting":{"reason":"CrashLoopBackOff"}},
        "lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":"2025-11-25T06:50:00Z"}}}]}},
  {"metadata":{"name":"cart-7f9c-b","namespace":"shop","labels":{"app":"cart","pod-template-hash":"7f9c"},
     "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"cart-7f9c","uid":"rs-new","controller":true}]},
   "spec":{"nodeName":"node-a","containers":[{"name":"app","image":"shop/cart:8.4.0"},{"name":"sidecar","image":"envoy:1.30"}]},
   "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],
     "containerStatuses":[
       {"name":"app","image":"shop/cart:8.4.0","imageID":"","ready":true,"restartCount":0,"state":{"running":{}}},
       {"name":"sidecar","image":"envoy:1.30","imageID":"","ready":true,"restartCount":0,"state":{"running":{}}}]}},
  {"metadata":{"name":"db-0","namespace":"shop","labels":{"app":"db","statefulset.kubernetes.io/pod-name":"db-0"},
     "ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"db","uid":"s-db","controller":true}]},
   "spec":{"nodeName":"node-a","containers":[{"name":"mongod","image":"mongo:7.0.14"}]},
   "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}},
  {"metadata":{"name":"backup-29400-x7k2p","namespace":"shop",
     "labels":{"batch.kubernetes.io/controller-uid":"j-1","job-name":"backup-29400"},
     "ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"backup-29400","uid":"j-1","controller":true}]},
   "spec":{"nodeName":"node-b","restartPolicy":"Never","containers":[{"name":"backup","image":"backup:2"}]},
   "status":{"phase":"Failed","containerStatuses":[{"name":"backup","image":"backup:2","imageID":"","ready":false,"restartCount":0,
     "state":{"terminated":{"exitCode":2,"reason":"Error"}}}]}},
  {"metadata":{"name":"debug","namespace":"shop"},
   "spec":{"nodeName":"node-a","containers":[{"name":"shell","image":"busybox"}]},
   "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}},
  {"metadata":{"name":"coredns-1","namespace":"kube-system","labels":{"k8s-app":"kube-dns"}},
   "spec":{"nodeName":"node-a","containers":[{"name":"coredns","image":"coredns:1.11"}]},
   "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}}]}"#;

const SERVICES: &str = r#"{"apiVersion":"v1","kind":"ServiceList","metadata":{},"items":[
  {"metadata":{"name":"cart","namespace":"shop"},"spec":{"selector":{"app":"cart"},"ports":[{"port":80}]}}]}"#;

const ENDPOINTS: &str = r#"{"apiVersion":"v1","kind":"EndpointsList","metadata":{},"items":[
  {"metadata":{"name":"cart","namespace":"shop"},"subsets":[
    {"addresses":[{"ip":"10.0.0.1","targetRef":{"kind":"Pod","name":"cart-7f9c-b"}}],
     "notReadyAddresses":[{"ip":"10.0.0.2","targetRef":{"kind":"Pod","name":"cart-7f9c-a"}},{"ip":"10.0.0.9"}],
     "ports":[{"port":8080}]}]}]}"#;

const SLICES: &str = r#"{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSliceList","metadata":{},"items":[
  {"metadata":{"name":"cart-x1","namespace":"shop","labels":{"kubernetes.io/service-name":"cart"}},"addressType":"IPv4",
   "endpoints":[
     {"addresses":["10.0.0.1"],"conditions":{"ready":true,"serving":true,"terminating":false},"targetRef":{"kind":"Pod","name":"cart-7f9c-b"}},
     {"addresses":["10.0.0.2"],"conditions":{"ready":false,"serving":false,"terminating":false},"targetRef":{"kind":"Pod","name":"cart-7f9c-a"}},
     {"addresses":["10.0.0.3"],"conditions":{"ready":false,"serving":true,"terminating":true},"targetRef":{"kind":"Pod","name":"cart-5b2a-old"}}],
   "ports":[{"port":8080}]},
  {"metadata":{"name":"cart-v6","namespace":"shop","labels":{"kubernetes.io/service-name":"cart"}},"addressType":"IPv6",
   "endpoints":[{"addresses":["fd00::1"],"conditions":{"ready":true},"targetRef":{"kind":"Pod","name":"cart-7f9c-b"}}]}]}"#;

const EVENTS: &str = r#"{"apiVersion":"v1","kind":"EventList","metadata":{},"items":[
  {"metadata":{"name":"cart.1","namespace":"shop"},"involvedObject":{"kind":"Deployment","name":"cart"},
   "reason":"ScalingReplicaSet","message":"Scaled up replica set cart-7f9c to 2","type":"Normal","lastTimestamp":"2025-11-25T06:00:00Z"},
  {"metadata":{"name":"cart-7f9c.1","namespace":"shop"},"involvedObject":{"kind":"ReplicaSet","name":"cart-7f9c"},
   "reason":"SuccessfulCreate","message":"Created pod: cart-7f9c-a","type":"Normal","lastTimestamp":"2025-11-25T06:00:01Z"},
  {"metadata":{"name":"cart-7f9c-a.1","namespace":"shop"},"involvedObject":{"kind":"Pod","name":"cart-7f9c-a"},
   "reason":"BackOff","message":"Back-off restarting failed container sidecar","type":"Warning","count":7,"lastTimestamp":"2025-11-25T06:50:00Z"},
  {"metadata":{"name":"db-0.1","namespace":"shop"},"involvedObject":{"kind":"Pod","name":"db-0"},
   "reason":"Pulled","message":"Container image already present","type":"Normal","lastTimestamp":"2025-11-25T05:00:00Z"},
  {"metadata":{"name":"backup.1","namespace":"shop"},"involvedObject":{"kind":"CronJob","name":"backup"},
   "reason":"SuccessfulCreate","message":"Created job backup-29400","type":"Normal","lastTimestamp":"2025-11-25T03:00:00Z"},
  {"metadata":{"name":"backup-29400.1","namespace":"shop"},"involvedObject":{"kind":"Job","name":"backup-29400"},
   "reason":"BackoffLimitExceeded","message":"Job has reached the specified backoff limit","type":"Warning","lastTimestamp":"2025-11-25T03:02:00Z"},
  {"metadata":{"name":"debug.1","namespace":"shop"},"involvedObject":{"kind":"Pod","name":"debug"},
   "reason":"Started","message":"Started container shell","type":"Normal","lastTimestamp":"2025-11-25T04:00:00Z"},
  {"metadata":{"name":"coredns-1.1","namespace":"kube-system"},"involvedObject":{"kind":"Pod","name":"coredns-1"},
   "reason":"Unhealthy","message":"Readiness probe failed","type":"Warning","lastTimestamp":"2025-11-25T06:10:00Z"}]}"#;

const NODES: &str = r#"{"apiVersion":"v1","kind":"NodeList","metadata":{},"items":[
  {"metadata":{"name":"node-a"},"spec":{},
   "status":{"conditions":[{"type":"MemoryPressure","status":"False"},{"type":"DiskPressure","status":"False"},
       {"type":"PIDPressure","status":"False"},{"type":"Ready","status":"True","reason":"KubeletReady"}],
     "allocatable":{"cpu":"3920m","memory":"15Gi","ephemeral-storage":"95Gi","pods":"110"},"capacity":{"cpu":"4","memory":"16Gi","pods":"110"}}},
  {"metadata":{"name":"node-b"},"spec":{"taints":[{"key":"node.kubernetes.io/memory-pressure","effect":"NoSchedule"}]},
   "status":{"conditions":[{"type":"MemoryPressure","status":"True","reason":"KubeletHasInsufficientMemory","message":"kubelet has insufficient memory available"},
       {"type":"DiskPressure","status":"False"},{"type":"PIDPressure","status":"False"},{"type":"Ready","status":"True","reason":"KubeletReady"}],
     "allocatable":{"cpu":"1930m","memory":"7Gi","pods":"110"}}}]}"#;

fn write(dir: &Path, rel: &str, content: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, content).expect("write");
}

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

fn cluster() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    write(d, "kubernetes/deployments.json", DEPLOYMENTS);
    write(d, "kubernetes/replicasets.json", REPLICASETS);
    write(d, "kubernetes/statefulsets.json", STATEFULSETS);
    write(d, "kubernetes/cronjobs.json", CRONJOBS);
    write(d, "kubernetes/jobs.json", JOBS);
    write(d, "kubernetes/pods.json", PODS);
    write(d, "kubernetes/services.json", SERVICES);
    write(d, "kubernetes/endpoints.json", ENDPOINTS);
    write(d, "kubernetes/endpointslices.json", SLICES);
    write(d, "kubernetes/events.json", EVENTS);
    write(d, "kubernetes/nodes.json", NODES);
    write(
        d,
        "kubernetes/logs/backup-29400-x7k2p.log",
        "2025-11-25T03:01:00.000000000Z ERROR dump failed: mongodump: connection refused\n",
    );
    tmp
}

#[tokio::test]
async fn owner_chains_resolve_through_the_api() {
    let tmp = cluster();
    let both = Both::new(tmp.path(), &KubernetesSettings::default()).await;

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
    let tmp = cluster();
    let both = Both::new(tmp.path(), &KubernetesSettings::default()).await;
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
    let tmp = cluster();
    let settings = KubernetesSettings {
        log_limit_bytes: 2048,
        ..KubernetesSettings::default()
    };
    let fake = FakeKube::with_scenario(tmp.path()).await;
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
    let tmp = cluster();
    let both = Both::new(tmp.path(), &KubernetesSettings::default()).await;
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
async fn rbac_refusal_is_an_evidence_gap_and_other_tools_answer() {
    let tmp = cluster();
    let fake = FakeKube::with_scenario(tmp.path()).await;
    fake.forbid("list", "events", Some("kube-system"));
    fake.forbid("list", "nodes", None);
    let live = live_toolbox(&fake, &KubernetesSettings::default()).await;
    let run = |tool: &'static str, args: Value| {
        let live = &live;
        async move { live.call(call(tool, args), TIMEOUT).await }
    };
    let gap = no_data(run("get_events", json!({"namespace": "kube-system"})).await);
    assert!(gap.contains("`list`"), "{gap}");
    assert!(gap.contains("events"), "{gap}");
    assert!(gap.contains("namespace kube-system"), "{gap}");
    assert!(
        gap.contains(r#"{apiGroups: [""], resources: ["events"], verbs: ["list"]}"#),
        "{gap}"
    );
    assert!(gap.contains("Role in kube-system"), "{gap}");
    // The same namespace's pods and another namespace's events still answer.
    assert!(matches!(
        run("get_pod_status", json!({"namespace": "kube-system"}))
            .await
            .outcome,
        ToolOutcome::Data { .. }
    ));
    assert!(matches!(
        run("get_events", json!({"namespace": "shop"}))
            .await
            .outcome,
        ToolOutcome::Data { .. }
    ));
    let gap = no_data(run("get_node_status", json!({})).await);
    assert!(
        gap.contains("cluster scope") && gap.contains("ClusterRole"),
        "{gap}"
    );

    // Through the engine: the whole collection runs, the refusal is one gap among answers.
    let config = LoadedConfig::load(Some(Path::new("agents.yaml")), TOOL_NAMES).expect("config");
    let engine =
        Engine::new(Arc::new(config), Arc::new(live), Arc::new(OfflineReasoner)).expect("engine");
    let alert = sre_agent::alert::sources::text_alert(
        "KubePodCrashLooping: service=kube-dns pod coredns-1 in namespace kube-system is crash looping",
    );
    let agent = engine
        .config()
        .config
        .agents
        .iter()
        .find(|a| a.name == "kubernetes")
        .expect("agent")
        .clone();
    let evidence = engine.collect(&agent, &alert).await;
    assert!(
        evidence.outputs.iter().all(|o| !matches!(
            o.outcome,
            ToolOutcome::Failed { .. } | ToolOutcome::TimedOut { .. }
        )),
        "{:#?}",
        evidence.outputs
    );
    assert!(
        evidence.outputs.iter().any(|o| matches!(&o.outcome,
            ToolOutcome::NoData { reason } if reason.contains("RBAC forbids `list` on events in namespace kube-system"))),
        "{:#?}",
        evidence.outputs
    );
    assert!(
        evidence
            .outputs
            .iter()
            .any(|o| o.call.tool == "get_pod_status"
                && matches!(o.outcome, ToolOutcome::Data { .. })),
        "{:#?}",
        evidence.outputs
    );
}

#[tokio::test]
async fn allow_list_404_503_and_slow_answers() {
    let tmp = cluster();
    let fake = FakeKube::with_scenario(tmp.path()).await;
    let settings = KubernetesSettings {
        namespaces: vec!["shop".into()],
        request_timeout_ms: 300,
        ..KubernetesSettings::default()
    };
    let live = live_toolbox(&fake, &settings).await;
    let run = |tool: &'static str, args: Value| {
        let live = &live;
        async move { live.call(call(tool, args), TIMEOUT).await }
    };
    // Outside the allow-list: refused before anything is sent.
    let reason = no_data(run("get_pod_status", json!({"namespace": "kube-system"})).await);
    assert_eq!(
        reason,
        "kubernetes: namespace kube-system is outside the namespaces the agent may read \
         (backends.kubernetes.namespaces: shop)"
    );
    assert!(
        fake.requests()
            .iter()
            .all(|r| !r.path.contains("kube-system")),
        "{:?}",
        fake.requests()
    );
    // 404: no such object.
    let reason = no_data(
        run(
            "get_pod_status",
            json!({"namespace": "shop", "pod": "nope"}),
        )
        .await,
    );
    assert_eq!(reason, "no pods named nope in shop");
    assert_eq!(
        fake.requests_ending("/api/v1/namespaces/shop/pods/nope")
            .len(),
        1
    );
    let reason = no_data(
        run(
            "get_workload",
            json!({"namespace": "shop", "kind": "StatefulSet", "name": "nope"}),
        )
        .await,
    );
    assert_eq!(reason, "no workload of StatefulSet nope in shop");
    // 503: answered once (no retries), a failure that names the call.
    fake.fail("jobs", 503, "etcd leader changed");
    fake.clear_requests();
    match run(
        "get_workload",
        json!({"namespace": "shop", "kind": "Job", "name": "backup-29400"}),
    )
    .await
    .outcome
    {
        ToolOutcome::Failed { error } => {
            assert!(error.contains("503 etcd leader changed"), "{error}");
            assert!(error.contains("get jobs.batch in shop"), "{error}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(
        fake.requests_ending("/apis/batch/v1/namespaces/shop/jobs/backup-29400")
            .len(),
        1,
        "kube's retries are off"
    );
    // A hung API server: the call's time budget ends it.
    fake.delay("services", Duration::from_secs(30));
    match run(
        "get_service_health",
        json!({"namespace": "shop", "service": "cart"}),
    )
    .await
    .outcome
    {
        ToolOutcome::Failed { error } => {
            assert!(error.contains("timed out after 300 ms"), "{error}")
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn probe_and_source() {
    let tmp = cluster();
    let fake = FakeKube::with_scenario(tmp.path()).await;
    fake.forbid("list", "events", Some("kube-system"));
    fake.forbid("list", "nodes", None);
    let settings = KubernetesSettings {
        namespaces: vec!["shop".into(), "kube-system".into()],
        ..KubernetesSettings::default()
    };
    let api = KubeApi::from_config(fake.config(), &settings).expect("client");
    assert_eq!(api.source_detail(), format!("API server {}/", fake.url()));
    assert_eq!(
        api.probe().await,
        format!(
            "kubernetes: API server {}/, pods readable in 2 namespaces, events forbidden in \
             kube-system, nodes forbidden (cluster scope)",
            fake.url()
        )
    );
    assert!(
        fake.requests()
            .iter()
            .filter(|r| r.path.ends_with("/pods"))
            .all(|r| r.query.get("limit").map(String::as_str) == Some("1"))
    );
    // Every namespace: the all-namespaces lists.
    let api = KubeApi::from_config(fake.config(), &KubernetesSettings::default()).expect("client");
    fake.clear_requests();
    let line = api.probe().await;
    assert!(line.contains("pods readable in all namespaces"), "{line}");
    assert_eq!(fake.requests_ending("/api/v1/pods").len(), 1);
    // Nothing listening: unreachable, said once.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let cfg = kube::Config::new(format!("http://{closed}").parse().expect("url"));
    let api = KubeApi::from_config(cfg, &KubernetesSettings::default()).expect("client");
    let line = api.probe().await;
    assert!(line.contains("API server unreachable"), "{line}");
}

/// `connect` reads the kubeconfig context it is told to (and says so), or says clearly that
/// nothing is configured. One test: it sets `KUBECONFIG` for the process.
#[tokio::test]
async fn connect_from_kubeconfig() {
    let tmp = cluster();
    let fake = FakeKube::with_scenario(tmp.path()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: other\n\
             clusters:\n- name: fake\n  cluster:\n    server: {}\n\
             contexts:\n- name: fake-ctx\n  context:\n    cluster: fake\n    user: viewer\n    namespace: shop\n\
             - name: other\n  context:\n    cluster: fake\n    user: viewer\n\
             users:\n- name: viewer\n  user:\n    token: not-a-real-token\n",
            fake.url()
        ),
    )
    .expect("write kubeconfig");
    // SAFETY: this is the only test of this binary that reads or writes KUBECONFIG.
    unsafe { std::env::set_var("KUBECONFIG", &kubeconfig) };
    let settings = KubernetesSettings {
        context: Some("fake-ctx".into()),
        ..KubernetesSettings::default()
    };
    let api = KubeApi::connect(&settings).await.expect("connect");
    assert_eq!(api.source_detail(), "kubeconfig context fake-ctx");
    let live = {
        let mut backends = fixture_backends(None).expect("backends");
        backends.kube = Arc::new(api);
        Toolbox::start(backends).await.expect("toolbox")
    };
    assert!(matches!(
        live.call(
            call("get_pod_status", json!({"namespace": "shop"})),
            TIMEOUT
        )
        .await
        .outcome,
        ToolOutcome::Data { .. }
    ));
    unsafe { std::env::set_var("KUBECONFIG", dir.path().join("missing")) };
    match KubeApi::connect(&settings).await {
        Err(BackendError::NotConfigured(what)) => assert!(what.contains("kubeconfig"), "{what}"),
        other => panic!("expected NotConfigured, got {other:?}"),
    }
}
