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
//! [`fingerprint`] then gives the alert a stable identity so that a re-fired alert, or its
//! resolved message, is recognised as the same alert.

pub mod fingerprint;
pub mod slack_event;
pub mod sources;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use slack_event::{parse_slack_json, parse_slack_value};

/// Largest message body we analyse; longer input is cut (on a char boundary) and marked.
pub const MAX_ALERT_BYTES: usize = 64 * 1024;

/// Which tool sent the alert, recognised from the message's shape and wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSource {
    Alertmanager,
    Grafana,
    Signoz,
    Datadog,
    Text,
}

impl fmt::Display for AlertSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            AlertSource::Alertmanager => "alertmanager",
            AlertSource::Grafana => "grafana",
            AlertSource::Signoz => "signoz",
            AlertSource::Datadog => "datadog",
            AlertSource::Text => "text",
        };
        f.write_str(s)
    }
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
    pub labels: BTreeMap<String, String>,
    pub links: Vec<String>,
    pub fired_at: Option<DateTime<Utc>>,
    /// Stable identity: same alert re-fired (or resolved) ⇒ same fingerprint.
    pub fingerprint: String,
    pub slack: SlackRef,
    /// True when the message was longer than [`MAX_ALERT_BYTES`] and was cut.
    #[serde(default)]
    pub truncated: bool,
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
