//! Pods the scheduler cannot place, by the reason kube-scheduler gives: not enough free
//! cpu/memory/GPU (requests against allocatable), taints the pod does not tolerate, a
//! nodeSelector/affinity no node matches, a PersistentVolumeClaim that is not bound.
//!
//! [`detect_unschedulable`] is the Kubernetes agent's detector of the same class, read from the
//! FailedScheduling events and the Pending pods directly (cluster-autoscaler, HPA).

use super::{Facts, base_score, cite, note_rollout};
use crate::evidence::PodState;
use crate::llm::offline::common::{Ctx, Finding, contains_ci, plural, quote};

/// What the scheduler's reason means, and what to check, per fact.
fn meaning(fact: &str) -> (&'static str, &'static str) {
    match fact {
        "insufficient_cpu" => (
            "no node has enough unrequested CPU for the pod's cpu request (Insufficient cpu)",
            "compare the pod's requests with the nodes' allocatable minus what is requested",
        ),
        "insufficient_memory" => (
            "no node has enough unrequested memory for the pod's memory request (Insufficient memory)",
            "compare the pod's requests with the nodes' allocatable minus what is requested",
        ),
        "insufficient_gpu" | "insufficient_resource" => (
            "no node that the pod may use offers the extended resource it requests (Insufficient)",
            "check which nodes offer the resource, and whether the pod may run there (taints, selectors)",
        ),
        "untolerated_taint" => (
            "the nodes that could run it carry a taint the pod has no toleration for",
            "add the matching toleration to the pod spec, or run it on untainted nodes",
        ),
        "node_affinity_mismatch" => (
            "no schedulable node matches the pod's nodeSelector / node affinity",
            "compare the pod's nodeSelector with the labels the nodes really carry",
        ),
        "unbound_pvc" => (
            "its PersistentVolumeClaim is not bound to a volume (no matching PersistentVolume, or its StorageClass cannot provision one)",
            "check the claim's events and whether its StorageClass exists",
        ),
        "volume_node_conflict" => (
            "its volume is bound to a zone or node the pod cannot run on",
            "check the volume's node affinity against the nodes available",
        ),
        "too_many_pods" => (
            "the nodes are at their pod limit",
            "check the nodes' allocatable pods",
        ),
        "host_port_conflict" => (
            "the host port it asks for is taken on every node",
            "check which pods use that hostPort",
        ),
        _ => (
            "the scheduler found no node for it",
            "read the scheduler's message in the pod's events",
        ),
    }
}

/// The pods that FailedScheduling names, with the scheduler's reasons (the most specific first).
pub(crate) fn unschedulable(facts: &Facts<'_>) -> Vec<Finding> {
    const SCHED: &[&str] = &[
        "insufficient_cpu",
        "insufficient_memory",
        "insufficient_gpu",
        "insufficient_resource",
        "untolerated_taint",
        "node_affinity_mismatch",
        "unbound_pvc",
        "volume_node_conflict",
        "too_many_pods",
        "host_port_conflict",
        "unschedulable",
    ];
    let found = facts.target_first(facts.with(SCHED));
    let Some(first) = found.first() else {
        return Vec::new();
    };
    // The scheduler lists several reasons in one message: one candidate per reason of the
    // first (target's) message, so the reasons compete and the checks tell them apart.
    let same: Vec<_> = found
        .iter()
        .filter(|f| f.subject == first.subject && f.cites == first.cites)
        .collect();
    let object = first.subject.clone();
    let pod = object.split_once('/').map_or(object.as_str(), |s| s.1);
    let ns = facts.ns_of_pod(pod);
    let ns = ns.as_deref();
    let message = first.cites.first().cloned().unwrap_or_default();
    let n = same.len();
    same.iter()
        .enumerate()
        .map(|(i, f)| {
            let (what, check) = meaning(&f.fact);
            let mut c = Finding::new("general-unschedulable", format!("{pod}: {what}"));
            // The scheduler lists reasons node group by node group: every one holds for some
            // nodes, so the first is not more certain than the others when there are several.
            c.score = base_score(f.strength) - if n > 1 { 0.08 + 0.02 * i as f64 } else { 0.0 };
            cite(&mut c, f);
            c.root_cause = format!(
                "{object} stays Pending: {what}. The scheduler says: {}.",
                quote(&message, 260)
            );
            c.summary = format!("{pod} cannot be scheduled: {what}.");
            c.step(check);
            if f.fact == "unbound_pvc" {
                for e in facts.ctx.events.iter().filter(|e| {
                    e.object.starts_with("PersistentVolumeClaim/")
                        && matches!(e.reason.as_str(), "ProvisioningFailed" | "FailedBinding")
                }) {
                    c.for_(format!("{} {}: {}", e.reason, e.object, quote(&e.message, 200)));
                    c.root_cause.push_str(&format!(
                        " The claim {} does not bind: {}.",
                        e.object.trim_start_matches("PersistentVolumeClaim/"),
                        quote(&e.message, 200)
                    ));
                    c.score = c.score.max(0.88);
                }
            }
            note_rollout(&mut c, facts);
            c.cmd(
                "The scheduler's full message and the pod's requests",
                facts.kubectl(ns, &format!("describe pod {pod}")),
            );
            match f.fact.as_str() {
                "untolerated_taint" | "node_affinity_mismatch" | "insufficient_gpu"
                | "insufficient_resource" => c.cmd(
                    "The nodes' taints and labels",
                    "kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints,LABELS:.metadata.labels",
                ),
                "unbound_pvc" | "volume_node_conflict" => {
                    c.cmd(
                        "The claims, their status and StorageClass",
                        facts.kubectl(ns, "get pvc -o wide"),
                    );
                    c.cmd("The StorageClasses that exist", "kubectl get storageclass");
                }
                _ => c.cmd(
                    "Requested vs allocatable per node",
                    "kubectl describe nodes | grep -A8 'Allocated resources'",
                ),
            }
            c
        })
        .collect()
}

/// Pods Pending: FailedScheduling (insufficient resources, taints, affinity).
pub(crate) fn detect_unschedulable(ctx: &Ctx<'_>) -> Option<Finding> {
    let events = ctx.events_with(&["failedscheduling", "nodes are available", "unschedulable"]);
    let pending: Vec<&PodState> = ctx
        .pods
        .iter()
        .copied()
        .filter(|p| p.phase == "Pending")
        .filter(|p| p.conditions.iter().any(|c| contains_ci(c, "unschedulable")))
        .collect();
    let mut f = Finding::new(
        "unschedulable",
        format!("Pods of {} cannot be scheduled", ctx.deployment),
    );
    if events.is_empty() && pending.is_empty() {
        if ctx.mentions(&["pending", "unschedulable", "failedscheduling"]) {
            f.root_cause = format!(
                "Pods of {} stay Pending (per the alert): the scheduler cannot place them — usually insufficient cpu or memory on the nodes, taints or affinity rules.",
                ctx.deployment
            );
            f.summary = format!("{}'s pods cannot be scheduled.", ctx.deployment);
            f.missing("no events or pod status");
            f.cmd(
                "See the scheduler's reason",
                ctx.kubectl("get events --field-selector reason=FailedScheduling"),
            );
            return Some(f.with_score(0.45).into_hint(ctx));
        }
        return None;
    }
    let msg = events
        .last()
        .map(|e| e.message.clone())
        .or_else(|| pending.first().and_then(|p| p.conditions.first().cloned()))
        .unwrap_or_default();
    let lower = msg.to_lowercase();
    let resource = lower
        .find("insufficient ")
        .map(|i| {
            lower[i + "insufficient ".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '.' || *c == '/')
                .collect::<String>()
                .trim_end_matches('.')
                .to_string()
        })
        .filter(|r| !r.is_empty());
    let why = match &resource {
        Some(r) => format!(
            "Insufficient {r}: the pods request more {r} than any node has free (allocatable minus other pods' requests)"
        ),
        None if lower.contains("taint") => "the nodes carry taints the pods do not tolerate".into(),
        None if lower.contains("affinity") || lower.contains("selector") => {
            "no node matches the pods' node selector/affinity".into()
        }
        None => "no node fits the pods".into(),
    };
    f.for_(format!("FailedScheduling: \"{}\"", quote(&msg, 160)));
    if !pending.is_empty() {
        f.for_(format!("{} Pending", plural(pending.len() as u64, "pod")));
        f.metric("pending pods", pending.len().to_string());
    }
    for e in events.iter().take(2) {
        f.at_opt(
            e.timestamp,
            format!("FailedScheduling: {}", quote(&e.message, 90)),
        );
    }
    if let Some(r) = ctx.rollouts().last() {
        f.at(r.at, format!("scale-up/rollout: {}", quote(r.message, 80)));
    }
    let mut extra = String::new();
    if let Some(e) = ctx
        .events_with(&["nottriggerscaleup", "max node group size", "scale-up"])
        .first()
    {
        f.for_(format!("{}: {}", e.reason, quote(&e.message, 120)));
        extra = format!(
            ", and the cluster autoscaler cannot add nodes (\"{}\")",
            quote(&e.message, 100)
        );
    }
    if let Some(e) = ctx
        .events
        .iter()
        .rfind(|e| e.object.starts_with("HorizontalPodAutoscaler/"))
    {
        f.at_opt(
            e.timestamp,
            format!("HPA rescale: {}", quote(&e.message, 80)),
        );
        extra.push_str(&format!(
            "; the pods were added by the HPA ({})",
            quote(&e.message, 80)
        ));
    }
    f.root_cause = format!(
        "Pods of {} stay Pending because the scheduler cannot place them — FailedScheduling \"{}\" — {why}{extra}.",
        ctx.deployment,
        quote(&msg, 160)
    );
    f.summary = format!(
        "{} pods are Pending: {}.",
        ctx.deployment,
        resource
            .as_ref()
            .map(|r| format!("insufficient {r} in the cluster"))
            .unwrap_or_else(|| "no node fits them".into())
    );
    let pod = pending
        .first()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| format!("-l app={}", ctx.service));
    f.cmd(
        "The scheduler's full reason",
        ctx.kubectl(&format!("describe pod {pod}")),
    );
    f.cmd(
        "How much is already requested on each node",
        "kubectl describe nodes | grep -A 8 'Allocated resources'".to_string(),
    );
    f.cmd("Actual node usage", "kubectl top nodes".to_string());
    f.cmd(
        "The pods' requests",
        ctx.kubectl(&format!(
            "get deploy/{} -o jsonpath='{{.spec.template.spec.containers[*].resources.requests}}'",
            ctx.deployment
        )),
    );
    f.step("Lower the requests to what the pods really use, or add node capacity (cluster autoscaler / bigger node pool)");
    f.prevent("Run the cluster autoscaler with headroom, and alert on pods Pending > 5 minutes");
    f.prevent("Set requests from observed usage (VPA recommendations) instead of guesses");
    Some(f.with_score(if events.is_empty() { 0.7 } else { 0.9 }))
}
