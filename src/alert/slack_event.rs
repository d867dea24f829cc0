//! Reading a Slack `message` event (or a whole `events_api` envelope) into an [`Intake`]. (stub)

use super::{Intake, ParseError};

/// Parse text that should hold a Slack event or envelope.
pub fn parse_slack_json(input: &str) -> Result<Intake, ParseError> {
    let v: serde_json::Value = serde_json::from_str(input)?;
    parse_slack_value(&v)
}

/// Parse a Slack event or envelope already decoded as JSON.
pub fn parse_slack_value(v: &serde_json::Value) -> Result<Intake, ParseError> {
    let text = v
        .pointer("/payload/event/text")
        .or_else(|| v.get("text"))
        .and_then(|t| t.as_str())
        .ok_or_else(|| ParseError::NotSlackEvent("no text".into()))?;
    Ok(Intake::Alert(Box::new(super::sources::text_alert(text))))
}
