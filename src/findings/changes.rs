//! Changes before the alert: rollouts (a ReplicaSet scaled up, a new revision), restarts of a
//! Deployment, config edits the events show. A change just before the onset is a suspect, not
//! a verdict: these findings are `Weak` and the reasoners weigh them against the rest.

use chrono::{DateTime, Duration, Utc};

use crate::evidence::Evidence;
use crate::findings::{Finding, FindingKind, Strength, clip};

/// How long before the alert a change counts as "just before".
pub const RECENT: Duration = Duration::hours(2);

/// Rollout events and new revisions within [`RECENT`] before `now` (the alert's time).
pub fn recent_changes(evidence: &Evidence, now: DateTime<Utc>) -> Vec<Finding> {
    let recent = |t: Option<DateTime<Utc>>| {
        t.is_some_and(|t| {
            let upto = now.checked_add_signed(Duration::minutes(5)).unwrap_or(now);
            t <= upto && now.signed_duration_since(t) <= RECENT
        })
    };
    let mut out: Vec<Finding> = Vec::new();
    for e in evidence.events() {
        let rollout = matches!(
            e.reason.as_str(),
            "ScalingReplicaSet" | "SuccessfulCreate" | "DeploymentRollback"
        ) && (e.message.contains("Scaled up replica set")
            || e.reason == "DeploymentRollback");
        if !rollout || !recent(e.timestamp) {
            continue;
        }
        if out.iter().any(|f| f.subject == e.object) {
            continue;
        }
        out.push(
            Finding::new(
                FindingKind::Change,
                "recent_rollout",
                e.object.clone(),
                format!(
                    "{} rolled out a new revision shortly before the alert: {}",
                    e.object,
                    clip(&e.message, 120)
                ),
                Strength::Weak,
            )
            .at(e.timestamp)
            .cite(format!(
                "{} {}: {}",
                e.reason,
                e.object,
                clip(&e.message, 160)
            )),
        );
    }
    for w in evidence.workloads() {
        let subject = format!("{}/{}", w.kind, w.name);
        if let Some(newest) = w.revisions.first()
            && recent(newest.created_at)
            && !out.iter().any(|f| f.subject == subject)
        {
            out.push(
                Finding::new(
                    FindingKind::Change,
                    "recent_rollout",
                    subject.clone(),
                    format!(
                        "{subject} has a revision created shortly before the alert ({})",
                        newest.name
                    ),
                    Strength::Weak,
                )
                .at(newest.created_at)
                .cite(format!(
                    "{}: revision {} created",
                    subject,
                    newest
                        .revision
                        .clone()
                        .unwrap_or_else(|| newest.name.clone())
                )),
            );
        }
    }
    out
}
