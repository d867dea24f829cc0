//! Duplicate notices, coalesced per alert: within the dedup window the first re-fire of an
//! alert gets one notice (in its thread, linking the earlier analysis) and every later re-fire
//! only bumps the count in that same message ("fired again 3×", updated in place). At most one
//! writer per alert runs at a time, so a flood of re-fires costs one task and a few updates,
//! not a task and a message each.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::future::Cache;

/// Alerts with a live notice at once; beyond it the oldest are forgotten (a later re-fire then
/// starts a new notice).
const MAX_ALERTS: u64 = 10_000;

/// What the writer of an alert's notice must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// Post the notice in the thread of the first re-fire.
    Post {
        channel: String,
        thread_ts: String,
        count: u32,
    },
    /// Update the posted notice to say `count`.
    Update {
        channel: String,
        ts: String,
        count: u32,
    },
    /// Up to date: the writer stops.
    Idle,
}

#[derive(Debug)]
struct Notice {
    channel: String,
    thread_ts: String,
    /// Our notice's ts, once posted.
    ts: Option<String>,
    /// Re-fires counted.
    count: u32,
    /// Re-fires the message says.
    shown: u32,
    /// A writer is running.
    writing: bool,
}

/// The notice book, by alert fingerprint, for one dedup window.
#[derive(Clone)]
pub(super) struct Notices {
    book: Cache<String, Arc<Mutex<Notice>>>,
}

impl Notices {
    pub fn new(window: Duration) -> Notices {
        Notices {
            book: Cache::builder()
                .max_capacity(MAX_ALERTS)
                .time_to_live(window.max(Duration::from_secs(1)))
                .build(),
        }
    }

    /// Count a re-fire of `fingerprint` posted at `channel`/`ts`. True if the caller must start
    /// the writer (none is running).
    pub async fn refire(&self, fingerprint: &str, channel: &str, ts: &str) -> bool {
        let entry = self
            .book
            .get_with(fingerprint.to_string(), async {
                Arc::new(Mutex::new(Notice {
                    channel: channel.to_string(),
                    thread_ts: ts.to_string(),
                    ts: None,
                    count: 0,
                    shown: 0,
                    writing: false,
                }))
            })
            .await;
        let Ok(mut n) = entry.lock() else {
            return false;
        };
        n.count = n.count.saturating_add(1);
        let start = !n.writing;
        n.writing = true;
        start
    }

    /// The writer's next step, after `done` (the previous step's outcome: the notice's ts and
    /// the count it now says; `None` for the first step). A writer whose step fails calls
    /// [`Notices::give_up`] instead.
    pub async fn next(&self, fingerprint: &str, done: Option<(String, u32)>) -> Step {
        let Some(entry) = self.book.get(fingerprint).await else {
            return Step::Idle;
        };
        let Ok(mut n) = entry.lock() else {
            return Step::Idle;
        };
        if let Some((ts, count)) = done {
            n.ts = Some(ts);
            n.shown = count;
        }
        match &n.ts {
            None => Step::Post {
                channel: n.channel.clone(),
                thread_ts: n.thread_ts.clone(),
                count: n.count,
            },
            Some(ts) if n.shown < n.count => Step::Update {
                channel: n.channel.clone(),
                ts: ts.clone(),
                count: n.count,
            },
            Some(_) => {
                n.writing = false;
                Step::Idle
            }
        }
    }

    /// The writer failed for good: let the next re-fire start again.
    pub async fn give_up(&self, fingerprint: &str) {
        if let Some(entry) = self.book.get(fingerprint).await
            && let Ok(mut n) = entry.lock()
        {
            n.writing = false;
        }
    }
}

/// The notice's text.
pub(super) fn text(count: u32, earlier: Option<&str>) -> String {
    let again = if count > 1 {
        format!(", fired again {count}×")
    } else {
        String::new()
    };
    match earlier {
        Some(link) => format!(
            "↩️ Same alert as before{again} — see the <{link}|earlier analysis> (no new analysis within the dedup window)."
        ),
        None => format!(
            "↩️ This alert is already being analysed{again} (no new analysis within the dedup window)."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refires_are_coalesced_into_one_notice() {
        let n = Notices::new(Duration::from_secs(600));
        assert!(
            n.refire("fp", "C1", "1.1").await,
            "the first re-fire starts a writer"
        );
        assert!(!n.refire("fp", "C1", "2.1").await, "a writer is running");
        let step = n.next("fp", None).await;
        assert_eq!(
            step,
            Step::Post {
                channel: "C1".into(),
                thread_ts: "1.1".into(),
                count: 2
            }
        );
        // Two more while posting.
        assert!(!n.refire("fp", "C1", "3.1").await);
        assert!(!n.refire("fp", "C1", "4.1").await);
        let step = n.next("fp", Some(("9.9".into(), 2))).await;
        assert_eq!(
            step,
            Step::Update {
                channel: "C1".into(),
                ts: "9.9".into(),
                count: 4
            }
        );
        assert_eq!(n.next("fp", Some(("9.9".into(), 4))).await, Step::Idle);
        // The writer stopped: the next re-fire starts one, which updates the same message.
        assert!(n.refire("fp", "C1", "5.1").await);
        assert_eq!(
            n.next("fp", None).await,
            Step::Update {
                channel: "C1".into(),
                ts: "9.9".into(),
                count: 5
            }
        );
    }

    #[tokio::test]
    async fn a_failed_first_post_lets_the_next_refire_try_again() {
        let n = Notices::new(Duration::from_secs(600));
        assert!(n.refire("fp", "C1", "1.1").await);
        assert!(matches!(n.next("fp", None).await, Step::Post { .. }));
        n.give_up("fp").await;
        assert!(n.refire("fp", "C1", "2.1").await);
        assert!(matches!(
            n.next("fp", None).await,
            Step::Post { count: 2, .. }
        ));
        assert_eq!(n.next("other", None).await, Step::Idle, "unknown alert");
    }

    #[test]
    fn texts_count_refires() {
        assert!(!text(1, Some("https://l")).contains("fired again"));
        assert!(text(3, Some("https://l")).contains("fired again 3×"));
        assert!(text(2, None).contains("already being analysed, fired again 2×"));
    }
}
