//! Grafana's Slack notifier (`receivers/slack` in grafana/alerting).
//!
//! The attachment title is Alertmanager-shaped (`[FIRING:1] DiskFull (node-3)`), the footer is
//! `Grafana v…`, and the text is a literal block per alert:
//!
//! ```text
//! **Firing**
//! Value: A=97.1
//! Labels:
//!  - alertname = DiskFull
//! Annotations:
//!  - summary = / is 97% full
//! Source: https://grafana/…
//! ```
//!
//! Labels come from every `Labels:` section (the first alert's value wins); a body that has
//! `**Resolved**` and no `**Firing**` is resolved.

use super::{Findings, alertmanager};
use crate::alert::AlertStatus;

/// Grafana's `**Firing**`/`**Resolved**` markers, or a `Labels:` list of ` - k = v` lines.
pub(super) fn looks_like(body: &str) -> bool {
    let mut has_labels = false;
    let mut has_pair = false;
    for line in body.lines().map(str::trim) {
        if line == "**Firing**" || line == "**Resolved**" {
            return true;
        }
        has_labels |= line == "Labels:";
        has_pair |= line.starts_with("- ") && line.contains(" = ");
    }
    has_labels && has_pair
}

/// Labels from `Labels:` sections and the title, status from the body markers.
pub(super) fn extract(title: &str, body: &str, f: &mut Findings) {
    section_labels(body, f);
    let group = alertmanager::title_labels(title, f);
    if let Some(first) = group
        .split_whitespace()
        .next()
        .filter(|v| alertmanager::looks_like_alertname(v))
    {
        f.label("alertname", first);
    }
    if f.status.is_none() {
        f.status = body_status(body);
    }
}

/// ` - k = v` lines under each `Labels:` heading.
fn section_labels(body: &str, f: &mut Findings) {
    let mut in_labels = false;
    for line in body.lines().map(str::trim) {
        if line == "Labels:" {
            in_labels = true;
            continue;
        }
        let pair = line
            .strip_prefix("- ")
            .and_then(|kv| kv.split_once(" = ").or_else(|| kv.split_once('=')));
        match pair {
            Some((k, v)) if in_labels => f.label(k, v),
            _ => in_labels = false,
        }
    }
}

/// `**Resolved**` without `**Firing**` ⇒ resolved.
fn body_status(body: &str) -> Option<AlertStatus> {
    let lines = || body.lines().map(str::trim);
    let firing = lines().any(|l| l == "**Firing**");
    let resolved = lines().any(|l| l == "**Resolved**");
    match (firing, resolved) {
        (true, _) => Some(AlertStatus::Firing),
        (false, true) => Some(AlertStatus::Resolved),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "**Firing**\n\nValue: A=97.1\nLabels:\n - alertname = DiskFull\n - instance = node-3:9100\nAnnotations:\n - summary = / is 97% full\nSource: https://grafana/x";

    #[test]
    fn labels_section_only() {
        let mut f = Findings::default();
        extract("DiskFull (node-3)", BODY, &mut f);
        assert_eq!(f.labels["alertname"], "DiskFull");
        assert_eq!(f.labels["instance"], "node-3:9100");
        assert!(!f.labels.contains_key("summary"));
        assert_eq!(f.status, Some(AlertStatus::Firing));
        assert!(looks_like(BODY));
    }

    #[test]
    fn resolved_body() {
        let mut f = Findings::default();
        extract("X", "**Resolved**\nLabels:\n - a = b", &mut f);
        assert_eq!(f.status, Some(AlertStatus::Resolved));
        assert_eq!(f.labels["a"], "b");
    }
}
