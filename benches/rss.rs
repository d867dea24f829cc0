//! Memory of `sre-agent run` as a process: resident set size after start (connected, idle) and
//! after it has analysed 1,000 alerts from the fake Slack, plus the peak (VmHWM). These are the
//! figures the Deployment's memory request and limit are sized from (README, "Resources").
//!
//! `cargo bench --bench rss` (env `RSS_BENCH_ALERTS`, default 1000; alerts go in bursts of 1,000
//! within the queue's bound, RSS sampled after each). Linux only (/proc).
//! Alerts go to 100 channels so Slack's one-message-per-second pacing per channel does not
//! stretch the run.

#[path = "../tests/bot_common/mod.rs"]
mod bot_common;
#[path = "../tests/support/mod.rs"]
#[allow(dead_code, unused_imports)]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bot_common::{Reaped, am_alert, fast_fake, rca_updates, ts_ago};
use support::fake_slack::FakeSlack;

/// `VmRSS` and `VmHWM` of `pid` in MiB.
fn rss(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

fn main() {
    let alerts: usize = std::env::var("RSS_BENCH_ALERTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let fake = FakeSlack::start_with(fast_fake()).await;
        let child = Command::new(env!("CARGO_BIN_EXE_sre-agent"))
            .args(["run", "--connections", "1"])
            .env("SLACK_APP_TOKEN", fake.app_token())
            .env("SLACK_BOT_TOKEN", fake.bot_token())
            .env("SLACK_API_URL", format!("{}/", fake.api_url()))
            .env("SRE_AGENT_SLACK__METRICS_PORT", "0")
            .env("SRE_AGENT_SLACK__CATCH_UP_MINUTES", "0")
            .env("SRE_AGENT_PIPELINE__QUEUE_CAPACITY", "2000")
            .env("RUST_LOG", "warn")
            .env_remove("SRE_AGENT_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts");
        let guard = Reaped(child);
        let pid = guard.0.id();
        let started = Instant::now();
        while fake.connections() < 1 && started.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (idle, _) = rss(pid);
        let t0 = Instant::now();
        let mut samples = Vec::new();
        for i in 0..alerts {
            let mut ev = am_alert(&format!("MemBench{i} svc{i}"), &ts_ago(30.0, i), "firing");
            ev["channel"] = serde_json::json!(format!("C{:07}", i % 100));
            fake.send_event(ev).await;
            // Bursts of 1,000 within the queue's bound; the next waits for most of the last.
            if (i + 1) % 1000 == 0 {
                fake.wait_posted(|p| rca_updates(p).len() + 200 > i, Duration::from_secs(300))
                    .await;
                samples.push(format!("{} → {:.1} MiB", i + 1, rss(pid).0));
            }
        }
        let done = fake
            .wait_posted(|p| rca_updates(p).len() >= alerts, Duration::from_secs(600))
            .await;
        let took = t0.elapsed();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (after, peak) = rss(pid);
        println!(
            "sre-agent run RSS: idle {idle:.1} MiB; after {alerts} analysed alerts {after:.1} MiB (peak {peak:.1} MiB); {} RCAs in {:.1} s{}",
            rca_updates(&fake.posted()).len(),
            took.as_secs_f64(),
            if done { "" } else { " (not all answered in time)" }
        );
        if samples.len() > 1 {
            println!("RSS along the run: {}", samples.join(", "));
        }
    });
}
