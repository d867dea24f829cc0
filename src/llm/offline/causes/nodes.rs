//! Node failures: a node NotReady (the kubelet stopped posting status), and node pressure
//! (DiskPressure, MemoryPressure) with the evictions it causes — the evicted pod that used the
//! most is named, as the kubelet's eviction message does.
//!
//! [`detect_node_not_ready`] is the Kubernetes agent's detector of a node NotReady, read from the
//! node events and the pods on the node directly.

use super::{Facts, cite};
use crate::evidence::{KubeEvent, PodState};
use crate::llm::offline::common::{Ctx, Finding, contains_ci, hm, plural, quote};
use crate::llm::offline::common::{NODE_LABELS, bytes, format_ratio_arrow, parse_quantity, pct};

/// Usage from which an evicted container counts as the consumer (1 GiB).
const BIG_USE: f64 = 1024.0 * 1024.0 * 1024.0;

/// Bytes a container used per the kubelet's eviction message (`Container x was using 61Gi`).
pub(crate) fn used_in_eviction(message: &str) -> Option<f64> {
    let i = message.find("was using ")?;
    let q: String = message[i + "was using ".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    parse_quantity(&q)
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
        f.cite_reason(
            e,
            100,
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

/// Node MemoryPressure: the kubelet evicts pods.
pub(crate) fn node_memory_pressure(ctx: &Ctx<'_>) -> Option<Finding> {
    let ev: Vec<&KubeEvent> = ctx
        .events
        .iter()
        .copied()
        .filter(|e| {
            let mem = contains_ci(&e.message, "memory") || contains_ci(&e.reason, "memory");
            (mem && (contains_ci(&e.reason, "evict") || contains_ci(&e.message, "evict")))
                || contains_ci(&e.reason, "NodeHasInsufficientMemory")
                || contains_ci(&e.message, "MemoryPressure")
                || (contains_ci(&e.reason, "EvictionThresholdMet") && mem)
        })
        .collect();
    let node_mem = ctx.series("node_memory_used_ratio");
    let mut f = Finding::new("node-memory-pressure", "Node MemoryPressure evicting pods");
    if ev.is_empty() {
        if ctx.mentions(&["memorypressure", "memory pressure", "evict"]) {
            f.root_cause = format!(
                "A node running {} is under MemoryPressure (per the alert): the kubelet evicts pods to reclaim memory.",
                ctx.deployment
            );
            f.summary = "Node memory pressure is evicting pods.".into();
            f.missing("no node events or node memory metrics");
            f.cmd(
                "Node conditions",
                "kubectl describe nodes | grep -A2 MemoryPressure".to_string(),
            );
            return Some(f.with_score(0.45).into_hint(ctx));
        }
        let n = node_mem?;
        if n.peak() >= 0.9 {
            return None;
        }
        return Some(Finding::rejected(
            "node-memory-pressure",
            "Node memory pressure",
            vec![format!("node memory at most {} used", pct(n.peak()))],
        ));
    }
    let mut score: f64 = 0.65;
    let node = ev
        .iter()
        .find_map(|e| e.object.strip_prefix("Node/").map(str::to_string))
        .or_else(|| ev.iter().find_map(|e| ctx.pod_node(&e.object)))
        .or_else(|| node_mem.and_then(|s| s.label(NODE_LABELS).map(str::to_string)))
        .or_else(|| {
            ctx.pods
                .iter()
                .find(|p| p.phase == "Failed")
                .and_then(|p| p.node.clone())
        })
        .or_else(|| ctx.pods.iter().find_map(|p| p.node.clone()))
        .unwrap_or_else(|| "<node>".into());
    let evicted: Vec<String> = ev
        .iter()
        .filter(|e| contains_ci(&e.reason, "evict"))
        .filter_map(|e| e.object.strip_prefix("Pod/").map(str::to_string))
        .take(4)
        .collect();
    if ev.iter().any(|e| {
        contains_ci(&e.message, "MemoryPressure") || contains_ci(&e.reason, "memorypressure")
    }) {
        score += 0.15;
    }
    for e in ev.iter().take(3) {
        f.for_(format!(
            "{} {}: {}",
            e.reason,
            e.object,
            quote(&e.message, 100)
        ));
    }
    for e in ev.iter().take(6) {
        f.at_opt(e.timestamp, format!("{} {}", e.reason, e.object));
    }
    let mut used = String::new();
    if let Some(n) = node_mem {
        if n.peak() >= 0.85 {
            score += 0.1;
        }
        used = format!(" (node memory {} used)", pct(n.peak()));
        f.metric("node memory used", format_ratio_arrow(n));
        f.at_opt(n.change_point(1.1, 0.05).map(|c| c.0), "node memory climbs");
    }
    let mut consumer = String::new();
    if let Some(w) = ctx
        .all_series("container_memory_working_set_bytes")
        .filter(|w| w.peak() - w.first() > 256.0 * 1024.0 * 1024.0 && w.peak() >= 2.0 * w.first())
        .max_by(|a, b| (a.peak() - a.first()).total_cmp(&(b.peak() - b.first())))
    {
        let who = w
            .label(&["k8s.pod.name", "pod", "service.name"])
            .unwrap_or("a container")
            .to_string();
        f.for_(format!(
            "{who} working set {} → {}",
            bytes(w.first()),
            bytes(w.peak())
        ));
        f.metric(
            format!("{who} working set"),
            format!("{} → {}", bytes(w.first()), bytes(w.peak())),
        );
        consumer = format!(
            "; the memory is taken by {who}, whose working set grew {} → {}",
            bytes(w.first()),
            bytes(w.peak())
        );
    }
    f.metric(
        "evicted pods",
        ev.iter()
            .filter(|e| contains_ci(&e.reason, "evict"))
            .count()
            .to_string(),
    );
    let msg = ev
        .iter()
        .find(|e| contains_ci(&e.reason, "evict"))
        .map(|e| format!(": \"{}\"", quote(&e.message, 120)))
        .unwrap_or_default();
    f.root_cause = format!(
        "Node {node} is under MemoryPressure{used}: the kubelet is evicting pods to reclaim memory ({}){msg}{consumer}.",
        if evicted.is_empty() {
            "evictions in the events".into()
        } else {
            evicted.join(", ")
        }
    );
    f.summary = format!("Node {node} ran low on memory and the kubelet is evicting pods.");
    f.cmd(
        "Node conditions and allocated memory",
        format!("kubectl describe node {node}"),
    );
    f.cmd(
        "Biggest memory users",
        "kubectl top pods -A --sort-by=memory | head -20".to_string(),
    );
    f.cmd(
        "Evicted pods",
        ctx.kubectl("get pods --field-selector=status.phase=Failed -o wide"),
    );
    f.step(format!("Cordon {node} if it keeps evicting, and set memory requests = real usage for the heaviest pods"));
    f.prevent("Set memory requests close to real usage (VPA recommendations) so the scheduler does not overcommit nodes");
    f.prevent("Reserve memory for the system (kubelet system-reserved / eviction-hard) and alert on node memory > 85%");
    Some(f.with_score(score.min(0.92)))
}
