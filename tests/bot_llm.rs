//! The bot with the LLM reasoner: an alert arrives over Socket Mode (fake Slack), the engine asks
//! a scripted local OpenAI-compatible server, and the thread reply is the model's RCA with its
//! cost in the footer, or, when the model fails, the offline RCA saying why. `/metrics` counts
//! the tokens and tool calls.

mod bot_common;
mod support;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use sre_agent::llm::Reasoner;
use sre_agent::llm::openai::{LlmReasoner, LlmSettings};

use bot_common::*;
use support::fake_llm::{FakeLlm, MODEL, rca_json, status, text, tool_calls};
use support::fake_slack::FakeSlack;

fn llm(fake: &FakeLlm) -> Arc<dyn Reasoner> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let map: HashMap<String, String> = fake.env().into_iter().collect();
    let http = sre_agent::tools::live::http_client().expect("http");
    Arc::new(
        LlmReasoner::from_env(&|k| map.get(k).cloned(), LlmSettings::default(), http)
            .expect("env")
            .expect("llm"),
    )
}

/// Every text of a message's blocks, joined.
fn block_text(blocks: &Value) -> String {
    let mut out = String::new();
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    walk(blocks, &mut out);
    out
}

const ROOT: &str = "The checkout service returns 5xx: error ratio 0.12 for 10m on checkout.";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_thread_gets_the_models_rca_with_its_cost_in_the_footer() {
    let model = FakeLlm::start(vec![
        tool_calls(&[
            (
                "query_logs",
                json!({"service": "checkout", "severity": "ERROR"}),
            ),
            ("get_events", json!({"namespace": "prod"})),
        ]),
        text(&rca_json(
            "checkout fails with 5xx",
            ROOT,
            &["error ratio 0.12 in the alert"],
            "kubectl -n prod rollout status deploy/checkout",
            0.7,
        )),
    ])
    .await;
    let fake = FakeSlack::start_with(fast_fake()).await;
    let bot = start_bot(
        &fake,
        Opts {
            reasoner: llm(&model),
            ..Opts::default()
        },
    )
    .await;
    let ts = ts_ago(5.0, 1);
    fake.send_event(am_alert("checkout", &ts, "firing")).await;
    assert!(
        fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await,
        "an RCA arrives"
    );
    let update = rca_updates(&fake.posted())[0].clone();
    assert_eq!(update.channel, CH);
    let text = block_text(&update.blocks);
    assert!(text.contains(ROOT), "the model's root cause:\n{text}");
    assert!(
        text.contains(&format!("Reasoner: llm:{MODEL} · 2 tool calls · ")),
        "{text}"
    );
    assert!(text.contains(" tokens · "), "{text}");
    assert_eq!(bot_replies(&fake, &ts).len(), 1, "one reply, in the thread");
    assert_eq!(model.requests().len(), 2);

    let metrics = bot.ops().metrics();
    assert!(
        metrics.contains("sre_agent_llm_tool_calls_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sre_agent_llm_runs_total{outcome=\"answered\"} 1"),
        "{metrics}"
    );
    let tokens_in = metrics
        .lines()
        .find_map(|l| l.strip_prefix("sre_agent_llm_tokens_total{direction=\"in\"} "))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(tokens_in > 0, "{metrics}");
    bot.shutdown(std::time::Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_model_still_gets_the_alert_its_offline_rca() {
    let model = FakeLlm::start(vec![]).await; // every request: 500
    model.set_responder(|_| status(503, None));
    let fake = FakeSlack::start_with(fast_fake()).await;
    let bot = start_bot(
        &fake,
        Opts {
            reasoner: llm(&model),
            ..Opts::default()
        },
    )
    .await;
    let ts = ts_ago(5.0, 2);
    fake.send_event(am_alert("checkout", &ts, "firing")).await;
    assert!(
        fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await,
        "an RCA arrives"
    );
    let update = rca_updates(&fake.posted())[0].clone();
    let text = block_text(&update.blocks);
    assert!(
        text.contains("Reasoner: offline (LLM endpoint error (HTTP 503))"),
        "{text}"
    );
    assert!(text.contains("Root cause"), "{text}");
    let metrics = bot.ops().metrics();
    assert!(
        metrics.contains("sre_agent_llm_runs_total{outcome=\"fallback\"} 1"),
        "{metrics}"
    );
    bot.shutdown(std::time::Duration::from_secs(5)).await;
}
