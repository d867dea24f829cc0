//! The live SigNoz backend ([`SignozHttp`]) through the real tool server and [`Toolbox`], against
//! a local fake SigNoz that speaks the real HTTP API (`tests/support/fake_signoz.rs`) and serves
//! the scenarios' recorded files: the same observations as the fixture backend for every
//! scenario, the catalogue's real metric names on the wire, auth, failure and timeout handling,
//! service-name mapping, and request rate / error ratio / p99 derived from spans when SigNoz has
//! no metrics.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};
use sre_agent::alert::Intake;
use sre_agent::config::{LoadedConfig, Secret};
use sre_agent::evidence::{Observation, ToolCall, ToolOutcome};
use sre_agent::scenario::Scenario;
use sre_agent::tools::live::signoz::{SignozHttp, SignozSettings};
use sre_agent::tools::signoz::SignozServer;
use sre_agent::tools::signoz::catalogue::MetricCatalogue;
use sre_agent::tools::{SignozBackend, TOOL_NAMES, Toolbox, fixture::fixture_backends};
use support::fake_signoz::{FakeSignoz, Mode};

const KEY: &str = "sk-test-7f3a9c";
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn settings(timeout_ms: u64) -> SignozSettings {
    SignozSettings {
        timeout_ms,
        ..SignozSettings::default()
    }
}

fn live(fake: &FakeSignoz, key: Option<&str>, timeout_ms: u64) -> Arc<SignozHttp> {
    Arc::new(
        SignozHttp::new(
            http_client(),
            &settings(timeout_ms),
            fake.url(),
            key.map(Secret::new),
        )
        .expect("backend"),
    )
}

async fn toolbox_over(signoz: Arc<dyn SignozBackend>) -> Toolbox {
    let mut backends = fixture_backends(None).expect("backends");
    backends.signoz = signoz;
    Toolbox::start(backends).await.expect("toolbox")
}

async fn call(toolbox: &Toolbox, tool: &str, args: Value) -> ToolOutcome {
    let Value::Object(args) = args else {
        panic!("args must be an object");
    };
    toolbox
        .call(
            ToolCall {
                tool: tool.to_owned(),
                args,
            },
            CALL_TIMEOUT,
        )
        .await
        .outcome
}

fn failure(outcome: ToolOutcome) -> String {
    match outcome {
        ToolOutcome::Failed { error } => error,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn metric_series(outcome: &ToolOutcome) -> Vec<sre_agent::evidence::MetricSeries> {
    match outcome {
        ToolOutcome::Data {
            observation: Observation::Metrics { series },
        } => series.clone(),
        other => panic!("expected metrics, got {other:?}"),
    }
}

/// Metric series in a canonical order (by name; the answer's order otherwise): SigNoz returns
/// one result per query in no promised order, the recorded files in theirs.
fn canonical(observation: &Observation) -> Observation {
    match observation {
        Observation::Metrics { series } => {
            let mut series = series.clone();
            series.sort_by(|a, b| a.metric.cmp(&b.metric));
            Observation::Metrics { series }
        }
        other => other.clone(),
    }
}

/// The same meaning: equal observations, or both without data (their reasons may differ: a
/// missing file is "nothing recorded", an empty SigNoz answer is "no rows").
fn same_meaning(fixture: &ToolOutcome, live: &ToolOutcome) -> bool {
    match (fixture, live) {
        (ToolOutcome::Data { observation: a }, ToolOutcome::Data { observation: b }) => {
            canonical(a) == canonical(b)
        }
        (ToolOutcome::NoData { .. }, ToolOutcome::NoData { .. }) => true,
        _ => false,
    }
}

/// What a scenario's agent collects from SigNoz, as tool calls (service and namespace from the
/// alert).
fn signoz_calls(config: &LoadedConfig, scenario: &Scenario) -> Vec<(String, Value)> {
    let Ok(Intake::Alert(alert)) = scenario.intake() else {
        panic!("{}: alert.json is not an alert", scenario.name);
    };
    let service = alert.service.clone().unwrap_or_else(|| "unknown".into());
    let agent_name = &scenario.expect.as_ref().expect("expect.yaml").agent;
    let agent = config
        .config
        .agents
        .iter()
        .find(|a| &a.name == agent_name)
        .expect("agent");
    let mut calls = vec![(
        "query_logs".to_owned(),
        json!({"service": service, "severity": "WARN"}),
    )];
    let only_errors = agent
        .collect
        .iter()
        .find(|c| c.tool == "query_traces")
        .and_then(|c| c.args.get("only_errors").cloned())
        .unwrap_or(json!(false));
    calls.push((
        "query_traces".to_owned(),
        json!({"service": service, "only_errors": only_errors}),
    ));
    if let Some(metrics) = agent
        .collect
        .iter()
        .find(|c| c.tool == "query_metrics")
        .and_then(|c| c.args.get("metrics").cloned())
    {
        let mut args = json!({"service": service, "metrics": metrics});
        if let Some(ns) = &alert.namespace {
            args["namespace"] = json!(ns);
        }
        calls.push(("query_metrics".to_owned(), args));
    }
    calls
}

#[tokio::test]
async fn every_scenario_reads_the_same_over_http_as_from_its_files() {
    let config = LoadedConfig::load(Some(Path::new("agents.yaml")), TOOL_NAMES).expect("config");
    let scenarios = Scenario::all_in(Path::new("fixtures/scenarios")).expect("scenarios");
    assert!(scenarios.len() >= 20);
    let mut compared = 0;
    let mut with_data = 0;
    for scenario in &scenarios {
        let dir = PathBuf::from("fixtures/scenarios").join(&scenario.name);
        let fixture = toolbox_over(fixture_backends(Some(&dir)).expect("fixtures").signoz).await;
        let fake = FakeSignoz::start(&dir, Some(KEY)).await;
        let http = toolbox_over(live(&fake, Some(KEY), 5_000)).await;
        let mut scenario_data = 0;
        for (tool, args) in signoz_calls(&config, scenario) {
            let expected = call(&fixture, &tool, args.clone()).await;
            let got = call(&http, &tool, args.clone()).await;
            assert!(
                same_meaning(&expected, &got),
                "{} {tool} {args}:\n fixture: {expected:?}\n live:    {got:?}",
                scenario.name
            );
            compared += 1;
            if matches!(got, ToolOutcome::Data { .. }) {
                scenario_data += 1;
            }
        }
        if scenario_data > 0 {
            with_data += 1;
        }
        // Every request carried the key and was well formed (the fake answers 400 otherwise).
        for r in fake.requests() {
            assert_eq!(
                r.api_key.as_deref(),
                Some(KEY),
                "{}: {}",
                scenario.name,
                r.path
            );
            assert_eq!(r.status, 200, "{}: {} {}", scenario.name, r.path, r.body);
        }
        fixture.shutdown().await;
        http.shutdown().await;
    }
    assert!(compared >= 2 * scenarios.len(), "{compared} calls compared");
    assert!(
        with_data >= scenarios.len() / 2,
        "{with_data} scenarios with data"
    );
}

#[tokio::test]
async fn requests_use_the_real_metric_names_from_the_catalogue() {
    let dir = Path::new("fixtures/scenarios/db-pool-slow-query");
    let fake = FakeSignoz::start(dir, Some(KEY)).await;
    let toolbox = toolbox_over(live(&fake, Some(KEY), 5_000)).await;
    let out = call(
        &toolbox,
        "query_metrics",
        json!({"service": "accounts", "namespace": "prod", "metrics": [
            "http_server_request_rate", "http_server_error_ratio", "http_server_duration_p99",
            "container_memory_working_set_bytes", "signoz_calls_total"]}),
    )
    .await;
    let names: Vec<String> = metric_series(&out).into_iter().map(|s| s.metric).collect();
    assert!(
        names.contains(&"http_server_error_ratio".to_owned()),
        "{names:?}"
    );
    let bodies = fake.query_bodies();
    assert_eq!(bodies.len(), 1, "everything came from the metrics answer");
    let queries = bodies[0]["compositeQuery"]["queries"]
        .as_array()
        .expect("queries")
        .clone();
    let find = |name: &str| {
        queries
            .iter()
            .find(|q| q["spec"]["name"] == name)
            .unwrap_or_else(|| panic!("no query {name}"))
            .clone()
    };
    let rate = find("http_server_request_rate");
    assert_eq!(
        rate["spec"]["aggregations"][0]["metricName"],
        "signoz_calls_total"
    );
    assert_eq!(rate["spec"]["aggregations"][0]["timeAggregation"], "rate");
    assert_eq!(
        rate["spec"]["filter"]["expression"],
        "service.name = 'accounts' AND span.kind = 'SPAN_KIND_SERVER'"
    );
    let ratio = find("http_server_error_ratio");
    assert_eq!(ratio["type"], "builder_formula");
    assert_eq!(
        ratio["spec"]["expression"],
        "http_server_error_ratio__errors / http_server_error_ratio__calls"
    );
    let errors = find("http_server_error_ratio__errors");
    assert_eq!(errors["spec"]["disabled"], true);
    assert_eq!(
        errors["spec"]["aggregations"][0]["metricName"],
        "signoz_calls_total"
    );
    assert!(
        errors["spec"]["filter"]["expression"]
            .as_str()
            .expect("filter")
            .contains("status.code = 'STATUS_CODE_ERROR'")
    );
    assert_eq!(
        find("http_server_duration_p99")["spec"]["aggregations"][0]["metricName"],
        "signoz_latency.bucket"
    );
    let memory = find("container_memory_working_set_bytes");
    assert_eq!(
        memory["spec"]["aggregations"][0]["metricName"],
        "container.memory.working_set"
    );
    assert_eq!(
        memory["spec"]["filter"]["expression"],
        "k8s.deployment.name = 'accounts' AND k8s.namespace.name = 'prod'"
    );
    // `signoz_calls_total` is an alias of the request rate: asked once, not twice.
    assert_eq!(
        queries
            .iter()
            .filter(
                |q| q["spec"]["aggregations"][0]["metricName"] == "signoz_calls_total"
                    && q["spec"]["disabled"] != true
            )
            .count(),
        1
    );
    toolbox.shutdown().await;
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_a_clear_failure_that_never_shows_the_key() {
    let dir = Path::new("fixtures/scenarios/db-pool-slow-query");
    let fake = FakeSignoz::start(dir, Some(KEY)).await;
    let wrong = "sk-wrong-0d9e1b";
    let toolbox = toolbox_over(live(&fake, Some(wrong), 5_000)).await;
    let error = failure(call(&toolbox, "query_logs", json!({"service": "accounts"})).await);
    assert!(error.contains("SigNoz refused the API key"), "{error}");
    assert!(error.contains("401"), "{error}");
    assert!(!error.contains(wrong) && !error.contains(KEY), "{error}");
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.api_key.as_deref() == Some(wrong)),
        "the key is sent as SIGNOZ-API-KEY"
    );
    toolbox.shutdown().await;

    let toolbox = toolbox_over(live(&fake, None, 5_000)).await;
    let error = failure(
        call(
            &toolbox,
            "query_metrics",
            json!({"service": "accounts", "metrics": ["http_server_request_rate"]}),
        )
        .await,
    );
    assert!(
        error.contains("SigNoz refused the API key") && error.contains("no SIGNOZ_API_KEY is set"),
        "{error}"
    );
    toolbox.shutdown().await;
}

#[tokio::test]
async fn a_failing_signoz_fails_the_call_and_a_hanging_one_times_out() {
    let dir = Path::new("fixtures/scenarios/db-pool-slow-query");
    let fake = FakeSignoz::start(dir, Some(KEY)).await;
    let toolbox = toolbox_over(live(&fake, Some(KEY), 400)).await;
    fake.set_mode(Mode::Fail);
    let error = failure(call(&toolbox, "query_traces", json!({"service": "accounts"})).await);
    assert!(error.contains("SigNoz failed (HTTP 500"), "{error}");
    assert!(error.contains("the fake was told to fail"), "{error}");

    fake.set_mode(Mode::Hang);
    let error = failure(call(&toolbox, "query_logs", json!({"service": "accounts"})).await);
    assert!(
        error.contains("did not answer api/v5/query_range within 400 ms"),
        "{error}"
    );

    fake.set_mode(Mode::Html);
    let error = failure(call(&toolbox, "query_logs", json!({"service": "accounts"})).await);
    assert!(error.contains("not JSON (text/html"), "{error}");

    // Back to normal: the same toolbox answers again.
    fake.set_mode(Mode::Normal);
    let out = call(&toolbox, "query_logs", json!({"service": "accounts"})).await;
    assert!(matches!(out, ToolOutcome::Data { .. }), "{out:?}");
    toolbox.shutdown().await;
}

#[tokio::test]
async fn a_wrong_base_path_names_the_missing_path() {
    let dir = Path::new("fixtures/scenarios/db-pool-slow-query");
    let fake = FakeSignoz::start(dir, None).await;
    let url = fake.url().join("not-signoz/").expect("url");
    let backend = SignozHttp::new(http_client(), &settings(5_000), url, None).expect("backend");
    let toolbox = toolbox_over(Arc::new(backend)).await;
    let error = failure(call(&toolbox, "query_logs", json!({"service": "accounts"})).await);
    assert!(
        error.contains("SigNoz has no api/v5/query_range (HTTP 404)"),
        "{error}"
    );
    toolbox.shutdown().await;
}

/// A scenario directory whose recorded data says `service.name = users`.
fn users_scenario() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = Path::new("fixtures/scenarios/db-pool-slow-query/signoz");
    std::fs::create_dir_all(tmp.path().join("signoz")).expect("mkdir");
    for file in ["logs.json", "traces.json", "metrics.json"] {
        let text = std::fs::read_to_string(src.join(file)).expect("read");
        std::fs::write(
            tmp.path().join("signoz").join(file),
            text.replace("\"accounts\"", "\"users\""),
        )
        .expect("write");
    }
    tmp
}

#[tokio::test]
async fn an_alert_service_name_is_mapped_to_the_name_signoz_knows() {
    let tmp = users_scenario();
    let fake = FakeSignoz::start(tmp.path(), Some(KEY)).await;
    assert!(fake.service_names().contains(&"users".to_owned()));
    let backend = live(&fake, Some(KEY), 5_000);

    // Through an MCP client of the tool server itself, to read the whole answer.
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let server = SignozServer::with_catalogue(
        backend.clone(),
        Arc::new(MetricCatalogue::builtin().clone()),
    );
    let task = tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    let client = ().serve(client_io).await.expect("client");
    let args = json!({"service": "user-service", "severity": "WARN"});
    let result = client
        .peer()
        .call_tool(
            CallToolRequestParams::new("query_logs")
                .with_arguments(args.as_object().expect("object").clone()),
        )
        .await
        .expect("call");
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let texts: Vec<String> = result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("SigNoz knows service `user-service` as `users`")),
        "{texts:?}"
    );
    let body = fake.query_bodies().pop().expect("a query");
    let filter = body["compositeQuery"]["queries"][0]["spec"]["filter"]["expression"]
        .as_str()
        .expect("filter")
        .to_owned();
    assert!(filter.starts_with("service.name = 'users'"), "{filter}");

    // Metrics and traces too; the service list is asked once and then cached.
    let toolbox = toolbox_over(backend).await;
    let out = call(
        &toolbox,
        "query_traces",
        json!({"service": "user-service", "only_errors": false}),
    )
    .await;
    assert!(matches!(out, ToolOutcome::Data { .. }), "{out:?}");
    let out = call(
        &toolbox,
        "query_metrics",
        json!({"service": "user_service", "metrics": ["http_server_request_rate"]}),
    )
    .await;
    assert_eq!(metric_series(&out)[0].labels["service.name"], "users");
    let bodies = fake.query_bodies();
    assert!(
        bodies
            .iter()
            .all(|b| b.to_string().contains("service.name = 'users'")),
        "{bodies:?}"
    );
    let service_lists = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/services")
        .count();
    assert_eq!(service_lists, 1, "the service list is cached");
    let sl = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v1/services")
        .expect("services request");
    assert_eq!(sl.method, "POST");
    assert_eq!(sl.status, 200, "{}", sl.body);
    toolbox.shutdown().await;
    drop(client);
    task.abort();
}

/// Spans of `service` from a recorded traces file: (bucket ms, kind, has_error, duration ms).
fn spans_of(path: &Path, service: &str) -> Vec<(i64, String, bool, f64)> {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    v.pointer("/data/data/results/0/rows")
        .and_then(Value::as_array)
        .expect("rows")
        .iter()
        .filter(|r| r["data"]["service.name"] == service)
        .map(|r| {
            let ms = chrono::DateTime::parse_from_rfc3339(r["timestamp"].as_str().expect("ts"))
                .expect("rfc3339")
                .timestamp_millis();
            (
                ms - ms.rem_euclid(60_000),
                r["data"]["kind_string"].as_str().unwrap_or("").to_owned(),
                r["data"]["has_error"].as_bool().unwrap_or(false),
                r["data"]["duration_nano"].as_f64().expect("duration") / 1e6,
            )
        })
        .collect()
}

#[tokio::test]
async fn request_rate_error_ratio_and_p99_come_from_spans_when_signoz_has_no_metrics() {
    let src = Path::new("fixtures/scenarios/db-pool-slow-query/signoz/traces.json");
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(tmp.path().join("signoz")).expect("mkdir");
    std::fs::copy(src, tmp.path().join("signoz/traces.json")).expect("copy");
    let fake = FakeSignoz::start(tmp.path(), Some(KEY)).await;
    let toolbox = toolbox_over(live(&fake, Some(KEY), 5_000)).await;
    let out = call(
        &toolbox,
        "query_metrics",
        json!({"service": "accounts", "metrics": [
            "http_server_request_rate", "http_server_error_ratio", "http_server_duration_p99",
            "mongodb_pool_in_use"]}),
    )
    .await;
    let series = metric_series(&out);
    let get = |name: &str| {
        series
            .iter()
            .find(|s| s.metric == name)
            .unwrap_or_else(|| panic!("no {name} in {series:?}"))
    };
    let server: Vec<(i64, String, bool, f64)> = spans_of(src, "accounts")
        .into_iter()
        .filter(|s| s.1 == "Server")
        .collect();
    assert!(!server.is_empty());
    // rate() per 60 s step: the points add up to the server spans.
    let total: f64 = get("http_server_request_rate")
        .points
        .iter()
        .map(|p| p.value * 60.0)
        .sum();
    assert!((total - server.len() as f64).abs() < 1e-9, "{total}");
    // Error ratio per step = errors / calls of that minute.
    for p in &get("http_server_error_ratio").points {
        let minute: Vec<_> = server
            .iter()
            .filter(|s| s.0 == p.timestamp.timestamp_millis())
            .collect();
        let errors = minute.iter().filter(|s| s.2).count() as f64;
        assert!(
            (p.value - errors / minute.len() as f64).abs() < 1e-9,
            "{p:?}"
        );
    }
    assert!(
        get("http_server_error_ratio")
            .points
            .iter()
            .any(|p| p.value > 0.0),
        "the scenario has failing server spans"
    );
    // p99 in ms, within the server spans' durations.
    let (lo, hi) = server
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), s| (lo.min(s.3), hi.max(s.3)));
    for p in &get("http_server_duration_p99").points {
        assert!(p.value >= lo && p.value <= hi, "{p:?} outside {lo}..{hi}");
    }
    assert!(
        series.iter().all(|s| s.metric != "mongodb_pool_in_use"),
        "no span source for the pool"
    );
    // One metrics request, then one traces aggregation for the three RED keys.
    let bodies = fake.query_bodies();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let traces = &bodies[1];
    assert_eq!(traces["requestType"], "time_series");
    let queries = traces["compositeQuery"]["queries"]
        .as_array()
        .expect("queries");
    assert!(
        queries
            .iter()
            .filter(|q| q["type"] == "builder_query")
            .all(|q| q["spec"]["signal"] == "traces")
    );
    let expressions: Vec<&str> = queries
        .iter()
        .filter_map(|q| q["spec"]["aggregations"][0]["expression"].as_str())
        .collect();
    assert!(expressions.contains(&"rate()"), "{expressions:?}");
    assert!(
        expressions.contains(&"p99(duration_nano)"),
        "{expressions:?}"
    );
    toolbox.shutdown().await;
}

#[tokio::test]
async fn probe_and_environment() {
    let tmp = users_scenario();
    let fake = FakeSignoz::start(tmp.path(), Some(KEY)).await;
    let url = fake.url().to_string();
    let env = |k: &str| match k {
        "SIGNOZ_URL" => Some(url.clone()),
        "SIGNOZ_API_KEY" => Some(KEY.to_owned()),
        _ => None,
    };
    let backend = SignozHttp::from_env(http_client(), &SignozSettings::default(), env)
        .expect("ok")
        .expect("configured");
    let probe = backend.probe().await.expect("probe");
    let n = fake.service_names().len();
    assert!(n >= 1);
    assert!(
        probe.starts_with(&format!("ok, {n} service")) && probe.contains(" at http://127.0.0.1:"),
        "{probe}"
    );
    assert!(!probe.contains(KEY));

    let no_key = |k: &str| (k == "SIGNOZ_URL").then(|| url.clone());
    let backend = SignozHttp::from_env(http_client(), &SignozSettings::default(), no_key)
        .expect("ok")
        .expect("configured");
    let err = backend.probe().await.expect_err("401");
    assert!(
        err.to_string().contains("SigNoz refused the API key"),
        "{err}"
    );

    let none =
        SignozHttp::from_env(http_client(), &SignozSettings::default(), |_| None).expect("ok");
    assert!(none.is_none(), "no URL, no backend");
}
