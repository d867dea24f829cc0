//! Reading a Slack `message` event (or a whole `events_api` envelope) into an [`Intake`].
//!
//! Three input shapes are accepted: a Socket Mode envelope
//! (`{"envelope_id", "type": "events_api", "payload": {…}}`), an Events API callback
//! (`{"type": "event_callback", "event_id", "event": {…}}`), or a bare event. What happens next:
//!
//! - not a `message` event (`reaction_added`, …) → [`IgnoreReason::NotAMessage`];
//! - `message_deleted` → [`IgnoreReason::Deletion`]; a reply in a thread (`thread_ts` ≠ `ts`) →
//!   [`IgnoreReason::ThreadReply`];
//! - `message_changed` → the new version (`event.message`) is parsed; only an alert that turned
//!   resolved is returned (so the bot can note it), anything else is [`IgnoreReason::Edit`];
//! - otherwise every piece of content is collected ([`super::content`]: text, attachments,
//!   fields, blocks, decoded, links collected, within [`super::MAX_ALERT_BYTES`]) and handed to
//!   [`super::sources`] with the `sources:` mapping; no content at all →
//!   [`IgnoreReason::Empty`].
//!
//! Fields of an unexpected JSON type are skipped, never a panic.

use serde_json::Value;

use super::content::{Object, collect, parse_ts, str_of, string_of};
use super::identity::SourceMap;
use super::sources::parse_message_with;
use super::{Alert, AlertStatus, IgnoreReason, Ignored, Intake, Origin, ParseError, SlackRef};

/// Message subtypes that are channel housekeeping, not content.
const HOUSEKEEPING: &[&str] = &[
    "channel_join",
    "channel_leave",
    "channel_topic",
    "channel_purpose",
    "channel_name",
    "channel_archive",
    "channel_unarchive",
    "group_join",
    "group_leave",
    "pinned_item",
    "unpinned_item",
];

/// Parse text that should hold a Slack event or envelope (no `sources:` mapping).
pub fn parse_slack_json(input: &str) -> Result<Intake, ParseError> {
    parse_slack_json_with(input, &SourceMap::default())
}

/// Parse text that should hold a Slack event or envelope; `sources` maps senders to sources.
pub fn parse_slack_json_with(input: &str, sources: &SourceMap) -> Result<Intake, ParseError> {
    let v: Value = serde_json::from_str(input)?;
    parse_slack_value_with(&v, sources)
}

/// Parse a Slack event or envelope already decoded as JSON (no `sources:` mapping).
pub fn parse_slack_value(v: &Value) -> Result<Intake, ParseError> {
    parse_slack_value_with(v, &SourceMap::default())
}

/// Parse a Slack event or envelope already decoded as JSON; `sources` maps senders to sources.
pub fn parse_slack_value_with(v: &Value, sources: &SourceMap) -> Result<Intake, ParseError> {
    let (event, delivery) = locate_event(v)?;
    Ok(read_event(event, &delivery, sources))
}

/// Delivery ids from the envelope and the callback wrapper.
#[derive(Debug, Default, Clone)]
struct Delivery {
    envelope_id: Option<String>,
    event_id: Option<String>,
    retry_attempt: u32,
}

fn not_event(msg: impl Into<String>) -> ParseError {
    ParseError::NotSlackEvent(msg.into())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Find the event object inside whatever wrapper the input has.
fn locate_event(v: &Value) -> Result<(&Object, Delivery), ParseError> {
    let obj = v
        .as_object()
        .ok_or_else(|| not_event(format!("expected a JSON object, found {}", kind(v))))?;
    match str_of(obj, "type") {
        Some("events_api") => envelope(obj),
        Some("event_callback") => callback(obj, Delivery::default()),
        Some(t) if obj.contains_key("envelope_id") => Err(not_event(format!(
            "Socket Mode envelope of type {t:?} carries no message event"
        ))),
        Some(_) => Ok((obj, Delivery::default())),
        None if obj.get("event").is_some_and(Value::is_object) => {
            callback(obj, Delivery::default())
        }
        None => Err(not_event(
            "object has no string \"type\" (expected an events_api envelope, an event_callback \
             payload or a message event)",
        )),
    }
}

/// `{"envelope_id", "type": "events_api", "retry_attempt", "payload": {…}}`.
fn envelope(obj: &Object) -> Result<(&Object, Delivery), ParseError> {
    let payload = obj
        .get("payload")
        .and_then(Value::as_object)
        .ok_or_else(|| not_event("events_api envelope without a payload object"))?;
    let retry = obj
        .get("retry_attempt")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let delivery = Delivery {
        envelope_id: string_of(obj, "envelope_id"),
        event_id: None,
        retry_attempt: u32::try_from(retry).unwrap_or(u32::MAX),
    };
    callback(payload, delivery)
}

/// `{"type": "event_callback", "event_id", "event": {…}}`.
fn callback(obj: &Object, mut delivery: Delivery) -> Result<(&Object, Delivery), ParseError> {
    let event = obj
        .get("event")
        .and_then(Value::as_object)
        .ok_or_else(|| not_event("event_callback payload without an event object"))?;
    delivery.event_id = string_of(obj, "event_id");
    Ok((event, delivery))
}

fn ignored(reason: IgnoreReason, detail: impl Into<String>) -> Intake {
    Intake::Ignored(Ignored {
        reason,
        detail: detail.into(),
    })
}

/// Decide what a located event is.
fn read_event(event: &Object, delivery: &Delivery, sources: &SourceMap) -> Intake {
    let ty = str_of(event, "type").unwrap_or_default();
    if ty != "message" {
        let what = if ty.is_empty() { "untyped" } else { ty };
        return ignored(IgnoreReason::NotAMessage, format!("{what} event"));
    }
    match str_of(event, "subtype") {
        Some("message_deleted") => ignored(IgnoreReason::Deletion, "message deleted"),
        Some("message_changed") => edited(event, delivery, sources),
        Some("message_replied") => ignored(IgnoreReason::ThreadReply, "thread reply notification"),
        Some(s) if HOUSEKEEPING.contains(&s) => {
            ignored(IgnoreReason::NotAMessage, format!("{s} message"))
        }
        _ => match message(event, event, delivery, sources) {
            Ok(alert) => Intake::Alert(alert),
            Err(why) => Intake::Ignored(why),
        },
    }
}

/// `message_changed`: only an alert that is now resolved is worth returning.
fn edited(event: &Object, delivery: &Delivery, sources: &SourceMap) -> Intake {
    let Some(new) = event.get("message").and_then(Value::as_object) else {
        return ignored(IgnoreReason::Edit, "message_changed without a new message");
    };
    match message(new, event, delivery, sources) {
        Ok(alert) if alert.status == AlertStatus::Resolved => Intake::Alert(alert),
        Ok(_) => ignored(IgnoreReason::Edit, "edited message is not a resolved alert"),
        Err(why) => ignored(
            IgnoreReason::Edit,
            format!("edit of a message: {}", why.detail),
        ),
    }
}

/// A message (or the new version of an edited one) as an alert. `outer` is the event that
/// carried it, for the channel.
fn message(
    msg: &Object,
    outer: &Object,
    delivery: &Delivery,
    sources: &SourceMap,
) -> Result<Box<Alert>, Ignored> {
    let ts = str_of(msg, "ts");
    if let Some(thread) = str_of(msg, "thread_ts").filter(|t| Some(*t) != ts) {
        return Err(Ignored {
            reason: IgnoreReason::ThreadReply,
            detail: format!("reply in thread {thread}"),
        });
    }
    let content = collect(msg);
    if content.is_empty() {
        return Err(Ignored {
            reason: IgnoreReason::Empty,
            detail: "message has no text, attachments or blocks with text".into(),
        });
    }
    let mut alert = parse_message_with(&content.parts, sources);
    alert.origin = origin(msg);
    alert.truncated = content.truncated;
    alert.fired_at = ts.and_then(parse_ts).or(content.attachment_ts);
    alert.slack = SlackRef {
        channel: string_of(msg, "channel").or_else(|| string_of(outer, "channel")),
        ts: ts.map(str::to_string),
        event_id: delivery.event_id.clone(),
        envelope_id: delivery.envelope_id.clone(),
        retry_attempt: delivery.retry_attempt,
        bot_id: string_of(msg, "bot_id"),
        user: string_of(msg, "user"),
    };
    Ok(Box::new(alert))
}

/// `bot_message` or a `bot_id` ⇒ an integration; else a person.
fn origin(msg: &Object) -> Origin {
    let bot = str_of(msg, "subtype") == Some("bot_message") || string_of(msg, "bot_id").is_some();
    if bot {
        Origin::Integration
    } else {
        Origin::Person
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{AlertSource, MAX_ALERT_BYTES};
    use serde_json::json;

    fn alert(v: Value) -> Alert {
        match parse_slack_value(&v).unwrap() {
            Intake::Alert(a) => *a,
            other => panic!("expected an alert, got {other:?}"),
        }
    }

    fn reason(v: Value) -> IgnoreReason {
        match parse_slack_value(&v).unwrap() {
            Intake::Ignored(i) => i.reason,
            other => panic!("expected ignored, got {other:?}"),
        }
    }

    #[test]
    fn person_message_with_rich_text() {
        let a = alert(
            json!({"type":"message","channel":"C1","user":"U2","ts":"1.000001",
            "text":"Checkout is down for checkout-service",
            "blocks":[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"Checkout is down for checkout-service"}]}]}]}),
        );
        assert_eq!(a.origin, Origin::Person);
        assert_eq!(a.source, AlertSource::Text);
        assert_eq!(a.title, "Checkout is down for checkout-service");
        assert_eq!(a.text, "");
        assert_eq!(a.slack.user.as_deref(), Some("U2"));
        assert_eq!(a.service.as_deref(), Some("checkout-service"));
    }

    #[test]
    fn blocks_only_message() {
        let a = alert(json!({"type":"message","bot_id":"B1","text":"",
        "blocks":[
            {"type":"header","text":{"type":"plain_text","text":"DB down"}},
            {"type":"section","text":{"type":"mrkdwn","text":"see <https://d/x|dash>"},
             "fields":[{"type":"mrkdwn","text":"*Env:* prod"}]},
            {"type":"context","elements":[{"type":"mrkdwn","text":"ctx"},{"type":"image"}]},
            {"type":"rich_text","elements":[{"type":"rich_text_list","elements":[
                {"type":"rich_text_section","elements":[{"type":"link","url":"https://r/1","text":"run"}]}]}]},
            "odd", 5, {"type":"section","text":7}
        ]}));
        assert_eq!(a.origin, Origin::Integration);
        assert_eq!(a.title, "DB down");
        assert_eq!(
            a.text,
            "see dash (https://d/x)\n*Env:* prod\nctx\nrun (https://r/1)"
        );
        let urls: Vec<&str> = a.links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(urls, vec!["https://d/x", "https://r/1"]);
        assert_eq!(a.labels.get("env").map(String::as_str), Some("prod"));
    }

    #[test]
    fn fallback_only_when_nothing_else() {
        let a = alert(json!({"type":"message","attachments":[{"fallback":"only fallback"}]}));
        assert_eq!(a.title, "only fallback");
        let a = alert(json!({"type":"message","attachments":[{"title":"T","fallback":"fb"}]}));
        assert!(!a.text.contains("fb"));
    }

    #[test]
    fn wrappers_and_delivery_ids() {
        let ev = json!({"type":"message","text":"x","ts":"1.2","channel":"C"});
        let a = alert(json!({"type":"event_callback","event_id":"Ev1","event":ev}));
        assert_eq!(a.slack.event_id.as_deref(), Some("Ev1"));
        let a = alert(
            json!({"envelope_id":"E1","type":"events_api","retry_attempt":2,
            "payload":{"type":"event_callback","event_id":"Ev2","event":ev}}),
        );
        assert_eq!(a.slack.envelope_id.as_deref(), Some("E1"));
        assert_eq!(a.slack.retry_attempt, 2);
        assert_eq!(a.slack.channel.as_deref(), Some("C"));
        assert!(matches!(
            parse_slack_value(&json!({"envelope_id":"E","type":"slash_commands","payload":{}})),
            Err(ParseError::NotSlackEvent(_))
        ));
        assert!(matches!(
            parse_slack_value(&json!({"type":"events_api","payload":5})),
            Err(ParseError::NotSlackEvent(_))
        ));
    }

    #[test]
    fn housekeeping_and_replies() {
        assert_eq!(
            reason(json!({"type":"message","subtype":"channel_join","text":"<@U1> has joined"})),
            IgnoreReason::NotAMessage
        );
        assert_eq!(
            reason(json!({"type":"message","subtype":"message_replied","message":{}})),
            IgnoreReason::ThreadReply
        );
        assert_eq!(
            reason(json!({"type":"message","subtype":"message_changed"})),
            IgnoreReason::Edit
        );
        assert_eq!(
            reason(json!({"type":"message","text":"x","thread_ts":"1.0"})),
            IgnoreReason::ThreadReply
        );
        assert_eq!(
            reason(json!({"type":"message","text":"  "})),
            IgnoreReason::Empty
        );
    }

    #[test]
    fn budget_is_shared_across_pieces() {
        let big = "y".repeat(MAX_ALERT_BYTES);
        let a = alert(json!({"type":"message","text":big,"attachments":[{"text":"more"}]}));
        assert!(a.truncated);
        assert!(a.text.len() <= MAX_ALERT_BYTES && a.title.chars().count() <= 200);
    }
}
