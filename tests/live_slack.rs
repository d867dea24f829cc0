//! The live Slack tools on the bot's own Web API caller, against the local fake Slack; and
//! `sre-agent config check --probe` as a process, one line per source, against every fake.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sre_agent::config::{Secret, SlackConfig};
use sre_agent::evidence::{Observation, ToolCall, ToolOutcome};
use sre_agent::slack::{Bot, BotConfig};
use sre_agent::tools::Toolbox;
use sre_agent::tools::fixture::fixture_backends;
use sre_agent::tools::live::slack::LiveSlack;
use support::fake_slack::{FakeConfig, FakeSlack};
use support::fake_tls::TestPki;
use support::live_stack::{LiveStack, SIGNOZ_KEY};

const T: Duration = Duration::from_secs(10);

fn call(tool: &str, args: Value) -> ToolCall {
    ToolCall {
        tool: tool.into(),
        args: args.as_object().expect("object").clone(),
    }
}

fn data(outcome: ToolOutcome) -> Observation {
    match outcome {
        ToolOutcome::Data { observation } => observation,
        other => panic!("expected data, got {other:?}"),
    }
}

async fn fake() -> FakeSlack {
    FakeSlack::start_with(FakeConfig {
        channel_names: HashMap::from([
            ("C0ALERTS".to_string(), "alerts".to_string()),
            ("C0SRE".to_string(), "sre".to_string()),
        ]),
        ..FakeConfig::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_tools_read_threads_and_channels_and_post_in_the_thread() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fake = fake().await;
    let ts = fake.seed_history(
        "C0ALERTS",
        json!({"subtype": "bot_message", "bot_id": "B0AM", "text": "[FIRING:1] KubePodCrashLooping"}),
    );
    fake.seed_history(
        "C0ALERTS",
        json!({"user": "U0ALICE", "text": "looking at it", "thread_ts": ts}),
    );
    let cfg = BotConfig::new(
        Secret::new(fake.app_token()),
        Secret::new(fake.bot_token()),
        &format!("{}/", fake.api_url()),
        SlackConfig::default(),
    );
    let api = Bot::web_api(&cfg).expect("web api");
    let live = Arc::new(LiveSlack::new(api));
    let mut backends = fixture_backends(None).expect("backends");
    backends.slack = live.clone();
    let toolbox = Toolbox::start(backends).await.expect("toolbox");

    let Observation::Thread { thread } = data(
        toolbox
            .call(
                call("get_thread_info", json!({"channel": "C0ALERTS", "ts": ts})),
                T,
            )
            .await
            .outcome,
    ) else {
        panic!("a thread");
    };
    let texts: Vec<&str> = thread.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["[FIRING:1] KubePodCrashLooping", "looking at it"]);

    let Observation::Channel { channel } = data(
        toolbox
            .call(call("get_channel_info", json!({"channel": "C0SRE"})), T)
            .await
            .outcome,
    ) else {
        panic!("a channel");
    };
    assert_eq!(channel.name.as_deref(), Some("sre"));

    let out = toolbox
        .call(
            call(
                "post_thread_reply",
                json!({"channel": "C0ALERTS", "thread_ts": ts, "text": "checking the rollout"}),
            ),
            T,
        )
        .await;
    assert!(matches!(data(out.outcome), Observation::Posted { .. }));
    let posted = fake.posted();
    let post = posted
        .iter()
        .find(|p| p.method == "chat.postMessage")
        .expect("posted");
    assert_eq!(
        post.thread_ts.as_deref(),
        Some(ts.as_str()),
        "in the thread"
    );

    // Slack's own refusal is an answer, not a transport failure: no data.
    let out = toolbox
        .call(
            call("get_thread_info", json!({"channel": "C0NOPE", "ts": "1.0"})),
            T,
        )
        .await;
    assert!(
        matches!(out.outcome, ToolOutcome::NoData { .. }),
        "{:?}",
        out.outcome
    );

    assert_eq!(live.probe().await.expect("probe"), "ok, bot in 2 channels");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_probe_prints_one_line_per_source() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios/k8s-crashloop-config");
    let pki = TestPki::new();
    let stack = LiveStack::start(&dir, &pki).await;
    let slack = fake().await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let kubeconfig = tmp.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: \"{}\"}}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: u}}\ncurrent-context: fake\nusers:\n- name: u\n  user: {{token: t}}\n",
            stack.kube_url()
        ),
    )
    .expect("kubeconfig");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sre-agent"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SRE_AGENT_") || k.starts_with("SLACK_") || k.starts_with("KUBERNETES_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["config", "check", "--probe"])
        .env("SIGNOZ_URL", stack.signoz.url().as_str())
        .env("SIGNOZ_API_KEY", SIGNOZ_KEY)
        .env("KUBECONFIG", &kubeconfig)
        .env("SLACK_APP_TOKEN", slack.app_token())
        .env("SLACK_BOT_TOKEN", slack.bot_token())
        .env("SLACK_API_URL", format!("{}/", slack.api_url()))
        .output()
        .await
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |prefix: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line in:\n{stdout}"))
            .to_string()
    };
    assert!(line("configuration OK").contains("4 agents"));
    let signoz = line("signoz: ");
    assert!(
        signoz.starts_with("signoz: ok, ") && signoz.contains(" service"),
        "{signoz}"
    );
    let kube = line("kubernetes: ");
    assert!(kube.contains("pods readable"), "{kube}");
    assert!(line("network: ").contains("trusted roots"));
    assert_eq!(line("slack: "), "slack: ok, bot in 2 channels");
    assert!(!stdout.contains(SIGNOZ_KEY) && !stdout.contains(slack.bot_token()));
}
