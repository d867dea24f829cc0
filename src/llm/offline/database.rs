//! Database (MongoDB) agent detectors: connection pool exhausted and *why* (slow query after a
//! deploy, traffic spike, or unexplained), missing index (COLLSCAN), replication lag,
//! authentication failure after a Secret rotation, network reachability and slow primary; plus
//! the cross-agent OOM and crash-loop checks.

use chrono::{DateTime, Utc};

use super::causes::traffic::{flat_traffic_text, traffic};
use super::common::{
    Ctx, Detector, Finding, LogLine, Series, arrow, contains_ci, hm, num, plural, quote, word_after,
};
use super::{kubernetes, resource};

pub(crate) const DETECTORS: &[Detector] = &[
    pool_slow_query,
    pool_traffic,
    pool_exhausted,
    missing_index,
    replication_lag,
    auth_failure,
    db_network,
    slow_primary,
    resource::oom,
    kubernetes::crashloop,
];

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
struct Pool<'c> {
    in_use: Option<&'c Series>,
    max: Option<f64>,
    wait: Option<&'c Series>,
    exhausted: bool,
    since: Option<DateTime<Utc>>,
    log: Option<String>,
    log_count: usize,
}

impl Pool<'_> {
    fn has_data(&self) -> bool {
        self.in_use.is_some() || self.wait.is_some() || self.log_count > 0
    }
    /// "100/100 in use, 37 waiting".
    fn describe(&self) -> String {
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
    fn add_metrics(&self, f: &mut Finding) {
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

fn pool<'c>(ctx: &'c Ctx<'_>) -> Pool<'c> {
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

/// Slow-query log lines (profiler/slow-op entries), first ones.
fn slow_logs<'c>(ctx: &'c Ctx<'_>) -> Vec<&'c LogLine<'c>> {
    ctx.logs
        .iter()
        .filter(|l| {
            [
                "slow query",
                "slow operation",
                "plansummary",
                "durationmillis",
                "collscan",
            ]
            .iter()
            .any(|n| l.lower.contains(n))
        })
        .collect()
}

/// `shop.orders` from a slow-query log line (`"ns":"shop.orders"`, `ns: shop.orders`).
fn namespace_of(lines: &[&LogLine<'_>]) -> Option<String> {
    lines.iter().find_map(|l| {
        l.rec
            .attributes
            .get("ns")
            .or_else(|| l.rec.attributes.get("db.collection"))
            .cloned()
            .or_else(|| word_after(&l.rec.body, "\"ns\""))
            .or_else(|| word_after(&l.rec.body, "ns:"))
            .or_else(|| word_after(&l.rec.body, "ns="))
            .filter(|n| n.contains('.'))
    })
}

/// `db.getSiblingDB("shop").orders` or `db.<collection>`.
fn coll_expr(ns: Option<&str>) -> String {
    match ns.and_then(|n| n.split_once('.')) {
        Some((db, coll)) => format!("db.getSiblingDB(\"{db}\").{coll}"),
        None => "db.<collection>".into(),
    }
}

fn mongosh(eval: &str) -> String {
    format!("mongosh \"$MONGODB_URI\" --quiet --eval '{eval}'")
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

fn scale_cmd(f: &mut Finding, ctx: &Ctx<'_>, why: &str) {
    f.cmd(
        why.to_string(),
        ctx.kubectl(&format!(
            "scale deploy/{} --replicas={}",
            ctx.deployment,
            scale_target(ctx)
        )),
    );
}

/// A series and when it departed from its baseline (`None`: it did not).
type Shift<'c> = (&'c Series, Option<DateTime<Utc>>);

/// Operation latency and slow-query change: `(op series, change time)`, `(slow series, change)`.
fn query_slowdown<'c>(ctx: &'c Ctx<'_>) -> (Option<Shift<'c>>, Option<Shift<'c>>) {
    let op = ctx.series("mongodb_op_duration_p99").map(|s| {
        let cp = (s.rise(1.0) >= 3.0)
            .then(|| s.change_point(3.0, 50.0).map(|c| c.0))
            .flatten();
        (s, cp)
    });
    let slow = ctx.series("mongodb_slow_queries").map(|s| {
        let cp = (s.rise(1.0) >= 3.0)
            .then(|| s.change_point(3.0, 3.0).map(|c| c.0))
            .flatten();
        (s, cp)
    });
    (op, slow)
}

/// Pool exhausted because a query got slow — ideally right after a deploy — with flat traffic.
fn pool_slow_query(ctx: &Ctx<'_>) -> Option<Finding> {
    let p = pool(ctx);
    let (op, slow) = query_slowdown(ctx);
    let jumped = op.and_then(|o| o.1).or(slow.and_then(|s| s.1));
    let slow_lines = slow_logs(ctx);
    let collscan = slow_lines.iter().any(|l| l.lower.contains("collscan"));
    let traffic = traffic(ctx);
    let mut f = Finding::new(
        "pool-slow-query",
        format!(
            "Slow query (after a deploy) holding {}'s pool connections",
            ctx.service
        ),
    );
    if !p.has_data() && op.is_none() && slow.is_none() {
        if !ctx.mentions(&["pool"]) {
            return None;
        }
        f.cause = "Slow queries holding pool connections (often after a deploy)".into();
        f.for_("the usual cause of pool exhaustion with steady traffic");
        f.missing(
            "no mongodb_op_duration_p99 / mongodb_slow_queries data to confirm a query slowdown",
        );
        f.cmd(
            "Find operations running for more than 5 s",
            mongosh("db.currentOp({secs_running: {$gt: 5}})"),
        );
        f.cmd(
            "Was there a recent deploy?",
            ctx.kubectl(&format!("rollout history deploy/{}", ctx.deployment)),
        );
        return Some(f.with_score(0.35));
    }
    let Some(change) = jumped else {
        if !p.exhausted {
            return None;
        }
        let mut r = Finding::rejected(
            "pool-slow-query",
            "Slow query introduced by a deploy",
            Vec::new(),
        );
        if let Some((o, _)) = op {
            r.against(format!(
                "queries fast: op p99 steady at {} ms (peak {} ms)",
                num(o.baseline()),
                num(o.peak())
            ));
        }
        if let Some((s, _)) = slow {
            r.against(format!("slow queries steady at {}/min", num(s.baseline())));
        }
        if ctx.rollout_before(ctx.now, 180).is_none() && !ctx.events.is_empty() {
            r.against(format!(
                "no deploy: no rollout of {} in the events",
                ctx.deployment
            ));
        }
        r.cmd(
            "Find operations running for more than 5 s",
            mongosh("db.currentOp({secs_running: {$gt: 5}})"),
        );
        return Some(r);
    };
    let mut score: f64 = 0.3;
    if p.exhausted {
        score += 0.3;
        f.for_(format!("connection pool exhausted: {}", p.describe()));
        f.at_opt(p.since, "connection pool starts filling up");
    } else if p.has_data() {
        f.against(format!("pool not exhausted: {}", p.describe()));
    }
    p.add_metrics(&mut f);
    if let Some((o, _)) = op {
        f.for_(format!("MongoDB op p99 {}", arrow(o, " ms")));
        f.metric("op p99", arrow(o, " ms"));
        if let Some((at, _)) = o.change_point(3.0, 50.0) {
            f.at(at, format!("MongoDB op p99 jumps ({})", arrow(o, " ms")));
        }
    }
    if let Some((s, _)) = slow {
        f.for_(format!("slow queries {}/min", arrow(s, "")));
        f.metric("slow queries", format!("{}/min", arrow(s, "")));
        if let Some((at, _)) = s.change_point(3.0, 3.0) {
            f.at(at, format!("slow queries rise ({}/min)", arrow(s, "")));
        }
    }
    if let Some(l) = slow_lines.first() {
        f.for_(format!("slow-query log: \"{}\"", quote(&l.rec.body, 140)));
    }
    let mut flat = String::new();
    match traffic {
        Some((ratio, s)) if ratio < 1.5 => {
            score += 0.1;
            flat = format!(
                ", while the request rate stayed flat ({} → {} req/s)",
                num(s.first()),
                num(s.last())
            );
            f.for_(flat_traffic_text(s));
            f.metric(
                "request rate",
                format!("{} → {} req/s", num(s.first()), num(s.last())),
            );
        }
        Some((ratio, s)) if ratio >= 2.0 => {
            score -= 0.3;
            f.against(format!(
                "request rate rose {}x ({} req/s)",
                num(ratio),
                arrow(s, "")
            ));
        }
        _ => {}
    }
    let rollout = ctx.rollout_before(change, 60);
    let ns = namespace_of(&slow_lines);
    let scan = if collscan {
        format!(
            "; the new query does a full collection scan (planSummary: COLLSCAN — no index supports it{})",
            ns.as_ref().map(|n| format!(" on {n}")).unwrap_or_default()
        )
    } else {
        String::new()
    };
    let slowdown = match (op, slow) {
        (Some((o, _)), Some((s, _))) => format!(
            "MongoDB op p99 went {} and slow queries {}/min",
            arrow(o, " ms"),
            arrow(s, "")
        ),
        (Some((o, _)), None) => format!("MongoDB op p99 went {}", arrow(o, " ms")),
        (None, Some((s, _))) => format!("slow queries went {}/min", arrow(s, "")),
        (None, None) => "queries slowed down".into(),
    };
    let pool_text = if p.exhausted {
        format!(
            "The MongoDB connection pool of {} is exhausted ({})",
            ctx.service,
            p.describe()
        )
    } else {
        format!("Requests of {} time out on MongoDB", ctx.service)
    };
    match rollout {
        Some(r) => {
            score += 0.22;
            let rev = ctx
                .revision()
                .map(|v| format!("revision {v}"))
                .unwrap_or_else(|| format!("deploy/{}", ctx.deployment));
            let image = ctx
                .images()
                .first()
                .map(|i| format!(", image {i}"))
                .unwrap_or_default();
            f.for_(format!("deploy at {}: {}", hm(r.at), quote(r.message, 100)));
            f.at(r.at, format!("rollout of {rev}: {}", quote(r.message, 80)));
            f.metric("deploy", format!("{rev} at {}", hm(r.at)));
            f.root_cause = format!(
                "{pool_text} because a slow query introduced by the deploy of {rev} at {}{image} holds each connection far longer: {slowdown} right after the rollout{flat}{scan}.",
                hm(r.at)
            );
            f.summary = format!(
                "{}'s connection pool is exhausted by a slow query introduced by the {} deploy; roll back, then scale if needed.",
                ctx.service,
                hm(r.at)
            );
            f.cmd(
                "Roll back the deploy that introduced the slow query",
                ctx.kubectl(&format!("rollout undo deploy/{}", ctx.deployment)),
            );
            f.cmd(
                "Watch the rollback complete",
                ctx.kubectl(&format!("rollout status deploy/{}", ctx.deployment)),
            );
        }
        None => {
            f.cause = format!("Slow queries holding {}'s pool connections", ctx.service);
            if !ctx.events.is_empty() {
                f.against(format!(
                    "no rollout of {} found before the slowdown",
                    ctx.deployment
                ));
            } else {
                f.missing("no Kubernetes events to tell whether a deploy preceded the slowdown");
            }
            f.root_cause = format!(
                "{pool_text} because a slow query holds each connection far longer: {slowdown} from {}{flat}{scan}{}.",
                hm(change),
                if ctx.events.is_empty() {
                    "; no Kubernetes events were available to check whether a deploy preceded it"
                } else {
                    "; no rollout was found right before it"
                }
            );
            f.summary = format!(
                "{}'s connection pool is exhausted by slow MongoDB queries since {}.",
                ctx.service,
                hm(change)
            );
        }
    }
    f.cmd(
        "Find the slow operations (running > 5 s)",
        mongosh("db.currentOp({secs_running: {$gt: 5}})"),
    );
    f.cmd(
        "Check the indexes of the collection the query hits",
        mongosh(&format!("{}.getIndexes()", coll_expr(ns.as_deref()))),
    );
    scale_cmd(
        &mut f,
        ctx,
        "Only if the rollback is not enough: scale out to add pool capacity (check MongoDB's connection limit)",
    );
    f.prevent("Gate deploys on a canary that watches mongodb_op_duration_p99 and slow-query rate, with automatic rollback");
    f.prevent("Review query plans (explain()) of new queries in CI; add the index with the query, not after");
    f.prevent("Alert on connection pool wait queue > 0 for 2 minutes, and set maxTimeMS on queries so a slow query cannot hold a connection indefinitely");
    Some(f.with_score(score.min(0.95)))
}

/// Pool exhausted by more concurrent requests (traffic spike), queries still fast.
fn pool_traffic(ctx: &Ctx<'_>) -> Option<Finding> {
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
fn pool_exhausted(ctx: &Ctx<'_>) -> Option<Finding> {
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
            ctx.kubectl(&format!("rollout history deploy/{}", ctx.deployment)),
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
        f.for_(format!("alert: \"{}\"", quote(&ctx.alert.title, 120)));
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

/// Queries doing a full collection scan (missing index).
fn missing_index(ctx: &Ctx<'_>) -> Option<Finding> {
    let lines: Vec<&LogLine<'_>> = ctx.logs_with(&["collscan"]);
    let (op, slow) = query_slowdown(ctx);
    let mut f = Finding::new("missing-index", "Missing index: queries do a COLLSCAN");
    if lines.is_empty() {
        if ctx.mentions(&["slow quer", "query timeout", "index", "collscan"]) {
            f.root_cause = format!(
                "Queries of {} are slow or time out (per the alert), most likely because a missing index makes them scan the whole collection (COLLSCAN).",
                ctx.service
            );
            f.summary = format!(
                "{}'s queries are slow, likely from a missing index.",
                ctx.service
            );
            f.for_(format!("alert: \"{}\"", quote(&ctx.alert.title, 120)));
            f.missing("no MongoDB slow-query logs to check the plan (COLLSCAN vs IXSCAN)");
            f.cmd(
                "Find the slow operations",
                mongosh("db.currentOp({secs_running: {$gt: 5}})"),
            );
            return Some(f.with_score(0.4).into_hint(ctx));
        }
        let ns_scan = ctx.logs_with(&["ixscan"]);
        if let Some(l) = ns_scan.first() {
            return Some(Finding::rejected(
                "missing-index",
                "Missing index (COLLSCAN)",
                vec![format!(
                    "queries use an index: \"{}\"",
                    quote(&l.rec.body, 100)
                )],
            ));
        }
        return None;
    }
    let mut score: f64 = 0.6;
    let ns = namespace_of(&lines);
    let first = lines[0];
    f.for_(format!(
        "{} log lines with planSummary: COLLSCAN, e.g. \"{}\"",
        lines.len(),
        quote(&first.rec.body, 160)
    ));
    f.at_opt(
        first.ts,
        format!("first COLLSCAN: {}", quote(&first.rec.body, 90)),
    );
    let docs = word_after(&first.rec.body, "docsExamined").and_then(|d| {
        d.trim_matches(|c: char| !c.is_ascii_digit())
            .parse::<f64>()
            .ok()
    });
    let returned = word_after(&first.rec.body, "nreturned")
        .or_else(|| word_after(&first.rec.body, "nReturned"))
        .and_then(|d| {
            d.trim_matches(|c: char| !c.is_ascii_digit())
                .parse::<f64>()
                .ok()
        });
    let mut detail = String::new();
    if let Some(d) = docs {
        detail = format!(
            ", examining {} documents{}",
            num(d),
            returned
                .map(|r| format!(" to return {}", num(r)))
                .unwrap_or_default()
        );
        f.metric("docs examined per query", num(d));
    }
    let mut tail = String::new();
    if let Some((s, cp)) = slow
        && (cp.is_some() || s.peak() >= 10.0)
    {
        score += 0.15;
        tail.push_str(&format!(", slow queries {}/min", arrow(s, "")));
        f.for_(format!("slow queries {}/min", arrow(s, "")));
        f.metric("slow queries", format!("{}/min", arrow(s, "")));
        if let Some((at, _)) = s.change_point(3.0, 3.0) {
            f.at(at, "slow queries start rising");
        }
    }
    if let Some((o, _)) = op
        && (o.rise(1.0) >= 3.0 || o.peak() >= 500.0)
    {
        score += 0.1;
        tail.push_str(&format!(", op p99 {}", arrow(o, " ms")));
        f.metric("op p99", arrow(o, " ms"));
    }
    let p = pool(ctx);
    if p.has_data() && !p.exhausted {
        f.for_(format!(
            "pool not exhausted ({}): the problem is query cost, not connections",
            p.describe()
        ));
    }
    let target = ns.clone().unwrap_or_else(|| "the collection".into());
    let dropped = ctx.logs_with(&["dropindex"]).into_iter().next();
    let aborted = ctx
        .logs_with(&["index build: aborted", "index build aborted"])
        .into_iter()
        .next();
    let mut why = String::new();
    if let Some(l) = dropped {
        score += 0.03;
        f.for_(format!("index dropped: \"{}\"", quote(&l.rec.body, 140)));
        f.at_opt(l.ts, format!("index dropped: {}", quote(&l.rec.body, 90)));
        why = format!(
            "; the old index was dropped{} (\"{}\")",
            l.ts.map(|t| format!(" at {}", hm(t))).unwrap_or_default(),
            quote(&l.rec.body, 100)
        );
    }
    if let Some(l) = aborted {
        f.for_(format!(
            "replacement index build aborted: \"{}\"",
            quote(&l.rec.body, 140)
        ));
        f.at_opt(
            l.ts,
            format!("index build aborted: {}", quote(&l.rec.body, 90)),
        );
        why.push_str(&format!(
            " and its replacement was never built (\"{}\")",
            quote(&l.rec.body, 120)
        ));
    }
    f.root_cause = format!(
        "Queries on {target} run as a full collection scan (planSummary: COLLSCAN{detail}) because no index supports their filter — a missing index — so they are slow and time out{tail}{why}."
    );
    f.summary = format!(
        "{} queries time out because a missing index forces a COLLSCAN on {target}.",
        ctx.service
    );
    let coll = coll_expr(ns.as_deref());
    f.cmd(
        "List the collection's indexes",
        mongosh(&format!("{coll}.getIndexes()")),
    );
    f.cmd(
        "Find the running scans",
        mongosh("db.currentOp({secs_running: {$gt: 5}, planSummary: \"COLLSCAN\"})"),
    );
    f.step(format!(
        "Create an index on the query's filter fields, e.g. {coll}.createIndex({{<field>: 1}}) (builds online), then confirm explain() shows IXSCAN"
    ));
    f.prevent("Run explain() on new queries in CI and fail on COLLSCAN for large collections");
    f.prevent("Set notablescan in staging and alert on mongodb_slow_queries");
    Some(f.with_score(score.min(0.9)))
}

/// Secondary replication lag growing: reads from secondaries are stale.
fn replication_lag(ctx: &Ctx<'_>) -> Option<Finding> {
    let mut f = Finding::new("replication-lag", "Secondary replication lag");
    f.cmd(
        "Show each secondary's lag",
        mongosh("rs.printSecondaryReplicationInfo()"),
    );
    f.cmd("Replica set member states", mongosh("rs.status().members"));
    let Some(s) = ctx.series("mongodb_replication_lag") else {
        let stale = ctx.logs_with(&["stale read", "secondarypreferred", "replication lag"]);
        if let Some(l) = stale.first() {
            let member = word_after(&l.lower, "served by")
                .map(|m| format!(" ({})", m.split('.').next().unwrap_or(&m)))
                .unwrap_or_default();
            f.cite_logs(stale.len(), l, "stale read");
            f.root_cause = format!(
                "Secondary{member} replication lag: reads of {} with readPreference secondaryPreferred return stale data (\"{}\"), so the secondary is behind the primary.",
                ctx.service,
                quote(&l.rec.body, 140)
            );
            f.summary = format!(
                "{} reads stale data from a lagging MongoDB secondary.",
                ctx.service
            );
            f.missing("no mongodb_replication_lag metric to measure the lag");
            return Some(f.with_score(0.65));
        }
        if ctx.mentions(&["replication", "replica lag", "lag", "secondary", "stale"]) {
            f.root_cause = format!(
                "Replication lag on the MongoDB replica set (per the alert): a secondary falls behind the primary, so reads of {} with secondaryPreferred return stale data.",
                ctx.service
            );
            f.summary = "A MongoDB secondary is lagging behind the primary.".into();
            f.missing("no mongodb_replication_lag data");
            return Some(f.with_score(0.4).into_hint(ctx));
        }
        return None;
    };
    if s.peak() < 5.0 {
        return Some(Finding::rejected(
            "replication-lag",
            "Secondary replication lag",
            vec![format!("replication lag at most {} s", num(s.peak()))],
        ));
    }
    let mut score: f64 = if s.peak() >= 10.0 { 0.6 } else { 0.4 };
    let growing = s.rising_fraction() >= 0.6 || s.last() >= 5.0 * s.baseline().max(0.5);
    if growing {
        score += 0.2;
    }
    let since = s.change_point(3.0, 2.0).map(|c| c.0);
    f.for_(format!(
        "replication lag {} s{}",
        arrow(s, ""),
        if growing { ", still growing" } else { "" }
    ));
    f.at_opt(
        since,
        format!("replication lag starts growing ({} s)", arrow(s, "")),
    );
    f.metric("replication lag", format!("{} s", arrow(s, "")));
    let stale = ctx.logs_with(&[
        "stale",
        "secondarypreferred",
        "read preference",
        "readpreference",
    ]);
    if let Some(l) = stale.first() {
        score += 0.1;
        f.for_(format!("logs: \"{}\"", quote(&l.rec.body, 120)));
        f.at_opt(
            l.ts,
            format!("stale read reported: {}", quote(&l.rec.body, 80)),
        );
    }
    let member = s
        .label(&["k8s.pod.name", "pod", "instance", "member"])
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    let backup = ctx
        .logs_with(&["mongodump", "backup"])
        .into_iter()
        .find(|l| match (l.ts, since) {
            (Some(t), Some(c)) => t <= c && (c - t).num_minutes() <= 60,
            _ => false,
        });
    let mut cause = String::new();
    if let Some(l) = backup {
        score += 0.03;
        f.for_(format!(
            "backup started just before: \"{}\"",
            quote(&l.rec.body, 140)
        ));
        f.at_opt(l.ts, format!("backup starts: {}", quote(&l.rec.body, 90)));
        cause = format!(
            "; it started when a full backup began reading from that secondary (\"{}\")",
            quote(&l.rec.body, 120)
        );
    }
    let (op, _) = query_slowdown(ctx);
    let primary = op
        .filter(|(_, cp)| cp.is_none())
        .map(|(o, _)| format!("; the primary is healthy (op p99 {} ms)", num(o.last())))
        .unwrap_or_default();
    f.root_cause = format!(
        "Secondary{member} replication lag on the MongoDB replica set grew to {} s (from {} s{}), so reads of {} with readPreference secondaryPreferred return stale data{primary}{cause}.",
        num(s.peak()),
        num(s.baseline()),
        since
            .map(|t| format!(", rising since {}", hm(t)))
            .unwrap_or_default(),
        ctx.service
    );
    f.summary = format!(
        "A MongoDB secondary lags {} s behind the primary, so {} reads stale data.",
        num(s.peak()),
        ctx.service
    );
    f.step("Read from the primary (readPreference=primary) for consistency-sensitive paths until the secondary catches up");
    f.cmd(
        "Check the lagging secondary's load and oplog window",
        mongosh("db.getReplicationInfo()"),
    );
    f.prevent("Alert on mongodb_replication_lag > 10 s; size secondaries like the primary and keep the oplog window > 24 h");
    f.prevent(
        "Use readPreference primary (or maxStalenessSeconds) where stale reads are not acceptable",
    );
    Some(f.with_score(score.min(0.92)))
}

const AUTH_NEEDLES: &[&str] = &[
    "authentication failed",
    "auth failed",
    "authenticationfailed",
    "bad auth",
    "sasl",
    "scram-sha",
    "auth error",
];

/// Authentication failures, ideally explained by a Secret rotation the pods did not pick up.
fn auth_failure(ctx: &Ctx<'_>) -> Option<Finding> {
    let metric = ctx
        .series("mongodb_auth_failures")
        .filter(|s| s.peak() >= 1.0 && s.rise(0.5) >= 3.0);
    let logs = ctx.logs_with(AUTH_NEEDLES);
    let mut f = Finding::new(
        "auth-failure",
        format!("MongoDB authentication failing for {}", ctx.service),
    );
    if metric.is_none() && logs.is_empty() {
        if ctx.mentions(&["auth", "credential", "password"]) {
            f.root_cause = format!(
                "MongoDB authentication fails for {} (per the alert): the credentials it presents are rejected — most likely the password in its Secret was rotated without restarting the pods.",
                ctx.service
            );
            f.summary = format!("{} cannot authenticate to MongoDB.", ctx.service);
            f.missing("no auth-failure metrics or logs");
            f.cmd(
                "Restart the pods so they read the current Secret",
                ctx.kubectl(&format!("rollout restart deploy/{}", ctx.deployment)),
            );
            return Some(f.with_score(0.4).into_hint(ctx));
        }
        if let Some(s) = ctx.series("mongodb_auth_failures") {
            return Some(Finding::rejected(
                "auth-failure",
                "Authentication failure",
                vec![format!("auth failures at most {}/min", num(s.peak()))],
            ));
        }
        return None;
    }
    let mut score: f64 = 0.7;
    let mut since = None;
    let mut what = Vec::new();
    if let Some(s) = metric {
        since = s.change_point(3.0, 1.0).map(|c| c.0);
        what.push(format!("auth failures {}/min", arrow(s, "")));
        f.for_(format!("auth failures {}/min", arrow(s, "")));
        f.metric("auth failures", format!("{}/min", arrow(s, "")));
        f.at_opt(since, "authentication failures start");
    }
    let app_log = logs
        .iter()
        .find(|l| !l.rec.body.trim_start().starts_with('{'))
        .or(logs.first());
    if let Some(l) = app_log {
        f.cite_logs(logs.len(), l, "auth failure");
        since = since.or(l.ts);
        what.push(format!("logs: \"{}\"", quote(&l.rec.body, 100)));
    }
    let rotated = ctx
        .logs_with(&[
            "rotated password",
            "password rotated",
            "credential rotation",
            "rotated credentials",
        ])
        .into_iter()
        .next();
    let secret_log = ctx
        .logs_with(&["reconciled secret", "updated secret", "secret updated"])
        .into_iter()
        .next();
    if let Some(l) = secret_log {
        f.for_(format!("Secret updated: \"{}\"", quote(&l.rec.body, 140)));
        f.at_opt(l.ts, format!("Secret updated: {}", quote(&l.rec.body, 90)));
    }
    if let Some(l) = ctx
        .logs_with(&[
            "rotated password",
            "password rotated",
            "credential rotation",
            "rotated credentials",
        ])
        .first()
    {
        f.for_(format!(
            "credentials rotated: \"{}\"",
            quote(&l.rec.body, 140)
        ));
        f.at_opt(
            l.ts,
            format!("password rotated: {}", quote(&l.rec.body, 90)),
        );
    }
    let secret_ev = ctx
        .events
        .iter()
        .filter(|e| {
            ["Secret/", "ExternalSecret/", "SealedSecret/"]
                .iter()
                .any(|k| e.object.starts_with(k))
                || (contains_ci(&e.message, "secret") && !contains_ci(&e.reason, "FailedMount"))
        })
        .rfind(|e| match (e.timestamp, since) {
            (Some(t), Some(s)) => t <= super::common::plus_minutes(s, 5),
            _ => true,
        });
    let secret_name = secret_ev
        .and_then(|e| {
            e.object
                .split_once('/')
                .map(|(_, n)| n.to_string())
                .filter(|_| e.object.contains("Secret/"))
                .or_else(|| word_after(&e.message, "secret"))
        })
        .or_else(|| {
            secret_log.and_then(|l| {
                word_after(&l.rec.body, "\"secret\"").or_else(|| word_after(&l.rec.body, "secret "))
            })
        })
        .unwrap_or_else(|| format!("{}-mongodb", ctx.service));
    let story = match secret_ev {
        Some(e) => {
            score += 0.2;
            f.for_(format!(
                "{} changed{}: {}",
                e.object,
                e.timestamp
                    .map(|t| format!(" at {}", hm(t)))
                    .unwrap_or_default(),
                quote(&e.message, 100)
            ));
            f.at_opt(
                e.timestamp,
                format!("{} changed: {}", e.object, quote(&e.message, 80)),
            );
            let changed = e.timestamp;
            let old: Vec<_> = ctx
                .pods
                .iter()
                .filter(|p| match (p.created_at, changed) {
                    (Some(c), Some(t)) => c < t,
                    _ => false,
                })
                .collect();
            let restart_note = if !old.is_empty() {
                score += 0.05;
                f.for_(format!(
                    "{} still running from before the change (e.g. {}, started {})",
                    plural(old.len() as u64, "pod"),
                    old[0].name,
                    old[0].created_at.map(hm).unwrap_or_default()
                ));
                format!(
                    "the running pods ({}, started before it) were not restarted and still use the old password",
                    plural(old.len() as u64, "pod")
                )
            } else {
                "the pods still present the old credentials".to_string()
            };
            format!(
                "the credentials Secret {secret_name} was rotated{} but {restart_note}",
                changed
                    .map(|t| format!(" at {}", hm(t)))
                    .unwrap_or_default()
            )
        }
        None if rotated.is_some() || secret_log.is_some() => {
            score += 0.2;
            let at = rotated
                .or(secret_log)
                .and_then(|l| l.ts)
                .map(|t| format!(" at {}", hm(t)))
                .unwrap_or_default();
            let rot = rotated
                .map(|l| format!(" (\"{}\")", quote(&l.rec.body, 110)))
                .unwrap_or_default();
            format!(
                "the database password was rotated{at}{rot} and the credentials Secret {secret_name} was updated, but the running pods were not restarted and still use the old password"
            )
        }
        None => {
            f.missing("no Secret change visible in the events");
            "the credentials it presents are rejected — most likely the password in its Secret was rotated (or the database user changed) without the pods picking it up".to_string()
        }
    };
    f.root_cause = format!(
        "MongoDB authentication fails for {} ({}): {story}.",
        ctx.service,
        what.join(", ")
    );
    f.summary = format!(
        "{} cannot authenticate to MongoDB since its credentials Secret changed.",
        ctx.service
    );
    f.cmd(
        "Restart the pods so they load the rotated Secret",
        ctx.kubectl(&format!("rollout restart deploy/{}", ctx.deployment)),
    );
    f.cmd(
        "Watch the restart",
        ctx.kubectl(&format!("rollout status deploy/{}", ctx.deployment)),
    );
    f.cmd(
        "Check when the Secret changed",
        ctx.kubectl(&format!(
            "get secret {secret_name} -o jsonpath='{{.metadata.managedFields[*].time}}'"
        )),
    );
    f.cmd(
        "Test the credentials",
        mongosh("db.runCommand({connectionStatus: 1})"),
    );
    f.prevent("Reload pods automatically on Secret change (e.g. stakater Reloader or a checksum annotation on the pod template)");
    f.prevent("Rotate with an overlap: create the new password/user, roll the pods, then revoke the old one");
    Some(f.with_score(score.min(0.95)))
}

const NET_NEEDLES: &[&str] = &[
    "connection refused",
    "econnrefused",
    "no reachable servers",
    "server selection timed out",
    "serverselectiontimeout",
    "network is unreachable",
    "connection reset",
    "host unreachable",
];

/// MongoDB unreachable from the service; rejected when the server answers (e.g. auth failures).
fn db_network(ctx: &Ctx<'_>) -> Option<Finding> {
    let logs: Vec<&LogLine<'_>> = ctx
        .logs_with(NET_NEEDLES)
        .into_iter()
        .filter(|l| {
            ["mongo", "27017", "replica set", "server selection"]
                .iter()
                .any(|n| l.lower.contains(n))
        })
        .collect();
    let auth = ctx.logs_with(AUTH_NEEDLES);
    let auth_metric = ctx
        .series("mongodb_auth_failures")
        .is_some_and(|s| s.peak() >= 1.0);
    if logs.is_empty() {
        if auth.is_empty() && !auth_metric {
            return None;
        }
        let mut r = Finding::rejected(
            "db-network",
            "Network problem between the service and MongoDB",
            vec![format!(
                "network fine: no connection refused/unreachable/timeout errors in {}",
                plural(ctx.logs.len() as u64, "log line")
            )],
        );
        r.against(
            "the server answers: the errors are authentication rejections, not connection failures",
        );
        if let Some(s) = ctx.series("upstream_connect_errors") {
            r.against(format!(
                "upstream connect errors at most {}/min",
                num(s.peak())
            ));
        }
        return Some(r);
    }
    let mut f = Finding::new(
        "db-network",
        format!("{} cannot reach MongoDB", ctx.service),
    );
    let l = logs[0];
    f.cite_logs(logs.len(), l, "connection failure");
    f.root_cause = format!(
        "{} cannot reach MongoDB: connections fail (\"{}\"), so requests fail before any query runs.",
        ctx.service,
        quote(&l.rec.body, 120)
    );
    f.summary = format!("{} cannot connect to MongoDB.", ctx.service);
    f.cmd(
        "Test the connection from a pod",
        ctx.kubectl(&format!(
            "exec deploy/{} -- sh -c 'nc -zv $MONGODB_HOST 27017'",
            ctx.deployment
        )),
    );
    f.cmd("Replica set member states", mongosh("rs.status().members"));
    f.prevent("Alert on MongoDB availability (up, replica set primary present) separately from the application's errors");
    Some(f.with_score(if auth.is_empty() { 0.6 } else { 0.3 }))
}

/// Slow primary: operations slow without pool exhaustion; rejected when op latency is steady.
fn slow_primary(ctx: &Ctx<'_>) -> Option<Finding> {
    let (op, _) = query_slowdown(ctx);
    let (o, cp) = op?;
    let lag = ctx
        .series("mongodb_replication_lag")
        .is_some_and(|s| s.peak() >= 5.0);
    let p = pool(ctx);
    if cp.is_none() {
        let mut against = vec![format!(
            "primary healthy: op p99 steady at {} ms (peak {} ms)",
            num(o.baseline()),
            num(o.peak())
        )];
        if let Some(e) = ctx.series("http_server_error_ratio") {
            against.push(format!("error ratio {}", super::common::pct(e.last())));
        }
        if !lag && !p.exhausted {
            return None;
        }
        return Some(Finding::rejected(
            "slow-primary",
            "MongoDB primary overloaded / slow operations",
            against,
        ));
    }
    if p.exhausted {
        return None; // the pool detectors explain it
    }
    let mut f = Finding::new("slow-primary", "MongoDB operations slow on the primary");
    f.for_(format!("op p99 {}", arrow(o, " ms")));
    f.metric("op p99", arrow(o, " ms"));
    f.at_opt(cp, "MongoDB op p99 rises");
    f.root_cause = format!(
        "MongoDB operations for {} got slow (op p99 {}) from {}, without pool exhaustion: the primary is overloaded or a query became expensive.",
        ctx.service,
        arrow(o, " ms"),
        cp.map(hm).unwrap_or_default()
    );
    f.summary = format!("MongoDB operations of {} are slow.", ctx.service);
    f.cmd(
        "Find the slow operations",
        mongosh("db.currentOp({secs_running: {$gt: 5}})"),
    );
    f.cmd("Server load", mongosh("db.serverStatus().opcounters"));
    Some(f.with_score(0.45))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_expression() {
        assert_eq!(
            coll_expr(Some("shop.orders")),
            "db.getSiblingDB(\"shop\").orders"
        );
        assert_eq!(coll_expr(None), "db.<collection>");
        assert!(mongosh("rs.status()").starts_with("mongosh"));
    }
}
