//! Dialect recognition: Alertmanager, Grafana, SigNoz, Datadog, or plain text. (stub)

use std::collections::BTreeMap;

use super::{Alert, AlertSource, AlertStatus, Origin, SlackRef};

/// An alert from free text (`/rca <text>`, `replay "<text>"`).
pub fn text_alert(text: &str) -> Alert {
    let mut alert = Alert {
        title: text.lines().next().unwrap_or_default().to_string(),
        text: text.lines().skip(1).collect::<Vec<_>>().join("\n"),
        source: AlertSource::Text,
        status: AlertStatus::Firing,
        origin: Origin::Manual,
        service: text
            .split_whitespace()
            .find(|w| w.ends_with("-service"))
            .map(str::to_string),
        namespace: None,
        host: None,
        severity: None,
        labels: BTreeMap::new(),
        links: Vec::new(),
        fired_at: None,
        fingerprint: String::new(),
        slack: SlackRef::default(),
        truncated: false,
    };
    alert.fingerprint = super::fingerprint::fingerprint(&alert);
    alert
}
