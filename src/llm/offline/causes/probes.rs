//! Probe failures: a liveness probe that fails makes the kubelet kill and restart the container
//! (exit 137/143, not an OOM kill); a readiness probe that fails takes the pod out of its
//! Service's endpoints. The reason is what the probe endpoint depends on: its log's error
//! class, when the evidence has one, or a probe timeout shorter than the app's pauses.

use super::{Facts, base_score, cite, note_rollout, pod_name};
use crate::findings::LogClass;
use crate::llm::offline::common::{Finding, quote};

/// The error class the pod's log shows, as a reason for a failing probe.
fn log_reason(facts: &Facts<'_>, pod: &str) -> Option<(LogClass, String)> {
    facts
        .last_error_line(pod)
        .map(|(class, l)| (class, quote(l, 200)))
}

/// Whether the kubelet's message says the probe timed out (rather than answered an error).
fn timed_out(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("timeout") || m.contains("deadline exceeded") || m.contains("timed out")
}

/// Liveness probe failures: the kubelet restarts the container.
pub(crate) fn liveness_failing(facts: &Facts<'_>) -> Vec<Finding> {
    let found = facts.target_first(facts.with(&["liveness_probe_failed"]));
    let Some(f) = found.first() else {
        return Vec::new();
    };
    let pod = pod_name(&f.subject);
    let message = f.cites.first().cloned().unwrap_or_default();
    let killed = facts
        .with(&["terminated_sigterm", "killed_sigkill"])
        .into_iter()
        .find(|t| t.subject == f.subject);
    let why = if timed_out(&message) {
        "the probe does not answer within its timeoutSeconds: the process is alive but stalls (a blocked event loop, GC pauses, a slow dependency on the probe path)".to_string()
    } else if let Some((class, line)) = log_reason(facts, pod) {
        format!(
            "the probe endpoint fails while the log reports {}: \"{line}\"",
            class.words()
        )
    } else {
        "the probe endpoint answers an error".to_string()
    };
    let mut c = Finding::new("general-liveness", format!("{pod}: liveness probe fails"));
    c.score = base_score(f.strength) + if killed.is_some() { 0.13 } else { 0.0 };
    cite(&mut c, f);
    if let Some(k) = killed {
        c.for_(format!("effect: {}", k.detail));
    }
    c.root_cause = format!(
        "The liveness probe of {pod} fails and the kubelet kills and restarts the container (not an OOM kill): {why}. The kubelet says: {}.",
        quote(&message, 200)
    );
    c.summary = format!("{pod} restarts because its liveness probe fails.");
    note_rollout(&mut c, facts);
    let ns = facts.ns_of_pod(pod);
    let ns = ns.as_deref();
    let obj = facts.object_ref().unwrap_or_else(|| format!("pod/{pod}"));
    c.cmd(
        "The probe's settings (timeoutSeconds, periodSeconds, failureThreshold)",
        facts.kubectl(ns, &format!("get {obj} -o jsonpath='{{..livenessProbe}}'")),
    );
    c.cmd(
        "Probe failures and kills in the pod's events",
        facts.kubectl(ns, &format!("describe pod {pod}")),
    );
    c.step("Raise the probe's timeoutSeconds/failureThreshold above the app's longest pause, and keep the probe path free of slow work");
    vec![c]
}

/// Readiness probe failures: the pod is running but out of its Service's endpoints.
pub(crate) fn readiness_failing(facts: &Facts<'_>) -> Vec<Finding> {
    let found = facts.target_first(facts.with(&["readiness_probe_failed", "startup_probe_failed"]));
    let Some(f) = found.first() else {
        return Vec::new();
    };
    let pod = pod_name(&f.subject);
    let message = f.cites.first().cloned().unwrap_or_default();
    let reason = log_reason(facts, pod).filter(|(c, _)| *c != LogClass::SlowOperation);
    let (score, why) = match &reason {
        Some((class, line)) => (
            0.8,
            format!("its log reports {}: \"{line}\"", class.words()),
        ),
        None if timed_out(&message) => (
            0.6,
            "the probe times out: the app is too slow to answer on the probe path".to_string(),
        ),
        None => (
            0.55,
            "the evidence does not show what the probe's check depends on".to_string(),
        ),
    };
    let mut c = Finding::new("general-readiness", format!("{pod}: readiness probe fails"));
    c.score = score;
    cite(&mut c, f);
    c.root_cause = format!(
        "The readiness probe of {pod} fails, so the pod is out of its Service's endpoints: {why}. The kubelet says: {}.",
        quote(&message, 200)
    );
    c.summary = format!("{pod} is not ready: {}.", quote(&why, 120));
    note_rollout(&mut c, facts);
    let ns = facts.ns_of_pod(pod);
    let ns = ns.as_deref();
    c.cmd(
        "Probe failures in the pod's events",
        facts.kubectl(ns, &format!("describe pod {pod}")),
    );
    c.cmd(
        "What the app logs while not ready",
        facts.kubectl(ns, &format!("logs {pod} --tail=200")),
    );
    vec![c]
}
