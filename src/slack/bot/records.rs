//! The analysis records: alert fingerprint → where its analysis lives (channel, thread, our
//! reply) and the alert behind it. They link a re-fire to the earlier analysis, find the thread
//! for the resolved note and the alert behind a Re-run button.
//!
//! Each record holds a whole alert (up to 64 KiB of text), so the cache is bounded by bytes, not
//! entries: a moka weigher charges each record its serialised size, within
//! `slack.records_max_bytes`. Beyond it the least used records go first; losing one costs a link
//! or a resolved note, never an analysis.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;

use crate::alert::Alert;

/// One analysis the bot posted (or is posting).
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub alert: Alert,
    pub channel: String,
    /// The thread the analysis lives in (the alert message's ts), if any.
    pub thread_ts: Option<String>,
    /// Our reply's ts, once posted.
    pub reply_ts: Option<String>,
    pub agent: String,
    /// When the alert fired (Slack ts of the alert message, else receipt), epoch seconds.
    pub fired: f64,
}

/// Bytes of bookkeeping charged to each record besides its strings.
const RECORD_OVERHEAD: usize = 256;

/// Counts the bytes written to it.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What one record costs: its alert's serialised size, its strings and a fixed overhead.
pub(super) fn weight(key: &str, r: &Record) -> u32 {
    let mut alert = ByteCount(0);
    // Serialising to a counter cannot fail on I/O; an error would only undercount.
    let _ = serde_json::to_writer(&mut alert, &r.alert);
    let strings = key.len()
        + r.channel.len()
        + r.agent.len()
        + r.thread_ts.as_ref().map_or(0, String::len)
        + r.reply_ts.as_ref().map_or(0, String::len);
    u32::try_from(alert.0 + strings + RECORD_OVERHEAD).unwrap_or(u32::MAX)
}

/// The byte-bounded record cache.
#[derive(Clone)]
pub(super) struct Records {
    cache: Cache<String, Arc<Record>>,
}

impl Records {
    /// Records kept for `ttl`, within `max_bytes` in all.
    pub fn new(max_bytes: u64, ttl: Duration) -> Records {
        Records {
            cache: Cache::builder()
                .weigher(|k: &String, v: &Arc<Record>| weight(k, v))
                .max_capacity(max_bytes.max(1))
                .time_to_live(ttl)
                .build(),
        }
    }

    pub async fn put(&self, record: Record) {
        self.cache
            .insert(record.alert.fingerprint.clone(), Arc::new(record))
            .await;
    }

    pub async fn get(&self, fingerprint: &str) -> Option<Record> {
        self.cache.get(fingerprint).await.map(|r| (*r).clone())
    }

    pub fn contains(&self, fingerprint: &str) -> bool {
        self.cache.contains_key(fingerprint)
    }

    pub async fn forget(&self, fingerprint: &str) {
        self.cache.invalidate(fingerprint).await;
    }

    /// Bytes held (evictions still pending may make it a little over the budget).
    pub fn weighted_bytes(&self) -> u64 {
        self.cache.weighted_size()
    }

    /// Bytes held once pending evictions ran.
    #[cfg(test)]
    pub async fn bytes(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.weighted_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sources::text_alert;

    fn record(n: usize, body: usize) -> Record {
        let mut alert = text_alert(&format!("Disk usage on node-{n} at 97%"));
        alert.text = "x".repeat(body);
        alert.fingerprint = format!("fp{n}");
        Record {
            alert,
            channel: "C1".into(),
            thread_ts: Some(format!("1760000000.{n:06}")),
            reply_ts: None,
            agent: "kubernetes".into(),
            fired: 1_760_000_000.0,
        }
    }

    #[test]
    fn weight_follows_the_alert_size() {
        let small = weight("fp1", &record(1, 10));
        let big = weight("fp1", &record(1, 64 * 1024));
        assert!(small > RECORD_OVERHEAD as u32);
        assert!(big >= 64 * 1024, "{big}");
        assert!(big > small);
    }

    #[tokio::test]
    async fn the_cache_stays_within_its_byte_budget() {
        let budget = 1024 * 1024;
        let records = Records::new(budget, Duration::from_secs(3600));
        for n in 0..100 {
            records.put(record(n, 64 * 1024)).await;
        }
        let held = records.bytes().await;
        assert!(held <= budget, "{held} bytes held over a {budget} budget");
        let mut kept = 0;
        for n in 0..100 {
            if records.get(&format!("fp{n}")).await.is_some() {
                kept += 1;
            }
        }
        assert!(kept > 0 && kept < 100, "kept {kept}");
    }

    #[tokio::test]
    async fn put_get_forget() {
        let records = Records::new(1 << 20, Duration::from_secs(3600));
        records.put(record(7, 10)).await;
        let r = records.get("fp7").await.expect("kept");
        assert_eq!(r.thread_ts.as_deref(), Some("1760000000.000007"));
        assert!(records.contains("fp7"));
        records.forget("fp7").await;
        assert!(records.get("fp7").await.is_none());
    }
}
