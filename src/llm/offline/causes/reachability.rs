//! The database is unreachable: connection refused or reset, no reachable server, server
//! selection timing out (a network path or the database pods down, not the credentials).

use super::auth::AUTH_NEEDLES;
use crate::llm::offline::common::{Ctx, Finding, LogLine, mongosh, num, plural, quote};

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
pub(crate) fn db_network(ctx: &Ctx<'_>) -> Option<Finding> {
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
