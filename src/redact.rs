//! Redaction of secrets before text leaves the process: to the LLM, to Slack, to the logs.
//!
//! Alerts, log lines and tool output sometimes carry credentials (a connection string in a
//! stack trace, a bearer token in a request log, a service-account key pasted into an alert).
//! [`redact`] replaces each one with `[REDACTED:<kind>]` and leaves everything else byte for byte
//! as it was. The rules are general shapes, never values copied from a sample:
//!
//! - private-key PEM blocks (RSA, EC, OpenSSH, PKCS#8, inside JSON strings too);
//! - the password of a URL's user info (`postgres://app:…@db`, `redis://:…@cache`,
//!   `mongodb+srv://…`, `amqp://…`, `https://user:…@host`);
//! - `Bearer`/`Basic` credentials;
//! - token shapes with a known prefix: AWS access key ids, Slack tokens and webhook URLs, GitHub,
//!   GitLab, OpenAI-style `sk-`, Stripe, Google API keys and OAuth tokens, SendGrid, npm, JWTs;
//! - the value after a key-like word (`password`, `secret`, `token`, `api_key`, `access_key`,
//!   `private_key`, `client_secret`, `AccountKey`, `credentials`, `cookie`, `sig`, …) followed by
//!   `=` or `:`, in env, YAML, JSON, query-string, header and connection-string syntax. The key
//!   must *end* with the word (`max_tokens`, `password_policy`, `secret_name` are not secrets),
//!   and values that are not secrets (`true`, `null`, `${VAR}`, `<redacted>`, `****`, a path) are
//!   kept.
//!
//! Harmless look-alikes (trace ids, image digests, pod names, UUIDs, URLs without credentials,
//! public certificates) are left alone; `tests/data/redaction/corpus.yaml` holds both sides.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::rca::Rca;

/// What replaced a secret: `[REDACTED:<kind>]`.
pub fn marker(kind: &str) -> String {
    format!("[REDACTED:{kind}]")
}

struct Shape {
    kind: &'static str,
    re: Regex,
}

fn shape(kind: &'static str, pattern: &str) -> Shape {
    Shape {
        kind,
        // The patterns are literals of this module, checked by its tests.
        re: Regex::new(pattern).unwrap_or_else(|e| panic!("redaction pattern {kind}: {e}")),
    }
}

/// Whole-match secrets with a recognisable shape.
static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    vec![
        shape(
            "private-key",
            r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
        ),
        // A block cut short (no END line): the key material that follows.
        shape(
            "private-key",
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[A-Za-z0-9+/=\s\\]*",
        ),
        shape(
            "slack-webhook",
            r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+",
        ),
        shape("slack-token", r"\bxox[abposre]-[A-Za-z0-9-]{10,}"),
        shape("slack-token", r"\bxapp-\d-[A-Za-z0-9-]{10,}"),
        shape(
            "aws-access-key",
            r"\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA)[A-Z0-9]{16}\b",
        ),
        shape("github-token", r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
        shape("github-token", r"\bgithub_pat_[A-Za-z0-9_]{30,}"),
        shape("gitlab-token", r"\bglpat-[A-Za-z0-9_-]{20,}"),
        shape(
            "api-key",
            r"\bsk-(?:proj-|ant-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
        ),
        shape("stripe-key", r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"),
        shape("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}"),
        shape("google-oauth-token", r"\bya29\.[0-9A-Za-z_-]{20,}"),
        shape(
            "sendgrid-key",
            r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
        ),
        shape("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b"),
        shape(
            "jwt",
            r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*",
        ),
    ]
});

/// `scheme://user:password@host`: the password.
static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*://)([^\s:/@?#]*):([^\s/?#]+)@")
        .unwrap_or_else(|e| panic!("redaction pattern url: {e}"))
});

/// `Bearer <token>` / `Basic <base64>`.
static AUTH_SCHEME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/-]+=*)")
        .unwrap_or_else(|e| panic!("redaction pattern auth: {e}"))
});

/// `<key ending in a secret word> [quote] (= | :) [quote] value`.
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?P<key>[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|",
        r"access[_-]?key(?:[_-]?id)?|private[_-]?key(?:[_-]?id)?|account[_-]?key|",
        r"shared[_-]?access[_-]?key|client[_-]?secret|credentials?|session[_-]?(?:id|key)|",
        r"cookie|\bsig))\b",
        r#"(?P<sep>\\*["']?\s*[:=]\s*)"#,
        r#"(?:(?P<q>\\*")(?P<dq>[^"\\\n]{1,512})\\*"|'(?P<sq>[^'\n]{1,512})'|(?P<bare>[^\s"'\\,;&<>)\]}]{1,1024}))"#,
    ))
    .unwrap_or_else(|e| panic!("redaction pattern key-value: {e}"))
});

/// Values after a secret-looking key that are not secrets.
fn harmless_value(value: &str) -> bool {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "true",
        "false",
        "null",
        "nil",
        "none",
        "undefined",
        "empty",
        "yes",
        "no",
        "on",
        "off",
        "redacted",
        "hidden",
        "masked",
        "required",
        "optional",
        "expired",
        "invalid",
        "missing",
        "incorrect",
        "revoked",
        "unset",
        "string",
        "secret",
        "password",
        "token",
        "n/a",
    ];
    v.chars().count() < 3
        || WORDS.contains(&lower.as_str())
        || v.chars().all(|c| matches!(c, '*' | 'x' | 'X' | '•' | '.' | '#'))
        || v.starts_with('$')
        || v.starts_with('<')
        || v.starts_with("{{")
        || v.starts_with("%(")
        || v.starts_with("[REDACTED")
        || v.starts_with('/')
        || v.starts_with("./")
        || v.starts_with("~/")
        // A number small enough to be a count or a length, not a credential.
        || (v.len() < 6 && v.chars().all(|c| c.is_ascii_digit()))
}

/// Whether a `Bearer`/`Basic` operand is a credential rather than an English word.
fn credential_like(token: &str) -> bool {
    let has_digit = token.chars().any(|c| c.is_ascii_digit());
    token.len() >= 16 || (token.len() >= 8 && has_digit)
}

/// `text` with every secret replaced by `[REDACTED:<kind>]`; borrowed when nothing matched.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out: Cow<'_, str> = Cow::Borrowed(text);
    for s in SHAPES.iter() {
        if s.re.is_match(&out) {
            let replaced = s.re.replace_all(&out, marker(s.kind).as_str()).into_owned();
            out = Cow::Owned(replaced);
        }
    }
    if URL_PASSWORD.is_match(&out) {
        let replaced = URL_PASSWORD
            .replace_all(&out, |c: &Captures<'_>| {
                if c[3].starts_with("[REDACTED") {
                    return c[0].to_string();
                }
                format!("{}{}:{}@", &c[1], &c[2], marker("password"))
            })
            .into_owned();
        out = Cow::Owned(replaced);
    }
    if AUTH_SCHEME.is_match(&out) {
        let replaced = AUTH_SCHEME
            .replace_all(&out, |c: &Captures<'_>| {
                if credential_like(&c[3]) {
                    format!("{}{}{}", &c[1], &c[2], marker("credential"))
                } else {
                    c[0].to_string()
                }
            })
            .into_owned();
        out = Cow::Owned(replaced);
    }
    if KEY_VALUE.is_match(&out) {
        let replaced = KEY_VALUE
            .replace_all(&out, |c: &Captures<'_>| {
                let value = c
                    .name("dq")
                    .or_else(|| c.name("sq"))
                    .or_else(|| c.name("bare"))
                    .map_or("", |m| m.as_str());
                if harmless_value(value) {
                    return c[0].to_string();
                }
                let (open, close) = match (c.name("q"), c.name("sq")) {
                    (Some(q), _) => (q.as_str(), q.as_str()),
                    (None, Some(_)) => ("'", "'"),
                    _ => ("", ""),
                };
                format!(
                    "{}{}{open}{}{close}",
                    &c["key"],
                    &c["sep"],
                    marker("secret")
                )
            })
            .into_owned();
        out = Cow::Owned(replaced);
    }
    out
}

/// [`redact`] into an owned string.
pub fn redact_string(text: &str) -> String {
    redact(text).into_owned()
}

/// Redact a string in place (no allocation when clean).
pub fn redact_in_place(text: &mut String) {
    if let Cow::Owned(clean) = redact(text) {
        *text = clean;
    }
}

/// Redact every string of a JSON value (object keys are left as they are).
pub fn redact_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => redact_in_place(s),
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => map.values_mut().for_each(redact_json),
        _ => {}
    }
}

/// A Slack message body with every `text` (and `fallback`) string redacted, wherever it sits
/// (top level, blocks, fields, attachments); ids, timestamps and button values untouched.
pub fn redact_text_fields(body: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    match child {
                        Value::String(s) if k == "text" || k == "fallback" || k == "pretext" => {
                            redact_in_place(s)
                        }
                        _ => walk(child),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut out = body.clone();
    walk(&mut out);
    out
}

/// Redact every text of an RCA (what Slack and the logs may show).
pub fn redact_rca(rca: &mut Rca) {
    redact_in_place(&mut rca.summary);
    redact_in_place(&mut rca.root_cause);
    for h in &mut rca.hypotheses {
        redact_in_place(&mut h.cause);
        h.evidence_for.iter_mut().for_each(redact_in_place);
        h.evidence_against.iter_mut().for_each(redact_in_place);
    }
    for t in &mut rca.timeline {
        redact_in_place(&mut t.event);
    }
    for a in &mut rca.actions {
        redact_in_place(&mut a.title);
        if let Some(c) = &mut a.command {
            redact_in_place(c);
        }
    }
    rca.prevention.iter_mut().for_each(redact_in_place);
    for m in &mut rca.metrics {
        redact_in_place(&mut m.name);
        redact_in_place(&mut m.value);
    }
    rca.missing_evidence.iter_mut().for_each(redact_in_place);
    rca.unsupported.iter_mut().for_each(redact_in_place);
    redact_in_place(&mut rca.reasoner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile_and_clean_text_is_borrowed() {
        assert!(!SHAPES.is_empty());
        assert!(matches!(
            redact("pod cart-7f9c-x1 OOMKilled"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn quotes_are_kept_around_a_redacted_value() {
        assert_eq!(
            redact(r#"{"password":"p@ssw0rd!"}"#),
            r#"{"password":"[REDACTED:secret]"}"#
        );
        assert_eq!(
            redact("DB_PASSWORD='hunter2 x'"),
            "DB_PASSWORD='[REDACTED:secret]'"
        );
        assert_eq!(
            redact("postgres://app:pw@db:5432/x"),
            "postgres://app:[REDACTED:password]@db:5432/x"
        );
    }

    #[test]
    fn slack_bodies_keep_their_ids() {
        let body = serde_json::json!({"channel": "C1", "thread_ts": "1.2", "text": "key AKIAIOSFODNN7EXAMPLE",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "token=abcdef123456"}},
                       {"type": "actions", "elements": [{"action_id": "rca_rerun", "value": "{\"fp\":\"abc\"}"}]}]});
        let out = redact_text_fields(&body);
        assert_eq!(out["text"], "key [REDACTED:aws-access-key]");
        assert_eq!(out["blocks"][0]["text"]["text"], "token=[REDACTED:secret]");
        assert_eq!(out["blocks"][1], body["blocks"][1]);
        assert_eq!(out["channel"], "C1");
    }

    #[test]
    fn redaction_is_idempotent() {
        let once = redact_string("Authorization: Bearer abcdef0123456789xyz token=abcdef123456");
        assert_eq!(redact(&once), once);
        assert!(!once.contains("abcdef0123456789xyz"), "{once}");
    }
}
