//! Every shipped scenario's alert routes to its expected agent (parse → route only, no tools),
//! with the parsed fields the tools need.

use std::path::Path;

use sre_agent::alert::Intake;
use sre_agent::config::LoadedConfig;
use sre_agent::router::Router;
use sre_agent::scenario::Scenario;
use sre_agent::tools::TOOL_NAMES;

#[test]
fn every_scenario_routes_to_its_agent_and_names_its_service() {
    let config = LoadedConfig::load(Some(Path::new("agents.yaml")), TOOL_NAMES).expect("config");
    let router = Router::new(&config.config.agents, &config.config.default_agent).expect("router");
    let mut wrong = Vec::new();
    for s in Scenario::all_in(Path::new("fixtures/scenarios")).expect("scenarios") {
        let expect = s.expect.clone().expect("expect.yaml");
        let Intake::Alert(alert) = s.intake().expect("parses") else {
            panic!("{} is not an alert", s.name);
        };
        let route = router.route(&alert);
        println!(
            "{:<28} {:<12} service={:?} ns={:?} host={:?} -> {} ({})",
            s.name,
            alert.source.to_string(),
            alert.service,
            alert.namespace,
            alert.host,
            route.agent,
            route.score
        );
        if route.agent != expect.agent {
            wrong.push(format!("{}: {} ({:?})", s.name, route.agent, route.why));
        }
        let node_level = s.name.contains("disk-full") || s.name.contains("node-memory");
        assert!(
            alert.service.is_some() || alert.host.is_some() || node_level,
            "{}: neither service nor host parsed",
            s.name
        );
    }
    assert!(wrong.is_empty(), "misrouted:\n{}", wrong.join("\n"));
}
