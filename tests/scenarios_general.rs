//! `fixtures/scenarios-general`: the exam of alerts the analyzer has never seen (issue 7).
//!
//! The analyzer is not expected to pass it yet (its score is recorded in BASELINE.md, not
//! asserted here). What must always hold is that the exam itself is sound: every scenario loads,
//! its `expect.yaml` parses, its Slack event parses, every data file is one the fixture backends
//! know and decodes through them, and the recorded times sit around the alert.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sre_agent::alert::{IgnoreReason, Intake};
use sre_agent::scenario::Scenario;
use sre_agent::tools::SignozBackend;
use sre_agent::tools::fixture::FixtureStore;
use sre_agent::tools::signoz::catalogue::MetricCatalogue;
use sre_agent::tools::signoz::decode::{decode_logs, decode_metrics, decode_traces};

const ROOT: &str = "fixtures/scenarios-general";
const AGENTS: [&str; 4] = ["database", "kubernetes", "network", "resource"];
const KUBE_LISTS: [&str; 12] = [
    "pods",
    "events",
    "services",
    "endpoints",
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
    "jobs",
    "cronjobs",
    "endpointslices",
    "nodes",
];

fn scenario_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(ROOT)
        .expect("fixtures/scenarios-general")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Every file under `dir`, relative to it, with `/` separators.
fn files_of(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("under dir");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// Whether `rel` is a file of the scenario layout (fixtures/README.md).
fn known_file(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        ["alert.json" | "expect.yaml"] => true,
        ["signoz", "logs.json" | "metrics.json" | "traces.json"] => true,
        ["slack", "replies.json" | "channel.json"] => true,
        ["kubernetes", "logs", name] => name.ends_with(".log"),
        ["kubernetes", name] => name
            .strip_suffix(".json")
            .is_some_and(|k| KUBE_LISTS.contains(&k)),
        ["network", "tls" | "dns", name] => name.ends_with(".json"),
        _ => false,
    }
}

/// The time the alert was posted: the Slack event's `ts`.
fn posted_at(alert_json: &str) -> DateTime<Utc> {
    let v: Value = serde_json::from_str(alert_json).expect("alert.json is JSON");
    let event = v
        .pointer("/payload/event")
        .or_else(|| v.get("event"))
        .unwrap_or(&v);
    let ts = event["ts"].as_str().expect("event ts");
    let secs: i64 = ts.split('.').next().expect("secs").parse().expect("ts");
    DateTime::from_timestamp(secs, 0).expect("time")
}

fn query(signal: &str, request_type: &str) -> Value {
    json!({"requestType": request_type, "compositeQuery": {"queries": [
        {"type": "builder_query", "spec": {"name": "A", "signal": signal}}]}})
}

fn time_of(v: &Value) -> Option<DateTime<Utc>> {
    let s = v.as_str()?;
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[test]
fn there_are_enough_general_scenarios_and_each_loads_with_its_expectation() {
    let dirs = scenario_dirs();
    let scenarios = Scenario::all_in(Path::new(ROOT)).expect("every scenario loads");
    assert_eq!(
        scenarios.len(),
        dirs.len(),
        "a directory without alert.json"
    );
    assert!(scenarios.len() >= 25, "{} scenarios", scenarios.len());
    let mut agents = BTreeSet::new();
    let mut capped = 0;
    for s in &scenarios {
        let expect = s
            .expect
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no expect.yaml", s.name));
        assert!(
            AGENTS.contains(&expect.agent.as_str()),
            "{}: agent {}",
            s.name,
            expect.agent
        );
        agents.insert(expect.agent.clone());
        if let Some(max) = expect.max_confidence {
            assert!((0.0..=1.0).contains(&max), "{}: max_confidence", s.name);
            capped += 1;
        } else {
            assert!(
                !expect.root_cause.is_empty(),
                "{}: a scenario with evidence names its root cause",
                s.name
            );
        }
        let text = std::fs::read_to_string(Path::new(ROOT).join(&s.name).join("expect.yaml"))
            .expect("expect.yaml");
        assert!(
            text.starts_with("# source: http"),
            "{}: expect.yaml starts with a `# source:` URL",
            s.name
        );
    }
    assert_eq!(agents.into_iter().collect::<Vec<_>>(), AGENTS);
    assert!(capped >= 2, "scenarios without evidence: {capped}");
}

#[test]
fn every_general_alert_parses_as_an_alert_or_an_app_mention() {
    for s in Scenario::all_in(Path::new(ROOT)).expect("scenarios") {
        match s.intake() {
            Ok(Intake::Alert(alert)) => {
                assert!(!alert.title.is_empty(), "{}: empty title", s.name)
            }
            // The bot does not read app_mention events yet: the scenario is written as people
            // post it anyway, and fails until it does.
            Ok(Intake::Ignored(i)) => {
                assert_eq!(i.reason, IgnoreReason::NotAMessage, "{}: {:?}", s.name, i);
                assert!(i.detail.contains("app_mention"), "{}: {:?}", s.name, i);
            }
            Err(e) => panic!("{}: alert.json does not parse: {e}", s.name),
        }
    }
}

#[tokio::test]
async fn every_data_file_is_known_and_decodes_through_the_fixture_backends() {
    let catalogue = MetricCatalogue::builtin();
    for dir in scenario_dirs() {
        let name = dir.file_name().expect("name").to_string_lossy().to_string();
        for rel in files_of(&dir) {
            assert!(known_file(&rel), "{name}: {rel} is not a scenario file");
        }
        let store = FixtureStore::load(&dir).expect("load");
        let errors = store.decode_errors();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        if let Some(logs) = store.query_range(query("logs", "raw")).await.expect("logs") {
            let rows = decode_logs(&logs, 1000).unwrap_or_else(|e| panic!("{name}: logs: {e}"));
            assert!(!rows.is_empty(), "{name}: signoz/logs.json has no rows");
        }
        if let Some(traces) = store
            .query_range(query("traces", "raw"))
            .await
            .expect("traces")
        {
            let spans =
                decode_traces(&traces, "", 1000).unwrap_or_else(|e| panic!("{name}: traces: {e}"));
            assert!(!spans.is_empty(), "{name}: signoz/traces.json has no spans");
        }
        if let Some(metrics) = store
            .query_range(query("metrics", "time_series"))
            .await
            .expect("metrics")
        {
            let series = decode_metrics(&metrics, &[], catalogue)
                .unwrap_or_else(|e| panic!("{name}: metrics: {e}"));
            assert!(
                !series.is_empty(),
                "{name}: signoz/metrics.json has no series"
            );
            for result in metrics
                .pointer("/data/data/results")
                .and_then(Value::as_array)
                .expect("results")
            {
                let q = result["queryName"].as_str().expect("queryName");
                assert!(
                    catalogue.key_of(q).is_some(),
                    "{name}: metric {q} is neither a catalogue key nor an alias"
                );
            }
        }
    }
}

#[test]
fn recorded_times_sit_around_the_alert() {
    let slack = Duration::minutes(5);
    let signoz_window = Duration::hours(3);
    for dir in scenario_dirs() {
        let name = dir.file_name().expect("name").to_string_lossy().to_string();
        let at = posted_at(&std::fs::read_to_string(dir.join("alert.json")).expect("alert"));
        let late = |t: DateTime<Utc>, what: &str| {
            assert!(
                t <= at + slack,
                "{name}: {what} at {t} is after the alert ({at})"
            );
        };
        // SigNoz answers a window before the alert.
        for file in ["logs", "traces", "metrics"] {
            let path = dir.join(format!("signoz/{file}.json"));
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let v: Value = serde_json::from_str(&text).expect("json");
            for result in v["data"]["data"]["results"].as_array().expect("results") {
                let mut times: Vec<DateTime<Utc>> = Vec::new();
                for row in result["rows"].as_array().into_iter().flatten() {
                    times.push(time_of(&row["timestamp"]).expect("row timestamp"));
                }
                for agg in result["aggregations"].as_array().into_iter().flatten() {
                    for series in agg["series"].as_array().into_iter().flatten() {
                        for p in series["values"].as_array().into_iter().flatten() {
                            let ms = p["timestamp"].as_i64().expect("point timestamp");
                            times.push(DateTime::from_timestamp_millis(ms).expect("ms"));
                        }
                    }
                }
                for t in times {
                    late(t, &format!("signoz/{file}.json"));
                    assert!(
                        t >= at - signoz_window,
                        "{name}: signoz/{file}.json at {t} is more than 3 h before the alert"
                    );
                }
            }
        }
        // Pod logs carry the RFC 3339 prefix of `timestamps=true`.
        let logs = dir.join("kubernetes/logs");
        let log_files = if logs.is_dir() {
            files_of(&logs)
        } else {
            Vec::new()
        };
        for rel in log_files {
            let text = std::fs::read_to_string(logs.join(&rel)).expect("log");
            for line in text.lines() {
                let stamp = line.split(' ').next().unwrap_or_default();
                let t = time_of(&json!(stamp))
                    .unwrap_or_else(|| panic!("{name}: {rel}: no timestamp in {line:?}"));
                late(t, &rel);
            }
        }
        // Events happened before the alert.
        if let Ok(text) = std::fs::read_to_string(dir.join("kubernetes/events.json")) {
            let v: Value = serde_json::from_str(&text).expect("json");
            for e in v["items"].as_array().expect("items") {
                let first = time_of(&e["firstTimestamp"]).expect("firstTimestamp");
                let last = time_of(&e["lastTimestamp"]).expect("lastTimestamp");
                assert!(first <= last, "{name}: event {} ends first", e["reason"]);
                late(last, &format!("event {}", e["reason"]));
            }
        }
    }
}
