//! `sre-agent run` end to end as a process: tokens and `SLACK_API_URL` from the environment,
//! `auth.test` and Socket Mode against the fake Slack, an alert answered in its thread,
//! `/healthz` on the configured port, then SIGTERM → graceful exit 0. Logs are JSON lines; each
//! line of an analysis carries its run id, fingerprint, channel, agent and reasoner; no token
//! appears in any line.

mod bot_common;
mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bot_common::{Reaped, T, am_alert, fast_fake, free_port, rca_updates, ts_ago};
use support::fake_slack::FakeSlack;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_run_process_answers_alerts_and_stops_on_sigterm() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let port = free_port();
    let mut guard = Reaped(
        Command::new(env!("CARGO_BIN_EXE_sre-agent"))
            .arg("run")
            .arg("--connections")
            .arg("1")
            .env("SLACK_APP_TOKEN", fake.app_token())
            .env("SLACK_BOT_TOKEN", fake.bot_token())
            .env("SLACK_API_URL", format!("{}/", fake.api_url()))
            .env("SRE_AGENT_SLACK__METRICS_PORT", port.to_string())
            .env("SRE_AGENT_SLACK__CATCH_UP_MINUTES", "0")
            .env_remove("SRE_AGENT_CONFIG")
            .env("RUST_LOG", "info")
            .env("SRE_AGENT_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary starts"),
    );
    let child = &mut guard.0;

    // Connected (an early exit is a failure, with its stderr).
    let deadline = Instant::now() + T;
    let mut exited = None;
    while Instant::now() < deadline {
        if fake.connections() >= 1 {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if let Some(status) = exited {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        panic!("run exited early ({status}): {err}");
    }
    assert!(fake.connections() >= 1, "the process connected");

    let ts = ts_ago(60.0, 1);
    fake.send_event(am_alert("ProcessAlert api", &ts, "firing"))
        .await;
    assert!(
        fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await,
        "the process posted an RCA"
    );
    let health = tokio::net::TcpStream::connect(("127.0.0.1", port)).await;
    assert!(health.is_ok(), "ops server listens on {port}");

    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(killed.is_ok_and(|s| s.success()), "SIGTERM sent");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let status = status.expect("exited after SIGTERM");
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("shutting down"), "{err}");
    // JSON lines; the run's lines carry its identity.
    let lines: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let finished = lines
        .iter()
        .find(|l| l["message"] == "analysis finished")
        .unwrap_or_else(|| panic!("no 'analysis finished' line in {err}"));
    let span = &finished["span"];
    for field in ["run_id", "fingerprint", "channel", "agent", "reasoner"] {
        assert!(
            span[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field} missing from {finished}"
        );
    }
    assert_eq!(span["reasoner"], "offline");
    assert!(!err.contains(fake.bot_token()), "token never logged");
    assert!(!err.contains(fake.app_token()), "token never logged");
}
