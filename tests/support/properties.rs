//! Properties of the input edges, shared by the proptest suite (`tests/properties.rs`), the
//! hostile input table (`tests/hostile_inputs.rs`), the fuzz regression test
//! (`tests/fuzz_regressions.rs`) and the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, which
//! include this file by path).
//!
//! Each property takes raw input, must not panic, and asserts what a person would meet:
//! - [`envelope`]: a Socket Mode frame decodes (its `events_api` payload as slack-morphism
//!   decodes it for the bot, else as raw JSON as the bot's fallback does) or is refused; an `events_api` message inside is classified and, when it is an alert, parsed into
//!   a bounded alert.
//! - [`alert_message`]: any text given to the alert parser parses or is refused with a short
//!   error; an alert's title and text are bounded.
//! - [`rendered`]: any `Rca` renders into Block Kit within Slack's limits, with no broadcast
//!   ping, user or channel mention, and a plain-text fallback within the message limit.
//! - [`config`]: any YAML given as `agents.yaml` loads or is refused with errors that name the
//!   problem; it never panics.
//!
//! Only `sre_agent`, `serde_json`, `slack_morphism` and `chrono` are used, so the fuzz crate can
//! compile this file as it is.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use serde_json::Value;
use slack_morphism::prelude::SlackPushEventCallback;
use sre_agent::alert::{Intake, parse_slack_json};
use sre_agent::config::{ConfigOrigin, LoadedConfig};
use sre_agent::rca::{
    Action, Confidence, Hypothesis, KeyMetric, Likelihood, LlmUsage, Rca, TimelineEntry,
};
use sre_agent::slack::blocks::{ReplyContext, limits, render_blocks};
use sre_agent::slack::ingest::{Classified, Identity, classify, envelope_for_parser};
use sre_agent::slack::text::render_text;
use sre_agent::tools::TOOL_NAMES;

/// Largest title or text an alert keeps (the parser cuts longer messages).
const ALERT_MAX: usize = 64 * 1024;

/// A Socket Mode frame, as the bot receives it.
pub fn envelope(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(frame) = serde_json::from_str::<Value>(body) else {
        return;
    };
    if frame.get("type").and_then(Value::as_str) != Some("events_api") {
        return;
    }
    let payload = frame.get("payload").cloned().unwrap_or(Value::Null);
    // The typed decoder slack-morphism's listener applies to an `events_api` payload; a payload
    // it cannot decode takes the bot's raw path (the event as JSON).
    let event = match serde_json::from_value::<SlackPushEventCallback>(payload.clone()) {
        Ok(typed) => serde_json::to_value(&typed.event).ok(),
        Err(_) => payload.get("event").cloned(),
    };
    let Some(event) = event else {
        return;
    };
    let me = Identity {
        user_id: "U0BOT".into(),
        bot_id: "B0BOT".into(),
        team_url: "https://acme.slack.com/".into(),
    };
    let hint = event.get("channel").and_then(Value::as_str);
    match classify(&event, hint, &me, &[]) {
        Classified::Alert(msg) | Classified::Edited(msg) => {
            let wrapped = envelope_for_parser(&msg, Some("Ev0FUZZ"));
            alert_message(wrapped.to_string().as_bytes());
        }
        Classified::Skip(skip) => assert!(!skip.label().is_empty()),
    }
}

/// Any text given to the alert parser.
pub fn alert_message(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match parse_slack_json(&text) {
        Ok(Intake::Alert(alert)) => {
            assert!(
                alert.title.len() <= ALERT_MAX,
                "title {}",
                alert.title.len()
            );
            assert!(alert.text.len() <= ALERT_MAX, "text {}", alert.text.len());
            assert!(!alert.fingerprint.is_empty(), "an alert has a fingerprint");
            assert!(!alert.title.contains('\0') || alert.title.len() <= ALERT_MAX);
        }
        Ok(Intake::Ignored(ignored)) => {
            assert!(!format!("{:?}", ignored.reason).is_empty());
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty() && msg.len() < 2000, "error: {msg:.300}");
        }
    }
}

/// Any YAML given as `agents.yaml`.
pub fn config(data: &[u8]) {
    let yaml = String::from_utf8_lossy(data);
    if let Err(e) = LoadedConfig::from_yaml_str(&yaml, ConfigOrigin::Embedded, TOOL_NAMES) {
        assert!(!e.to_string().is_empty(), "a refused config says why");
    }
}

/// An `Rca` rendered for Slack, blocks and fallback text, with `title` as the alert's title.
pub fn rendered(rca: &Rca, title: &str, service: Option<&str>, target: Option<&str>) {
    let ctx = ReplyContext {
        alert_title: title,
        service,
        agent: "kubernetes",
        elapsed_ms: 1234,
        fingerprint: Some("fp0"),
        sources: &[],
        target,
    };
    let blocks = render_blocks(rca, &ctx);
    let text = render_text(rca, &ctx);
    check_reply("rendered", &blocks, &text);
}

/// Every string inside a JSON value.
pub fn texts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| texts(x, out)),
        Value::Object(m) => m.values().for_each(|x| texts(x, out)),
        _ => {}
    }
}

/// A reply as Slack would receive it: within Block Kit's limits, no broadcast ping, no user,
/// group or channel mention, no link the content forged.
pub fn check_reply(name: &str, blocks: &[Value], text: &str) {
    let n = |s: &str| s.encode_utf16().count();
    assert!(
        !blocks.is_empty() && blocks.len() <= limits::MAX_BLOCKS,
        "{name}: {} blocks",
        blocks.len()
    );
    for b in blocks {
        match b["type"].as_str() {
            Some("header") => assert!(
                n(b["text"]["text"].as_str().unwrap_or("")) <= limits::HEADER_TEXT,
                "{name}: header"
            ),
            Some("section") => {
                if let Some(t) = b["text"]["text"].as_str() {
                    assert!(n(t) <= limits::SECTION_TEXT, "{name}: section of {}", n(t));
                }
                if let Some(f) = b["fields"].as_array() {
                    assert!(f.len() <= limits::SECTION_FIELDS, "{name}: fields");
                    for field in f {
                        let t = field["text"].as_str().unwrap_or("");
                        assert!(n(t) <= limits::FIELD_TEXT, "{name}: field of {}", n(t));
                    }
                }
            }
            Some("context") => {
                let elements = b["elements"].as_array();
                assert!(
                    elements.is_some_and(|e| e.len() <= limits::CONTEXT_ELEMENTS),
                    "{name}: context elements"
                );
                for e in elements.into_iter().flatten() {
                    let t = e["text"].as_str().unwrap_or("");
                    assert!(n(t) <= limits::CONTEXT_TEXT, "{name}: context of {}", n(t));
                }
            }
            Some("actions") => {
                for e in b["elements"].as_array().into_iter().flatten() {
                    let v = e["value"].as_str().unwrap_or("");
                    assert!(n(v) <= limits::BUTTON_VALUE, "{name}: button value");
                }
            }
            _ => {}
        }
    }
    assert!(n(text) <= limits::MESSAGE_TEXT, "{name}: message text");
    let mut all = Vec::new();
    for b in blocks {
        texts(b, &mut all);
    }
    all.push(text.to_string());
    for t in &all {
        for ping in ["<!channel", "<!here", "<!everyone", "<!subteam", "<@", "<#"] {
            assert!(
                !t.contains(ping),
                "{name}: the reply would ping or mention: {ping} in {t:.200}"
            );
        }
    }
}

/// An `Rca` made from raw bytes (for the fuzzer): the input is cut into strings at `0xFF`
/// bytes, which fill the fields in turn; list lengths and the confidence come from the bytes
/// too, so the fuzzer can reach empty, huge, hostile and non-ASCII content in every field.
pub fn rca_from_bytes(data: &[u8]) -> Rca {
    let mut parts = data
        .split(|b| *b == 0xFF)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect::<Vec<_>>()
        .into_iter()
        .cycle();
    let seed = data.first().copied().unwrap_or(0) as usize;
    let mut next = move || parts.next().unwrap_or_default();
    let count = |k: usize| (seed >> k) % 4 * if seed.is_multiple_of(7) { 40 } else { 1 };
    let at = |i: usize| {
        DateTime::<Utc>::from_timestamp(1_700_000_000 + (seed * 37 + i) as i64 * 61, 0)
            .unwrap_or_default()
    };
    Rca {
        summary: next(),
        root_cause: next(),
        hypotheses: (0..count(0))
            .map(|i| Hypothesis {
                cause: next(),
                evidence_for: (0..count(1)).map(|_| next()).collect(),
                evidence_against: (0..count(2)).map(|_| next()).collect(),
                likelihood: [Likelihood::Low, Likelihood::Medium, Likelihood::High][i % 3],
            })
            .collect(),
        timeline: (0..count(3))
            .map(|i| TimelineEntry {
                at: at(i),
                event: next(),
            })
            .collect(),
        actions: (0..count(4))
            .map(|i| Action {
                title: next(),
                command: (i % 2 == 0).then(&mut next),
            })
            .collect(),
        prevention: (0..count(5)).map(|_| next()).collect(),
        metrics: (0..count(6))
            .map(|_| KeyMetric {
                name: next(),
                value: next(),
            })
            .collect(),
        missing_evidence: (0..count(1)).map(|_| next()).collect(),
        confidence: Confidence::new(seed as f64 / 200.0),
        reasoner: next(),
        unsupported: (0..count(2)).map(|_| next()).collect(),
        usage: seed.is_multiple_of(3).then(|| LlmUsage {
            model: next(),
            prompt_tokens: seed as u64 * 1000,
            completion_tokens: seed as u64 * 10,
            requests: 2,
            tool_calls: (seed % 5) as u32,
            llm_ms: seed as u64 * 100,
            request_bytes: 4096,
            cost_usd: Some(seed as f64 / 1e4),
        }),
    }
}
