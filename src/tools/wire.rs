//! What every embedded tool server puts on the wire, and how the [`crate::tools::Toolbox`] reads
//! it back.
//!
//! Convention (shared by all four servers):
//! - found something: a successful `CallToolResult` whose text (and structured content) is the
//!   JSON of one [`Observation`] (tagged by `kind`);
//! - found nothing: a successful result whose JSON is `{"kind":"no_data","reason":"…"}`
//!   ([`NO_DATA_KIND`] is not an `Observation` kind, so the two never collide);
//! - could not answer (backend error, undecodable response, bad arguments): an error result
//!   (`is_error: true`) whose text says why.
//!
//! Also home of the lenient argument deserialisers: LLM tool calls and templated `collect`
//! arguments sometimes carry `"443"` for `443` or `"true"` for `true`.

use chrono::{DateTime, Utc};
use rmcp::model::{CallToolResult, ContentBlock};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::evidence::{Observation, ToolOutcome};
use crate::tools::BackendError;

/// `kind` of the "no data" answer.
pub const NO_DATA_KIND: &str = "no_data";

/// A successful answer carrying one observation.
pub fn data(observation: &Observation) -> CallToolResult {
    match serde_json::to_value(observation) {
        Ok(value) => CallToolResult::structured(value),
        Err(e) => failed(format!("could not encode the observation: {e}")),
    }
}

/// A successful answer that found nothing.
pub fn no_data(reason: impl Into<String>) -> CallToolResult {
    CallToolResult::structured(serde_json::json!({
        "kind": NO_DATA_KIND,
        "reason": reason.into(),
    }))
}

/// A tool-level error the caller sees as `ToolOutcome::Failed`.
pub fn failed(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

/// A backend error, prefixed by the data source it came from.
pub fn backend_failed(source: &str, error: &BackendError) -> CallToolResult {
    failed(format!("{source}: {error}"))
}

/// Read a tool answer back into an outcome (the inverse of [`data`] / [`no_data`] / [`failed`]).
pub fn outcome_of(result: CallToolResult) -> ToolOutcome {
    if result.is_error == Some(true) {
        let mut error = result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.as_str()))
            .collect::<Vec<_>>()
            .join("\n");
        if error.is_empty() {
            error = result
                .structured_content
                .map(|v| v.to_string())
                .unwrap_or_else(|| "tool reported an error".to_owned());
        }
        return ToolOutcome::Failed { error };
    }
    let value = match result.structured_content {
        Some(value) => value,
        None => {
            let Some(text) = result.content.iter().find_map(|c| c.as_text()) else {
                return ToolOutcome::NoData {
                    reason: "the tool returned no content".to_owned(),
                };
            };
            match serde_json::from_str::<Value>(&text.text) {
                Ok(value) => value,
                // A tool that answers free text (e.g. an external MCP server).
                Err(_) => {
                    return ToolOutcome::Data {
                        observation: Observation::Text {
                            text: text.text.clone(),
                        },
                    };
                }
            }
        }
    };
    outcome_of_value(value)
}

fn outcome_of_value(value: Value) -> ToolOutcome {
    if value.get("kind").and_then(Value::as_str) == Some(NO_DATA_KIND) {
        let reason = value
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("no data")
            .to_owned();
        return ToolOutcome::NoData { reason };
    }
    match serde_json::from_value::<Observation>(value) {
        Ok(observation) => ToolOutcome::Data { observation },
        Err(e) => ToolOutcome::Failed {
            error: format!("the tool's answer is not an observation: {e}"),
        },
    }
}

/// `Option<u32>` from a number, a numeric string or null.
pub fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(|n| Some(n.min(u64::from(u32::MAX)) as u32))
            .ok_or_else(|| {
                serde::de::Error::custom(format!("expected a positive integer, got {n}"))
            }),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<u32>().map(Some).map_err(|_| {
            serde::de::Error::custom(format!("expected a positive integer, got {s:?}"))
        }),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a positive integer, got {other}"
        ))),
    }
}

/// `Option<u16>` (a port) from a number, a numeric string or null.
pub fn opt_u16<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    match opt_u32(d)? {
        None => Ok(None),
        Some(n) => u16::try_from(n)
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{n} is not a port number"))),
    }
}

/// `Option<bool>` from a bool, `"true"`/`"false"`/`"yes"`/`"no"`/`"1"`/`"0"` or null.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::Number(n)) => Ok(Some(n.as_f64().is_some_and(|f| f != 0.0))),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "true" | "yes" | "1" | "on" => Ok(Some(true)),
            "false" | "no" | "0" | "off" => Ok(Some(false)),
            _ => Err(serde::de::Error::custom(format!(
                "expected a boolean, got {s:?}"
            ))),
        },
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a boolean, got {other}"
        ))),
    }
}

/// A list of names from a JSON array of strings or one comma-separated string.
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(split(&s)),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => out.extend(split(&s)),
                    other => {
                        return Err(serde::de::Error::custom(format!(
                            "expected a metric name, got {other}"
                        )));
                    }
                }
            }
            Ok(out)
        }
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a list of names, got {other}"
        ))),
    }
}

/// A JSON scalar as the string an attribute map holds (`None` for null, objects and arrays
/// are written as compact JSON).
pub fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// A timestamp from RFC 3339 text or an epoch number (seconds, ms, µs or ns, told apart by size).
pub fn time_of(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.with_timezone(&Utc));
            }
            s.parse::<f64>().ok().and_then(epoch_time)
        }
        Value::Number(n) => n.as_f64().and_then(epoch_time),
        _ => None,
    }
}

fn epoch_time(n: f64) -> Option<DateTime<Utc>> {
    if !n.is_finite() || n <= 0.0 {
        return None;
    }
    let nanos = if n >= 1e17 {
        n
    } else if n >= 1e14 {
        n * 1e3
    } else if n >= 1e11 {
        n * 1e6
    } else {
        n * 1e9
    };
    if nanos > i64::MAX as f64 {
        return None;
    }
    Some(DateTime::from_timestamp_nanos(nanos as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Args {
        #[serde(default, deserialize_with = "opt_u32")]
        n: Option<u32>,
        #[serde(default, deserialize_with = "opt_bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "opt_u16")]
        port: Option<u16>,
        #[serde(default, deserialize_with = "string_list")]
        names: Vec<String>,
    }

    #[test]
    fn lenient_arguments() {
        let a: Args = serde_json::from_value(serde_json::json!({
            "n": "50", "b": "true", "port": 8443, "names": "a, b"
        }))
        .expect("lenient args");
        assert_eq!(a.n, Some(50));
        assert_eq!(a.b, Some(true));
        assert_eq!(a.port, Some(8443));
        assert_eq!(a.names, vec!["a", "b"]);
        let a: Args = serde_json::from_value(serde_json::json!({})).expect("empty args");
        assert_eq!((a.n, a.b, a.port), (None, None, None));
        assert!(serde_json::from_value::<Args>(serde_json::json!({"port": 70000})).is_err());
        assert!(serde_json::from_value::<Args>(serde_json::json!({"b": "maybe"})).is_err());
    }

    #[test]
    fn outcomes_round_trip() {
        let obs = Observation::Posted {
            channel: "C1".into(),
            ts: "1.2".into(),
        };
        assert_eq!(
            outcome_of(data(&obs)),
            ToolOutcome::Data { observation: obs }
        );
        assert_eq!(
            outcome_of(no_data("nothing")),
            ToolOutcome::NoData {
                reason: "nothing".into()
            }
        );
        assert_eq!(
            outcome_of(failed("boom")),
            ToolOutcome::Failed {
                error: "boom".into()
            }
        );
        let text = CallToolResult::success(vec![ContentBlock::text("plain words")]);
        assert!(matches!(
            outcome_of(text),
            ToolOutcome::Data {
                observation: Observation::Text { .. }
            }
        ));
    }
}
