//! The LLM as a user configures it: the real binary with `OPENAI_*` pointing at a local fake
//! OpenAI-compatible server. `config check` names the reasoner, `--probe` says which model
//! answers, `eval --reasoner llm` scores the model on every scenario exactly as the offline
//! analyzer is scored, and `replay` uses the model when the environment configures one.

mod support;

use std::process::{Command, Output};

use support::fake_llm::{FakeLlm, MODEL, echo_offline, status, text};

/// The binary with a clean environment: no `SRE_AGENT_*`, no real LLM variables.
fn bin(env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sre-agent"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SRE_AGENT_") || k.starts_with("OPENAI_") || k.starts_with("AZURE_OPENAI_")
        {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

async fn run(env: Vec<(String, String)>, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || bin(&env).args(&args).output().expect("run sre-agent"))
        .await
        .expect("join")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_names_the_reasoner_and_probe_says_which_model_answers() {
    let out = run(vec![], &["config", "check"]).await;
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("reasoner: offline (no OPENAI_API_KEY or AZURE_OPENAI_API_KEY set)"),
        "{}",
        stdout(&out)
    );

    let fake = FakeLlm::start(vec![text("ok")]).await;
    let out = run(fake.env(), &["config", "check", "--probe"]).await;
    let s = stdout(&out);
    assert!(
        s.contains(&format!(
            "reasoner: llm (OpenAI-compatible model {MODEL} at {})",
            fake.base_url()
        )),
        "{s}"
    );
    assert!(
        s.contains(&format!("llm: OK, model {MODEL} answered in ")),
        "{s}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fake.requests().len(), 1);
    assert!(
        !s.contains(support::fake_llm::KEY),
        "the key is never printed"
    );

    let failing = FakeLlm::start(vec![status(401, None)]).await;
    let out = run(failing.env(), &["config", "check", "--probe"]).await;
    assert!(
        stdout(&out).contains("llm: FAILED: LLM request rejected (HTTP 401"),
        "{}",
        stdout(&out)
    );

    // An incomplete Azure configuration is an error that names the missing variable.
    let out = run(
        vec![("AZURE_OPENAI_API_KEY".into(), "k".into())],
        &["config", "check"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("AZURE_OPENAI_API_KEY is set but AZURE_OPENAI_ENDPOINT is not"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_scores_the_configured_model_like_the_offline_analyzer() {
    let fake = FakeLlm::start(vec![]).await;
    fake.set_responder(echo_offline);
    let out = run(
        fake.env(),
        &["eval", "fixtures/scenarios", "--reasoner", "llm", "--json"],
    )
    .await;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(report["reasoner"], format!("llm:{MODEL}"));
    let rows = report["rows"].as_array().expect("rows");
    assert!(rows.len() >= 20, "{} scenarios", rows.len());
    let by_llm = rows
        .iter()
        .filter(|r| r["reasoner"] == format!("llm:{MODEL}"))
        .count();
    assert_eq!(
        by_llm,
        rows.len(),
        "every scenario answered by the model: {report}"
    );
    assert_eq!(report["llm"]["model_answers"], rows.len());
    assert!(report["llm"]["tokens"].as_u64().unwrap_or(0) > 0);
    // The model agreed with the offline analyzer, so it scores as well as it does.
    assert_eq!(report["routing_accuracy"], 1.0);
    assert!(
        report["root_cause_hit_rate"].as_f64().unwrap_or(0.0) >= 0.9,
        "{report}"
    );
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(
        fake.requests().len(),
        rows.len(),
        "one request per scenario"
    );

    // The default is the offline analyzer, with no request to the model.
    let before = fake.requests().len();
    let out = run(fake.env(), &["eval", "fixtures/scenarios", "--json"]).await;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["reasoner"], "offline");
    assert_eq!(fake.requests().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_uses_the_configured_model_and_says_so_in_the_footer() {
    let fake = FakeLlm::start(vec![]).await;
    fake.set_responder(echo_offline);
    let out = run(
        fake.env(),
        &["replay", "fixtures/scenarios/db-pool-slow-query"],
    )
    .await;
    let s = stdout(&out);
    assert!(out.status.success(), "{s}");
    assert!(
        s.contains(&format!("Reasoner: llm:{MODEL} · 0 tool calls · ")),
        "{s}"
    );
    let out = run(
        fake.env(),
        &[
            "replay",
            "--reasoner",
            "offline",
            "fixtures/scenarios/db-pool-slow-query",
        ],
    )
    .await;
    assert!(
        stdout(&out).contains("Reasoner: offline · Confidence"),
        "{}",
        stdout(&out)
    );
    let out = run(vec![], &["replay", "--reasoner", "llm", "some alert"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no LLM is configured"));
}
