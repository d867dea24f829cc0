//! The live Kubernetes backend when the cluster says no: an RBAC refusal is an evidence gap
//! naming the verb, resource, namespace and the rule that would grant it while the other tools
//! answer; a namespace outside the allow-list is refused before anything is sent; 404 is "no
//! such object"; a 503 is answered once (no retries); a hung API server ends at the call's time
//! budget. Also `probe` for `config check --probe`, and `connect` from a kubeconfig.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sre_agent::agent::Engine;
use sre_agent::config::LoadedConfig;
use sre_agent::evidence::ToolOutcome;
use sre_agent::llm::offline::OfflineReasoner;
use sre_agent::tools::fixture::fixture_backends;
use sre_agent::tools::live::kubernetes::{KubeApi, KubernetesSettings};
use sre_agent::tools::{BackendError, TOOL_NAMES, Toolbox};
use support::fake_kube::FakeKube;
use support::kube_live::{TIMEOUT, call, cluster_dir, live_toolbox, no_data};

#[tokio::test]
async fn rbac_refusal_is_an_evidence_gap_and_other_tools_answer() {
    let fake = FakeKube::with_scenario(&cluster_dir()).await;
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
    let evidence = engine
        .collect(&agent, &alert, &sre_agent::target::resolve(&alert))
        .await;
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
    let fake = FakeKube::with_scenario(&cluster_dir()).await;
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
    let fake = FakeKube::with_scenario(&cluster_dir()).await;
    fake.forbid("list", "events", Some("kube-system"));
    fake.forbid("list", "nodes", None);
    let settings = KubernetesSettings {
        namespaces: vec!["shop".into(), "kube-system".into()],
        ..KubernetesSettings::default()
    };
    let api = KubeApi::from_config(fake.config(), &settings).expect("client");
    assert_eq!(api.source_detail(), format!("API server {}/", fake.url()));
    let status = api.source_status();
    assert_eq!(
        (status.source.as_str(), status.mode),
        ("kubernetes", sre_agent::tools::SourceMode::Live)
    );
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
    let fake = FakeKube::with_scenario(&cluster_dir()).await;
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
