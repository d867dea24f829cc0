//! Stable alert identity.
//!
//! The fingerprint is the first 16 hex characters of a SHA-256 over these parts, each followed
//! by a `0x1f` separator:
//!
//! 1. the title, normalised the same way whatever the source: status prefixes (`[FIRING:2]`,
//!    `[RESOLVED]`, `[Triggered on …]`, `RESOLVED:`) removed, lower-cased, every volatile word
//!    replaced by `#`, whitespace collapsed. A volatile word is one that starts with a digit
//!    (counters, values like `97.1%`, durations like `5m`, timestamps like
//!    `2026-01-01T10:00:00Z`, IP addresses) or a hex id of 8 or more characters holding a digit
//!    (`7f3a9c01`, UUIDs). Names that merely contain digits (`node-3`, `web-1`, `p99`) are kept;
//! 2. the service, lower-cased;
//! 3. the namespace, lower-cased;
//! 4. the `alertname` label, if any;
//! 5. the Datadog multi-alert `scope` label (`host:web-1`), if any.
//!
//! So the same alert re-fired with other counters, values or times, or its resolved message,
//! has the same fingerprint; another service, namespace, alertname or scope does not. The
//! alert's text, links and Slack ids are deliberately left out.

use sha2::{Digest, Sha256};

use super::Alert;
use super::sources::status_prefix;

/// Same alert re-fired (or resolved) ⇒ same fingerprint (16 lower-case hex characters).
pub fn fingerprint(alert: &Alert) -> String {
    let lower = |s: &Option<String>| s.as_deref().unwrap_or_default().trim().to_lowercase();
    let label = |k: &str| alert.labels.get(k).map(|v| v.trim()).unwrap_or_default();
    let parts = [
        normalize_title(&alert.title),
        lower(&alert.service),
        lower(&alert.namespace),
        label("alertname").to_string(),
        label("scope").to_string(),
    ];
    let mut hasher = Sha256::new();
    for part in &parts {
        hasher.update(part.as_bytes());
        hasher.update([0x1f]);
    }
    let digest = hasher.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The title with status prefixes, case, volatile words and extra whitespace normalised away.
pub fn normalize_title(title: &str) -> String {
    let mut rest = title.trim();
    loop {
        let prefix = status_prefix(rest);
        if prefix.status.is_none() {
            break;
        }
        rest = prefix.rest;
    }
    rest.to_lowercase()
        .split_whitespace()
        .map(normalize_word)
        .collect::<Vec<_>>()
        .join(" ")
}

/// One word: volatile parts become `#`; `key=value` pairs are looked at on both sides.
fn normalize_word(word: &str) -> String {
    word.split_inclusive(['=', ','])
        .map(|piece| {
            let core = piece.trim_end_matches(['=', ',']);
            let sep = piece.get(core.len()..).unwrap_or_default();
            let unwrapped = core.trim_start_matches(is_punct);
            let lead = core.get(..core.len() - unwrapped.len()).unwrap_or_default();
            let mid = unwrapped.trim_end_matches(is_punct);
            let trail = unwrapped.get(mid.len()..).unwrap_or_default();
            let mid = if is_volatile(mid) { "#" } else { mid };
            format!("{lead}{mid}{trail}{sep}")
        })
        .collect()
}

/// Punctuation that wraps a word without being part of it.
fn is_punct(c: char) -> bool {
    matches!(
        c,
        '(' | ')' | '[' | ']' | '{' | '}' | '"' | '\'' | '`' | '*' | ';' | ':' | '!' | '?'
    )
}

/// A number-led word (count, value, duration, timestamp, address) or a hex id.
fn is_volatile(w: &str) -> bool {
    let unsigned = w.trim_start_matches(['-', '+', '~', '>', '<', '=']);
    let number_led = unsigned.starts_with(|c: char| c.is_ascii_digit())
        || (unsigned.starts_with('.')
            && unsigned.chars().nth(1).is_some_and(|c| c.is_ascii_digit()));
    let hex_id = w.len() >= 8
        && w.chars().any(|c| c.is_ascii_digit())
        && w.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    number_led || hex_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sources::text_alert;

    #[test]
    fn volatile_words_are_masked() {
        assert_eq!(
            normalize_title("[FIRING:2] Disk at 97.1% on node-3"),
            "disk at # on node-3"
        );
        assert_eq!(
            normalize_title("RESOLVED: p99 2.7s for 5m since 2026-01-01T10:00:00Z id 7f3a9c01"),
            "p99 # for # since # id #"
        );
        assert_eq!(
            normalize_title("x (value=12, job=\"a\")"),
            "x (value=#, job=\"a\")"
        );
        assert_eq!(normalize_title("  a\t\n b  "), "a b");
        assert_eq!(normalize_title(""), "");
        assert_eq!(normalize_title("(((é)))"), "(((é)))");
    }

    #[test]
    fn same_alert_same_fingerprint() {
        let a = text_alert("Disk usage on node-3 at 97.1%");
        let b = text_alert("[RESOLVED] Disk usage on node-3 at 98%");
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.fingerprint.len(), 16);
        assert!(a.fingerprint.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn different_subject_different_fingerprint() {
        let a = text_alert("Disk usage on node-3 at 97%");
        let b = text_alert("Disk usage on node-4 at 97%");
        assert_ne!(a.fingerprint, b.fingerprint);
        let mut c = a.clone();
        c.service = Some("other".into());
        assert_ne!(fingerprint(&a), fingerprint(&c));
        let mut d = a.clone();
        d.labels.insert("alertname".into(), "NodeDiskFull".into());
        assert_ne!(fingerprint(&a), fingerprint(&d));
        let mut e = a.clone();
        e.text = "different body".into();
        e.slack.event_id = Some("Ev9".into());
        assert_eq!(fingerprint(&a), fingerprint(&e));
    }
}
