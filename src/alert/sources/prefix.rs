//! Status prefixes of headlines and severity words.
//!
//! `[FIRING:n]`, `[FIRING:2, RESOLVED:1]`, `[RESOLVED]` (Alertmanager, Grafana, SigNoz),
//! `[Triggered]`, `[Triggered on {host:web-1}]`, `[Recovered]`, `[Warn]`, `[No Data]` (Datadog),
//! or a word prefix like `RESOLVED:`; and the severity vocabulary (`critical`, `P2`, `warn`, …).

use crate::alert::{AlertCounts, AlertStatus};

/// A status prefix found at the start of a headline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusPrefix<'a> {
    pub status: Option<AlertStatus>,
    /// The headline without the prefix.
    pub rest: &'a str,
    /// Datadog's multi-alert scope, `host:web-1` from `[Triggered on {host:web-1}]`.
    pub scope: Option<String>,
    pub severity: Option<&'static str>,
    /// `[FIRING:2, RESOLVED:1]` → 2 firing, 1 resolved.
    pub counts: Option<AlertCounts>,
}

/// Read (and strip) `[FIRING:n]`, `[FIRING:2, RESOLVED:1]`, `[RESOLVED]`, `[Triggered …]`,
/// `[Recovered]`, `[Warn]`, `[No Data]`, or a word prefix like `RESOLVED:`.
pub(crate) fn status_prefix(headline: &str) -> StatusPrefix<'_> {
    let s = headline.trim_start();
    let none = StatusPrefix {
        status: None,
        rest: s,
        scope: None,
        severity: None,
        counts: None,
    };
    if let Some(inner_and_rest) = s.strip_prefix('[') {
        let Some((inner, rest)) = inner_and_rest.split_once(']') else {
            return none;
        };
        return match classify_prefix(inner) {
            Some((status, severity)) => StatusPrefix {
                status: Some(status),
                rest: rest.trim_start(),
                scope: prefix_scope(inner),
                severity,
                counts: counts(inner),
            },
            None => none,
        };
    }
    let Some((word, rest)) = s.split_once(':') else {
        return none;
    };
    // "OK:" and "No data:" open sentences too often to be read as a status.
    let sentence_like = word.contains(' ') || word.trim().eq_ignore_ascii_case("ok");
    match classify_prefix(word).filter(|_| !sentence_like) {
        Some((status, severity)) if !word.trim().is_empty() => StatusPrefix {
            status: Some(status),
            rest: rest.trim_start(),
            scope: None,
            severity,
            counts: None,
        },
        _ => none,
    }
}

/// Status (and implied severity) named by a prefix's words, if they are status words.
fn classify_prefix(inner: &str) -> Option<(AlertStatus, Option<&'static str>)> {
    let lower = inner.trim().to_lowercase();
    let head = lower.split(" on ").next().unwrap_or_default().trim();
    let head = head.trim_start_matches("re-");
    if head.starts_with("firing") || lower.contains("firing:") {
        return Some((AlertStatus::Firing, None));
    }
    match head.split(':').next().unwrap_or_default().trim() {
        "resolved" | "recovered" | "ok" => Some((AlertStatus::Resolved, None)),
        "triggered" | "alert" | "no data" => Some((AlertStatus::Firing, None)),
        "warn" | "warning" => Some((AlertStatus::Firing, Some("warning"))),
        _ => None,
    }
}

/// `FIRING:2, RESOLVED:1` → the two counts; `None` unless a count is written.
fn counts(inner: &str) -> Option<AlertCounts> {
    let mut out = AlertCounts::default();
    let mut any = false;
    for part in inner.split(',') {
        let Some((word, n)) = part.split_once(':') else {
            continue;
        };
        let Ok(n) = n.trim().parse::<u32>() else {
            continue;
        };
        match word.trim().to_lowercase().as_str() {
            "firing" => out.firing = n,
            "resolved" => out.resolved = n,
            _ => continue,
        }
        any = true;
    }
    any.then_some(out)
}

/// `Triggered on {host:web-1,env:prod}` → `host:web-1,env:prod`.
fn prefix_scope(inner: &str) -> Option<String> {
    let (_, scope) = inner.split_once(" on ")?;
    let scope = scope
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim();
    (!scope.is_empty()).then(|| scope.to_string())
}

/// `critical`/`crit`/`P1`/`page`/`error` → `critical`, `warning`/`warn`/`P2`/`P3` → `warning`,
/// `info`/`P4`/`P5` → `info`; anything else is kept as written (trimmed). Empty → `None`.
pub fn normalize_severity(raw: &str) -> Option<String> {
    let s = raw
        .trim()
        .trim_matches(|c| matches!(c, '"' | '\'' | '*' | '`'));
    if s.is_empty() {
        return None;
    }
    let known = known_severity(s);
    Some(known.map_or_else(|| s.to_string(), str::to_string))
}

/// The normalised name of a recognised severity word.
pub(crate) fn known_severity(s: &str) -> Option<&'static str> {
    match s.to_lowercase().as_str() {
        "critical" | "crit" | "p1" | "page" | "error" | "err" | "fatal" | "emergency" | "emerg"
        | "sev1" => Some("critical"),
        "warning" | "warn" | "p2" | "p3" | "sev2" | "sev3" => Some("warning"),
        "info" | "informational" | "notice" | "p4" | "p5" | "sev4" | "sev5" => Some("info"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_prefixes() {
        let p = status_prefix("[FIRING:2, RESOLVED:1] Disk");
        assert_eq!((p.status, p.rest), (Some(AlertStatus::Firing), "Disk"));
        let p = status_prefix("[RESOLVED] HighErrorRate api");
        assert_eq!(p.status, Some(AlertStatus::Resolved));
        assert_eq!(p.rest, "HighErrorRate api");
        let p = status_prefix("[Triggered on {host:web-1}] High CPU");
        assert_eq!(p.scope.as_deref(), Some("host:web-1"));
        assert_eq!(p.rest, "High CPU");
        let p = status_prefix("[Warn] Queue depth");
        assert_eq!(p.severity, Some("warning"));
        let p = status_prefix("[Re-Triggered] X");
        assert_eq!(p.status, Some(AlertStatus::Firing));
        let p = status_prefix("[prod] Database down");
        assert_eq!((p.status, p.rest), (None, "[prod] Database down"));
        let p = status_prefix("RESOLVED: disk ok");
        assert_eq!((p.status, p.rest), (Some(AlertStatus::Resolved), "disk ok"));
        let p = status_prefix("Note: the [x");
        assert_eq!(p.status, None);
        assert_eq!(status_prefix("OK: so the DB is down").status, None);
        assert_eq!(status_prefix("No data: nothing").status, None);
        assert_eq!(status_prefix("[unterminated").rest, "[unterminated");
    }

    #[test]
    fn severities_normalise() {
        for (raw, want) in [
            ("CRITICAL", "critical"),
            ("crit", "critical"),
            ("P1", "critical"),
            ("page", "critical"),
            ("error", "critical"),
            ("warn", "warning"),
            ("P3", "warning"),
            ("info", "info"),
            ("P5", "info"),
            ("Major", "Major"),
        ] {
            assert_eq!(normalize_severity(raw).as_deref(), Some(want), "{raw}");
        }
        assert_eq!(normalize_severity("  "), None);
    }

    #[test]
    fn counts_are_read() {
        let c = |h: &str| status_prefix(h).counts;
        assert_eq!(
            c("[FIRING:3] X"),
            Some(AlertCounts {
                firing: 3,
                resolved: 0
            })
        );
        assert_eq!(
            c("[FIRING:2, RESOLVED:1] X"),
            Some(AlertCounts {
                firing: 2,
                resolved: 1
            })
        );
        assert_eq!(c("[RESOLVED] X"), None);
        assert_eq!(c("[Triggered on {host:a}] X"), None);
    }
}
