//! Rollouts that do not finish: new pods failing their readiness probe so the Deployment stalls
//! (ProgressDeadlineExceeded, replicas unavailable), and the alert that only says replicas are
//! unavailable.

use crate::evidence::PodState;
use crate::llm::offline::common::{Ctx, Finding, contains_ci, quote};

/// "Replicas unavailable" with no pod/event data to tell why: the usual causes, most likely first.
pub(crate) fn replicas_unavailable_hint(ctx: &Ctx<'_>) -> Option<Finding> {
    if !ctx.pods.is_empty()
        || !ctx.events.is_empty()
        || !ctx.mentions(&["replicas", "unavailable", "available"])
    {
        return None;
    }
    let mut f = Finding::new(
        "replicas-unavailable",
        format!(
            "Replicas of {} unavailable (cause not visible)",
            ctx.deployment
        ),
    );
    f.root_cause = format!(
        "Replicas of {} are unavailable (per the alert), but no pod or event data was found in namespace {} to say why; the usual causes are a node that went NotReady (its pods evicted or stuck terminating), crash-looping containers, image pull failures or unschedulable pods — the commands below tell which.",
        ctx.deployment, ctx.ns
    );
    f.summary = format!(
        "{} has unavailable replicas; the cause is not in the collected data.",
        ctx.deployment
    );
    f.missing(format!(
        "no pods or events of {} in namespace {} (wrong namespace?)",
        ctx.deployment, ctx.ns
    ));
    f.cmd(
        "Find the deployment and its pods in every namespace",
        format!("kubectl get pods -A -o wide | grep {}", ctx.deployment),
    );
    f.cmd(
        "Node states (a NotReady node takes its replicas down)",
        "kubectl get nodes -o wide".to_string(),
    );
    f.cmd(
        "Recent warnings",
        "kubectl get events -A --field-selector type=Warning --sort-by=.lastTimestamp | tail -30"
            .to_string(),
    );
    Some(f.with_score(0.3))
}

/// Rollout stuck: new ReplicaSet's pods fail readiness, progress deadline exceeded.
pub(crate) fn rollout_stuck(ctx: &Ctx<'_>) -> Option<Finding> {
    let dep_state = ctx
        .services
        .iter()
        .filter_map(|s| s.deployment.as_ref())
        .find(|d| d.name == ctx.deployment)
        .or_else(|| ctx.services.iter().find_map(|s| s.deployment.as_ref()));
    let pde = dep_state
        .map(|d| {
            d.conditions
                .iter()
                .any(|c| contains_ci(c, "progressdeadlineexceeded"))
        })
        .unwrap_or(false)
        || !ctx
            .events_with(&[
                "progressdeadlineexceeded",
                "progress deadline",
                "timed out progressing",
            ])
            .is_empty();
    let readiness = ctx.events_with(&["readiness probe failed"]);
    // Pods split by ReplicaSet (pod-template-hash): newest set vs the others.
    let mut sets: Vec<(&str, Vec<&PodState>)> = Vec::new();
    for p in &ctx.pods {
        let h = p
            .labels
            .get("pod-template-hash")
            .map(String::as_str)
            .unwrap_or("");
        match sets.iter_mut().find(|(k, _)| *k == h) {
            Some((_, v)) => v.push(p),
            None => sets.push((h, vec![p])),
        }
    }
    sets.sort_by_key(|(_, v)| v.iter().filter_map(|p| p.created_at).max());
    let (new_pods, old_pods): (Vec<&PodState>, Vec<&PodState>) = if sets.len() >= 2 {
        let new = sets.last().map(|(_, v)| v.clone()).unwrap_or_default();
        let old = sets[..sets.len() - 1]
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        (new, old)
    } else {
        (
            ctx.pods.iter().copied().filter(|p| !p.ready).collect(),
            Vec::new(),
        )
    };
    let new_unready = new_pods.iter().filter(|p| !p.ready).count();
    let old_ready = old_pods.iter().filter(|p| p.ready).count();
    let behind = dep_state.is_some_and(|d| d.updated < d.desired || d.unavailable > 0);
    if !pde && (readiness.is_empty() || !(behind || new_unready > 0)) {
        return None;
    }
    let mut f = Finding::new(
        "rollout-stuck",
        format!("Rollout of {} stuck on failing readiness", ctx.deployment),
    );
    let mut score: f64 = 0.0;
    if pde {
        score += 0.5;
        f.for_(format!(
            "deploy/{}: Progressing=False, ProgressDeadlineExceeded",
            ctx.deployment
        ));
    }
    if let Some(e) = readiness.first() {
        score += 0.35;
        f.cite_event(
            &e.object,
            e,
            format!("readiness probe failing on {}", e.object),
        );
    } else {
        f.missing("no readiness-probe events for the new pods");
    }
    if !pde {
        score += 0.3;
    }
    // New pods that crash (restart) rather than sit unready are a crash loop, not a probe issue.
    if readiness.is_empty() && new_pods.iter().map(|p| p.restarts()).sum::<u32>() >= 3 {
        score *= 0.5;
    }
    if old_ready > 0 {
        score += 0.05;
        f.for_(format!(
            "old pods still serve: {old_ready} ready from the previous ReplicaSet"
        ));
    }
    if new_unready > 0 {
        f.for_(format!(
            "{new_unready} new pods running but not ready ({} restarts)",
            new_pods.iter().map(|p| p.restarts()).sum::<u32>()
        ));
    }
    if let Some(d) = dep_state {
        f.metric(
            format!("deploy/{}", d.name),
            format!(
                "{}/{} ready, {} updated, {} unavailable",
                d.ready, d.desired, d.updated, d.unavailable
            ),
        );
    }
    if let Some(r) = ctx.rollouts().last() {
        f.at(r.at, format!("rollout starts: {}", quote(r.message, 80)));
    }
    if let Some(e) = ctx
        .events_with(&[
            "progressdeadlineexceeded",
            "progress deadline",
            "timed out progressing",
        ])
        .first()
    {
        f.at_opt(e.timestamp, "deployment exceeds its progress deadline");
    }
    let rev = ctx
        .revision()
        .map(|r| format!(" to revision {r}"))
        .unwrap_or_default();
    let image = dep_state
        .and_then(|d| d.images.first().cloned())
        .map(|i| format!(" (image {i})"))
        .unwrap_or_default();
    let probe = readiness
        .first()
        .map(|e| format!(" (\"{}\")", quote(&e.message, 120)))
        .unwrap_or_default();
    let ready_log = ctx
        .logs
        .iter()
        .rev()
        .find(|l| {
            (l.lower.contains("ready") || l.lower.contains("readiness"))
                && (l.lower.contains("503")
                    || l.lower.contains("not ready")
                    || l.lower.contains("fail"))
                && !l.lower.contains("healthz")
        })
        .map(|l| quote(&crate::llm::offline::common::log_text(l.rec), 140));
    let probe = match &ready_log {
        Some(l) => {
            f.for_(format!("new pod log: \"{l}\""));
            format!("{probe}; the pod's log says \"{l}\"")
        }
        None => probe,
    };
    let old = if old_ready > 0 {
        format!(
            "; the {old_ready} old pods are still ready and serving, so the service is degraded, not down"
        )
    } else {
        String::new()
    };
    f.root_cause = format!(
        "The rollout of deploy/{}{rev}{image} is stuck: the new ReplicaSet's pods never pass the readiness probe{probe}{}{old}.",
        ctx.deployment,
        if pde {
            " and the deployment hit ProgressDeadlineExceeded"
        } else {
            ""
        }
    );
    f.summary = format!(
        "The rollout of {} is stuck: new pods fail their readiness probe.",
        ctx.deployment
    );
    let new_pod = new_pods
        .iter()
        .find(|p| !p.ready)
        .map(|p| p.name.clone())
        .or_else(|| {
            readiness
                .first()
                .and_then(|e| e.object.strip_prefix("Pod/").map(str::to_string))
        })
        .unwrap_or_else(|| format!("-l app={}", ctx.service));
    f.cmd(
        "Rollout state",
        ctx.kubectl(&format!(
            "rollout status deploy/{} --timeout=10s",
            ctx.deployment
        )),
    );
    f.cmd(
        "Why the new pod is not ready (probe failures in Events)",
        ctx.kubectl(&format!("describe pod {new_pod}")),
    );
    f.cmd(
        "The new pod's logs",
        ctx.kubectl(&format!("logs {new_pod} --tail=100")),
    );
    f.cmd(
        "Roll back to the serving revision",
        ctx.kubectl_deploy("rollout undo"),
    );
    f.prevent("Test the readiness endpoint of a new version in CI/staging with the production probe settings");
    f.prevent("Alert on ProgressDeadlineExceeded and use automated canary analysis to roll back");
    Some(f.with_score(score.min(0.93)))
}
