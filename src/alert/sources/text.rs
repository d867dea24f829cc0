//! Plain-text alerts and the word heuristics every dialect falls back on.
//!
//! [`text_alert`] builds an alert from free text (`/rca <text>`, `replay "<text>"`): the first
//! non-empty line is the title, the other lines the text. The heuristics read what people write:
//!
//! - service: a `*-service`/`*-svc` word, `service X`, `service=X`, `for X`, `on X`
//!   ("Database connection pool exhausted for user-service" → `user-service`);
//! - host: the first hostname-like word with a dot ("SSL certificate for api.example.com …");
//! - labels `node`, `pod`, `container`, `namespace` from "node-3", "node X", "pod X",
//!   "container X", "namespace X", and `key=value`/`key:value` words for well-known keys.

use super::{Findings, MessageParts, clip_bytes, words};
use crate::alert::{Alert, AlertSource, MAX_ALERT_BYTES, Origin};

/// An alert from free text (`/rca <text>`, `replay "<text>"`).
pub fn text_alert(text: &str) -> Alert {
    let (kept, truncated) = clip_bytes(text, MAX_ALERT_BYTES);
    let parts = MessageParts {
        body: kept.to_string(),
        links: bare_links(kept),
        ..MessageParts::default()
    };
    let mut alert = super::build(&parts, AlertSource::Text, Origin::Manual);
    alert.truncated = truncated;
    alert
}

/// `http(s)://` URLs written in free text, in order, without repeats.
fn bare_links(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split_whitespace().take(MAX_WORDS) {
        let Some(start) = word.find("http://").or_else(|| word.find("https://")) else {
            continue;
        };
        let url = word
            .get(start..)
            .unwrap_or_default()
            .trim_end_matches([')', ']', '>', ',', '.', ';', '"', '\'', '*', '_', '`']);
        if url.len() > "https://".len() && !out.iter().any(|u| u == url) && out.len() < 64 {
            out.push(url.to_string());
        }
    }
    out
}

/// Keys whose `key=value` / `key:value` words are taken as labels from any text.
const TEXT_KEYS: &[&str] = &[
    "service",
    "namespace",
    "severity",
    "priority",
    "env",
    "host",
    "instance",
    "pod",
    "container",
    "node",
    "cluster",
    "region",
    "alertname",
    "job",
    "deployment",
];

/// Labels any text can name, added only where the dialect left them unset.
pub(super) fn extract(title: &str, body: &str, f: &mut Findings) {
    for text in [title, body] {
        key_value_words(text, f);
        named_objects(text, f);
    }
}

/// `severity=critical`, `service:checkout` … for the well-known keys.
fn key_value_words(text: &str, f: &mut Findings) {
    for word in text.split_whitespace().take(MAX_WORDS) {
        let word = clean(word);
        let Some((k, v)) = word.split_once('=').or_else(|| word.split_once(':')) else {
            continue;
        };
        let key = k.to_lowercase();
        if TEXT_KEYS.contains(&key.as_str()) && !v.is_empty() {
            f.label(&key, v);
        }
    }
}

/// "node-3", "node X", "pod X", "container X", "namespace X".
fn named_objects(text: &str, f: &mut Findings) {
    let words: Vec<&str> = text.split_whitespace().take(MAX_WORDS).collect();
    for (i, raw) in words.iter().enumerate() {
        let word = clean(raw);
        let lower = word.to_lowercase();
        if is_node_name(&lower) {
            f.text_label("node", word);
            continue;
        }
        let next = words.get(i + 1).map(|w| clean(w)).unwrap_or_default();
        match lower.as_str() {
            "node" if is_object_name(next) && next.contains(|c: char| c.is_ascii_digit()) => {
                f.text_label("node", next)
            }
            "pod" => pod_reference(next, f),
            "container" if is_object_name(next) => f.text_label("container", next),
            "namespace" | "ns" if is_object_name(next) => f.text_label("namespace", next),
            // "prod deployment", "staging namespace": the environment the text is about.
            "prod" | "production" | "staging"
                if matches!(
                    next.to_lowercase().as_str(),
                    "deployment" | "namespace" | "cluster" | "environment" | "pods" | "service"
                ) =>
            {
                f.text_label("env", &lower)
            }
            _ => {}
        }
    }
}

/// `checkout-7d9f` or `prod/checkout-7d9f` (namespace/pod) after the word "pod".
fn pod_reference(next: &str, f: &mut Findings) {
    let (namespace, pod) = match next.split_once('/') {
        Some((ns, pod)) => (Some(ns), pod),
        None => (None, next),
    };
    if !is_object_name(pod) || !pod.contains('-') {
        return;
    }
    if let Some(ns) = namespace.filter(|ns| is_object_name(ns)) {
        f.text_label("namespace", ns);
    }
    f.text_label("pod", pod);
}

/// Words looked at per text: enough for any real alert, bounded for hostile input.
const MAX_WORDS: usize = 4096;

/// `node-3`, `node_12`, `node-a1` (a digit is required: `node-exporter` is no node).
pub(super) fn is_node_name(lower: &str) -> bool {
    lower
        .strip_prefix("node-")
        .or_else(|| lower.strip_prefix("node_"))
        .is_some_and(|rest| {
            rest.chars().all(|c| c.is_ascii_alphanumeric())
                && rest.chars().any(|c| c.is_ascii_digit())
        })
}

/// A Kubernetes-style object name: `checkout-7d9f`, `api`, `ip-10-0-0-1.ec2.internal`.
fn is_object_name(w: &str) -> bool {
    (1..=253).contains(&w.len())
        && w.chars().any(|c| c.is_ascii_alphabetic())
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !words::is_stopword(&w.to_lowercase())
}

/// Trim punctuation a word picks up in prose and Slack mrkdwn.
fn clean(w: &str) -> &str {
    w.trim_matches(|c: char| {
        matches!(
            c,
            ',' | ';'
                | '!'
                | '?'
                | '('
                | ')'
                | '['
                | ']'
                | '{'
                | '}'
                | '"'
                | '\''
                | '`'
                | '*'
                | '_'
                | '<'
                | '>'
        )
    })
    .trim_end_matches(['.', ':'])
}

/// Word endings that mark a service name in prose (`user-service`, `search-api`).
const SERVICE_SUFFIXES: &[&str] = &[
    "-service",
    "_service",
    "-svc",
    "-api",
    "-server",
    "-worker",
    "-gateway",
    "-backend",
    "-frontend",
];

/// A service named in prose, if any.
pub(super) fn service_in(text: &str) -> Option<String> {
    let raw: Vec<&str> = text.split_whitespace().take(MAX_WORDS).collect();
    let words: Vec<&str> = raw.iter().map(|w| clean(w)).collect();
    let suffixed = words.iter().find(|w| {
        let l = w.to_lowercase();
        SERVICE_SUFFIXES.iter().any(|s| l.ends_with(s)) && is_service_name(w)
    });
    if let Some(w) = suffixed {
        return Some((*w).to_string());
    }
    // A bold key (`*Service:*` of a field or bullet) is a label's name, not prose: the tool's
    // fields say what their service is (a PagerDuty service is no workload).
    let bold = |i: usize| {
        raw.get(i)
            .is_some_and(|w| w.starts_with('*') || w.ends_with('*'))
    };
    ["service", "for", "on"].iter().find_map(|lead| {
        words
            .windows(2)
            .enumerate()
            .find_map(|(i, pair)| match pair {
                [w, next] if w.eq_ignore_ascii_case(lead) && !bold(i) => {
                    let name = next.split(':').next().unwrap_or_default();
                    is_service_name(name).then(|| name.to_string())
                }
                _ => None,
            })
    })
}

/// A plausible service name: starts with a letter, `[A-Za-z0-9_-]`, not a stopword, not an
/// acronym like `CPU`, not a node name.
fn is_service_name(w: &str) -> bool {
    let lower = w.to_lowercase();
    (2..=63).contains(&w.len())
        && w.starts_with(|c: char| c.is_ascii_alphabetic())
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && w != w.to_uppercase()
        && !words::is_free_word(&lower)
        && !words::is_monitoring_component(&lower)
        && !is_node_name(&lower)
}

/// The first hostname-like word with a dot (`api.example.com`, `ledger.payments.svc`) that is
/// not one of `links` (hosts of the message's links, and a link's label followed by its URL, are
/// links, not the host the alert is about).
pub(super) fn host_in(text: &str, links: &[String]) -> Option<String> {
    let mut words = text.split_whitespace().take(MAX_WORDS).peekable();
    while let Some(raw) = words.next() {
        let next = words.peek();
        let next_is_assign = next.is_some_and(|n| n.starts_with('='));
        let next_is_url = next.is_some_and(|n| n.starts_with("(http"));
        let skip = next_is_url
            || raw.contains("://")
            || raw.contains('=')
            || raw.contains('@')
            || raw.trim_end_matches('*').ends_with(':')
            || next_is_assign;
        if skip {
            continue;
        }
        let word = clean(raw);
        let word = word.split('/').next().unwrap_or_default();
        let word = word.split(':').next().unwrap_or_default();
        let lower = word.to_lowercase();
        if is_hostname(word) && !links.contains(&lower) {
            return Some(lower);
        }
    }
    None
}

/// Labels separated by dots, the last one alphabetic and not a file extension or attribute name.
fn is_hostname(w: &str) -> bool {
    let labels: Vec<&str> = w.split('.').collect();
    let last = labels.last().copied().unwrap_or_default().to_lowercase();
    labels.len() >= 2
        && w.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        && last.len() >= 2
        && last.chars().all(|c| c.is_ascii_alphabetic())
        && !NOT_TLDS.contains(&last.as_str())
}

/// Endings that make a dotted word a file name or an attribute key, not a host.
const NOT_TLDS: &[&str] = &[
    "yaml",
    "yml",
    "json",
    "log",
    "txt",
    "go",
    "rs",
    "py",
    "js",
    "ts",
    "conf",
    "cfg",
    "sh",
    "md",
    "html",
    "java",
    "rb",
    "toml",
    "ini",
    "csv",
    "xml",
    "name",
    "id",
    "type",
    "version",
    "status",
    "code",
    "count",
    "size",
    "env",
    "environment",
    "namespace",
    "method",
    "route",
    "target",
    "path",
    "sql",
    "exe",
    "jar",
    "tar",
    "gz",
    "zip",
    "png",
    "jpg",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertStatus;

    #[test]
    fn seed_pool_alert() {
        let a = text_alert("Database connection pool exhausted for user-service");
        assert_eq!(
            a.title,
            "Database connection pool exhausted for user-service"
        );
        assert_eq!(a.text, "");
        assert_eq!(a.source, AlertSource::Text);
        assert_eq!(a.origin, Origin::Manual);
        assert_eq!(a.status, AlertStatus::Firing);
        assert_eq!(a.service.as_deref(), Some("user-service"));
        assert_eq!(a.host, None);
        assert_eq!(a.fingerprint.len(), 16);
    }

    #[test]
    fn seed_ssl_alert() {
        let a = text_alert("SSL certificate for api.example.com expires in 24 hours");
        assert_eq!(a.host.as_deref(), Some("api.example.com"));
        assert_eq!(a.service, None);
    }

    #[test]
    fn node_pod_container_namespace() {
        let a = text_alert("Disk usage on node-3 at 97%");
        assert_eq!(a.labels.get("node").map(String::as_str), Some("node-3"));
        assert_eq!(a.service, None);
        let a = text_alert("Pod checkout-7d9f is in CrashLoopBackOff in namespace shop");
        assert_eq!(a.labels["pod"], "checkout-7d9f");
        assert_eq!(a.namespace.as_deref(), Some("shop"));
        let a = text_alert("Node filesystem almost full. Pods on node: report-worker");
        assert_eq!(a.labels.get("node"), None);
        let a = text_alert("Evictions on node ip-10-0-5-23.ec2.internal");
        assert_eq!(a.labels["node"], "ip-10-0-5-23.ec2.internal");
        let a = text_alert("Pod prod/notifications-rlwpcqhgf2-hrtvr is crash looping");
        assert_eq!(a.labels["pod"], "notifications-rlwpcqhgf2-hrtvr");
        assert_eq!(a.namespace.as_deref(), Some("prod"));
        let a = text_alert("Is anyone looking at search-api? replicas are down");
        assert_eq!(a.service.as_deref(), Some("search-api"));
        let a = text_alert("Container api OOMKilled: memory usage above limit");
        assert_eq!(a.service.as_deref(), Some("api"));
    }

    #[test]
    fn title_and_text_split() {
        let a = text_alert("\n\n  High latency  \nline two\n\nline three");
        assert_eq!(a.title, "High latency");
        assert_eq!(a.text, "line two\n\nline three");
        let long = "x".repeat(500);
        let a = text_alert(&format!("{long}\nsecond"));
        assert_eq!(a.title.len(), 200);
        assert_eq!(a.text, format!("{long}\nsecond"));
    }

    #[test]
    fn service_heuristics() {
        assert_eq!(service_in("High CPU on web").as_deref(), Some("web"));
        assert_eq!(
            service_in("CPU throttling above 50% for search").as_deref(),
            Some("search")
        );
        assert_eq!(
            service_in("ImagePullBackOff for payments:v2.3.1").as_deref(),
            Some("payments")
        );
        assert_eq!(service_in("errors for 10m on the box"), None);
        assert_eq!(
            service_in("service billing is slow").as_deref(),
            Some("billing")
        );
        assert_eq!(service_in("High CPU on CPU"), None);
        assert_eq!(service_in(""), None);
    }

    #[test]
    fn host_heuristics() {
        assert_eq!(host_in("see https://x.example.com/a", &[]), None);
        assert_eq!(host_in("p99 2.7s over 5m, v2.3.1, e.g. this", &[]), None);
        assert_eq!(host_in("read config.yaml", &[]), None);
        assert_eq!(host_in("• *k8s.namespace.name:* prod", &[]), None);
        assert_eq!(host_in(" - service.name = checkout", &[]), None);
        assert_eq!(
            host_in("NXDOMAIN for ledger.payments.svc.", &[]).as_deref(),
            Some("ledger.payments.svc")
        );
        assert_eq!(
            host_in("(db.internal:5432)", &[]).as_deref(),
            Some("db.internal")
        );
    }

    #[test]
    fn an_environment_word_before_a_k8s_noun_is_the_env() {
        let a = text_alert("search-api prod deployment has 3/6 replicas available");
        assert_eq!(a.labels["env"], "prod");
        assert_eq!(a.namespace.as_deref(), Some("prod"));
        let b = text_alert("the product page is slow");
        assert!(!b.labels.contains_key("env"));
    }

    #[test]
    fn key_value_words_are_labels() {
        let a = text_alert("Queue backlog severity=P2 env:prod");
        assert_eq!(a.severity.as_deref(), Some("warning"));
        assert_eq!(a.labels["env"], "prod");
    }

    #[test]
    fn resolved_prefix_in_text() {
        let a = text_alert("[RESOLVED] Disk usage on node-3");
        assert_eq!(a.status, AlertStatus::Resolved);
        assert_eq!(a.title, "Disk usage on node-3");
    }

    #[test]
    fn huge_text_is_truncated() {
        let a = text_alert(&"é".repeat(MAX_ALERT_BYTES));
        assert!(a.truncated);
        assert!(a.text.len() <= MAX_ALERT_BYTES && a.title.chars().count() <= 200);
    }
}
