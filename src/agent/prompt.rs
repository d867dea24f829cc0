//! Prompt templates: an agent's prompt file with the alert and the evidence filled in.
//!
//! Placeholders: `{alert}`, `{service}`, `{namespace}`, `{host}`, `{fired_at}`, `{evidence}`.
//! Unknown placeholders are left as written.

use crate::alert::Alert;
use crate::evidence::Evidence;

/// Fill the template for one alert.
pub fn render_prompt(template: &str, alert: &Alert, evidence: &Evidence) -> String {
    let or_unknown = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".to_string());
    let alert_text = if alert.text.is_empty() {
        alert.title.clone()
    } else {
        format!("{}\n{}", alert.title, alert.text)
    };
    let evidence_json =
        serde_json::to_string_pretty(&evidence.outputs).unwrap_or_else(|_| "[]".to_string());
    let fired_at = alert
        .fired_at
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| "unknown".to_string());
    // One pass, so text inside the alert that looks like a placeholder is not expanded.
    let mut out = String::with_capacity(template.len() + evidence_json.len() + alert_text.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('}').unwrap_or(after.len());
        let name = &after[..end];
        let value = match name {
            "alert" => Some(alert_text.clone()),
            "service" => Some(or_unknown(&alert.service)),
            "namespace" => Some(or_unknown(&alert.namespace)),
            "host" => Some(or_unknown(&alert.host)),
            "fired_at" => Some(fired_at.clone()),
            "evidence" => Some(evidence_json.clone()),
            _ => None,
        };
        match value {
            Some(v) if end < after.len() => {
                out.push_str(&v);
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sources::text_alert;

    #[test]
    fn fills_placeholders_once_and_keeps_unknown_ones() {
        let alert = text_alert("Database connection pool exhausted for user-service {evidence}");
        let out = render_prompt(
            "A: {alert} S: {service} N: {namespace} {other} E: {evidence}",
            &alert,
            &Evidence::default(),
        );
        assert!(
            out.starts_with("A: Database connection pool exhausted for user-service {evidence}")
        );
        assert!(out.contains("S: user-service N: unknown {other} E: []"));
    }
}
