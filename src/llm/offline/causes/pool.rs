//! Connection pool exhausted (MongoDB client pool): the pool's state read from the driver's
//! metrics (`db.client.connection.*`) and its log lines, and two of its causes — more concurrent
//! requests than the pool allows (a traffic spike, queries still fast) and the unexplained case
//! (the seed's wording, and the "pool not exhausted" distractor). The slow-query cause is in
//! [`super::slow_query`].

use chrono::{DateTime, Utc};

use super::slow_query::query_slowdown;
use super::traffic::{flat_traffic_text, traffic};
use crate::llm::offline::common::{Ctx, Finding, LogLine, Series, arrow, hm, mongosh, num, quote};

const POOL_NEEDLES: &[&str] = &[
    "waitqueuetimeout",
    "wait queue",
    "pool exhausted",
    "checking out a connection",
    "checkout a connection",
    "connection pool",
    "maxpoolsize",
    "pool is full",
    "pool cleared",
];

/// What the evidence says about the connection pool.
pub(crate) struct Pool<'c> {
    pub(crate) in_use: Option<&'c Series>,
    pub(crate) max: Option<f64>,
    pub(crate) wait: Option<&'c Series>,
    pub(crate) exhausted: bool,
    pub(crate) since: Option<DateTime<Utc>>,
    pub(crate) log: Option<String>,
    pub(crate) log_count: usize,
}

impl Pool<'_> {
    pub(crate) fn has_data(&self) -> bool {
        self.in_use.is_some() || self.wait.is_some() || self.log_count > 0
    }
    /// "100/100 in use, 37 waiting".
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        match (self.in_use, self.max) {
            (Some(u), Some(m)) => {
                parts.push(format!("{}/{} connections in use", num(u.peak()), num(m)))
            }
            (Some(u), None) => parts.push(format!("{} connections in use", num(u.peak()))),
            _ => {}
        }
        if let Some(w) = self.wait.filter(|w| w.peak() >= 1.0) {
            parts.push(format!("{} requests waiting", num(w.peak())));
        }
        if parts.is_empty()
            && let Some(l) = &self.log
        {
            parts.push(format!("logs: \"{l}\""));
        }
        parts.join(", ")
    }
    pub(crate) fn add_metrics(&self, f: &mut Finding) {
        if let Some(u) = self.in_use {
            let v = match self.max {
                Some(m) => format!("{}/{}", num(u.peak()), num(m)),
                None => num(u.peak()),
            };
            f.metric("pool in use", v);
        }
        if let Some(w) = self.wait {
            f.metric("pool wait queue", arrow(w, ""));
        }
    }
}

pub(crate) fn pool<'c>(ctx: &'c Ctx<'_>) -> Pool<'c> {
    let in_use = ctx.series("mongodb_pool_in_use");
    let max = ctx
        .series("mongodb_pool_max")
        .map(|s| s.last())
        .filter(|m| *m > 0.0);
    let wait = ctx.series("mongodb_pool_wait_queue");
    let logs: Vec<&LogLine<'_>> = ctx
        .logs_with(POOL_NEEDLES)
        .into_iter()
        .filter(|l| {
            [
                "timeout",
                "timed out",
                "exhaust",
                "waiting",
                "full",
                "unable",
                "error",
            ]
            .iter()
            .any(|n| l.lower.contains(n))
        })
        .collect();
    let mut exhausted = false;
    if let Some(u) = in_use {
        match max {
            Some(m) => exhausted |= u.peak() >= 0.9 * m,
            None => {
                let peak = u.peak();
                let at_peak = u.points.iter().filter(|p| p.1 >= 0.99 * peak).count();
                exhausted |= at_peak >= 3 && u.rise(1.0) >= 1.5;
            }
        }
    }
    if let Some(w) = wait {
        exhausted |= w.peak() >= 1.0 && w.baseline() <= w.peak() / 2.0;
    }
    exhausted |= !logs.is_empty();
    let since = in_use
        .and_then(|u| u.change_point(1.3, 1.0))
        .or_else(|| wait.and_then(|w| w.change_point(2.0, 0.5)))
        .map(|c| c.0)
        .or_else(|| logs.first().and_then(|l| l.ts));
    Pool {
        in_use,
        max,
        wait,
        exhausted,
        since,
        log: logs.first().map(|l| quote(&l.rec.body, 120)),
        log_count: logs.len(),
    }
}

/// Replicas to scale to: twice the current desired count (at least 2).
fn scale_target(ctx: &Ctx<'_>) -> u32 {
    ctx.services
        .iter()
        .filter_map(|s| s.deployment.as_ref())
        .find(|d| d.name == ctx.deployment)
        .map(|d| (d.desired * 2).max(2))
        .unwrap_or(4)
}

pub(crate) fn scale_cmd(f: &mut Finding, ctx: &Ctx<'_>, why: &str) {
    f.cmd(
        why.to_string(),
        ctx.kubectl(&format!(
            "scale deploy/{} --replicas={}",
            ctx.deployment,
            scale_target(ctx)
        )),
    );
}

/// Pool exhausted by more concurrent requests (traffic spike), queries still fast.
pub(crate) fn pool_traffic(ctx: &Ctx<'_>) -> Option<Finding> {
    let p = pool(ctx);
    let t = traffic(ctx);
    let (op, _) = query_slowdown(ctx);
    let mut f = Finding::new(
        "pool-traffic",
        format!("Traffic spike exhausting {}'s connection pool", ctx.service),
    );
    let Some((ratio, rate)) = t else {
        if p.has_data() || !ctx.mentions(&["pool"]) {
            return None;
        }
        f.for_(
            "a burst of concurrent requests exhausts a fixed-size pool even when queries are fast",
        );
        f.missing("no http_server_request_rate data to confirm a traffic spike");
        f.cmd(
            "Check the current request load and replicas",
            ctx.kubectl(&format!("get hpa,deploy/{}", ctx.deployment)),
        );
        return Some(f.with_score(0.3));
    };
    if !p.exhausted && !ctx.mentions(&["pool"]) {
        return None;
    }
    if ratio < 2.0 {
        let mut r = Finding::rejected(
            "pool-traffic",
            "Traffic spike exhausting the pool",
            vec![format!("load is flat: {}", flat_traffic_text(rate))],
        );
        r.cmd(
            "Check the load",
            ctx.kubectl(&format!("top pod -l app={}", ctx.service)),
        );
        return Some(r);
    }
    let mut score: f64 = 0.45;
    let since = rate.change_point(1.5, 1.0).map(|c| c.0);
    f.for_(format!(
        "request rate rose {}x ({} req/s){}",
        num(ratio),
        arrow(rate, ""),
        since
            .map(|t| format!(" from {}", hm(t)))
            .unwrap_or_default()
    ));
    f.at_opt(since, format!("traffic rises ({} req/s)", arrow(rate, "")));
    f.metric("request rate", format!("{} req/s", arrow(rate, "")));
    if p.exhausted {
        score += 0.3;
        f.for_(format!("connection pool exhausted: {}", p.describe()));
        f.at_opt(p.since, "connection pool saturates");
    }
    p.add_metrics(&mut f);
    let mut op_text = String::new();
    if let Some((o, cp)) = op {
        if cp.is_none() {
            score += 0.15;
            op_text = format!(
                " while MongoDB op p99 stayed normal ({} → {} ms) — queries are fast, there are simply more concurrent requests than the pool's {} connections",
                num(o.baseline()),
                num(o.last()),
                p.max.map(num).unwrap_or_else(|| "configured".into())
            );
            f.for_(format!(
                "queries fast: op p99 {} → {} ms",
                num(o.baseline()),
                num(o.last())
            ));
        } else {
            score -= 0.1;
            f.against(format!("op p99 also rose ({})", arrow(o, " ms")));
        }
        f.metric("op p99", arrow(o, " ms"));
    }
    if let Some(r) = ctx.rollout_before(ctx.now, 120) {
        f.against(format!("a rollout happened at {}", hm(r.at)));
    } else if !ctx.events.is_empty() {
        f.for_("no deploy in the events");
    }
    f.root_cause = format!(
        "The MongoDB connection pool of {} is exhausted ({}) by a traffic spike: request rate rose {}x ({} req/s){}{}; scale out (or raise maxPoolSize) to absorb the load.",
        ctx.service,
        p.describe(),
        num(ratio),
        arrow(rate, ""),
        since
            .map(|t| format!(" from {}", hm(t)))
            .unwrap_or_default(),
        op_text
    );
    f.summary = format!(
        "{}'s connection pool is exhausted by a {}x traffic spike; scale out.",
        ctx.service,
        num(ratio)
    );
    scale_cmd(
        &mut f,
        ctx,
        "Scale out so the load spreads over more pools (check MongoDB's connection limit first)",
    );
    f.cmd("Check the HPA's limits", ctx.kubectl("get hpa -o wide"));
    f.cmd(
        "Check MongoDB's connection headroom before raising maxPoolSize",
        mongosh("db.serverStatus().connections"),
    );
    f.step("Find the traffic source (new client, retry storm, bot) and rate-limit it if it is not legitimate");
    f.prevent("Autoscale on request rate / pool wait queue and size replicas × maxPoolSize within MongoDB's connection limit");
    f.prevent("Alert on pool wait queue > 0 and on request rate > 2x baseline");
    Some(f.with_score(score.min(0.92)))
}

/// Pool exhausted with no clear explanation; the pool-not-exhausted distractor; the seed text.
pub(crate) fn pool_exhausted(ctx: &Ctx<'_>) -> Option<Finding> {
    let p = pool(ctx);
    let mut f = Finding::new(
        "pool-exhausted",
        format!("Connection pool exhausted in {}", ctx.service),
    );
    let generic_actions = |f: &mut Finding| {
        f.cmd(
            "See what holds the connections (operations running > 5 s)",
            mongosh("db.currentOp({secs_running: {$gt: 5}})"),
        );
        f.cmd(
            "Check for a recent deploy",
            ctx.kubectl_deploy("rollout history"),
        );
        f.cmd(
            "Check the load on the pods",
            format!("kubectl top pod -n {} -l app={}", ctx.ns, ctx.service),
        );
        scale_cmd(
            f,
            ctx,
            "Relieve the pool now: scale out (each replica brings its own connection pool)",
        );
        f.cmd(
            "Check MongoDB's connection headroom (before raising maxPoolSize)",
            mongosh("db.serverStatus().connections"),
        );
        f.prevent("Alert on connection pool wait queue > 0 and in-use ≥ 90% of maxPoolSize, before requests fail");
        f.prevent("Set maxTimeMS / socket timeouts so slow operations release connections, and size replicas × maxPoolSize within MongoDB's limit");
        f.prevent("Autoscale (HPA) so the service can scale out under load");
    };
    if !p.has_data() {
        if !ctx.mentions(&["pool"]) {
            return None;
        }
        f.root_cause = format!(
            "The database (MongoDB) connection pool of {} is exhausted (per the alert): every connection is checked out and new requests wait for one — most often slow queries holding connections (typically after a deploy) or more concurrent requests than maxPoolSize allows; confirm which with the commands below, then roll back or scale out.",
            ctx.service
        );
        f.summary = format!(
            "{}'s database connection pool is exhausted; find whether slow queries or load hold the connections, then roll back or scale.",
            ctx.service
        );
        f.cite_alert(ctx);
        f.missing(format!(
            "no connection pool metrics (mongodb_pool_in_use, mongodb_pool_max, mongodb_pool_wait_queue) for {}",
            ctx.service
        ));
        generic_actions(&mut f);
        return Some(f.with_score(0.45));
    }
    if !p.exhausted {
        let mut r = Finding::rejected(
            "pool-exhausted",
            "Connection pool exhaustion",
            vec![format!("pool not exhausted: {}", {
                let d = p.describe();
                if d.is_empty() {
                    "no wait queue".to_string()
                } else {
                    d
                }
            })],
        );
        if let Some(w) = p.wait {
            r.against(format!("wait queue peak {}", num(w.peak())));
        }
        return Some(r);
    }
    f.for_(format!("connection pool exhausted: {}", p.describe()));
    if let Some(l) = &p.log {
        f.for_(format!("{} pool log lines like \"{l}\"", p.log_count));
    }
    f.at_opt(p.since, "connection pool starts filling up");
    p.add_metrics(&mut f);
    f.root_cause = format!(
        "The MongoDB connection pool of {} is exhausted ({}): all connections are checked out and requests queue for one; neither a traffic rise nor a query slowdown explains it, so connections are most likely held or leaked by the application.",
        ctx.service,
        p.describe()
    );
    f.summary = format!("{}'s MongoDB connection pool is exhausted.", ctx.service);
    generic_actions(&mut f);
    Some(f.with_score(0.5))
}
