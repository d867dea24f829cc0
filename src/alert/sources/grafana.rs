//! Grafana unified alerting's Slack notifier (`receivers/slack` in grafana/alerting).
//!
//! `templates/default_template.go` (grafana/alerting, commit 0201064) renders the attachment
//! title with `default.title` — the Alertmanager layout, `[FIRING:2, RESOLVED:1]` included — and
//! the text with `default.message`: a `**Firing**` and/or `**Resolved**` heading, then per alert
//!
//! ```text
//! Value: A=97.1
//! Labels:
//!  - alertname = DiskFull
//! Annotations:
//!  - summary = / is 97% full
//! Source: https://grafana/…
//! Silence: https://grafana/alerting/silence/new?…
//! Dashboard: https://grafana/d/…
//! Panel: https://grafana/d/…?viewPanel=7
//! ```
//!
//! The footer is `Grafana v<version>`, the title link the rule's page (or `/alerting/list` for
//! several rules). The per-alert blocks are read by [`super::sections`]; this module reads the
//! title.

use super::{Findings, alertmanager};

/// Grafana's footer, its `/alerting/` title link, `**Firing**`/`**Resolved**` markers, or a
/// `Labels:` list of ` - k = v` lines.
pub(super) fn looks_like(body: &str, footer: &str, title_link: &str) -> bool {
    if footer.to_lowercase().starts_with("grafana") || title_link.contains("/alerting/grafana/") {
        return true;
    }
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

/// Labels and positional values from the title (the sections are already read).
pub(super) fn extract(title: &str, f: &mut Findings) {
    alertmanager::read_title(title, f);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        assert!(looks_like("**Firing**\nValue: A=1", "", ""));
        assert!(looks_like("", "Grafana v11.2.0", ""));
        assert!(looks_like("Labels:\n - a = b", "", ""));
        assert!(looks_like("", "", "https://g/alerting/grafana/x/view"));
        assert!(!looks_like("Labels: none", "", ""));
    }
}
