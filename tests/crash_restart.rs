//! Crash and restart: `sre-agent run` as a process against the fake Slack, SIGKILLed in the
//! middle of a burst while analyses are still "🔎 Investigating…" (a hung SigNoz holds each run
//! for its tool timeout), more alerts arrive while it is down, then it starts again. Every alert
//! ends with exactly one finished analysis in its thread; those cut short are finished in place
//! (the same message); none is analysed twice.

mod bot_common;
mod support;

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use bot_common::{Reaped, am_alert, fast_fake, free_port, has_action, ts_ago};
use support::fake_slack::{FakeSlack, StoredMessage};

/// A "SigNoz" that accepts connections and never answers.
async fn hung_signoz() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    addr
}

fn spawn_bot(fake: &FakeSlack, signoz: std::net::SocketAddr) -> Reaped {
    Reaped(
        Command::new(env!("CARGO_BIN_EXE_sre-agent"))
            .arg("run")
            .arg("--connections")
            .arg("1")
            .env("SLACK_APP_TOKEN", fake.app_token())
            .env("SLACK_BOT_TOKEN", fake.bot_token())
            .env("SLACK_API_URL", format!("{}/", fake.api_url()))
            .env("SRE_AGENT_SLACK__METRICS_PORT", free_port().to_string())
            .env("SRE_AGENT_SLACK__CATCH_UP_MINUTES", "30")
            .env("SRE_AGENT_PIPELINE__WORKERS", "8")
            .env("SRE_AGENT_PIPELINE__TOOL_TIMEOUT_MS", "2000")
            .env("SIGNOZ_URL", format!("http://{signoz}"))
            .env("SIGNOZ_API_KEY", "test-key")
            .env_remove("SRE_AGENT_CONFIG")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary starts"),
    )
}

async fn wait_connected(fake: &FakeSlack, bot: &mut Reaped, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if fake.connections() >= 1 {
            return;
        }
        if let Ok(Some(status)) = bot.0.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = bot.0.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("run exited early ({status}): {err}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the process did not connect");
}

const CHANNELS: [&str; 4] = ["C0CRASH0", "C0CRASH1", "C0CRASH2", "C0CRASH3"];

/// The bot's messages in the thread of `ts`.
fn ours(fake: &FakeSlack, channel: &str, ts: &str) -> Vec<StoredMessage> {
    fake.thread(channel, ts)
        .into_iter()
        .filter(|m| m.ts != ts && m.bot_id.as_deref() == Some(fake.bot_id()))
        .collect()
}

fn finished(m: &StoredMessage) -> bool {
    has_action(&m.blocks, "rca_rerun")
        && m.raw.pointer("/metadata/event_payload/state") == Some(&json!("done"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_burst_then_restart_finishes_every_alert_once() {
    let mut cfg = fast_fake();
    for ch in CHANNELS {
        cfg.channel_names.insert(ch.to_string(), ch.to_lowercase());
    }
    let fake = FakeSlack::start_with(cfg).await;
    let signoz = hung_signoz().await;
    let mut bot = spawn_bot(&fake, signoz);
    wait_connected(&fake, &mut bot, Duration::from_secs(30)).await;

    let mut alerts: Vec<(String, String)> = Vec::new();
    let send = |i: usize| {
        let ch = CHANNELS[i % CHANNELS.len()].to_string();
        let ts = ts_ago(120.0, i);
        let mut ev = am_alert(&format!("CrashAlert{i:02} api"), &ts, "firing");
        ev["channel"] = json!(ch);
        (ch, ts, ev)
    };
    for i in 0..16 {
        let (ch, ts, ev) = send(i);
        fake.send_event(ev).await;
        alerts.push((ch, ts));
    }
    // Kill while some analyses are still "Investigating…".
    let investigating = |fake: &FakeSlack, alerts: &[(String, String)]| {
        alerts
            .iter()
            .flat_map(|(ch, ts)| ours(fake, ch, ts).into_iter().map(move |m| (ts.clone(), m)))
            .filter(|(_, m)| !finished(m))
            .map(|(ts, m)| (ts, m.ts))
            .collect::<HashMap<String, String>>()
    };
    assert!(
        fake.wait_until(Duration::from_secs(30), || investigating(&fake, &alerts)
            .len()
            >= 3)
            .await,
        "analyses in progress"
    );
    let pid = bot.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .is_ok_and(|s| s.success()),
        "SIGKILL sent"
    );
    let _ = bot.0.wait();
    let cut = investigating(&fake, &alerts);
    assert!(!cut.is_empty(), "something was cut short");

    // While it is down, more alerts fire (delivered when it is back).
    for i in 16..20 {
        let (ch, ts, ev) = send(i);
        fake.send_event(ev).await;
        alerts.push((ch, ts));
    }
    let mut bot = spawn_bot(&fake, signoz);
    wait_connected(&fake, &mut bot, Duration::from_secs(30)).await;
    let all_done = |fake: &FakeSlack| {
        alerts
            .iter()
            .all(|(ch, ts)| ours(fake, ch, ts).iter().any(finished))
    };
    assert!(
        fake.wait_until(Duration::from_secs(90), || all_done(&fake))
            .await,
        "every alert finished"
    );
    // Let anything that would double an analysis show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (ch, ts) in &alerts {
        let msgs = ours(&fake, ch, ts);
        assert_eq!(
            msgs.len(),
            1,
            "exactly one bot message in {ch}/{ts}: {msgs:?}"
        );
        assert!(finished(&msgs[0]), "finished: {ch}/{ts}");
        if let Some(reply) = cut.get(ts) {
            assert_eq!(
                &msgs[0].ts, reply,
                "{ts}: the same message, finished in place"
            );
        }
    }
    let updates_per_message = fake
        .posted()
        .iter()
        .filter(|p| p.method == "chat.update" && has_action(&p.blocks, "rca_rerun"))
        .fold(HashMap::<String, usize>::new(), |mut m, p| {
            *m.entry(p.ts.clone()).or_default() += 1;
            m
        });
    assert!(
        updates_per_message.values().all(|n| *n == 1),
        "no analysis delivered twice: {updates_per_message:?}"
    );
    println!(
        "crash: alerts={} cut_short={} finished={}",
        alerts.len(),
        cut.len(),
        updates_per_message.len()
    );
}
