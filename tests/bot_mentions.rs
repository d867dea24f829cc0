//! `@sre-agent` mentions through the real Socket Mode protocol: a question at the top of a
//! channel is analysed and answered in its thread; a mention inside an alert's thread analyses
//! that alert; a redelivered mention is answered once; a bare mention gets a usage hint; a
//! person's message without a mention stays ignored.

mod bot_common;
mod support;

use std::time::Duration;

use serde_json::{Value, json};

use bot_common::*;
use support::fake_slack::FakeSlack;

fn mention(fake: &FakeSlack, text: &str, ts: &str, thread_ts: Option<&str>) -> Value {
    let mut ev = json!({
        "type": "app_mention", "user": "U0HUMAN", "channel": CH, "ts": ts, "event_ts": ts,
        "text": format!("<@{}> {text}", fake.bot_user_id()),
    });
    if let Some(t) = thread_ts {
        ev["thread_ts"] = json!(t);
    }
    ev
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_question_is_answered_in_its_thread_once() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let bot = start_bot(&fake, Opts::default()).await;
    let ts = ts_ago(10.0, 1);
    let ev = mention(
        &fake,
        "why are the invoice-sync pods restarting in namespace billing-3?",
        &ts,
        None,
    );
    // Slack redelivers with the same event id: one analysis.
    fake.send_event_with_id(ev.clone(), "Ev0MENTION1").await;
    fake.send_event_with_id(ev, "Ev0MENTION1").await;
    assert!(fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await);
    assert!(bot.wait_idle(T).await);
    let replies = bot_replies(&fake, &ts);
    assert_eq!(replies.len(), 1, "one answer, in the question's thread");
    assert_eq!(rca_updates(&fake.posted()).len(), 1);
    let text = replies[0].blocks.to_string();
    assert!(
        text.contains("invoice-sync"),
        "the question is what is analysed: {text}"
    );
    assert_eq!(
        sre_agent::slack::metrics::Metrics::get(&bot.metrics().mentions),
        1
    );
    assert!(bot.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mention_in_an_alert_thread_analyses_that_alert() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let bot = start_bot(&fake, Opts::default()).await;
    let alert_ts = fake.seed_history(
        CH,
        am_alert("KubeJobFailed billing", &ts_ago(300.0, 2), "firing"),
    );
    let ts = ts_ago(5.0, 3);
    fake.seed_history(
        CH,
        json!({"user": "U0HUMAN", "text": "anyone?", "thread_ts": alert_ts, "ts": ts_ago(60.0, 4)}),
    );
    fake.send_event(mention(&fake, "what happened here?", &ts, Some(&alert_ts)))
        .await;
    assert!(fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await);
    let posted = fake.posted();
    let update = &rca_updates(&posted)[0];
    assert_eq!(update.channel, CH);
    let replies = bot_replies(&fake, &alert_ts);
    assert_eq!(replies.len(), 1, "the RCA is in the alert's thread");
    let text = update.blocks.to_string();
    assert!(
        text.contains("KubeJobFailed"),
        "the alert is analysed: {text}"
    );
    assert!(bot.wait_idle(T).await);
    assert!(bot.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bare_mention_gets_a_hint_and_people_without_a_mention_are_ignored() {
    let fake = FakeSlack::start_with(fast_fake()).await;
    let bot = start_bot(&fake, Opts::default()).await;
    fake.send_event(mention(&fake, "", &ts_ago(3.0, 5), None))
        .await;
    assert!(fake.wait_until(T, || !fake.ephemerals().is_empty()).await);
    let hint = fake.ephemerals()[0].text.clone().unwrap_or_default();
    assert!(hint.contains("mention me in an alert's thread"), "{hint}");
    fake.send_event(json!({
        "type": "message", "user": "U0HUMAN", "channel": CH, "ts": ts_ago(2.0, 6),
        "text": "why is checkout slow?"
    }))
    .await;
    assert!(fake.wait_acks(2, T).await);
    assert!(bot.wait_idle(T).await);
    assert_eq!(fake.calls("chat.postMessage"), 0, "no analysis for either");
    assert!(bot.shutdown(Duration::from_secs(5)).await);
}
