//! Alertmanager's default Slack template.
//!
//! `title = [FIRING:<n>] <group-label values> (<other common-label values>)`, `title_link =
//! <ExternalURL>/#/alerts?receiver=<r>`, `text` empty unless the user templates `*Summary:*` /
//! `*Description:*`. SigNoz and Grafana titles use the same layout, so [`title_labels`] is shared.
//!
//! From the title: the parenthesised part is labels, either `k="v", …` pairs or bare values, of
//! which severity words (`critical`) and environment words (`prod`) are recognised; the first
//! group value is the `alertname` when it looks like one (`HighErrorRate`), and a second,
//! lower-case group value is taken as the service (`HighErrorRate api` → `api`).

use super::text::is_node_name;
use super::{Findings, known_severity, status_prefix};

/// Alertmanager's status prefix, or its `#/alerts` link.
pub(super) fn looks_like(headline: &str, title_link: &str) -> bool {
    let upper = headline.trim_start().to_uppercase();
    upper.starts_with("[FIRING:")
        || upper.starts_with("[RESOLVED")
        || title_link.contains("#/alerts")
}

/// Labels, alertname and service from an Alertmanager title.
pub(super) fn extract(title: &str, _body: &str, f: &mut Findings) {
    let group = title_labels(title, f);
    let mut values = group.split_whitespace();
    if let Some(first) = values.next().filter(|v| looks_like_alertname(v)) {
        f.label("alertname", first);
        if let (Some(second), None) = (values.next(), values.next()) {
            let plausible = second
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
                && second.starts_with(|c: char| c.is_ascii_lowercase());
            if plausible {
                f.service = Some(second.to_string());
            }
        }
    }
}

/// `HighErrorRate`, `KubePodCrashLooping`, `node_disk_full`: one word with a capital or `_`.
pub(super) fn looks_like_alertname(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_alphabetic())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        && v.chars().any(|c| c.is_ascii_uppercase() || c == '_')
}

/// Read the trailing `( … )` of a title into labels; returns the group part before it.
pub(super) fn title_labels<'a>(title: &'a str, f: &mut Findings) -> &'a str {
    let title = status_prefix(title).rest.trim();
    let Some(inner) = title.strip_suffix(')') else {
        return title;
    };
    let Some(open) = inner.rfind('(') else {
        return title;
    };
    let group = inner.get(..open).unwrap_or_default().trim();
    let parens = inner.get(open + 1..).unwrap_or_default();
    if parens.contains('=') {
        for (k, v) in pairs(parens) {
            f.label(k, &v);
        }
    } else {
        bare_values(parens, f);
    }
    group
}

/// Bare common-label values: severity and environment words, pod names, and — when exactly one
/// plain name is left over — a fallback service (`(prod billing critical)` → `billing`).
fn bare_values(parens: &str, f: &mut Findings) {
    let mut names: Vec<&str> = Vec::new();
    for value in parens.split_whitespace().map(|v| v.trim_matches(',')) {
        if known_severity(value).is_some() {
            f.label("severity", value);
        } else if ENV_WORDS.contains(&value.to_lowercase().as_str()) {
            f.label("env", value);
        } else if is_pod_name(value) {
            f.label("pod", value);
        } else if is_plain_name(value) && !is_node_name(value) && !names.contains(&value) {
            names.push(value);
        }
    }
    if let [only] = names.as_slice() {
        f.fallback_service = Some((*only).to_string());
    }
}

/// `checkout-7d9f8b6c5d-x2k4p`: a Deployment pod (name, ReplicaSet hash, 5-char suffix).
pub(super) fn is_pod_name(v: &str) -> bool {
    let mut segments = v.rsplitn(3, '-');
    match (segments.next(), segments.next(), segments.next()) {
        (Some(suffix), Some(hash), Some(base)) => {
            let alnum = |s: &str| {
                s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            };
            !base.is_empty()
                && suffix.len() == 5
                && (5..=10).contains(&hash.len())
                && alnum(suffix)
                && alnum(hash)
                && (suffix.chars().any(|c| c.is_ascii_digit())
                    || hash.chars().any(|c| c.is_ascii_digit()))
        }
        _ => false,
    }
}

/// A lower-case name without dots: `billing`, `storefront-tls`.
fn is_plain_name(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_lowercase())
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

const ENV_WORDS: &[&str] = &[
    "prod",
    "production",
    "staging",
    "stage",
    "dev",
    "development",
    "qa",
    "test",
];

/// `k="v", k2="v, 2", k3=v3` → pairs; quotes are optional, commas inside quotes are kept.
pub(super) fn pairs(s: &str) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim();
        let after = after.trim_start();
        let (value, remaining) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.find('"') {
                Some(end) => (
                    quoted.get(..end).unwrap_or_default().to_string(),
                    quoted.get(end + 1..).unwrap_or_default(),
                ),
                None => (quoted.to_string(), ""),
            },
            None => match after.find(',') {
                Some(end) => (
                    after.get(..end).unwrap_or_default().trim().to_string(),
                    after.get(end..).unwrap_or_default(),
                ),
                None => (after.trim().to_string(), ""),
            },
        };
        out.push((key, value));
        rest = remaining;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_values_and_group() {
        let mut f = Findings::default();
        extract("HighErrorRate api (prod critical)", "", &mut f);
        assert_eq!(f.labels["alertname"], "HighErrorRate");
        assert_eq!(f.labels["severity"], "critical");
        assert_eq!(f.labels["env"], "prod");
        assert_eq!(f.service.as_deref(), Some("api"));
        assert_eq!(f.fallback_service, None);
    }

    #[test]
    fn one_leftover_value_is_a_fallback_service() {
        let mut f = Findings::default();
        extract(
            "KubePodCrashLooping (notifications prod notifications-rlwpcqhgf2-hrtvr notifications warning)",
            "",
            &mut f,
        );
        assert_eq!(f.labels["pod"], "notifications-rlwpcqhgf2-hrtvr");
        assert_eq!(f.fallback_service.as_deref(), Some("notifications"));
        let mut f = Findings::default();
        extract("X (prod a b critical)", "", &mut f);
        assert_eq!(f.fallback_service, None);
        assert!(!is_pod_name("storefront-tls"));
        assert!(!is_pod_name("a-b-c"));
    }

    #[test]
    fn key_value_pairs() {
        let p = pairs(r#"severity="critical", job="a, b", x=1"#);
        assert_eq!(
            p,
            vec![
                ("severity", "critical".to_string()),
                ("job", "a, b".to_string()),
                ("x", "1".to_string())
            ]
        );
        assert!(pairs("").is_empty());
        assert_eq!(
            pairs(r#"k="unterminated"#),
            vec![("k", "unterminated".to_string())]
        );
    }

    #[test]
    fn odd_titles_do_not_panic() {
        for t in [
            "",
            ")",
            "(",
            "()",
            "a (=)",
            "x (\"=\")",
            "[FIRING:1]",
            "(((( ))",
        ] {
            let mut f = Findings::default();
            extract(t, "", &mut f);
        }
    }

    #[test]
    fn recognises_prefix_or_link() {
        assert!(looks_like("[FIRING:3] X", ""));
        assert!(looks_like("[RESOLVED] X", ""));
        assert!(looks_like("X", "http://am:9093/#/alerts?receiver=slack"));
        assert!(!looks_like("X", ""));
    }
}
