//! Button clicks on an RCA: Re-run (analyse again, update the message) and 👍 / 👎 feedback.

use std::sync::Arc;

use serde_json::Value;
use slack_morphism::prelude::SlackResponseUrl;

use super::{Asker, Shared, Target};
use crate::slack::ingest;
use crate::slack::links;
use crate::slack::metrics::Metrics;

impl Shared {
    /// An interactive payload (block_actions, message_action), as JSON.
    pub(super) fn interaction(self: &Arc<Self>, payload: Value) {
        let s = |p: &str| {
            payload
                .pointer(p)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let response_url = payload
            .get("response_url")
            .cloned()
            .and_then(|u| serde_json::from_value::<SlackResponseUrl>(u).ok());
        let user = s("/user/id").unwrap_or_default();
        let channel = s("/channel/id")
            .or_else(|| s("/container/channel_id"))
            .unwrap_or_default();
        let asker = Asker {
            channel: channel.clone(),
            user: user.clone(),
            response_url,
        };
        match s("/type").as_deref() {
            Some("message_action") => {
                if s("/callback_id").as_deref() != Some(ingest::SHORTCUT_RUN_RCA) {
                    self.skip("unknown_shortcut");
                    return;
                }
                Metrics::inc(&self.metrics.commands);
                let Some(ts) = s("/message/ts") else {
                    return;
                };
                let m = links::MessageRef {
                    channel,
                    thread_ts: s("/message/thread_ts").filter(|t| *t != ts),
                    ts,
                };
                let me = self.clone();
                self.spawn(async move { me.rca_message(m, asker).await });
            }
            Some("block_actions") => {
                let message_ts = s("/container/message_ts").or_else(|| s("/message/ts"));
                let thread_ts = s("/message/thread_ts");
                let actions = payload
                    .get("actions")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for action in actions {
                    let id = action
                        .get("action_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let value = action
                        .get("value")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let (fp, agent) = ingest::parse_button_value(value);
                    match id {
                        ingest::ACTION_RERUN => {
                            let Some(ts) = message_ts.clone() else {
                                continue;
                            };
                            let me = self.clone();
                            let asker = asker.clone();
                            let thread_ts = thread_ts.clone();
                            self.spawn(async move { me.rerun(fp, ts, thread_ts, asker).await });
                        }
                        ingest::ACTION_UP | ingest::ACTION_DOWN => {
                            let vote = if id == ingest::ACTION_UP {
                                "up"
                            } else {
                                "down"
                            };
                            let me = self.clone();
                            let user = user.clone();
                            self.spawn(async move { me.feedback(fp, agent, vote, user).await });
                        }
                        _ => self.skip("unknown_action"),
                    }
                }
            }
            _ => self.skip("other_interaction"),
        }
    }

    pub(super) async fn feedback(
        self: Arc<Self>,
        fp: Option<String>,
        agent: Option<String>,
        vote: &'static str,
        user: String,
    ) {
        let fp = fp.unwrap_or_default();
        let agent = match agent {
            Some(a) => a,
            None => self
                .records
                .get(&fp)
                .await
                .map(|r| r.agent)
                .unwrap_or_else(|| "unknown".into()),
        };
        self.metrics.feedback.inc(&[&agent, vote]);
        tracing::info!(fingerprint = %fp, agent = %agent, vote, user = %user, "RCA feedback");
    }

    /// The Re-run button: analyse the same alert again and update the message in place.
    pub(super) async fn rerun(
        self: Arc<Self>,
        fp: Option<String>,
        message_ts: String,
        thread_ts: Option<String>,
        asker: Asker,
    ) {
        let record = match &fp {
            Some(fp) => self.records.get(fp).await,
            None => None,
        };
        let alert = match record {
            Some(r) => Some(r.alert),
            None => match &thread_ts {
                // Not in memory (restart): read the alert at the top of the thread.
                Some(thread) => {
                    let m = links::MessageRef {
                        channel: asker.channel.clone(),
                        ts: thread.clone(),
                        thread_ts: None,
                    };
                    match self.fetch_message(&m).await {
                        Ok(Some(mut msg)) => {
                            if let Some(obj) = msg.as_object_mut() {
                                obj.insert("channel".into(), Value::String(asker.channel.clone()));
                            }
                            self.parse(&msg, None)
                        }
                        _ => None,
                    }
                }
                None => None,
            },
        };
        let Some(mut alert) = alert else {
            self.tell(
                &asker,
                "⚠️ I no longer have that alert; use `/rca <link to the alert>`.",
            )
            .await;
            return;
        };
        alert.slack.event_id = None;
        let target = Target::Existing {
            channel: asker.channel.clone(),
            ts: message_ts,
            thread_ts: thread_ts.or_else(|| alert.slack.ts.clone()),
        };
        self.submit_forced(alert, target, &asker);
    }
}
