//! The per-alert sections that notification templates render, whatever the tool.
//!
//! Two layouts cover the defaults and the common templates:
//!
//! - **lists** (Alertmanager's `__text_alert_list`, Grafana's `default.message`, the PagerDuty
//!   and Opsgenie default descriptions): optional `**Firing**` / `**Resolved**` or
//!   `Alerts Firing:` / `Alerts Resolved:` headings, then per alert `Value: …`, `Labels:` with
//!   ` - k = v` lines, `Annotations:` with ` - k = v` lines, and `Source:`/`Silence:`/
//!   `Dashboard:`/`Panel:` links;
//! - **bullets** (SigNoz's default Slack text and the widely shared community Alertmanager
//!   template): per alert `*Alert:* <name or summary> - <severity>`, `*Summary:*`,
//!   `*Description:*`, `*RelatedLogs:*`, `*RelatedTraces:*`, `*Runbook:*`, then `*Details:*`
//!   and ` • *k:* v` / ` • *k:* `v`` bullets.
//!
//! Each alert becomes an [`AlertInstance`] with its own labels and annotations; the labels every
//! member shares become the alert's labels (Alertmanager's `CommonLabels`). With one member, that
//! is all of its labels.

use std::collections::BTreeMap;

use super::{Findings, MAX_MEMBERS, add_label, known_severity};
use crate::alert::{AlertInstance, AlertSource, AlertStatus};

/// Lines looked at: enough for any notification, bounded for hostile input.
const MAX_LINES: usize = 4096;

/// One alert's section while it is read.
#[derive(Debug, Default)]
struct Section {
    status: Option<AlertStatus>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    /// The text after `*Alert:*`.
    alert_line: Option<String>,
}

impl Section {
    fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.annotations.is_empty() && self.alert_line.is_none()
    }
}

/// Which ` - k = v` list the reader is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    None,
    Labels,
    Annotations,
}

/// Read the sections of `body` into `f`: group members, shared labels, and the status the
/// headings give when the headline gave none.
pub(super) fn apply(body: &str, source: AlertSource, f: &mut Findings) {
    let sections = read(body);
    if sections.is_empty() {
        return;
    }
    let shared = common_labels(&sections);
    for (k, v) in &shared {
        f.label(k, v);
    }
    for s in &sections {
        let own = s.labels.keys().filter(|k| !shared.contains_key(*k));
        f.member_keys.extend(own.cloned());
    }
    for s in &sections {
        if let Some(line) = &s.alert_line {
            alert_line(line, source, sections.len() == 1, f);
        }
    }
    if f.status.is_none() {
        let firing = sections
            .iter()
            .any(|s| s.status == Some(AlertStatus::Firing));
        let resolved = sections
            .iter()
            .any(|s| s.status == Some(AlertStatus::Resolved));
        f.status = match (firing, resolved) {
            (true, _) => Some(AlertStatus::Firing),
            (false, true) => Some(AlertStatus::Resolved),
            _ => None,
        };
    }
    f.group = sections
        .into_iter()
        .take(MAX_MEMBERS)
        .map(|s| AlertInstance {
            status: s.status,
            labels: s.labels,
            annotations: s.annotations,
        })
        .collect();
}

/// `*Alert:* X - critical`: the severity (any template), and the alert name where the template
/// renders `.Labels.alertname` there (SigNoz's default) and the section has no `alertname`.
fn alert_line(line: &str, source: AlertSource, single: bool, f: &mut Findings) {
    let (name, severity) = match line.rsplit_once(" - ") {
        Some((name, sev)) => {
            let sev = sev.trim().trim_matches('`');
            (name.trim(), known_severity(sev).map(|_| sev))
        }
        None => (line.trim(), None),
    };
    if let Some(sev) = severity {
        f.label("severity", sev);
    }
    if source == AlertSource::Signoz && single {
        f.label("alertname", name);
    }
}

/// The labels every section has with the same value.
fn common_labels(sections: &[Section]) -> BTreeMap<String, String> {
    let with_labels: Vec<&Section> = sections.iter().filter(|s| !s.labels.is_empty()).collect();
    let Some((first, rest)) = with_labels.split_first() else {
        return BTreeMap::new();
    };
    first
        .labels
        .iter()
        .filter(|(k, v)| rest.iter().all(|s| s.labels.get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Split `body` into sections.
fn read(body: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let mut cur = Section::default();
    let mut status: Option<AlertStatus> = None;
    let mut mode = Mode::None;
    for raw in body.lines().take(MAX_LINES) {
        let line = raw.trim();
        if line.is_empty() {
            // Blank lines separate nothing a list needs: sections end at headings.
            continue;
        }
        if let Some(s) = heading_status(line) {
            close(&mut cur, &mut out);
            status = Some(s);
            mode = Mode::None;
            continue;
        }
        let heading = line.trim_matches(['*', '_']);
        if heading == "Labels:" {
            if !cur.labels.is_empty() || !cur.annotations.is_empty() {
                close(&mut cur, &mut out);
            }
            cur.status = cur.status.or(status);
            mode = Mode::Labels;
            continue;
        }
        if heading == "Annotations:" {
            mode = Mode::Annotations;
            continue;
        }
        if line.starts_with("Value:") && !cur.is_empty() {
            close(&mut cur, &mut out);
            mode = Mode::None;
            continue;
        }
        if let Some((k, v)) = list_pair(line).filter(|_| mode != Mode::None) {
            let target = match mode {
                Mode::Labels => &mut cur.labels,
                _ => &mut cur.annotations,
            };
            add_label(target, k, v);
            continue;
        }
        mode = Mode::None;
        let starred =
            starred(line).filter(|(k, _)| SECTION_KEYS.contains(&k.to_lowercase().as_str()));
        if let (None, Some((k, v))) = (starred, bullet(line)) {
            cur.status = cur.status.or(status);
            add_label(&mut cur.labels, k, v);
            continue;
        }
        let Some((key, value)) = starred else {
            continue;
        };
        match key.to_lowercase().as_str() {
            "alert" => {
                close(&mut cur, &mut out);
                cur.status = status;
                cur.alert_line = Some(value.to_string());
            }
            "summary" | "description" | "runbook" | "runbook_url" | "message" => {
                add_label(&mut cur.annotations, &key.to_lowercase(), value);
            }
            "relatedlogs" => {
                add_label(&mut cur.annotations, "related_logs", value);
            }
            "relatedtraces" => {
                add_label(&mut cur.annotations, "related_traces", value);
            }
            _ => {}
        }
    }
    close(&mut cur, &mut out);
    out
}

/// Keys of `*Key:* value` lines that belong to a section rather than being labels.
const SECTION_KEYS: &[&str] = &[
    "alert",
    "summary",
    "description",
    "runbook",
    "runbook_url",
    "message",
    "relatedlogs",
    "relatedtraces",
    "details",
];

/// Keep a finished section (unless it is empty).
fn close(cur: &mut Section, out: &mut Vec<Section>) {
    let done = std::mem::take(cur);
    if !done.is_empty() && out.len() < MAX_MEMBERS {
        out.push(done);
    }
}

/// `**Firing**`, `Alerts Firing:`, `*Alerts Resolved:*`, … → the status of what follows.
fn heading_status(line: &str) -> Option<AlertStatus> {
    let word = line.trim_matches('*').trim().trim_end_matches(':');
    let word = word.strip_prefix("Alerts ").unwrap_or(word);
    match word {
        "Firing" if line != word || line.ends_with(':') => Some(AlertStatus::Firing),
        "Resolved" if line != word || line.ends_with(':') => Some(AlertStatus::Resolved),
        _ => None,
    }
}

/// ` - k = v` or `- k=v` (a list entry).
fn list_pair(line: &str) -> Option<(&str, &str)> {
    let kv = line.strip_prefix("- ")?;
    let (k, v) = kv.split_once(" = ").or_else(|| kv.split_once('='))?;
    let k = k.trim();
    label_key(k).then_some((k, v.trim()))
}

/// `• *k:* v`, `• *k:* `v``, `- *k:* v` → (`k`, `v`).
fn bullet(line: &str) -> Option<(&str, &str)> {
    let rest = line
        .strip_prefix('•')
        .or_else(|| line.strip_prefix("- "))?
        .trim_start();
    let rest = rest.strip_prefix('*')?;
    let (key, value) = rest.split_once(":*").or_else(|| rest.split_once("*:"))?;
    let key = key.trim();
    label_key(key).then_some((key, value.trim().trim_matches('`')))
}

/// `*Key:* value` → (`Key`, `value`).
fn starred(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start_matches(['•', ' ']);
    let rest = line.strip_prefix('*')?;
    let (key, value) = rest.split_once(":*").or_else(|| rest.split_once("*:"))?;
    let key = key.trim();
    label_key(key).then_some((key, value.trim()))
}

/// A label-shaped key: `alertname`, `k8s.pod.name`, `app.kubernetes.io/name`, `__name__`.
fn label_key(k: &str) -> bool {
    (1..=64).contains(&k.len())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRAFANA_TWO: &str = "**Firing**\n\nValue: A=97\nLabels:\n - alertname = DiskFull\n - instance = node-3:9100\n - severity = critical\nAnnotations:\n - summary = / is full\nSource: https://g/x\n\nValue: A=95\nLabels:\n - alertname = DiskFull\n - instance = node-4:9100\n - severity = critical\nAnnotations:\n - summary = /var is full\nSource: https://g/y\n\n\n**Resolved**\n\nValue: A=50\nLabels:\n - alertname = DiskFull\n - instance = node-5:9100\n - severity = critical\nAnnotations:\nSource: https://g/z\n";

    #[test]
    fn grafana_members_and_shared_labels() {
        let s = read(GRAFANA_TWO);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].labels["instance"], "node-3:9100");
        assert_eq!(s[1].annotations["summary"], "/var is full");
        assert_eq!(s[2].status, Some(AlertStatus::Resolved));
        assert_eq!(s[0].status, Some(AlertStatus::Firing));
        let common = common_labels(&s);
        assert_eq!(common.len(), 2);
        assert!(!common.contains_key("instance"));
    }

    #[test]
    fn bullet_sections() {
        let body = "*Alert:* Instance down - `critical`\n*Description:* x is down\n*Details:*\n • *alertname:* `InstanceDown`\n • *instance:* `x:9100`\n\n*Alert:* Instance down - `critical`\n*Details:*\n • *alertname:* `InstanceDown`\n • *instance:* `y:9100`\n";
        let s = read(body);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].labels["instance"], "x:9100");
        assert_eq!(s[1].labels["instance"], "y:9100");
        assert_eq!(s[0].annotations["description"], "x is down");
        assert_eq!(
            s[0].alert_line.as_deref(),
            Some("Instance down - `critical`")
        );
    }

    #[test]
    fn odd_lines_are_not_sections() {
        assert!(read("hello\n- not = a label line outside a list\n*Note:* x").is_empty());
        assert_eq!(heading_status("Firing"), None);
        assert_eq!(heading_status("**Firing**"), Some(AlertStatus::Firing));
        assert_eq!(
            heading_status("Alerts Resolved:"),
            Some(AlertStatus::Resolved)
        );
        assert_eq!(bullet("• no stars"), None);
        assert_eq!(
            bullet("• *k8s.pod.name:* `api-1`"),
            Some(("k8s.pod.name", "api-1"))
        );
    }
}
