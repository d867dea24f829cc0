//! The shipped scenarios through the library's eval: routing, root causes, coverage.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use sre_agent::agent::Engine;
use sre_agent::alert::Intake;
use sre_agent::config::LoadedConfig;
use sre_agent::llm::offline::OfflineReasoner;
use sre_agent::scenario::{self, Scenario};
use sre_agent::tools::{TOOL_NAMES, Toolbox, fixture::fixture_backends};

async fn engine() -> Engine {
    let config = LoadedConfig::load(Some(Path::new("agents.yaml")), TOOL_NAMES).expect("config");
    let toolbox = Toolbox::start(fixture_backends(None).expect("backends"))
        .await
        .expect("toolbox");
    Engine::new(
        Arc::new(config),
        Arc::new(toolbox),
        Arc::new(OfflineReasoner),
    )
    .expect("engine")
}

#[tokio::test]
async fn every_scenario_routes_right_and_most_find_the_root_cause() {
    let engine = engine().await;
    let report = scenario::eval(&engine, Path::new("fixtures/scenarios"))
        .await
        .expect("eval");
    println!("{}", report.table());
    assert!(report.rows.len() >= 20, "at least 20 scenarios");
    for row in &report.rows {
        assert!(
            row.routed_ok,
            "{} routed to {} instead of {}",
            row.name, row.agent, row.expected_agent
        );
    }
    assert_eq!(report.routing_accuracy, 1.0);
    assert!(
        report.root_cause_hit_rate >= 0.9,
        "root cause hit rate {}",
        report.root_cause_hit_rate
    );
    assert!(
        report.contains_rate >= 0.9,
        "reply words {}",
        report.contains_rate
    );
    assert!(report.passed);
}

#[test]
fn scenarios_cover_every_agent_and_every_source() {
    let scenarios = Scenario::all_in(Path::new("fixtures/scenarios")).expect("scenarios");
    let mut agents = BTreeSet::new();
    let mut sources = BTreeSet::new();
    for s in &scenarios {
        let expect = s.expect.as_ref().expect("every scenario has expect.yaml");
        agents.insert(expect.agent.clone());
        match s.intake().expect("alert.json parses") {
            Intake::Alert(alert) => {
                sources.insert(alert.source.to_string());
            }
            Intake::Ignored(i) => panic!("{}: alert.json is not an alert: {:?}", s.name, i),
        }
    }
    assert_eq!(
        agents.into_iter().collect::<Vec<_>>(),
        ["database", "kubernetes", "network", "resource"]
    );
    assert_eq!(
        sources.into_iter().collect::<Vec<_>>(),
        ["alertmanager", "datadog", "grafana", "signoz", "text"]
    );
}
