//! The `Alert` model and the parsers that build it from Slack messages.
//!
//! An alert reaches us as a Slack `message` event, either alone or wrapped in a Socket Mode
//! `events_api` envelope. Integrations put their content in different places (`text`,
//! `attachments`, `blocks`) and in different dialects (Alertmanager, Grafana, SigNoz, Datadog),
//! so parsing is two steps:
//!
//! 1. [`slack_event`] reads the envelope/event: where it was posted, who posted it, whether it is
//!    a thread reply, an edit or a deletion, and joins every piece of text it carries.
//! 2. [`sources`] recognises the dialect and pulls out title, status, labels, service, severity
//!    and links; anything unrecognised becomes a `text` alert rather than an error.
//!
//! Who sent the message is decided by identity first ([`identity`]: the `sources:` mapping of
//! `agents.yaml`, then the sender's name), and only then by each tool's own markers.
//!
//! [`fingerprint`] then gives the alert a stable identity so that a re-fired alert, or its
//! resolved message, is recognised as the same alert.
//!
//! A grouped notification (`[FIRING:3] …` listing three alerts) is **one** [`Alert`]: the labels
//! the members share are its `labels`, each member keeps its own labels in [`Alert::group`], and
//! the pipeline runs one analysis for the whole group. [`Alert::target_hints`] lists every raw
//! string that may name the affected object (label values with their key, positional title
//! values without one), for target resolution to consume.

mod content;
pub mod fingerprint;
pub mod identity;
pub mod links;
pub mod slack_event;
pub mod sources;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use identity::{SourceMap, SourceRule};
pub use slack_event::{
    parse_slack_json, parse_slack_json_with, parse_slack_value, parse_slack_value_with,
};

/// Largest message body we analyse; longer input is cut (on a char boundary) and marked.
pub const MAX_ALERT_BYTES: usize = 64 * 1024;

/// Which tool sent the alert: from the sender's identity, else the message's shape and wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSource {
    Alertmanager,
    Grafana,
    Signoz,
    Datadog,
    /// An incident forwarded by the PagerDuty Slack app.
    Pagerduty,
    /// An alert forwarded by the Opsgenie Slack app.
    Opsgenie,
    Text,
}

impl AlertSource {
    /// Every source, in the order `detect` tries their markers.
    pub const ALL: [AlertSource; 7] = [
        AlertSource::Signoz,
        AlertSource::Grafana,
        AlertSource::Datadog,
        AlertSource::Pagerduty,
        AlertSource::Opsgenie,
        AlertSource::Alertmanager,
        AlertSource::Text,
    ];

    /// The lower-case name used in `agents.yaml` and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSource::Alertmanager => "alertmanager",
            AlertSource::Grafana => "grafana",
            AlertSource::Signoz => "signoz",
            AlertSource::Datadog => "datadog",
            AlertSource::Pagerduty => "pagerduty",
            AlertSource::Opsgenie => "opsgenie",
            AlertSource::Text => "text",
        }
    }
}

impl fmt::Display for AlertSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a link in an alert points at. Links are kept as links: their hosts are never taken as
/// the host the alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    Runbook,
    Dashboard,
    Silence,
    /// The alert's own page: rule, generator URL, monitor, incident.
    Source,
    Logs,
    Traces,
    Other,
}

/// One link the message carried, with what it points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub kind: LinkKind,
    pub url: String,
}

/// Where a target hint was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HintOrigin {
    /// A label, named by `key` (from `key = value` lines, bullets, tags, fields, title pairs).
    Label,
    /// A bare value in a title that lists label values by position (Alertmanager's and
    /// Grafana's default titles): which label it was is unknown, so `key` is `None`.
    TitleValue,
    /// Prose ("pod X", "node-3", a host name in the text); `key` says what the words called it.
    Text,
}

/// A raw string that may name the object the alert is about. Nothing is resolved here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetHint {
    pub value: String,
    pub origin: HintOrigin,
    /// The label key (or the word that introduced it in prose); `None` for positional values.
    pub key: Option<String>,
}

/// One alert of a grouped notification, as the message listed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertInstance {
    /// Firing or resolved, when the message says so per alert (Grafana's sections).
    #[serde(default)]
    pub status: Option<AlertStatus>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `summary`, `description`, `runbook_url`, … as the message rendered them.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// The counts of a status prefix: `[FIRING:2, RESOLVED:1]` → 2 and 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertCounts {
    pub firing: u32,
    pub resolved: u32,
}

/// Firing alerts start an analysis; resolved ones never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

/// Who posted the message: an integration (webhook or app bot) or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Integration,
    Person,
    /// Built from free text (`/rca <text>`, `replay "text"`), not from a Slack message.
    Manual,
}

/// Where the alert was posted in Slack, and the delivery ids used for dedup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackRef {
    pub channel: Option<String>,
    /// The message's `ts`: the thread the analysis is posted in.
    pub ts: Option<String>,
    pub event_id: Option<String>,
    pub envelope_id: Option<String>,
    #[serde(default)]
    pub retry_attempt: u32,
    pub bot_id: Option<String>,
    pub user: Option<String>,
}

/// One alert, whatever tool sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// One line: the alert's name/title without status prefixes like `[FIRING:1]`.
    pub title: String,
    /// Every other piece of text the message carried, joined with newlines.
    pub text: String,
    pub source: AlertSource,
    pub status: AlertStatus,
    pub origin: Origin,
    pub service: Option<String>,
    pub namespace: Option<String>,
    /// Host name the alert is about (TLS/DNS alerts), when one is named.
    pub host: Option<String>,
    /// Normalised to `critical`, `warning` or `info` when recognisable, else as written.
    pub severity: Option<String>,
    /// Labels the message names with their key (for a group: the ones every member shares).
    /// Only closed vocabularies are read from positional title values: `alertname` (the first
    /// sorted value, shaped like an alert name), `severity` and `env` words.
    pub labels: BTreeMap<String, String>,
    pub links: Vec<Link>,
    pub fired_at: Option<DateTime<Utc>>,
    /// Stable identity: same alert re-fired (or resolved) ⇒ same fingerprint.
    pub fingerprint: String,
    pub slack: SlackRef,
    /// True when the message was longer than [`MAX_ALERT_BYTES`] and was cut.
    #[serde(default)]
    pub truncated: bool,
    /// The alerts a grouped notification lists one by one, each with its own labels; empty when
    /// the message does not list them (a default Alertmanager title, Datadog, plain text).
    #[serde(default)]
    pub group: Vec<AlertInstance>,
    /// Firing/resolved counts from a `[FIRING:n]` prefix.
    #[serde(default)]
    pub counts: Option<AlertCounts>,
    /// Raw strings that may name the affected object, with where they came from.
    #[serde(default)]
    pub target_hints: Vec<TargetHint>,
}

impl Alert {
    /// Title and body as one lower-cased string, for matching.
    pub fn haystack(&self) -> String {
        let mut s = String::with_capacity(self.title.len() + self.text.len() + 1);
        s.push_str(&self.title);
        s.push('\n');
        s.push_str(&self.text);
        s.to_lowercase()
    }
}

/// What a Slack message turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Intake {
    Alert(Box<Alert>),
    /// A well-formed event that is not an alert to analyse (thread reply, deletion, …).
    Ignored(Ignored),
}

/// Why a well-formed event is not an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ignored {
    pub reason: IgnoreReason,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreReason {
    /// Not a `message` event (reaction, channel join, …).
    NotAMessage,
    /// A reply inside a thread (ours or anyone's).
    ThreadReply,
    /// `message_changed` that does not carry a new alert state.
    Edit,
    /// `message_deleted`.
    Deletion,
    /// A message with no text at all.
    Empty,
}

/// Input that cannot be read as a Slack event at all.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("input is not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error("JSON is not a Slack message event or events_api envelope: {0}")]
    NotSlackEvent(String),
}
