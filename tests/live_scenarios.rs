//! Every recorded scenario, replayed **live**: its data served over the real protocols by local
//! fakes (SigNoz HTTP, Kubernetes API, TLS, DNS; see `support::live_stack`), read by the live
//! backends, through the whole pipeline. The RCA must name the same root cause as the offline
//! replay of the same scenario, rank the same causes with the same confidence, and its footer
//! must name the live sources. One scenario also runs as a user runs it: `sre-agent replay
//! --live` as a process, configured by a file and the environment only.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use sre_agent::agent::Engine;
use sre_agent::config::LoadedConfig;
use sre_agent::llm::offline::OfflineReasoner;
use sre_agent::pipeline::Pipeline;
use sre_agent::scenario::{self, ReplayOutput, Scenario};
use sre_agent::tools::fixture::fixture_backends;
use sre_agent::tools::{SourceMode, TOOL_NAMES, Toolbox};
use support::fake_tls::TestPki;
use support::live_stack::{LiveStack, SIGNOZ_KEY};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn config() -> Arc<LoadedConfig> {
    Arc::new(LoadedConfig::load(Some(&root().join("agents.yaml")), TOOL_NAMES).expect("config"))
}

async fn offline_engine(config: Arc<LoadedConfig>) -> Engine {
    let toolbox = Toolbox::start(fixture_backends(None).expect("backends"))
        .await
        .expect("toolbox");
    Engine::new(config, Arc::new(toolbox), Arc::new(OfflineReasoner)).expect("engine")
}

/// What must not differ between a recorded and a live replay.
fn verdict(o: &ReplayOutput) -> (String, String, Vec<String>) {
    let rca = o.rca.as_ref().expect("an analysis");
    (
        o.route
            .as_ref()
            .map(|r| r.agent.clone())
            .unwrap_or_default(),
        format!("{:?}", rca.confidence),
        rca.hypotheses
            .iter()
            .map(|h| format!("{:?}", h.likelihood))
            .collect(),
    )
}

#[tokio::test]
async fn every_scenario_names_the_same_root_cause_live_as_recorded() {
    let config = config();
    let engine = offline_engine(config.clone()).await;
    let pki = TestPki::new();
    let scenarios = Scenario::all_in(&root().join("fixtures/scenarios")).expect("scenarios");
    assert!(scenarios.len() >= 22);
    let mut compared = 0;
    for scenario in scenarios {
        let Some(expect) = scenario.expect.clone() else {
            continue;
        };
        let dir = scenario.data_dir.clone().expect("a directory");
        let recorded = scenario::replay(&engine, &scenario).await.expect("replay");
        let want = scenario::score(&scenario.name, &expect, &recorded);
        assert!(want.root_cause_ok, "{} offline", scenario.name);

        let stack = LiveStack::start(&dir, &pki).await;
        let toolbox = Toolbox::start_with_catalogue(
            stack.backends(),
            Arc::new(config.config.metrics.clone()),
        )
        .await
        .expect("live toolbox");
        let live_engine = Arc::new(engine.with_toolbox(Arc::new(toolbox)));
        let pipeline = Pipeline::start(live_engine, &config.config.pipeline);
        let out = scenario::replay_intake(
            &pipeline,
            scenario.intake().expect("intake"),
            Instant::now(),
        )
        .await;
        let got = scenario::score(&scenario.name, &expect, &out);
        assert!(
            got.root_cause_ok && got.contains_ok && got.routed_ok,
            "{}: live replay missed {:?}\n--- live ---\n{}\n--- recorded ---\n{}",
            scenario.name,
            got.missing_words,
            out.text,
            recorded.text
        );
        assert_eq!(verdict(&out), verdict(&recorded), "{}", scenario.name);
        // The evidence really came over the wire: the fakes were asked.
        let asked_signoz = !stack.signoz.requests().is_empty();
        let asked_kube = !stack.kube.requests().is_empty();
        let probed_tls = stack.tls.iter().any(|t| t.connections() > 0);
        // A scenario that recorded no evidence at all (the alert alone) has nothing to ask for.
        let recorded_any = ["signoz", "kubernetes", "network", "slack"]
            .iter()
            .any(|d| dir.join(d).is_dir());
        assert!(
            asked_signoz || asked_kube || probed_tls || !recorded_any,
            "{}: no live request",
            scenario.name
        );
        assert!(
            out.text
                .contains("Sources: live signoz, kubernetes, network"),
            "{}: footer names the live sources:\n{}",
            scenario.name,
            out.text
        );
        assert!(
            out.sources.iter().all(|s| s.mode == SourceMode::Live),
            "{:?}",
            out.sources
        );
        compared += 1;
    }
    assert!(compared >= 22, "compared {compared}");
}

/// `sre-agent replay --live` as a process: SigNoz from `SIGNOZ_URL`/`SIGNOZ_API_KEY`, Kubernetes
/// from `KUBECONFIG`, the probes from `backends.network` in the config file; Slack unavailable
/// (no token), which the footer says.
#[tokio::test]
async fn replay_live_as_a_process_reads_the_configured_sources() {
    let dir = root().join("fixtures/scenarios/k8s-crashloop-config");
    let pki = TestPki::new();
    let stack = LiveStack::start(&dir, &pki).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    // A kubeconfig pointing at the fake API server.
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: u}}\ncurrent-context: fake\nusers:\n- name: u\n  user: {{token: t}}\n",
            stack.kube_url()
        ),
    )
    .expect("kubeconfig");
    // The shipped agents.yaml and prompts, plus a backends section for the probes.
    std::fs::create_dir_all(tmp.path().join("prompts")).expect("mkdir");
    for entry in std::fs::read_dir(root().join("prompts")).expect("prompts") {
        let path = entry.expect("entry").path();
        std::fs::copy(
            &path,
            tmp.path()
                .join("prompts")
                .join(path.file_name().expect("name")),
        )
        .expect("copy prompt");
    }
    let agents = std::fs::read_to_string(root().join("agents.yaml")).expect("agents.yaml");
    let yaml = format!(
        "{agents}\nbackends:\n  network:\n    nameservers: [\"{}\"]\n    extra_ca_file: {:?}\n    connect_to: {{\"*:*\": \"{}\"}}\n",
        stack.dns_addr(),
        pki.ca_file(),
        stack.elsewhere.addr()
    );
    let config_path = tmp.path().join("agents.yaml");
    std::fs::write(&config_path, yaml).expect("config");

    // Async, so the fakes (tasks of this runtime) keep answering while the process runs.
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sre-agent"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SRE_AGENT_") || k.starts_with("SLACK_") || k.starts_with("KUBERNETES_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .current_dir(tmp.path())
        .args(["--config", config_path.to_str().expect("utf-8")])
        .args([
            "replay",
            "--live",
            "--json",
            dir.join("alert.json").to_str().expect("utf-8"),
        ])
        .env("SIGNOZ_URL", stack.signoz.url().as_str())
        .env("SIGNOZ_API_KEY", SIGNOZ_KEY)
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .await
        .expect("run sre-agent");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let root_cause = v["rca"]["root_cause"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(
        root_cause.contains("crashloop") && root_cause.contains("config"),
        "{root_cause}"
    );
    let text = v["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("Sources: live signoz, kubernetes, network · unavailable: slack (SLACK_BOT_TOKEN not set)"),
        "{text}"
    );
    // The key went in the header the fake checks, and never into the output.
    assert!(!stack.signoz.requests().is_empty(), "SigNoz was asked");
    assert!(
        !stack.kube.requests().is_empty(),
        "the API server was asked"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(SIGNOZ_KEY));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(SIGNOZ_KEY));
}
