//! Alerts about the alerting pipeline itself, not about a workload.
//!
//! kube-prometheus ships `Watchdog`, an alert whose expression is `vector(1)`: it fires all the
//! time, by design, so that a dead man's switch outside the cluster (PagerDuty's DeadMansSnitch,
//! Healthchecks.io, Opsgenie heartbeats) notices when it *stops* arriving. `InfoInhibitor` fires
//! whenever an `info` alert fires, only to inhibit it; both are meant for a null or heartbeat
//! receiver. Receiving one in a team's channel means nothing is broken in a workload: an
//! Alertmanager route sends it to the wrong receiver. If the heartbeat stops, the pipeline
//! (Prometheus, Alertmanager, or the route to the switch) is what is broken.

use super::Facts;
use crate::llm::offline::common::Finding;

/// Alert names that fire all the time by design (heartbeats and inhibitor helpers).
const ALWAYS_FIRING: &[&str] = &[
    "watchdog",
    "deadmansswitch",
    "deadmanssnitch",
    "infoinhibitor",
];

/// Whether the alert is a heartbeat of the alerting pipeline: its `alertname` is one of the
/// always-firing names.
fn heartbeat_name(facts: &Facts<'_>) -> Option<String> {
    let alert = facts.ctx.alert;
    alert
        .labels
        .get("alertname")
        .into_iter()
        .chain(alert.group.iter().filter_map(|g| g.labels.get("alertname")))
        .find(|n| ALWAYS_FIRING.contains(&n.to_ascii_lowercase().as_str()))
        .cloned()
}

/// The always-firing heartbeat (or inhibitor) alert delivered to a channel.
pub(crate) fn heartbeat_alert(facts: &Facts<'_>) -> Vec<Finding> {
    let Some(name) = heartbeat_name(facts) else {
        return Vec::new();
    };
    let inhibitor = name.eq_ignore_ascii_case("infoinhibitor");
    let mut c = Finding::new(
        "general-heartbeat",
        format!("{name} is the alerting pipeline's always-firing alert, not a fault"),
    );
    c.score = 0.93;
    c.for_(format!(
        "alertname {name}: an alert that fires all the time by design (kube-prometheus)"
    ));
    c.root_cause = if inhibitor {
        format!(
            "Nothing is broken: {name} fires whenever an info-level alert fires, only so that Alertmanager can inhibit it; it is a helper of the alerting pipeline, not a heartbeat of a workload. It reaches this channel because an Alertmanager route sends it to this receiver instead of a null receiver."
        )
    } else {
        format!(
            "Nothing is broken: {name} is the heartbeat of the alerting pipeline. It fires all the time by design, so that a dead man's switch outside the cluster notices when it stops (then Prometheus, Alertmanager or the route to the switch is down). It reaches this channel because an Alertmanager route sends it to this receiver: route it to the heartbeat (dead man's switch) receiver or a null receiver."
        )
    };
    c.summary = format!(
        "{name} is the always-firing heartbeat of the alerting pipeline, routed to this channel by mistake; no workload is at fault."
    );
    c.step(format!(
        "Route alertname={name} to the dead man's switch (or a null) receiver in the Alertmanager configuration, above the route that matches this channel"
    ));
    c.cmd(
        "Which receiver Alertmanager routes it to",
        format!("amtool config routes test --config.file=alertmanager.yaml alertname={name}"),
    );
    c.step("Keep an alert on the heartbeat's absence (the dead man's switch), not on its presence");
    c.prevent(format!(
        "Test route changes with `amtool config routes test alertname={name}` in CI, so the heartbeat never reaches a team channel"
    ));
    vec![c]
}
