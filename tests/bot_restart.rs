//! What survives a restart and a flood, through Slack's protocols against the fake Slack:
//! unfinished "Investigating…" messages are finished in place, failed catch-up reads are retried
//! and never taken as answered, a resolved alert does not turn the next firing into a
//! duplicate, and re-fires share one duplicate notice updated in place.

mod bot_common;
mod support;

use std::time::Duration;

use serde_json::{Value, json};

use sre_agent::slack::metrics::Metrics;

use bot_common::*;
use support::fake_slack::FakeSlack;

/// The marker the bot puts on its analysis messages.
fn marker(state: &str) -> Value {
    json!({"event_type": "sre_agent_analysis",
           "event_payload": {"state": state, "fingerprint": "fp", "agent": "kubernetes"}})
}

/// One of the bot's messages in the thread of `thread_ts`, as an earlier process left it.
fn ours(fake: &FakeSlack, thread_ts: &str, ts: &str, text: &str, state: Option<&str>) -> Value {
    let mut m = json!({"user": fake.bot_user_id(), "bot_id": fake.bot_id(), "text": text,
                       "thread_ts": thread_ts, "ts": ts});
    if let Some(s) = state {
        m["metadata"] = marker(s);
    }
    m
}

fn catch_up_opts() -> Opts {
    let mut opts = Opts::default();
    opts.slack.channels = vec![CH.to_string()];
    opts.slack.catch_up_minutes = 30;
    opts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unfinished_investigating_messages_are_finished_in_place() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    // Marked by this version, and unmarked from an older one.
    let marked = fake.seed_history(CH, am_alert("Cut1 api", &ts_ago(600.0, 1), "firing"));
    let marked_reply = ts_ago(590.0, 2);
    fake.seed_history(
        CH,
        ours(
            &fake,
            &marked,
            &marked_reply,
            "🔎 Investigating *Cut1 api* — agent `kubernetes`: checking …",
            Some("investigating"),
        ),
    );
    let legacy = fake.seed_history(CH, am_alert("Cut2 api", &ts_ago(580.0, 3), "firing"));
    let legacy_reply = ts_ago(570.0, 4);
    fake.seed_history(
        CH,
        ours(
            &fake,
            &legacy,
            &legacy_reply,
            "🔎 Investigating *Cut2 api* — agent `kubernetes`: checking …",
            None,
        ),
    );
    // Finished before the crash: left alone.
    let done = fake.seed_history(CH, am_alert("Done api", &ts_ago(560.0, 5), "firing"));
    fake.seed_history(
        CH,
        ours(
            &fake,
            &done,
            &ts_ago(550.0, 6),
            "Root cause: …",
            Some("done"),
        ),
    );

    let bot = start_bot(&fake, catch_up_opts()).await;
    assert!(fake.wait_posted(|p| rca_updates(p).len() >= 2, T).await);
    assert!(bot.wait_idle(T).await);
    assert_eq!(fake.calls("chat.postMessage"), 0, "no second message");
    for (root, reply) in [(&marked, &marked_reply), (&legacy, &legacy_reply)] {
        let replies = bot_replies(&fake, root);
        assert_eq!(replies.len(), 1, "one bot message in {root}");
        assert_eq!(&replies[0].ts, reply, "the same message, updated");
        assert!(has_action(&replies[0].blocks, "rca_rerun"), "now the RCA");
        assert_eq!(
            replies[0].raw.pointer("/metadata/event_payload/state"),
            Some(&json!("done"))
        );
    }
    assert_eq!(bot_replies(&fake, &done).len(), 1);
    assert!(!bot_replies(&fake, &done)[0].edited);
    assert_eq!(rca_updates(&fake.posted()).len(), 2);
    assert_eq!(Metrics::get(&bot.metrics().analyses_resumed), 2);
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_catch_up_reads_are_retried_and_never_taken_as_answered() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let ts = fake.seed_history(CH, am_alert("Flaky api", &ts_ago(300.0, 1), "firing"));
    // More 429s than one call waits out: the call fails, catch-up tries it again.
    fake.rate_limit_next("conversations.replies", 12, 0);
    let bot = start_bot(&fake, catch_up_opts()).await;
    assert!(fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await);
    assert!(bot.wait_idle(T).await);
    assert_eq!(bot_replies(&fake, &ts).len(), 1, "analysed after the retry");
    let m = bot.metrics();
    assert!(Metrics::get(&m.catch_up_read_retries) >= 1);
    assert_eq!(Metrics::get(&m.catch_up_unread), 0);
    bot.shutdown(Duration::from_secs(5)).await;

    // A thread that cannot be read at all: counted and logged, not answered, not skipped
    // silently — and the live path still analyses the alert when it arrives.
    let fake = FakeSlack::start_with(fast_fake()).await;
    let ts = fake.seed_history(CH, am_alert("Unreadable api", &ts_ago(300.0, 1), "firing"));
    fake.fail_next("conversations.replies", "internal_error", 1000);
    let bot = start_bot(&fake, catch_up_opts()).await;
    let m = bot.metrics();
    assert!(eventually(T, || Metrics::get(&m.catch_up_unread) == 1).await);
    assert!(Metrics::get(&m.catch_up_read_retries) >= 5);
    assert!(bot.wait_idle(T).await);
    assert!(bot_replies(&fake, &ts).is_empty());
    let body = bot.ops().metrics();
    assert!(body.contains("sre_agent_catch_up_unread_total 1"), "{body}");
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_resolved_alert_seen_by_catch_up_does_not_mute_the_next_firing() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let fired = fake.seed_history(CH, am_alert("Flapping api", &ts_ago(900.0, 1), "firing"));
    fake.seed_history(
        CH,
        ours(
            &fake,
            &fired,
            &ts_ago(890.0, 2),
            "Root cause: …",
            Some("done"),
        ),
    );
    fake.seed_history(CH, am_alert("Flapping api", &ts_ago(600.0, 3), "resolved"));
    let bot = start_bot(&fake, catch_up_opts()).await;
    assert!(fake.wait_calls("conversations.replies", 1, T).await);
    assert!(bot.wait_idle(T).await);
    // It fires again: a new analysis, not a "same alert" link.
    let again = ts_ago(10.0, 4);
    fake.send_event(am_alert("Flapping api", &again, "firing"))
        .await;
    assert!(fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await);
    assert!(bot.wait_idle(T).await);
    let replies = bot_replies(&fake, &again);
    assert_eq!(replies.len(), 1);
    assert!(has_action(&replies[0].blocks, "rca_rerun"));
    assert_eq!(Metrics::get(&bot.metrics().duplicates), 0);
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refires_share_one_notice_counted_in_place() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let bot = start_bot(&fake, Opts::default()).await;
    let first = ts_ago(120.0, 1);
    fake.send_event(am_alert("Noisy api", &first, "firing"))
        .await;
    assert!(fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await);
    let mut refires = Vec::new();
    for i in 0..4 {
        let ts = ts_ago(100.0 - i as f64, 2 + i);
        fake.send_event(am_alert("Noisy api", &ts, "firing")).await;
        refires.push(ts);
    }
    assert!(fake.wait_acks(5, T).await);
    let m = bot.metrics();
    assert!(eventually(T, || Metrics::get(&m.duplicates) == 4).await);
    assert!(bot.wait_idle(T).await);
    // One notice, in the first re-fire's thread, saying how often it fired.
    let notices: Vec<_> = refires
        .iter()
        .flat_map(|ts| bot_replies(&fake, ts))
        .collect();
    assert_eq!(notices.len(), 1, "one notice for four re-fires");
    assert_eq!(notices[0].thread_ts.as_deref(), Some(refires[0].as_str()));
    let text = notices[0].text.clone().unwrap_or_default();
    assert!(text.contains("earlier analysis"), "{text}");
    assert!(text.contains("fired again 4×"), "{text}");
    assert_eq!(
        fake.calls("chat.postMessage"),
        2,
        "investigating + one notice"
    );
    bot.shutdown(Duration::from_secs(5)).await;
}
