//! Slow queries: the pool exhausted by queries that got slower after a deploy (operation latency
//! and slow-query rate departing at the rollout), and a missing index (COLLSCAN in MongoDB's
//! slow-query log, an index dropped or its rebuild aborted).

use chrono::{DateTime, Utc};

use super::pool::{pool, scale_cmd};
use super::traffic::{flat_traffic_text, traffic};
use crate::llm::offline::common::{
    Ctx, Finding, LogLine, Series, arrow, hm, mongosh, num, quote, word_after,
};

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
pub(crate) fn namespace_of(lines: &[&LogLine<'_>]) -> Option<String> {
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

/// A series and when it departed from its baseline (`None`: it did not).
type Shift<'c> = (&'c Series, Option<DateTime<Utc>>);

/// Operation latency and slow-query change: `(op series, change time)`, `(slow series, change)`.
pub(crate) fn query_slowdown<'c>(ctx: &'c Ctx<'_>) -> (Option<Shift<'c>>, Option<Shift<'c>>) {
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
pub(crate) fn pool_slow_query(ctx: &Ctx<'_>) -> Option<Finding> {
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
            ctx.kubectl_deploy("rollout history"),
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
                ctx.kubectl_deploy("rollout undo"),
            );
            f.cmd(
                "Watch the rollback complete",
                ctx.kubectl_deploy("rollout status"),
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

/// Queries doing a full collection scan (missing index).
pub(crate) fn missing_index(ctx: &Ctx<'_>) -> Option<Finding> {
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
            f.cite_alert(ctx);
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
        f.cite_line(
            "index dropped",
            l,
            140,
            format!("index dropped: {}", quote(&l.rec.body, 90)),
        );
        why = format!(
            "; the old index was dropped{} (\"{}\")",
            l.ts.map(|t| format!(" at {}", hm(t))).unwrap_or_default(),
            quote(&l.rec.body, 100)
        );
    }
    if let Some(l) = aborted {
        f.cite_line(
            "replacement index build aborted",
            l,
            140,
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
