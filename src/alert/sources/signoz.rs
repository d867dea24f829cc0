//! SigNoz's default Slack channel template (its embedded Alertmanager).
//!
//! `frontend/src/container/CreateAlertChannels/defaults.ts` (SigNoz/signoz, commit 046c1a1)
//! renders the title as `[FIRING:1] {{ .CommonLabels.alertname }} for {{ .CommonLabels.job }}
//! (k="v", …)` (the job may be empty: `X for  (…)`) and, per alert, the text
//!
//! ```text
//! *Alert:* <alertname> - <severity>
//!
//!  *Summary:* …
//!  *Description:* …
//!  *RelatedLogs:* View in <url|logs explorer>
//!  *RelatedTraces:* View in <url|traces explorer>
//!
//!  *Details:*
//!    • *k:* v
//! ```
//!
//! posted under Alertmanager's default username. The `*RelatedLogs:*`/`*RelatedTraces:*` lines
//! (rendered even when empty) and SigNoz's own `ruleId`/`ruleSource` labels tell it from an
//! Alertmanager using the community template. The sections are read by [`super::sections`];
//! this module reads the title's pairs and its `for <job>`.

use super::{Findings, alertmanager};

/// SigNoz's own markers: the related-logs/traces lines, or its rule labels as bullets.
pub(super) fn looks_like(body: &str) -> bool {
    body.lines().map(str::trim).any(|line| {
        line.starts_with("*RelatedLogs:*")
            || line.starts_with("*RelatedTraces:*")
            || line.starts_with("• *ruleId:*")
            || line.starts_with("• *ruleSource:*")
    })
}

/// The title's `(k="v", …)` labels, and `job` from `<alertname> for <job>`.
pub(super) fn extract(title: &str, f: &mut Findings) {
    let (group, parens) = alertmanager::split_parens(title);
    if let Some(p) = parens.filter(|p| p.contains('=')) {
        for (k, v) in alertmanager::pairs(p) {
            f.label(k, &v);
        }
    }
    let job = match f.labels.get("alertname") {
        Some(name) => group
            .strip_prefix(name.as_str())
            .and_then(|rest| rest.strip_prefix(" for"))
            .map(str::trim),
        None => {
            let split = group
                .rsplit_once(" for ")
                .or_else(|| group.strip_suffix(" for").map(|name| (name, "")));
            split.map(|(name, job)| {
                f.label("alertname", name);
                job.trim()
            })
        }
    };
    if let Some(job) = job.filter(|j| !j.is_empty() && !j.contains(char::is_whitespace)) {
        f.label("job", job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_job() {
        let mut f = Findings::default();
        f.label("alertname", "checkout latency p99");
        extract(
            "checkout latency p99 for checkout (severity=\"critical\", service_name=\"checkout\")",
            &mut f,
        );
        assert_eq!(f.labels["job"], "checkout");
        assert_eq!(f.labels["service_name"], "checkout");
        let mut f = Findings::default();
        extract("DiskUsageHigh for  (instance=\"db-primary-01\")", &mut f);
        assert_eq!(f.labels["alertname"], "DiskUsageHigh");
        assert!(!f.labels.contains_key("job"));
        assert_eq!(f.labels["instance"], "db-primary-01");
    }

    #[test]
    fn markers() {
        assert!(looks_like(" *RelatedLogs:* \n"));
        assert!(looks_like(" • *ruleId:* 0199"));
        assert!(!looks_like("*Alert:* x\n*Details:*\n • *k:* `v`"));
    }
}
