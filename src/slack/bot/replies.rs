//! Thread replies: post and update with retries, the record of each analysis, the
//! "investigating" → RCA update, queue-full and duplicate notices, resolved notes.

use super::*;

impl Shared {
    /// Post a message (new, or in a thread); the new message's ts.
    pub(super) async fn post(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Option<&[Value]>,
    ) -> Result<String, ApiError> {
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
        let answer = self.api.post("chat.postMessage", &body).await?;
        Ok(answer
            .get("ts")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// Replace one of our messages.
    pub(super) async fn update(
        &self,
        channel: &str,
        ts: &str,
        text: &str,
        blocks: &[Value],
    ) -> Result<(), ApiError> {
        let body = json!({
            "channel": channel,
            "ts": ts,
            "text": ingest::truncate(text, 3900),
            "blocks": blocks,
        });
        self.api.post("chat.update", &body).await.map(|_| ())
    }

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
            .insert(
                alert.fingerprint.clone(),
                Record {
                    alert: alert.clone(),
                    channel,
                    thread_ts,
                    reply_ts,
                    agent: agent.to_string(),
                    fired,
                },
            )
            .await;
    }

    /// The reply task: "investigating" message, wait for the analysis, update it with the RCA.
    pub(super) async fn reply(
        self: Arc<Self>,
        alert: Alert,
        target: Target,
        rx: tokio::sync::oneshot::Receiver<RunResult>,
    ) {
        let route = self.engine.route(&alert);
        let tools = self.agent_tools(&route.agent);
        let investigating = ingest::investigating_text(&alert.title, &route.agent, &tools);
        let channel = target.channel().to_string();
        let mut message_ts = match &target {
            Target::Existing { ts, .. } => {
                if let Err(e) = self.update(&channel, ts, &investigating, &[]).await {
                    self.reply_failed("re-run notice", &alert, &e);
                }
                Some(ts.clone())
            }
            _ => match self
                .post(&channel, target.thread(), &investigating, None)
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
                        "⚠️ The bot shut down before analysing *{}*. Press Re-run or use `/rca` with a link to the alert.",
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
        let delivered = match &message_ts {
            Some(ts) => match self.update(&channel, ts, &text, &blocks).await {
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
                .post(&channel, target.thread(), &text, Some(&blocks))
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
            self.dedup.forget(&alert).await;
        }
        let link = match (&alert.slack.channel, &alert.slack.ts) {
            (Some(c), Some(t)) => self.permalink(c, t, None),
            _ => "<link to the alert>".to_string(),
        };
        let text = format!(
            "⏳ The analysis queue is full ({capacity} alerts waiting), so this alert will not be analysed automatically. Run `/rca {link}` to analyse it."
        );
        tracing::warn!(alert = %alert.title, permalink = %link, "queue full; alert not analysed");
        if let Err(e) = self
            .post(target.channel(), target.thread(), &text, None)
            .await
        {
            self.reply_failed("queue-full notice", &alert, &e);
        }
    }

    /// A re-fired alert within the dedup window: a one-line reply linking the earlier analysis.
    pub(super) async fn duplicate_notice(self: Arc<Self>, alert: Alert) {
        let (Some(channel), Some(ts)) = (alert.slack.channel.clone(), alert.slack.ts.clone())
        else {
            return;
        };
        let earlier = self.records.get(&alert.fingerprint).await;
        let text = match earlier {
            Some(r) => {
                let link = match (&r.reply_ts, &r.thread_ts) {
                    (Some(reply), thread) => self.permalink(&r.channel, reply, thread.as_deref()),
                    (None, Some(thread)) => self.permalink(&r.channel, thread, None),
                    (None, None) => self.permalink(&r.channel, "", None),
                };
                format!(
                    "↩️ Same alert as before — see the <{link}|earlier analysis> (no new analysis within the dedup window)."
                )
            }
            None => {
                "↩️ This alert is already being analysed (no new analysis within the dedup window)."
                    .to_string()
            }
        };
        if let Err(e) = self.post(&channel, Some(&ts), &text, None).await {
            self.reply_failed("duplicate notice", &alert, &e);
        }
    }

    /// A resolved alert we analysed: a short note in the original analysis thread.
    pub(super) async fn resolved(self: Arc<Self>, alert: Alert) {
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
        self.records.invalidate(&alert.fingerprint).await;
        self.dedup.forget(&alert).await;
        match self.post(&record.channel, Some(&thread), &text, None).await {
            Ok(_) => Metrics::inc(&self.metrics.resolved_notes),
            Err(e) => self.reply_failed("resolved note", &alert, &e),
        }
    }
}
