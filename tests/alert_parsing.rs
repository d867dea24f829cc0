//! Integration tests for alert intake: the real message shapes from `reference/slack.md` A4, the
//! seed texts, edits/replies/deletions, hostile input, and fingerprint stability.

use sre_agent::alert::sources::text_alert;
use sre_agent::alert::{
    Alert, AlertSource, AlertStatus, IgnoreReason, Intake, LinkKind, MAX_ALERT_BYTES, Origin,
    ParseError, parse_slack_json, parse_slack_json_with,
};
use sre_agent::config::{ConfigOrigin, LoadedConfig};
use sre_agent::tools::TOOL_NAMES;

const AM_ENVELOPE: &str = r##"{"envelope_id":"0e1f…","type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":"",
 "payload":{"team_id":"T111","api_app_id":"A111","type":"event_callback","event_id":"Ev0AM1","event_time":1760000000,
  "event":{"type":"message","subtype":"bot_message","bot_id":"B0AM","username":"Alertmanager","text":"",
   "channel":"C0ALERTS","channel_type":"channel","ts":"1760000000.000100","event_ts":"1760000000.000100",
   "attachments":[{"id":1,"color":"danger","fallback":"[FIRING:1] HighErrorRate api (prod critical) | http://am:9093/#/alerts?receiver=slack",
    "title":"[FIRING:1] HighErrorRate api (prod critical)","title_link":"http://am:9093/#/alerts?receiver=slack",
    "text":"*Summary:* 5xx > 5% on api\n*Description:* error ratio 0.12 for 10m","mrkdwn_in":["fallback","pretext","text"]}]}}}"##;

const GRAFANA_EVENT: &str = r##"{"type":"message","user":"U0GRAF","bot_id":"B0GRAF","app_id":"A0GRAF","bot_profile":{"id":"B0GRAF","name":"Grafana"},
 "text":"","channel":"C0ALERTS","ts":"1760000100.000200","event_ts":"1760000100.000200",
 "attachments":[{"id":1,"color":"#D63232","title":"[FIRING:1] DiskFull (node-3)","title_link":"https://grafana/alerting/grafana/abc/view",
  "fallback":"[FIRING:1] DiskFull (node-3)","footer":"Grafana v11.2.0","ts":1760000100,
  "text":"**Firing**\n\nValue: A=97.1\nLabels:\n - alertname = DiskFull\nAnnotations:\n - summary = / is 97% full\nSource: https://grafana/…"}]}"##;

const SIGNOZ_EVENT: &str = r##"{"type":"message","subtype":"bot_message","bot_id":"B0SNZ","username":"Alertmanager","text":"","channel":"C0ALERTS","ts":"1760000200.000300",
 "attachments":[{"id":1,"color":"danger","title":"[FIRING:1] checkout latency p99 for checkout (severity=\"critical\")",
  "text":"*Alert:* checkout latency p99 - critical\n\n *Summary:* p99 > 2s\n *Description:* p99 2.7s over 5m\n *RelatedTraces:* View in <https://signoz/traces?…|traces explorer>\n\n *Details:*\n • *service_name:* checkout\n • *severity:* critical"}]}"##;

const DATADOG_EVENT: &str = r##"{"type":"message","user":"U0DD","bot_id":"B0DD","app_id":"A0DDAPP","text":"","channel":"C0ALERTS","ts":"1760000300.000400",
 "attachments":[{"id":1,"color":"#e01e5a","title":"[Triggered on {host:web-1}] High CPU on web","title_link":"https://app.datadoghq.com/monitors/123",
  "text":"CPU > 90% for 5m @slack-alerts\nValue: 96.2"}]}"##;

fn alert(json: &str) -> Alert {
    match parse_slack_json(json).expect("parses") {
        Intake::Alert(a) => *a,
        Intake::Ignored(i) => panic!("expected an alert, got {i:?}"),
    }
}

fn ignored(json: &str) -> IgnoreReason {
    match parse_slack_json(json).expect("parses") {
        Intake::Ignored(i) => i.reason,
        Intake::Alert(a) => panic!("expected ignored, got {a:?}"),
    }
}

/// The alert's links as (kind, url).
fn links(a: &Alert) -> Vec<(LinkKind, &str)> {
    a.links.iter().map(|l| (l.kind, l.url.as_str())).collect()
}

fn label<'a>(a: &'a Alert, k: &str) -> Option<&'a str> {
    a.labels.get(k).map(String::as_str)
}

#[test]
fn alertmanager_socket_mode_envelope() {
    let a = alert(AM_ENVELOPE);
    assert_eq!(a.source, AlertSource::Alertmanager);
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(a.origin, Origin::Integration);
    assert_eq!(a.title, "HighErrorRate api (prod critical)");
    assert_eq!(
        a.text,
        "*Summary:* 5xx > 5% on api\n*Description:* error ratio 0.12 for 10m"
    );
    assert_eq!(a.service.as_deref(), Some("api"));
    // No namespace label: the environment word stands in for it.
    assert_eq!(a.namespace.as_deref(), Some("prod"));
    assert_eq!(a.severity.as_deref(), Some("critical"));
    assert_eq!(a.host, None);
    assert_eq!(label(&a, "alertname"), Some("HighErrorRate"));
    assert_eq!(label(&a, "env"), Some("prod"));
    assert_eq!(
        links(&a),
        vec![(LinkKind::Source, "http://am:9093/#/alerts?receiver=slack")]
    );
    assert_eq!(a.slack.channel.as_deref(), Some("C0ALERTS"));
    assert_eq!(a.slack.ts.as_deref(), Some("1760000000.000100"));
    assert_eq!(a.slack.event_id.as_deref(), Some("Ev0AM1"));
    assert_eq!(a.slack.envelope_id.as_deref(), Some("0e1f…"));
    assert_eq!(a.slack.retry_attempt, 0);
    assert_eq!(a.slack.bot_id.as_deref(), Some("B0AM"));
    assert_eq!(a.slack.user, None);
    assert_eq!(a.fired_at.map(|t| t.timestamp()), Some(1_760_000_000));
    assert!(!a.truncated);
    assert_eq!(a.fingerprint.len(), 16);
}

#[test]
fn grafana_bot_token_event() {
    let a = alert(GRAFANA_EVENT);
    assert_eq!(a.source, AlertSource::Grafana);
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(a.origin, Origin::Integration);
    assert_eq!(a.title, "DiskFull (node-3)");
    assert!(a.text.starts_with("**Firing**"), "{}", a.text);
    assert!(a.text.ends_with("Grafana v11.2.0"), "{}", a.text);
    assert_eq!(label(&a, "alertname"), Some("DiskFull"));
    // `node-3` is a positional title value: which label it was is unknown, so it is a target
    // hint without a key, not a `node` label.
    assert_eq!(label(&a, "node"), None);
    assert!(
        a.target_hints
            .iter()
            .any(|h| h.value == "node-3" && h.key.is_none())
    );
    assert!(!a.labels.contains_key("summary"));
    assert_eq!(a.service, None);
    assert_eq!(a.namespace, None);
    assert_eq!(a.severity, None);
    assert_eq!(a.host, None);
    assert_eq!(
        links(&a),
        vec![
            (
                LinkKind::Source,
                "https://grafana/alerting/grafana/abc/view"
            ),
            (LinkKind::Source, "https://grafana/…")
        ]
    );
    assert_eq!(a.slack.user.as_deref(), Some("U0GRAF"));
    assert_eq!(a.slack.bot_id.as_deref(), Some("B0GRAF"));
    assert_eq!(a.fired_at.map(|t| t.timestamp()), Some(1_760_000_100));
}

#[test]
fn signoz_webhook_event() {
    let a = alert(SIGNOZ_EVENT);
    assert_eq!(a.source, AlertSource::Signoz);
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(
        a.title,
        "checkout latency p99 for checkout (severity=\"critical\")"
    );
    assert_eq!(a.service.as_deref(), Some("checkout"));
    assert_eq!(a.namespace, None);
    assert_eq!(a.severity.as_deref(), Some("critical"));
    assert_eq!(label(&a, "service_name"), Some("checkout"));
    assert_eq!(label(&a, "severity"), Some("critical"));
    assert_eq!(label(&a, "alertname"), Some("checkout latency p99"));
    assert!(a.text.contains("*Summary:* p99 > 2s"));
    assert!(
        a.text
            .contains("*RelatedTraces:* View in traces explorer (https://signoz/traces?…)")
    );
    assert_eq!(
        links(&a),
        vec![(LinkKind::Traces, "https://signoz/traces?…")]
    );
    assert_eq!(a.host, None);
}

#[test]
fn datadog_app_event() {
    let a = alert(DATADOG_EVENT);
    assert_eq!(a.source, AlertSource::Datadog);
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(a.origin, Origin::Integration);
    assert_eq!(a.title, "High CPU on web");
    assert_eq!(a.host.as_deref(), Some("web-1"));
    assert_eq!(a.service.as_deref(), Some("web"));
    assert_eq!(a.namespace, None);
    assert_eq!(a.severity, None);
    assert_eq!(label(&a, "host"), Some("web-1"));
    assert_eq!(label(&a, "scope"), Some("host:web-1"));
    assert_eq!(
        links(&a),
        vec![(LinkKind::Source, "https://app.datadoghq.com/monitors/123")]
    );
    assert_eq!(a.text, "CPU > 90% for 5m @slack-alerts\nValue: 96.2");
}

#[test]
fn datadog_tags_and_recovery() {
    let json = r#"{"type":"message","bot_id":"B0DD","bot_profile":{"name":"Datadog"},"text":"","ts":"1.1",
      "attachments":[{"title":"[Recovered] Error rate on checkout","text":"Errors back to normal\nservice:checkout env:prod kube_namespace:prod"}]}"#;
    let a = alert(json);
    assert_eq!(a.source, AlertSource::Datadog);
    assert_eq!(a.status, AlertStatus::Resolved);
    assert_eq!(a.title, "Error rate on checkout");
    assert_eq!(a.service.as_deref(), Some("checkout"));
    assert_eq!(a.namespace.as_deref(), Some("prod"));
    assert_eq!(label(&a, "env"), Some("prod"));
    let warn = alert(&json.replace("[Recovered]", "[Warn]"));
    assert_eq!(warn.status, AlertStatus::Firing);
    assert_eq!(warn.severity.as_deref(), Some("warning"));
    assert_eq!(warn.fingerprint, a.fingerprint);
}

#[test]
fn a_sender_mapped_in_agents_yaml_needs_no_guessing() {
    let yaml = "default_agent: a\nagents: [{name: a, description: a, prompt: prompts/network.md}]\n\
                sources:\n  - {bot_id: B0SNZ, source: alertmanager}\n  - {app_id: A0DDAPP, source: grafana}\n";
    let config = LoadedConfig::from_yaml_str(yaml, ConfigOrigin::Embedded, TOOL_NAMES)
        .expect("valid config");
    let sources = config.config.source_map();
    let read = |json: &str| match parse_slack_json_with(json, &sources).expect("parses") {
        Intake::Alert(a) => *a,
        Intake::Ignored(i) => panic!("{i:?}"),
    };
    // SigNoz's own markers, but the configured bot is an Alertmanager.
    assert_eq!(alert(SIGNOZ_EVENT).source, AlertSource::Signoz);
    assert_eq!(read(SIGNOZ_EVENT).source, AlertSource::Alertmanager);
    // Datadog's wording and link, but the configured app is a Grafana.
    assert_eq!(read(DATADOG_EVENT).source, AlertSource::Grafana);
    // Unmapped senders are still read by name and markers.
    assert_eq!(read(AM_ENVELOPE).source, AlertSource::Alertmanager);
}

#[test]
fn seed_texts() {
    let pool = text_alert("Database connection pool exhausted for user-service");
    assert_eq!(pool.source, AlertSource::Text);
    assert_eq!(pool.origin, Origin::Manual);
    assert_eq!(pool.status, AlertStatus::Firing);
    assert_eq!(
        pool.title,
        "Database connection pool exhausted for user-service"
    );
    assert_eq!(pool.service.as_deref(), Some("user-service"));
    assert_eq!(pool.host, None);

    let ssl = text_alert("SSL certificate for api.example.com expires in 24 hours");
    assert_eq!(ssl.host.as_deref(), Some("api.example.com"));
    assert_eq!(ssl.service, None);

    let disk = text_alert("Disk usage on node-3 at 97%");
    assert_eq!(label(&disk, "node"), Some("node-3"));
}

#[test]
fn seed_text_posted_by_a_person() {
    let a = alert(
        r#"{"type":"message","channel":"C1","user":"U222","ts":"1610241741.000200",
        "text":"Database connection pool exhausted for user-service"}"#,
    );
    assert_eq!(a.origin, Origin::Person);
    assert_eq!(a.source, AlertSource::Text);
    assert_eq!(a.service.as_deref(), Some("user-service"));
    assert_eq!(
        a.fingerprint,
        text_alert("Database connection pool exhausted for user-service").fingerprint
    );
}

fn resolved_am() -> String {
    AM_ENVELOPE
        .replace("[FIRING:1]", "[RESOLVED]")
        .replace("\"danger\"", "\"good\"")
        .replace("Ev0AM1", "Ev0AM2")
}

#[test]
fn resolved_alertmanager_message() {
    let firing = alert(AM_ENVELOPE);
    let resolved = alert(&resolved_am());
    assert_eq!(resolved.status, AlertStatus::Resolved);
    assert_eq!(resolved.source, AlertSource::Alertmanager);
    assert_eq!(resolved.title, firing.title);
    assert_eq!(resolved.fingerprint, firing.fingerprint);
}

#[test]
fn grafana_partial_resolution_is_firing() {
    let a = alert(&GRAFANA_EVENT.replace("[FIRING:1]", "[FIRING:2, RESOLVED:1]"));
    assert_eq!(a.status, AlertStatus::Firing);
    assert_eq!(a.title, "DiskFull (node-3)");
    let r = alert(
        &GRAFANA_EVENT
            .replace("[FIRING:1]", "[RESOLVED]")
            .replace("**Firing**", "**Resolved**"),
    );
    assert_eq!(r.status, AlertStatus::Resolved);
    assert_eq!(r.fingerprint, a.fingerprint);
}

#[test]
fn message_changed_to_resolved_is_an_alert() {
    let json = r#"{"type":"event_callback","event_id":"Ev9","event":{"type":"message","subtype":"message_changed","hidden":true,
      "channel":"C0ALERTS","ts":"1760000900.000100",
      "message":{"type":"message","subtype":"bot_message","bot_id":"B0AM","username":"Alertmanager","text":"","ts":"1760000000.000100",
        "attachments":[{"title":"[RESOLVED] HighErrorRate api (prod critical)","title_link":"http://am:9093/#/alerts?receiver=slack",
          "text":"*Summary:* 5xx > 5% on api\n*Description:* error ratio 0.12 for 10m"}]},
      "previous_message":{"type":"message","ts":"1760000000.000100","text":""}}}"#;
    // Alertmanager edits a message (`edit_messages`) by rendering the whole template again, so
    // the resolved version carries the same text as the firing one.
    let a = alert(json);
    assert_eq!(a.status, AlertStatus::Resolved);
    assert_eq!(a.slack.channel.as_deref(), Some("C0ALERTS"));
    assert_eq!(a.slack.ts.as_deref(), Some("1760000000.000100"));
    assert_eq!(a.slack.event_id.as_deref(), Some("Ev9"));
    assert_eq!(a.fingerprint, alert(AM_ENVELOPE).fingerprint);

    let still_firing = json.replace("[RESOLVED]", "[FIRING:2]");
    assert_eq!(ignored(&still_firing), IgnoreReason::Edit);
}

#[test]
fn thread_reply_is_ignored() {
    let json = r#"{"type":"message","channel":"C1","user":"U2","text":"looking into it",
      "ts":"1760000050.000100","thread_ts":"1760000000.000100","parent_user_id":"U0"}"#;
    assert_eq!(ignored(json), IgnoreReason::ThreadReply);
    // A thread's parent carries thread_ts == ts and is not a reply.
    let parent = json.replace("1760000050.000100", "1760000000.000100");
    assert_eq!(alert(&parent).title, "looking into it");
}

#[test]
fn deletion_is_ignored() {
    let json = r#"{"type":"message","subtype":"message_deleted","hidden":true,"channel":"C1",
      "ts":"1760000999.000100","deleted_ts":"1760000000.000100"}"#;
    assert_eq!(ignored(json), IgnoreReason::Deletion);
}

#[test]
fn reaction_event_is_not_a_message() {
    let json = r#"{"envelope_id":"e","type":"events_api","payload":{"type":"event_callback","event_id":"Ev3",
      "event":{"type":"reaction_added","user":"U1","reaction":"eyes","item":{"type":"message","channel":"C1","ts":"1.1"}}}}"#;
    assert_eq!(ignored(json), IgnoreReason::NotAMessage);
}

#[test]
fn garbage_inputs() {
    assert!(matches!(
        parse_slack_json("not json"),
        Err(ParseError::NotJson(_))
    ));
    assert!(matches!(parse_slack_json(""), Err(ParseError::NotJson(_))));
    for input in [
        "[]",
        "[1,2]",
        "{\"foo\":1}",
        "5",
        "null",
        "\"text\"",
        "{\"type\":5}",
    ] {
        match parse_slack_json(input) {
            Err(ParseError::NotSlackEvent(msg)) => assert!(!msg.is_empty(), "{input}"),
            other => panic!("{input}: expected NotSlackEvent, got {other:?}"),
        }
    }
    assert_eq!(ignored(r#"{"type":"message"}"#), IgnoreReason::Empty);
    assert_eq!(
        ignored(r#"{"type":"message","text":"","attachments":[{"color":"danger"}]}"#),
        IgnoreReason::Empty
    );
}

#[test]
fn odd_types_do_not_panic() {
    for json in [
        r#"{"type":"message","text":5,"attachments":5}"#,
        r#"{"type":"message","text":"x","attachments":[5,"a",null,{"title":7,"fields":"x"},{"fields":[1,{"title":2}]}]}"#,
        r#"{"type":"message","text":"x","blocks":{"a":1}}"#,
        r#"{"type":"message","text":"","blocks":[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":5}]}]}"#,
        r#"{"type":"message","text":"x","ts":5,"thread_ts":[],"channel":{},"user":1,"bot_id":true,"bot_profile":"x","subtype":3}"#,
        r#"{"type":"events_api","envelope_id":1,"retry_attempt":"x","payload":{"type":"event_callback","event_id":[],"event":{"type":"message","text":"x"}}}"#,
        r#"{"type":"message","text":"<<<<<<<<<>>>>>>&&&&amp;<|>< @ > <http://|> <@> <!>"}"#,
        r#"{"type":"message","text":"[", "attachments":[{"title":"[FIRING:","text":"Labels:\n - \n - = \n - a ="}]}"#,
    ] {
        let _ = parse_slack_json(json);
    }
    let deep = format!(
        "{}{}{}",
        r#"{"type":"message","text":"","blocks":[{"type":"rich_text","elements":"#,
        "[{\"type\":\"rich_text_section\",\"elements\":".repeat(60)
            + "[{\"type\":\"text\",\"text\":\"deep\"}]"
            + &"}]".repeat(60),
        "}]}"
    );
    match parse_slack_json(&deep) {
        Ok(_) | Err(ParseError::NotJson(_)) => {}
        Err(e) => panic!("{e}"),
    }
    // Nested deeper than serde_json's recursion limit is "not JSON", not a stack overflow.
    let too_deep = "[".repeat(100_000);
    assert!(matches!(
        parse_slack_json(&too_deep),
        Err(ParseError::NotJson(_))
    ));
}

#[test]
fn one_megabyte_message_is_truncated_fast() {
    let big = "Disk full on node-3 &amp; <https://x/y|z> ".repeat(1_000_000 / 40);
    let json = serde_json::json!({"type":"message","text": big, "ts":"1.1"}).to_string();
    let started = std::time::Instant::now();
    let a = alert(&json);
    assert!(a.truncated);
    assert!(a.text.len() <= MAX_ALERT_BYTES && a.title.chars().count() <= 200);
    assert!(
        started.elapsed().as_secs_f64() < 2.0,
        "{:?}",
        started.elapsed()
    );

    let attack = "<".repeat(1_000_000);
    let json = serde_json::json!({"type":"message","text": attack}).to_string();
    let started = std::time::Instant::now();
    let a = alert(&json);
    assert!(a.truncated);
    assert!(
        started.elapsed().as_secs_f64() < 2.0,
        "{:?}",
        started.elapsed()
    );

    let multibyte = "é".repeat(600_000);
    let a = alert(&serde_json::json!({"type":"message","text": multibyte}).to_string());
    assert!(a.truncated);
}

#[test]
fn fingerprint_stability() {
    let a = text_alert("[FIRING:3] Disk usage on node-3 at 97.1% since 2026-11-25T01:00:00Z");
    let b = text_alert("[RESOLVED] Disk usage on node-3 at 98% since 2026-11-25T02:13:07Z");
    assert_eq!(a.fingerprint, b.fingerprint);
    let c = text_alert("Disk usage on node-4 at 97%");
    assert_ne!(a.fingerprint, c.fingerprint);

    let pool = text_alert("Database connection pool exhausted for user-service");
    let other = text_alert("Database connection pool exhausted for order-service");
    assert_ne!(pool.fingerprint, other.fingerprint);

    let am = alert(AM_ENVELOPE);
    let refired = alert(
        &AM_ENVELOPE
            .replace("[FIRING:1]", "[FIRING:4]")
            .replace("0.12 for 10m", "0.31 for 25m")
            .replace("1760000000.000100", "1760003600.000100"),
    );
    assert_eq!(am.fingerprint, refired.fingerprint);
    let other_alert = alert(&AM_ENVELOPE.replace("HighErrorRate", "HighLatency"));
    assert_ne!(am.fingerprint, other_alert.fingerprint);

    let dd = alert(DATADOG_EVENT);
    let dd2 = alert(&DATADOG_EVENT.replace("host:web-1", "host:web-2"));
    assert_ne!(dd.fingerprint, dd2.fingerprint);
    let dd_recovered = alert(&DATADOG_EVENT.replace("Triggered", "Recovered"));
    assert_eq!(dd_recovered.status, AlertStatus::Resolved);
    assert_eq!(dd.fingerprint, dd_recovered.fingerprint);
}

#[test]
fn fixture_alerts_parse_if_present() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios");
    let Ok(entries) = std::fs::read_dir(&root) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path().join("alert.json");
        let Ok(json) = std::fs::read_to_string(&path) else {
            continue;
        };
        match parse_slack_json(&json) {
            Ok(Intake::Alert(a)) => {
                assert!(!a.title.is_empty(), "{}", path.display());
                assert_eq!(a.status, AlertStatus::Firing, "{}", path.display());
                assert_eq!(a.fingerprint.len(), 16);
                assert!(a.fired_at.is_some(), "{}", path.display());
            }
            other => panic!("{}: {other:?}", path.display()),
        }
    }
}

/// Every path of a JSON value (object keys and array indexes).
fn paths(v: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, child) in m {
                let p = format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                paths(child, &p, out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let p = format!("{prefix}/{i}");
                out.push(p.clone());
                paths(child, &p, out);
            }
        }
        _ => {}
    }
}

#[test]
fn any_field_of_any_type_never_panics() {
    let odd = [
        serde_json::json!(null),
        serde_json::json!(5),
        serde_json::json!(-1.5),
        serde_json::json!(true),
        serde_json::json!(""),
        serde_json::json!("<<&amp;[FIRING:1] (a=\"b\" é"),
        serde_json::json!([]),
        serde_json::json!({}),
        serde_json::json!([{"type": "text"}]),
    ];
    for example in [AM_ENVELOPE, GRAFANA_EVENT, SIGNOZ_EVENT, DATADOG_EVENT] {
        let base: serde_json::Value = serde_json::from_str(example).expect("example JSON");
        let mut all = Vec::new();
        paths(&base, "", &mut all);
        for path in &all {
            for value in &odd {
                let mut v = base.clone();
                if let Some(slot) = v.pointer_mut(path) {
                    *slot = value.clone();
                }
                let _ = sre_agent::alert::parse_slack_value(&v);
            }
        }
    }
}
