//! The shipped scenarios' alerts still parse as they did before the intake rework.
//!
//! `tests/data/fixture_intake_pins.json` was computed from main (commit fc2ecca) before the
//! parsers changed: per scenario the source, status, title, service, namespace, host, severity,
//! fingerprint, routed agent and labels. Everything but the labels must be equal. Labels may only
//! grow, except for the few listed in `DROPPED`, each with its reason.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use sre_agent::alert::Intake;
use sre_agent::config::LoadedConfig;
use sre_agent::router::Router;
use sre_agent::scenario::Scenario;
use sre_agent::tools::TOOL_NAMES;

/// Labels the old parser invented and the new one no longer does: (scenario, key, why).
const DROPPED: &[(&str, &str, &str)] = &[
    (
        "db-pool-traffic-spike",
        "env",
        "`prod` in Grafana's title is the namespace label's value, not an `env` label",
    ),
    (
        "k8s-image-pull",
        "env",
        "`prod` in Grafana's title is the namespace label's value",
    ),
    (
        "res-cpu-throttling",
        "env",
        "`prod` in Grafana's title is the namespace label's value",
    ),
    (
        "tls-chain-incomplete",
        "env",
        "`prod` in Grafana's title is the namespace label's value",
    ),
    (
        "res-cpu-throttling",
        "container",
        "`container: limit` came from the prose \"near the container limit\"",
    ),
];

#[test]
fn scenario_alerts_parse_as_before() {
    let pins: BTreeMap<String, Value> = serde_json::from_str(
        &std::fs::read_to_string("tests/data/fixture_intake_pins.json").expect("pins"),
    )
    .expect("pins JSON");
    let config = LoadedConfig::load(Some(Path::new("agents.yaml")), TOOL_NAMES).expect("config");
    let router = Router::new(&config.config.agents, &config.config.default_agent).expect("router");
    let scenarios = Scenario::all_in(Path::new("fixtures/scenarios")).expect("scenarios");
    assert_eq!(scenarios.len(), pins.len(), "one pin per scenario");
    let mut problems = Vec::new();
    for s in &scenarios {
        let pin = pins
            .get(&s.name)
            .unwrap_or_else(|| panic!("no pin for {}", s.name));
        let Ok(Intake::Alert(a)) = s.intake() else {
            panic!("{}: not an alert", s.name)
        };
        let now = serde_json::json!({
            "source": a.source, "status": a.status, "title": a.title,
            "service": a.service, "namespace": a.namespace, "host": a.host,
            "severity": a.severity, "fingerprint": a.fingerprint,
            "agent": router.route(&a).agent,
        });
        for field in [
            "source",
            "status",
            "title",
            "service",
            "namespace",
            "host",
            "severity",
            "fingerprint",
            "agent",
        ] {
            if now[field] != pin[field] {
                problems.push(format!(
                    "{}: {field} was {} and is now {}",
                    s.name, pin[field], now[field]
                ));
            }
        }
        let old = pin["labels"].as_object().expect("labels");
        for (k, v) in old {
            let dropped = DROPPED.iter().any(|(n, key, _)| *n == s.name && key == k);
            match a.labels.get(k) {
                Some(now) if Some(now.as_str()) == v.as_str() => {}
                None if dropped => {}
                other => problems.push(format!(
                    "{}: label {k} was {v} and is now {other:?}",
                    s.name
                )),
            }
        }
    }
    for (name, key, why) in DROPPED {
        assert!(
            pins[*name]["labels"].get(key).is_some(),
            "{name}/{key} is listed as dropped but was never there ({why})"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
