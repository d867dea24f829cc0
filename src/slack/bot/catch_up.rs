//! Catch-up on start: Slack does not redeliver envelopes acked before a crash, so the bot reads
//! the last `catch_up_minutes` of its channels and, for each alert, reads its thread:
//! - no message of ours: analyse it (through the one admission path);
//! - our "🔎 Investigating…" message, never finished (marker `investigating`, or an unmarked
//!   message of an older version still reading "Investigating"): finish that same message;
//! - an analysis or a notice of ours: remember it (for re-fire links and the resolved note).
//!
//! A resolved alert forgets its fingerprint, so the next real firing is analysed. A read that
//! fails is retried with backoff and counted; one that keeps failing is logged and counted as
//! unread, never taken as "answered". Without a channel allow list the channels are those the
//! bot is a member of (`users.conversations`). Live events wait until the scan is done, so a
//! redelivered event and catch-up cannot both take the same message.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::replies::{self, State};
use super::{Shared, Target, now_secs};
use crate::alert::{Alert, AlertStatus};
use crate::pipeline::{Admission, SkipReason};
use crate::slack::api::ApiError;
use crate::slack::ingest::{self, Classified, Identity};
use crate::slack::links;
use crate::slack::metrics::Metrics;

/// Attempts per catch-up read (each attempt already retries transient failures inside the API
/// caller); the backoff doubles from the API caller's, up to [`MAX_BACKOFF`].
const READ_ATTEMPTS: u32 = 6;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What an alert's thread says about its analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Thread {
    /// No message of ours.
    Unanswered,
    /// Our "Investigating…" message, never finished.
    InProgress { reply_ts: String },
    /// Our finished analysis (or a duplicate notice) is there.
    Answered { reply_ts: Option<String> },
}

/// Read a thread (`conversations.replies` with metadata; the root first) for the alert at
/// `root_ts`.
pub(super) fn thread_state(messages: &[Value], root_ts: &str, me: &Identity) -> Thread {
    let ours: Vec<&Value> = messages
        .iter()
        .filter(|m| m.get("ts").and_then(Value::as_str) != Some(root_ts))
        .filter(|m| me.is_own(m))
        .collect();
    let ts = |m: &Value| m.get("ts").and_then(Value::as_str).map(str::to_string);
    let mut in_progress = None;
    let mut answered = None;
    for m in &ours {
        match replies::read_marker(m) {
            Some((State::Done, _)) => return Thread::Answered { reply_ts: ts(m) },
            Some((State::Investigating, _)) => in_progress = in_progress.or_else(|| ts(m)),
            Some((State::Notice, _)) => answered = answered.or(Some(None)),
            // An older version's message: "Investigating…" without the RCA's buttons is unfinished.
            None => {
                let text = m.get("text").and_then(Value::as_str).unwrap_or_default();
                let finished = m
                    .get("blocks")
                    .is_some_and(|b| ingest::contains_action(b, ingest::ACTION_RERUN));
                if text.starts_with(ingest::INVESTIGATING_PREFIX) && !finished {
                    in_progress = in_progress.or_else(|| ts(m));
                } else {
                    answered = Some(ts(m));
                }
            }
        }
    }
    match (in_progress, answered) {
        (Some(reply_ts), _) => Thread::InProgress { reply_ts },
        (None, Some(reply_ts)) => Thread::Answered { reply_ts },
        (None, None) => Thread::Unanswered,
    }
}

/// A catch-up read that failed for good.
#[derive(Debug, thiserror::Error)]
#[error("{what} could not be read: {source}")]
pub(super) struct Unread {
    what: &'static str,
    source: ApiError,
}

/// Worth another try: transport failures and rate limits (Slack's own answers are final).
fn retryable(e: &ApiError) -> bool {
    matches!(e, ApiError::Transport(_) | ApiError::RateLimited(_))
}

impl Shared {
    /// The whole catch-up pass; opens the live ingest when done.
    pub(super) async fn catch_up(self: Arc<Self>) {
        self.catch_up_pass().await;
        self.scanned.send_replace(true);
    }

    async fn catch_up_pass(self: &Arc<Self>) {
        let minutes = self.cfg.slack.catch_up_minutes;
        if minutes == 0 {
            return;
        }
        let channels = if self.cfg.slack.channels.is_empty() {
            match self.member_channels().await {
                Ok(list) => list,
                Err(e) => {
                    Metrics::inc(&self.metrics.catch_up_unread);
                    tracing::error!(error = %e, "catch-up skipped: the channels the bot is in (users.conversations) could not be read");
                    return;
                }
            }
        } else {
            self.cfg.slack.channels.clone()
        };
        let oldest = format!("{:.6}", now_secs() - (minutes as f64) * 60.0);
        let (mut found, mut resumed) = (0usize, 0usize);
        for channel in channels {
            let messages = match self.history(&channel, &oldest).await {
                Ok(m) => m,
                Err(e) => {
                    Metrics::inc(&self.metrics.catch_up_unread);
                    tracing::error!(channel = %channel, error = %e, "catch-up: channel history unread; its alerts are not checked");
                    continue;
                }
            };
            for msg in messages {
                if self.closing.load(Ordering::Relaxed) {
                    return;
                }
                match self.catch_up_one(&channel, msg).await {
                    Some(Thread::Unanswered) => found += 1,
                    Some(Thread::InProgress { .. }) => resumed += 1,
                    _ => {}
                }
            }
        }
        tracing::info!(alerts = found, resumed, minutes, "catch-up done");
    }

    /// One message of the history: what its thread said, if it was an alert that was read.
    async fn catch_up_one(self: &Arc<Self>, channel: &str, msg: Value) -> Option<Thread> {
        let Classified::Alert(msg) =
            ingest::classify(&msg, Some(channel), &self.me, &self.cfg.slack.channels)
        else {
            return None;
        };
        let ts = msg.get("ts").and_then(Value::as_str)?.to_string();
        let alert = self.parse(&msg, None)?;
        if alert.status == AlertStatus::Resolved {
            // Resolved while we were away: the next firing is a new analysis, not a duplicate.
            let _ = self.door.admit(&alert, false).await;
            self.records.forget(&alert.fingerprint).await;
            self.door.forget(&alert).await;
            return None;
        }
        let thread = match self.thread(channel, &ts).await {
            Ok(messages) => thread_state(&messages, &ts, &self.me),
            Err(e) => {
                Metrics::inc(&self.metrics.catch_up_unread);
                let link = self.permalink(channel, &ts, None);
                tracing::error!(permalink = %link, error = %e, "catch-up: the alert's thread could not be read; not analysed and not taken as answered");
                return None;
            }
        };
        match &thread {
            Thread::Unanswered => self.alert_in(alert, Instant::now()).await,
            Thread::Answered { reply_ts } => self.restore(alert, channel, &ts, reply_ts).await,
            Thread::InProgress { reply_ts } => {
                self.resume(alert, channel, &ts, reply_ts.clone()).await
            }
        }
        Some(thread)
    }

    /// An "Investigating…" message of an earlier process: analyse and update it in place.
    async fn resume(self: &Arc<Self>, alert: Alert, channel: &str, ts: &str, reply_ts: String) {
        match self.door.admit(&alert, false).await {
            Admission::Skip(SkipReason::Redelivered) => return,
            Admission::Analyze | Admission::Skip(_) => {}
        }
        Metrics::inc(&self.metrics.analyses_resumed);
        tracing::info!(alert = %alert.title, permalink = %self.permalink(channel, &reply_ts, Some(ts)), "finishing an analysis an earlier process left unfinished");
        let target = Target::Existing {
            channel: channel.to_string(),
            ts: reply_ts,
            thread_ts: Some(ts.to_string()),
        };
        self.submit(alert, target, Instant::now(), false);
    }

    /// An alert this bot answered before the restart: remember its analysis again, so that its
    /// resolved message gets the note and a re-fire within the window links to it.
    async fn restore(&self, alert: Alert, channel: &str, ts: &str, reply_ts: &Option<String>) {
        // Marks the message and the fingerprint as seen, as the first delivery did.
        let _ = self.door.admit(&alert, false).await;
        if self.records.contains(&alert.fingerprint) {
            return;
        }
        let agent = self.door.engine().route(&alert).agent;
        let target = Target::Thread {
            channel: channel.to_string(),
            ts: ts.to_string(),
        };
        self.remember(&alert, &target, reply_ts.clone(), &agent)
            .await;
    }

    /// Run `read` until it succeeds, Slack answers for good, or the attempts run out.
    async fn with_retries<F, Fut>(&self, what: &'static str, read: F) -> Result<Value, Unread>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Value, ApiError>>,
    {
        let mut backoff = self
            .replies
            .api()
            .config()
            .backoff
            .max(Duration::from_millis(10));
        let mut attempt = 1;
        loop {
            match read().await {
                Ok(v) => return Ok(v),
                Err(e) if retryable(&e) && attempt < READ_ATTEMPTS => {
                    Metrics::inc(&self.metrics.catch_up_read_retries);
                    tracing::warn!(what, attempt, error = %e, "catch-up read failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    attempt += 1;
                }
                Err(source) => return Err(Unread { what, source }),
            }
        }
    }

    /// The channel's messages since `oldest`, oldest first.
    async fn history(&self, channel: &str, oldest: &str) -> Result<Vec<Value>, Unread> {
        let mut cursor = String::new();
        let mut messages = Vec::new();
        for _page in 0..20 {
            let mut params = vec![
                ("channel", channel.to_string()),
                ("oldest", oldest.to_string()),
                ("limit", "200".to_string()),
            ];
            if !cursor.is_empty() {
                params.push(("cursor", cursor.clone()));
            }
            let answer = self
                .with_retries("conversations.history", || {
                    self.replies.api().get("conversations.history", &params)
                })
                .await?;
            if let Some(list) = answer.get("messages").and_then(Value::as_array) {
                messages.extend(list.iter().cloned());
            }
            cursor = next_cursor(&answer);
            if cursor.is_empty() || answer.get("has_more").and_then(Value::as_bool) != Some(true) {
                break;
            }
        }
        // Oldest first, so alerts are answered in the order they fired.
        messages.sort_by(|a, b| {
            let ts = |m: &Value| {
                m.get("ts")
                    .and_then(Value::as_str)
                    .and_then(links::ts_seconds)
                    .unwrap_or(0.0)
            };
            ts(a).total_cmp(&ts(b))
        });
        Ok(messages)
    }

    /// The thread of `ts`, with the messages' metadata (the bot's markers).
    async fn thread(&self, channel: &str, ts: &str) -> Result<Vec<Value>, Unread> {
        let params = [
            ("channel", channel.to_string()),
            ("ts", ts.to_string()),
            ("limit", "200".to_string()),
            ("include_all_metadata", "true".to_string()),
        ];
        let answer = self
            .with_retries("conversations.replies", || {
                self.replies.api().get("conversations.replies", &params)
            })
            .await?;
        Ok(answer
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// Channels the bot is a member of (`users.conversations`), for catch-up without an allow
    /// list.
    async fn member_channels(&self) -> Result<Vec<String>, Unread> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        for _page in 0..50 {
            let mut params = vec![
                ("types", "public_channel,private_channel".to_string()),
                ("exclude_archived", "true".to_string()),
                ("limit", "200".to_string()),
            ];
            if !cursor.is_empty() {
                params.push(("cursor", cursor.clone()));
            }
            let answer = self
                .with_retries("users.conversations", || {
                    self.replies.api().get("users.conversations", &params)
                })
                .await?;
            if let Some(list) = answer.get("channels").and_then(Value::as_array) {
                out.extend(
                    list.iter()
                        .filter_map(|c| c.get("id").and_then(Value::as_str).map(str::to_string)),
                );
            }
            cursor = next_cursor(&answer);
            if cursor.is_empty() {
                break;
            }
        }
        Ok(out)
    }
}

fn next_cursor(answer: &Value) -> String {
    answer
        .pointer("/response_metadata/next_cursor")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn me() -> Identity {
        Identity {
            user_id: "U0BOT".into(),
            bot_id: "B0BOT".into(),
            team_url: "https://t.slack.com/".into(),
        }
    }

    fn root() -> Value {
        json!({"ts": "1.000001", "bot_id": "B0AM", "text": "[FIRING:1] Disk"})
    }

    fn ours(ts: &str, state: Option<State>, text: &str) -> Value {
        let mut m = json!({"ts": ts, "bot_id": "B0BOT", "user": "U0BOT", "text": text, "thread_ts": "1.000001"});
        if let Some(s) = state {
            m["metadata"] = replies::marker(s, "fp", "kubernetes");
        }
        m
    }

    #[test]
    fn threads_are_read_by_their_markers() {
        let me = me();
        assert_eq!(thread_state(&[root()], "1.000001", &me), Thread::Unanswered);
        let person = json!({"ts": "1.000002", "user": "U0HUMAN", "text": "looking"});
        assert_eq!(
            thread_state(&[root(), person.clone()], "1.000001", &me),
            Thread::Unanswered
        );
        let investigating = ours(
            "1.000003",
            Some(State::Investigating),
            "🔎 Investigating *Disk*",
        );
        assert_eq!(
            thread_state(&[root(), person, investigating.clone()], "1.000001", &me),
            Thread::InProgress {
                reply_ts: "1.000003".into()
            }
        );
        let done = ours("1.000003", Some(State::Done), "Root cause: …");
        assert_eq!(
            thread_state(&[root(), done], "1.000001", &me),
            Thread::Answered {
                reply_ts: Some("1.000003".into())
            }
        );
        let notice = ours("1.000004", Some(State::Notice), "↩️ Same alert as before");
        assert_eq!(
            thread_state(&[root(), notice], "1.000001", &me),
            Thread::Answered { reply_ts: None }
        );
    }

    #[test]
    fn unmarked_messages_of_older_versions_are_understood() {
        let me = me();
        let unfinished = ours(
            "1.000003",
            None,
            "🔎 Investigating *Disk* — agent `kubernetes`",
        );
        assert_eq!(
            thread_state(&[root(), unfinished], "1.000001", &me),
            Thread::InProgress {
                reply_ts: "1.000003".into()
            }
        );
        let mut finished = ours("1.000003", None, "Disk is full");
        finished["blocks"] = json!([{"type": "actions", "elements": [
            {"type": "button", "action_id": ingest::ACTION_RERUN, "text": {"type": "plain_text", "text": "Re-run"}}]}]);
        assert_eq!(
            thread_state(&[root(), finished], "1.000001", &me),
            Thread::Answered {
                reply_ts: Some("1.000003".into())
            }
        );
    }

    #[test]
    fn only_transport_failures_and_rate_limits_are_retried() {
        assert!(retryable(&ApiError::Transport("HTTP 500".into())));
        assert!(retryable(&ApiError::RateLimited(10)));
        assert!(!retryable(&ApiError::Slack("channel_not_found".into())));
    }
}
