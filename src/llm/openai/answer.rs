//! The model's answer: the RCA JSON schema it is asked for, and the reading of what it sent.
//!
//! [`rca_schema`] is strict-mode JSON Schema (every property required, no extra ones, `command`
//! nullable), sent as `response_format` or written into the system message. [`parse`] is
//! lenient on form and strict on substance: it finds the JSON object in a fenced or chatty
//! reply, accepts `likelihood` in any case and a confidence given in percent, but a missing or
//! empty summary or root cause, or a timeline time that is not a time, is an error whose text
//! goes back to the model in the one repair request.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::llm::grounding::claims::parse_time;
use crate::rca::{Action, Confidence, Hypothesis, KeyMetric, Likelihood, Rca, TimelineEntry};

/// The schema of the answer.
pub fn rca_schema() -> Value {
    let strings = json!({"type": "array", "items": {"type": "string"}});
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["summary", "root_cause", "hypotheses", "timeline", "actions", "prevention",
                     "metrics", "missing_evidence", "confidence"],
        "properties": {
            "summary": {"type": "string"},
            "root_cause": {"type": "string"},
            "hypotheses": {"type": "array", "items": {
                "type": "object", "additionalProperties": false,
                "required": ["cause", "evidence_for", "evidence_against", "likelihood"],
                "properties": {
                    "cause": {"type": "string"},
                    "evidence_for": strings,
                    "evidence_against": strings,
                    "likelihood": {"type": "string", "enum": ["low", "medium", "high"]}
                }}},
            "timeline": {"type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["at", "event"],
                "properties": {
                    "at": {"type": "string", "description": "RFC 3339"},
                    "event": {"type": "string"}
                }}},
            "actions": {"type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["title", "command"],
                "properties": {
                    "title": {"type": "string"},
                    "command": {"type": ["string", "null"]}
                }}},
            "prevention": strings,
            "metrics": {"type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["name", "value"],
                "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}},
            "missing_evidence": strings,
            "confidence": {"type": "number", "description": "0-1"}
        }
    })
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    summary: String,
    #[serde(default)]
    root_cause: String,
    #[serde(default)]
    hypotheses: Vec<AnswerHypothesis>,
    #[serde(default)]
    timeline: Vec<AnswerEvent>,
    #[serde(default)]
    actions: Vec<AnswerAction>,
    #[serde(default)]
    prevention: Vec<String>,
    #[serde(default)]
    metrics: Vec<AnswerMetric>,
    #[serde(default)]
    missing_evidence: Vec<String>,
    confidence: Option<Value>,
}

#[derive(Deserialize)]
struct AnswerHypothesis {
    cause: String,
    #[serde(default)]
    evidence_for: Vec<String>,
    #[serde(default)]
    evidence_against: Vec<String>,
    #[serde(default)]
    likelihood: String,
}

#[derive(Deserialize)]
struct AnswerEvent {
    at: String,
    event: String,
}

#[derive(Deserialize)]
struct AnswerAction {
    title: String,
    #[serde(default)]
    command: Option<String>,
}

#[derive(Deserialize)]
struct AnswerMetric {
    name: String,
    value: Value,
}

/// The JSON object in `content`: the whole text, a ```json fence, or the outermost braces.
fn json_text(content: &str) -> &str {
    let t = content.trim();
    if t.starts_with('{') {
        return t;
    }
    match (t.find('{'), t.rfind('}')) {
        (Some(a), Some(b)) if a < b => &t[a..=b],
        _ => t,
    }
}

fn likelihood(text: &str) -> Likelihood {
    let t = text.to_ascii_lowercase();
    if t.contains("high") {
        Likelihood::High
    } else if t.contains("low") {
        Likelihood::Low
    } else {
        Likelihood::Medium
    }
}

fn confidence(value: Option<&Value>) -> Result<Confidence, String> {
    let v = match value {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Value::String(s)) => s.trim().trim_end_matches('%').parse().unwrap_or(f64::NAN),
        _ => return Err("`confidence` is missing (a number from 0 to 1)".into()),
    };
    if !v.is_finite() || !(0.0..=100.0).contains(&v) {
        return Err(format!("`confidence` {v} is not a number from 0 to 1"));
    }
    Ok(Confidence::new(if v > 1.0 { v / 100.0 } else { v }))
}

/// The model's text as an RCA (`reasoner` left empty), or what is wrong with it.
pub fn parse(content: &str) -> Result<Rca, String> {
    if content.trim().is_empty() {
        return Err("the answer was empty".into());
    }
    let answer: Answer = serde_json::from_str(json_text(content))
        .map_err(|e| format!("not valid JSON for the RCA schema: {e}"))?;
    if answer.summary.trim().is_empty() {
        return Err("`summary` is empty".into());
    }
    if answer.root_cause.trim().is_empty() {
        return Err("`root_cause` is empty".into());
    }
    let confidence = confidence(answer.confidence.as_ref())?;
    let mut timeline = Vec::with_capacity(answer.timeline.len());
    for (i, e) in answer.timeline.into_iter().enumerate() {
        let at = parse_time(e.at.trim())
            .ok_or_else(|| format!("timeline[{i}].at `{}` is not an RFC 3339 time", e.at))?;
        timeline.push(TimelineEntry { at, event: e.event });
    }
    timeline.sort_by_key(|t| t.at);
    Ok(Rca {
        summary: answer.summary.trim().to_string(),
        root_cause: answer.root_cause.trim().to_string(),
        hypotheses: answer
            .hypotheses
            .into_iter()
            .map(|h| Hypothesis {
                cause: h.cause,
                evidence_for: h.evidence_for,
                evidence_against: h.evidence_against,
                likelihood: likelihood(&h.likelihood),
            })
            .collect(),
        timeline,
        actions: answer
            .actions
            .into_iter()
            .map(|a| Action {
                title: a.title,
                command: a.command.filter(|c| !c.trim().is_empty()),
            })
            .collect(),
        prevention: answer.prevention,
        metrics: answer
            .metrics
            .into_iter()
            .map(|m| KeyMetric {
                name: m.name,
                value: match m.value {
                    Value::String(s) => s,
                    other => other.to_string(),
                },
            })
            .collect(),
        missing_evidence: answer.missing_evidence,
        confidence,
        reasoner: String::new(),
        unsupported: Vec::new(),
        usage: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"summary":"Pool exhausted","root_cause":"maxPoolSize reached",
        "hypotheses":[{"cause":"slow query","evidence_for":["p99 4.5 s"],"evidence_against":[],"likelihood":"High"}],
        "timeline":[{"at":"2026-11-24T10:02:00Z","event":"pool full"}],
        "actions":[{"title":"Scale","command":"kubectl -n prod scale deploy/user-service --replicas=6"},{"title":"Watch","command":null}],
        "prevention":["alert on pool usage"],"metrics":[{"name":"pool","value":100}],
        "missing_evidence":[],"confidence":85}"#;

    #[test]
    fn a_good_answer_in_a_fence_is_read() {
        let rca = parse(&format!("Here it is:\n```json\n{GOOD}\n```")).expect("valid");
        assert_eq!(rca.root_cause, "maxPoolSize reached");
        assert_eq!(rca.hypotheses[0].likelihood, Likelihood::High);
        assert!((rca.confidence.value() - 0.85).abs() < 1e-9);
        assert_eq!(rca.metrics[0].value, "100");
        assert_eq!(rca.actions[1].command, None);
    }

    #[test]
    fn broken_answers_say_what_is_wrong() {
        assert!(
            parse("{\"summary\": \"x\"")
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(
            parse(r#"{"summary":"x","root_cause":" ","confidence":0.5}"#)
                .unwrap_err()
                .contains("root_cause")
        );
        assert!(
            parse(r#"{"summary":"x","root_cause":"y","confidence":0.5,"timeline":[{"at":"yesterday","event":"e"}]}"#)
                .unwrap_err()
                .contains("timeline[0].at")
        );
        assert!(parse("I cannot help with that.").is_err());
    }

    #[test]
    fn the_schema_is_strict() {
        let s = rca_schema();
        let props = s["properties"].as_object().expect("properties");
        let required = s["required"].as_array().expect("required");
        assert_eq!(props.len(), required.len());
        assert_eq!(s["additionalProperties"], false);
    }
}
