//! Integration tests of the Slack bot against the local fake Slack (`tests/support`).
//!
//! Each test starts a fake Slack (Web API + Socket Mode on 127.0.0.1), then the real bot
//! in-process (`Bot::start`) with the real pipeline and engine over empty tool backends and the
//! offline reasoner, and drives it only through Slack's protocols: events, slash commands,
//! interactive payloads, disconnects, 429s. Windows, retries and pacing are shortened so the
//! whole file runs in seconds.

mod bot_common;
mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use sre_agent::slack::metrics::Metrics;

use bot_common::*;
use support::fake_slack::FakeSlack;

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_alert_gets_one_threaded_reply_updated_into_the_rca() {
    // Like real Slack, the fake echoes the bot's own posts and edits back as events.
    let fake = FakeSlack::start_with(support::fake_slack::FakeConfig {
        echo_own_messages: true,
        ..fast_fake()
    })
    .await;
    let bot = start_bot(&fake, Opts::default()).await;
    assert_eq!(bot.identity().user_id, fake.bot_user_id());
    assert_eq!(bot.identity().bot_id, fake.bot_id());

    let ts = ts_ago(60.0, 1);
    fake.send_event(am_alert("HighErrorRate api", &ts, "firing"))
        .await;
    assert!(
        fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await,
        "an RCA update arrives"
    );
    let posted = fake.posted();
    let first = posted
        .iter()
        .find(|p| p.method == "chat.postMessage")
        .expect("investigating reply");
    assert_eq!(first.channel, CH);
    assert_eq!(first.thread_ts.as_deref(), Some(ts.as_str()));
    let text = first.text.clone().unwrap_or_default();
    assert!(text.contains("Investigating"), "{text}");
    assert!(text.contains("agent `"), "{text}");
    let update = &rca_updates(&posted)[0];
    assert_eq!(
        update.ts, first.ts,
        "the update replaced the investigating reply"
    );
    assert!(update.blocks.as_array().is_some_and(|b| !b.is_empty()));
    assert!(has_action(&update.blocks, "rca_feedback_up"));
    assert!(has_action(&update.blocks, "rca_feedback_down"));
    // One bot message in the thread, now holding the RCA.
    let replies = bot_replies(&fake, &ts);
    assert_eq!(replies.len(), 1, "one bot message per analysis");
    assert!(replies[0].edited);
    assert!(has_action(&replies[0].blocks, "rca_rerun"));
    assert_eq!(
        fake.calls("chat.postMessage"),
        1,
        "no other message was posted"
    );
    // The alert, plus the echoes of our post and of our update.
    assert!(fake.wait_acks(3, T).await);
    assert!(bot.wait_idle(T).await);
    let m = bot.metrics();
    assert_eq!(Metrics::get(&m.envelopes_acked), 3);
    assert_eq!(m.runs.total(), 1);
    assert!(m.ignored.get(&["own_message"]) >= 2, "echoes ignored");
    assert!(bot.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_ignores_own_messages_thread_replies_people_and_other_channels() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let mut opts = Opts::default();
    opts.slack.channels = vec![CH.to_string()];
    let bot = start_bot(&fake, opts).await;
    let root = ts_ago(100.0, 1);
    let mut own = am_alert("OwnEcho", &ts_ago(90.0, 2), "firing");
    own["bot_id"] = json!(fake.bot_id());
    let mut reply = am_alert("ThreadReply", &ts_ago(80.0, 3), "firing");
    reply["thread_ts"] = json!(root);
    let person = json!({"type":"message","user":"U0HUMAN","text":"[FIRING:1] looks bad","channel":CH,
                        "ts": ts_ago(70.0, 4)});
    let mut other = am_alert("OtherChannel", &ts_ago(60.0, 5), "firing");
    other["channel"] = json!("C0OTHER");
    let deleted = json!({"type":"message","subtype":"message_deleted","channel":CH,
                         "deleted_ts": root, "ts": ts_ago(50.0, 6)});
    for ev in [own, reply, person, other, deleted] {
        fake.send_event(ev).await;
    }
    // Then a real alert, to know the others were processed first.
    let ts = ts_ago(40.0, 7);
    fake.send_event(grafana_alert("DiskFull", &ts)).await;
    assert!(fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await);
    assert!(fake.wait_acks(6, T).await, "every envelope acked");
    assert!(bot.wait_idle(T).await);
    let posted = fake.posted();
    assert_eq!(rca_updates(&posted).len(), 1, "only the Grafana alert");
    assert_eq!(rca_updates(&posted)[0].ts, bot_replies(&fake, &ts)[0].ts);
    assert!(bot.metrics().ignored.total() >= 5);
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_burst_with_redeliveries_refires_and_reconnect_analyses_each_alert_once() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let opts = Opts {
        connections: 2,
        ..Opts::default()
    };
    let bot = start_bot(&fake, opts).await;

    let n = 50;
    let mut alert_ts = Vec::new();
    let mut refire_ts = Vec::new();
    for i in 0..n {
        let ts = ts_ago(300.0, i);
        let ev = am_alert(&format!("BurstAlert{i:02} api"), &ts, "firing");
        let id = format!("EvBURST{i:03}");
        fake.send_event_with_id(ev.clone(), &id).await;
        if i % 10 == 0 {
            // The same event delivered three more times.
            for _ in 0..3 {
                fake.send_event_with_id(ev.clone(), &id).await;
            }
        }
        if i % 10 == 5 {
            // The same alert fired again (a new message, a new event).
            let again = ts_ago(200.0, i);
            fake.send_event(am_alert(&format!("BurstAlert{i:02} api"), &again, "firing"))
                .await;
            refire_ts.push(again);
        }
        if i == n / 2 {
            fake.send_disconnect("refresh_requested").await;
        }
        alert_ts.push(ts);
    }
    assert!(
        fake.wait_posted(|p| rca_updates(p).len() >= n, Duration::from_secs(30))
            .await,
        "all {n} analyses arrive (got {})",
        rca_updates(&fake.posted()).len()
    );
    // Let redeliveries of envelopes stranded on the old socket come in, then settle.
    assert!(
        fake.wait_until(Duration::from_secs(10), || {
            let acked: std::collections::HashSet<String> =
                fake.acks().into_iter().map(|a| a.envelope_id).collect();
            fake.pending() == 0
                && fake
                    .deliveries()
                    .iter()
                    .filter(|d| {
                        d.envelope.get("type").and_then(Value::as_str) == Some("events_api")
                    })
                    .filter_map(|d| {
                        d.envelope
                            .pointer("/payload/event_id")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .all(|ev| {
                        fake.deliveries().iter().any(|d| {
                            d.envelope
                                .pointer("/payload/event_id")
                                .and_then(Value::as_str)
                                == Some(ev.as_str())
                                && d.envelope_id.as_ref().is_some_and(|e| acked.contains(e))
                        })
                    })
        })
        .await,
        "every event acked at least once"
    );
    assert!(bot.wait_idle(T).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let posted = fake.posted();
    let updates = rca_updates(&posted);
    assert_eq!(updates.len(), n, "exactly one analysis per unique alert");
    // Alerts without a re-fire: one reply, the RCA. An alert and its re-fire arrive on either
    // connection, so either may be analysed first: one thread holds the RCA, the other a
    // one-line notice pointing at it.
    let mut pairs = std::collections::HashMap::new();
    for (i, ts) in alert_ts.iter().enumerate() {
        if i % 10 == 5 {
            pairs.insert(i, ts.clone());
            continue;
        }
        let replies = bot_replies(&fake, ts);
        assert_eq!(replies.len(), 1, "one reply in thread {ts}");
        assert!(has_action(&replies[0].blocks, "rca_rerun"), "RCA in {ts}");
    }
    let mut pair_keys: Vec<_> = pairs.keys().copied().collect();
    pair_keys.sort();
    for (k, again) in pair_keys.iter().zip(refire_ts.iter()) {
        let first = bot_replies(&fake, &pairs[k]);
        let second = bot_replies(&fake, again);
        assert_eq!(
            first.len() + second.len(),
            2,
            "alert {k}: one RCA and one notice"
        );
        let rcas = first
            .iter()
            .chain(second.iter())
            .filter(|m| has_action(&m.blocks, "rca_rerun"))
            .count();
        assert_eq!(rcas, 1, "alert {k}: exactly one analysis");
        let notice = first
            .iter()
            .chain(second.iter())
            .find(|m| !has_action(&m.blocks, "rca_rerun"))
            .and_then(|m| m.text.clone())
            .unwrap_or_default();
        assert!(
            notice.contains("earlier analysis") || notice.contains("already being analysed"),
            "{notice}"
        );
    }
    assert!(
        fake.total_connections() >= 3,
        "reconnected after disconnect"
    );
    let m = bot.metrics();
    assert_eq!(Metrics::get(&m.duplicates), refire_ts.len() as u64);
    assert!(Metrics::get(&m.redeliveries) >= 15);
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_waits_out_429_storms() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let bot = start_bot(&fake, Opts::default()).await;
    fake.rate_limit_next("chat.postMessage", 2, 1);
    fake.rate_limit_next("chat.update", 1, 1);
    let ts = ts_ago(60.0, 1);
    fake.send_event(am_alert("RateLimited api", &ts, "firing"))
        .await;
    assert!(fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await);
    assert!(bot.wait_idle(T).await);
    assert_eq!(bot_replies(&fake, &ts).len(), 1);
    assert!(fake.calls("chat.postMessage") >= 3);
    assert!(fake.calls("chat.update") >= 2);
    let m = bot.metrics();
    assert!(Metrics::get(&m.slack_rate_limited) >= 3);
    assert_eq!(Metrics::get(&m.replies_failed), 0);
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_paces_messages_per_channel() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let mut opts = Opts::default();
    opts.api.pace = Duration::from_millis(150);
    let bot = start_bot(&fake, opts).await;
    for i in 0..4 {
        fake.send_event(am_alert(
            &format!("Paced{i} api"),
            &ts_ago(60.0, i),
            "firing",
        ))
        .await;
    }
    assert!(fake.wait_posted(|p| rca_updates(p).len() >= 4, T).await);
    let posts: Vec<_> = fake
        .posted()
        .into_iter()
        .filter(|p| p.method == "chat.postMessage")
        .collect();
    assert_eq!(posts.len(), 4);
    for w in posts.windows(2) {
        let gap = w[1].time.duration_since(w[0].time);
        assert!(gap >= Duration::from_millis(120), "gap {gap:?}");
    }
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_queue_full_posts_a_notice_never_a_silent_drop() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let mut opts = Opts::default();
    opts.pipeline.workers = 1;
    opts.pipeline.queue_capacity = 1;
    opts.reasoner = Arc::new(Slow(Duration::from_millis(400)));
    let bot = start_bot(&fake, opts).await;
    let mut all = Vec::new();
    for i in 0..6 {
        let ts = ts_ago(60.0, i);
        fake.send_event(am_alert(&format!("Flood{i} api"), &ts, "firing"))
            .await;
        all.push(ts);
    }
    assert!(fake.wait_acks(6, T).await);
    assert!(bot.wait_idle(T).await);
    let mut rcas = 0;
    let mut notices = 0;
    for ts in &all {
        let replies = bot_replies(&fake, ts);
        assert_eq!(replies.len(), 1, "thread {ts} got exactly one bot message");
        if has_action(&replies[0].blocks, "rca_rerun") {
            rcas += 1;
        } else {
            let text = replies[0].text.clone().unwrap_or_default();
            assert!(text.contains("queue is full"), "{text}");
            assert!(
                text.contains("/rca https://fake.slack.com/archives/"),
                "{text}"
            );
            notices += 1;
        }
    }
    assert!(rcas >= 1 && notices >= 1, "rcas {rcas}, notices {notices}");
    assert_eq!(Metrics::get(&bot.metrics().queue_full), notices);
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_rca_command_with_permalink_text_and_bad_links() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let bot = start_bot(&fake, Opts::default()).await;

    // Permalink to an alert already in the channel (already analysed once: /rca bypasses dedup).
    let ts = fake.seed_history(CH, am_alert("SlowQueries db", &ts_ago(120.0, 1), "firing"));
    let env = fake
        .send_slash_command("/rca", &permalink(&ts), CH, "U0HUMAN")
        .await;
    assert!(fake.wait_acks(1, T).await);
    let ack = fake
        .acks()
        .into_iter()
        .find(|a| a.envelope_id == env)
        .expect("ack");
    let payload = ack.payload.unwrap_or(Value::Null).to_string();
    assert!(payload.contains("On it"), "{payload}");
    assert!(fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await);
    let replies = bot_replies(&fake, &ts);
    assert_eq!(replies.len(), 1);
    assert!(has_action(&replies[0].blocks, "rca_rerun"));
    // Again: a second analysis in the same thread (forced, not deduplicated).
    fake.send_slash_command("/rca", &format!("<{}>", permalink(&ts)), CH, "U0HUMAN")
        .await;
    assert!(fake.wait_posted(|p| rca_updates(p).len() >= 2, T).await);
    assert_eq!(bot_replies(&fake, &ts).len(), 2);

    // Free text: analysed and posted in the channel (top level).
    fake.send_slash_command("/rca", "Disk usage on node-3 at 97%", CH, "U0HUMAN")
        .await;
    assert!(fake.wait_posted(|p| rca_updates(p).len() >= 3, T).await);
    let posted = fake.posted();
    let top = posted
        .iter()
        .filter(|p| p.method == "chat.postMessage" && p.thread_ts.is_none())
        .count();
    assert_eq!(top, 1, "free-text RCA is a top-level message");

    // Bad link, unknown message, no access: told to the user, nothing posted.
    let before = fake.calls("chat.postMessage");
    fake.send_slash_command(
        "/rca",
        "https://fake.slack.com/archives/C0ALERTS",
        CH,
        "U0HUMAN",
    )
    .await;
    fake.send_slash_command("/rca", &permalink("1500000000.000100"), CH, "U0HUMAN")
        .await;
    assert!(
        fake.wait_until(T, || fake.response_url_posts().len() >= 2)
            .await
    );
    fake.fail_next("conversations.history", "channel_not_found", 1);
    fake.send_slash_command("/rca", &permalink(&ts), CH, "U0HUMAN")
        .await;
    assert!(
        fake.wait_until(T, || fake.response_url_posts().len() >= 3)
            .await
    );
    assert!(bot.wait_idle(T).await);
    let told: Vec<String> = fake
        .response_url_posts()
        .iter()
        .map(|v| v["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        told.iter().any(|t| t.contains("message timestamp")),
        "{told:?}"
    );
    assert_eq!(
        fake.calls("response_url_with_token"),
        0,
        "the bot token never goes to a response_url"
    );
    assert!(
        told.iter().any(|t| t.contains("could not find")),
        "{told:?}"
    );
    assert!(
        told.iter().any(|t| t.contains("channel_not_found")),
        "{told:?}"
    );
    assert_eq!(fake.calls("chat.postMessage"), before);
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_run_rca_shortcut_analyses_the_message() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let bot = start_bot(&fake, Opts::default()).await;
    let msg = am_alert("ShortcutAlert api", &ts_ago(120.0, 1), "firing");
    let ts = fake.seed_history(CH, msg.clone());
    let mut m = msg;
    m["ts"] = json!(ts);
    fake.send_interactive(json!({
        "type": "message_action", "callback_id": "run_rca",
        "channel": {"id": CH, "name": "alerts"}, "message": m,
    }))
    .await;
    assert!(fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await);
    assert_eq!(bot_replies(&fake, &ts).len(), 1);
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_rerun_and_feedback_buttons() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let bot = start_bot(&fake, Opts::default()).await;
    let ts = ts_ago(60.0, 1);
    fake.send_event(am_alert("ButtonAlert api", &ts, "firing"))
        .await;
    assert!(fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await);
    let update = rca_updates(&fake.posted())[0].clone();
    let reply_ts = update.ts.clone();
    let value = find_value(&update.blocks, "rca_rerun").expect("button value");
    let v: Value = serde_json::from_str(&value).expect("value is JSON");
    assert!(v.get("fp").and_then(Value::as_str).is_some(), "{value}");
    let message = json!({"type": "message", "ts": reply_ts, "thread_ts": ts, "user": fake.bot_user_id(),
                         "bot_id": fake.bot_id(), "text": update.text, "blocks": update.blocks});
    let click = |action: &str| {
        json!({
            "type": "block_actions",
            "channel": {"id": CH, "name": "alerts"},
            "message": message.clone(),
            "actions": [{"type": "button", "action_id": action, "block_id": "rca_actions",
                         "value": value, "action_ts": "1760000000.000999",
                         "text": {"type": "plain_text", "text": "x"}}]
        })
    };
    fake.send_interactive(click("rca_rerun")).await;
    assert!(
        fake.wait_posted(|p| rca_updates(p).len() >= 2, T).await,
        "re-run updated the message"
    );
    let updates = rca_updates(&fake.posted());
    assert!(
        updates.iter().all(|u| u.ts == reply_ts),
        "same message updated"
    );
    assert_eq!(bot_replies(&fake, &ts).len(), 1, "still one bot message");

    fake.send_interactive(click("rca_feedback_up")).await;
    fake.send_interactive(click("rca_feedback_down")).await;
    fake.send_interactive(click("rca_feedback_up")).await;
    let m = bot.metrics();
    assert!(
        eventually(T, || m.feedback.total() >= 3).await,
        "feedback recorded"
    );
    let up: u64 = ["network", "database", "kubernetes", "resource"]
        .iter()
        .map(|a| m.feedback.get(&[a, "up"]))
        .sum();
    let down: u64 = ["network", "database", "kubernetes", "resource"]
        .iter()
        .map(|a| m.feedback.get(&[a, "down"]))
        .sum();
    assert_eq!((up, down), (2, 1));
    assert!(
        m.render(0, true)
            .contains("sre_agent_feedback_total{agent=")
    );
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_resolved_alert_adds_a_note_to_the_analysis_thread() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let bot = start_bot(&fake, Opts::default()).await;
    let fired = ts_ago(1800.0, 1);
    fake.send_event(am_alert("ResolvedAlert api", &fired, "firing"))
        .await;
    assert!(fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await);
    let fired_secs: f64 = fired.parse().unwrap_or(0.0);
    let resolved_ts = format!("{}.000500", fired_secs as u64 + 14 * 60);
    fake.send_event(am_alert("ResolvedAlert api", &resolved_ts, "resolved"))
        .await;
    assert!(
        fake.wait_until(T, || bot_replies(&fake, &fired).len() >= 2)
            .await,
        "a note in the original thread"
    );
    let replies = bot_replies(&fake, &fired);
    let note = replies[1].text.clone().unwrap_or_default();
    assert!(note.contains("Resolved after 14 min"), "{note}");
    assert!(bot.wait_idle(T).await);
    assert_eq!(rca_updates(&fake.posted()).len(), 1, "no new RCA");
    assert!(bot_replies(&fake, &resolved_ts).is_empty());

    // Alertmanager with `update_message: true` edits the alert message instead.
    let fired = ts_ago(14.0 * 60.0, 2);
    fake.send_event(am_alert("EditedAlert api", &fired, "firing"))
        .await;
    assert!(fake.wait_posted(|p| rca_updates(p).len() >= 2, T).await);
    let mut edited = am_alert("EditedAlert api", &fired, "resolved");
    edited.as_object_mut().map(|o| o.remove("channel"));
    fake.send_event(
        json!({"type": "message", "subtype": "message_changed", "channel": CH,
                           "hidden": true, "ts": ts_ago(0.0, 3), "message": edited}),
    )
    .await;
    assert!(
        fake.wait_until(T, || bot_replies(&fake, &fired).len() >= 2)
            .await,
        "a note after the edit"
    );
    let note = bot_replies(&fake, &fired)[1]
        .text
        .clone()
        .unwrap_or_default();
    assert!(note.contains("Resolved after 14 min"), "{note}");
    assert_eq!(rca_updates(&fake.posted()).len(), 2, "no new RCA");
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_duplicate_notice_can_be_silent() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let mut opts = Opts::default();
    opts.slack.duplicate_notice = sre_agent::config::DuplicateNotice::Silent;
    let bot = start_bot(&fake, opts).await;
    let first = ts_ago(120.0, 1);
    fake.send_event(am_alert("Refired api", &first, "firing"))
        .await;
    assert!(fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await);
    let again = ts_ago(60.0, 2);
    fake.send_event(am_alert("Refired api", &again, "firing"))
        .await;
    assert!(fake.wait_acks(2, T).await);
    assert!(bot.wait_idle(T).await);
    assert_eq!(Metrics::get(&bot.metrics().duplicates), 1);
    assert!(bot_replies(&fake, &again).is_empty(), "nothing posted");
    assert_eq!(fake.calls("chat.postMessage"), 1);
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_failed_update_is_retried_then_posted_anew_never_lost() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let bot = start_bot(&fake, Opts::default()).await;
    // Every attempt of the update fails (transient error, retried with backoff, then given up).
    fake.fail_next("chat.update", "internal_error", 4);
    let ts = ts_ago(60.0, 1);
    fake.send_event(am_alert("UpdateFails api", &ts, "firing"))
        .await;
    assert!(
        fake.wait_until(T, || bot_replies(&fake, &ts).len() >= 2)
            .await,
        "the RCA was posted as a new reply"
    );
    assert!(bot.wait_idle(T).await);
    let replies = bot_replies(&fake, &ts);
    assert!(has_action(&replies[1].blocks, "rca_rerun"));
    assert_eq!(fake.calls("chat.update"), 4, "retried");
    let m = bot.metrics();
    assert_eq!(Metrics::get(&m.replies_failed), 1);
    assert_eq!(m.slack_api_errors.get(&["chat.update", "transport"]), 1);
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_analysis_past_its_deadline_says_so_in_the_thread() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let mut opts = Opts::default();
    // Tools slower than the whole run (a hung backend with a generous tool timeout).
    opts.pipeline.run_deadline_secs = 1;
    opts.pipeline.tool_timeout_ms = 5_000;
    opts.signoz_delay = Some(Duration::from_millis(1500));
    let bot = start_bot(&fake, opts).await;
    let ts = ts_ago(60.0, 1);
    fake.send_event(am_alert("TooSlow api", &ts, "firing"))
        .await;
    assert!(fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await);
    let replies = bot_replies(&fake, &ts);
    assert_eq!(replies.len(), 1);
    let text = replies[0].text.clone().unwrap_or_default();
    assert!(text.contains("did not finish within 1 s"), "{text}");
    assert_eq!(bot.metrics().runs.total(), 1);
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_catches_up_on_unanswered_alerts_after_restart() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let mut unanswered = Vec::new();
    for i in 0..5 {
        let ts = fake.seed_history(
            CH,
            am_alert(
                &format!("Missed{i} api"),
                &ts_ago(600.0 - i as f64, i),
                "firing",
            ),
        );
        unanswered.push(ts);
    }
    let mut answered = Vec::new();
    for i in 0..2 {
        let ts = fake.seed_history(
            CH,
            am_alert(
                &format!("Answered{i} api"),
                &ts_ago(500.0, 10 + i),
                "firing",
            ),
        );
        fake.seed_history(
            CH,
            json!({"user": fake.bot_user_id(), "bot_id": fake.bot_id(), "text": "earlier RCA",
                   "thread_ts": ts, "ts": ts_ago(490.0, 20 + i)}),
        );
        answered.push(ts);
    }
    // Too old, and a person's message: both left alone.
    fake.seed_history(CH, am_alert("Ancient api", &ts_ago(7200.0, 30), "firing"));
    fake.seed_history(
        CH,
        json!({"user": "U0HUMAN", "text": "anyone looking?", "ts": ts_ago(400.0, 31)}),
    );

    let mut opts = Opts::default();
    opts.slack.channels = vec![CH.to_string()];
    opts.slack.catch_up_minutes = 30;
    let bot = start_bot(&fake, opts).await;
    assert!(fake.wait_posted(|p| rca_updates(p).len() >= 5, T).await);
    assert!(bot.wait_idle(T).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rca_updates(&fake.posted()).len(), 5);
    for ts in &unanswered {
        assert_eq!(bot_replies(&fake, ts).len(), 1, "analysed {ts}");
    }
    for ts in &answered {
        assert_eq!(bot_replies(&fake, ts).len(), 1, "untouched {ts}");
        assert!(!bot_replies(&fake, ts)[0].edited);
    }
    // An alert answered before the restart still gets its resolved note.
    fake.send_event(am_alert("Answered0 api", &ts_ago(10.0, 40), "resolved"))
        .await;
    let first = answered[0].clone();
    assert!(
        fake.wait_until(T, || bot_replies(&fake, &first).len() == 2)
            .await,
        "resolved note in the thread analysed before the restart"
    );
    let note = bot_replies(&fake, &first)[1]
        .text
        .clone()
        .unwrap_or_default();
    assert!(note.contains("Resolved after"), "{note}");
    assert_eq!(rca_updates(&fake.posted()).len(), 5, "no new RCA");
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_ops_endpoints_and_graceful_shutdown() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let opts = Opts {
        reasoner: Arc::new(Slow(Duration::from_millis(300))),
        ..Opts::default()
    };
    let bot = start_bot(&fake, opts).await;
    let ops = sre_agent::telemetry::serve_ops("127.0.0.1:0".parse().expect("addr"), bot.ops())
        .await
        .expect("ops server");
    let addr = ops.addr();
    assert!(eventually(T, || bot.is_ready()).await, "ready after hello");
    let (code, _) = http_get(addr, "/healthz").await;
    assert_eq!(code, 200);
    let (code, _) = http_get(addr, "/readyz").await;
    assert_eq!(code, 200);
    let ts = ts_ago(60.0, 1);
    fake.send_event(am_alert("Metrics api", &ts, "firing"))
        .await;
    assert!(fake.wait_acks(1, T).await);
    // Shut down while the (slow) analysis runs: it still finishes and is posted.
    let ops_state = bot.ops();
    assert!(bot.shutdown(Duration::from_secs(5)).await, "drained");
    assert!(!ops_state.ready());
    assert_eq!(rca_updates(&fake.posted()).len(), 1);
    let (code, body) = http_get(addr, "/metrics").await;
    assert_eq!(code, 200);
    for want in [
        "sre_agent_envelopes_received_total 1",
        "sre_agent_envelopes_acked_total 1",
        "sre_agent_run_duration_seconds_count 1",
        "sre_agent_runs_total{agent=",
        "sre_agent_queue_depth 0",
        "sre_agent_duplicates_total 0",
    ] {
        assert!(body.contains(want), "missing {want} in:\n{body}");
    }
    let (code, _) = http_get(addr, "/readyz").await;
    assert_eq!(code, 503);
    ops.stop().await;
}

/// Minimal HTTP/1.1 GET: (status, body).
async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).to_string();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_catch_up_without_allow_list_reads_the_channels_it_is_in() {
    let mut cfg = fast_fake();
    cfg.channel_names
        .insert(CH.to_string(), "alerts".to_string());
    let fake = FakeSlack::start_with(cfg).await;
    let ts = fake.seed_history(CH, am_alert("Missed api", &ts_ago(300.0, 1), "firing"));
    let mut opts = Opts::default();
    opts.slack.catch_up_minutes = 30;
    let bot = start_bot(&fake, opts).await;
    assert!(fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await);
    assert!(bot.wait_idle(T).await);
    assert!(fake.calls("users.conversations") >= 1);
    assert_eq!(
        fake.calls("conversations.list"),
        0,
        "not the whole workspace"
    );
    assert_eq!(bot_replies(&fake, &ts).len(), 1);
    bot.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bot_reconnects_after_the_socket_drops() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let bot = start_bot(&fake, Opts::default()).await;
    let before = fake.total_connections();
    fake.drop_connections().await;
    let ts = ts_ago(60.0, 1);
    fake.send_event(am_alert("AfterDrop api", &ts, "firing"))
        .await;
    assert!(
        fake.wait_posted(|p| !rca_updates(p).is_empty(), Duration::from_secs(20))
            .await,
        "the alert sent while disconnected is analysed after the reconnect"
    );
    assert!(fake.total_connections() > before);
    assert_eq!(bot_replies(&fake, &ts).len(), 1);
    // The dropped socket took readiness down until the new one said hello.
    assert!(Metrics::get(&bot.metrics().socket_errors) >= 1);
    assert!(eventually(T, || bot.is_ready()).await);
    bot.shutdown(Duration::from_secs(5)).await;
}
