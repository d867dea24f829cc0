//! `sre-agent replay` and `sre-agent config check` as a user runs them: the real binary, real
//! files, asserting on what it prints and its exit code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sre-agent"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    // The environment must not change the shipped configuration under test.
    for (k, _) in std::env::vars() {
        // Nor may a developer's LLM configuration reach a real model.
        if k.starts_with("SRE_AGENT_") || k.starts_with("OPENAI_") || k.starts_with("AZURE_OPENAI_")
        {
            cmd.env_remove(k);
        }
    }
    cmd
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run sre-agent")
}

fn replay_json(target: &str) -> Value {
    let out = run(&["replay", "--json", target]);
    assert!(
        out.status.success(),
        "replay {target} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one JSON object: {stdout}");
    serde_json::from_str(lines[0]).expect("stdout is JSON")
}

fn lower(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_lowercase()
}

#[test]
fn seed_ssl_expiry_text_is_analysed_by_network_with_renewal_advice() {
    let v = replay_json("SSL certificate for api.example.com expires in 24 hours");
    assert_eq!(v["action"], "analyze");
    assert_eq!(v["skip_reason"], Value::Null);
    assert_eq!(v["route"]["agent"], "network");
    let text = lower(&v["text"]);
    for word in ["certificate", "expir", "renew"] {
        assert!(text.contains(word), "reply lacks {word}: {text}");
    }
    assert!(text.contains("api.example.com"), "names the host: {text}");
    assert_eq!(v["rca"]["reasoner"], "offline");
}

#[test]
fn seed_pool_text_is_analysed_by_database_not_network() {
    let v = replay_json("Database connection pool exhausted for user-service");
    assert_eq!(
        v["route"]["agent"], "database",
        "why: {}",
        v["route"]["why"]
    );
    let text = lower(&v["text"]);
    for word in ["connection", "pool", "scale"] {
        assert!(text.contains(word), "reply lacks {word}: {text}");
    }
    assert!(text.contains("user-service"), "names the service: {text}");
}

#[test]
fn replay_json_has_the_documented_shape() {
    let v = replay_json("fixtures/scenarios/db-pool-slow-query");
    let obj = v.as_object().expect("object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "action",
            "alert",
            "blocks",
            "elapsed_ms",
            "rca",
            "route",
            "skip_reason",
            "sources",
            "target",
            "text"
        ]
    );
    assert_eq!(v["alert"]["source"], "alertmanager");
    // A replay reads recorded fixtures for every source, and says so.
    let sources = v["sources"].as_array().expect("sources");
    assert_eq!(sources.len(), 4);
    assert!(
        sources.iter().all(|s| s["mode"] == "fixture"),
        "{sources:?}"
    );
    assert_eq!(v["alert"]["status"], "firing");
    assert!(v["route"]["score"].as_f64().unwrap_or(0.0) > 0.0);
    assert!(!v["route"]["why"].as_array().expect("why").is_empty());
    let blocks = v["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty() && blocks.len() <= 50);
    assert_eq!(blocks[0]["type"], "header");
    assert!(v["elapsed_ms"].as_f64().is_some());
    for field in [
        "summary",
        "root_cause",
        "hypotheses",
        "timeline",
        "actions",
        "prevention",
        "metrics",
        "confidence",
    ] {
        assert!(v["rca"].get(field).is_some(), "rca.{field} missing");
    }
}

#[test]
fn the_same_alert_twice_in_one_session_is_a_duplicate() {
    let out = run(&[
        "replay",
        "--json",
        "fixtures/scenarios/k8s-image-pull",
        "fixtures/scenarios/k8s-image-pull",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let objs: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(objs.len(), 2);
    assert_eq!(objs[0]["action"], "analyze");
    assert_eq!(objs[1]["action"], "skip");
    // The same Slack message met twice is a redelivery (the bot's own decision).
    assert_eq!(objs[1]["skip_reason"], "redelivered");
    assert_eq!(objs[1]["rca"], Value::Null);

    // Two messages of one alert: the second is a duplicate within the window.
    let text = "Pod checkout-7d9f is in CrashLoopBackOff in namespace shop";
    let out = run(&["replay", "--json", text, text]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let objs: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(objs.len(), 2);
    assert_eq!(objs[0]["action"], "analyze");
    assert_eq!(objs[1]["skip_reason"], "duplicate");
}

fn temp_file(name: &str, content: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, content).expect("write");
    (dir, path)
}

#[test]
fn a_resolved_alert_starts_no_analysis() {
    let event = serde_json::json!({
        "type": "message", "subtype": "bot_message", "bot_id": "B0AM", "username": "Alertmanager",
        "text": "", "channel": "C0ALERTS", "ts": "1764030000.000100",
        "attachments": [{"color": "good", "title": "[RESOLVED] HighErrorRate api (prod critical)",
            "title_link": "http://am:9093/#/alerts?receiver=slack",
            "fallback": "[RESOLVED] HighErrorRate api (prod critical) | http://am:9093/#/alerts?receiver=slack",
            "text": "*Summary:* 5xx > 5% on api"}]
    });
    let (_dir, path) = temp_file("alert.json", &event.to_string());
    let v = replay_json(path.to_str().expect("utf8 path"));
    assert_eq!(v["action"], "skip");
    assert_eq!(v["skip_reason"], "resolved");
    assert_eq!(v["alert"]["status"], "resolved");
    assert_eq!(v["rca"], Value::Null);
}

#[test]
fn a_thread_reply_is_not_an_alert() {
    let event = serde_json::json!({
        "type": "message", "user": "U222", "text": "looking at it",
        "channel": "C0ALERTS", "ts": "1764030100.000200", "thread_ts": "1764030000.000100"
    });
    let (_dir, path) = temp_file("reply.json", &event.to_string());
    let v = replay_json(path.to_str().expect("utf8 path"));
    assert_eq!(v["action"], "skip");
    assert_eq!(v["skip_reason"], "not_an_alert");
}

#[test]
fn malformed_input_gets_a_clear_error_not_a_panic() {
    let (_d1, not_json) = temp_file("broken.json", "{ this is not json");
    let out = run(&["replay", not_json.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not JSON"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let (_d2, not_slack) = temp_file("other.json", r#"{"hello": [1, 2, 3]}"#);
    let out = run(&["replay", not_slack.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a Slack message event"), "{err}");
}

#[test]
fn a_one_megabyte_message_is_cut_and_still_analysed() {
    let body = "disk usage on node-7 keeps growing ".repeat(30_000);
    assert!(body.len() > 1_000_000);
    let event = serde_json::json!({
        "type": "message", "subtype": "bot_message", "bot_id": "B0X", "username": "webhook",
        "text": body, "channel": "C0ALERTS", "ts": "1764030200.000300"
    });
    let (_dir, path) = temp_file("huge.json", &event.to_string());
    let v = replay_json(path.to_str().expect("utf8 path"));
    assert_eq!(v["action"], "analyze");
    assert_eq!(v["alert"]["truncated"], true);
    assert!(v["alert"]["text"].as_str().unwrap_or_default().len() <= 64 * 1024);
    assert_eq!(v["alert"]["source"], "text");
}

#[test]
fn an_unknown_format_becomes_a_text_alert() {
    let event = serde_json::json!({
        "type": "message", "bot_id": "B0Y", "channel": "C0ALERTS", "ts": "1764030300.000400",
        "text": "ZZZ-9 widget flux capacitor reading 4.2 (custom monitor)"
    });
    let (_dir, path) = temp_file("odd.json", &event.to_string());
    let v = replay_json(path.to_str().expect("utf8 path"));
    assert_eq!(v["action"], "analyze");
    assert_eq!(v["alert"]["source"], "text");
    assert!(v["route"]["why"].to_string().contains("default agent"));
    assert!(
        v["rca"]["missing_evidence"]
            .as_array()
            .is_some_and(|m| !m.is_empty())
    );
}

#[test]
fn text_output_is_the_readable_thread_reply() {
    let out = run(&["replay", "fixtures/scenarios/ssl-expiry-seed"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(text.contains("root cause"), "{text}");
    assert!(text.contains("openssl"), "an exact command: {text}");
    assert!(text.contains("route: network"), "{text}");
}

#[test]
fn config_check_accepts_the_shipped_config() {
    let out = run(&["config", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("configuration OK"), "{stdout}");
    assert!(
        stdout.contains("network, database, kubernetes, resource"),
        "{stdout}"
    );
}

#[test]
fn config_check_names_every_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = r#"
default_agent: nobody
agents:
  - name: broken
    description: has every mistake
    prompt: prompts/missing.md
    match:
      regex:
        - {pattern: "(unclosed", weight: 1}
    tools: [query_logs, get_weather]
    collect:
      - {tool: resolve_dns, args: {name: "{host}"}}
"#;
    std::fs::write(dir.path().join("agents.yaml"), yaml).expect("write");
    let cfg = dir.path().join("agents.yaml");
    let out = run(&["--config", cfg.to_str().expect("path"), "config", "check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "bad regex `(unclosed`",
        "unknown tool `get_weather`",
        "collect calls `resolve_dns`, which is not in its `tools` list",
        "default_agent `nobody`",
        "prompt file",
    ] {
        assert!(err.contains(needle), "missing `{needle}` in: {err}");
    }
}

#[test]
fn config_check_reports_bad_env_override() {
    let out = bin()
        .args(["config", "check"])
        .env("SRE_AGENT_PIPELINE__WORKERS", "lots")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        err.contains("pipeline.workers") && err.contains("sre_agent_"),
        "{err}"
    );
}

#[test]
fn the_clis_own_env_variables_do_not_break_the_config() {
    let out = bin()
        .args(["config", "check"])
        .env("SRE_AGENT_LOG_FORMAT", "json")
        .env("SRE_AGENT_SOCKET_CONNECTIONS", "3")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn out_of_range_tunables_are_refused_not_a_panic() {
    let out = bin()
        .args(["replay", "Disk usage on node-3 at 97%"])
        .env("SRE_AGENT_PIPELINE__DEDUP_WINDOW_SECS", "99999999999999")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("dedup_window_secs must be at most"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn env_overrides_apply() {
    let out = bin()
        .args(["config", "check"])
        .env("SRE_AGENT_PIPELINE__WORKERS", "7")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("7 workers"));
}

#[test]
fn the_embedded_config_is_used_outside_the_repo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_sre-agent"))
        .current_dir(dir.path())
        .args([
            "replay",
            "--json",
            "Pod checkout-7d9f is in CrashLoopBackOff",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["route"]["agent"], "kubernetes");
    let _ = Path::new(env!("CARGO_MANIFEST_DIR"));
}

/// `replay FILE` from any directory: a bare file name (its data beside it), a relative path, an
/// absolute path, and `-` for the event on stdin all give the same analysis.
#[test]
fn replay_takes_a_bare_file_name_a_path_or_stdin_from_any_directory() {
    use std::io::Write;
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios/k8s-image-pull");
    let tmp = tempfile::tempdir().expect("tempdir");
    // The alert and its recorded data, copied into a fresh directory.
    let copy = |rel: &str| {
        let to = tmp.path().join(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(scenario.join(rel), &to).expect("copy");
    };
    for rel in [
        "alert.json",
        "kubernetes/pods.json",
        "kubernetes/events.json",
        "kubernetes/deployments.json",
    ] {
        copy(rel);
    }
    std::fs::rename(tmp.path().join("alert.json"), tmp.path().join("am.json")).expect("rename");
    let in_tmp = |args: &[&str]| {
        let mut cmd = bin();
        cmd.current_dir(tmp.path()).args(args);
        cmd
    };
    let root_cause = |out: Output| -> String {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        lower(&v["rca"]["root_cause"])
    };
    let bare = root_cause(
        in_tmp(&["replay", "--json", "am.json"])
            .output()
            .expect("run"),
    );
    assert!(
        bare.contains("image"),
        "the data beside the file was read: {bare}"
    );
    let relative = root_cause(
        in_tmp(&["replay", "--json", "./am.json"])
            .output()
            .expect("run"),
    );
    let absolute = tmp.path().join("am.json");
    let absolute = root_cause(
        bin()
            .args(["replay", "--json", absolute.to_str().expect("utf-8")])
            .output()
            .expect("run"),
    );
    assert_eq!(bare, relative);
    assert_eq!(bare, absolute);
    // stdin: the event alone, no recorded data (tools answer "no data").
    let mut child = in_tmp(&["replay", "--json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let event = std::fs::read(tmp.path().join("am.json")).expect("read");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&event)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["alert"]["source"], "grafana", "parsed from stdin: {v}");
}
