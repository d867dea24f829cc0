//! Node failures: a node NotReady (the kubelet stopped posting status), and node pressure
//! (DiskPressure, MemoryPressure) with the evictions it causes — the evicted pod that used the
//! most is named, as the kubelet's eviction message does.
//!
//! [`detect_node_not_ready`] is the Kubernetes agent's detector of a node NotReady, read from the
//! node events and the pods on the node directly.

use super::{Facts, cite};
use crate::evidence::PodState;
use crate::llm::offline::common::{Ctx, Finding, contains_ci, hm, plural, quote};

/// Usage from which an evicted container counts as the consumer (1 GiB).
const BIG_USE: f64 = 1024.0 * 1024.0 * 1024.0;

/// Bytes a container used per the kubelet's eviction message (`Container x was using 61Gi`).
pub(crate) fn used_in_eviction(message: &str) -> Option<f64> {
    let i = message.find("was using ")?;
    let q: String = message[i + "was using ".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    crate::llm::offline::resource::parse_quantity(&q)
}

/// A node NotReady, with the condition's message (`Kubelet stopped posting node status`).
pub(crate) fn node_not_ready(facts: &Facts<'_>) -> Vec<Finding> {
    // The node controller also writes NodeNotReady on each pod of the node: the node's own
    // finding first, else the node the pod runs on.
    let mut found = facts.target_first(facts.with(&["node_not_ready"]));
    found.sort_by_key(|f| !f.subject.starts_with("Node/"));
    let Some(f) = found.first() else {
        return Vec::new();
    };
    let node = match f.subject.strip_prefix("Pod/") {
        Some(pod) => match facts.ctx.pod_node(pod) {
            Some(n) => n,
            None => return Vec::new(),
        },
        None => f
            .subject
            .strip_prefix("Node/")
            .unwrap_or(&f.subject)
            .to_string(),
    };
    let said = f.cites.join("; ");
    let kubelet = said
        .to_ascii_lowercase()
        .contains("kubelet stopped posting")
        || said.contains("Unknown");
    let why = if kubelet {
        "the kubelet stopped posting node status (conditions Unknown): the kubelet is stopped or hung, or the node is gone or unreachable"
    } else {
        "the kubelet reports the node not ready (runtime, network plugin or resources)"
    };
    let mut c = Finding::new("general-node-not-ready", format!("node {node} NotReady"));
    c.score = 0.86;
    cite(&mut c, f);
    c.root_cause = format!("Node {node} is NotReady: {why}. ({})", quote(&said, 200));
    c.summary = format!("Node {node} is NotReady: {why}.");
    c.cmd(
        "The node's conditions and taints",
        format!("kubectl describe node {node}"),
    );
    c.cmd(
        "The pods that were on it",
        format!("kubectl get pods --all-namespaces --field-selector spec.nodeName={node} -o wide"),
    );
    c.step(format!(
        "On the node (or its cloud console): systemctl status kubelet; journalctl -u kubelet --since '-1h' on {node}"
    ));
    vec![c]
}

/// DiskPressure / MemoryPressure and the evictions they cause.
pub(crate) fn node_pressure(facts: &Facts<'_>) -> Vec<Finding> {
    let evictions = facts.with(&["evicted_disk", "evicted_memory", "evicted"]);
    let pressure = facts.with(&[
        "node_disk_pressure",
        "node_memory_pressure",
        "node_eviction_threshold",
        "node_disk_gc_failed",
        "node_pid_pressure",
    ]);
    if evictions.is_empty() && pressure.is_empty() {
        return Vec::new();
    }
    let disk = evictions.iter().any(|e| e.fact == "evicted_disk")
        || pressure.iter().any(|p| {
            matches!(
                p.fact.as_str(),
                "node_disk_pressure" | "node_disk_gc_failed"
            )
        });
    let resource = if disk {
        "disk (ephemeral storage)"
    } else {
        "memory"
    };
    let mut c = Finding::new(
        "general-node-pressure",
        format!("node {resource} pressure and evictions"),
    );
    for f in pressure.iter().chain(evictions.iter()).take(4) {
        cite(&mut c, f);
    }
    // The kubelet's eviction message names the container and what it used: a pod that used a
    // large share is the consumer; one that used little was only evicted.
    let consumer = evictions
        .iter()
        .filter_map(|e| {
            let said = e.cites.first().cloned().unwrap_or_default();
            let used = used_in_eviction(&said)?;
            (used >= BIG_USE).then(|| (e.subject.clone(), said))
        })
        .next();
    c.score = if consumer.is_some() { 0.86 } else { 0.62 };
    let node = pressure
        .first()
        .map(|p| p.subject.clone())
        .or_else(|| {
            let pod = consumer.as_ref()?.0.strip_prefix("Pod/")?.to_string();
            facts.ctx.pod_node(&pod).map(|n| format!("Node/{n}"))
        })
        .unwrap_or_else(|| "the node".to_string());
    c.root_cause = match &consumer {
        Some((pod, said)) => format!(
            "{node} ran short of {resource}; the kubelet evicted {pod}, which used most of it: {}.",
            quote(said, 240)
        ),
        None => format!(
            "{node} is under {resource} pressure: {}. The evictions do not show which pod or file filled it.",
            pressure
                .first()
                .or(evictions.first())
                .map(|p| p.detail.clone())
                .unwrap_or_default()
        ),
    };
    c.summary = format!("{node} ran short of {resource} and evicted pods.");
    let node_name = node.strip_prefix("Node/").unwrap_or(&node);
    c.cmd(
        "The node's conditions and recent evictions",
        format!("kubectl describe node {node_name}"),
    );
    c.cmd(
        "Evicted pods across namespaces",
        "kubectl get pods --all-namespaces --field-selector status.phase=Failed -o wide",
    );
    if disk {
        c.step("Set ephemeral-storage requests/limits on pods that write to their container filesystem or emptyDir, and move bulk data to a volume");
    }
    vec![c]
}

/// A node went NotReady: its pods are evicted/terminating, replicas unavailable.
pub(crate) fn detect_node_not_ready(ctx: &Ctx<'_>) -> Option<Finding> {
    let events = ctx.events_with(&[
        "nodenotready",
        "node is not ready",
        "status is now: nodenotready",
        "nodestatusunknown",
        "kubelet stopped posting",
    ]);
    let node = events
        .iter()
        .find_map(|e| e.object.strip_prefix("Node/").map(str::to_string))
        .or_else(|| events.iter().find_map(|e| ctx.pod_node(&e.object)))
        .or_else(|| {
            ctx.pods
                .iter()
                .find(|p| {
                    p.phase == "Unknown"
                        || p.conditions.iter().any(|c| contains_ci(c, "nodenotready"))
                })
                .and_then(|p| p.node.clone())
        });
    let Some(node) = node else {
        if ctx.mentions(&["notready", "not ready", "node down", "unreachable"])
            && ctx.mentions(&["node"])
        {
            let mut f = Finding::new("node-notready", "Node NotReady taking replicas down");
            f.root_cause = format!(
                "Replicas of {} are unavailable, most likely because their node went NotReady (per the alert) and its pods were evicted.",
                ctx.deployment
            );
            f.summary = "A node went NotReady.".into();
            f.missing("no node events or pod placement");
            f.cmd("Node states", "kubectl get nodes -o wide".to_string());
            return Some(f.with_score(0.4).into_hint(ctx));
        }
        return None;
    };
    let on_node: Vec<&PodState> = ctx
        .pods
        .iter()
        .copied()
        .filter(|p| p.node.as_deref() == Some(node.as_str()))
        .collect();
    let elsewhere_ok = ctx
        .pods
        .iter()
        .filter(|p| p.node.as_deref() != Some(node.as_str()) && p.ready)
        .count();
    let mut f = Finding::new("node-notready", format!("Node {node} NotReady"));
    let mut score: f64 = if events.is_empty() { 0.6 } else { 0.85 };
    if let Some(e) = events.first() {
        f.for_(format!(
            "{} {}: {}",
            e.reason,
            e.object,
            quote(&e.message, 100)
        ));
        f.at_opt(
            e.timestamp,
            format!("node {node} NotReady: {}", quote(&e.message, 80)),
        );
    }
    let evictions = ctx.events_with(&[
        "taintmanagereviction",
        "marking for deletion",
        "evict",
        "nodecontrollereviction",
    ]);
    if let Some(e) = evictions.first() {
        score += 0.05;
        f.for_(format!("{}: {}", e.reason, quote(&e.message, 100)));
        f.at_opt(e.timestamp, format!("pods evicted from {node}"));
    }
    let names: Vec<&str> = on_node.iter().map(|p| p.name.as_str()).take(4).collect();
    if !on_node.is_empty() {
        f.for_(format!(
            "{} on {node} not serving: {}",
            plural(on_node.len() as u64, "pod"),
            names.join(", ")
        ));
    }
    let restarts: u32 = ctx.pods.iter().map(|p| p.restarts()).sum();
    if elsewhere_ok > 0 {
        f.for_(format!(
            "app itself healthy: {elsewhere_ok} pods on other nodes ready, {}",
            plural(u64::from(restarts), "restart")
        ));
    }
    let pending = ctx.pods.iter().filter(|p| p.phase == "Pending").count();
    f.metric("pods on the NotReady node", on_node.len().to_string());
    f.metric("ready pods elsewhere", elsewhere_ok.to_string());
    f.root_cause = format!(
        "Replicas of {} are unavailable because node {node} went NotReady{}: its pods ({}) were evicted or are stuck terminating{}; the app itself is healthy — {elsewhere_ok} pods on other nodes are ready.",
        ctx.deployment,
        events
            .first()
            .and_then(|e| e.timestamp)
            .map(|t| format!(" at {}", hm(t)))
            .unwrap_or_default(),
        if names.is_empty() {
            "none listed".to_string()
        } else {
            names.join(", ")
        },
        if pending > 0 {
            format!(" and {pending} replacements are Pending")
        } else {
            String::new()
        }
    );
    f.summary = format!(
        "Node {node} went NotReady, taking {} replicas down.",
        ctx.deployment
    );
    f.cmd(
        "Why the node is NotReady (conditions, kubelet)",
        format!("kubectl describe node {node}"),
    );
    f.cmd("Node states", "kubectl get nodes -o wide".to_string());
    f.cmd(
        "Pods still bound to the node",
        ctx.kubectl(&format!(
            "get pods -o wide --field-selector spec.nodeName={node}"
        )),
    );
    if let Some(p) = on_node.first() {
        f.cmd(
            "Free a replica stuck terminating on the dead node",
            ctx.kubectl(&format!("delete pod {} --grace-period=0 --force", p.name)),
        );
    }
    f.cmd(
        "Keep new pods off the node until it is repaired",
        format!("kubectl cordon {node}"),
    );
    f.prevent("Spread replicas across nodes/zones (topologySpreadConstraints or pod anti-affinity) with a PodDisruptionBudget");
    f.prevent("Run node-problem-detector and alert on NodeNotReady; lower the not-ready toleration (tolerationSeconds) for stateless apps");
    Some(f.with_score(score.min(0.93)))
}
