//! What the LLM reasoner sends and what it costs besides the model.
//!
//! `cargo bench --bench llm` prints, per shipped scenario, the size of the first request the
//! model would receive (the HTTP body in bytes, and tokens estimated as bytes / 4: no tokenizer
//! is involved) with its parts (system message; first user message: the agent's prompt file, the
//! alert, the evidence digest and the offline second opinion; the evidence digest alone; the
//! tool definitions; the strict response schema),
//! then the reasoner's own overhead per step against a local fake OpenAI server that answers
//! after a fixed delay: two tool calls and an answer, the whole engine run, minus the fake's
//! answer time, divided by the requests (request building and JSON, HTTP on 127.0.0.1, the
//! tool calls over MCP, parsing, grounding).
//!
//! `LLM_BENCH_DUMP=<scenario>` prints that scenario's first request as sent.
//!
//! Target: under 8 KB for a typical alert (a peer sends about 34 KB for a one-line question).

#[path = "../tests/support/mod.rs"]
#[allow(dead_code, unused_imports)]
mod support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sre_agent::agent::Engine;
use sre_agent::alert::Intake;
use sre_agent::config::{ConfigOrigin, EMBEDDED_AGENTS_YAML, LoadedConfig};
use sre_agent::llm::Reasoner;
use sre_agent::llm::openai::{LlmReasoner, LlmSettings, ToolPolicy};
use sre_agent::scenario::{Scenario, percentile};
use sre_agent::tools::TOOL_NAMES;

use support::fake_llm::{FakeLlm, Reply, echo_offline, text, tool_calls};

const FAKE_DELAY: Duration = Duration::from_millis(50);
const RUNS: usize = 10;

fn reasoner(fake: &FakeLlm, tools: ToolPolicy) -> Arc<dyn Reasoner> {
    let map: HashMap<String, String> = fake.env().into_iter().collect();
    let http = sre_agent::tools::live::http_client().expect("http");
    let settings = LlmSettings {
        tools,
        ..LlmSettings::default()
    };
    Arc::new(
        LlmReasoner::from_env(&|k| map.get(k).cloned(), settings, http)
            .expect("env")
            .expect("llm"),
    )
}

fn config() -> LoadedConfig {
    LoadedConfig::from_yaml_str(EMBEDDED_AGENTS_YAML, ConfigOrigin::Embedded, TOOL_NAMES)
        .expect("config")
}

async fn run(sc: &Scenario, reasoner: Arc<dyn Reasoner>) -> sre_agent::agent::Analysis {
    let toolbox = sc.toolbox().await.expect("toolbox");
    let engine = Engine::new(Arc::new(config()), Arc::new(toolbox), reasoner).expect("engine");
    let Intake::Alert(alert) = sc.intake().expect("intake") else {
        panic!("{} is not an alert", sc.name);
    };
    engine.analyze(&alert, Instant::now()).await
}

/// An unsure draft for db-pool-slow-query: a grounded root cause at confidence 0.4, with a gap.
fn unsure_draft() -> String {
    json!({
        "summary": "unsure", "root_cause": "The MongoDB connection pool of accounts is exhausted (253 requests waiting).",
        "hypotheses": [], "timeline": [], "actions": [], "prevention": [], "metrics": [],
        "missing_evidence": ["the error logs of accounts"], "confidence": 0.4
    })
    .to_string()
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios");
    let scenarios = Scenario::all_in(&root).expect("scenarios");

    println!("## First request to the LLM, per scenario (tokens ≈ bytes / 4)\n");
    println!(
        "Evidence first (`llm.tools: when_unsure`, the default): the first request carries no tool\n\
definitions. `with tools` is the same request with them (`llm.tools: always`, and the request\n\
after an unsure draft).\n"
    );
    println!(
        "{:<28} {:>9} {:>7} {:>8} {:>8} {:>9} {:>8} {:>11} {:>8}  answered by",
        "scenario",
        "request",
        "tokens",
        "system",
        "user",
        "evidence",
        "schema",
        "with tools",
        "tools"
    );
    let mut sizes = Vec::new();
    let mut with_tools = Vec::new();
    for sc in &scenarios {
        let fake = FakeLlm::start(vec![]).await;
        fake.set_responder(echo_offline);
        let a = run(sc, reasoner(&fake, ToolPolicy::WhenUnsure)).await;
        let reqs = fake.requests();
        let Some(first) = reqs.first() else {
            println!("{:<28} no request ({})", sc.name, a.rca.reasoner);
            continue;
        };
        if std::env::var("LLM_BENCH_DUMP").is_ok_and(|d| d == sc.name) {
            println!("{}", first.raw);
        }
        let always = FakeLlm::start(vec![]).await;
        always.set_responder(echo_offline);
        run(sc, reasoner(&always, ToolPolicy::Always)).await;
        let (tooled, tools) = always
            .requests()
            .first()
            .map_or((0, 0), |r| (r.raw.len(), r.body["tools"].to_string().len()));
        let texts = first.message_texts();
        let user = texts.get(1).cloned().unwrap_or_default();
        let evidence = user
            .split_once("<<<DATA evidence>>>")
            .and_then(|(_, rest)| rest.split_once("<<<END evidence>>>"))
            .map_or(0, |(e, _)| e.len());
        let schema = first.body["response_format"].to_string().len();
        sizes.push(first.raw.len() as f64);
        with_tools.push(tooled as f64);
        println!(
            "{:<28} {:>9} {:>7} {:>8} {:>8} {:>9} {:>8} {:>11} {:>8}  {}",
            sc.name,
            kb(first.raw.len()),
            first.raw.len() / 4,
            kb(texts.first().map_or(0, String::len)),
            kb(user.len()),
            kb(evidence),
            kb(schema),
            kb(tooled),
            kb(tools),
            a.rca.reasoner
        );
    }
    for v in [&mut sizes, &mut with_tools] {
        v.sort_by(f64::total_cmp);
    }
    println!(
        "\nfirst request: p50 {}, p95 {}, max {} (target < 8 KB for a typical alert)",
        kb(percentile(&sizes, 0.5) as usize),
        kb(percentile(&sizes, 0.95) as usize),
        kb(sizes.last().copied().unwrap_or(0.0) as usize),
    );
    println!(
        "with tools:    p50 {}, p95 {}, max {}\n",
        kb(percentile(&with_tools, 0.5) as usize),
        kb(percentile(&with_tools, 0.95) as usize),
        kb(with_tools.last().copied().unwrap_or(0.0) as usize),
    );

    if let Some(sc) = scenarios.iter().find(|s| s.name == "db-pool-slow-query") {
        println!("## Bytes sent per run (db-pool-slow-query, every request of the run)\n");
        let calls = || {
            tool_calls(&[
                (
                    "query_logs",
                    json!({"service": "accounts", "severity": "ERROR"}),
                ),
                (
                    "get_workload",
                    json!({"namespace": "prod", "name": "accounts"}),
                ),
            ])
        };
        let flows: [(&str, ToolPolicy, Vec<Reply>); 3] = [
            ("sure draft (1 request)", ToolPolicy::WhenUnsure, vec![]),
            (
                "unsure draft, 2 tool calls, answer",
                ToolPolicy::WhenUnsure,
                vec![text(&unsure_draft()), calls()],
            ),
            (
                "tools: always, 2 tool calls, answer",
                ToolPolicy::Always,
                vec![calls()],
            ),
        ];
        for (name, policy, script) in flows {
            let fake = FakeLlm::start(script).await;
            fake.set_responder(echo_offline);
            let a = run(sc, reasoner(&fake, policy)).await;
            let usage = a.rca.usage.clone().unwrap_or_default();
            println!(
                "{name:<38} {} requests, {:>8} sent",
                usage.requests,
                kb(usage.request_bytes as usize)
            );
        }
        println!();
    }

    println!(
        "## Reasoner overhead per step: 2 tool calls + answer, fake answers after {} ms\n",
        FAKE_DELAY.as_millis()
    );
    let Some(sc) = scenarios.iter().find(|s| s.name == "db-pool-slow-query") else {
        return;
    };
    let mut overheads = Vec::new();
    let mut totals = Vec::new();
    let mut fake_times = Vec::new();
    let mut requests = 0;
    for _ in 0..RUNS {
        let fake = FakeLlm::start(vec![Reply::Delayed(
            FAKE_DELAY,
            Box::new(tool_calls(&[
                (
                    "query_logs",
                    json!({"service": "accounts", "severity": "ERROR"}),
                ),
                (
                    "get_workload",
                    json!({"namespace": "prod", "name": "accounts"}),
                ),
            ])),
        )])
        .await;
        fake.set_responder(|r| Reply::Delayed(FAKE_DELAY, Box::new(echo_offline(r))));
        let a = run(sc, reasoner(&fake, ToolPolicy::Always)).await;
        let usage = a.rca.usage.clone().unwrap_or_default();
        let reqs = fake.requests();
        let fake_ms: f64 = reqs
            .iter()
            .map(|r| r.answered_in.as_secs_f64() * 1000.0)
            .sum();
        requests = reqs.len();
        let steps = reqs.len().max(1) as f64;
        overheads.push((usage.llm_ms as f64 - fake_ms) / steps);
        totals.push(usage.llm_ms as f64);
        fake_times.push(fake_ms / steps);
    }
    for v in [&mut overheads, &mut totals, &mut fake_times] {
        v.sort_by(f64::total_cmp);
    }
    println!(
        "fake's answer time per step: p50 {:.1} ms\nreasoner overhead per step: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms\nwhole LLM loop ({} requests, 2 tool calls): p50 {:.1} ms",
        percentile(&fake_times, 0.5),
        percentile(&overheads, 0.5),
        percentile(&overheads, 0.95),
        overheads.last().copied().unwrap_or(0.0),
        requests,
        percentile(&totals, 0.5),
    );
}
