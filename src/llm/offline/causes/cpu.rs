//! CPU: throttling by a CPU limit too low for the service (CFS periods throttled while the node
//! is idle), node CPU saturation, and CPU saturation from a traffic surge with the HPA at its
//! maximum.

use super::traffic::{flat_traffic_text, traffic};
use crate::evidence::KubeEvent;
use crate::llm::offline::common::{
    Ctx, Finding, arrow, contains_ci, hm, num, pct, quote, word_after,
};
use crate::llm::offline::common::{NODE_LABELS, format_ratio_arrow, parse_quantity};

/// CPU throttling from a too-low CPU limit while the node has idle CPU.
pub(crate) fn cpu_throttling(ctx: &Ctx<'_>) -> Option<Finding> {
    let thr = ctx.series("container_cpu_throttled_ratio")?;
    if thr.peak() < 0.25 {
        let mut r = crate::llm::offline::common::Finding::rejected(
            "cpu-throttling",
            "CPU throttling by a too-low CPU limit",
            vec![format!(
                "no throttling from limits: throttled ratio at most {}",
                pct(thr.peak())
            )],
        );
        r.cmd(
            "CPU use per pod",
            format!("kubectl top pod -n {} -l app={}", ctx.ns, ctx.service),
        );
        return Some(r);
    }
    let mut f = Finding::new(
        "cpu-throttling",
        format!("{} throttled by its CPU limit", ctx.deployment),
    );
    let mut score: f64 = 0.55;
    f.for_(format!("CPU throttled ratio {}", format_ratio_arrow(thr)));
    f.metric("CPU throttled", format_ratio_arrow(thr));
    if let Some((at, _)) = thr.change_point(2.0, 0.1) {
        f.at(at, format!("CPU throttling rises to {}", pct(thr.peak())));
    }
    let mut node_text = String::new();
    if let Some(n) = ctx.series("node_cpu_used_ratio") {
        if n.peak() < 0.6 {
            score += 0.2;
            node_text = format!(" while the node's CPU is only {} used", pct(n.peak()));
            f.for_(format!(
                "node not saturated: node CPU at most {}",
                pct(n.peak())
            ));
        } else {
            f.against(format!("node CPU {} used", pct(n.peak())));
        }
        f.metric("node CPU used", pct(n.peak()));
    }
    let mut usage_text = String::new();
    if let Some(u) = ctx.series("container_cpu_usage_ratio") {
        if u.peak() >= 0.8 {
            score += 0.1;
            usage_text = format!(" — the container runs at {} of its limit", pct(u.peak()));
        }
        f.metric("CPU used / limit", pct(u.peak()));
    }
    if let Some(p) = ctx.series("http_server_duration_p99")
        && p.rise(1.0) >= 2.0
    {
        score += 0.05;
        f.for_(format!("p99 latency {}", arrow(p, " ms")));
        f.metric("p99 latency", arrow(p, " ms"));
    }
    let mut traffic_text = String::new();
    if let Some((ratio, rate)) = traffic(ctx) {
        if ratio < 1.5 {
            traffic_text = format!("; {}", flat_traffic_text(rate));
            f.for_(flat_traffic_text(rate));
        } else {
            score -= 0.1;
            f.against(format!("request rate rose {}x", num(ratio)));
        }
    }
    if let Some(l) = ctx
        .logs
        .iter()
        // Go sizes its scheduler from GOMAXPROCS, the host's CPUs unless set (or automaxprocs).
        .find(|l| l.lower.contains("gomaxprocs"))
    {
        f.for_(format!("startup log: \"{}\"", quote(&l.rec.body, 120)));
        traffic_text.push_str(&format!(
            "; the app sizes its worker threads from the host's CPUs, not its limit (\"{}\")",
            quote(&l.rec.body, 100)
        ));
    }
    let limit = ctx
        .pods
        .iter()
        .flat_map(|p| p.containers.iter())
        .find_map(|c| c.cpu_limit.clone());
    let limit_text = limit.clone().map(|l| format!(" ({l})")).unwrap_or_default();
    f.root_cause = format!(
        "{}'s latency comes from CPU throttling: {} of CFS periods are throttled because its CPU limit{limit_text} is too low{usage_text}{node_text}{traffic_text}.",
        ctx.deployment,
        pct(thr.peak())
    );
    f.summary = format!(
        "{} is throttled by a CPU limit that is too low ({} of periods throttled).",
        ctx.deployment,
        pct(thr.peak())
    );
    f.cmd(
        "CPU use per pod against its limit",
        format!(
            "kubectl top pod -n {} -l app={} --containers",
            ctx.ns, ctx.service
        ),
    );
    f.cmd(
        "The current requests and limits",
        ctx.kubectl(&format!(
            "get deploy/{} -o jsonpath='{{.spec.template.spec.containers[*].resources}}'",
            ctx.deployment
        )),
    );
    let new_limit = limit
        .as_deref()
        .and_then(|l| {
            let cores = parse_quantity(l)?;
            Some(format!("{}m", ((cores * 2.0) * 1000.0).round()))
        })
        .unwrap_or_else(|| "2".into());
    f.cmd(
        "Raise (or remove) the CPU limit",
        ctx.kubectl(&format!(
            "set resources deploy/{} --limits=cpu={new_limit}",
            ctx.deployment
        )),
    );
    f.prevent("Set CPU requests from observed usage and avoid tight CPU limits for latency-sensitive services");
    f.prevent("Alert on container_cpu_throttled_ratio > 25% for 10 minutes");
    Some(f.with_score(score.min(0.92)))
}

/// Node CPU saturated (noisy neighbours): usually the distractor for throttling.
pub(crate) fn node_cpu_saturation(ctx: &Ctx<'_>) -> Option<Finding> {
    let n = ctx.series("node_cpu_used_ratio")?;
    if n.peak() < 0.85 {
        return Some(Finding::rejected(
            "node-cpu",
            "Node CPU saturated",
            vec![format!(
                "node not saturated: node CPU at most {}",
                pct(n.peak())
            )],
        ));
    }
    let mut f = Finding::new("node-cpu", "Node CPU saturated");
    f.for_(format!("node CPU {}", format_ratio_arrow(n)));
    f.metric("node CPU used", pct(n.peak()));
    let node = n.label(NODE_LABELS).unwrap_or("<node>").to_string();
    f.root_cause = format!(
        "The node running {} is CPU-saturated ({} used): pods compete for CPU on {node}.",
        ctx.deployment,
        pct(n.peak())
    );
    f.summary = format!("Node CPU is saturated ({}).", pct(n.peak()));
    f.cmd(
        "Top CPU consumers",
        "kubectl top pods -A --sort-by=cpu | head -20".to_string(),
    );
    f.cmd("Node usage", "kubectl top nodes".to_string());
    Some(f.with_score(0.5))
}

/// HPA events showing the autoscaler pinned at its maximum.
fn hpa_at_max<'a>(ctx: &Ctx<'a>) -> (Vec<&'a KubeEvent>, bool) {
    let hpa: Vec<&KubeEvent> = ctx
        .events
        .iter()
        .copied()
        .filter(|e| {
            e.object.starts_with("HorizontalPodAutoscaler/")
                || matches!(
                    e.reason.as_str(),
                    "SuccessfulRescale" | "ScalingLimited" | "TooManyReplicas"
                )
        })
        .collect();
    let at_max = hpa.iter().any(|e| {
        ["max", "toomanyreplicas", "scalinglimited"]
            .iter()
            .any(|n| contains_ci(&e.message, n) || contains_ci(&e.reason, n))
    });
    (hpa, at_max)
}

/// CPU saturation from a traffic surge, HPA at max replicas.
pub(crate) fn cpu_traffic(ctx: &Ctx<'_>) -> Option<Finding> {
    let (ratio, rate) = traffic(ctx)?;
    let cpu = ctx.series("container_cpu_usage_ratio");
    let (hpa, at_max) = hpa_at_max(ctx);
    let mut f = Finding::new(
        "cpu-traffic",
        format!("Traffic surge saturating {}'s CPU", ctx.deployment),
    );
    if ratio < 2.0 {
        if cpu.is_none() && hpa.is_empty() {
            return None;
        }
        return Some(Finding::rejected(
            "cpu-traffic",
            "Traffic surge saturating CPU",
            vec![format!("traffic flat: {}", flat_traffic_text(rate))],
        ));
    }
    let mut score: f64 = 0.45;
    let since = rate.change_point(1.5, 1.0).map(|c| c.0);
    f.for_(format!(
        "request rate rose {}x ({} req/s)",
        num(ratio),
        arrow(rate, "")
    ));
    f.at_opt(
        since,
        format!("traffic surge starts ({} req/s)", arrow(rate, "")),
    );
    f.metric("request rate", format!("{} req/s", arrow(rate, "")));
    let mut cpu_text = String::new();
    if let Some(c) = cpu {
        if c.peak() >= 0.8 {
            score += 0.15;
            cpu_text = format!(", so each pod runs at {} of its CPU limit", pct(c.peak()));
        }
        f.for_(format!("CPU used/limit {}", format_ratio_arrow(c)));
        f.metric("CPU used / limit", format_ratio_arrow(c));
    }
    // The HPA's last rescale is long past while CPU stays high: it is pinned at its maximum.
    let last_rescale = hpa.iter().rev().find_map(|e| e.timestamp);
    let pinned = !at_max
        && last_rescale.is_some_and(|t| (ctx.now - t).num_minutes() >= 10)
        && cpu.is_some_and(|c| c.last() >= 0.8);
    let at_max = at_max || pinned;
    let hpa_text = if at_max {
        score += 0.25;
        let e = hpa
            .iter()
            .rev()
            .find(|e| contains_ci(&e.message, "max") || contains_ci(&e.reason, "limited"))
            .or(hpa.last());
        if let Some(e) = e {
            f.cite_reason(
                e,
                120,
                format!("HPA at its maximum: {}", quote(&e.message, 80)),
            );
        }
        let max = hpa
            .iter()
            .rev()
            .find_map(|e| word_after(&e.message, "New size:"))
            .map(|n| format!(" of {} replicas", n.trim_end_matches(';')))
            .unwrap_or_default();
        format!("and the HPA is already at its maximum{max} and cannot add capacity")
    } else if !hpa.is_empty() {
        score += 0.1;
        for e in hpa.iter().take(2) {
            f.at_opt(e.timestamp, format!("HPA: {}", quote(&e.message, 80)));
        }
        "and the HPA is scaling but not fast/far enough".to_string()
    } else {
        f.missing("no HPA events: could not confirm whether the autoscaler reached its maximum");
        "and the HPA did not add enough replicas".to_string()
    };
    if let Some(t) = ctx.series("container_cpu_throttled_ratio") {
        if t.peak() < 0.25 {
            score += 0.05;
            f.for_(format!(
                "no throttling from limits: throttled ratio {}",
                pct(t.peak())
            ));
        } else {
            f.against(format!("CPU throttled {} too", pct(t.peak())));
        }
    }
    f.root_cause = format!(
        "CPU saturation in {} comes from a traffic surge: the request rate rose {}x ({} req/s{}) {hpa_text}{cpu_text}.",
        ctx.deployment,
        num(ratio),
        arrow(rate, ""),
        since
            .map(|t| format!(" from {}", hm(t)))
            .unwrap_or_default()
    );
    f.summary = format!(
        "{} is CPU-saturated by a {}x traffic surge with the HPA at its limit.",
        ctx.deployment,
        num(ratio)
    );
    f.cmd(
        "HPA state (current vs max replicas)",
        ctx.kubectl("get hpa -o wide"),
    );
    f.cmd(
        "Raise the HPA's ceiling if the cluster has room",
        ctx.kubectl(&format!(
            "patch hpa {} --patch '{{\"spec\":{{\"maxReplicas\":{}}}}}'",
            ctx.deployment,
            2 * ctx
                .services
                .iter()
                .filter_map(|s| s.deployment.as_ref())
                .find(|d| d.name == ctx.deployment)
                .map(|d| d.desired.max(1))
                .unwrap_or(10)
        )),
    );
    f.cmd(
        "CPU per pod",
        format!("kubectl top pod -n {} -l app={}", ctx.ns, ctx.service),
    );
    f.step("Find where the traffic comes from (new client, bot, retry storm) and rate-limit it if it is not legitimate");
    f.prevent(
        "Size the HPA's maxReplicas for peak traffic and alert when it sits at max for 10 minutes",
    );
    f.prevent("Load-test to know requests/s per pod; rate-limit at the edge");
    Some(f.with_score(score.min(0.92)))
}
