//! Dialect recognition: Alertmanager, Grafana, SigNoz, Datadog, or plain text.
//!
//! [`super::slack_event`] reads a Slack message into [`MessageParts`] (who sent it, the first
//! attachment title, every other line of content, links). [`parse_message`] then:
//!
//! 1. recognises the dialect ([`detect`]): the sender's name first, then tell-tale wording
//!    (`*RelatedTraces:*`, `**Firing**`, `[Triggered on …]`, `[FIRING:n]`), else plain text;
//! 2. strips the status prefix from the headline (`[FIRING:1]`, `[RESOLVED]`,
//!    `[Triggered on {host:web-1}]`) and reads the status from it;
//! 3. lets the dialect module pull labels out of its own layout;
//! 4. fills service, namespace, host and severity from the labels, falling back to plain-text
//!    heuristics (the `text` module, also behind [`text_alert`]) so that even a hand-written
//!    alert gets the fields it names.
//!
//! Nothing here fails: anything unrecognised is still an alert of source
//! [`AlertSource::Text`].

mod alertmanager;
mod datadog;
mod grafana;
mod signoz;
mod text;

use std::collections::BTreeMap;

use super::{Alert, AlertSource, AlertStatus, Origin, SlackRef};

pub use text::text_alert;

/// Longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// At most this many labels are kept per alert.
const MAX_LABELS: usize = 64;
const MAX_LABEL_KEY: usize = 64;
const MAX_LABEL_VALUE: usize = 256;

/// The pieces of a Slack message that dialect recognition looks at (already decoded from Slack
/// mrkdwn escapes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageParts {
    /// The posting integration's name: `username`, else `bot_profile.name`.
    pub sender: Option<String>,
    /// Title of the first attachment that has one, status prefix included.
    pub headline: Option<String>,
    /// `title_link` of the attachment the headline came from.
    pub title_link: Option<String>,
    /// First attachment `footer` (Grafana signs its messages there).
    pub footer: Option<String>,
    /// Every other piece of content, one piece per line, in message order.
    pub body: String,
    /// Attachment `fields[]` as (title, value).
    pub fields: Vec<(String, String)>,
}

/// What the status prefix and the dialect parser found, before the common enrichment.
#[derive(Debug, Default)]
struct Findings {
    labels: BTreeMap<String, String>,
    status: Option<AlertStatus>,
    severity: Option<String>,
    /// A service named by the dialect's layout (Alertmanager group values).
    service: Option<String>,
    /// A weaker guess, used only when labels and the text name no service (the one unexplained
    /// value among Alertmanager's common-label values).
    fallback_service: Option<String>,
    host: Option<String>,
}

impl Findings {
    /// Adds a label unless the key is already set (earlier sources win) or the pair is unusable.
    fn label(&mut self, key: &str, value: &str) {
        let key = key
            .trim()
            .trim_matches(|c| c == '*' || c == '`' || c == '"');
        let value = value
            .trim()
            .trim_matches(|c| c == '"' || c == '`' || c == '\'');
        let usable = !key.is_empty()
            && !value.is_empty()
            && key.len() <= MAX_LABEL_KEY
            && value.len() <= MAX_LABEL_VALUE
            && !key.contains(char::is_whitespace)
            && !value.contains('\n');
        if usable && self.labels.len() < MAX_LABELS && !self.labels.contains_key(key) {
            self.labels.insert(key.to_string(), value.to_string());
        }
    }
}

/// Recognise the tool that wrote the message.
pub fn detect(parts: &MessageParts) -> AlertSource {
    let sender = parts.sender.as_deref().unwrap_or_default().to_lowercase();
    let headline = parts
        .headline
        .as_deref()
        .unwrap_or_else(|| first_line(&parts.body));
    let link = parts.title_link.as_deref().unwrap_or_default();
    let footer = parts.footer.as_deref().unwrap_or_default();
    if sender.contains("signoz") || signoz::looks_like(&parts.body) {
        AlertSource::Signoz
    } else if sender.contains("grafana")
        || footer.to_lowercase().starts_with("grafana")
        || grafana::looks_like(&parts.body)
    {
        AlertSource::Grafana
    } else if sender.contains("datadog") || datadog::looks_like(headline, link) {
        AlertSource::Datadog
    } else if sender.contains("alertmanager") || alertmanager::looks_like(headline, link) {
        AlertSource::Alertmanager
    } else {
        AlertSource::Text
    }
}

/// Build an alert from a message's parts. `origin` is `Integration` and `slack` is empty: the
/// caller knows who posted it and where.
pub fn parse_message(parts: &MessageParts) -> Alert {
    build(parts, detect(parts), Origin::Integration)
}

/// The shared pipeline behind [`parse_message`] and [`text_alert`].
fn build(parts: &MessageParts, source: AlertSource, origin: Origin) -> Alert {
    let (headline, body) = split_headline(parts);
    let prefix = status_prefix(&headline);
    let full_title = prefix.rest.trim();
    let title = clip_chars(full_title, MAX_TITLE_CHARS).to_string();
    // A headline too long for the title is kept whole at the top of the text.
    let body = if title.len() < full_title.len() {
        format!("{full_title}\n{body}").trim_end().to_string()
    } else {
        body
    };
    let mut f = Findings {
        status: prefix.status,
        severity: prefix.severity.map(str::to_string),
        ..Findings::default()
    };
    if let Some(scope) = &prefix.scope {
        datadog::apply_scope(scope, &mut f);
    }
    for (k, v) in &parts.fields {
        f.label(&k.to_lowercase(), v);
    }
    match source {
        AlertSource::Alertmanager => alertmanager::extract(&title, &body, &mut f),
        AlertSource::Grafana => grafana::extract(&title, &body, &mut f),
        AlertSource::Signoz => signoz::extract(&title, &body, &mut f),
        AlertSource::Datadog => datadog::extract(&title, &body, &mut f),
        AlertSource::Text => {}
    }
    text::extract(&title, &body, &mut f);
    finish(title, body, source, origin, f)
}

/// Turn findings into the alert: pick service/namespace/host/severity and fingerprint it.
fn finish(title: String, body: String, source: AlertSource, origin: Origin, f: Findings) -> Alert {
    let service = first_label(&f.labels, SERVICE_KEYS)
        .or(f.service)
        .or_else(|| text::service_in(&title))
        .or_else(|| text::service_in(&body))
        .or(f.fallback_service);
    // With no namespace label, an environment word (`prod`, `staging`) is the best guess: clusters
    // commonly name namespaces after environments, and a wrong guess only costs "no data".
    let namespace = first_label(&f.labels, NAMESPACE_KEYS).or_else(|| f.labels.get("env").cloned());
    let host = f
        .host
        .or_else(|| first_label(&f.labels, HOST_KEYS).map(|h| strip_port(&h)))
        .or_else(|| text::host_in(&title))
        .or_else(|| text::host_in(&body));
    let severity = f
        .severity
        .or_else(|| first_label(&f.labels, SEVERITY_KEYS))
        .and_then(|s| normalize_severity(&s));
    let mut alert = Alert {
        title,
        text: body,
        source,
        status: f.status.unwrap_or(AlertStatus::Firing),
        origin,
        service,
        namespace,
        host,
        severity,
        labels: f.labels,
        links: Vec::new(),
        fired_at: None,
        fingerprint: String::new(),
        slack: SlackRef::default(),
        truncated: false,
    };
    alert.fingerprint = super::fingerprint::fingerprint(&alert);
    alert
}

const SERVICE_KEYS: &[&str] = &[
    "service",
    "service_name",
    "service.name",
    "kube_service",
    "app",
    "app.kubernetes.io/name",
    "job",
    "deployment",
    "k8s.deployment.name",
    "k8s_deployment_name",
    "kube_deployment",
    "container",
    "kube_container_name",
    "k8s.container.name",
    "k8s_container_name",
];
const NAMESPACE_KEYS: &[&str] = &[
    "namespace",
    "kube_namespace",
    "k8s.namespace.name",
    "k8s_namespace_name",
    "exported_namespace",
];
const HOST_KEYS: &[&str] = &["host", "hostname", "host.name", "host_name", "instance"];
const SEVERITY_KEYS: &[&str] = &["severity", "priority", "level", "alert_severity"];

fn first_label(labels: &BTreeMap<String, String>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| labels.get(*k)).cloned()
}

/// `host:9100` → `host`; IPv6 in brackets and bare IPv6 are left alone.
fn strip_port(host: &str) -> String {
    match host.rsplit_once(':') {
        Some((h, port))
            if !h.is_empty() && !h.contains(':') && port.chars().all(|c| c.is_ascii_digit()) =>
        {
            h.to_string()
        }
        _ => host.to_string(),
    }
}

/// The headline (attachment title, else the first non-empty line) and the rest of the body.
fn split_headline(parts: &MessageParts) -> (String, String) {
    if let Some(h) = parts.headline.as_deref().filter(|h| !h.trim().is_empty()) {
        return (h.trim().to_string(), parts.body.trim().to_string());
    }
    let mut lines = parts.body.lines();
    let headline = lines
        .by_ref()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_string();
    let rest: Vec<&str> = lines.collect();
    (headline, rest.join("\n").trim().to_string())
}

fn first_line(s: &str) -> &str {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
}

/// Cut `s` to at most `max` characters.
pub(crate) fn clip_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

/// Cut `s` to at most `max` bytes, on a char boundary. Returns the kept part and whether it cut.
pub(crate) fn clip_bytes(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    (s.get(..end).unwrap_or_default(), true)
}

/// A status prefix found at the start of a headline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusPrefix<'a> {
    pub status: Option<AlertStatus>,
    /// The headline without the prefix.
    pub rest: &'a str,
    /// Datadog's multi-alert scope, `host:web-1` from `[Triggered on {host:web-1}]`.
    pub scope: Option<String>,
    pub severity: Option<&'static str>,
}

/// Read (and strip) `[FIRING:n]`, `[FIRING:2, RESOLVED:1]`, `[RESOLVED]`, `[Triggered …]`,
/// `[Recovered]`, `[Warn]`, `[No Data]`, or a word prefix like `RESOLVED:`.
pub(crate) fn status_prefix(headline: &str) -> StatusPrefix<'_> {
    let s = headline.trim_start();
    let none = StatusPrefix {
        status: None,
        rest: s,
        scope: None,
        severity: None,
    };
    if let Some(inner_and_rest) = s.strip_prefix('[') {
        let Some((inner, rest)) = inner_and_rest.split_once(']') else {
            return none;
        };
        return match classify_prefix(inner) {
            Some((status, severity)) => StatusPrefix {
                status: Some(status),
                rest: rest.trim_start(),
                scope: prefix_scope(inner),
                severity,
            },
            None => none,
        };
    }
    let Some((word, rest)) = s.split_once(':') else {
        return none;
    };
    // "OK:" and "No data:" open sentences too often to be read as a status.
    let sentence_like = word.contains(' ') || word.trim().eq_ignore_ascii_case("ok");
    match classify_prefix(word).filter(|_| !sentence_like) {
        Some((status, severity)) if !word.trim().is_empty() => StatusPrefix {
            status: Some(status),
            rest: rest.trim_start(),
            scope: None,
            severity,
        },
        _ => none,
    }
}

/// Status (and implied severity) named by a prefix's words, if they are status words.
fn classify_prefix(inner: &str) -> Option<(AlertStatus, Option<&'static str>)> {
    let lower = inner.trim().to_lowercase();
    let head = lower.split(" on ").next().unwrap_or_default().trim();
    let head = head.trim_start_matches("re-");
    if head.starts_with("firing") || lower.contains("firing:") {
        return Some((AlertStatus::Firing, None));
    }
    match head.split(':').next().unwrap_or_default().trim() {
        "resolved" | "recovered" | "ok" => Some((AlertStatus::Resolved, None)),
        "triggered" | "alert" | "no data" => Some((AlertStatus::Firing, None)),
        "warn" | "warning" => Some((AlertStatus::Firing, Some("warning"))),
        _ => None,
    }
}

/// `Triggered on {host:web-1,env:prod}` → `host:web-1,env:prod`.
fn prefix_scope(inner: &str) -> Option<String> {
    let (_, scope) = inner.split_once(" on ")?;
    let scope = scope
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim();
    (!scope.is_empty()).then(|| scope.to_string())
}

/// `critical`/`crit`/`P1`/`page`/`error` → `critical`, `warning`/`warn`/`P2`/`P3` → `warning`,
/// `info`/`P4`/`P5` → `info`; anything else is kept as written (trimmed). Empty → `None`.
pub fn normalize_severity(raw: &str) -> Option<String> {
    let s = raw
        .trim()
        .trim_matches(|c| matches!(c, '"' | '\'' | '*' | '`'));
    if s.is_empty() {
        return None;
    }
    let known = known_severity(s);
    Some(known.map_or_else(|| s.to_string(), str::to_string))
}

/// The normalised name of a recognised severity word.
pub(crate) fn known_severity(s: &str) -> Option<&'static str> {
    match s.to_lowercase().as_str() {
        "critical" | "crit" | "p1" | "page" | "error" | "err" | "fatal" | "emergency" | "emerg"
        | "sev1" => Some("critical"),
        "warning" | "warn" | "p2" | "p3" | "sev2" | "sev3" => Some("warning"),
        "info" | "informational" | "notice" | "p4" | "p5" | "sev4" | "sev5" => Some("info"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headline: &str, body: &str) -> MessageParts {
        MessageParts {
            headline: (!headline.is_empty()).then(|| headline.to_string()),
            body: body.to_string(),
            ..MessageParts::default()
        }
    }

    #[test]
    fn status_prefixes() {
        let p = status_prefix("[FIRING:2, RESOLVED:1] Disk");
        assert_eq!((p.status, p.rest), (Some(AlertStatus::Firing), "Disk"));
        let p = status_prefix("[RESOLVED] HighErrorRate api");
        assert_eq!(p.status, Some(AlertStatus::Resolved));
        assert_eq!(p.rest, "HighErrorRate api");
        let p = status_prefix("[Triggered on {host:web-1}] High CPU");
        assert_eq!(p.scope.as_deref(), Some("host:web-1"));
        assert_eq!(p.rest, "High CPU");
        let p = status_prefix("[Warn] Queue depth");
        assert_eq!(p.severity, Some("warning"));
        let p = status_prefix("[Re-Triggered] X");
        assert_eq!(p.status, Some(AlertStatus::Firing));
        let p = status_prefix("[prod] Database down");
        assert_eq!((p.status, p.rest), (None, "[prod] Database down"));
        let p = status_prefix("RESOLVED: disk ok");
        assert_eq!((p.status, p.rest), (Some(AlertStatus::Resolved), "disk ok"));
        let p = status_prefix("Note: the [x");
        assert_eq!(p.status, None);
        assert_eq!(status_prefix("OK: so the DB is down").status, None);
        assert_eq!(status_prefix("No data: nothing").status, None);
        assert_eq!(status_prefix("[unterminated").rest, "[unterminated");
    }

    #[test]
    fn severities_normalise() {
        for (raw, want) in [
            ("CRITICAL", "critical"),
            ("crit", "critical"),
            ("P1", "critical"),
            ("page", "critical"),
            ("error", "critical"),
            ("warn", "warning"),
            ("P3", "warning"),
            ("info", "info"),
            ("P5", "info"),
            ("Major", "Major"),
        ] {
            assert_eq!(normalize_severity(raw).as_deref(), Some(want), "{raw}");
        }
        assert_eq!(normalize_severity("  "), None);
    }

    #[test]
    fn detects_each_dialect() {
        let mut p = parts("[FIRING:1] X", "");
        assert_eq!(detect(&p), AlertSource::Alertmanager);
        p.sender = Some("Grafana".into());
        assert_eq!(detect(&p), AlertSource::Grafana);
        let p = parts("[Triggered] High CPU", "");
        assert_eq!(detect(&p), AlertSource::Datadog);
        let p = parts("", "*Alert:* x - critical\n*Details:*\n • *k:* v");
        assert_eq!(detect(&p), AlertSource::Signoz);
        let p = parts("", "**Firing**\nLabels:\n - a = b");
        assert_eq!(detect(&p), AlertSource::Grafana);
        let p = parts("", "hello world");
        assert_eq!(detect(&p), AlertSource::Text);
    }

    #[test]
    fn clipping_respects_char_boundaries() {
        assert_eq!(clip_bytes("héllo", 2), ("h", true));
        assert_eq!(clip_bytes("abc", 5), ("abc", false));
        assert_eq!(clip_chars("ééé", 2), "éé");
        assert_eq!(strip_port("web-1:9100"), "web-1");
        assert_eq!(strip_port("::1"), "::1");
    }

    #[test]
    fn fields_become_labels() {
        let mut p = parts("[FIRING:1] X", "");
        p.fields = vec![
            ("Severity".into(), "P2".into()),
            ("long text".into(), "v".into()),
        ];
        let a = parse_message(&p);
        assert_eq!(a.severity.as_deref(), Some("warning"));
        assert!(!a.labels.contains_key("long text"));
    }
}
