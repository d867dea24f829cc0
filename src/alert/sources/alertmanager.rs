//! Alertmanager: its default Slack title, the community template, and the title layout other
//! tools share.
//!
//! `template/default.tmpl` (Alertmanager v0.34.0) renders `slack.default.title` as
//! `[FIRING:<n>] <group-label values> (<other common-label values>)`: label **values** only,
//! sorted by label name, joined by spaces; `title_link` is `<ExternalURL>/#/alerts?receiver=…`,
//! `text` is empty and the username is `Alertmanager`. Grafana's default title is the same, and
//! PagerDuty and Opsgenie incidents created by Alertmanager carry it as their title.
//!
//! Reading such a title, only what a value says of itself is taken ([`positional`]):
//!
//! - `alertname`: the first value, when it is shaped like an alert name (`KubePodNotReady`):
//!   `alertname` sorts first among the usual label names, in the group values or, when it is not
//!   a group label, in the parenthesised common values;
//! - `severity` and `env`: words of those closed vocabularies (`critical`, `prod`);
//! - values equal to a label the message names elsewhere are that label;
//! - every other value stays a positional value: its label is unknown, it never becomes a label
//!   or, by itself, the service (it does when the text names it too, see `pick`); it is a target
//!   hint without a key.
//!
//! Titles whose parentheses hold `k="v"` pairs (SigNoz's default, many custom templates) give
//! those pairs as labels. The community template (`*Alert:* … *Description:* … *Details:*
//! • *k:* `v``) is read by [`super::sections`].

use super::{Findings, known_severity, status_prefix, words};

/// Alertmanager's status prefix, its `#/alerts` link, or the community template's sections.
pub(super) fn looks_like(headline: &str, title_link: &str, body: &str) -> bool {
    let upper = headline.trim_start().to_uppercase();
    let community = {
        let lines = || body.lines().map(str::trim);
        lines().any(|l| l.starts_with("*Alert:*")) && lines().any(|l| l.starts_with("*Details:*"))
    };
    upper.starts_with("[FIRING:")
        || upper.starts_with("[RESOLVED")
        || title_link.contains("#/alerts")
        || community
}

/// Labels and positional values from an Alertmanager-layout title.
pub(super) fn extract(title: &str, f: &mut Findings) {
    read_title(title, f);
}

/// Read a title's trailing `( … )` (pairs or positional values) and, for a title that is a
/// value list, its leading values; returns the part before the parentheses.
pub(super) fn read_title<'a>(title: &'a str, f: &mut Findings) -> &'a str {
    let title = status_prefix(title).rest.trim();
    let (group, parens) = split_parens(title);
    match parens {
        Some(p) if p.contains('=') => {
            for (k, v) in pairs(p) {
                f.label(k, &v);
            }
        }
        Some(p) => {
            let group_values: Vec<&str> = group.split_whitespace().collect();
            let common: Vec<&str> = p.split_whitespace().collect();
            positional(&group_values, &common, f);
        }
        None if is_value_list(title) => {
            let values: Vec<&str> = title.split_whitespace().collect();
            positional(&values, &[], f);
        }
        None => {}
    }
    group
}

/// `group (parens)` → (`group`, `Some(parens)`); a title without trailing parentheses → (title,
/// None).
pub(super) fn split_parens(title: &str) -> (&str, Option<&str>) {
    let Some(inner) = title.strip_suffix(')') else {
        return (title, None);
    };
    let Some(open) = inner.rfind('(') else {
        return (title, None);
    };
    let group = inner.get(..open).unwrap_or_default().trim();
    (group, inner.get(open + 1..))
}

/// Read positional values: the alert name, closed-vocabulary words, values other labels explain;
/// the rest are kept as positional values.
fn positional(group: &[&str], common: &[&str], f: &mut Findings) {
    f.positional_title = true;
    fn clean<'a>(values: &[&'a str]) -> Vec<&'a str> {
        values
            .iter()
            .map(|v| v.trim_matches(','))
            .filter(|v| !v.is_empty())
            .collect()
    }
    let (group, common) = (clean(group), clean(common));
    let name_at = if f.labels.contains_key("alertname") {
        None
    } else if group.first().is_some_and(|v| looks_like_alertname(v)) {
        Some(0)
    } else if common.first().is_some_and(|v| looks_like_alertname(v)) {
        Some(group.len())
    } else {
        None
    };
    for (i, value) in group.iter().chain(common.iter()).enumerate() {
        let lower = value.to_lowercase();
        if Some(i) == name_at {
            f.label("alertname", value);
        } else if f.labels.values().any(|v| v == value) {
            // Explained by a label the message names with its key.
        } else if known_severity(value).is_some() {
            f.label("severity", value);
        } else if words::is_env_word(&lower) {
            f.label("env", value);
        } else if !f.positional.iter().any(|p| p == value) {
            f.positional.push((*value).to_string());
        }
    }
}

/// A title that is nothing but label values: at most 8 value-shaped words, the first a compound
/// alert name (`HighErrorRate api`, `KubePodNotReady payments`, `node_disk_full`).
fn is_value_list(title: &str) -> bool {
    let values: Vec<&str> = title.split_whitespace().collect();
    let value_shaped = |v: &&str| {
        v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/' | '@'))
            && !v.ends_with([':', '.'])
    };
    (1..=8).contains(&values.len())
        && values.iter().all(value_shaped)
        && values.first().is_some_and(|v| is_compound_name(v))
}

/// `HighErrorRate`, `KubePodCrashLooping`, `node_disk_full`: one word with a capital or `_`.
pub(super) fn looks_like_alertname(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_alphabetic())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        && v.chars().any(|c| c.is_ascii_uppercase() || c == '_')
}

/// An alert name made of several words: two capitals (`InstanceDown`), or `_`/`:`.
fn is_compound_name(v: &str) -> bool {
    looks_like_alertname(v)
        && (v.chars().filter(char::is_ascii_uppercase).count() >= 2 || v.contains(['_', ':']))
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
pub(super) fn is_plain_name(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_lowercase())
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

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
    fn closed_vocabularies_and_the_alert_name() {
        let mut f = Findings::default();
        extract("HighErrorRate api (prod critical)", &mut f);
        assert_eq!(f.labels["alertname"], "HighErrorRate");
        assert_eq!(f.labels["severity"], "critical");
        assert_eq!(f.labels["env"], "prod");
        assert_eq!(f.positional, ["api"]);
        assert!(f.positional_title);
    }

    #[test]
    fn positional_values_stay_unlabelled() {
        let mut f = Findings::default();
        extract(
            "KubePodNotReady payments (kube-state-metrics http 10.1.4.7:8080 kube-state-metrics)",
            &mut f,
        );
        assert_eq!(f.labels.len(), 1, "{:?}", f.labels);
        assert_eq!(f.labels["alertname"], "KubePodNotReady");
        assert_eq!(
            f.positional,
            ["payments", "kube-state-metrics", "http", "10.1.4.7:8080"]
        );
        // alertname not grouped: first of the sorted common values.
        let mut f = Findings::default();
        extract("payments (KubePodNotReady warning)", &mut f);
        assert_eq!(f.labels["alertname"], "KubePodNotReady");
        assert_eq!(f.positional, ["payments"]);
    }

    #[test]
    fn value_lists_without_parentheses() {
        let mut f = Findings::default();
        extract("KubePodNotReady payments", &mut f);
        assert_eq!(f.labels["alertname"], "KubePodNotReady");
        let mut f = Findings::default();
        extract("Disk almost full on node-3", &mut f);
        assert!(f.labels.is_empty() && !f.positional_title);
        assert!(!is_pod_name("storefront-tls"));
        assert!(is_pod_name("notifications-rlwpcqhgf2-hrtvr"));
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
            extract(t, &mut f);
        }
    }

    #[test]
    fn recognises_prefix_link_or_community_sections() {
        assert!(looks_like("[FIRING:3] X", "", ""));
        assert!(looks_like("[RESOLVED] X", "", ""));
        assert!(looks_like(
            "X",
            "http://am:9093/#/alerts?receiver=slack",
            ""
        ));
        assert!(looks_like("X", "", "*Alert:* a\n*Details:*\n • *k:* `v`"));
        assert!(!looks_like("X", "", ""));
    }
}
