//! Chaos soak: the fake Slack sends alert envelopes with redeliveries, disconnects
//! (`refresh_requested`, `warning`, sockets dropped without a word), 429s with `Retry-After` and
//! 500s on the Web API, while the tool backends fail and hang. Every unique alert must end with
//! exactly one finished analysis in its thread; every envelope is acked, none later than Slack's
//! 3 s; the queue stays within its bound. The figures are printed for README's reliability
//! section.
//!
//! `cargo test --test chaos` runs 1,000 envelopes; `SRE_AGENT_SOAK=1` runs 10,000.

mod bot_common;
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{Endpoints, Event, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::{Value, json};

use sre_agent::slack::metrics::Metrics;
use sre_agent::tools::{
    BackendError, Backends, KubeBackend, KubeFuture, ListQuery, LogQuery, SignozBackend, Workload,
    WorkloadKind,
};

use bot_common::*;
use support::fake_slack::{FakeConfig, FakeSlack, Faults};

const CHANNELS: usize = 8;
const QUEUE: usize = 1024;

/// Tool backends that fail 10% and hang 5% of their calls (a hang outlasts the tool timeout).
struct Faulty {
    seed: AtomicU64,
    failed: AtomicUsize,
    hung: AtomicUsize,
}

enum Fault {
    None,
    Fail,
    Hang,
}

impl Faulty {
    fn roll(&self) -> Fault {
        // xorshift over a shared state: cheap, deterministic per run order.
        let mut x = self
            .seed
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match x % 100 {
            0..=9 => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                Fault::Fail
            }
            10..=14 => {
                self.hung.fetch_add(1, Ordering::Relaxed);
                Fault::Hang
            }
            _ => Fault::None,
        }
    }

    fn call<T: Send + 'static>(&self) -> BoxFuture<'_, Result<Option<T>, BackendError>> {
        let fault = self.roll();
        Box::pin(async move {
            match fault {
                Fault::None => Ok(None),
                Fault::Fail => Err(BackendError::Request("injected failure".into())),
                Fault::Hang => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok(None)
                }
            }
        })
    }
}

impl SignozBackend for Faulty {
    fn query_range(&self, _b: Value) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        self.call()
    }
}

impl KubeBackend for Faulty {
    fn list_pods(&self, _ns: &str, _q: &ListQuery) -> KubeFuture<'_, Vec<Pod>> {
        self.call()
    }
    fn get_pod(&self, _ns: &str, _name: &str) -> KubeFuture<'_, Pod> {
        self.call()
    }
    fn list_events(&self, _ns: &str, _q: &ListQuery) -> KubeFuture<'_, Vec<Event>> {
        self.call()
    }
    fn list_services(&self, _ns: &str) -> KubeFuture<'_, Vec<Service>> {
        self.call()
    }
    fn list_endpoints(&self, _ns: &str) -> KubeFuture<'_, Vec<Endpoints>> {
        self.call()
    }
    fn list_endpoint_slices(
        &self,
        _ns: &str,
        _q: &ListQuery,
    ) -> KubeFuture<'_, Vec<EndpointSlice>> {
        self.call()
    }
    fn list_workloads(
        &self,
        _ns: &str,
        _kind: WorkloadKind,
        _q: &ListQuery,
    ) -> KubeFuture<'_, Vec<Workload>> {
        self.call()
    }
    fn get_workload(
        &self,
        _ns: &str,
        _kind: WorkloadKind,
        _name: &str,
    ) -> KubeFuture<'_, Workload> {
        self.call()
    }
    fn list_nodes(&self, _q: &ListQuery) -> KubeFuture<'_, Vec<Node>> {
        self.call()
    }
    fn get_node(&self, _name: &str) -> KubeFuture<'_, Node> {
        self.call()
    }
    fn pod_logs(&self, _ns: &str, _pod: &str, _q: &LogQuery) -> KubeFuture<'_, String> {
        self.call()
    }
}

fn channel(i: usize) -> String {
    format!("C0CHAOS{}", i % CHANNELS)
}

/// Peak resident set of this process (fake Slack and bot together), KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn queue_depth(metrics: &str) -> usize {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("sre_agent_queue_depth "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chaos_every_alert_gets_exactly_one_analysis() {
    let soak = std::env::var("SRE_AGENT_SOAK").is_ok_and(|v| v == "1");
    let envelopes: usize = if soak { 10_000 } else { 1_000 };
    let fake = FakeSlack::start_with(FakeConfig {
        // Slack's own redelivery delay: an envelope unacked for 3 s comes again.
        redeliver_after: Duration::from_secs(3),
        disconnect_close_delay: Duration::from_millis(50),
        ..FakeConfig::default()
    })
    .await;
    let tools = Arc::new(Faulty {
        seed: AtomicU64::new(0x2545_F491_4F6C_DD1D),
        failed: AtomicUsize::new(0),
        hung: AtomicUsize::new(0),
    });
    let e = Arc::new(Empty);
    // As `sre-agent run` does: analyses on a runtime of their own, acks on the main one.
    let analysis = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("analysis")
        .enable_all()
        .build()
        .expect("analysis runtime");
    let mut opts = Opts {
        connections: 2,
        analysis: Some(analysis.handle().clone()),
        backends: Some(Backends {
            signoz: tools.clone(),
            kube: tools.clone(),
            slack: e.clone(),
            network: e,
            sources: Vec::new(),
        }),
        ..Opts::default()
    };
    opts.pipeline.workers = 16;
    opts.pipeline.queue_capacity = QUEUE;
    opts.pipeline.tool_timeout_ms = 100;
    opts.pipeline.run_deadline_secs = 20;
    opts.pipeline.dedup_capacity = 100_000;
    let bot = start_bot(&fake, opts).await;
    fake.set_faults(Faults {
        rate_limited: 0.10,
        server_error: 0.05,
        retry_after_secs: 0,
    });

    // The queue's depth, sampled while the flood lasts.
    let ops = bot.ops();
    let peak_queue = Arc::new(AtomicUsize::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (ops, peak, on) = (ops.clone(), peak_queue.clone(), sampling.clone());
        tokio::spawn(async move {
            while on.load(Ordering::Relaxed) {
                peak.fetch_max(queue_depth(&ops.metrics()), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    // 80% new alerts, 20% redeliveries of an earlier one (same event id); a disconnect every
    // 200 envelopes, cycling through the three ways Slack drops a socket.
    let mut alerts: Vec<(String, String, String, Value)> = Vec::new(); // (channel, ts, event id, event)
    let mut redelivered = 0usize;
    let mut disconnects: HashMap<&str, usize> = HashMap::new();
    let mut seed = 0x1234_5678_9ABC_DEF0u64;
    for n in 0..envelopes {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        if n % 5 == 4 && !alerts.is_empty() {
            let (_, _, id, ev) = &alerts[(seed as usize) % alerts.len()];
            fake.send_event_with_id(ev.clone(), id).await;
            redelivered += 1;
        } else {
            let i = alerts.len();
            let ch = channel(i);
            let ts = ts_ago(1800.0, i);
            let mut ev = am_alert(&format!("ChaosAlert{i:05} api"), &ts, "firing");
            ev["channel"] = json!(ch);
            let id = format!("EvCHAOS{i:05}");
            fake.send_event_with_id(ev.clone(), &id).await;
            alerts.push((ch, ts, id, ev));
        }
        if n % 200 == 199 {
            let kind = ["refresh_requested", "warning", "drop"][(n / 200) % 3];
            if kind == "drop" {
                fake.drop_connections().await;
            } else {
                fake.send_disconnect(kind).await;
            }
            *disconnects.entry(kind).or_default() += 1;
        }
        if n % 10 == 9 {
            // About 150 envelopes a second: a flood for one workspace, spread over seconds.
            tokio::time::sleep(Duration::from_millis(60)).await;
            // The long soak keeps the backlog within the queue (a debug build analyses slower
            // than the fake sends); the short run sends flat out.
            while soak && queue_depth(&ops.metrics()) > QUEUE / 2 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let unique = alerts.len();
    let long = Duration::from_secs(if soak { 1800 } else { 300 });

    // Every event acked (redelivered by the fake if a socket died with it), every analysis done.
    assert!(
        fake.wait_until(long, || fake.unacked_events() == 0 && fake.pending() == 0)
            .await,
        "events never acked: {}",
        fake.unacked_events()
    );
    let m = bot.metrics();
    let all_ran = eventually(long, || m.runs.total() >= unique as u64).await;
    let idle = bot.wait_idle(Duration::from_secs(10)).await;
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;

    // Exactly one finished analysis per unique alert, in its thread.
    let (mut lost, mut duplicated) = (Vec::new(), Vec::new());
    for (ch, ts, _, _) in &alerts {
        let ours: Vec<_> = fake
            .thread(ch, ts)
            .into_iter()
            .filter(|msg| &msg.ts != ts && msg.bot_id.as_deref() == Some(fake.bot_id()))
            .collect();
        let finished = ours
            .iter()
            .filter(|msg| {
                has_action(&msg.blocks, "rca_rerun")
                    && msg.raw.pointer("/metadata/event_payload/state") == Some(&json!("done"))
            })
            .count();
        if finished == 0 {
            if lost.is_empty() {
                eprintln!(
                    "lost {ts} in {ch}: {:?}",
                    ours.iter()
                        .map(|m| (m.text.clone(), m.raw.get("metadata").cloned()))
                        .collect::<Vec<_>>()
                );
            }
            lost.push(ts.clone());
        }
        if ours.len() > 1 || finished > 1 {
            duplicated.push(ts.clone());
        }
    }

    // Ack latency: every ack within Slack's 3 s.
    let mut latencies: Vec<Duration> = fake.acks().iter().filter_map(|a| a.latency).collect();
    latencies.sort();
    let p99 = latencies
        .get((latencies.len() * 99 / 100).min(latencies.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default();
    let worst = latencies.last().copied().unwrap_or_default();
    let faults = fake.faults_injected();
    let peak = peak_queue.load(Ordering::Relaxed);
    println!(
        "chaos: envelopes={envelopes} unique_alerts={unique} redeliveries_sent={redelivered} \
         frames_written={} disconnects={disconnects:?} web_api_429={} web_api_500={} \
         tool_failures={} tool_hangs={} lost={} duplicated={} ack_p99_ms={:.1} ack_max_ms={:.1} \
         queue_peak={peak}/{QUEUE} peak_rss_mib={:.1} runs={:?}",
        fake.deliveries().len(),
        faults.get("429").copied().unwrap_or(0),
        faults.get("500").copied().unwrap_or(0),
        tools.failed.load(Ordering::Relaxed),
        tools.hung.load(Ordering::Relaxed),
        lost.len(),
        duplicated.len(),
        p99.as_secs_f64() * 1000.0,
        worst.as_secs_f64() * 1000.0,
        peak_rss_kib() as f64 / 1024.0,
        (
            m.runs.total(),
            Metrics::get(&m.redeliveries),
            Metrics::get(&m.replies_failed)
        ),
    );
    assert!(
        all_ran && idle,
        "{} of {unique} analyses ran",
        m.runs.total()
    );
    assert!(
        lost.is_empty(),
        "{} alerts lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    assert!(
        duplicated.is_empty(),
        "{} alerts analysed twice: {:?}",
        duplicated.len(),
        &duplicated[..duplicated.len().min(5)]
    );
    assert!(worst < Duration::from_secs(3), "an ack took {worst:?}");
    assert!(peak <= QUEUE, "queue peaked at {peak}");
    assert_eq!(Metrics::get(&m.queue_full), 0, "no alert refused");
    assert_eq!(m.runs.total(), unique as u64, "one run per unique alert");
    assert!(Metrics::get(&m.redeliveries) >= redelivered as u64);
    assert!(
        faults.get("429").copied().unwrap_or(0) > 0 && faults.get("500").copied().unwrap_or(0) > 0
    );
    assert!(tools.failed.load(Ordering::Relaxed) > 0 && tools.hung.load(Ordering::Relaxed) > 0);
    bot.shutdown(Duration::from_secs(10)).await;
    analysis.shutdown_background();
}
