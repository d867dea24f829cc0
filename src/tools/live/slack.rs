//! Live Slack backend: `conversations.replies`, `conversations.info` and `chat.postMessage` on
//! the bot's own Web API caller ([`SlackApi`]), so tool calls share its pacing, 429 handling,
//! retries and error metrics with the replies the bot posts.
//!
//! Slack's `ok: false` answers are handed to the tool server as the JSON Slack sent
//! (`{"ok":false,"error":"channel_not_found"}`), which decides what is "no data" and what is a
//! failure, exactly as for recorded answers.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use crate::slack::api::{ApiError, SlackApi};
use crate::tools::{BackendError, SlackBackend};

/// Most messages of a thread one call reads.
const THREAD_LIMIT: u32 = 200;

/// The Slack backend over the bot's Web API caller.
pub struct LiveSlack {
    api: Arc<SlackApi>,
}

impl LiveSlack {
    pub fn new(api: Arc<SlackApi>) -> LiveSlack {
        LiveSlack { api }
    }

    /// `auth.test` and the channels the bot is in, for `config check --probe`:
    /// `ok, bot in 4 channels`.
    pub async fn probe(&self) -> Result<String, BackendError> {
        self.api
            .post("auth.test", &json!({}))
            .await
            .map_err(request)?;
        let mut channels = 0usize;
        let mut cursor = String::new();
        // A few pages at most: the probe counts, it does not crawl a huge workspace.
        for _ in 0..10 {
            let mut params = vec![
                ("types", "public_channel,private_channel".to_string()),
                ("exclude_archived", "true".to_string()),
                ("limit", "200".to_string()),
            ];
            if !cursor.is_empty() {
                params.push(("cursor", cursor.clone()));
            }
            let page = self
                .api
                .get("users.conversations", &params)
                .await
                .map_err(request)?;
            channels += page
                .get("channels")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            cursor = page
                .pointer("/response_metadata/next_cursor")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if cursor.is_empty() {
                return Ok(format!("ok, bot in {channels} channels"));
            }
        }
        Ok(format!("ok, bot in more than {channels} channels"))
    }
}

fn request(e: ApiError) -> BackendError {
    BackendError::Request(format!("Slack: {e}"))
}

/// Slack's own refusals go back as the JSON it sent; transport failures are errors.
fn answer(result: Result<Value, ApiError>) -> Result<Option<Value>, BackendError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(ApiError::Slack(code)) => Ok(Some(json!({"ok": false, "error": code}))),
        Err(e) => Err(request(e)),
    }
}

impl SlackBackend for LiveSlack {
    fn conversations_replies(
        &self,
        channel: &str,
        ts: &str,
    ) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        let params = vec![
            ("channel", channel.to_string()),
            ("ts", ts.to_string()),
            ("limit", THREAD_LIMIT.to_string()),
        ];
        async move { answer(self.api.get("conversations.replies", &params).await) }.boxed()
    }

    fn conversations_info(
        &self,
        channel: &str,
    ) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        let params = vec![("channel", channel.to_string())];
        async move { answer(self.api.get("conversations.info", &params).await) }.boxed()
    }

    fn post_message(
        &self,
        channel: &str,
        thread_ts: &str,
        text: &str,
    ) -> BoxFuture<'_, Result<Value, BackendError>> {
        let body = json!({"channel": channel, "thread_ts": thread_ts, "text": text});
        async move {
            match self.api.post("chat.postMessage", &body).await {
                Ok(value) => Ok(value),
                Err(ApiError::Slack(code)) => Ok(json!({"ok": false, "error": code})),
                Err(e) => Err(request(e)),
            }
        }
        .boxed()
    }
}
