//! The MongoDB replica set: a secondary's replication lag growing (stale reads with
//! `secondaryPreferred`, often while a backup reads from it), and operations slow on the primary
//! without pool exhaustion.

use super::pool::pool;
use super::slow_query::query_slowdown;
use crate::llm::offline::common::{Ctx, Finding, arrow, hm, mongosh, num, pct, quote, word_after};

/// Secondary replication lag growing: reads from secondaries are stale.
pub(crate) fn replication_lag(ctx: &Ctx<'_>) -> Option<Finding> {
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
        f.cite_line(
            "logs",
            l,
            120,
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
        f.cite_line(
            "backup started just before",
            l,
            140,
            format!("backup starts: {}", quote(&l.rec.body, 90)),
        );
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

/// Slow primary: operations slow without pool exhaustion; rejected when op latency is steady.
pub(crate) fn slow_primary(ctx: &Ctx<'_>) -> Option<Finding> {
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
            against.push(format!("error ratio {}", pct(e.last())));
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
