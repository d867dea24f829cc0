//! SigNoz's default Slack channel template (an embedded Alertmanager).
//!
//! Title `[FIRING:1] <alertname> for <job> (k="v", …)`; text lines `*Alert:* X - sev`,
//! `*Summary:*`, `*Description:*`, `*RelatedLogs:*`, `*RelatedTraces:*`, `*Details:*` followed by
//! `• *k:* v` bullets. Labels come from the bullets first, then the title; `*Alert:*` gives the
//! alertname and severity.

use super::{Findings, alertmanager};

/// SigNoz's section markers.
pub(super) fn looks_like(body: &str) -> bool {
    let mut details = false;
    let mut bullet = false;
    for line in body.lines().map(str::trim) {
        if line.starts_with("*Alert:*")
            || line.starts_with("*RelatedLogs:*")
            || line.starts_with("*RelatedTraces:*")
        {
            return true;
        }
        details |= line.starts_with("*Details:*");
        bullet |= bullet_pair(line).is_some();
    }
    details && bullet
}

/// Labels from `• *k:* v` bullets and the title; alertname and severity from `*Alert:*`.
pub(super) fn extract(title: &str, body: &str, f: &mut Findings) {
    for line in body.lines().map(str::trim) {
        if let Some((k, v)) = bullet_pair(line) {
            f.label(k, v);
        } else if let Some(alert) = line.strip_prefix("*Alert:*") {
            alert_line(alert.trim(), f);
        }
    }
    alertmanager::title_labels(title, f);
}

/// `X - critical` → alertname `X`, severity `critical`.
fn alert_line(alert: &str, f: &mut Findings) {
    match alert.rsplit_once(" - ") {
        Some((name, sev)) => {
            f.label("alertname", name);
            f.label("severity", sev);
        }
        None => f.label("alertname", alert),
    }
}

/// `• *service_name:* checkout` → (`service_name`, `checkout`).
fn bullet_pair(line: &str) -> Option<(&str, &str)> {
    let rest = line
        .strip_prefix('•')
        .or_else(|| line.strip_prefix("- "))?
        .trim_start();
    let rest = rest.strip_prefix('*')?;
    let (key, value) = rest.split_once(":*")?;
    Some((key.trim(), value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bullets_and_alert_line() {
        let body = "*Alert:* checkout latency p99 - critical\n *Details:*\n • *service_name:* checkout\n • *k8s.namespace.name:* shop";
        assert!(looks_like(body));
        let mut f = Findings::default();
        extract(
            "checkout latency p99 for checkout (severity=\"critical\")",
            body,
            &mut f,
        );
        assert_eq!(f.labels["alertname"], "checkout latency p99");
        assert_eq!(f.labels["severity"], "critical");
        assert_eq!(f.labels["service_name"], "checkout");
        assert_eq!(f.labels["k8s.namespace.name"], "shop");
    }

    #[test]
    fn not_signoz() {
        assert!(!looks_like("*Summary:* x\n*Description:* y"));
        assert_eq!(bullet_pair("• no stars"), None);
    }
}
