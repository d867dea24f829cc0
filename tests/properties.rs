//! Property tests of the input edges, the fast twin of the cargo-fuzz targets (`fuzz/`): the
//! same properties (`support::properties`) over generated input, a few hundred cases each, in
//! `cargo test`.
//!
//! - Socket Mode frames: arbitrary bytes, and well-formed `events_api` envelopes around
//!   generated messages (text, attachments with many fields, Block Kit), decode or are refused.
//! - The alert parser: the same messages, and arbitrary text, parse into a bounded alert, are
//!   ignored with a reason, or are refused with a short error.
//! - The Block Kit renderer: any `Rca` (hostile markup, mentions, huge lists, any Unicode)
//!   renders within Slack's limits without a ping.
//! - The config loader: arbitrary YAML, and `agents.yaml` with one value replaced by arbitrary
//!   YAML, loads or is refused with a message.

mod support;

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Value, json};
use sre_agent::config::EMBEDDED_AGENTS_YAML;
use sre_agent::rca::{Action, Confidence, Hypothesis, KeyMetric, Likelihood, Rca, TimelineEntry};
use support::properties;

/// Short text a hostile or careless sender writes: Slack markup, mentions, control and wide
/// characters, entities.
fn short_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,80}",
        vec(
            prop_oneof![
                Just("<!channel>".to_string()),
                Just("<!here|here>".to_string()),
                Just("<@U0ADMIN>".to_string()),
                Just("<#C0SECRET|secret>".to_string()),
                Just("<!subteam^S123>".to_string()),
                Just("<https://evil.example/x|click>".to_string()),
                Just("&lt;&amp;&gt;".to_string()),
                Just("*bold* _it_ ~s~ `code` ```block```".to_string()),
                Just("\u{202E}\u{200B}\u{0000}\u{FEFF}".to_string()),
                Just("🔥🧪👩‍👩‍👧‍👦".to_string()),
                Just("[FIRING:3] KubePodCrashLooping".to_string()),
                Just("namespace=prod pod=api-7d9c8b7f5-x2x9q".to_string()),
                Just("password=hunter2 token=xoxb-1-2-3".to_string()),
                "[a-z0-9._-]{1,40}",
                "\\PC{0,30}",
            ],
            0..8
        )
        .prop_map(|parts| parts.join(" ")),
    ]
}

/// [`short_text`], or a long line (up to 32 KiB) made of a repeated piece.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => short_text(),
        1 => ("[ -~]{1,16}", 100usize..2000).prop_map(|(s, n)| s.repeat(n)),
    ]
}

fn field() -> impl Strategy<Value = Value> {
    (short_text(), short_text(), any::<bool>())
        .prop_map(|(t, v, short)| json!({"title": t, "value": v, "short": short}))
}

fn attachment() -> impl Strategy<Value = Value> {
    (
        hostile_text(),
        hostile_text(),
        prop_oneof![vec(field(), 0..8), vec(field(), 900..1000)],
        prop_oneof![Just("danger"), Just("good"), Just("#36a64f"), Just("")],
    )
        .prop_map(|(title, text, fields, color)| {
            json!({"title": title, "text": text, "fields": fields, "color": color,
                   "fallback": "fallback", "mrkdwn_in": ["text"]})
        })
}

fn block() -> impl Strategy<Value = Value> {
    prop_oneof![
        hostile_text().prop_map(|t| json!({"type": "section", "text": {"type": "mrkdwn", "text": t}})),
        hostile_text().prop_map(|t| json!({"type": "header", "text": {"type": "plain_text", "text": t}})),
        vec(hostile_text(), 0..5).prop_map(|ts| json!({"type": "context",
            "elements": ts.into_iter().map(|t| json!({"type": "mrkdwn", "text": t})).collect::<Vec<_>>()})),
        Just(json!({"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [{"type": "broadcast", "range": "channel"}]}]})),
        Just(json!({"type": "unknown_block", "x": {"y": [1, 2, {"z": null}]}})),
    ]
}

/// A Slack message event as an integration might post it.
fn message() -> impl Strategy<Value = Value> {
    (
        hostile_text(),
        vec(attachment(), 0..3),
        vec(block(), 0..4),
        prop_oneof![
            Just(Some("bot_message")),
            Just(None),
            Just(Some("message_changed"))
        ],
        prop_oneof![
            Just("Alertmanager"),
            Just("Grafana"),
            Just("Datadog"),
            Just("SigNoz"),
            Just("random-bot")
        ],
    )
        .prop_map(|(text, attachments, blocks, subtype, username)| {
            let mut m = json!({"type": "message", "channel": "C0ALERTS", "ts": "1764000000.000100",
                               "text": text, "username": username, "bot_id": "B0INTEGRATION"});
            if let Some(s) = subtype {
                m["subtype"] = json!(s);
            }
            if subtype == Some("message_changed") {
                m["message"] = json!({"type": "message", "text": m["text"].clone(),
                                      "bot_id": "B0INTEGRATION", "ts": "1764000000.000100"});
            }
            if !attachments.is_empty() {
                m["attachments"] = json!(attachments);
            }
            if !blocks.is_empty() {
                m["blocks"] = json!(blocks);
            }
            m
        })
}

/// A Socket Mode `events_api` frame around a message, as Slack sends it.
fn frame(message: Value) -> String {
    json!({
        "envelope_id": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
        "type": "events_api",
        "accepts_response_payload": false,
        "retry_attempt": 0,
        "retry_reason": "",
        "payload": {
            "token": "x", "team_id": "T0TEAM", "api_app_id": "A0APP",
            "type": "event_callback", "event_id": "Ev0PROP", "event_time": 1764000000,
            "event": message
        }
    })
    .to_string()
}

fn likelihood() -> impl Strategy<Value = Likelihood> {
    prop_oneof![
        Just(Likelihood::Low),
        Just(Likelihood::Medium),
        Just(Likelihood::High)
    ]
}

fn rca() -> impl Strategy<Value = Rca> {
    let lists = |n| vec(hostile_text(), 0..n);
    (
        (hostile_text(), hostile_text(), hostile_text()),
        vec(
            (hostile_text(), lists(4), lists(4), likelihood()).prop_map(|(c, f, a, l)| {
                Hypothesis {
                    cause: c,
                    evidence_for: f,
                    evidence_against: a,
                    likelihood: l,
                }
            }),
            0..8,
        ),
        vec(
            (0i64..2_000_000_000, hostile_text()).prop_map(|(t, e)| TimelineEntry {
                at: chrono::DateTime::from_timestamp(t, 0).unwrap_or_default(),
                event: e,
            }),
            0..30,
        ),
        vec(
            (hostile_text(), proptest::option::of(hostile_text()))
                .prop_map(|(title, command)| Action { title, command }),
            0..20,
        ),
        (
            lists(10),
            vec(
                (hostile_text(), hostile_text())
                    .prop_map(|(name, value)| KeyMetric { name, value }),
                0..40,
            ),
            lists(10),
            lists(12),
            any::<f64>(),
        ),
    )
        .prop_map(
            |(
                (summary, root_cause, reasoner),
                hypotheses,
                timeline,
                actions,
                (prevention, metrics, missing_evidence, unsupported, confidence),
            )| Rca {
                summary,
                root_cause,
                hypotheses,
                timeline,
                actions,
                prevention,
                metrics,
                missing_evidence,
                confidence: Confidence::new(confidence),
                reasoner,
                unsupported,
                usage: None,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_as_a_socket_mode_frame(data in vec(any::<u8>(), 0..2048)) {
        properties::envelope(&data);
    }

    #[test]
    fn any_message_in_a_socket_mode_frame(m in message()) {
        properties::envelope(frame(m).as_bytes());
    }

    #[test]
    fn any_message_given_to_the_alert_parser(m in message()) {
        properties::alert_message(m.to_string().as_bytes());
    }

    #[test]
    fn any_text_given_to_the_alert_parser(text in hostile_text()) {
        properties::alert_message(text.as_bytes());
        properties::alert_message(json!({"type": "message", "text": text}).to_string().as_bytes());
    }

    #[test]
    fn any_rca_renders_within_slack_limits_without_a_ping(
        rca in rca(),
        title in hostile_text(),
        service in proptest::option::of(hostile_text()),
        target in proptest::option::of(hostile_text()),
    ) {
        properties::rendered(&rca, &title, service.as_deref(), target.as_deref());
    }

    #[test]
    fn any_bytes_as_an_rca_render_within_limits(data in vec(any::<u8>(), 0..4096)) {
        let rca = properties::rca_from_bytes(&data);
        properties::rendered(&rca, "t", None, None);
    }

    #[test]
    fn any_yaml_as_the_config(yaml in hostile_text()) {
        properties::config(yaml.as_bytes());
    }

    #[test]
    fn the_shipped_config_with_one_line_replaced(line in 0usize..400, with in hostile_text()) {
        let lines: Vec<&str> = EMBEDDED_AGENTS_YAML.lines().collect();
        let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        if !edited.is_empty() {
            let i = line % edited.len();
            let indent: String = edited[i].chars().take_while(|c| *c == ' ').collect();
            let key = edited[i].trim_start().split(':').next().unwrap_or("").to_string();
            edited[i] = format!("{indent}{key}: {with}");
        }
        properties::config(edited.join("\n").as_bytes());
    }
}

/// Nesting deeper than serde_json's recursion limit is refused, not a stack overflow.
#[test]
fn deeply_nested_frames_are_refused() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    properties::envelope(deep.as_bytes());
    properties::alert_message(deep.as_bytes());
    let deep_yaml = format!("{}x", "- ".repeat(20_000));
    properties::config(deep_yaml.as_bytes());
}
