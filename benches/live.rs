//! Benchmarks of the live path.
//!
//! `cargo bench --bench live` prints:
//! - **parallel collection**: an agent whose four up-front calls go to four sources that each
//!   take 200 ms to answer; collection should take about 200 ms, not 800 ms (target < 250 ms);
//! - **live replay overhead**: every shipped scenario replayed with its recorded data served
//!   from memory (fixtures) and over the real protocols by the local fakes of the tests (SigNoz
//!   HTTP, Kubernetes API, TLS, DNS on 127.0.0.1), the whole pipeline each time.
//!
//! Figures are printed as p50 / p95 / max over the runs (no criterion: each run takes 200 ms).

#[path = "../tests/support/mod.rs"]
#[allow(dead_code, unused_imports)]
mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::{Endpoints, Event, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::{Value, json};
use sre_agent::agent::Engine;
use sre_agent::alert::sources::text_alert;
use sre_agent::config::{ConfigOrigin, LoadedConfig};
use sre_agent::evidence::{CertInfo, DnsResult, ToolOutcome};
use sre_agent::llm::offline::OfflineReasoner;
use sre_agent::scenario::percentile;
use sre_agent::tools::backend::{KubeFuture, ListQuery, LogQuery, Workload, WorkloadKind};
use sre_agent::tools::{
    BackendError, Backends, KubeBackend, NetworkBackend, SignozBackend, SlackBackend, TOOL_NAMES,
    Toolbox,
};

const DELAY: Duration = Duration::from_millis(200);
const RUNS: usize = 30;

/// Every source answers after [`DELAY`], with something.
struct Slow;

fn later<T: Send + 'static>(value: T) -> BoxFuture<'static, Result<T, BackendError>> {
    async move {
        tokio::time::sleep(DELAY).await;
        Ok(value)
    }
    .boxed()
}

impl SignozBackend for Slow {
    fn query_range(&self, _: Value) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        later(Some(
            json!({"status":"success","data":{"type":"raw","data":{"results":[
            {"queryName":"A","rows":[{"timestamp":"2026-11-24T10:00:00Z","data":{"body":"timeout","severity_text":"ERROR"}}]}]}}}),
        ))
    }
}

impl KubeBackend for Slow {
    fn list_pods(&self, _: &str, _: &ListQuery) -> KubeFuture<'_, Vec<Pod>> {
        later(Some(Vec::new()))
    }
    fn get_pod(&self, _: &str, _: &str) -> KubeFuture<'_, Pod> {
        later(None)
    }
    fn list_events(&self, _: &str, _: &ListQuery) -> KubeFuture<'_, Vec<Event>> {
        later(Some(vec![serde_json::from_value(json!({
            "metadata": {"name": "e1", "namespace": "prod"},
            "involvedObject": {"kind": "Pod", "name": "api-1"},
            "reason": "BackOff", "message": "Back-off restarting failed container", "type": "Warning",
            "lastTimestamp": "2026-11-24T10:00:00Z", "count": 3
        }))
        .expect("event")]))
    }
    fn list_services(&self, _: &str) -> KubeFuture<'_, Vec<Service>> {
        later(Some(Vec::new()))
    }
    fn list_endpoints(&self, _: &str) -> KubeFuture<'_, Vec<Endpoints>> {
        later(Some(Vec::new()))
    }
    fn list_endpoint_slices(&self, _: &str, _: &ListQuery) -> KubeFuture<'_, Vec<EndpointSlice>> {
        later(Some(Vec::new()))
    }
    fn list_workloads(
        &self,
        _: &str,
        _: WorkloadKind,
        _: &ListQuery,
    ) -> KubeFuture<'_, Vec<Workload>> {
        later(Some(Vec::new()))
    }
    fn get_workload(&self, _: &str, _: WorkloadKind, _: &str) -> KubeFuture<'_, Workload> {
        later(None)
    }
    fn list_nodes(&self, _: &ListQuery) -> KubeFuture<'_, Vec<Node>> {
        later(Some(Vec::new()))
    }
    fn get_node(&self, _: &str) -> KubeFuture<'_, Node> {
        later(None)
    }
    fn pod_logs(&self, _: &str, _: &str, _: &LogQuery) -> KubeFuture<'_, String> {
        later(None)
    }
}

impl SlackBackend for Slow {
    fn conversations_replies(
        &self,
        channel: &str,
        ts: &str,
    ) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        later(Some(
            json!({"ok": true, "messages": [{"ts": ts, "text": "alert", "channel": channel}]}),
        ))
    }
    fn conversations_info(&self, _: &str) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        later(None)
    }
    fn post_message(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> BoxFuture<'_, Result<Value, BackendError>> {
        later(json!({"ok": true}))
    }
}

impl NetworkBackend for Slow {
    fn tls_certificate(
        &self,
        _: &str,
        _: u16,
    ) -> BoxFuture<'_, Result<Option<CertInfo>, BackendError>> {
        later(None)
    }
    fn resolve(
        &self,
        name: &str,
        record_type: &str,
    ) -> BoxFuture<'_, Result<Option<DnsResult>, BackendError>> {
        later(Some(DnsResult {
            name: name.to_string(),
            record_type: record_type.to_string(),
            answers: Vec::new(),
            error: Some("NXDOMAIN".into()),
            cname_chain: Vec::new(),
            elapsed_ms: None,
        }))
    }
}

const AGENT: &str = r#"
default_agent: probe
pipeline: {tool_timeout_ms: 5000, run_deadline_secs: 30}
agents:
  - name: probe
    description: four sources, one call each
    prompt: prompts/network.md
    tools: [query_logs, get_events, resolve_dns, get_thread_info]
    collect:
      - {tool: query_logs, args: {service: api}}
      - {tool: get_events, args: {namespace: prod}}
      - {tool: resolve_dns, args: {name: api.example.com}}
      - {tool: get_thread_info, args: {channel: C1, ts: "1.0"}}
"#;

fn summary(label: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{label}: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms over {} runs",
        percentile(&ms, 0.5),
        percentile(&ms, 0.95),
        ms.last().copied().unwrap_or(0.0),
        ms.len()
    );
}

fn parallel_collection(rt: &tokio::runtime::Runtime) {
    let config =
        LoadedConfig::from_yaml_str(AGENT, ConfigOrigin::Embedded, TOOL_NAMES).expect("config");
    let slow = Arc::new(Slow);
    let backends = Backends {
        signoz: slow.clone(),
        kube: slow.clone(),
        slack: slow.clone(),
        network: slow,
        sources: Vec::new(),
    };
    rt.block_on(async {
        let toolbox = Toolbox::start(backends).await.expect("toolbox");
        let engine = Engine::new(
            Arc::new(config),
            Arc::new(toolbox),
            Arc::new(OfflineReasoner),
        )
        .expect("engine");
        let agent = engine.config().config.agents[0].clone();
        let alert = text_alert("api errors");
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let started = Instant::now();
            let evidence = engine
                .collect(&agent, &alert, &sre_agent::target::resolve(&alert))
                .await;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            let answered = evidence
                .outputs
                .iter()
                .filter(|o| matches!(o.outcome, ToolOutcome::Data { .. }))
                .count();
            assert_eq!(answered, 4, "every source answered: {:?}", evidence.outputs);
        }
        summary("parallel collection, 4 tools x 200 ms", times);
    });
}

const REPLAYS: usize = 20;

fn replay_overhead(rt: &tokio::runtime::Runtime) {
    use sre_agent::pipeline::Pipeline;
    use sre_agent::scenario::{self, Scenario};
    let config = Arc::new(
        LoadedConfig::load(Some(Path::new("agents.yaml")), TOOL_NAMES).expect("agents.yaml"),
    );
    let scenarios = Scenario::all_in(Path::new("fixtures/scenarios")).expect("scenarios");
    let pki = support::fake_tls::TestPki::new();
    rt.block_on(async {
        let (mut offline, mut live) = (Vec::new(), Vec::new());
        for s in &scenarios {
            let dir = s.data_dir.clone().expect("dir");
            let catalogue = Arc::new(config.config.metrics.clone());
            let fixture = Toolbox::start_with_catalogue(
                sre_agent::tools::fixture::fixture_backends(Some(&dir)).expect("fixtures"),
                catalogue.clone(),
            )
            .await
            .expect("toolbox");
            let stack = support::live_stack::LiveStack::start(&dir, &pki).await;
            let wire = Toolbox::start_with_catalogue(stack.backends(), catalogue)
                .await
                .expect("toolbox");
            for (toolbox, times) in [(fixture, &mut offline), (wire, &mut live)] {
                let engine = Arc::new(
                    Engine::new(config.clone(), Arc::new(toolbox), Arc::new(OfflineReasoner))
                        .expect("engine"),
                );
                let pipeline = Pipeline::start(engine, &config.config.pipeline);
                for i in 0..REPLAYS {
                    let started = Instant::now();
                    let mut intake = s.intake().expect("intake");
                    if let sre_agent::alert::Intake::Alert(a) = &mut intake {
                        // A distinct alert each time, so dedup never skips one.
                        a.fingerprint = format!("{}-{i}", a.fingerprint);
                        a.slack.event_id = None;
                        a.slack.ts = Some(format!("1700000000.{i:06}"));
                    }
                    let out = scenario::replay_intake(&pipeline, intake, started).await;
                    assert!(out.rca.is_some(), "{}: {}", s.name, out.text);
                    times.push(started.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
        summary("replay, recorded data in memory (offline)", offline);
        summary("replay, live backends over local fakes", live);
    });
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run quickly then.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    parallel_collection(&rt);
    replay_overhead(&rt);
}
