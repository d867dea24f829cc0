//! The LLM reasoner end to end against a scripted local OpenAI-compatible server (and an
//! Azure-shaped one): the real engine over a recorded scenario's tools, the real HTTP and JSON.
//! Each case ends in the RCA and footer the reply shows: the model's (with tool calls,
//! grounding marks and cost) or the offline one with the reason the LLM was not used.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use sre_agent::agent::{Analysis, Engine};
use sre_agent::alert::Intake;
use sre_agent::config::{ConfigOrigin, EMBEDDED_AGENTS_YAML, LoadedConfig};
use sre_agent::llm::Reasoner;
use sre_agent::llm::openai::{LlmReasoner, LlmSettings, ToolPolicy};
use sre_agent::scenario::Scenario;
use sre_agent::tools::TOOL_NAMES;

use support::fake_llm::{
    FakeLlm, MODEL, Reply, dead_url, rca_json, refusal, status, text, tool_calls,
};

fn reasoner(env: &[(String, String)], settings: LlmSettings) -> Arc<dyn Reasoner> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let map: HashMap<String, String> = env.iter().cloned().collect();
    let http = sre_agent::tools::live::http_client().expect("http");
    Arc::new(
        LlmReasoner::from_env(&|k| map.get(k).cloned(), settings, http)
            .expect("env")
            .expect("an LLM is configured"),
    )
}

async fn analyze_with(scenario: &str, reasoner: Arc<dyn Reasoner>, deadline_secs: u64) -> Analysis {
    analyze_in(config(), scenario, reasoner, deadline_secs).await
}

fn config() -> LoadedConfig {
    LoadedConfig::from_yaml_str(EMBEDDED_AGENTS_YAML, ConfigOrigin::Embedded, TOOL_NAMES)
        .expect("config")
}

async fn analyze_in(
    mut loaded: LoadedConfig,
    scenario: &str,
    reasoner: Arc<dyn Reasoner>,
    deadline_secs: u64,
) -> Analysis {
    let _ = rustls::crypto::ring::default_provider().install_default();
    loaded.config.pipeline.run_deadline_secs = deadline_secs;
    loaded.config.pipeline.tool_timeout_ms = 500;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/scenarios")
        .join(scenario);
    let sc = Scenario::from_dir(&dir).expect("scenario");
    let toolbox = sc.toolbox().await.expect("toolbox");
    let engine = Engine::new(Arc::new(loaded), Arc::new(toolbox), reasoner).expect("engine");
    let alert = match sc.intake().expect("intake") {
        Intake::Alert(a) => *a,
        Intake::Ignored(_) => panic!("not an alert"),
    };
    engine.analyze(&alert, Instant::now()).await
}

async fn analyze(scenario: &str, fake: &FakeLlm) -> Analysis {
    analyze_with(scenario, reasoner(&fake.env(), LlmSettings::default()), 30).await
}

/// A root cause that cites what the db-pool-slow-query tools return.
const GROUNDED: &str = "The MongoDB connection pool of accounts is exhausted (253 requests waiting) by a slow query introduced by the deploy of revision 23 at 02:32 UTC; MongoDB op p99 went to 1,954 ms.";

fn grounded_answer() -> String {
    rca_json(
        "A slow query from the 02:32 UTC deploy exhausted the accounts pool.",
        GROUNDED,
        &[
            "slow queries rose after the rollout",
            "MongoWaitQueueTimeoutError in the logs",
        ],
        "kubectl -n prod rollout undo deploy/accounts",
        0.8,
    )
}

/// An unsure draft: the grounded root cause at confidence 0.4, with the checks it lacks.
fn unsure_draft() -> String {
    let mut draft: serde_json::Value =
        serde_json::from_str(&grounded_answer()).expect("an RCA as JSON");
    draft["confidence"] = json!(0.4);
    draft["missing_evidence"] = json!(["the error logs of accounts", "the rollout of accounts"]);
    draft.to_string()
}

/// Settings that offer the tools from the first request.
fn tools_always() -> LlmSettings {
    LlmSettings {
        tools: ToolPolicy::Always,
        ..LlmSettings::default()
    }
}

fn footer(analysis: &Analysis) -> String {
    analysis
        .text
        .lines()
        .find(|l| l.starts_with("Agent:"))
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_sure_draft_is_the_answer_in_one_request_without_tool_definitions() {
    let fake = FakeLlm::start(vec![text(&grounded_answer())]).await;
    let a = analyze("db-pool-slow-query", &fake).await;
    assert_eq!(a.rca.reasoner, format!("llm:{MODEL}"), "{}", a.text);
    assert_eq!(a.rca.root_cause, GROUNDED);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1, "a sure draft needs no second request");
    assert!(reqs[0].body.get("tools").is_none(), "{}", reqs[0].body);
    assert!(
        reqs[0].message_texts()[0].contains("list in missing_evidence the checks"),
        "the model is told how to ask for more"
    );
    assert_eq!(a.rca.usage.expect("usage").tool_calls, 0);
}

#[tokio::test]
async fn an_unsure_draft_gets_the_tools_two_calls_then_an_answer_the_reply_shows() {
    let fake = FakeLlm::start(vec![
        text(&unsure_draft()),
        tool_calls(&[
            (
                "query_logs",
                json!({"service": "accounts", "severity": "ERROR"}),
            ),
            (
                "get_workload",
                json!({"namespace": "prod", "name": "accounts", "kind": "Deployment"}),
            ),
        ]),
        text(&grounded_answer()),
    ])
    .await;
    let a = analyze("db-pool-slow-query", &fake).await;
    assert_eq!(a.rca.reasoner, format!("llm:{MODEL}"), "{}", a.text);
    assert_eq!(a.rca.root_cause, GROUNDED);
    assert!(a.rca.unsupported.is_empty(), "{:?}", a.rca.unsupported);
    assert!(
        a.rca.missing_evidence.is_empty(),
        "the final answer, not the draft: {:?}",
        a.rca.missing_evidence
    );
    let usage = a.rca.usage.clone().expect("usage");
    assert_eq!(usage.tool_calls, 2);
    assert_eq!(usage.requests, 3);
    assert!(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
    // The footer: model, tool calls, tokens, time.
    let f = footer(&a);
    assert!(
        f.contains(&format!("Reasoner: llm:{MODEL} · 2 tool calls · ")),
        "{f}"
    );
    assert!(f.contains(" tokens · ") && f.contains(" s"), "{f}");
    assert!(a.text.contains(GROUNDED), "{}", a.text);

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    let first = &reqs[0];
    assert_eq!(first.body["model"], MODEL);
    assert_eq!(first.roles(), ["system", "user"]);
    assert!(first.body.get("tools").is_none(), "evidence first");
    let texts = first.message_texts();
    assert!(texts[0].contains("untrusted data"), "{}", texts[0]);
    assert!(texts[1].contains("<<<DATA alert>>>") && texts[1].contains("<<<DATA evidence>>>"));
    assert!(
        texts[1].contains("<<<DATA offline-analysis>>>"),
        "the second opinion goes in"
    );
    assert!(
        !texts[1].contains("{\n") && !texts[1].contains("[\n"),
        "no pretty-printed JSON"
    );
    assert_eq!(first.body["response_format"]["type"], "json_schema");
    assert_eq!(first.body["response_format"]["json_schema"]["strict"], true);
    // The draft goes back with the offer of the tools: only the database agent's read-only ones.
    let second = &reqs[1];
    assert_eq!(second.roles(), ["system", "user", "assistant", "user"]);
    assert!(
        second.message_texts()[3].contains("call the read-only tools"),
        "{:?}",
        second.message_texts()
    );
    let tools = second.tool_names();
    assert!(tools.contains(&"query_logs".to_string()), "{tools:?}");
    assert!(
        !tools.contains(&"post_thread_reply".to_string()),
        "{tools:?}"
    );
    assert!(
        !tools.contains(&"check_tls_certificate".to_string()),
        "{tools:?}"
    );
    assert_eq!(second.body["tool_choice"], "auto");
    // The tool results went back, answering the model's call ids, fenced as data.
    let third = &reqs[2];
    assert_eq!(
        third.roles(),
        [
            "system",
            "user",
            "assistant",
            "user",
            "assistant",
            "tool",
            "tool"
        ]
    );
    let msgs = third.body["messages"].as_array().expect("messages");
    assert_eq!(msgs[5]["tool_call_id"], "call_0_query_logs");
    assert_eq!(msgs[6]["tool_call_id"], "call_1_get_workload");
    let result = msgs[5]["content"].as_str().expect("content");
    assert!(
        result.starts_with("<<<DATA tool-result query_logs>>>"),
        "{result}"
    );
    assert!(result.contains("MongoWaitQueueTimeoutError"), "{result}");
    assert_eq!(
        first.headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {}", support::fake_llm::KEY).as_str())
    );
}

#[tokio::test]
async fn a_follow_up_that_fails_leaves_the_draft_as_the_answer() {
    let fake = FakeLlm::start(vec![
        text(&unsure_draft()),
        status(500, None),
        status(500, None),
        status(500, None),
    ])
    .await;
    let a = analyze("db-pool-slow-query", &fake).await;
    assert_eq!(a.rca.reasoner, format!("llm:{MODEL}"), "{}", a.text);
    assert_eq!(a.rca.root_cause, GROUNDED);
    assert!(
        a.rca.missing_evidence.iter().any(|m| m
            .starts_with("the follow-up tool calls did not finish: ")
            && m.contains("500")),
        "{:?}",
        a.rca.missing_evidence
    );
    assert!(
        a.rca
            .missing_evidence
            .contains(&"the error logs of accounts".to_string()),
        "the draft's own gaps stay: {:?}",
        a.rca.missing_evidence
    );
    assert_eq!(fake.requests().len(), 4, "the draft, then 1 + 2 retries");
}

#[tokio::test]
async fn with_tools_always_the_first_request_offers_them() {
    let fake = FakeLlm::start(vec![
        tool_calls(&[(
            "query_logs",
            json!({"service": "accounts", "severity": "ERROR"}),
        )]),
        text(&grounded_answer()),
    ])
    .await;
    let a = analyze_with(
        "db-pool-slow-query",
        reasoner(&fake.env(), tools_always()),
        30,
    )
    .await;
    assert_eq!(a.rca.root_cause, GROUNDED, "{}", a.text);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[0].tool_names().contains(&"query_logs".to_string()));
    assert_eq!(reqs[1].roles(), ["system", "user", "assistant", "tool"]);
    assert_eq!(a.rca.usage.expect("usage").tool_calls, 1);
}

#[tokio::test]
async fn an_invalid_answer_is_repaired_once() {
    let fake = FakeLlm::start(vec![
        text("The pool is exhausted, probably."),
        text(&grounded_answer()),
    ])
    .await;
    let a = analyze("db-pool-slow-query", &fake).await;
    assert_eq!(a.rca.reasoner, format!("llm:{MODEL}"), "{}", a.text);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    let last = reqs[1].message_texts();
    assert_eq!(last[2], "The pool is exhausted, probably.");
    assert!(
        last[3].starts_with("Your answer could not be used: not valid JSON"),
        "{}",
        last[3]
    );
}

#[tokio::test]
async fn invalid_json_twice_falls_back_to_offline() {
    let fake = FakeLlm::start(vec![text("{\"summary\": \"cut"), text("still { not json")]).await;
    let a = analyze("db-pool-slow-query", &fake).await;
    assert!(
        a.rca
            .reasoner
            .starts_with("offline (LLM answered invalid JSON twice"),
        "{}",
        a.rca.reasoner
    );
    assert!(
        a.rca.root_cause.contains("slow query"),
        "the offline RCA: {}",
        a.rca.root_cause
    );
    assert!(footer(&a).contains("Reasoner: offline (LLM answered invalid JSON twice"));
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn a_model_that_never_answers_times_out_into_the_offline_rca() {
    let fake = FakeLlm::start(vec![Reply::Hang]).await;
    let a = analyze_with(
        "db-pool-slow-query",
        reasoner(&fake.env(), LlmSettings::default()),
        2,
    )
    .await;
    // The run deadline (2 s) minus the fallback's margin, less the tools' time.
    assert!(
        a.rca.reasoner.starts_with("offline (LLM timed out after ")
            && a.rca.reasoner.ends_with(" s)"),
        "{}",
        a.rca.reasoner
    );
    assert!(footer(&a).contains("Reasoner: offline (LLM timed out after "));
    assert!(a.rca.root_cause.contains("slow query"));
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_within_the_deadline() {
    let fake = FakeLlm::start(vec![status(429, Some("1")), text(&grounded_answer())]).await;
    let a = analyze("db-pool-slow-query", &fake).await;
    assert_eq!(a.rca.reasoner, format!("llm:{MODEL}"), "{}", a.text);
    let reqs = fake.requests();
    assert_eq!(
        reqs.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200]
    );
    assert_eq!(a.rca.usage.expect("usage").requests, 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_deadline_is_not_waited_for() {
    let fake = FakeLlm::start(vec![status(429, Some("120"))]).await;
    let a = analyze_with(
        "db-pool-slow-query",
        reasoner(&fake.env(), LlmSettings::default()),
        5,
    )
    .await;
    assert_eq!(
        a.rca.reasoner,
        "offline (LLM rate-limited (429, Retry-After 120 s beyond the deadline))"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_fall_back() {
    let fake = FakeLlm::start(vec![]).await; // every request: 500
    let settings = LlmSettings {
        max_retries: 1,
        ..LlmSettings::default()
    };
    let a = analyze_with("db-pool-slow-query", reasoner(&fake.env(), settings), 30).await;
    assert_eq!(a.rca.reasoner, "offline (LLM endpoint error (HTTP 500))");
    assert_eq!(fake.requests().len(), 2, "one retry");
}

#[tokio::test]
async fn a_dead_endpoint_falls_back() {
    let env = vec![
        ("OPENAI_API_KEY".to_string(), "sk-x".to_string()),
        ("OPENAI_BASE_URL".to_string(), dead_url().await),
    ];
    let a = analyze_with(
        "db-pool-slow-query",
        reasoner(&env, LlmSettings::default()),
        30,
    )
    .await;
    assert_eq!(
        a.rca.reasoner,
        "offline (LLM endpoint unreachable: connection failed)"
    );
    assert!(footer(&a).contains("Reasoner: offline (LLM endpoint unreachable"));
}

#[tokio::test]
async fn a_refusal_falls_back() {
    let fake = FakeLlm::start(vec![refusal("I can't help with that.")]).await;
    let a = analyze("db-pool-slow-query", &fake).await;
    assert_eq!(
        a.rca.reasoner,
        "offline (LLM refused: I can't help with that.)"
    );
}

#[tokio::test]
async fn azure_gets_its_path_api_version_and_api_key() {
    let fake = FakeLlm::start_azure(
        "rca-gpt4o",
        "2024-10-21",
        "azure-key-0123456789",
        vec![text(&grounded_answer())],
    )
    .await;
    let env = vec![
        (
            "AZURE_OPENAI_API_KEY".to_string(),
            "azure-key-0123456789".to_string(),
        ),
        ("AZURE_OPENAI_ENDPOINT".to_string(), fake.endpoint()),
        (
            "AZURE_OPENAI_DEPLOYMENT".to_string(),
            "rca-gpt4o".to_string(),
        ),
        (
            "AZURE_OPENAI_API_VERSION".to_string(),
            "2024-10-21".to_string(),
        ),
    ];
    let a = analyze_with(
        "db-pool-slow-query",
        reasoner(&env, LlmSettings::default()),
        30,
    )
    .await;
    assert_eq!(a.rca.reasoner, "llm:rca-gpt4o", "{}", a.text);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].path,
        "/openai/deployments/rca-gpt4o/chat/completions"
    );
    assert_eq!(reqs[0].query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(
        reqs[0].headers.get("api-key").map(String::as_str),
        Some("azure-key-0123456789")
    );
    assert!(!reqs[0].headers.contains_key("authorization"));
    assert!(reqs[0].body.get("max_completion_tokens").is_some());

    // A wrong api-version is the endpoint's 400, and the offline RCA says so.
    let env: Vec<(String, String)> = env
        .into_iter()
        .map(|(k, v)| {
            if k == "AZURE_OPENAI_API_VERSION" {
                (k, "2023-01-01".into())
            } else {
                (k, v)
            }
        })
        .collect();
    let a = analyze_with(
        "db-pool-slow-query",
        reasoner(&env, LlmSettings::default()),
        30,
    )
    .await;
    assert_eq!(
        a.rca.reasoner,
        "offline (LLM request rejected (HTTP 400: Unsupported or missing api-version))"
    );
}

#[tokio::test]
async fn invented_pods_and_values_are_flagged_and_cost_confidence() {
    let answer = rca_json(
        "A slow query from the 02:32 UTC deploy exhausted the accounts pool.",
        GROUNDED,
        &[
            "pod accounts-5f5f5f5f5f-zzzzz restarted",
            "pool wait time reached 9731 ms",
        ],
        "kubectl -n prod rollout undo deploy/accounts",
        0.8,
    );
    let fake = FakeLlm::start(vec![text(&answer)]).await;
    let a = analyze("db-pool-slow-query", &fake).await;
    assert_eq!(a.rca.reasoner, format!("llm:{MODEL}"));
    assert_eq!(
        a.rca.unsupported,
        ["pod `accounts-5f5f5f5f5f-zzzzz`", "value `9731 ms`"]
    );
    assert!(
        (a.rca.confidence.value() - 0.6).abs() < 1e-9,
        "{:?}",
        a.rca.confidence
    );
    assert!(
        a.text.contains("⚠️ Not found in the evidence"),
        "{}",
        a.text
    );
    assert!(
        a.text.contains("• pod `accounts-5f5f5f5f5f-zzzzz`"),
        "{}",
        a.text
    );
    let blocks = Value::Array(a.blocks.clone()).to_string();
    assert!(blocks.contains("Not found in the evidence"), "{blocks}");
}

#[tokio::test]
async fn a_root_cause_citing_nothing_observed_is_replaced_by_the_offline_one() {
    let answer = rca_json(
        "Cosmic rays.",
        "Cosmic rays flipped bits in the primary's memory, corrupting the driver's state.",
        &["it happens"],
        "echo reboot",
        0.9,
    );
    let fake = FakeLlm::start(vec![text(&answer)]).await;
    let a = analyze("db-pool-slow-query", &fake).await;
    assert_eq!(
        a.rca.reasoner,
        "offline (the LLM's root cause cited nothing observed)"
    );
    assert!(
        a.rca.root_cause.contains("slow query"),
        "{}",
        a.rca.root_cause
    );
    assert!(a.rca.usage.is_some(), "the tokens spent are still counted");
}

#[tokio::test]
async fn an_unsupported_response_format_is_downgraded_not_fatal() {
    let fake = FakeLlm::start(vec![
        Reply::Status {
            status: 400,
            retry_after: None,
            message: "response_format json_schema is not supported by this model".into(),
        },
        text(&grounded_answer()),
    ])
    .await;
    let a = analyze("db-pool-slow-query", &fake).await;
    assert_eq!(a.rca.reasoner, format!("llm:{MODEL}"), "{}", a.text);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].body["response_format"]["type"], "json_object");
    assert!(
        reqs[1].message_texts()[0].contains("JSON schema"),
        "the schema moves into the system message"
    );
}

#[tokio::test]
async fn calls_outside_the_agent_and_the_probe_policy_are_refused() {
    let fake = FakeLlm::start(vec![
        tool_calls(&[
            (
                "post_thread_reply",
                json!({"channel": "C0GENERAL", "thread_ts": "1.2", "text": "hi"}),
            ),
            (
                "check_tls_certificate",
                json!({"host": "evil.example.net", "port": 443}),
            ),
        ]),
        text(&rca_json(
            "The certificate of api.example.com expires soon.",
            "The TLS certificate of api.example.com expires soon and was not renewed.",
            &[],
            "openssl s_client -connect api.example.com:443",
            0.7,
        )),
    ])
    .await;
    let a = analyze_with("ssl-expiry-seed", reasoner(&fake.env(), tools_always()), 30).await;
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2, "{}", a.text);
    let msgs = reqs[1].body["messages"]
        .as_array()
        .expect("messages")
        .clone();
    let post = msgs[3]["content"].as_str().expect("post result");
    assert!(
        post.contains("not run: `post_thread_reply` is not one of the read-only tools"),
        "{post}"
    );
    let probe = msgs[4]["content"].as_str().expect("probe result");
    assert!(
        probe.contains("not probed: evil.example.net is not named by the alert"),
        "{probe}"
    );
    assert_eq!(a.rca.usage.expect("usage").tool_calls, 2);
}

#[tokio::test]
async fn a_model_that_only_calls_tools_is_stopped_by_its_budget() {
    let fake = FakeLlm::start(vec![]).await;
    fake.set_responder(|_| tool_calls(&[("query_logs", json!({"service": "accounts"}))]));
    let settings = LlmSettings {
        max_steps: 3,
        ..tools_always()
    };
    let a = analyze_with("db-pool-slow-query", reasoner(&fake.env(), settings), 30).await;
    assert_eq!(
        a.rca.reasoner,
        "offline (LLM used its 3 requests without answering)"
    );
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    // The last step forbids tools and asks for the answer.
    assert_eq!(reqs[2].body["tool_choice"], "none");
    assert_eq!(reqs[1].body["tool_choice"], "auto");
}

#[tokio::test]
async fn tools_that_write_are_never_offered_even_to_an_agent_that_lists_everything() {
    let fake = FakeLlm::start(vec![text(&grounded_answer())]).await;
    let mut cfg = config();
    for agent in &mut cfg.config.agents {
        agent.tools = vec!["*".into()];
    }
    let a = analyze_in(
        cfg,
        "db-pool-slow-query",
        reasoner(&fake.env(), tools_always()),
        30,
    )
    .await;
    assert_eq!(a.rca.reasoner, format!("llm:{MODEL}"));
    let tools = fake.requests()[0].tool_names();
    assert!(
        tools.contains(&"check_tls_certificate".to_string()),
        "{tools:?}"
    );
    assert!(tools.contains(&"get_node_status".to_string()), "{tools:?}");
    assert!(
        !tools.contains(&"post_thread_reply".to_string()),
        "{tools:?}"
    );
}

#[tokio::test]
async fn the_price_table_turns_tokens_into_money() {
    let fake = FakeLlm::start(vec![text(&grounded_answer())]).await;
    let mut settings = LlmSettings::default();
    settings.prices.insert(
        "test-*".into(),
        sre_agent::llm::openai::Price {
            input: 1.0,
            output: 2.0,
        },
    );
    let a = analyze_with("db-pool-slow-query", reasoner(&fake.env(), settings), 30).await;
    let usage = a.rca.usage.clone().expect("usage");
    let want = (usage.prompt_tokens as f64 + 2.0 * usage.completion_tokens as f64) / 1e6;
    assert!((usage.cost_usd.expect("priced") - want).abs() < 1e-12);
    assert!(footer(&a).contains(" · $"), "{}", footer(&a));
}
