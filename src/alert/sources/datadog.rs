//! Datadog's Slack integration (posted by the Datadog app's bot, so no `bot_message` subtype).
//!
//! What a monitor notification shows is the monitor's message with its template variables and
//! conditional sections (`{{#is_alert}}…{{/is_alert}}`, `{{#is_recovery}}…`) already rendered,
//! the notified handles, a snapshot, and the scope it alerted on (the channel's `display`
//! options `message`, `notified`, `snapshot`, `tags` in Datadog's Slack integration API).
//! Titles look like `[Triggered] <monitor>`, `[Recovered] …`, `[Warn] …`, `[No Data] …`,
//! `[Re-Triggered] …`, or for multi-alert monitors `[Triggered on {host:web-1}] …`. Tags appear in
//! the text as `key:value` words (`service:checkout env:prod kube_namespace:prod host:web-1`).
//! The scope becomes labels plus `labels["scope"]`, which the fingerprint includes so that the
//! same monitor on two hosts is two alerts.

use super::Findings;

/// Status words only Datadog puts in brackets, or a Datadog link.
pub(super) fn looks_like(headline: &str, title_link: &str) -> bool {
    let lower = headline.trim_start().to_lowercase();
    const PREFIXES: &[&str] = &[
        "[triggered",
        "[re-triggered",
        "[recovered",
        "[warn",
        "[re-warn",
        "[no data",
        "[re-no data",
    ];
    PREFIXES.iter().any(|p| lower.starts_with(p)) || title_link.contains("datadoghq.")
}

/// `host:web-1,env:prod` → labels, `scope`, and the host.
pub(super) fn apply_scope(scope: &str, f: &mut Findings) {
    f.label("scope", scope);
    for tag in scope.split(',') {
        if let Some((k, v)) = tag.split_once(':') {
            f.label(k.trim(), v.trim());
        }
    }
    if let Some(host) = f.labels.get("host") {
        f.host = Some(host.clone());
    }
}

/// `key:value` tags from the title and text.
pub(super) fn extract(title: &str, body: &str, f: &mut Findings) {
    for word in title
        .split_whitespace()
        .chain(body.split_whitespace())
        .take(4096)
    {
        if let Some((k, v)) = tag(word) {
            f.label(k, v);
        }
    }
}

/// One `key:value` tag: a lower-case key and a non-empty value that is not a URL or a time.
fn tag(word: &str) -> Option<(&str, &str)> {
    let word = word.trim_matches(|c: char| {
        matches!(
            c,
            ',' | ';' | '(' | ')' | '[' | ']' | '{' | '}' | '`' | '*' | '_'
        )
    });
    let (k, v) = word.split_once(':')?;
    let key_ok = k.starts_with(|c: char| c.is_ascii_lowercase())
        && k.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-' | '/')
        })
        && !matches!(k, "http" | "https" | "mailto" | "ftp");
    let value_ok = !v.is_empty() && !v.starts_with('/') && !v.contains(':');
    (key_ok && value_ok).then_some((k, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_scope() {
        let mut f = Findings::default();
        apply_scope("host:web-1", &mut f);
        extract(
            "High CPU",
            "service:checkout env:prod kube_namespace:prod see https://x Value: 96.2 at 12:30:01",
            &mut f,
        );
        assert_eq!(f.host.as_deref(), Some("web-1"));
        assert_eq!(f.labels["scope"], "host:web-1");
        assert_eq!(f.labels["service"], "checkout");
        assert_eq!(f.labels["kube_namespace"], "prod");
        assert!(!f.labels.contains_key("https"));
        assert!(!f.labels.contains_key("Value"));
        assert_eq!(f.labels.len(), 5);
    }

    #[test]
    fn recognises_prefixes() {
        assert!(looks_like("[Triggered on {host:web-1}] x", ""));
        assert!(looks_like("[No Data] x", ""));
        assert!(looks_like("x", "https://app.datadoghq.com/monitors/1"));
        assert!(!looks_like("[FIRING:1] x", ""));
    }
}
