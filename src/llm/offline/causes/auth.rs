//! Database authentication failures: the driver's auth errors (SCRAM/SASL `AuthenticationFailed`)
//! and the credential rotation behind them (a Secret updated by an operator or a rotation job,
//! pods still running with the old password).

use crate::llm::offline::common::{
    Ctx, Finding, arrow, contains_ci, hm, mongosh, num, plural, plus_minutes, quote, word_after,
};

pub(crate) const AUTH_NEEDLES: &[&str] = &[
    "authentication failed",
    "auth failed",
    "authenticationfailed",
    "bad auth",
    "sasl",
    "scram-sha",
    "auth error",
];

/// Authentication failures, ideally explained by a Secret rotation the pods did not pick up.
pub(crate) fn auth_failure(ctx: &Ctx<'_>) -> Option<Finding> {
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
                ctx.kubectl_deploy("rollout restart"),
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
        f.cite_line(
            "Secret updated",
            l,
            140,
            format!("Secret updated: {}", quote(&l.rec.body, 90)),
        );
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
        f.cite_line(
            "credentials rotated",
            l,
            140,
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
            (Some(t), Some(s)) => t <= plus_minutes(s, 5),
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
        ctx.kubectl_deploy("rollout restart"),
    );
    f.cmd("Watch the restart", ctx.kubectl_deploy("rollout status"));
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
