//! Out of memory: containers OOMKilled (exit code 137), told apart by the working set's shape —
//! a leak (growing with flat traffic, often since a deploy), a limit too low for the load, or a
//! spike — and the memory limit against what the pod uses.

use super::traffic::{flat_traffic_text, traffic};
use crate::evidence::{ContainerState, PodState};
use crate::llm::offline::common::{Ctx, Finding, bytes, hm, num, parse_quantity, plural, quote};

/// OOMKilled containers; a working set growing steadily to the limit with flat traffic is a leak.
pub(crate) fn oom(ctx: &Ctx<'_>) -> Option<Finding> {
    let killed: Vec<(&PodState, &ContainerState)> = ctx
        .pods
        .iter()
        .flat_map(|p| p.containers.iter().map(move |c| (*p, c)))
        .filter(|(_, c)| is_oom(c))
        .collect();
    let oom_events = ctx.events_with(&["oomkill", "oom-kill", "out of memory"]);
    let ws = ctx.series("container_memory_working_set_bytes");
    let limit = ctx
        .series("container_memory_limit_bytes")
        .map(|s| s.last())
        .filter(|l| *l > 0.0)
        .or_else(|| {
            ctx.pods
                .iter()
                .flat_map(|p| p.containers.iter())
                .find_map(|c| c.memory_limit.as_deref().and_then(parse_quantity))
        });
    let near_limit = match (ws, limit) {
        (Some(w), Some(l)) => w.peak() >= 0.85 * l,
        _ => false,
    };
    let growing = ws.is_some_and(|w| {
        w.rising_fraction() >= 0.6 && w.peak() >= 1.3 * w.points.first().map(|p| p.1).unwrap_or(0.0)
    });
    let mut f = Finding::new(
        "oom-leak",
        format!("{} OOMKilled: memory leak", ctx.deployment),
    );
    if killed.is_empty() && oom_events.is_empty() && !(near_limit && growing) {
        if ctx.mentions(&["oom", "out of memory", "memory"]) && !ctx.mentions(&["pressure"]) {
            f.root_cause = format!(
                "{} is running out of memory (per the alert): containers hit their memory limit and are OOMKilled — a memory leak (steady growth after a deploy) or a limit too low for the load.",
                ctx.deployment
            );
            f.summary = format!("{} is being OOMKilled.", ctx.deployment);
            f.missing("no memory metrics or pod status");
            f.cmd(
                "Current memory use per pod",
                format!(
                    "kubectl top pod -n {} -l app={} --containers",
                    ctx.ns, ctx.service
                ),
            );
            return Some(f.with_score(0.45).into_hint(ctx));
        }
        let terminated: Vec<String> = ctx
            .pods
            .iter()
            .flat_map(|p| p.containers.iter())
            .filter_map(|c| {
                c.last_exit_code.map(|x| {
                    format!(
                        "not OOM: last termination {} with exit code {x}",
                        c.last_termination_reason.as_deref().unwrap_or("Error")
                    )
                })
            })
            .take(1)
            .collect();
        let mut against = terminated;
        if let (Some(w), Some(l)) = (ws, limit) {
            against.push(format!(
                "working set peaks at {} of a {} limit",
                bytes(w.peak()),
                bytes(l)
            ));
        }
        if against.is_empty() && !ctx.pods.is_empty() {
            against.push(format!(
                "no OOMKilled container among {}",
                plural(ctx.pods.len() as u64, "pod")
            ));
        }
        if against.is_empty() {
            return None;
        }
        let mut r = crate::llm::offline::common::Finding::rejected(
            "oom-leak",
            "Out of memory (OOMKilled)",
            against,
        );
        r.cmd(
            "Memory use per pod",
            format!(
                "kubectl top pod -n {} -l app={} --containers",
                ctx.ns, ctx.service
            ),
        );
        return Some(r);
    }
    let mut score: f64 = 0.0;
    let restarts: u32 = killed.iter().map(|(_, c)| c.restart_count).sum();
    if let Some((p, c)) = killed.first() {
        score += 0.55;
        f.for_(format!(
            "{}: last termination OOMKilled (exit code {}), {}",
            p.name,
            c.last_exit_code.unwrap_or(137),
            plural(u64::from(c.restart_count), "restart")
        ));
        f.at_opt(c.last_finished_at, format!("{} OOMKilled", p.name));
        f.metric("restarts", restarts.to_string());
    }
    if let Some(e) = oom_events.first() {
        score += if killed.is_empty() { 0.5 } else { 0.03 };
        f.cite_reason(e, 100, format!("{}: {}", e.reason, quote(&e.message, 80)));
    }
    let limit_text = limit.map(bytes).unwrap_or_else(|| "memory".into());
    let mut growth_text = String::new();
    if let Some(w) = ws {
        f.metric(
            "working set",
            format!("{} → {}", bytes(w.first()), bytes(w.peak())),
        );
        if let Some(l) = limit {
            f.metric("memory limit", bytes(l));
        }
        if growing {
            score += 0.2;
            growth_text = format!(
                "its working set grows steadily from {} to {} (the {limit_text} limit)",
                bytes(w.first()),
                bytes(w.peak())
            );
            f.for_(format!(
                "working set grows monotonically {} → {}",
                bytes(w.first()),
                bytes(w.peak())
            ));
            if let Some(at) = w.peak_at() {
                f.at(at, format!("working set reaches {}", bytes(w.peak())));
            }
        } else {
            f.against(format!(
                "working set not growing steadily ({} → {})",
                bytes(w.first()),
                bytes(w.last())
            ));
        }
    } else {
        f.missing(
            "no container_memory_working_set_bytes series to tell a leak from a limit too low",
        );
    }
    let mut load_text = String::new();
    let mut load_driven = false;
    if let Some((ratio, rate)) = traffic(ctx) {
        if ratio < 1.5 {
            score += 0.1;
            load_text = format!(
                ", while the request rate is flat ({} → {} req/s) — memory use is not driven by load",
                num(rate.first()),
                num(rate.last())
            );
            f.for_(format!("traffic flat: {}", flat_traffic_text(rate)));
            f.metric(
                "request rate",
                format!("{} → {} req/s", num(rate.first()), num(rate.last())),
            );
        } else {
            load_driven = true;
            f.against(format!(
                "request rate rose {}x: memory may follow load",
                num(ratio)
            ));
        }
    }
    let start = ws
        .and_then(|w| w.points.first().map(|p| p.0))
        .unwrap_or(ctx.now);
    let rollout = ctx.rollout_before(crate::llm::offline::common::plus_minutes(start, 30), 240);
    let mut deploy_text = String::new();
    if let Some(r) = &rollout {
        score += 0.07;
        let rev = ctx
            .revision()
            .map(|v| format!("revision {v}"))
            .unwrap_or_else(|| format!("deploy/{}", ctx.deployment));
        deploy_text = format!(" since the deploy of {rev} at {}", hm(r.at));
        f.for_(format!("deploy at {}: {}", hm(r.at), quote(r.message, 90)));
        f.at(r.at, format!("rollout of {rev}"));
    }
    let hint = ctx
        .logs
        .iter()
        // Runtimes that report a leak themselves (Node's "Possible EventEmitter memory leak
        // detected", leak detectors): an application's own cache wording is not matched.
        .find(|l| l.lower.contains("memory leak"))
        .map(|l| quote(&l.rec.body, 120));
    if let Some(h) = &hint {
        f.for_(format!("log: \"{h}\""));
        growth_text.push_str(&format!(" (the logs point at the leak: \"{h}\")"));
    }
    if growing && !load_driven {
        f.root_cause = format!(
            "{} is OOMKilled (exit code 137, {}) by a memory leak: {growth_text}{deploy_text}{load_text}.",
            ctx.deployment,
            plural(u64::from(restarts), "restart")
        );
        f.summary = format!("{} leaks memory until it is OOMKilled.", ctx.deployment);
    } else if growing {
        f.cause = format!(
            "{} OOMKilled: memory limit too low for the load",
            ctx.deployment
        );
        f.root_cause = format!(
            "{} is OOMKilled (exit code 137): {growth_text} as traffic grows — the {limit_text} memory limit is too low for the load (or memory leaks under load).",
            ctx.deployment
        );
        f.summary = format!("{} runs out of memory under higher load.", ctx.deployment);
    } else {
        f.root_cause = format!(
            "{} is OOMKilled (exit code 137, {}): its memory reaches the {limit_text} limit{deploy_text} — a memory leak or a limit too low for the workload.",
            ctx.deployment,
            plural(u64::from(restarts), "restart")
        );
        f.summary = format!("{} is OOMKilled at its memory limit.", ctx.deployment);
    }
    let pod = killed
        .first()
        .map(|(p, _)| p.name.clone())
        .unwrap_or_else(|| format!("-l app={}", ctx.service));
    f.cmd(
        "Memory use per container now",
        format!(
            "kubectl top pod -n {} -l app={} --containers",
            ctx.ns, ctx.service
        ),
    );
    f.cmd(
        "Confirm the OOM kills (Last State)",
        ctx.kubectl(&format!("describe pod {pod}")),
    );
    if rollout.is_some() {
        f.cmd(
            "Roll back the release that introduced the leak",
            ctx.kubectl_deploy("rollout undo"),
        );
    }
    if let Some(l) = limit {
        f.cmd(
            "Stopgap: raise the memory limit to buy time (does not fix a leak)",
            ctx.kubectl(&format!(
                "set resources deploy/{} --limits=memory={}Mi",
                ctx.deployment,
                ((l * 1.5) / (1024.0 * 1024.0)).round()
            )),
        );
    }
    f.step(
        "Take a heap profile of a pod before it is killed and compare it with the previous release",
    );
    f.prevent("Alert on working set > 90% of the memory limit and on steady memory growth after each deploy");
    f.prevent("Soak-test releases for memory growth; size runtime heaps to the container limit (GOMEMLIMIT, -XX:MaxRAMPercentage)");
    Some(f.with_score(score.min(0.93)))
}

pub(crate) fn is_oom(c: &ContainerState) -> bool {
    c.last_termination_reason.as_deref() == Some("OOMKilled")
        || c.reason.as_deref() == Some("OOMKilled")
}
