//! One alert's way through the bot once admitted or refused: the "investigating" reply (marked
//! `investigating`), the wait for the pipeline, the update of that same message with the RCA
//! (marked `done`); queue-full notices; coalesced duplicate notices; resolved notes.

use std::sync::Arc;

use serde_json::json;

use super::notices::{self, Step};
use super::records::Record;
use super::replies::{State, marker};
use super::{Shared, Target, now_secs};
use crate::alert::Alert;
use crate::pipeline::{RunError, RunResult};
use crate::slack::api::{ApiError, Priority};
use crate::slack::ingest;
use crate::slack::links;
use crate::slack::metrics::Metrics;

impl Shared {
    /// Log and count a reply that could not be delivered.
    pub(super) fn reply_failed(&self, what: &str, alert: &Alert, err: &ApiError) {
        Metrics::inc(&self.metrics.replies_failed);
        let link = match (&alert.slack.channel, &alert.slack.ts) {
            (Some(c), Some(t)) => self.permalink(c, t, None),
            (Some(c), None) => format!("channel {c}"),
            _ => "(no Slack message)".to_string(),
        };
        tracing::error!(what, alert = %alert.title, permalink = %link, error = %err, "Slack reply not delivered");
    }

    /// Keep (or refresh) the record of an alert's analysis.
    pub(super) async fn remember(
        &self,
        alert: &Alert,
        target: &Target,
        reply_ts: Option<String>,
        agent: &str,
    ) {
        let fired = alert
            .slack
            .ts
            .as_deref()
            .and_then(links::ts_seconds)
            .or_else(|| alert.fired_at.map(|t| t.timestamp() as f64))
            .unwrap_or_else(now_secs);
        let (channel, thread_ts) = match target {
            Target::Thread { channel, ts } => (channel.clone(), Some(ts.clone())),
            Target::Channel { channel } => (channel.clone(), None),
            Target::Existing {
                channel, thread_ts, ..
            } => (channel.clone(), thread_ts.clone()),
        };
        self.records
            .put(Record {
                alert: alert.clone(),
                channel,
                thread_ts,
                reply_ts,
                agent: agent.to_string(),
                fired,
            })
            .await;
    }

    /// The reply task: "investigating" message, wait for the analysis, update it with the RCA.
    pub(super) async fn reply(
        self: Arc<Self>,
        alert: Alert,
        target: Target,
        rx: tokio::sync::oneshot::Receiver<RunResult>,
    ) {
        let route = self.door.engine().route(&alert);
        let tools = self.agent_tools(&route.agent);
        let investigating = ingest::investigating_text(&alert.title, &route.agent, &tools);
        let channel = target.channel().to_string();
        let mark = |state| Some(marker(state, &alert.fingerprint, &route.agent));
        let mut message_ts = match &target {
            Target::Existing { ts, .. } => {
                if let Err(e) = self
                    .replies
                    .update(
                        &channel,
                        ts,
                        &investigating,
                        &[],
                        mark(State::Investigating),
                    )
                    .await
                {
                    self.reply_failed("re-run notice", &alert, &e);
                }
                Some(ts.clone())
            }
            _ => match self
                .replies
                .post(
                    &channel,
                    target.thread(),
                    &investigating,
                    None,
                    mark(State::Investigating),
                    Priority::Normal,
                )
                .await
            {
                Ok(ts) if !ts.is_empty() => Some(ts),
                Ok(_) => None,
                Err(e) => {
                    self.reply_failed("investigating reply", &alert, &e);
                    None
                }
            },
        };
        self.remember(&alert, &target, message_ts.clone(), &route.agent)
            .await;

        let outcome = rx.await.unwrap_or(Err(RunError::ShutDown));
        // Cut short by shutdown: leave the message marked `investigating`, so the next start
        // finishes it in place.
        let state = match outcome {
            Err(RunError::ShutDown) => State::Investigating,
            _ => State::Done,
        };
        let (text, blocks, agent) = match outcome {
            Ok(analysis) => {
                let agent = analysis.route.agent.clone();
                self.metrics.runs.inc(&[&agent, "ok"]);
                self.metrics
                    .run_duration
                    .observe(analysis.elapsed_ms / 1000.0);
                self.metrics.observe_llm(&analysis.rca);
                let blocks = ingest::with_buttons(analysis.blocks, &alert.fingerprint, &agent);
                (analysis.text, blocks, agent)
            }
            Err(err) => {
                let label = match err {
                    RunError::DeadlineExceeded(_) => "deadline",
                    RunError::ShutDown => "shutdown",
                    RunError::Panicked(_) => "error",
                };
                self.metrics.runs.inc(&[&route.agent, label]);
                let text = match err {
                    RunError::DeadlineExceeded(secs) => format!(
                        "⚠️ The analysis of *{}* did not finish within {secs} s. Press Re-run to try again.",
                        ingest::escape(&alert.title)
                    ),
                    RunError::ShutDown => format!(
                        "⚠️ The bot restarted before analysing *{}*; the analysis resumes when it is back (or press Re-run).",
                        ingest::escape(&alert.title)
                    ),
                    RunError::Panicked(_) => format!(
                        "⚠️ The analysis of *{}* failed unexpectedly (logged). Press Re-run to try again.",
                        ingest::escape(&alert.title)
                    ),
                };
                let blocks = ingest::with_buttons(
                    vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})],
                    &alert.fingerprint,
                    &route.agent,
                );
                (text, blocks, route.agent.clone())
            }
        };
        let metadata = Some(marker(state, &alert.fingerprint, &agent));
        let delivered = match &message_ts {
            Some(ts) => match self
                .replies
                .update(&channel, ts, &text, &blocks, metadata.clone())
                .await
            {
                Ok(()) => true,
                Err(e) => {
                    self.reply_failed("analysis update", &alert, &e);
                    false
                }
            },
            None => false,
        };
        if !delivered {
            // Second chance: the analysis as a new message.
            match self
                .replies
                .post(
                    &channel,
                    target.thread(),
                    &text,
                    Some(&blocks),
                    metadata,
                    Priority::Normal,
                )
                .await
            {
                Ok(ts) if !ts.is_empty() => message_ts = Some(ts),
                Ok(_) => {}
                Err(e) => self.reply_failed("analysis reply", &alert, &e),
            }
        }
        self.remember(&alert, &target, message_ts, &agent).await;
    }

    /// The queue is full: say so in the alert's thread; never drop silently.
    pub(super) async fn queue_full(
        self: Arc<Self>,
        alert: Alert,
        target: Target,
        capacity: usize,
        forced: bool,
    ) {
        if !forced {
            // Let a later delivery (or catch-up) of this alert try again.
            self.door.forget(&alert).await;
        }
        let link = match (&alert.slack.channel, &alert.slack.ts) {
            (Some(c), Some(t)) => self.permalink(c, t, None),
            _ => "<link to the alert>".to_string(),
        };
        let text = format!(
            "⏳ The analysis queue is full ({capacity} alerts waiting), so this alert will not be analysed automatically. Run `/rca {link}` to analyse it."
        );
        tracing::warn!(alert = %alert.title, permalink = %link, "queue full; alert not analysed");
        let mark = Some(marker(State::Notice, &alert.fingerprint, ""));
        if let Err(e) = self
            .replies
            .post(
                target.channel(),
                target.thread(),
                &text,
                None,
                mark,
                Priority::Normal,
            )
            .await
        {
            self.reply_failed("queue-full notice", &alert, &e);
        }
    }

    /// A re-fired alert within the dedup window: count it into the alert's one notice.
    pub(super) async fn duplicate(self: &Arc<Self>, alert: Alert) {
        let (Some(channel), Some(ts)) = (alert.slack.channel.clone(), alert.slack.ts.clone())
        else {
            return;
        };
        if self.notices.refire(&alert.fingerprint, &channel, &ts).await {
            let me = self.clone();
            self.spawn(async move { me.write_notice(alert).await });
        } else {
            Metrics::inc(&self.metrics.duplicate_notices_coalesced);
        }
    }

    /// The one writer of an alert's duplicate notice: post it (low priority), then update it
    /// while re-fires keep coming.
    async fn write_notice(self: Arc<Self>, alert: Alert) {
        let fp = alert.fingerprint.clone();
        let mut done = None;
        loop {
            let step = self.notices.next(&fp, done.take()).await;
            let earlier = self.records.get(&fp).await.map(|r| self.link_to(&r));
            let mark = Some(marker(State::Notice, &fp, ""));
            let outcome = match step {
                Step::Idle => return,
                Step::Post {
                    channel,
                    thread_ts,
                    count,
                } => {
                    let text = notices::text(count, earlier.as_deref());
                    self.replies
                        .post(&channel, Some(&thread_ts), &text, None, mark, Priority::Low)
                        .await
                        .map(|ts| (ts, count))
                }
                Step::Update { channel, ts, count } => {
                    let text = notices::text(count, earlier.as_deref());
                    let blocks =
                        [json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})];
                    self.replies
                        .update(&channel, &ts, &text, &blocks, mark)
                        .await
                        .map(|()| (ts, count))
                }
            };
            match outcome {
                Ok(d) => done = Some(d),
                Err(e) => {
                    self.reply_failed("duplicate notice", &alert, &e);
                    self.notices.give_up(&fp).await;
                    return;
                }
            }
        }
    }

    /// Link to a record's analysis message (or its thread).
    fn link_to(&self, r: &Record) -> String {
        match (&r.reply_ts, &r.thread_ts) {
            (Some(reply), thread) => self.permalink(&r.channel, reply, thread.as_deref()),
            (None, Some(thread)) => self.permalink(&r.channel, thread, None),
            (None, None) => self.permalink(&r.channel, "", None),
        }
    }

    /// A resolved alert we analysed: a short note in the original analysis thread.
    pub(super) async fn resolved(self: Arc<Self>, alert: Alert) {
        // The next firing is a new analysis, whether or not we still know this one.
        self.door.forget(&alert).await;
        let Some(record) = self.records.get(&alert.fingerprint).await else {
            self.skip("resolved_unknown");
            return;
        };
        let Some(thread) = record.thread_ts.clone().or(record.reply_ts.clone()) else {
            return;
        };
        // A new "[RESOLVED]" message carries its own ts; an edit of the alert message (Alertmanager
        // `update_message`) keeps the alert's ts, and arrives when it happens.
        let now = alert
            .slack
            .ts
            .as_deref()
            .filter(|ts| Some(*ts) != record.thread_ts.as_deref())
            .and_then(links::ts_seconds)
            .unwrap_or_else(now_secs);
        let text = format!(
            "✅ Resolved after {}",
            ingest::human_duration(now - record.fired)
        );
        self.records.forget(&alert.fingerprint).await;
        match self
            .replies
            .post(
                &record.channel,
                Some(&thread),
                &text,
                None,
                None,
                Priority::Normal,
            )
            .await
        {
            Ok(_) => Metrics::inc(&self.metrics.resolved_notes),
            Err(e) => self.reply_failed("resolved note", &alert, &e),
        }
    }
}
