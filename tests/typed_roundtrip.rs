//! What the bot sees of an alert: slack-morphism decodes every pushed event into its typed model
//! before our callback runs, and the bot re-encodes that model for the parser. This checks that
//! the round trip keeps what the analysis needs (source, status, service, namespace, host,
//! fingerprint, route) for every shipped scenario's alert.

use std::path::Path;

use slack_morphism::prelude::SlackEventCallbackBody;
use sre_agent::alert::{Intake, parse_slack_value};
use sre_agent::config::LoadedConfig;
use sre_agent::router::Router;
use sre_agent::scenario::{AlertInput, Scenario};
use sre_agent::tools::TOOL_NAMES;

#[test]
fn typed_round_trip_keeps_what_the_analysis_needs() {
    let config = LoadedConfig::load(Some(Path::new("agents.yaml")), TOOL_NAMES).expect("config");
    let router = Router::new(&config.config.agents, &config.config.default_agent).expect("router");
    let mut differences = Vec::new();
    for s in Scenario::all_in(Path::new("fixtures/scenarios")).expect("scenarios") {
        let AlertInput::SlackJson(json) = &s.input else {
            continue;
        };
        let raw: serde_json::Value = serde_json::from_str(json).expect("json");
        let event = raw.pointer("/payload/event").cloned().unwrap_or(raw);
        let typed: SlackEventCallbackBody =
            serde_json::from_value(event.clone()).expect("slack-morphism decodes the event");
        let reencoded = match typed {
            SlackEventCallbackBody::Unknown(v) => v,
            other => serde_json::to_value(&other).expect("encodes"),
        };
        let parse = |v: &serde_json::Value| match parse_slack_value(v) {
            Ok(Intake::Alert(a)) => *a,
            other => panic!("{}: not an alert: {other:?}", s.name),
        };
        let direct = parse(&event);
        let via_bot = parse(&reencoded);
        let fields = |a: &sre_agent::alert::Alert| {
            (
                a.source,
                a.status,
                a.service.clone(),
                a.namespace.clone(),
                a.host.clone(),
                a.fingerprint.clone(),
                router.route(a).agent,
            )
        };
        if fields(&direct) != fields(&via_bot) {
            differences.push(format!(
                "{}:\n  direct  {:?}\n  via bot {:?}",
                s.name,
                fields(&direct),
                fields(&via_bot)
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
