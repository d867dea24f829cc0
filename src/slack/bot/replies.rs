//! Replies: the messages the bot writes and the marker each carries.
//!
//! Every analysis message carries Slack message metadata (`event_type` [`EVENT_TYPE`], payload
//! `state`, `fingerprint`, `agent`): `investigating` while the analysis runs, `done` once the
//! RCA (or its failure notice) replaced it. A restart reads the marker back
//! (`include_all_metadata`) and finishes an `investigating` message in place instead of posting
//! a second one. Duplicate notices carry `state: notice`.
//!
//! Posts go out in two priorities over the same per-channel pacing: analyses reserve the next
//! slot; notices (duplicates) only take a slot that is free now, so they never delay an RCA.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::slack::api::{ApiError, Priority, SlackApi};
use crate::slack::ingest;

/// `metadata.event_type` of the bot's analysis messages.
pub(super) const EVENT_TYPE: &str = "sre_agent_analysis";

/// Where an analysis message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Posted, the analysis not yet written into it.
    Investigating,
    /// Holds the RCA or the notice that the run failed (with Re-run).
    Done,
    /// A duplicate notice (not an analysis).
    Notice,
}

impl State {
    fn label(self) -> &'static str {
        match self {
            State::Investigating => "investigating",
            State::Done => "done",
            State::Notice => "notice",
        }
    }
    fn from_label(s: &str) -> Option<State> {
        match s {
            "investigating" => Some(State::Investigating),
            "done" => Some(State::Done),
            "notice" => Some(State::Notice),
            _ => None,
        }
    }
}

/// The `metadata` of a message in `state` for the alert `fingerprint`.
pub(super) fn marker(state: State, fingerprint: &str, agent: &str) -> Value {
    json!({
        "event_type": EVENT_TYPE,
        "event_payload": {"state": state.label(), "fingerprint": fingerprint, "agent": agent}
    })
}

/// The marker a message read back from Slack carries, if it is one of ours.
pub(super) fn read_marker(msg: &Value) -> Option<(State, String)> {
    let md = msg.get("metadata")?;
    if md.get("event_type").and_then(Value::as_str) != Some(EVENT_TYPE) {
        return None;
    }
    let payload = md.get("event_payload")?;
    let state = State::from_label(payload.get("state").and_then(Value::as_str)?)?;
    let fp = payload
        .get("fingerprint")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Some((state, fp))
}

/// The bot's message writer.
pub(super) struct Replies {
    api: Arc<SlackApi>,
}

impl Replies {
    pub fn new(api: Arc<SlackApi>) -> Replies {
        Replies { api }
    }

    pub fn api(&self) -> &Arc<SlackApi> {
        &self.api
    }

    /// Post a message (new, or in a thread); the new message's ts.
    pub async fn post(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Option<&[Value]>,
        metadata: Option<Value>,
        priority: Priority,
    ) -> Result<String, ApiError> {
        let body = post_body(channel, thread_ts, text, blocks, metadata);
        let answer = self
            .api
            .post_with("chat.postMessage", &body, priority)
            .await?;
        Ok(answer
            .get("ts")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// Replace one of our messages.
    pub async fn update(
        &self,
        channel: &str,
        ts: &str,
        text: &str,
        blocks: &[Value],
        metadata: Option<Value>,
    ) -> Result<(), ApiError> {
        let mut body = json!({
            "channel": channel,
            "ts": ts,
            "text": ingest::truncate(text, 3900),
            "blocks": blocks,
        });
        if let Some(md) = metadata {
            body["metadata"] = md;
        }
        self.api.post("chat.update", &body).await.map(|_| ())
    }
}

/// The `chat.postMessage` body.
pub(super) fn post_body(
    channel: &str,
    thread_ts: Option<&str>,
    text: &str,
    blocks: Option<&[Value]>,
    metadata: Option<Value>,
) -> Value {
    let mut body = json!({
        "channel": channel,
        "text": ingest::truncate(text, 3900),
        "unfurl_links": false,
        "unfurl_media": false,
    });
    if let Some(t) = thread_ts {
        body["thread_ts"] = Value::String(t.to_string());
    }
    if let Some(b) = blocks {
        body["blocks"] = Value::Array(b.to_vec());
    }
    if let Some(md) = metadata {
        body["metadata"] = md;
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_through_a_message() {
        for state in [State::Investigating, State::Done, State::Notice] {
            let msg = json!({"ts": "1.2", "metadata": marker(state, "fp1", "network")});
            assert_eq!(read_marker(&msg), Some((state, "fp1".to_string())));
        }
        assert_eq!(read_marker(&json!({"ts": "1.2"})), None);
        let foreign =
            json!({"metadata": {"event_type": "deploy", "event_payload": {"state": "done"}}});
        assert_eq!(read_marker(&foreign), None);
        let mut unknown = json!({"metadata": marker(State::Done, "fp", "a")});
        unknown["metadata"]["event_payload"]["state"] = json!("paused");
        assert_eq!(read_marker(&unknown), None);
    }

    #[test]
    fn post_bodies_carry_thread_blocks_and_marker() {
        let b = post_body(
            "C1",
            Some("1.2"),
            "hi",
            Some(&[json!({"type": "divider"})]),
            Some(marker(State::Investigating, "fp", "db")),
        );
        assert_eq!(b["thread_ts"], "1.2");
        assert_eq!(b["blocks"][0]["type"], "divider");
        assert_eq!(b["metadata"]["event_type"], EVENT_TYPE);
        assert_eq!(b["metadata"]["event_payload"]["state"], "investigating");
        let plain = post_body("C1", None, "hi", None, None);
        assert!(plain.get("thread_ts").is_none() && plain.get("metadata").is_none());
    }
}
