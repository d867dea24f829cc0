//! Traffic and latency, and the service's own regression: cross-agent checks that usually end up
//! as rejected distractors ("traffic flat", "no rollout, pods healthy") beside the real cause.

use crate::evidence::PodState;
use crate::llm::offline::common::{Ctx, Finding, REJECTED, Series, arrow, hm, num, plural, quote};

/// Request-rate shape: `Some((ratio peak/baseline, series))`.
pub(crate) fn traffic<'c>(ctx: &'c Ctx<'_>) -> Option<(f64, &'c Series)> {
    let s = ctx.series("http_server_request_rate")?;
    Some((s.rise(0.01), s))
}

/// "request rate flat at 120 req/s (118 → 121 req/s)", or "request rate up only 1.3x (…)".
pub(crate) fn flat_traffic_text(s: &Series) -> String {
    let ratio = s.rise(0.01);
    if ratio < 1.2 {
        format!(
            "request rate flat at {} req/s ({} → {} req/s)",
            num(s.baseline()),
            num(s.first()),
            num(s.last())
        )
    } else {
        format!(
            "request rate up only {}x ({} → {} req/s)",
            num(ratio),
            num(s.baseline()),
            num(s.peak())
        )
    }
}

/// "A regression in the service itself (recent deploy or unhealthy pods)": usually a distractor
/// for upstream problems; rejected when there was no rollout and the pods are healthy.
pub(crate) fn own_regression(ctx: &Ctx<'_>) -> Option<Finding> {
    let rollout = ctx
        .rollout_before(ctx.now, 120)
        .filter(|r| r.object.contains(&ctx.deployment) || r.message.contains(&ctx.deployment));
    let mine: Vec<&&PodState> = ctx
        .pods
        .iter()
        .filter(|p| p.name.starts_with(&ctx.deployment))
        .collect();
    let restarts: u32 = mine.iter().map(|p| p.restarts()).sum();
    let not_ready = mine.iter().filter(|p| !p.ready).count();
    let mut f = Finding::new(
        "own-regression",
        format!(
            "A regression in {} itself (recent deploy or unhealthy pods)",
            ctx.service
        ),
    );
    let mut score: f64 = 0.0;
    match &rollout {
        Some(r) => {
            score += 0.25;
            f.for_(format!(
                "rollout at {}: {}",
                hm(r.at),
                quote(r.message, 100)
            ));
        }
        None if !ctx.events.is_empty() => f.against(format!(
            "no rollout of {} in the recent events",
            ctx.deployment
        )),
        None => {}
    }
    if !mine.is_empty() {
        if restarts == 0 && not_ready == 0 {
            f.against(format!(
                "own pods healthy: {}/{} ready, 0 restarts",
                mine.len(),
                mine.len()
            ));
        } else {
            score += 0.1;
            f.for_(format!(
                "{} of {} pods not ready, {}",
                not_ready,
                mine.len(),
                plural(u64::from(restarts), "restart")
            ));
        }
    }
    if f.evidence_for.is_empty() && f.evidence_against.is_empty() {
        return None;
    }
    if score == 0.0 {
        score = REJECTED;
    }
    f.cmd(
        "Check recent rollouts",
        ctx.kubectl_deploy("rollout history"),
    );
    Some(f.with_score(score))
}

/// Traffic surge or latency regression of the service: a distractor for certificate and DNS
/// problems (and the cause when nothing else explains a saturation).
pub(crate) fn traffic_latency(ctx: &Ctx<'_>) -> Option<Finding> {
    let rate = ctx.series("http_server_request_rate");
    let p99 = ctx.series("http_server_duration_p99");
    if rate.is_none() && p99.is_none() {
        return None;
    }
    let mut f = Finding::new(
        "traffic-latency",
        format!("Traffic spike or latency regression in {}", ctx.service),
    );
    let mut score: f64 = 0.0;
    if let Some(r) = rate {
        if r.rise(0.01) >= 2.0 {
            score += 0.3;
            f.for_(format!(
                "request rate rose {}x ({} req/s)",
                num(r.rise(0.01)),
                arrow(r, "")
            ));
        } else {
            f.against(flat_traffic_text(r));
        }
    }
    if let Some(p) = p99 {
        if p.rise(1.0) >= 3.0 {
            score += 0.15;
            f.for_(format!("p99 latency {}", arrow(p, " ms")));
        } else {
            f.against(format!("p99 latency normal at {} ms", num(p.baseline())));
        }
    }
    Some(f.with_score(if score == 0.0 { REJECTED } else { score }))
}
