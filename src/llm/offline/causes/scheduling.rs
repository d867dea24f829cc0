//! Pods the scheduler cannot place, by the reason kube-scheduler gives: not enough free
//! cpu/memory/GPU (requests against allocatable), taints the pod does not tolerate, a
//! nodeSelector/affinity no node matches, a PersistentVolumeClaim that is not bound.

use super::{Facts, base_score, cite, note_rollout};
use crate::llm::offline::common::{Finding, quote};

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
