//! Kubernetes agent detectors: crash loop (and the missing config its logs name), image pull
//! failure, unschedulable pods, stuck rollout (readiness probe / progress deadline) and node
//! NotReady; plus the cross-agent OOM check.

use super::common::{
    Ctx, Detector, Finding, LogLine, contains_ci, env_var_name, hm, plural, quote, word_after,
};
use super::resource;
use crate::evidence::{ContainerState, KubeEvent, PodState};

pub(crate) const DETECTORS: &[Detector] = &[
    replicas_unavailable_hint,
    crashloop,
    image_pull,
    unschedulable,
    rollout_stuck,
    node_not_ready,
    resource::oom,
];

/// "Replicas unavailable" with no pod/event data to tell why: the usual causes, most likely first.
fn replicas_unavailable_hint(ctx: &Ctx<'_>) -> Option<Finding> {
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

/// Every (pod, container) pair.
fn containers<'a>(ctx: &Ctx<'a>) -> Vec<(&'a PodState, &'a ContainerState)> {
    ctx.pods
        .iter()
        .flat_map(|p| p.containers.iter().map(move |c| (*p, c)))
        .collect()
}

pub(crate) fn is_oom(c: &ContainerState) -> bool {
    c.last_termination_reason.as_deref() == Some("OOMKilled")
        || c.reason.as_deref() == Some("OOMKilled")
}

const CONFIG_NEEDLES: &[&str] = &[
    "missing",
    "not set",
    "required",
    "undefined",
    "no such file",
    "not found",
    "configmap",
    "config",
    "environment variable",
    "env var",
    "keyerror",
    "must be set",
    "cannot find",
];

/// The log line that explains a crash: a config/env complaint, else the last error line.
fn crash_line<'c>(ctx: &'c Ctx<'_>, pod: Option<&str>) -> (Option<&'c LogLine<'c>>, bool) {
    let of_pod: Vec<&LogLine<'_>> = ctx
        .logs
        .iter()
        .filter(|l| pod.is_none() || l.pod == pod)
        .collect();
    let pool = if of_pod.is_empty() {
        ctx.logs.iter().collect()
    } else {
        of_pod
    };
    if let Some(l) = pool
        .iter()
        .rev()
        .find(|l| CONFIG_NEEDLES.iter().any(|n| l.lower.contains(n)))
    {
        return (Some(l), true);
    }
    let err = pool.iter().rev().find(|l| {
        ["fatal", "error", "panic", "exception"]
            .iter()
            .any(|n| l.lower.contains(n))
    });
    (err.copied().or(pool.last().copied()), false)
}

/// CrashLoopBackOff with a non-OOM exit; the pod's last log lines name the missing config.
pub(crate) fn crashloop(ctx: &Ctx<'_>) -> Option<Finding> {
    let all = containers(ctx);
    let crashing: Vec<(&PodState, &ContainerState)> = all
        .iter()
        .copied()
        .filter(|(_, c)| !is_oom(c))
        .filter(|(_, c)| {
            matches!(
                c.reason.as_deref(),
                Some("CrashLoopBackOff") | Some("CreateContainerConfigError")
            ) || (c.restart_count >= 3 && c.last_exit_code.is_some_and(|x| x != 0))
        })
        .collect();
    let backoff = ctx.events_with(&["back-off restarting failed container", "crashloopbackoff"]);
    let mut f = Finding::new(
        "crashloop",
        format!(
            "{} crash-looping (CrashLoopBackOff) on a startup error",
            ctx.deployment
        ),
    );
    if crashing.is_empty() && backoff.is_empty() {
        if ctx.mentions(&[
            "crashloop",
            "crash loop",
            "crash-loop",
            "back-off restarting",
        ]) {
            f.root_cause = format!(
                "Pods of {} are in CrashLoopBackOff (per the alert): the container exits right after start — most often a missing or wrong config (env var, ConfigMap key, Secret) or a bad release; the previous container's logs will say which.",
                ctx.deployment
            );
            f.summary = format!("{} is crash-looping.", ctx.deployment);
            f.for_(format!("alert: \"{}\"", quote(&ctx.alert.title, 120)));
            f.missing("no pod status or pod logs");
            f.cmd(
                "Read why the last container exited",
                ctx.kubectl(&format!(
                    "logs deploy/{} --previous --tail=100",
                    ctx.deployment
                )),
            );
            f.cmd(
                "Exit code and events",
                ctx.kubectl(&format!("describe pod -l app={}", ctx.service)),
            );
            return Some(f.with_score(0.45).into_hint(ctx));
        }
        if ctx.pods.is_empty() || all.iter().any(|(_, c)| is_oom(c)) {
            return None;
        }
        let restarts: u32 = ctx.pods.iter().map(|p| p.restarts()).sum();
        let mut r = Finding::rejected(
            "crashloop",
            "Application crash (CrashLoopBackOff)",
            vec![format!(
                "app itself healthy: no CrashLoopBackOff, {} across {}",
                plural(u64::from(restarts), "restart"),
                plural(ctx.pods.len() as u64, "pod")
            )],
        );
        r.cmd(
            "Previous container logs",
            ctx.kubectl(&format!(
                "logs deploy/{} --previous --tail=100",
                ctx.deployment
            )),
        );
        return Some(r);
    }
    let (pod, c) = match crashing.first() {
        Some((p, c)) => (Some(*p), Some(*c)),
        None => (None, None),
    };
    let pod_name = pod
        .map(|p| p.name.clone())
        .or_else(|| {
            backoff
                .first()
                .and_then(|e| e.object.strip_prefix("Pod/").map(str::to_string))
        })
        .unwrap_or_else(|| format!("deploy/{}", ctx.deployment));
    let restarts = c.map(|c| c.restart_count).unwrap_or(0);
    let exit = c.and_then(|c| c.last_exit_code);
    let mut score: f64 = 0.7;
    f.for_(format!(
        "{pod_name}: {}, {}{}",
        c.and_then(|c| c.reason.clone())
            .unwrap_or_else(|| "CrashLoopBackOff".into()),
        plural(u64::from(restarts), "restart"),
        exit.map(|x| format!(", last exit code {x}"))
            .unwrap_or_default()
    ));
    if let Some(x) = exit {
        f.metric("last exit code", x.to_string());
        if x != 137 {
            f.for_(format!(
                "exit code {x}, not 137: an application error, not an OOM kill"
            ));
        }
    }
    f.metric("restarts", restarts.to_string());
    if crashing.len() > 1 {
        f.metric("crashing containers", crashing.len().to_string());
    }
    if let Some(e) = backoff.first() {
        score += 0.03;
        f.cite_event(
            &e.reason,
            e,
            format!("kubelet backs off restarting {}", e.object),
        );
    }
    if let Some(at) = c.and_then(|c| c.last_finished_at) {
        f.at(
            at,
            format!(
                "container exited{}",
                exit.map(|x| format!(" with code {x}")).unwrap_or_default()
            ),
        );
    }
    if let Some(r) = ctx.rollout_before(ctx.now, 240) {
        score += 0.02;
        f.at(r.at, format!("rollout: {}", quote(r.message, 80)));
        f.for_(format!("rollout at {} just before the crashes", hm(r.at)));
    }
    let (line, is_config) = crash_line(ctx, pod.map(|p| p.name.as_str()));
    let config_event: Option<&KubeEvent> = ctx
        .events_with(&[
            "configmap",
            "couldn't find key",
            "createcontainerconfigerror",
        ])
        .into_iter()
        .next();
    let key = line
        .and_then(|l| env_var_name(&l.rec.body))
        .or_else(|| config_event.and_then(|e| word_after(&e.message, "couldn't find key")));
    let cm = line
        .and_then(|l| word_after(&l.lower, "configmap"))
        .or_else(|| config_event.and_then(|e| word_after(&e.message.to_lowercase(), "configmap")))
        .filter(|c| c.len() > 1);
    if let Some(l) = line {
        f.for_(format!("last log line: \"{}\"", quote(&l.rec.body, 160)));
        f.at_opt(l.ts, format!("app log: {}", quote(&l.rec.body, 90)));
    } else {
        f.missing(format!("no logs from {pod_name}'s previous container"));
    }
    if let Some(e) = config_event {
        f.for_(format!("{}: {}", e.reason, quote(&e.message, 120)));
    }
    let why = if is_config || config_event.is_some() {
        score += 0.2;
        let what = match (&key, &cm) {
            (Some(k), Some(c)) => format!(" ({k} missing from ConfigMap {c})"),
            (Some(k), None) => format!(" (env var / config key {k} missing)"),
            (None, Some(c)) => format!(" (ConfigMap {c})"),
            (None, None) => String::new(),
        };
        format!(
            "the app exits at startup because its configuration is missing{what} — the last log line says \"{}\"",
            line.map(|l| quote(&l.rec.body, 160))
                .or_else(|| config_event.map(|e| quote(&e.message, 160)))
                .unwrap_or_default()
        )
    } else {
        format!(
            "the app exits at startup; its last log line is \"{}\" — check its config and the latest change",
            line.map(|l| quote(&l.rec.body, 160))
                .unwrap_or_else(|| "unavailable".into())
        )
    };
    f.root_cause = format!(
        "Pod {pod_name} is in CrashLoopBackOff ({}{}): {why}.",
        plural(u64::from(restarts), "restart"),
        exit.map(|x| format!(", exit code {x}")).unwrap_or_default()
    );
    f.summary = format!(
        "{} is crash-looping: {}.",
        ctx.deployment,
        if is_config || config_event.is_some() {
            "a required config value is missing"
        } else {
            "the app exits at startup"
        }
    );
    f.cmd(
        "Read why the last container exited",
        ctx.kubectl(&format!("logs {pod_name} --previous --tail=100")),
    );
    f.cmd(
        "Exit code, restarts and events",
        ctx.kubectl(&format!("describe pod {pod_name}")),
    );
    match (&cm, &key) {
        (Some(c), _) => f.cmd(
            "Compare the ConfigMap with what the app expects",
            ctx.kubectl(&format!("get configmap {c} -o yaml")),
        ),
        (None, Some(k)) => f.cmd(
            "Check whether the variable is set on the deployment",
            ctx.kubectl(&format!(
                "set env deploy/{} --list | grep {k}",
                ctx.deployment
            )),
        ),
        (None, None) => f.cmd(
            "List the deployment's environment",
            ctx.kubectl(&format!("set env deploy/{} --list", ctx.deployment)),
        ),
    }
    f.cmd(
        "Roll back to the last working revision while the config is fixed",
        ctx.kubectl(&format!("rollout undo deploy/{}", ctx.deployment)),
    );
    f.prevent("Validate required config keys in CI (and at startup with a clear message) before the rollout reaches the cluster");
    f.prevent("Reference ConfigMap keys with configMapKeyRef (optional: false) so a missing key blocks the rollout instead of crash-looping it");
    Some(f.with_score(score.min(0.93)))
}

/// `registry/app:v2` → `v2`.
fn image_tag(image: &str) -> Option<&str> {
    let (repo, tag) = image.rsplit_once(':')?;
    (!tag.contains('/') && !repo.is_empty()).then_some(tag)
}

/// ImagePullBackOff / ErrImagePull.
fn image_pull(ctx: &Ctx<'_>) -> Option<Finding> {
    let pulling: Vec<(&PodState, &ContainerState)> = containers(ctx)
        .into_iter()
        .filter(|(_, c)| {
            matches!(
                c.reason.as_deref(),
                Some("ErrImagePull") | Some("ImagePullBackOff") | Some("InvalidImageName")
            )
        })
        .collect();
    let events: Vec<&KubeEvent> = ctx
        .events_with(&[
            "failed to pull image",
            "errimagepull",
            "imagepullbackoff",
            "back-off pulling image",
        ])
        .into_iter()
        .collect();
    let mut f = Finding::new(
        "image-pull",
        format!("Image for {} cannot be pulled", ctx.deployment),
    );
    if pulling.is_empty() && events.is_empty() {
        if ctx.mentions(&["imagepull", "image pull", "errimagepull"]) {
            f.root_cause = format!(
                "Pods of {} cannot start because the image cannot be pulled (per the alert): usually the image tag does not exist or the registry denies access.",
                ctx.deployment
            );
            f.summary = format!("{}'s image cannot be pulled.", ctx.deployment);
            f.missing("no pod status or events");
            f.cmd(
                "See the pull error",
                ctx.kubectl(&format!("describe pod -l app={}", ctx.service)),
            );
            return Some(f.with_score(0.45).into_hint(ctx));
        }
        return None;
    }
    let msg = events
        .iter()
        .find(|e| contains_ci(&e.message, "failed to pull"))
        .or(events.first())
        .map(|e| e.message.clone())
        .or_else(|| pulling.first().and_then(|(_, c)| c.message.clone()))
        .unwrap_or_default();
    let image = pulling
        .first()
        .map(|(_, c)| c.image.clone())
        .or_else(|| word_after(&msg, "image"))
        .unwrap_or_else(|| "<image>".into());
    let tag = image_tag(&image).unwrap_or("latest").to_string();
    let pod_name = pulling
        .first()
        .map(|(p, _)| p.name.clone())
        .or_else(|| {
            events
                .first()
                .and_then(|e| e.object.strip_prefix("Pod/").map(str::to_string))
        })
        .unwrap_or_else(|| format!("-l app={}", ctx.service));
    let lower = msg.to_lowercase();
    let why = if ["manifest unknown", "not found", "does not exist", "no such"]
        .iter()
        .any(|n| lower.contains(n))
    {
        format!("the image tag {tag} does not exist in the registry")
    } else if [
        "unauthorized",
        "denied",
        "authentication required",
        "forbidden",
    ]
    .iter()
    .any(|n| lower.contains(n))
    {
        format!(
            "the registry denies access to the image (tag {tag}): the imagePullSecret is missing or invalid"
        )
    } else {
        format!("the image (tag {tag}) cannot be pulled from the registry")
    };
    f.for_(format!(
        "{} containers waiting: {}",
        pulling.len(),
        pulling
            .first()
            .and_then(|(_, c)| c.reason.clone())
            .unwrap_or_else(|| "ErrImagePull".into())
    ));
    if !msg.is_empty() {
        f.for_(format!("pull error: \"{}\"", quote(&msg, 160)));
    }
    for e in events.iter().take(2) {
        f.at_opt(
            e.timestamp,
            format!("{}: {}", e.reason, quote(&e.message, 90)),
        );
    }
    if let Some(r) = ctx.rollout_before(ctx.now, 240) {
        f.at(r.at, format!("rollout: {}", quote(r.message, 80)));
    }
    f.metric("image", image.clone());
    let repo_name = image
        .rsplit_once(':')
        .map(|(r, _)| r)
        .unwrap_or(&image)
        .to_string();
    let pushed = ctx
        .logs
        .iter()
        .rfind(|l| l.lower.contains("pushed") && l.rec.body.contains(&repo_name))
        .map(|l| quote(&l.rec.body, 140));
    let why = match &pushed {
        Some(p) => {
            f.for_(format!("CI log: \"{p}\""));
            format!("{why}; CI only pushed a different tag (\"{p}\")")
        }
        None => why,
    };
    f.root_cause = format!(
        "Pods of {} cannot start: ImagePullBackOff pulling image {image} — {why}{}.",
        ctx.deployment,
        if msg.is_empty() {
            String::new()
        } else {
            format!(" (\"{}\")", quote(&msg, 140))
        }
    );
    f.summary = format!(
        "{} cannot start: image {image} cannot be pulled.",
        ctx.deployment
    );
    f.cmd(
        "See the pull error",
        ctx.kubectl(&format!("describe pod {pod_name}")),
    );
    let repo = image.rsplit_once(':').map(|(r, _)| r).unwrap_or(&image);
    f.cmd(
        "List the tags that exist in the registry",
        format!("crane ls {repo}"),
    );
    f.cmd(
        "Roll back to the previous (pullable) image",
        ctx.kubectl(&format!("rollout undo deploy/{}", ctx.deployment)),
    );
    f.prevent("Deploy only images CI has pushed: pin by digest and check the tag exists (crane manifest) before applying");
    Some(f.with_score(0.9))
}

/// Pods Pending: FailedScheduling (insufficient resources, taints, affinity).
fn unschedulable(ctx: &Ctx<'_>) -> Option<Finding> {
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

/// Rollout stuck: new ReplicaSet's pods fail readiness, progress deadline exceeded.
fn rollout_stuck(ctx: &Ctx<'_>) -> Option<Finding> {
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
        .map(|l| quote(&super::common::log_text(l.rec), 140));
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
        ctx.kubectl(&format!("rollout undo deploy/{}", ctx.deployment)),
    );
    f.prevent("Test the readiness endpoint of a new version in CI/staging with the production probe settings");
    f.prevent("Alert on ProgressDeadlineExceeded and use automated canary analysis to roll back");
    Some(f.with_score(score.min(0.93)))
}

/// A node went NotReady: its pods are evicted/terminating, replicas unavailable.
fn node_not_ready(ctx: &Ctx<'_>) -> Option<Finding> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags() {
        assert_eq!(
            image_tag("registry.example.com:5000/app:v2.4.0"),
            Some("v2.4.0")
        );
        assert_eq!(image_tag("registry.example.com:5000/app"), None);
        assert_eq!(image_tag("app"), None);
    }
}
