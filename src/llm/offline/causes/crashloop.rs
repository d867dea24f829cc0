//! Crash loops read from the pods and their logs: containers restarting in CrashLoopBackOff,
//! the error line the crashing container printed last, and the configuration it names as missing
//! (an environment variable, a ConfigMap key, a file).

use super::memory::is_oom;
use crate::evidence::{ContainerState, KubeEvent, PodState};
use crate::llm::offline::common::{
    Ctx, Finding, LogLine, env_var_name, hm, plural, quote, word_after,
};
use crate::target::refine::workload_of;
use crate::target::workload_of_pod;

/// Every (pod, container) pair.
pub(crate) fn containers<'a>(ctx: &Ctx<'a>) -> Vec<(&'a PodState, &'a ContainerState)> {
    ctx.pods
        .iter()
        .flat_map(|p| p.containers.iter().map(move |c| (*p, c)))
        .collect()
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
    // The pod's own lines, and lines that name no pod; never another pod's.
    let pool: Vec<&LogLine<'_>> = ctx
        .logs
        .iter()
        .filter(|l| pod.is_none() || l.pod.is_none() || l.pod == pod)
        .collect();
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
            f.cite_alert(ctx);
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
    // The crashing pod: from its status, else from kubelet's BackOff event.
    let crashing_pod: Option<String> = pod.map(|p| p.name.clone()).or_else(|| {
        backoff
            .first()
            .and_then(|e| e.object.strip_prefix("Pod/").map(str::to_string))
    });
    let pod_name = crashing_pod
        .clone()
        .unwrap_or_else(|| format!("deploy/{}", ctx.deployment));
    // The crashing pod's own workload: the summary and the commands address it. The alert may
    // be about another object (a volume filling up because this pod's consumer is down), and a
    // namespace-wide pod list shows other workloads' pods. A pod known only from a BackOff
    // event has no owner reference here: its name's shape tells its workload.
    let own = pod.and_then(workload_of).or_else(|| {
        workload_of_pod(crashing_pod.as_deref()?).map(|(shape, base)| (shape.kind(), base))
    });
    let (workload, workload_ref, rolls_out) = match own {
        Some((kind, name)) => (
            name.clone(),
            kind.kubectl().map(|k| format!("{k}/{name}")),
            kind.rolls_out(),
        ),
        None => (
            ctx.deployment.clone(),
            Some(format!("deploy/{}", ctx.deployment)),
            true,
        ),
    };
    f.cause = format!("{workload} crash-looping (CrashLoopBackOff) on a startup error");
    let restarts = c.map(|c| c.restart_count).unwrap_or(0);
    // A pod known only from its BackOff events: its restart count was not read, not zero.
    let restarts_text = match c {
        Some(_) => plural(u64::from(restarts), "restart"),
        None => "its pod status not read".to_string(),
    };
    let exit = c.and_then(|c| c.last_exit_code);
    let mut score: f64 = 0.7;
    f.for_(format!(
        "{pod_name}: {}, {}{}",
        c.and_then(|c| c.reason.clone())
            .unwrap_or_else(|| "CrashLoopBackOff".into()),
        restarts_text,
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
    if c.is_some() {
        f.metric("restarts", restarts.to_string());
    }
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
    let (line, is_config) = crash_line(ctx, crashing_pod.as_deref());
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
        f.cite_line(
            "last log line",
            l,
            160,
            format!("app log: {}", quote(&l.rec.body, 90)),
        );
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
        "Pod {pod_name} is in CrashLoopBackOff ({restarts_text}{}): {why}.",
        exit.map(|x| format!(", exit code {x}")).unwrap_or_default()
    );
    f.summary = format!(
        "{workload} is crash-looping: {}.",
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
    match (&cm, &key, &workload_ref) {
        (Some(c), _, _) => f.cmd(
            "Compare the ConfigMap with what the app expects",
            ctx.kubectl(&format!("get configmap {c} -o yaml")),
        ),
        (None, Some(k), Some(w)) => f.cmd(
            format!("Check whether the variable is set on {w}"),
            ctx.kubectl(&format!("set env {w} --list | grep {k}")),
        ),
        (None, None, Some(w)) => f.cmd(
            format!("List the environment of {w}"),
            ctx.kubectl(&format!("set env {w} --list")),
        ),
        (None, _, None) => {}
    }
    if let (true, Some(w)) = (rolls_out, &workload_ref) {
        f.cmd(
            "Roll back to the last working revision while the config is fixed",
            ctx.kubectl(&format!("rollout undo {w}")),
        );
    }
    f.prevent("Validate required config keys in CI (and at startup with a clear message) before the rollout reaches the cluster");
    f.prevent("Reference ConfigMap keys with configMapKeyRef (optional: false) so a missing key blocks the rollout instead of crash-looping it");
    Some(f.with_score(score.min(0.93)))
}
