//! Alerts forwarded by an incident tool's Slack app: PagerDuty and Opsgenie.
//!
//! Both apps post the incident (or alert) title as a link to the incident — `[#4821] <title>`
//! (PagerDuty) or `#1234: <title>` (Opsgenie) — with fields such as Status, Urgency or Priority,
//! Service, Assigned, Tags, and Acknowledge/Resolve buttons. When Alertmanager created the
//! incident, the title is its `__subject` (`[FIRING:1] KubePodCrashLooping …`,
//! `pagerduty.default.description`, `opsgenie.default.message`) and the details hold its
//! `__text_alert_list` (`Labels:` / `Annotations:`), which [`super::sections`] reads.
//!
//! The incident's own state (the Status field, or a leading "Resolved"/"Closed" word) wins over
//! the status prefix the original title still carries. The tool's own fields are kept under
//! their own names (`pagerduty_service` is a PagerDuty service, not the workload).

use super::Findings;
use crate::alert::{AlertSource, AlertStatus};

/// A link to a PagerDuty incident.
pub(super) fn is_pagerduty_link(url: &str) -> bool {
    url.contains("pagerduty.com/incidents")
}

/// A link to an Opsgenie alert.
pub(super) fn is_opsgenie_link(url: &str) -> bool {
    url.contains("opsgenie.com/alert")
}

/// `[#4821] [FIRING:1] X` → `[FIRING:1] X`; `#1234: X` → `X`; a leading incident state
/// (`Resolved: [#4821] …`) is returned as the status.
pub(super) fn clean_headline(headline: &str) -> (String, Option<AlertStatus>) {
    let h = headline.trim();
    let (status, h) = match h.split_once(':') {
        Some((word, rest)) => match state_word(word) {
            Some(s) => (Some(s), rest.trim()),
            None => (None, h),
        },
        None => (None, h),
    };
    let without = h
        .strip_prefix("[#")
        .and_then(|rest| rest.split_once(']'))
        .filter(|(n, _)| is_number(n))
        .map(|(_, rest)| rest)
        .or_else(|| {
            h.strip_prefix('#')
                .and_then(|rest| rest.split_once(':'))
                .filter(|(n, _)| is_number(n))
                .map(|(_, rest)| rest)
        })
        .unwrap_or(h);
    (without.trim().to_string(), status)
}

/// `Payments Kubernetes (https://acme.pagerduty.com/…)` → `Payments Kubernetes`: a linked
/// field value keeps its label (the URL is among the links).
fn without_link(value: &str) -> &str {
    value
        .strip_suffix(')')
        .and_then(|v| v.rsplit_once(" ("))
        .filter(|(label, url)| !label.trim().is_empty() && url.contains("://"))
        .map_or(value, |(label, _)| label.trim())
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// The app's fields (and a leading status word in the text) into status and labels.
pub(super) fn fields(
    source: AlertSource,
    fields: &[(String, String)],
    body: &str,
    f: &mut Findings,
) {
    let tool = source.as_str();
    let mut status = None;
    for (k, v) in fields {
        let key = k.trim().trim_end_matches(':').to_lowercase();
        let value = without_link(v.trim());
        match key.as_str() {
            "status" | "state" => status = status.or_else(|| state_word(value)),
            "urgency" | "priority" | "severity" | "entity" => {
                f.label(&key, value);
            }
            "service" | "impacted service" => {
                f.label(&format!("{tool}_service"), value);
            }
            "tags" => tags(value, f),
            // People, teams, escalation policies: not about the affected object.
            _ => {}
        }
    }
    let status = status.or_else(|| {
        body.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .and_then(|l| l.split([':', ' ']).next())
            .and_then(state_word)
    });
    if status.is_some() {
        f.status = status;
    }
}

/// An incident state word as a status: Triggered/Acknowledged/Open → firing, Resolved/Closed →
/// resolved.
fn state_word(word: &str) -> Option<AlertStatus> {
    match word.trim().trim_matches('*').to_lowercase().as_str() {
        "triggered" | "acknowledged" | "acked" | "open" | "opened" | "created" | "escalated" => {
            Some(AlertStatus::Firing)
        }
        "resolved" | "closed" => Some(AlertStatus::Resolved),
        _ => None,
    }
}

/// `env:prod, service:checkout critical` → labels `env`, `service` (bare tags are not labels).
fn tags(value: &str, f: &mut Findings) {
    for tag in value
        .split([',', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if let Some((k, v)) = tag
            .split_once(':')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        {
            f.label(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headlines() {
        let clean = |h: &str| clean_headline(h).0;
        assert_eq!(clean("[#4821] [FIRING:1] X (a)"), "[FIRING:1] X (a)");
        assert_eq!(clean("#1234: Disk full"), "Disk full");
        assert_eq!(clean("[#x] y"), "[#x] y");
        assert_eq!(clean("#tag: y"), "#tag: y");
        assert_eq!(
            clean_headline("Resolved: [#12] Disk full"),
            ("Disk full".to_string(), Some(AlertStatus::Resolved))
        );
        assert_eq!(without_link("Ops (https://pd/x)"), "Ops");
    }

    #[test]
    fn fields_and_status() {
        let mut f = Findings {
            status: Some(AlertStatus::Firing),
            ..Findings::default()
        };
        let given = vec![
            ("Status".to_string(), "Resolved".to_string()),
            ("Service".to_string(), "Payments Production".to_string()),
            ("Urgency".to_string(), "High".to_string()),
            ("Assigned".to_string(), "Dana".to_string()),
            (
                "Tags".to_string(),
                "env:prod, service:checkout, critical".to_string(),
            ),
        ];
        fields(AlertSource::Pagerduty, &given, "", &mut f);
        assert_eq!(f.status, Some(AlertStatus::Resolved));
        assert_eq!(f.labels["pagerduty_service"], "Payments Production");
        assert_eq!(f.labels["service"], "checkout");
        assert_eq!(f.labels["urgency"], "High");
        assert!(!f.labels.contains_key("assigned"));
        let mut f = Findings::default();
        fields(AlertSource::Opsgenie, &[], "Closed: #12 Disk full", &mut f);
        assert_eq!(f.status, Some(AlertStatus::Resolved));
    }
}
