//! The bot end to end with live evidence: a fake Slack (Socket Mode + Web API), a fake SigNoz and
//! a fake Kubernetes API server (plus the TLS/DNS fakes), all on 127.0.0.1. An alert arrives over
//! Socket Mode; the RCA posted in its thread cites what the live backends read over the wire
//! (pod restarts and the OOM kill from the API server, metric values from SigNoz; its logs are
//! queried too), and its footer names the live sources.

mod bot_common;
mod support;

use std::time::Duration;

use serde_json::Value;

use bot_common::*;
use support::fake_slack::FakeSlack;
use support::fake_tls::TestPki;
use support::live_stack::LiveStack;

/// Every text of a message's blocks, joined.
fn block_text(blocks: &Value) -> String {
    let mut out = String::new();
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    walk(blocks, &mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_alert_gets_an_rca_citing_live_evidence_with_the_sources_in_its_footer() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios/res-oom-leak");
    let pki = TestPki::new();
    let stack = LiveStack::start(&dir, &pki).await;
    let fake = FakeSlack::start_with(fast_fake()).await;
    let bot = start_bot(
        &fake,
        Opts {
            backends: Some(stack.backends()),
            ..Opts::default()
        },
    )
    .await;

    // The recorded Alertmanager message, posted now in the test channel.
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("alert.json")).expect("alert.json"))
            .expect("json");
    let ts = ts_ago(30.0, 1);
    event["channel"] = Value::String(CH.into());
    event["ts"] = Value::String(ts.clone());
    event["event_ts"] = Value::String(ts.clone());
    fake.send_event(event).await;
    assert!(
        fake.wait_posted(|p| !rca_updates(p).is_empty(), T).await,
        "an RCA arrives"
    );
    let update = rca_updates(&fake.posted())[0].clone();
    assert_eq!(update.channel, CH);
    let replies = bot_replies(&fake, &ts);
    assert_eq!(replies.len(), 1, "one reply, in the alert's thread");
    let text = block_text(&update.blocks);
    for cited in [
        "OOMKilled", // the container's last termination, from the API server
        "exit code 137",
        "2 restarts", // the alerting pod's own count, not the sum over its siblings
        "278 MiB → 991 MiB", // working set series, from SigNoz
        "54.4 → 56.1 req/s", // request rate, from SigNoz
        "Sources: live signoz, kubernetes, network",
    ] {
        assert!(text.contains(cited), "the reply cites {cited:?}:\n{text}");
    }
    // Over the wire: the fakes saw the bot's requests.
    assert!(!stack.signoz.requests().is_empty(), "SigNoz was queried");
    assert!(
        stack
            .signoz
            .query_bodies()
            .iter()
            .any(|b| b.to_string().contains("\"signal\":\"logs\"")),
        "SigNoz was asked for the logs"
    );
    assert!(
        stack
            .kube
            .requests()
            .iter()
            .any(|r| r.path.contains("/namespaces/prod/pods")),
        "the API server was asked for the pods"
    );
    assert!(bot.wait_idle(T).await);
    assert!(bot.shutdown(Duration::from_secs(5)).await);
}
