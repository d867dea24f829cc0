//! Catch-up on start: analyse recent alerts in the watched channels that have no reply from
//! this bot, because Slack does not redeliver envelopes acked before a crash.

use super::*;

impl Shared {
    /// Analyse recent alerts in the allowed channels that have no reply from this bot.
    pub(super) async fn catch_up(self: Arc<Self>) {
        let minutes = self.cfg.slack.catch_up_minutes;
        if minutes == 0 {
            return;
        }
        let channels = if self.cfg.slack.channels.is_empty() {
            match self.member_channels().await {
                Ok(list) => list,
                Err(e) => {
                    tracing::info!(error = %e, "catch-up skipped: no channel allow list (slack.channels) and conversations.list failed");
                    return;
                }
            }
        } else {
            self.cfg.slack.channels.clone()
        };
        let oldest = format!("{:.6}", now_secs() - (minutes as f64) * 60.0);
        let mut found = 0usize;
        for channel in channels {
            let mut cursor = String::new();
            let mut messages = Vec::new();
            for _page in 0..20 {
                let mut params = vec![
                    ("channel", channel.clone()),
                    ("oldest", oldest.clone()),
                    ("limit", "200".to_string()),
                ];
                if !cursor.is_empty() {
                    params.push(("cursor", cursor.clone()));
                }
                let answer = match self.api.get("conversations.history", &params).await {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(channel = %channel, error = %e, "catch-up: cannot read history");
                        break;
                    }
                };
                if let Some(list) = answer.get("messages").and_then(Value::as_array) {
                    messages.extend(list.iter().cloned());
                }
                cursor = answer
                    .pointer("/response_metadata/next_cursor")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if cursor.is_empty()
                    || answer.get("has_more").and_then(Value::as_bool) != Some(true)
                {
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
            for msg in messages {
                if self.closing.load(Ordering::Relaxed) {
                    return;
                }
                let Classified::Alert(msg) =
                    ingest::classify(&msg, Some(&channel), &self.me, &self.cfg.slack.channels)
                else {
                    continue;
                };
                let Some(ts) = msg.get("ts").and_then(Value::as_str).map(str::to_string) else {
                    continue;
                };
                let answered = self.answered(&channel, &ts, &msg).await;
                let Some(alert) = self.parse(&msg, None) else {
                    continue;
                };
                if alert.status != AlertStatus::Firing {
                    continue;
                }
                if answered {
                    self.restore(alert, &channel, &ts).await;
                    continue;
                }
                found += 1;
                self.alert_in(alert, Instant::now()).await;
            }
        }
        tracing::info!(alerts = found, minutes, "catch-up done");
    }

    /// An alert this bot answered before the restart: remember its analysis again, so that its
    /// resolved message gets the note and a re-fire within the window links to it.
    pub(super) async fn restore(&self, alert: Alert, channel: &str, ts: &str) {
        if self.records.contains_key(&alert.fingerprint) {
            return;
        }
        // Marks the message and the fingerprint as seen, as the first delivery did.
        let _ = self.dedup.check(&alert).await;
        let agent = match self.pipeline.read() {
            Ok(guard) => guard
                .as_ref()
                .map(|p| p.engine().route(&alert).agent)
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        let target = Target::Thread {
            channel: channel.to_string(),
            ts: ts.to_string(),
        };
        self.remember(&alert, &target, None, &agent).await;
    }

    /// Channels the bot is a member of (`conversations.list`), for catch-up without an allow list.
    pub(super) async fn member_channels(&self) -> Result<Vec<String>, ApiError> {
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
            let answer = self.api.get("conversations.list", &params).await?;
            if let Some(list) = answer.get("channels").and_then(Value::as_array) {
                out.extend(
                    list.iter()
                        .filter(|c| c.get("is_member").and_then(Value::as_bool) == Some(true))
                        .filter_map(|c| c.get("id").and_then(Value::as_str).map(str::to_string)),
                );
            }
            cursor = answer
                .pointer("/response_metadata/next_cursor")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if cursor.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// True if the thread of `ts` already holds a message from this bot.
    pub(super) async fn answered(&self, channel: &str, ts: &str, msg: &Value) -> bool {
        if msg.get("reply_count").and_then(Value::as_u64) == Some(0) {
            return false;
        }
        match self
            .api
            .get(
                "conversations.replies",
                &[
                    ("channel", channel.to_string()),
                    ("ts", ts.to_string()),
                    ("limit", "200".into()),
                ],
            )
            .await
        {
            Ok(answer) => answer
                .get("messages")
                .and_then(Value::as_array)
                .is_some_and(|msgs| {
                    msgs.iter()
                        .filter(|m| m.get("ts").and_then(Value::as_str) != Some(ts))
                        .any(|m| self.me.is_own(m))
                }),
            Err(e) => {
                tracing::warn!(channel, ts, error = %e, "catch-up: cannot read the thread; skipping it");
                true
            }
        }
    }
}
