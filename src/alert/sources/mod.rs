//! Dialect recognition and reading: Alertmanager, Grafana, SigNoz, Datadog, forwarded PagerDuty
//! and Opsgenie messages, or plain text.
//!
//! [`super::slack_event`] reads a Slack message into [`MessageParts`] (who sent it, the first
//! attachment title, every other line of content, fields, links). [`parse_message_with`] then:
//!
//! 1. decides the source ([`detect`]): the `sources:` mapping, then the sender's name, then each
//!    tool's own markers, else plain text;
//! 2. strips the status prefix from the headline (`[FIRING:1]`, `[RESOLVED]`,
//!    `[Triggered on {host:web-1}]`) and reads the status and counts from it ([`prefix`]);
//! 3. reads the per-alert sections every dialect renders the same few ways ([`sections`]:
//!    `Labels:`/`Annotations:` blocks, `*Alert:* … *Details:* • *k:* v` bullets): each becomes a
//!    group member, and the labels all members share become the alert's labels;
//! 4. lets the dialect module read its own layout (title pairs or positional values, tags,
//!    forwarded fields);
//! 5. falls back to plain-text heuristics ([`text`]) for what is still unknown, and picks
//!    service, namespace, host and severity ([`pick`]), links ([`crate::alert::links`]) and
//!    target hints ([`hints`]).
//!
//! Nothing here fails: anything unrecognised is still an alert of source [`AlertSource::Text`].

mod alertmanager;
mod datadog;
mod detect;
mod forwarded;
mod grafana;
mod hints;
mod pick;
mod prefix;
mod sections;
mod signoz;
mod text;
mod words;

use std::collections::{BTreeMap, BTreeSet};

use super::identity::{Sender, SourceMap};
use super::{Alert, AlertCounts, AlertInstance, AlertSource, AlertStatus, Origin};

pub use detect::detect;
pub use prefix::normalize_severity;
pub(crate) use prefix::{known_severity, status_prefix};
pub use text::text_alert;

/// Longest title kept, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// At most this many labels are kept per alert (and per group member).
const MAX_LABELS: usize = 64;
const MAX_LABEL_KEY: usize = 64;
const MAX_LABEL_VALUE: usize = 256;
/// At most this many group members are kept.
const MAX_MEMBERS: usize = 100;

/// The pieces of a Slack message that dialect recognition looks at (already decoded from Slack
/// mrkdwn escapes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageParts {
    /// Who posted it: bot id, app id, `username`, bot profile name.
    pub sender: Sender,
    /// Title of the first attachment that has one, status prefix included.
    pub headline: Option<String>,
    /// `title_link` of the attachment the headline came from.
    pub title_link: Option<String>,
    /// First attachment `footer` (Grafana signs its messages there).
    pub footer: Option<String>,
    /// Every other piece of content, one piece per line, in message order.
    pub body: String,
    /// Attachment `fields[]` and Block Kit section fields as (title, value).
    pub fields: Vec<(String, String)>,
    /// Every URL the message carried, in order, without repeats.
    pub links: Vec<String>,
}

/// What the status prefix and the dialect parser found, before the common enrichment.
#[derive(Debug, Default)]
struct Findings {
    labels: BTreeMap<String, String>,
    status: Option<AlertStatus>,
    severity: Option<String>,
    host: Option<String>,
    counts: Option<AlertCounts>,
    group: Vec<AlertInstance>,
    /// Values a title lists by position whose label is unknown (`payments`, `10.1.4.7:8080`).
    positional: Vec<String>,
    /// The title is a list of label values, not prose: prose heuristics skip it.
    positional_title: bool,
    /// Label keys that prose heuristics set ("pod X", "node-3"), as opposed to keyed labels.
    from_text: BTreeSet<String>,
    /// Keys whose values differ between group members: prose never sets them for the whole
    /// group (the first member's pod is not the group's pod).
    member_keys: BTreeSet<String>,
}

impl Findings {
    /// Adds a label unless the key is already set (earlier sources win) or the pair is unusable.
    /// Returns whether it was added.
    fn label(&mut self, key: &str, value: &str) -> bool {
        add_label(&mut self.labels, key, value)
    }

    /// A label found by a prose heuristic rather than read with its key.
    fn text_label(&mut self, key: &str, value: &str) {
        if !self.member_keys.contains(key) && self.label(key, value) {
            self.from_text.insert(key.to_string());
        }
    }
}

/// Add `key = value` to `labels` when usable and not yet set; returns whether it was added.
fn add_label(labels: &mut BTreeMap<String, String>, key: &str, value: &str) -> bool {
    let key = key
        .trim()
        .trim_matches(|c| c == '*' || c == '`' || c == '"');
    let value = value
        .trim()
        .trim_matches(|c| c == '"' || c == '`' || c == '\'')
        .trim();
    let usable = !key.is_empty()
        && !value.is_empty()
        && key.len() <= MAX_LABEL_KEY
        && value.len() <= MAX_LABEL_VALUE
        && !key.contains(char::is_whitespace)
        && !value.contains('\n');
    if usable && labels.len() < MAX_LABELS && !labels.contains_key(key) {
        labels.insert(key.to_string(), value.to_string());
        return true;
    }
    false
}

/// Build an alert from a message's parts, with no `sources:` mapping. `origin` is
/// `Integration` and `slack` is empty: the caller knows who posted it and where.
pub fn parse_message(parts: &MessageParts) -> Alert {
    parse_message_with(parts, &SourceMap::default())
}

/// Build an alert from a message's parts; `sources` maps senders to sources first.
pub fn parse_message_with(parts: &MessageParts, sources: &SourceMap) -> Alert {
    build(parts, detect(parts, sources), Origin::Integration)
}

/// The shared pipeline behind [`parse_message_with`] and [`text_alert`].
fn build(parts: &MessageParts, source: AlertSource, origin: Origin) -> Alert {
    let (headline, body) = split_headline(parts);
    let (headline, incident_status) = match source {
        AlertSource::Pagerduty | AlertSource::Opsgenie => forwarded::clean_headline(&headline),
        _ => (headline, None),
    };
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
        status: incident_status.or(prefix.status),
        severity: prefix.severity.map(str::to_string),
        counts: prefix.counts,
        ..Findings::default()
    };
    if let Some(scope) = &prefix.scope {
        datadog::apply_scope(scope, &mut f);
    }
    match source {
        AlertSource::Pagerduty | AlertSource::Opsgenie => {
            forwarded::fields(source, &parts.fields, &body, &mut f)
        }
        _ => {
            for (k, v) in &parts.fields {
                f.label(&k.to_lowercase(), v);
            }
        }
    }
    sections::apply(&body, source, &mut f);
    // Dialects read the whole headline: a long title's labels are past the clipped title.
    match source {
        AlertSource::Alertmanager | AlertSource::Pagerduty | AlertSource::Opsgenie => {
            alertmanager::extract(full_title, &mut f)
        }
        AlertSource::Grafana => grafana::extract(full_title, &mut f),
        AlertSource::Signoz => signoz::extract(full_title, &mut f),
        AlertSource::Datadog => datadog::extract(&title, &body, &mut f),
        AlertSource::Text => {}
    }
    let prose_title = if f.positional_title { "" } else { &title };
    text::extract(prose_title, &body, &mut f);
    let links = super::links::classify_all(&parts.links, &body);
    pick::finish(title, body, source, origin, f, links)
}

/// The headline (attachment title, else the first non-empty line, unwrapped from bold and a
/// link) and the rest of the body.
fn split_headline(parts: &MessageParts) -> (String, String) {
    if let Some(h) = parts.headline.as_deref().filter(|h| !h.trim().is_empty()) {
        return (h.trim().to_string(), parts.body.trim().to_string());
    }
    let mut lines = parts.body.lines();
    let headline = lines
        .by_ref()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(unwrap_headline)
        .unwrap_or_default()
        .to_string();
    let rest: Vec<&str> = lines.collect();
    (headline, rest.join("\n").trim().to_string())
}

/// `*[#12] Disk full (https://pd/incidents/1)*` → `[#12] Disk full`: a bold line that is one
/// link is a linked title (Block Kit messages put their title there).
fn unwrap_headline(line: &str) -> &str {
    let bold = line
        .strip_prefix('*')
        .and_then(|l| l.strip_suffix('*'))
        .filter(|l| !l.is_empty() && !l.contains('*'));
    let Some(inner) = bold else {
        return line;
    };
    let linked = inner
        .strip_suffix(')')
        .and_then(|l| l.rsplit_once(" ("))
        .filter(|(label, url)| {
            !label.trim().is_empty() && url.contains("://") && !url.contains(char::is_whitespace)
        });
    linked.map_or(inner, |(label, _)| label.trim())
}

pub(super) fn first_line(s: &str) -> &str {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::SourceRule;

    fn parts(headline: &str, body: &str) -> MessageParts {
        MessageParts {
            headline: (!headline.is_empty()).then(|| headline.to_string()),
            body: body.to_string(),
            ..MessageParts::default()
        }
    }

    fn named(name: &str, mut p: MessageParts) -> MessageParts {
        p.sender.username = Some(name.into());
        p
    }

    #[test]
    fn detects_each_dialect() {
        let none = SourceMap::default();
        let p = parts("[FIRING:1] X", "");
        assert_eq!(detect(&p, &none), AlertSource::Alertmanager);
        assert_eq!(detect(&named("Grafana", p), &none), AlertSource::Grafana);
        let p = parts("[Triggered] High CPU", "");
        assert_eq!(detect(&p, &none), AlertSource::Datadog);
        // The widely shared community template is Alertmanager's, not SigNoz's.
        let community = parts("", "*Alert:* x - `critical`\n*Details:*\n • *k:* `v`");
        assert_eq!(detect(&community, &none), AlertSource::Alertmanager);
        let p = named("Alertmanager", community.clone());
        assert_eq!(detect(&p, &none), AlertSource::Alertmanager);
        // SigNoz's own markers make an "Alertmanager"-named message SigNoz's.
        let p = named(
            "Alertmanager",
            parts("", "*Alert:* x\n *RelatedLogs:* \n*Details:*"),
        );
        assert_eq!(detect(&p, &none), AlertSource::Signoz);
        let p = parts("", "**Firing**\nLabels:\n - a = b");
        assert_eq!(detect(&p, &none), AlertSource::Grafana);
        let p = parts("", "hello world");
        assert_eq!(detect(&p, &none), AlertSource::Text);
    }

    #[test]
    fn the_sources_mapping_comes_first() {
        let map = SourceMap::new(&[SourceRule {
            bot_id: Some("B0PROM".into()),
            app_id: None,
            username: None,
            source: AlertSource::Alertmanager,
        }])
        .expect("valid");
        let mut p = named("Grafana", parts("", "*Alert:* x\n *RelatedLogs:* "));
        p.sender.bot_id = Some("B0PROM".into());
        assert_eq!(detect(&p, &map), AlertSource::Alertmanager);
        assert_eq!(
            parse_message_with(&p, &map).source,
            AlertSource::Alertmanager
        );
    }

    #[test]
    fn clipping_respects_char_boundaries() {
        assert_eq!(clip_bytes("héllo", 2), ("h", true));
        assert_eq!(clip_bytes("abc", 5), ("abc", false));
        assert_eq!(clip_chars("ééé", 2), "éé");
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

    #[test]
    fn linked_bold_first_line_is_a_title() {
        assert_eq!(unwrap_headline("*[#1] Disk (https://pd/x)*"), "[#1] Disk");
        assert_eq!(unwrap_headline("*bold*"), "bold");
        assert_eq!(unwrap_headline("*a* and *b*"), "*a* and *b*");
        assert_eq!(unwrap_headline("plain (https://x)"), "plain (https://x)");
    }
}
