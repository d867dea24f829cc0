//! Tests of the thread-reply renderers (`slack::blocks`, `slack::text`).
//!
//! - Golden JSON (`tests/golden/*.json`: the blocks and the `text` fallback), compared as
//!   `serde_json::Value`. Rewrite them with `UPDATE_GOLDEN=1 cargo test --test blocks`.
//! - Property-style checks over nasty inputs (huge strings, emoji, 200 actions, 30 metrics, empty
//!   strings, markdown and Slack control characters, and seeded random RCAs): every Slack limit,
//!   every code fence closed, every entity whole, `type` on every block, and the JSON read back
//!   by slack-morphism's typed model.
//! - The footer, the buttons, and the plain-text renderers.

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use slack_morphism::prelude::SlackBlock;
use sre_agent::rca::{Action, Confidence, Hypothesis, KeyMetric, Likelihood, Rca, TimelineEntry};
use sre_agent::slack::blocks::{
    ReplyContext, button_value, limits, render_blocks, render_terminal, render_text, slen, truncate,
};

// ---------------------------------------------------------------------------------------------
// Fixtures

fn full_rca() -> Rca {
    let at = |h, m, s| {
        Utc.with_ymd_and_hms(2026, 11, 24, h, m, s)
            .single()
            .unwrap_or_default()
    };
    Rca {
        summary: "api.example.com serves an expired TLS certificate; clients fail the handshake."
            .into(),
        root_cause: "The certificate for api.example.com expired at 2026-11-24T09:00:00Z. \
                     cert-manager could not renew it: the ACME HTTP-01 challenge returned 404 \
                     because ingress `api` routes /.well-known/* to <backend> & not the solver."
            .into(),
        hypotheses: vec![
            Hypothesis {
                cause: "Certificate expired".into(),
                evidence_for: vec!["notAfter 2026-11-24T09:00:00Z".into(), "x509 errors".into()],
                evidence_against: vec![],
                likelihood: Likelihood::High,
            },
            Hypothesis {
                cause: "DNS points to an old load balancer".into(),
                evidence_for: vec![],
                evidence_against: vec!["A record matches the ingress IP".into()],
                likelihood: Likelihood::Low,
            },
        ],
        timeline: vec![
            TimelineEntry {
                at: at(8, 30, 0),
                event: "cert-manager renewal failed (challenge 404)".into(),
            },
            TimelineEntry {
                at: at(9, 0, 0),
                event: "certificate expired".into(),
            },
            TimelineEntry {
                at: at(9, 1, 12),
                event: "5xx > 5% on api".into(),
            },
        ],
        actions: vec![
            Action {
                title: "Check the certificate's expiry".into(),
                command: Some(
                    "echo | openssl s_client -connect api.example.com:443 2>/dev/null | openssl x509 -noout -enddate"
                        .into(),
                ),
            },
            Action {
                title: "Renew it now".into(),
                command: Some("cmctl renew api-tls -n prod".into()),
            },
            Action {
                title: "Tell the API consumers".into(),
                command: None,
            },
        ],
        prevention: vec![
            "Alert 14 days before notAfter".into(),
            "Test the HTTP-01 path in CI".into(),
        ],
        metrics: vec![
            KeyMetric {
                name: "days_to_expiry".into(),
                value: "-0.1".into(),
            },
            KeyMetric {
                name: "5xx ratio".into(),
                value: "12%".into(),
            },
        ],
        missing_evidence: vec!["cert-manager controller logs".into()],
        confidence: Confidence::new(0.82),
        reasoner: "offline".into(),
        unsupported: Vec::new(),
        usage: None,
    }
}

fn empty_rca() -> Rca {
    Rca {
        summary: String::new(),
        root_cause: String::new(),
        hypotheses: vec![],
        timeline: vec![],
        actions: vec![],
        prevention: vec![],
        metrics: vec![],
        missing_evidence: vec![],
        confidence: Confidence::new(0.0),
        reasoner: String::new(),
        unsupported: Vec::new(),
        usage: None,
    }
}

fn ctx() -> ReplyContext<'static> {
    ReplyContext {
        alert_title: "[FIRING:1] SSLCertExpiring api.example.com (prod critical)",
        service: Some("api"),
        agent: "network",
        elapsed_ms: 2345,
        fingerprint: Some("3f2a9c0d5e7b1a4c"),
        sources: &[],
        target: None,
    }
}

fn empty_ctx() -> ReplyContext<'static> {
    ReplyContext {
        alert_title: "",
        service: None,
        agent: "",
        elapsed_ms: 0,
        fingerprint: None,
        sources: &[],
        target: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Golden files

fn check_golden(name: &str, actual: &Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        let mut pretty = serde_json::to_string_pretty(actual).expect("serialise golden");
        pretty.push('\n');
        std::fs::create_dir_all(path.parent().expect("golden dir")).expect("create golden dir");
        std::fs::write(&path, pretty).expect("write golden");
        return;
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `UPDATE_GOLDEN=1 cargo test --test blocks` to create it",
            path.display()
        )
    });
    let expected: Value = serde_json::from_str(&stored).expect("golden file is JSON");
    assert!(
        &expected == actual,
        "{} differs (UPDATE_GOLDEN=1 rewrites it)\n--- expected\n{}\n--- actual\n{}",
        path.display(),
        serde_json::to_string_pretty(&expected).unwrap_or_default(),
        serde_json::to_string_pretty(actual).unwrap_or_default(),
    );
}

fn message(rca: &Rca, ctx: &ReplyContext<'_>) -> Value {
    json!({ "blocks": render_blocks(rca, ctx), "text": render_text(rca, ctx) })
}

#[test]
fn golden_full_rca() {
    let msg = message(&full_rca(), &ctx());
    check_golden("rca_full.json", &msg);
    assert_valid(msg["blocks"].as_array().expect("blocks"));
}

#[test]
fn golden_empty_rca() {
    let msg = message(&empty_rca(), &empty_ctx());
    check_golden("rca_empty.json", &msg);
    assert_valid(msg["blocks"].as_array().expect("blocks"));
}

// ---------------------------------------------------------------------------------------------
// Validity

/// Every text string in a block (`text` of text objects, `fields`, context elements, buttons).
fn texts(block: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let (Some(Value::String(t)), Some(Value::String(ty))) =
                    (m.get("text"), m.get("type"))
                    && (ty == "mrkdwn" || ty == "plain_text")
                {
                    out.push(t.clone());
                }
                for v in m.values() {
                    walk(v, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(block, &mut out);
    out
}

fn assert_text_ok(t: &str) {
    assert!(!t.is_empty(), "empty text object");
    assert_eq!(
        t.matches("```").count() % 2,
        0,
        "unclosed code fence in {:?}",
        tail(t)
    );
    assert!(
        !t.contains('<') && !t.contains('>'),
        "unescaped < or > in {:?}",
        tail(t)
    );
    for (i, _) in t.match_indices('&') {
        let rest = &t[i..];
        assert!(
            rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;"),
            "broken entity in {:?}",
            tail(rest)
        );
    }
}

fn tail(s: &str) -> String {
    let n = s.chars().count();
    s.chars().skip(n.saturating_sub(80)).collect()
}

fn within(t: &str, max: usize, what: &str) {
    assert!(
        slen(t) <= max && t.chars().count() <= max,
        "{what}: {} UTF-16 units > {max}",
        slen(t)
    );
}

fn assert_valid(blocks: &[Value]) {
    assert!(
        !blocks.is_empty() && blocks.len() <= limits::MAX_BLOCKS,
        "{} blocks",
        blocks.len()
    );
    for b in blocks {
        let ty = b["type"]
            .as_str()
            .unwrap_or_else(|| panic!("block without type: {b}"));
        // Slack-morphism's typed model reads it back as a known block.
        let typed: SlackBlock = serde_json::from_value(b.clone()).expect("typed block");
        assert!(
            !matches!(typed, SlackBlock::Unknown(_)),
            "unknown block {b}"
        );
        for t in texts(b) {
            assert_text_ok(&t);
        }
        match ty {
            "header" => {
                assert_eq!(b["text"]["type"], "plain_text");
                within(
                    b["text"]["text"].as_str().expect("header text"),
                    limits::HEADER_TEXT,
                    "header",
                );
            }
            "section" => {
                let text = b["text"]["text"].as_str();
                if let Some(t) = text {
                    within(t, limits::SECTION_TEXT, "section text");
                }
                let fields = b["fields"].as_array();
                assert!(
                    text.is_some() || fields.is_some(),
                    "section without text or fields"
                );
                if let Some(fields) = fields {
                    assert!(!fields.is_empty() && fields.len() <= limits::SECTION_FIELDS);
                    for f in fields {
                        assert!(f["type"].is_string());
                        within(
                            f["text"].as_str().expect("field text"),
                            limits::FIELD_TEXT,
                            "field",
                        );
                    }
                }
            }
            "context" => {
                let els = b["elements"].as_array().expect("context elements");
                assert!(!els.is_empty() && els.len() <= limits::CONTEXT_ELEMENTS);
                for e in els {
                    within(
                        e["text"].as_str().expect("context text"),
                        limits::CONTEXT_TEXT,
                        "context",
                    );
                }
            }
            "actions" => {
                let els = b["elements"].as_array().expect("actions elements");
                assert!(!els.is_empty() && els.len() <= 25);
                for e in els {
                    assert_eq!(e["type"], "button");
                    assert!(e["action_id"].is_string());
                    within(
                        e["text"]["text"].as_str().expect("button text"),
                        75,
                        "button text",
                    );
                    let value = e["value"].as_str().expect("button value");
                    within(value, limits::BUTTON_VALUE, "button value");
                    serde_json::from_str::<Value>(value).expect("button value is JSON");
                }
            }
            "divider" => {}
            other => panic!("unexpected block type {other}"),
        }
    }
}

fn section_starting(blocks: &[Value], prefix: &str) -> Option<String> {
    blocks
        .iter()
        .filter(|b| b["type"] == "section")
        .filter_map(|b| b["text"]["text"].as_str())
        .find(|t| t.starts_with(prefix))
        .map(str::to_owned)
}

fn check_all(rca: &Rca, ctx: &ReplyContext<'_>) -> Vec<Value> {
    let blocks = render_blocks(rca, ctx);
    assert_valid(&blocks);
    let text = render_text(rca, ctx);
    within(&text, limits::MESSAGE_TEXT, "message text");
    for word in ["Root cause", "Confidence", "Response time"] {
        assert!(text.contains(word), "text lacks {word:?}");
    }
    blocks
}

// ---------------------------------------------------------------------------------------------
// Layout, footer, buttons

#[test]
fn layout_of_a_full_rca() {
    let blocks = render_blocks(&full_rca(), &ctx());
    let types: Vec<&str> = blocks.iter().filter_map(|b| b["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "header", "section", "section", "section", "section", "section", "section", "section",
            "section", "divider", "context", "actions"
        ]
    );
    assert_eq!(
        blocks[0]["text"]["text"],
        "🔍 RCA: [FIRING:1] SSLCertExpiring api.example.com (prod critical)"
    );
    let summary = blocks[1]["text"]["text"].as_str().expect("summary");
    assert!(summary.ends_with("\n*Service:* `api`"), "{summary}");
    let order = [
        "*🎯 Root cause*\n",
        "*🧪 Hypotheses*\n• *Certificate expired* (high)\n   for: notAfter 2026-11-24T09:00:00Z; x509 errors",
        "*📅 Timeline*\n• `08:30:00 UTC` cert-manager",
        "*⚡ Immediate actions*\n1. Check the certificate's expiry\n```echo | openssl",
        "*🛡️ Prevention*\n• Alert 14 days",
        "*📊 Key metrics*",
        "*🔎 Missing evidence*\n• cert-manager controller logs",
    ];
    for (i, prefix) in order.iter().enumerate() {
        let t = blocks[i + 2]["text"]["text"]
            .as_str()
            .expect("section text");
        assert!(t.starts_with(prefix), "block {}: {t:?}", i + 2);
    }
    let rc = blocks[2]["text"]["text"].as_str().expect("root cause");
    assert!(rc.contains("&lt;backend&gt; &amp; not"), "escaped: {rc}");
    let actions = blocks[5]["text"]["text"].as_str().expect("actions");
    assert!(actions.contains(
        "\n2. Renew it now\n```cmctl renew api-tls -n prod```\n3. Tell the API consumers"
    ));
    assert!(actions.contains("2&gt;/dev/null"));
    let hyp = blocks[3]["text"]["text"].as_str().expect("hypotheses");
    assert!(hyp.contains("\n• *DNS points to an old load balancer* (low)\n   against: A record"));
    assert!(!hyp.contains("for: \n"));
    assert_eq!(
        blocks[7]["fields"],
        json!([
            {"type": "mrkdwn", "text": "*days_to_expiry*\n-0.1"},
            {"type": "mrkdwn", "text": "*5xx ratio*\n12%"}
        ])
    );
}

#[test]
fn empty_rca_keeps_the_core_and_skips_empty_sections() {
    let blocks = check_all(&empty_rca(), &empty_ctx());
    let types: Vec<&str> = blocks.iter().filter_map(|b| b["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "header", "section", "section", "divider", "context", "actions"
        ]
    );
    assert_eq!(blocks[0]["text"]["text"], "🔍 RCA: (untitled alert)");
    assert_eq!(blocks[1]["text"]["text"], "_No summary._");
    assert_eq!(
        blocks[2]["text"]["text"],
        "*🎯 Root cause*\n_Not determined._"
    );
}

#[test]
fn footer_shows_agent_reasoner_confidence_and_time() {
    let blocks = render_blocks(&full_rca(), &ctx());
    let footer = blocks
        .iter()
        .find(|b| b["type"] == "context")
        .expect("footer");
    assert_eq!(
        footer["elements"],
        json!([{
            "type": "mrkdwn",
            "text": "Agent: `network` · Reasoner: offline · Confidence: high (0.82) · Response time: 2.35 s"
        }])
    );
    let mut rca = empty_rca();
    rca.confidence = Confidence::new(0.5);
    rca.reasoner = "offline (fallback: llm timed out <after 30 s>)".into();
    let ctx = ReplyContext {
        agent: "db`x",
        elapsed_ms: 61_005,
        ..empty_ctx()
    };
    let blocks = render_blocks(&rca, &ctx);
    let footer = blocks
        .iter()
        .find(|b| b["type"] == "context")
        .expect("footer");
    assert_eq!(
        footer["elements"][0]["text"],
        "Agent: `dbˋx` · Reasoner: offline (fallback: llm timed out &lt;after 30 s&gt;) · Confidence: medium (0.50) · Response time: 61.01 s"
    );
}

#[test]
fn buttons_carry_action_ids_and_fingerprint() {
    let blocks = render_blocks(&full_rca(), &ctx());
    let actions = blocks.last().expect("actions block");
    assert_eq!(actions["type"], "actions");
    assert_eq!(actions["block_id"], "rca_actions");
    let els = actions["elements"].as_array().expect("elements");
    let got: Vec<(String, Value, String)> = els
        .iter()
        .map(|e| {
            (
                e["action_id"].as_str().unwrap_or_default().to_owned(),
                serde_json::from_str(e["value"].as_str().unwrap_or_default())
                    .unwrap_or(Value::Null),
                e["text"]["text"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "rca_rerun".into(),
                json!({"fp": "3f2a9c0d5e7b1a4c"}),
                "Re-run".into()
            ),
            (
                "rca_feedback_up".into(),
                json!({"fp": "3f2a9c0d5e7b1a4c", "vote": "up"}),
                "👍 Helpful".into()
            ),
            (
                "rca_feedback_down".into(),
                json!({"fp": "3f2a9c0d5e7b1a4c", "vote": "down"}),
                "👎 Not helpful".into()
            ),
        ]
    );
    for e in els {
        assert_eq!(e["type"], "button");
        assert_eq!(e["text"]["type"], "plain_text");
    }
}

#[test]
fn button_values_without_or_with_a_huge_fingerprint() {
    assert_eq!(button_value(None, Some("up")), r#"{"vote":"up"}"#);
    assert_eq!(button_value(None, None), "{}");
    assert_eq!(
        button_value(Some("a\"b"), Some("down")),
        r#"{"fp":"a\"b","vote":"down"}"#
    );
    let huge = "f".repeat(5000);
    let v = button_value(Some(&huge), Some("up"));
    assert_eq!(v, r#"{"vote":"up"}"#);
    let fits = "f".repeat(1970);
    let v = button_value(Some(&fits), Some("up"));
    assert!(v.contains(&fits) && slen(&v) <= limits::BUTTON_VALUE);
    let blocks = check_all(
        &full_rca(),
        &ReplyContext {
            fingerprint: Some(&huge),
            sources: &[],
            target: None,
            ..ctx()
        },
    );
    assert_eq!(
        blocks.last().expect("actions")["elements"][2]["value"],
        r#"{"vote":"down"}"#
    );
}

// ---------------------------------------------------------------------------------------------
// Nasty inputs

#[test]
fn huge_root_cause_with_emoji_is_cut_on_a_char_boundary() {
    let mut rca = full_rca();
    rca.root_cause = "🔥 pool exhausted — é漢 & <x> ".repeat(400); // ≈ 10 KB
    assert!(rca.root_cause.len() > 10_000);
    let blocks = check_all(&rca, &ctx());
    let rc = section_starting(&blocks, "*🎯 Root cause*").expect("root cause");
    assert!(rc.ends_with('…'));
    assert!(
        slen(&rc) > limits::SECTION_TEXT - 20,
        "uses the room: {}",
        slen(&rc)
    );
    // Everything else is still there.
    assert!(section_starting(&blocks, "*⚡ Immediate actions*").is_some());
    assert!(section_starting(&blocks, "*📅 Timeline*").is_some());
}

#[test]
fn huge_summary_keeps_the_service_line() {
    let mut rca = full_rca();
    rca.summary = "é".repeat(5000);
    let blocks = check_all(&rca, &ctx());
    let summary = blocks[1]["text"]["text"].as_str().expect("summary");
    assert!(
        summary.ends_with("…\n*Service:* `api`"),
        "{}",
        tail(summary)
    );
    assert!(render_text(&rca, &ctx()).contains("Service: api"));
}

#[test]
fn two_hundred_actions_with_long_commands() {
    let mut rca = full_rca();
    rca.actions = (0..200)
        .map(|i| Action {
            title: format!("Step {i}: restart the <pool> & check ```fences```"),
            command: Some(format!(
                "kubectl -n prod rollout restart deploy/user-service-{i} && {}",
                "echo ok; ".repeat(40)
            )),
        })
        .collect();
    let blocks = check_all(&rca, &ctx());
    let t = section_starting(&blocks, "*⚡ Immediate actions*").expect("actions");
    let shown = t.matches("\n```kubectl").count();
    assert!(shown >= 5, "{shown} actions shown");
    assert!(
        t.ends_with(&format!("\n…and {} more", 200 - shown)),
        "{}",
        tail(&t)
    );
    // Every shown command is whole.
    assert_eq!(t.matches("echo ok; echo ok;```").count(), shown);
    let text = render_text(&rca, &ctx());
    assert!(text.contains("$ kubectl -n prod rollout restart deploy/user-service-0"));
    assert!(text.contains("more"));
}

#[test]
fn overlong_command_is_not_shown_cut_short() {
    let mut rca = full_rca();
    rca.actions = vec![Action {
        title: "Apply the fix".into(),
        command: Some(format!("rm -rf /var/lib/app/cache/{}", "x".repeat(4000))),
    }];
    let blocks = check_all(&rca, &ctx());
    let t = section_starting(&blocks, "*⚡ Immediate actions*").expect("actions");
    assert!(!t.contains("rm -rf"), "{t}");
    assert!(t.contains("command too long to show here"));
    // The terminal shows it whole.
    assert!(render_terminal(&rca, &ctx()).contains(&"x".repeat(4000)));
}

#[test]
fn thirty_metrics_become_ten_fields() {
    let mut rca = full_rca();
    rca.metrics = (0..30)
        .map(|i| KeyMetric {
            name: format!("metric_{i} <p99>"),
            value: "9".repeat(3000),
        })
        .collect();
    let blocks = check_all(&rca, &ctx());
    let m = blocks
        .iter()
        .find(|b| {
            b["text"]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("*📊 Key metrics*"))
        })
        .expect("metrics section");
    assert_eq!(m["fields"].as_array().map(Vec::len), Some(10));
    assert_eq!(m["text"]["text"], "*📊 Key metrics*\n…and 20 more");
    assert!(
        m["fields"][0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("*metric_0 &lt;p99&gt;*\n999"))
    );
}

#[test]
fn empty_strings_everywhere() {
    let rca = Rca {
        summary: "   ".into(),
        root_cause: "\n".into(),
        hypotheses: vec![Hypothesis {
            cause: String::new(),
            evidence_for: vec![String::new()],
            evidence_against: vec![],
            likelihood: Likelihood::Medium,
        }],
        timeline: vec![TimelineEntry {
            at: Utc::now(),
            event: String::new(),
        }],
        actions: vec![
            Action {
                title: String::new(),
                command: Some(String::new()),
            },
            Action {
                title: String::new(),
                command: None,
            },
            Action {
                title: String::new(),
                command: Some("uptime".into()),
            },
        ],
        prevention: vec![String::new(), " ".into()],
        metrics: vec![
            KeyMetric {
                name: String::new(),
                value: String::new(),
            },
            KeyMetric {
                name: String::new(),
                value: "3".into(),
            },
        ],
        missing_evidence: vec![String::new()],
        confidence: Confidence::new(f64::NAN),
        reasoner: String::new(),
        unsupported: Vec::new(),
        usage: None,
    };
    let blocks = check_all(
        &rca,
        &ReplyContext {
            service: Some(""),
            ..empty_ctx()
        },
    );
    assert_eq!(
        section_starting(&blocks, "*⚡ Immediate actions*").as_deref(),
        Some("*⚡ Immediate actions*\n1. Run:\n```uptime```")
    );
    assert!(section_starting(&blocks, "*🛡️ Prevention*").is_none());
    assert!(section_starting(&blocks, "*🔎 Missing evidence*").is_none());
    assert_eq!(blocks[1]["text"]["text"], "_No summary._");
}

#[test]
fn markdown_and_slack_control_characters_are_neutralised() {
    let nasty = "<!channel> <@U123> <https://evil|click> &amp; *bold* _it_ ~s~ `code` ```fence``` ````` > quote";
    let mut rca = full_rca();
    rca.summary = nasty.into();
    rca.root_cause = nasty.into();
    rca.prevention = vec![nasty.into()];
    rca.actions = vec![Action {
        title: nasty.into(),
        command: Some(nasty.into()),
    }];
    rca.metrics = vec![KeyMetric {
        name: nasty.into(),
        value: nasty.into(),
    }];
    rca.reasoner = nasty.into();
    let ctx = ReplyContext {
        alert_title: nasty,
        service: Some(nasty),
        agent: nasty,
        elapsed_ms: u64::MAX,
        fingerprint: Some(nasty),
        sources: &[],
        target: None,
    };
    let blocks = check_all(&rca, &ctx);
    let rc = section_starting(&blocks, "*🎯 Root cause*").expect("root cause");
    assert!(rc.contains("&lt;!channel&gt; &lt;@U123&gt;"));
    assert!(rc.contains("&amp;amp;"));
    let text = render_text(&rca, &ctx);
    assert!(!text.contains('<') && !text.contains("```"));
    assert!(render_terminal(&rca, &ctx).contains("<!channel>"));
}

#[test]
fn everything_huge_at_once() {
    let big = |c: &str| c.repeat(10_000);
    let rca = Rca {
        summary: big("😀"),
        root_cause: big("&"),
        hypotheses: (0..100)
            .map(|_| Hypothesis {
                cause: big("é"),
                evidence_for: vec![big("<"); 3],
                evidence_against: vec![big(">")],
                likelihood: Likelihood::High,
            })
            .collect(),
        timeline: (0..500)
            .map(|_| TimelineEntry {
                at: Utc::now(),
                event: big("👩‍👩‍👧"),
            })
            .collect(),
        actions: (0..500)
            .map(|_| Action {
                title: big("`"),
                command: Some(big("```")),
            })
            .collect(),
        prevention: vec![big("x"); 500],
        metrics: (0..500)
            .map(|_| KeyMetric {
                name: big("*"),
                value: big("&"),
            })
            .collect(),
        missing_evidence: vec![big("🛡️"); 500],
        confidence: Confidence::new(7.0),
        reasoner: big("r"),
        unsupported: Vec::new(),
        usage: None,
    };
    let title = big("🔍");
    let ctx = ReplyContext {
        alert_title: &title,
        service: Some(&title),
        agent: &title,
        elapsed_ms: 1,
        fingerprint: Some(&title),
        sources: &[],
        target: None,
    };
    check_all(&rca, &ctx);
    let text = render_text(&rca, &ctx);
    for heading in [
        "🎯 Root cause",
        "🧪 Hypotheses",
        "📅 Timeline",
        "⚡ Immediate actions",
        "🛡️ Prevention",
        "📊 Key metrics",
        "🔎 Missing evidence",
        "Confidence: high (1.00) · Response time: 0.00 s",
    ] {
        assert!(text.contains(heading), "text lacks {heading:?}");
    }
}

#[test]
fn cut_points_sweep_never_split_chars_entities_or_fences() {
    for unit in ["é", "😀", "&", "<", "a`", "```", "🛡️"] {
        for n in 2950..3020 {
            let mut rca = empty_rca();
            rca.root_cause = format!(
                "{}{}",
                "a".repeat(n % 7),
                unit.repeat(n / unit.len().max(1))
            );
            rca.actions = vec![Action {
                title: "x".into(),
                command: Some(format!("{}{}", "c".repeat(n - 1600), unit)),
            }];
            check_all(&rca, &empty_ctx());
        }
    }
}

/// A small deterministic generator (xorshift), so the random cases are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn string(&mut self) -> String {
        const PIECES: [&str; 16] = [
            "a", "pool ", "&", "<", ">", "`", "```", "*", "_", "\n", "😀", "é", "🛡️", "&amp;", " ",
            "漢",
        ];
        let len = match self.below(4) {
            0 => 0,
            1 => self.below(20),
            2 => self.below(400),
            _ => self.below(6000),
        };
        (0..len).map(|_| PIECES[self.below(PIECES.len())]).collect()
    }
    fn strings(&mut self) -> Vec<String> {
        let n = if self.below(5) == 0 {
            self.below(300)
        } else {
            self.below(6)
        };
        (0..n).map(|_| self.string()).collect()
    }
}

#[test]
fn seeded_random_rcas_stay_within_limits() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for _ in 0..60 {
        let rca = Rca {
            summary: rng.string(),
            root_cause: rng.string(),
            hypotheses: (0..rng.below(8))
                .map(|_| Hypothesis {
                    cause: rng.string(),
                    evidence_for: rng.strings(),
                    evidence_against: rng.strings(),
                    likelihood: Likelihood::Low,
                })
                .collect(),
            timeline: (0..rng.below(60))
                .map(|_| TimelineEntry {
                    at: Utc::now(),
                    event: rng.string(),
                })
                .collect(),
            actions: (0..rng.below(60))
                .map(|i| Action {
                    title: rng.string(),
                    command: (i % 3 != 0).then(|| rng.string()),
                })
                .collect(),
            prevention: rng.strings(),
            metrics: (0..rng.below(40))
                .map(|_| KeyMetric {
                    name: rng.string(),
                    value: rng.string(),
                })
                .collect(),
            missing_evidence: rng.strings(),
            confidence: Confidence::new(rng.below(100) as f64 / 99.0),
            reasoner: rng.string(),
            unsupported: Vec::new(),
            usage: None,
        };
        let (title, svc, agent, fp) = (rng.string(), rng.string(), rng.string(), rng.string());
        let ctx = ReplyContext {
            alert_title: &title,
            service: Some(&svc),
            agent: &agent,
            elapsed_ms: rng.next() % 1_000_000,
            fingerprint: Some(&fp),
            sources: &[],
            target: None,
        };
        check_all(&rca, &ctx);
    }
}

// ---------------------------------------------------------------------------------------------
// Plain text

#[test]
fn text_has_every_section() {
    let text = render_text(&full_rca(), &ctx());
    for needle in [
        "🔍 RCA: [FIRING:1] SSLCertExpiring api.example.com (prod critical)\nService: api\napi.example.com serves",
        "Root cause",
        "certificate for api.example.com expired",
        "&lt;backend&gt; &amp; not the solver",
        "Hypotheses",
        "• Certificate expired (high)",
        "Timeline",
        "• 09:01:12 UTC 5xx &gt; 5% on api",
        "Immediate actions",
        "1. Check the certificate's expiry",
        "$ cmctl renew api-tls -n prod",
        "Prevention",
        "• Alert 14 days before notAfter",
        "Key metrics",
        "• days_to_expiry: -0.1",
        "Missing evidence",
        "Agent: network · Reasoner: offline · Confidence: high (0.82) · Response time: 2.35 s",
    ] {
        assert!(text.contains(needle), "text lacks {needle:?}:\n{text}");
    }
    let terminal = render_terminal(&full_rca(), &ctx());
    assert!(terminal.contains("<backend> & not the solver"));
    assert!(
        terminal.contains("$ echo | openssl s_client -connect api.example.com:443 2>/dev/null")
    );
}

#[test]
fn text_of_a_long_rca_keeps_every_heading_and_the_footer() {
    let mut rca = full_rca();
    rca.root_cause = "connection pool exhausted; scale the pool. ".repeat(300);
    rca.timeline = (0..300)
        .map(|i| TimelineEntry {
            at: Utc::now(),
            event: format!("event {i} {}", "z".repeat(100)),
        })
        .collect();
    let text = render_text(&rca, &ctx());
    within(&text, limits::MESSAGE_TEXT, "text");
    assert!(
        slen(&text) > limits::MESSAGE_TEXT - 200,
        "uses the room: {}",
        slen(&text)
    );
    for needle in [
        "Root cause\nconnection pool exhausted",
        "Timeline\n• ",
        "more",
        "$ cmctl renew api-tls -n prod",
        "Prevention",
        "Key metrics",
        "Confidence: high (0.82)",
        "Response time: 2.35 s",
    ] {
        assert!(text.contains(needle), "text lacks {needle:?}");
    }
    let terminal = render_terminal(&rca, &ctx());
    assert!(terminal.contains("event 299"));
}

// ---------------------------------------------------------------------------------------------
// truncate

#[test]
fn truncate_respects_chars_entities_and_fences() {
    assert_eq!(truncate("short", 10), "short");
    assert_eq!(truncate("abcdefghij", 9), "abcde…");
    assert_eq!(truncate("😀😀😀😀😀😀", 7), "😀…"); // 2 UTF-16 units each
    assert_eq!(truncate("ab&amp;cdefgh", 9), "ab…");
    assert_eq!(truncate("x```cmd and more```", 12), "x```cmd```…");
    assert_eq!(truncate("```a``` ```b``` tail", 15), "```a```…");
    assert_eq!(truncate("abcdef", 0), "");
    assert_eq!(truncate("abcdef", 2), "…");
    for max in 0..40 {
        let t = truncate("é😀&amp;```x```🛡️ y", max);
        assert!(slen(&t) <= max, "{max}: {t:?}");
        assert_eq!(t.matches("```").count() % 2, 0, "{max}: {t:?}");
    }
}
