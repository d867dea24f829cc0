//! Choosing the alert's service, namespace, host and severity from what was found, and putting
//! the [`Alert`] together.
//!
//! - service: a service-like label (`service`, `service_name`, `app`, `job`, `deployment`,
//!   `container`, …), else prose in the title (unless the title is a list of label values) and
//!   the text ("… for user-service"), else the one positional title value the text also names
//!   (`(prod billing critical)` with "billing: connections failing" in the description). Free
//!   words (`longer`, `high`, `default`, environment and severity words) never qualify, nor do
//!   the monitoring system's own values (`kube-state-metrics`, `http`).
//! - namespace: a namespace label, else the `env` word.
//! - host: a host label (`instance` without its port, a probe URL's host), else the first host
//!   name in the title or text that is neither the host of one of the message's links nor one
//!   group member's own value.
//! - severity: the status prefix's (`[Warn]`), else a severity label, normalised.

use std::collections::BTreeMap;

use super::{Findings, alertmanager, hints, normalize_severity, text, words};
use crate::alert::links::hosts;
use crate::alert::{Alert, AlertSource, AlertStatus, Link, Origin, SlackRef};

pub(super) const SERVICE_KEYS: &[&str] = &[
    "service",
    "service_name",
    "service.name",
    "kube_service",
    "app",
    "app.kubernetes.io/name",
    "job",
    "deployment",
    "k8s.deployment.name",
    "k8s_deployment_name",
    "kube_deployment",
    "container",
    "kube_container_name",
    "k8s.container.name",
    "k8s_container_name",
];
pub(super) const NAMESPACE_KEYS: &[&str] = &[
    "namespace",
    "kube_namespace",
    "k8s.namespace.name",
    "k8s_namespace_name",
    "exported_namespace",
];
const HOST_KEYS: &[&str] = &["host", "hostname", "host.name", "host_name", "instance"];
const SEVERITY_KEYS: &[&str] = &["severity", "priority", "level", "alert_severity"];

/// Turn findings into the alert: pick service/namespace/host/severity, hints, fingerprint.
pub(super) fn finish(
    title: String,
    body: String,
    source: AlertSource,
    origin: Origin,
    f: Findings,
    links: Vec<Link>,
) -> Alert {
    let prose_title = if f.positional_title {
        ""
    } else {
        title.as_str()
    };
    let service = service_label(&f.labels)
        .or_else(|| text::service_in(prose_title))
        .or_else(|| text::service_in(&body))
        .or_else(|| corroborated(&f.positional, &body, &f.labels));
    // With no namespace label, an environment word (`prod`, `staging`) is the best guess: clusters
    // commonly name namespaces after environments, and a wrong guess only costs "no data".
    let namespace = first_label(&f.labels, NAMESPACE_KEYS).or_else(|| f.labels.get("env").cloned());
    // Not the host: a link's host, nor one group member's own value (`node-a` of three nodes).
    let mut not_hosts = hosts(&links);
    for member in &f.group {
        let own = member
            .labels
            .iter()
            .filter(|(k, _)| f.member_keys.contains(*k));
        not_hosts.extend(
            own.filter_map(|(_, v)| host_of(v))
                .map(|h| h.to_lowercase()),
        );
    }
    let host = f
        .host
        .clone()
        .or_else(|| first_label(&f.labels, HOST_KEYS).and_then(|h| host_of(&h)))
        .or_else(|| text::host_in(&title, &not_hosts))
        .or_else(|| text::host_in(&body, &not_hosts));
    let severity = f
        .severity
        .clone()
        .or_else(|| first_label(&f.labels, SEVERITY_KEYS))
        .and_then(|s| normalize_severity(&s));
    let target_hints = hints::collect(&f, host.as_deref());
    let mut alert = Alert {
        title,
        text: body,
        source,
        status: f.status.unwrap_or(AlertStatus::Firing),
        origin,
        service,
        namespace,
        host,
        severity,
        labels: f.labels,
        links,
        fired_at: None,
        fingerprint: String::new(),
        slack: SlackRef::default(),
        truncated: false,
        group: f.group,
        counts: f.counts,
        target_hints,
    };
    alert.fingerprint = crate::alert::fingerprint::fingerprint(&alert);
    alert
}

/// The first service-like label whose value is not the monitoring system's own
/// (`job="kube-state-metrics"`, `service="prometheus-node-exporter"` name the scraper).
fn service_label(labels: &BTreeMap<String, String>) -> Option<String> {
    SERVICE_KEYS
        .iter()
        .filter_map(|k| labels.get(*k))
        .find(|v| !words::is_monitoring_value(&v.to_lowercase()))
        .cloned()
}

pub(super) fn first_label(labels: &BTreeMap<String, String>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| labels.get(*k)).cloned()
}

/// The host a host label names: `web-1:9100` → `web-1`, `https://shop.example.com/health` →
/// `shop.example.com` (a probe's target); IPv6 in brackets and bare IPv6 are left alone.
fn host_of(value: &str) -> Option<String> {
    if value.contains("://") {
        let url = url::Url::parse(value).ok()?;
        return url.host_str().map(str::to_lowercase);
    }
    Some(strip_port(value))
}

/// `host:9100` → `host`; IPv6 in brackets and bare IPv6 are left alone.
pub(super) fn strip_port(host: &str) -> String {
    match host.rsplit_once(':') {
        Some((h, port))
            if !h.is_empty() && !h.contains(':') && port.chars().all(|c| c.is_ascii_digit()) =>
        {
            h.to_string()
        }
        _ => host.to_string(),
    }
}

/// The one positional title value that could be a service and that the text names as a word.
/// Values explained by a label, pod names, hosts, addresses, free words and the monitoring
/// system's own values are not candidates.
fn corroborated(
    positional: &[String],
    body: &str,
    labels: &BTreeMap<String, String>,
) -> Option<String> {
    let words: Vec<&str> = body
        .split_whitespace()
        .take(4096)
        .map(|w| {
            w.trim_matches(|c: char| {
                matches!(
                    c,
                    ',' | '.' | ';' | ':' | '(' | ')' | '[' | ']' | '"' | '\'' | '`' | '*' | '!'
                )
            })
        })
        .collect();
    let mut found: Vec<&String> = Vec::new();
    for value in positional {
        let lower = value.to_lowercase();
        let candidate = alertmanager::is_plain_name(value)
            && !alertmanager::is_pod_name(value)
            && !text::is_node_name(&lower)
            && !words::is_free_word(&lower)
            && !words::is_monitoring_value(&lower)
            && !labels.values().any(|v| v == value);
        if candidate && words.contains(&value.as_str()) && !found.contains(&value) {
            found.push(value);
        }
    }
    match found.as_slice() {
        [only] => Some((*only).clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_host_labels() {
        assert_eq!(host_of("web-1:9100").as_deref(), Some("web-1"));
        assert_eq!(host_of("::1").as_deref(), Some("::1"));
        assert_eq!(
            host_of("https://Shop.example.com/health").as_deref(),
            Some("shop.example.com")
        );
    }

    #[test]
    fn a_positional_value_is_a_service_only_when_the_text_names_it() {
        let labels = BTreeMap::new();
        let pos = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            corroborated(
                &pos(&["billing"]),
                "billing: new connections failing",
                &labels
            )
            .as_deref(),
            Some("billing")
        );
        assert_eq!(corroborated(&pos(&["payments"]), "", &labels), None);
        assert_eq!(
            corroborated(
                &pos(&["kube-state-metrics", "http"]),
                "kube-state-metrics http",
                &labels
            ),
            None
        );
        assert_eq!(
            corroborated(&pos(&["payments"]), "pod payments/api-1 not ready", &labels),
            None
        );
        assert_eq!(
            corroborated(
                &pos(&["checkout", "cart"]),
                "checkout and cart are down",
                &labels
            ),
            None,
            "two candidates named: no guess"
        );
    }
}
