//! The `slack` MCP tool server: `get_thread_info`, `get_channel_info`, `post_thread_reply`.
//!
//! The [`SlackBackend`] answers with Slack Web API JSON (`conversations.replies`,
//! `conversations.info`, `chat.postMessage`); this module decodes it into [`ThreadInfo`],
//! [`ChannelInfo`] and `Observation::Posted`. `{"ok":false,"error":"channel_not_found"}` (or
//! `thread_not_found`, `message_not_found`) is "no data"; any other `ok:false` is a failure naming
//! Slack's error. Integration alerts carry their content in `attachments`, so a message without
//! `text` is given the text of its attachments (title, text, fields).

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Implementation, ServerCapabilities, ServerConfig};
use rmcp::schemars::JsonSchema;
use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::Value;

use crate::evidence::{ChannelInfo, Observation, ThreadInfo, ThreadMessage};
use crate::tools::SlackBackend;
use crate::tools::wire;

/// Slack errors that mean "nothing there" rather than "could not ask".
const NOT_FOUND: &[&str] = &["channel_not_found", "thread_not_found", "message_not_found"];

/// Arguments of `get_thread_info`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct ThreadArgs {
    /// Channel id, e.g. `C0123456`.
    pub channel: String,
    /// Timestamp of the thread's parent message.
    pub ts: String,
}

/// Arguments of `get_channel_info`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct ChannelArgs {
    /// Channel id.
    pub channel: String,
}

/// Arguments of `post_thread_reply`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct PostArgs {
    /// Channel id.
    pub channel: String,
    /// Timestamp of the thread's parent message.
    pub thread_ts: String,
    /// Message text (Slack mrkdwn).
    pub text: String,
}

/// The Slack tool server.
#[derive(Clone)]
pub struct SlackServer {
    backend: Arc<dyn SlackBackend>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl SlackServer {
    pub fn new(backend: Arc<dyn SlackBackend>) -> Self {
        Self {
            backend,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Messages of a Slack thread (the alert and every reply so far): ts, user or bot, text (attachment text for integration alerts)."
    )]
    async fn get_thread_info(
        &self,
        Parameters(args): Parameters<ThreadArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let resp = match self
            .backend
            .conversations_replies(&args.channel, &args.ts)
            .await
        {
            Ok(Some(resp)) => resp,
            Ok(None) => {
                return Ok(wire::no_data(format!(
                    "no thread {} in {}",
                    args.ts, args.channel
                )));
            }
            Err(e) => return Ok(wire::backend_failed("slack", &e)),
        };
        Ok(match decode_replies(&args.channel, &args.ts, &resp) {
            Ok(Some(thread)) if thread.messages.is_empty() => {
                wire::no_data(format!("thread {} in {} is empty", args.ts, args.channel))
            }
            Ok(Some(thread)) => wire::data(&Observation::Thread { thread }),
            Ok(None) => wire::no_data(format!("no thread {} in {}", args.ts, args.channel)),
            Err(e) => wire::failed(format!("slack: {e}")),
        })
    }

    #[tool(description = "A Slack channel's name, topic, purpose and privacy.")]
    async fn get_channel_info(
        &self,
        Parameters(args): Parameters<ChannelArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let resp = match self.backend.conversations_info(&args.channel).await {
            Ok(Some(resp)) => resp,
            Ok(None) => return Ok(wire::no_data(format!("no channel {}", args.channel))),
            Err(e) => return Ok(wire::backend_failed("slack", &e)),
        };
        Ok(match decode_channel(&args.channel, &resp) {
            Ok(Some(channel)) => wire::data(&Observation::Channel { channel }),
            Ok(None) => wire::no_data(format!("no channel {}", args.channel)),
            Err(e) => wire::failed(format!("slack: {e}")),
        })
    }

    #[tool(
        description = "Post a reply in a Slack thread; returns the channel and ts of the new message."
    )]
    async fn post_thread_reply(
        &self,
        Parameters(args): Parameters<PostArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        if args.text.trim().is_empty() {
            return Ok(wire::failed("refusing to post an empty message"));
        }
        let resp = match self
            .backend
            .post_message(&args.channel, &args.thread_ts, &args.text)
            .await
        {
            Ok(resp) => resp,
            Err(e) => return Ok(wire::backend_failed("slack", &e)),
        };
        Ok(match decode_posted(&args.channel, &resp) {
            Ok(observation) => wire::data(&observation),
            Err(e) => wire::failed(format!("slack: {e}")),
        })
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for SlackServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("slack", env!("CARGO_PKG_VERSION")))
            .with_instructions("Slack threads and channels; posting replies in a thread.")
    }
}

/// `Ok(None)` for a not-found error, `Err` for another Slack error or a non-object answer.
fn check_ok(resp: &Value) -> Result<Option<()>, String> {
    let Some(obj) = resp.as_object() else {
        return Err("the Slack answer is not a JSON object".to_owned());
    };
    match obj.get("ok") {
        Some(Value::Bool(true)) => Ok(Some(())),
        Some(Value::Bool(false)) => {
            let error = obj
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("unknown_error");
            if NOT_FOUND.contains(&error) {
                Ok(None)
            } else {
                Err(format!("Slack answered ok=false: {error}"))
            }
        }
        _ => Err("the Slack answer has no `ok` field".to_owned()),
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The text of a message, or of its attachments when it has none.
pub fn message_text(msg: &Value) -> String {
    if let Some(text) = str_field(msg, "text") {
        return text;
    }
    let mut parts: Vec<String> = Vec::new();
    for att in msg
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for key in ["pretext", "title", "text", "fallback"] {
            if let Some(s) = str_field(att, key) {
                if key == "fallback" && !parts.is_empty() {
                    continue;
                }
                parts.push(s);
            }
        }
        for field in att
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match (str_field(field, "title"), str_field(field, "value")) {
                (Some(t), Some(v)) => parts.push(format!("{t}: {v}")),
                (None, Some(v)) => parts.push(v),
                _ => {}
            }
        }
    }
    parts.join("\n")
}

/// Decode a `conversations.replies` answer (`None`: Slack says there is no such thread).
pub fn decode_replies(channel: &str, ts: &str, resp: &Value) -> Result<Option<ThreadInfo>, String> {
    if check_ok(resp)?.is_none() {
        return Ok(None);
    }
    let messages = match resp.get("messages") {
        Some(Value::Array(messages)) => messages.as_slice(),
        Some(Value::Null) | None => &[],
        Some(_) => return Err("`messages` is not an array".to_owned()),
    };
    let messages = messages
        .iter()
        .filter(|m| m.is_object())
        .map(|m| ThreadMessage {
            ts: str_field(m, "ts").unwrap_or_default(),
            user: str_field(m, "user"),
            bot_id: str_field(m, "bot_id"),
            text: message_text(m),
        })
        .collect();
    Ok(Some(ThreadInfo {
        channel: channel.to_owned(),
        ts: ts.to_owned(),
        messages,
    }))
}

/// Decode a `conversations.info` answer (`None`: no such channel).
pub fn decode_channel(channel: &str, resp: &Value) -> Result<Option<ChannelInfo>, String> {
    if check_ok(resp)?.is_none() {
        return Ok(None);
    }
    let Some(ch) = resp.get("channel").filter(|c| c.is_object()) else {
        return Err("the conversations.info answer has no `channel` object".to_owned());
    };
    let nested = |key: &str| {
        ch.get(key)
            .and_then(|v| {
                v.get("value")
                    .and_then(Value::as_str)
                    .or_else(|| v.as_str())
            })
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Ok(Some(ChannelInfo {
        id: str_field(ch, "id").unwrap_or_else(|| channel.to_owned()),
        name: str_field(ch, "name"),
        topic: nested("topic"),
        purpose: nested("purpose"),
        is_private: ch
            .get("is_private")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    }))
}

/// Decode a `chat.postMessage` answer.
pub fn decode_posted(channel: &str, resp: &Value) -> Result<Observation, String> {
    if check_ok(resp)?.is_none() {
        return Err(format!("Slack could not find {channel}"));
    }
    let ts = str_field(resp, "ts")
        .or_else(|| resp.get("message").and_then(|m| str_field(m, "ts")))
        .ok_or_else(|| "the chat.postMessage answer has no `ts`".to_owned())?;
    Ok(Observation::Posted {
        channel: str_field(resp, "channel").unwrap_or_else(|| channel.to_owned()),
        ts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_with_attachments() {
        let resp = json!({"ok": true, "has_more": false, "messages": [
            {"type":"message","subtype":"bot_message","bot_id":"B01","ts":"1763900000.000100",
             "text":"","attachments":[{"title":"[FIRING:1] HighErrorRate","text":"error ratio 12%",
               "fields":[{"title":"service","value":"checkout","short":true}]}]},
            {"type":"message","user":"U42","ts":"1763900060.000200","text":"looking"}
        ]});
        let thread = decode_replies("C1", "1763900000.000100", &resp)
            .expect("ok")
            .expect("thread");
        assert_eq!(thread.messages.len(), 2);
        assert_eq!(thread.messages[0].bot_id.as_deref(), Some("B01"));
        assert_eq!(
            thread.messages[0].text,
            "[FIRING:1] HighErrorRate\nerror ratio 12%\nservice: checkout"
        );
        assert_eq!(thread.messages[1].user.as_deref(), Some("U42"));
        assert!(
            decode_replies("C1", "1", &json!({"ok":false,"error":"thread_not_found"}))
                .expect("not found")
                .is_none()
        );
        assert!(decode_replies("C1", "1", &json!({"ok":false,"error":"ratelimited"})).is_err());
    }

    #[test]
    fn channel_info() {
        let resp = json!({"ok":true,"channel":{"id":"C1","name":"alerts-prod","is_private":true,
            "topic":{"value":"prod alerts","creator":"U1","last_set":0},"purpose":{"value":""}}});
        let ch = decode_channel("C1", &resp).expect("ok").expect("channel");
        assert_eq!(ch.name.as_deref(), Some("alerts-prod"));
        assert_eq!(ch.topic.as_deref(), Some("prod alerts"));
        assert_eq!(ch.purpose, None);
        assert!(ch.is_private);
        assert!(decode_channel("C1", &json!({"ok":true})).is_err());
    }

    #[test]
    fn posted() {
        let obs =
            decode_posted("C1", &json!({"ok":true,"channel":"C1","ts":"2.3"})).expect("posted");
        assert_eq!(
            obs,
            Observation::Posted {
                channel: "C1".into(),
                ts: "2.3".into()
            }
        );
        assert!(decode_posted("C1", &json!({"ok":false,"error":"not_in_channel"})).is_err());
    }
}
