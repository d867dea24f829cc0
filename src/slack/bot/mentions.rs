//! `@sre-agent` mentions. A mention at the top of a channel is a question (`@sre-agent why is
//! checkout slow?`): its text is analysed and the answer goes in the mention's thread. A mention
//! inside a thread means "analyse this thread's alert": the thread's first message is fetched
//! and analysed like `/rca <link>`, the answer in that thread. People's messages without a
//! mention stay ignored (see [`ingest::classify`]).

use std::sync::Arc;

use serde_json::Value;

use super::{Asker, Shared, Target};
use crate::slack::ingest::Skip;
use crate::slack::links;
use crate::slack::metrics::Metrics;

use crate::alert::mention::{question_alert, strip_mentions};

impl Shared {
    /// One `app_mention` event. Redeliveries are dropped by event id.
    pub(super) async fn mention(self: &Arc<Self>, event: Value, event_id: Option<String>) {
        let field = |k: &str| event.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(channel), Some(ts), Some(user)) = (field("channel"), field("ts"), field("user"))
        else {
            self.skip("mention_without_channel");
            return;
        };
        if self.me.is_own(&event) {
            self.skip(Skip::Own.label());
            return;
        }
        let allowed = &self.cfg.slack.channels;
        if !allowed.is_empty() && !allowed.contains(&channel) {
            self.skip(Skip::ChannelNotAllowed.label());
            return;
        }
        if let Some(id) = &event_id
            && !self
                .door
                .first_delivery(&format!("mention-event:{id}"))
                .await
        {
            Metrics::inc(&self.metrics.redeliveries);
            return;
        }
        Metrics::inc(&self.metrics.mentions);
        let asker = Asker {
            channel: channel.clone(),
            user: user.clone(),
            response_url: None,
        };
        let question = strip_mentions(&field("text").unwrap_or_default());
        match field("thread_ts").filter(|t| *t != ts) {
            // Inside a thread: analyse the thread's alert, answer there.
            Some(thread) => {
                let me = self.clone();
                let m = links::MessageRef {
                    channel,
                    ts: thread,
                    thread_ts: None,
                };
                self.spawn(async move { me.rca_message(m, asker).await });
            }
            None if question.is_empty() => {
                let me = self.clone();
                self.spawn(async move {
                    me.tell(&asker, "Ask me about an alert (`@sre-agent why is checkout slow?`), or mention me in an alert's thread to analyse it.").await
                });
            }
            // A question: analyse its text, answer in its thread.
            None => {
                let Some(mut alert) = event.as_object().and_then(question_alert) else {
                    self.skip("mention_without_question");
                    return;
                };
                alert.slack.user = Some(user);
                alert.slack.event_id = event_id;
                self.submit_forced(alert, Target::Thread { channel, ts }, &asker);
            }
        }
    }
}
