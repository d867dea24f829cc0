//! Benchmarks: one alert end to end (parse → route → tools over MCP → reason → render) with
//! fixture-backed tools, and dedup throughput.
//!
//! `cargo bench --bench pipeline` runs the criterion groups, then prints a latency summary
//! (p50/p99 per alert over every shipped scenario, alerts/s on one worker, dedup keys/s) that the
//! issue notes quote.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use sre_agent::agent::Engine;
use sre_agent::alert::Intake;
use sre_agent::config::LoadedConfig;
use sre_agent::evidence::ToolCall;
use sre_agent::llm::offline::OfflineReasoner;
use sre_agent::pipeline::Dedup;
use sre_agent::scenario::{Scenario, percentile};
use sre_agent::tools::{TOOL_NAMES, Toolbox, fixture::fixture_backends};

const SCENARIOS: &str = "fixtures/scenarios";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// One engine per scenario, each over that scenario's fixture data, plus the raw alert JSON.
fn prepare(rt: &tokio::runtime::Runtime) -> Vec<(String, Arc<Engine>, Scenario)> {
    let config = Arc::new(
        LoadedConfig::load(Some(Path::new("agents.yaml")), TOOL_NAMES).expect("agents.yaml"),
    );
    let scenarios = Scenario::all_in(Path::new(SCENARIOS)).expect("scenarios");
    rt.block_on(async {
        let mut out = Vec::new();
        for s in scenarios {
            let toolbox =
                Toolbox::start(fixture_backends(s.data_dir.as_deref()).expect("fixtures"))
                    .await
                    .expect("toolbox");
            let engine = Engine::new(config.clone(), Arc::new(toolbox), Arc::new(OfflineReasoner))
                .expect("engine");
            out.push((s.name.clone(), Arc::new(engine), s));
        }
        out
    })
}

async fn one_alert(engine: &Engine, scenario: &Scenario) -> usize {
    let received = Instant::now();
    let Ok(Intake::Alert(alert)) = scenario.intake() else {
        return 0;
    };
    let analysis = engine.analyze(&alert, received).await;
    analysis.blocks.len()
}

fn bench_alerts(c: &mut Criterion) {
    let rt = runtime();
    let prepared = prepare(&rt);
    let mut group = c.benchmark_group("alert_end_to_end");
    group.throughput(Throughput::Elements(1));
    for name in [
        "db-pool-slow-query",
        "ssl-expiry-seed",
        "k8s-crashloop-config",
        "res-oom-leak",
    ] {
        if let Some((_, engine, scenario)) = prepared.iter().find(|(n, _, _)| n == name) {
            group.bench_with_input(BenchmarkId::from_parameter(name), scenario, |b, s| {
                b.to_async(&rt).iter(|| one_alert(engine, s));
            });
        }
    }
    group.finish();
}

/// One MCP tool call through the in-process toolbox (JSON-RPC over a duplex pipe).
fn bench_tool_call(c: &mut Criterion) {
    let rt = runtime();
    let dir = Path::new(SCENARIOS).join("dns-nxdomain");
    let toolbox = rt.block_on(async {
        Toolbox::start(fixture_backends(Some(&dir)).expect("fixtures"))
            .await
            .expect("toolbox")
    });
    let mut group = c.benchmark_group("tool_call");
    group.throughput(Throughput::Elements(1));
    for (tool, args) in [
        (
            "resolve_dns",
            serde_json::json!({"name": "ledger.prod.svc.cluster.local"}),
        ),
        (
            "get_pod_status",
            serde_json::json!({"namespace": "prod", "service": "payments"}),
        ),
        ("query_logs", serde_json::json!({"service": "payments"})),
    ] {
        let Some(args) = args.as_object().cloned() else {
            continue;
        };
        group.bench_function(tool, |b| {
            b.to_async(&rt).iter(|| {
                toolbox.call(
                    ToolCall {
                        tool: tool.to_string(),
                        args: args.clone(),
                    },
                    Duration::from_secs(5),
                )
            });
        });
    }
    group.finish();
}

fn bench_dedup(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("dedup");
    const N: u64 = 10_000;
    group.throughput(Throughput::Elements(N));
    group.bench_function("first_seen_10k_unique_keys", |b| {
        b.to_async(&rt).iter(|| async {
            let d = Dedup::new(Duration::from_secs(600), 1_000_000);
            let mut fresh = 0;
            for i in 0..N {
                if d.first_seen(format!("event:Ev{i}")).await {
                    fresh += 1;
                }
            }
            fresh
        });
    });
    group.finish();
}

/// Per-alert latency distribution and throughput, printed for the notes.
fn summary() {
    let rt = runtime();
    let prepared = prepare(&rt);
    if prepared.is_empty() {
        println!("no scenarios under {SCENARIOS}");
        return;
    }
    let rounds = 50;
    let mut times = Vec::with_capacity(prepared.len() * rounds);
    let started = Instant::now();
    rt.block_on(async {
        for _ in 0..rounds {
            for (_, engine, scenario) in &prepared {
                let t = Instant::now();
                std::hint::black_box(one_alert(engine, scenario).await);
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
    });
    let total = started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    println!(
        "\nsummary: {} alerts over {} scenarios: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; {:.0} alerts/s sequential",
        times.len(),
        prepared.len(),
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or(0.0),
        times.len() as f64 / total
    );
    let keys = 200_000u64;
    let secs = rt.block_on(async {
        let d = Dedup::new(Duration::from_secs(600), 1_000_000);
        let t = Instant::now();
        for i in 0..keys {
            std::hint::black_box(d.first_seen(format!("fp:{i:016x}")).await);
        }
        t.elapsed().as_secs_f64()
    });
    println!(
        "summary: dedup {} unique keys in {:.3} s: {:.0} keys/s",
        keys,
        secs,
        keys as f64 / secs
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(3));
    targets = bench_alerts, bench_tool_call, bench_dedup
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
