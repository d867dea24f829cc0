//! Dedup: has this alert been seen within the window?
//!
//! A `moka` cache keyed by delivery ids and by alert fingerprint, with a time-to-live equal to the
//! dedup window. `entry(k).or_insert(())` is atomic, so two copies of one alert racing through
//! different connections cannot both be "first".

use std::time::Duration;

use moka::future::Cache;

use crate::alert::Alert;

/// Why an alert is a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateOf {
    /// Same Slack event delivered again (retry or a second connection).
    Event,
    /// Same alert fired again within the window.
    Fingerprint,
}

#[derive(Clone)]
pub struct Dedup {
    cache: Cache<String, ()>,
}

impl Dedup {
    pub fn new(window: Duration, capacity: u64) -> Dedup {
        Dedup {
            cache: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(window)
                .build(),
        }
    }

    /// True the first time `key` is seen within the window.
    pub async fn first_seen(&self, key: String) -> bool {
        self.cache.entry(key).or_insert(()).await.is_fresh()
    }

    /// Records the alert and says whether it was already seen: by event id or by the message
    /// itself (channel + ts: the same message met again through catch-up and a redelivery),
    /// then by fingerprint (the same alert fired again).
    pub async fn check(&self, alert: &Alert) -> Option<DuplicateOf> {
        if let Some(id) = &alert.slack.event_id
            && !self.first_seen(format!("event:{id}")).await
        {
            return Some(DuplicateOf::Event);
        }
        if let (Some(channel), Some(ts)) = (&alert.slack.channel, &alert.slack.ts)
            && !self.first_seen(format!("msg:{channel}:{ts}")).await
        {
            return Some(DuplicateOf::Event);
        }
        if !self.first_seen(format!("fp:{}", alert.fingerprint)).await {
            return Some(DuplicateOf::Fingerprint);
        }
        None
    }

    /// True if this resolved alert's delivery (event id, or message) was met before.
    pub async fn resolved_seen(&self, alert: &Alert) -> bool {
        let mut seen = false;
        if let Some(id) = &alert.slack.event_id {
            seen |= !self.first_seen(format!("resolved-event:{id}")).await;
        }
        if let (Some(channel), Some(ts)) = (&alert.slack.channel, &alert.slack.ts) {
            seen |= !self
                .first_seen(format!("resolved-msg:{channel}:{ts}"))
                .await;
        }
        seen
    }

    /// Forget an alert's fingerprint (an analysis that could not be queued should not block a retry).
    pub async fn forget(&self, alert: &Alert) {
        if let (Some(channel), Some(ts)) = (&alert.slack.channel, &alert.slack.ts) {
            self.cache.invalidate(&format!("msg:{channel}:{ts}")).await;
        }
        self.cache
            .invalidate(&format!("fp:{}", alert.fingerprint))
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sources::text_alert;

    #[tokio::test]
    async fn same_event_and_same_fingerprint_are_duplicates() {
        let d = Dedup::new(Duration::from_secs(60), 1000);
        let mut a = text_alert("Disk usage on node-3 at 97%");
        a.slack.event_id = Some("Ev1".into());
        assert_eq!(d.check(&a).await, None);
        assert_eq!(d.check(&a).await, Some(DuplicateOf::Event));
        let mut refired = a.clone();
        refired.slack.event_id = Some("Ev2".into());
        assert_eq!(d.check(&refired).await, Some(DuplicateOf::Fingerprint));
        let other = text_alert("Disk usage on node-4 at 97%");
        if other.fingerprint != a.fingerprint {
            assert_eq!(d.check(&other).await, None);
        }
        // The same message met again without an event id (catch-up) is a redelivery, not a re-fire.
        let mut posted = text_alert("Pod api-1 is in CrashLoopBackOff");
        posted.slack.channel = Some("C1".into());
        posted.slack.ts = Some("1760000000.000100".into());
        assert_eq!(d.check(&posted).await, None);
        let mut via_catch_up = posted.clone();
        via_catch_up.slack.event_id = Some("Ev9".into());
        assert_eq!(d.check(&via_catch_up).await, Some(DuplicateOf::Event));
        d.forget(&a).await;
        let mut again = a.clone();
        again.slack.event_id = Some("Ev3".into());
        assert_eq!(d.check(&again).await, None);
    }

    #[tokio::test]
    async fn window_expires() {
        let d = Dedup::new(Duration::from_millis(50), 1000);
        let a = text_alert("CPU throttling above 50% for search");
        assert_eq!(d.check(&a).await, None);
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(d.check(&a).await, None);
    }
}
