//! Envelope ack latency: how long after the fake Slack writes an `events_api` envelope does the
//! bot's ack come back, at 1,000 envelopes per second (target: p99 under 5 ms).
//!
//! Runs the real bot in-process against the fake Slack (`tests/support`) with the real pipeline
//! and engine (empty tool backends, offline reasoner), so analyses and their replies run while
//! envelopes keep arriving. Every envelope is a distinct alert. Prints p50 / p90 / p99 / max.
//!
//! `cargo bench --bench ack_latency` (env `ACK_BENCH_SECS`, default 3, and `ACK_BENCH_RATE`,
//! default 1000, change the load; `ACK_BENCH_THREADS`, default 2, sets the runtime's workers; `ACK_BENCH_MODE=ignored` sends people's messages instead of
//! alerts, which measures the ack path alone, without analyses competing for the CPU).

#[path = "../tests/bot_common/mod.rs"]
mod bot_common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use bot_common::{Opts, am_alert, fast_fake, start_bot, ts_ago};
use support::fake_slack::FakeSlack;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing special. Either way
    // the measurement is the same.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(env_u64("ACK_BENCH_THREADS", 2).max(1) as usize)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            std::process::exit(1);
        }
    };
    // As in `sre-agent run`: analyses on a runtime of their own (one thread of the two cores),
    // Socket Mode and Slack calls on the main one.
    let analysis = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("analysis")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the analysis runtime: {e}");
            return;
        }
    };
    runtime.block_on(bench(analysis.handle().clone()));
    analysis.shutdown_background();
}

async fn bench(analysis: tokio::runtime::Handle) {
    let secs = env_u64("ACK_BENCH_SECS", 3);
    let rate = env_u64("ACK_BENCH_RATE", 1000).max(1);
    let total = (secs * rate) as usize;
    let fake = FakeSlack::start_with(support::fake_slack::FakeConfig {
        redeliver_after: Duration::from_secs(30),
        ..fast_fake()
    })
    .await;
    let mut opts = Opts::default();
    opts.pipeline.queue_capacity = total + 16;
    opts.api.pace = Duration::ZERO;
    opts.connections = 2;
    opts.analysis = Some(analysis);
    let bot = start_bot(&fake, opts).await;

    let ignored = std::env::var("ACK_BENCH_MODE").is_ok_and(|m| m == "ignored");
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
    for i in 0..total {
        tick.tick().await;
        let ts = ts_ago(600.0, i);
        let event = if ignored {
            serde_json::json!({"type": "message", "user": "U0HUMAN", "text": format!("hello {i}"),
                               "channel": bot_common::CH, "ts": ts})
        } else {
            am_alert(&format!("AckBench{i:06} api"), &ts, "firing")
        };
        fake.send_event(event).await;
    }
    let sent_in = started.elapsed();
    let all_acked = fake.wait_acks(total, Duration::from_secs(60)).await;
    let mut lat: Vec<Duration> = fake.acks().iter().filter_map(|a| a.latency).collect();
    lat.sort();
    let p50 = percentile(&lat, 0.50);
    let p90 = percentile(&lat, 0.90);
    let p99 = percentile(&lat, 0.99);
    let max = lat.last().copied().unwrap_or_default();
    println!(
        "[{}] ack latency over {} envelopes sent in {:.2} s ({:.0}/s): p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms{}",
        if ignored {
            "ack path only"
        } else {
            "alerts, analyses running"
        },
        lat.len(),
        sent_in.as_secs_f64(),
        total as f64 / sent_in.as_secs_f64(),
        p50.as_secs_f64() * 1000.0,
        p90.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0,
        if all_acked { "" } else { " (NOT all acked!)" }
    );
    println!(
        "target p99 < 5 ms: {}",
        if all_acked && p99 < Duration::from_millis(5) {
            "met"
        } else {
            "NOT met"
        }
    );
    bot.shutdown(Duration::from_secs(10)).await;
}
