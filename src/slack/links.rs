//! Slack message permalinks: parsing the ones users paste into `/rca`, building the ones the
//! bot posts (duplicate notices, failure logs).
//!
//! A permalink looks like `https://acme.slack.com/archives/C0ALERTS/p1760000000000100`, maybe
//! with `?thread_ts=1760000000.000100&cid=C0ALERTS`; the `p` part is the message `ts` with the
//! dot removed (10 digits of seconds, 6 of microseconds). Slack wraps links in `<…>` or
//! `<…|label>` when a command's text is escaped.

/// A message named by a permalink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    pub channel: String,
    pub ts: String,
    /// The thread the message is in, when the link says so (`thread_ts=`).
    pub thread_ts: Option<String>,
}

/// Why a piece of text is not a usable permalink.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("`{0}` is not a Slack message link (expected https://…slack.com/archives/C…/p…)")]
    NotALink(String),
    #[error("the link has no channel id")]
    NoChannel,
    #[error("the link has no message timestamp (the `p1234567890123456` part)")]
    NoTimestamp,
}

/// True if the text looks like an attempt at a link (so errors are about the link, not the
/// text being analysed as an alert).
pub fn looks_like_link(text: &str) -> bool {
    let t = strip_brackets(text.trim());
    t.starts_with("http://") || t.starts_with("https://")
}

fn strip_brackets(text: &str) -> &str {
    let t = text.trim();
    let t = t.strip_prefix('<').unwrap_or(t);
    let t = t.strip_suffix('>').unwrap_or(t);
    match t.split_once('|') {
        Some((url, _label)) => url,
        None => t,
    }
}

/// Parse a message permalink.
pub fn parse_permalink(text: &str) -> Result<MessageRef, LinkError> {
    let raw = strip_brackets(text.trim());
    let rest = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
        .ok_or_else(|| LinkError::NotALink(raw.to_string()))?;
    let (host, path_query) = rest.split_once('/').unwrap_or((rest, ""));
    if !(host == "slack.com" || host.ends_with(".slack.com")) {
        return Err(LinkError::NotALink(raw.to_string()));
    }
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    if parts.next() != Some("archives") {
        return Err(LinkError::NotALink(raw.to_string()));
    }
    let channel = parts
        .next()
        .filter(|c| is_id(c))
        .ok_or(LinkError::NoChannel)?
        .to_string();
    let p = parts.next().ok_or(LinkError::NoTimestamp)?;
    let ts = p_to_ts(p).ok_or(LinkError::NoTimestamp)?;
    let thread_ts = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "thread_ts")
        .map(|(_, v)| v.to_string())
        .filter(|v| is_ts(v) && *v != ts);
    Ok(MessageRef {
        channel,
        ts,
        thread_ts,
    })
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric())
}

fn is_ts(s: &str) -> bool {
    match s.split_once('.') {
        Some((a, b)) => {
            !a.is_empty()
                && !b.is_empty()
                && a.chars().all(|c| c.is_ascii_digit())
                && b.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// `p1760000000000100` → `1760000000.000100`.
fn p_to_ts(p: &str) -> Option<String> {
    let digits = p.strip_prefix('p')?;
    if digits.len() < 7 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (secs, micros) = digits.split_at(digits.len() - 6);
    Some(format!("{secs}.{micros}"))
}

/// A permalink to a message (`base` is the workspace URL from `auth.test`, e.g.
/// `https://acme.slack.com/`); a reply in a thread carries `thread_ts`.
pub fn permalink(base: &str, channel: &str, ts: &str, thread_ts: Option<&str>) -> String {
    let base = if base.is_empty() {
        "https://slack.com/"
    } else {
        base
    };
    let sep = if base.ends_with('/') { "" } else { "/" };
    let p = ts.replace('.', "");
    match thread_ts {
        Some(t) if t != ts => {
            format!("{base}{sep}archives/{channel}/p{p}?thread_ts={t}&cid={channel}")
        }
        _ => format!("{base}{sep}archives/{channel}/p{p}"),
    }
}

/// Seconds since the epoch from a Slack `ts` (`1760000000.000100`).
pub fn ts_seconds(ts: &str) -> Option<f64> {
    ts.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_bracketed_permalinks() {
        let want = MessageRef {
            channel: "C0ALERTS".into(),
            ts: "1760000000.000100".into(),
            thread_ts: None,
        };
        assert_eq!(
            parse_permalink("https://acme.slack.com/archives/C0ALERTS/p1760000000000100"),
            Ok(want.clone())
        );
        assert_eq!(
            parse_permalink(" <https://acme.slack.com/archives/C0ALERTS/p1760000000000100|link> "),
            Ok(want)
        );
        let r = parse_permalink(
            "https://acme.slack.com/archives/C0ALERTS/p1760000001000200?thread_ts=1760000000.000100&cid=C0ALERTS",
        )
        .unwrap();
        assert_eq!(r.ts, "1760000001.000200");
        assert_eq!(r.thread_ts.as_deref(), Some("1760000000.000100"));
    }

    #[test]
    fn rejects_bad_links() {
        assert!(matches!(
            parse_permalink("https://example.com/archives/C1/p1760000000000100"),
            Err(LinkError::NotALink(_))
        ));
        assert_eq!(
            parse_permalink("https://acme.slack.com/archives/C0ALERTS"),
            Err(LinkError::NoTimestamp)
        );
        assert_eq!(
            parse_permalink("https://acme.slack.com/archives/C0ALERTS/pxyz"),
            Err(LinkError::NoTimestamp)
        );
        assert!(looks_like_link("<https://nope>"));
        assert!(!looks_like_link("disk full on node-3"));
    }

    #[test]
    fn builds_permalinks() {
        assert_eq!(
            permalink("https://acme.slack.com/", "C1", "1760000000.000100", None),
            "https://acme.slack.com/archives/C1/p1760000000000100"
        );
        assert_eq!(
            permalink(
                "https://acme.slack.com",
                "C1",
                "1760000001.000200",
                Some("1760000000.000100")
            ),
            "https://acme.slack.com/archives/C1/p1760000001000200?thread_ts=1760000000.000100&cid=C1"
        );
        let round = parse_permalink(&permalink("", "C9", "1760000000.000100", None)).unwrap();
        assert_eq!(round.ts, "1760000000.000100");
    }
}
