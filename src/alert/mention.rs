//! `@sre-agent` questions: an `app_mention` at the top of a channel is a question about an
//! incident (`@sre-agent why is checkout slow?`). The bot and `replay` read it the same way: the
//! mention's text, without the `<@U…>` tags, as a person's alert asked at the mention's time.

use serde_json::Value;

use super::slack_event::locate_event;
use super::{Alert, Origin, content::parse_ts};

/// Remove `<@U…>` user mentions (the bot's and anyone's) and tidy the spaces.
pub fn strip_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<@") {
        out.push_str(&rest[..start]);
        match rest[start..].find('>') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The question an `app_mention` event asks, as a person's alert; `None` for another event, a
/// mention inside a thread (that one asks about the thread's alert) or a mention with no words.
pub fn question_alert(event: &serde_json::Map<String, Value>) -> Option<Alert> {
    let field = |k: &str| event.get(k).and_then(Value::as_str).map(str::to_string);
    if field("type").as_deref() != Some("app_mention") {
        return None;
    }
    let ts = field("ts");
    if field("thread_ts").is_some_and(|t| Some(&t) != ts.as_ref()) {
        return None;
    }
    let question = strip_mentions(&field("text").unwrap_or_default());
    if question.is_empty() {
        return None;
    }
    let mut alert = super::sources::text_alert(&question);
    alert.origin = Origin::Person;
    alert.slack.channel = field("channel");
    alert.slack.user = field("user");
    alert.fired_at = ts.as_deref().and_then(parse_ts);
    alert.slack.ts = ts;
    Some(alert)
}

/// [`question_alert`] of a Slack event or envelope given as JSON text.
pub fn question_in_json(input: &str) -> Option<Alert> {
    let v: Value = serde_json::from_str(input).ok()?;
    let (event, delivery) = locate_event(&v).ok()?;
    let mut alert = question_alert(event)?;
    alert.slack.event_id = delivery.event_id;
    Some(alert)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_stripped() {
        assert_eq!(
            strip_mentions("<@U0BOT> why is  checkout slow?"),
            "why is checkout slow?"
        );
        assert_eq!(
            strip_mentions("hey <@U0BOT|sre-agent>, pods <@U2> restarting"),
            "hey , pods restarting"
        );
        assert_eq!(strip_mentions("<@U0BOT>"), "");
    }

    #[test]
    fn a_top_level_mention_is_a_question_asked_at_its_time() {
        let json = r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention",
            "user":"U1","text":"<@U0BOT> why are the invoice-sync pods restarting","channel":"C1",
            "ts":"1770733560.324757"}}"#;
        let alert = question_in_json(json).expect("a question");
        assert_eq!(alert.title, "why are the invoice-sync pods restarting");
        assert_eq!(alert.origin, Origin::Person);
        assert_eq!(alert.slack.event_id.as_deref(), Some("Ev1"));
        assert_eq!(alert.fired_at.map(|t| t.timestamp()), Some(1_770_733_560));
        let in_thread = json.replace(r#""channel":"C1","#, r#""channel":"C1","thread_ts":"1.0","#);
        assert!(question_in_json(&in_thread).is_none());
        assert!(question_in_json(&json.replace("app_mention", "message")).is_none());
    }
}
