//! `/rca` and the "Run RCA" shortcut: parse the argument, fetch the linked message, analyse it
//! (bypassing dedup) and report errors to the person who asked.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::{Value, json};

use super::{Asker, Shared, Target};
use crate::alert::{Alert, AlertStatus};
use crate::slack::api::ApiError;
use crate::slack::links;

impl Shared {
    /// Tell the user who asked (response_url, else an ephemeral message).
    pub(super) async fn tell(&self, asker: &Asker, text: &str) {
        if let Some(url) = &asker.response_url {
            let body =
                json!({"response_type": "ephemeral", "replace_original": false, "text": text});
            if self
                .replies
                .api()
                .post_response_url(url, &body)
                .await
                .is_ok()
            {
                return;
            }
        }
        let body = json!({"channel": asker.channel, "user": asker.user, "text": text});
        if let Err(e) = self.replies.api().post("chat.postEphemeral", &body).await {
            tracing::warn!(user = %asker.user, error = %e, "could not report to the user");
        }
    }

    /// `/rca <permalink>` or `/rca <free text>`.
    pub(super) async fn command(self: Arc<Self>, text: String, asker: Asker) {
        if links::looks_like_link(&text) {
            match links::parse_permalink(&text) {
                Ok(m) => self.rca_message(m, asker).await,
                Err(e) => self.tell(&asker, &format!("⚠️ {e}")).await,
            }
            return;
        }
        let mut alert = crate::alert::sources::text_alert(&text);
        alert.slack.channel = Some(asker.channel.clone());
        alert.slack.user = Some(asker.user.clone());
        if alert.status == AlertStatus::Resolved {
            self.tell(
                &asker,
                "That alert text says it is resolved; nothing to analyse.",
            )
            .await;
            return;
        }
        let target = Target::Channel {
            channel: asker.channel.clone(),
        };
        self.submit_forced(alert, target, &asker);
    }

    pub(super) fn submit_forced(self: &Arc<Self>, alert: Alert, target: Target, asker: &Asker) {
        if self.closing.load(Ordering::Relaxed) {
            let me = self.clone();
            let asker = asker.clone();
            self.spawn(async move {
                me.tell(&asker, "The bot is shutting down; try again in a minute.")
                    .await
            });
            return;
        }
        self.submit(alert, target, Instant::now(), true);
    }

    /// Fetch one message by channel and ts (and thread, for replies).
    pub(super) async fn fetch_message(
        &self,
        m: &links::MessageRef,
    ) -> Result<Option<Value>, ApiError> {
        let find = |answer: &Value| {
            answer
                .get("messages")
                .and_then(Value::as_array)
                .and_then(|msgs| {
                    msgs.iter()
                        .find(|x| x.get("ts").and_then(Value::as_str) == Some(m.ts.as_str()))
                        .cloned()
                })
        };
        // "No such message" is an answer, not a failure.
        let not_found = |r: Result<Value, ApiError>| match r {
            Err(ApiError::Slack(code))
                if matches!(code.as_str(), "thread_not_found" | "message_not_found") =>
            {
                Ok(Value::Null)
            }
            other => other,
        };
        if let Some(thread) = &m.thread_ts {
            let answer = not_found(
                self.replies
                    .api()
                    .get(
                        "conversations.replies",
                        &[
                            ("channel", m.channel.clone()),
                            ("ts", thread.clone()),
                            ("limit", "200".into()),
                        ],
                    )
                    .await,
            )?;
            return Ok(find(&answer));
        }
        let answer = not_found(
            self.replies
                .api()
                .get(
                    "conversations.history",
                    &[
                        ("channel", m.channel.clone()),
                        ("latest", m.ts.clone()),
                        ("oldest", m.ts.clone()),
                        ("inclusive", "true".into()),
                        ("limit", "1".into()),
                    ],
                )
                .await,
        )?;
        if let Some(found) = find(&answer) {
            return Ok(Some(found));
        }
        let answer = not_found(
            self.replies
                .api()
                .get(
                    "conversations.replies",
                    &[
                        ("channel", m.channel.clone()),
                        ("ts", m.ts.clone()),
                        ("limit", "1".into()),
                    ],
                )
                .await,
        )?;
        Ok(find(&answer))
    }

    /// `/rca <permalink>` and the "Run RCA" shortcut: analyse that message, bypassing dedup.
    pub(super) async fn rca_message(self: Arc<Self>, m: links::MessageRef, asker: Asker) {
        let msg = match self.fetch_message(&m).await {
            Ok(Some(msg)) => msg,
            Ok(None) => {
                self.tell(
                    &asker,
                    "⚠️ I could not find that message. Is the link right?",
                )
                .await;
                return;
            }
            Err(ApiError::Slack(code))
                if matches!(
                    code.as_str(),
                    "channel_not_found" | "not_in_channel" | "missing_scope" | "access_denied"
                ) =>
            {
                self.tell(&asker, &format!("⚠️ I can't read that channel (`{code}`). Invite me with `/invite @sre-agent` and try again.")).await;
                return;
            }
            Err(e) => {
                self.tell(&asker, &format!("⚠️ I could not fetch that message: {e}."))
                    .await;
                return;
            }
        };
        let mut msg = msg;
        if let Some(obj) = msg.as_object_mut() {
            obj.insert("channel".into(), Value::String(m.channel.clone()));
            obj.entry("type")
                .or_insert_with(|| Value::String("message".into()));
        }
        let Some(mut alert) = self.parse(&msg, None) else {
            self.tell(&asker, "⚠️ That message has nothing I can analyse.")
                .await;
            return;
        };
        if alert.status == AlertStatus::Resolved {
            self.tell(&asker, "That alert is resolved; nothing to analyse.")
                .await;
            return;
        }
        alert.slack.event_id = None;
        let thread = msg
            .get("thread_ts")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| m.ts.clone());
        let target = Target::Thread {
            channel: m.channel.clone(),
            ts: thread,
        };
        self.submit_forced(alert, target, &asker);
    }
}
