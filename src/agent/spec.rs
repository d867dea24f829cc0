//! `AgentSpec`: one agent as written in `agents.yaml`.
//!
//! Agents are data: a name, a description, match rules the router scores, the tools the agent may
//! call (names or `*` globs), the calls it makes up front (`collect`, with arguments templated
//! from the alert) and a prompt file. Adding an agent is a YAML entry and a prompt, no Rust.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::target::{Target, TargetKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSpec {
    pub name: String,
    pub description: String,
    /// Prompt file, relative to the directory of `agents.yaml`.
    pub prompt: PathBuf,
    #[serde(rename = "match", default)]
    pub rules: MatchRules,
    /// Tool names or globs (`query_*`, `*`) this agent may call.
    #[serde(default)]
    pub tools: Vec<String>,
    /// Calls made up front, in parallel, before reasoning.
    #[serde(default)]
    pub collect: Vec<CollectCall>,
}

/// What the router scores. Every match adds its weight; see `router` for the rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRules {
    /// Word or phrase → weight. Matched on word boundaries, case-insensitively.
    #[serde(default)]
    pub keywords: BTreeMap<String, f64>,
    #[serde(default)]
    pub regex: Vec<RegexRule>,
    #[serde(default)]
    pub labels: Vec<LabelRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexRule {
    pub pattern: String,
    pub weight: f64,
}

/// Matches when the alert has label `key` and its value matches the regex `value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelRule {
    pub key: String,
    pub value: String,
    pub weight: f64,
}

/// One up-front tool call. String argument values may hold the `{target.*}` fields (see
/// [`target_field`]) and `{service}`, `{namespace}`, `{host}`,
/// `{severity}`, `{title}`, `{channel}`, `{ts}`, `{fired_at}`, `{window_start}` (RFC 3339,
/// 30 minutes before the alert fired) or `{label.NAME}` placeholders; `{field|fallback}` uses
/// `fallback` when the alert has no such field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectCall {
    pub tool: String,
    #[serde(default)]
    pub args: serde_json::Map<String, serde_json::Value>,
}

/// Why a collect call could not be made for this alert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the alert names no {0}")]
pub struct MissingField(pub String);

impl CollectCall {
    /// Fill the placeholders from the alert and its target. A placeholder the alert cannot
    /// fill is an error, reported as "no data" for this call rather than a call with an empty
    /// argument; an argument whose whole value renders empty (`"{target.pod|}"` for an alert
    /// about a Deployment) is left out.
    pub fn render(
        &self,
        alert: &Alert,
        target: &Target,
    ) -> Result<serde_json::Map<String, serde_json::Value>, MissingField> {
        let mut out = serde_json::Map::with_capacity(self.args.len());
        let ctx = Fill { alert, target };
        for (k, v) in &self.args {
            let value = render_value(v, &ctx)?;
            if value.as_str() == Some("") {
                continue;
            }
            out.insert(k.clone(), value);
        }
        Ok(out)
    }
}

/// What placeholders are filled from.
struct Fill<'a> {
    alert: &'a Alert,
    target: &'a Target,
}

fn render_value(v: &serde_json::Value, ctx: &Fill<'_>) -> Result<serde_json::Value, MissingField> {
    match v {
        serde_json::Value::String(s) => render_str(s, ctx).map(serde_json::Value::String),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| render_value(i, ctx))
            .collect::<Result<Vec<_>, _>>()
            .map(serde_json::Value::Array),
        other => Ok(other.clone()),
    }
}

fn render_str(template: &str, ctx: &Fill<'_>) -> Result<String, MissingField> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let spec = &after[..end];
        let (field, fallback) = match spec.split_once('|') {
            Some((f, d)) => (f, Some(d)),
            None => (spec, None),
        };
        match (lookup(field, ctx), fallback) {
            (Ok(v), _) => out.push_str(&v),
            (Err(_), Some(d)) => out.push_str(d),
            (Err(e), None) => return Err(e),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// How far before the alert's time `{window_start}` lies.
pub const WINDOW_BEFORE_MINUTES: i64 = 30;

/// The target's fields as placeholders. Each is set only when the target is of a kind it
/// applies to, so a call can name every selector and the ones that do not apply drop out:
/// `{target.pod}` (a pod), `{target.kind}` + `{target.name}` (the workload: the target itself,
/// or the one a pod's name points to; `kind` is empty when the shape is ambiguous),
/// `{target.app}` (an application or Service name), `{target.node}`, `{target.host}`,
/// `{target.namespace}` (else the alert's namespace).
fn target_field(field: &str, t: &Target, alert: &Alert) -> Option<String> {
    let workload = t.workload().map(|(k, n)| (k, n.to_string()));
    let name = (!t.name.is_empty()).then(|| t.name.clone());
    match field {
        "namespace" => t.namespace.clone().or_else(|| alert.namespace.clone()),
        "pod" => (t.kind == TargetKind::Pod).then_some(name).flatten(),
        "kind" => workload
            .filter(|_| {
                !matches!(t.kind, TargetKind::Pod)
                    || t.workload
                        .as_ref()
                        .is_some_and(|(k, _)| *k != TargetKind::Job)
            })
            .and_then(|(k, _)| k.api_kind().map(str::to_string)),
        "name" => workload.map(|(_, n)| n),
        "app" => matches!(t.kind, TargetKind::App | TargetKind::Service)
            .then_some(name)
            .flatten(),
        "node" => (t.kind == TargetKind::Node).then_some(name).flatten(),
        "host" => match t.kind {
            TargetKind::Host | TargetKind::Url => name,
            _ => alert.host.clone(),
        },
        _ => None,
    }
}

fn lookup(field: &str, ctx: &Fill<'_>) -> Result<String, MissingField> {
    let alert = ctx.alert;
    if let Some(f) = field.strip_prefix("target.") {
        return target_field(f, ctx.target, alert)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| MissingField(field.to_string()));
    }
    let value = match field {
        "service" => alert.service.clone(),
        "namespace" => alert.namespace.clone(),
        "host" => alert.host.clone(),
        "severity" => alert.severity.clone(),
        "title" => Some(alert.title.clone()),
        "channel" => alert.slack.channel.clone(),
        "ts" => alert.slack.ts.clone(),
        "fired_at" => alert.fired_at.map(|t| t.to_rfc3339()),
        // Where the evidence window starts: half an hour before the alert fired.
        "window_start" => alert
            .fired_at
            .map(|t| (t - chrono::Duration::minutes(WINDOW_BEFORE_MINUTES)).to_rfc3339()),
        f => match f.strip_prefix("label.") {
            Some(name) => alert.labels.get(name).cloned(),
            None => None,
        },
    };
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| MissingField(field.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sources::text_alert;

    #[test]
    fn placeholders_are_filled_from_the_alert() {
        let mut alert = text_alert("Database connection pool exhausted for user-service");
        alert.namespace = Some("prod".into());
        alert.labels.insert("db".into(), "users".into());
        let call: CollectCall = serde_yaml::from_str(
            "tool: get_pod_status\nargs: {service: '{service}', selector: 'app={service},ns={namespace}', db: '{label.db}', limit: 5, team: '{label.team|sre}'}",
        )
        .unwrap();
        let args = call
            .render(&alert, &crate::target::resolve(&alert))
            .unwrap();
        assert_eq!(args["service"], "user-service");
        assert_eq!(args["selector"], "app=user-service,ns=prod");
        assert_eq!(args["db"], "users");
        assert_eq!(args["limit"], 5);
        assert_eq!(args["team"], "sre");
    }

    #[test]
    fn the_alert_window_is_a_placeholder() {
        let mut alert = text_alert("pods restarting");
        let call: CollectCall = serde_yaml::from_str(
            "tool: get_pod_logs\nargs: {since: '{window_start|}', at: '{fired_at|}'}",
        )
        .unwrap();
        let args = call
            .render(&alert, &crate::target::resolve(&alert))
            .unwrap();
        assert!(
            !args.contains_key("since"),
            "no time: no window, and an empty argument is left out"
        );
        alert.fired_at = Some(
            chrono::DateTime::parse_from_rfc3339("2026-11-24T10:40:00Z")
                .unwrap()
                .into(),
        );
        let args = call
            .render(&alert, &crate::target::resolve(&alert))
            .unwrap();
        assert_eq!(args["since"], "2026-11-24T10:10:00+00:00");
        assert_eq!(args["at"], "2026-11-24T10:40:00+00:00");
    }

    #[test]
    fn a_missing_field_is_named() {
        let alert = text_alert("something odd happened");
        let call: CollectCall =
            serde_yaml::from_str("tool: check_tls_certificate\nargs: {host: '{host}'}").unwrap();
        assert_eq!(
            call.render(&alert, &crate::target::resolve(&alert)),
            Err(MissingField("host".into()))
        );
    }
}
