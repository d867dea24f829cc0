//! Pure decisions on incoming Slack messages: is this message an alert for us to read, an edit
//! that may resolve one, or something to ignore (and why)? Plus the small pieces of Block Kit the
//! bot adds itself (the Re-run / Helpful? buttons) and reply texts.
//!
//! Everything here works on JSON (`serde_json::Value`), so live events, `conversations.history`
//! messages (catch-up) and messages fetched for `/rca` go through one code path.

use serde_json::{Value, json};

/// Who the bot is, from `auth.test`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub bot_id: String,
    /// Workspace URL (`https://acme.slack.com/`), for permalinks.
    pub team_url: String,
}

impl Identity {
    /// True if the message was posted by this bot.
    pub fn is_own(&self, msg: &Value) -> bool {
        let field = |k: &str| msg.get(k).and_then(Value::as_str).unwrap_or_default();
        (!self.bot_id.is_empty() && field("bot_id") == self.bot_id)
            || (!self.user_id.is_empty() && field("user") == self.user_id)
    }
}

/// Why a message is not read as an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    NotAMessage,
    Own,
    ThreadReply,
    Deletion,
    Edit,
    OtherSubtype,
    ChannelNotAllowed,
    Person,
    NoChannel,
}

impl Skip {
    /// Metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Skip::NotAMessage => "not_a_message",
            Skip::Own => "own_message",
            Skip::ThreadReply => "thread_reply",
            Skip::Deletion => "deletion",
            Skip::Edit => "edit",
            Skip::OtherSubtype => "other_subtype",
            Skip::ChannelNotAllowed => "channel_not_allowed",
            Skip::Person => "person",
            Skip::NoChannel => "no_channel",
        }
    }
}

/// What to do with one `message` event.
#[derive(Debug, Clone, PartialEq)]
pub enum Classified {
    /// A top-level message from an integration: parse it as an alert. The value is the message
    /// itself with its `channel` filled in.
    Alert(Value),
    /// `message_changed` of an integration's top-level message: parse the new version; only a
    /// resolved alert is acted on.
    Edited(Value),
    Skip(Skip),
}

fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Classify a Slack `message` event (or a message from `conversations.history`, with
/// `channel` given separately). `allowed` is the channel allow list (empty = all).
pub fn classify(
    event: &Value,
    channel_hint: Option<&str>,
    me: &Identity,
    allowed: &[String],
) -> Classified {
    if event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message")
        != "message"
    {
        return Classified::Skip(Skip::NotAMessage);
    }
    let Some(channel) = str_field(event, "channel")
        .or(channel_hint)
        .map(str::to_string)
    else {
        return Classified::Skip(Skip::NoChannel);
    };
    if !allowed.is_empty() && !allowed.contains(&channel) {
        return Classified::Skip(Skip::ChannelNotAllowed);
    }
    let subtype = str_field(event, "subtype");
    let (msg, edited) = match subtype {
        Some("message_deleted") => return Classified::Skip(Skip::Deletion),
        Some("message_changed") => match event.get("message") {
            Some(inner) if inner.is_object() => (inner.clone(), true),
            _ => return Classified::Skip(Skip::Edit),
        },
        Some("bot_message") | None => (event.clone(), false),
        Some("thread_broadcast") => return Classified::Skip(Skip::ThreadReply),
        Some(_) => return Classified::Skip(Skip::OtherSubtype),
    };
    if me.is_own(&msg) || me.is_own(event) {
        return Classified::Skip(Skip::Own);
    }
    let ts = str_field(&msg, "ts");
    if let Some(thread) = str_field(&msg, "thread_ts")
        && Some(thread) != ts
    {
        return Classified::Skip(Skip::ThreadReply);
    }
    let integration =
        str_field(&msg, "bot_id").is_some() || str_field(&msg, "subtype") == Some("bot_message");
    if !integration {
        return Classified::Skip(Skip::Person);
    }
    let mut msg = msg;
    if let Some(obj) = msg.as_object_mut() {
        obj.insert("channel".into(), Value::String(channel));
        obj.entry("type")
            .or_insert_with(|| Value::String("message".into()));
    }
    if edited {
        Classified::Edited(msg)
    } else {
        Classified::Alert(msg)
    }
}

/// Wrap a message in an `events_api` envelope for the alert parser.
pub fn envelope_for_parser(msg: &Value, event_id: Option<&str>) -> Value {
    json!({
        "type": "events_api",
        "payload": {
            "type": "event_callback",
            "event_id": event_id,
            "event": msg,
        }
    })
}

/// Action ids of the buttons on every RCA.
pub const ACTION_RERUN: &str = "rca_rerun";
pub const ACTION_UP: &str = "rca_feedback_up";
pub const ACTION_DOWN: &str = "rca_feedback_down";
/// Callback id of the "Run RCA" message shortcut.
pub const SHORTCUT_RUN_RCA: &str = "run_rca";

/// Most blocks in one message.
const MAX_BLOCKS: usize = 50;
/// Longest button `value` Slack accepts.
const MAX_VALUE: usize = 2000;

/// The JSON carried in the buttons' `value`.
pub fn button_value(fingerprint: &str, agent: &str) -> String {
    let v = json!({"fp": fingerprint, "agent": agent}).to_string();
    if v.len() <= MAX_VALUE {
        return v;
    }
    // A very long fingerprint: keep what fits; the Re-run handler then falls back to the thread.
    let cut = truncate(fingerprint, MAX_VALUE / 2);
    json!({"fp": cut, "agent": agent}).to_string()
}

/// Read `{"fp":…, "agent":…}` from a button value.
pub fn parse_button_value(value: &str) -> (Option<String>, Option<String>) {
    let v: Value = serde_json::from_str(value).unwrap_or(Value::Null);
    let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    (get("fp"), get("agent"))
}

pub fn contains_action(v: &Value, id: &str) -> bool {
    match v {
        Value::Object(m) => {
            m.get("action_id").and_then(Value::as_str) == Some(id)
                || m.values().any(|x| contains_action(x, id))
        }
        Value::Array(a) => a.iter().any(|x| contains_action(x, id)),
        _ => false,
    }
}

/// Add `fp` and `agent` to the JSON value of our buttons where the renderer left them out.
fn fill_button_values(v: &mut Value, fingerprint: &str, agent: &str) {
    match v {
        Value::Object(m) => {
            let ours = matches!(
                m.get("action_id").and_then(Value::as_str),
                Some(ACTION_RERUN | ACTION_UP | ACTION_DOWN)
            );
            if ours {
                let mut value: serde_json::Map<String, Value> = m
                    .get("value")
                    .and_then(Value::as_str)
                    .and_then(|s| serde_json::from_str(s).ok())
                    .unwrap_or_default();
                value
                    .entry("fp")
                    .or_insert_with(|| Value::String(fingerprint.to_string()));
                value
                    .entry("agent")
                    .or_insert_with(|| Value::String(agent.to_string()));
                let text = Value::Object(value).to_string();
                if text.len() <= MAX_VALUE {
                    m.insert("value".into(), Value::String(text));
                }
            }
            for x in m.values_mut() {
                fill_button_values(x, fingerprint, agent);
            }
        }
        Value::Array(a) => a
            .iter_mut()
            .for_each(|x| fill_button_values(x, fingerprint, agent)),
        _ => {}
    }
}

/// The RCA blocks with the Re-run and 👍 / 👎 buttons appended (unless the renderer already
/// added them), kept within Slack's 50-block limit.
pub fn with_buttons(mut blocks: Vec<Value>, fingerprint: &str, agent: &str) -> Vec<Value> {
    if contains_action(&Value::Array(blocks.clone()), ACTION_RERUN) {
        // The renderer drew the buttons; make sure their values name the alert and agent.
        for b in blocks.iter_mut() {
            fill_button_values(b, fingerprint, agent);
        }
        blocks.truncate(MAX_BLOCKS);
        return blocks;
    }
    let value = button_value(fingerprint, agent);
    let button = |id: &str, text: &str| {
        json!({
            "type": "button",
            "action_id": id,
            "text": {"type": "plain_text", "text": text, "emoji": true},
            "value": value,
        })
    };
    blocks.truncate(MAX_BLOCKS - 1);
    blocks.push(json!({
        "type": "actions",
        "block_id": "rca_actions",
        "elements": [
            button(ACTION_RERUN, "🔁 Re-run"),
            button(ACTION_UP, "👍 Helpful"),
            button(ACTION_DOWN, "👎 Not helpful"),
        ]
    }));
    blocks
}

/// Cut `s` to at most `max` bytes on a char boundary, marking the cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(1);
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// "14 min", "2 h 5 min", "less than a minute".
pub fn human_duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 60.0 {
        return "less than a minute".into();
    }
    let mins = (secs / 60.0).round() as u64;
    if mins < 60 {
        format!("{mins} min")
    } else {
        format!("{} h {} min", mins / 60, mins % 60)
    }
}

/// Escape `&`, `<`, `>` for Slack mrkdwn.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The short "investigating" reply.
/// How an "investigating" reply starts (older versions' unmarked replies are recognised by it).
pub const INVESTIGATING_PREFIX: &str = "🔎 Investigating";

pub fn investigating_text(title: &str, agent: &str, tools: &[String]) -> String {
    let title = if title.trim().is_empty() {
        "this alert".to_string()
    } else {
        escape(&truncate(title.trim(), 200))
    };
    let checking = if tools.is_empty() {
        "the alert text".to_string()
    } else {
        tools
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("{INVESTIGATING_PREFIX} *{title}* — agent `{agent}`: checking {checking}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Identity {
        Identity {
            user_id: "U0ME".into(),
            bot_id: "B0ME".into(),
            team_url: "https://acme.slack.com/".into(),
        }
    }

    fn webhook() -> Value {
        json!({"type":"message","subtype":"bot_message","bot_id":"B0AM","username":"Alertmanager",
               "text":"","channel":"C1","ts":"1760000000.000100",
               "attachments":[{"title":"[FIRING:1] HighErrorRate api"}]})
    }

    #[test]
    fn integration_messages_are_alerts() {
        assert!(matches!(
            classify(&webhook(), None, &me(), &[]),
            Classified::Alert(_)
        ));
        let app = json!({"type":"message","user":"U0GRAF","bot_id":"B0GRAF","text":"[FIRING:1] DiskFull",
                         "channel":"C1","ts":"1760000100.000200"});
        assert!(matches!(
            classify(&app, None, &me(), &[]),
            Classified::Alert(_)
        ));
        let history = json!({"type":"message","bot_id":"B0GRAF","text":"x","ts":"1.2"});
        match classify(&history, Some("C9"), &me(), &[]) {
            Classified::Alert(m) => assert_eq!(m["channel"], "C9"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn skips_what_is_not_for_us() {
        let mut own = webhook();
        own["bot_id"] = "B0ME".into();
        assert_eq!(
            classify(&own, None, &me(), &[]),
            Classified::Skip(Skip::Own)
        );
        let mut reply = webhook();
        reply["thread_ts"] = "1759999999.000100".into();
        assert_eq!(
            classify(&reply, None, &me(), &[]),
            Classified::Skip(Skip::ThreadReply)
        );
        let person = json!({"type":"message","user":"U1","text":"hi","channel":"C1","ts":"1.1"});
        assert_eq!(
            classify(&person, None, &me(), &[]),
            Classified::Skip(Skip::Person)
        );
        assert_eq!(
            classify(&webhook(), None, &me(), &["C2".to_string()]),
            Classified::Skip(Skip::ChannelNotAllowed)
        );
        let del = json!({"type":"message","subtype":"message_deleted","channel":"C1","ts":"1.1"});
        assert_eq!(
            classify(&del, None, &me(), &[]),
            Classified::Skip(Skip::Deletion)
        );
        let join = json!({"type":"message","subtype":"channel_join","user":"U1","channel":"C1","ts":"1.1"});
        assert_eq!(
            classify(&join, None, &me(), &[]),
            Classified::Skip(Skip::OtherSubtype)
        );
    }

    #[test]
    fn edits_carry_the_new_message() {
        let edit = json!({"type":"message","subtype":"message_changed","channel":"C1","ts":"1.9",
                          "message":{"type":"message","bot_id":"B0AM","text":"[RESOLVED] X","ts":"1.1"}});
        match classify(&edit, None, &me(), &[]) {
            Classified::Edited(m) => {
                assert_eq!(m["channel"], "C1");
                assert_eq!(m["ts"], "1.1");
            }
            other => panic!("{other:?}"),
        }
        let own_edit = json!({"type":"message","subtype":"message_changed","channel":"C1",
                              "message":{"bot_id":"B0ME","text":"x","ts":"1.1"}});
        assert_eq!(
            classify(&own_edit, None, &me(), &[]),
            Classified::Skip(Skip::Own)
        );
    }

    #[test]
    fn buttons_are_added_once() {
        let blocks = with_buttons(vec![json!({"type":"section"})], "fp1", "network");
        assert_eq!(blocks.len(), 2);
        let again = with_buttons(blocks.clone(), "fp1", "network");
        assert_eq!(again.len(), 2);
        let value = blocks[1]["elements"][0]["value"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            parse_button_value(&value),
            (Some("fp1".into()), Some("network".into()))
        );
        let drawn = vec![json!({"type":"actions","elements":[
            {"type":"button","action_id":"rca_rerun","value":"{}"},
            {"type":"button","action_id":"rca_feedback_up","value":"{\"vote\":\"up\"}"}]})];
        let filled = with_buttons(drawn, "fp9", "db");
        assert_eq!(filled.len(), 1);
        let up: Value =
            serde_json::from_str(filled[0]["elements"][1]["value"].as_str().unwrap()).unwrap();
        assert_eq!(up, json!({"fp":"fp9","agent":"db","vote":"up"}));
        let many = with_buttons(vec![json!({"type":"divider"}); 60], "f", "a");
        assert_eq!(many.len(), 50);
    }

    #[test]
    fn texts() {
        assert_eq!(human_duration(14.0 * 60.0), "14 min");
        assert_eq!(human_duration(30.0), "less than a minute");
        assert_eq!(human_duration(125.0 * 60.0), "2 h 5 min");
        assert_eq!(truncate("héllo", 3), "h…");
        let t = investigating_text("Disk <full>", "resource", &["query_metrics".into()]);
        assert_eq!(
            t,
            "🔎 Investigating *Disk &lt;full&gt;* — agent `resource`: checking `query_metrics`…"
        );
    }
}
