//! Database (MongoDB) agent detectors: connection pool exhausted and *why* (slow query after a
//! deploy, traffic spike, or unexplained), missing index (COLLSCAN), replication lag,
//! authentication failure after a Secret rotation, network reachability and slow primary; plus
//! the cross-agent OOM and crash-loop checks.

use super::causes::pool::{pool, pool_exhausted, pool_traffic};
use super::causes::slow_query::{missing_index, pool_slow_query, query_slowdown};
use super::common::{
    Ctx, Detector, Finding, LogLine, arrow, contains_ci, hm, mongosh, num, plural, quote,
    word_after,
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
