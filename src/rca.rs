//! `Rca`: the structured root-cause analysis every reasoner produces and every renderer reads.
//!
//! The LLM reasoner fills it through a JSON schema; the offline analyzer builds it from evidence.
//! Renderers (`slack::blocks`, the plain-text fallback) only ever see this type.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A root-cause analysis of one alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rca {
    /// One sentence a person reads first.
    pub summary: String,
    /// The specific technical cause, naming the component and the evidence.
    pub root_cause: String,
    /// Candidate causes, most likely first.
    pub hypotheses: Vec<Hypothesis>,
    /// What happened, oldest first, from the evidence.
    pub timeline: Vec<TimelineEntry>,
    /// What to do now: exact commands with the alert's real names.
    pub actions: Vec<Action>,
    /// What to change so it does not happen again.
    pub prevention: Vec<String>,
    /// The key numbers the analysis used.
    pub metrics: Vec<KeyMetric>,
    /// Evidence that was looked for and not found.
    pub missing_evidence: Vec<String>,
    pub confidence: Confidence,
    /// `offline`, or `llm:<model>`; `offline (<why the LLM was not used>)` on fallback.
    pub reasoner: String,
    /// Claims of the answer (numbers, names, times, command targets) that the evidence and the
    /// alert do not support; shown under "⚠️ Not found in the evidence".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsupported: Vec<String>,
    /// What the LLM cost this run (also on a fallback: the tokens were spent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<LlmUsage>,
}

/// Tokens, tool calls and time an LLM spent on one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmUsage {
    /// The model (OpenAI) or deployment (Azure) asked.
    pub model: String,
    /// Prompt tokens over every request of the run.
    pub prompt_tokens: u64,
    /// Completion tokens over every request of the run.
    pub completion_tokens: u64,
    /// Chat-completion requests sent (tool rounds, the answer, a repair).
    pub requests: u32,
    /// Tool calls the model made (refused ones included).
    pub tool_calls: u32,
    /// Wall time spent in the LLM loop (requests and the tool calls between them).
    pub llm_ms: u64,
    /// Bytes of request bodies sent.
    pub request_bytes: u64,
    /// In US dollars, from the `llm.prices` table; `None` when the model has no price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

impl LlmUsage {
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hypothesis {
    pub cause: String,
    pub evidence_for: Vec<String>,
    pub evidence_against: Vec<String>,
    pub likelihood: Likelihood,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Likelihood {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub event: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// What the step does, in words.
    pub title: String,
    /// The exact shell command, when the step is one.
    pub command: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyMetric {
    pub name: String,
    pub value: String,
}

/// Confidence in the root cause, 0.0 to 1.0 (clamped on construction).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(from = "f64", into = "f64")]
pub struct Confidence(f64);

impl Confidence {
    pub fn new(value: f64) -> Self {
        if value.is_nan() {
            return Confidence(0.0);
        }
        Confidence(value.clamp(0.0, 1.0))
    }
    pub fn value(self) -> f64 {
        self.0
    }
    /// `high` ≥ 0.75, `medium` ≥ 0.45, else `low`.
    pub fn label(self) -> &'static str {
        if self.0 >= 0.75 {
            "high"
        } else if self.0 >= 0.45 {
            "medium"
        } else {
            "low"
        }
    }
}

impl From<f64> for Confidence {
    fn from(v: f64) -> Self {
        Confidence::new(v)
    }
}

impl From<Confidence> for f64 {
    fn from(c: Confidence) -> f64 {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_is_clamped_and_labelled() {
        assert_eq!(Confidence::new(1.7).value(), 1.0);
        assert_eq!(Confidence::new(-0.2).value(), 0.0);
        assert_eq!(Confidence::new(f64::NAN).value(), 0.0);
        assert_eq!(Confidence::new(0.8).label(), "high");
        assert_eq!(Confidence::new(0.5).label(), "medium");
        assert_eq!(Confidence::new(0.1).label(), "low");
        let c: Confidence = serde_json::from_str("3.0").unwrap();
        assert_eq!(c.value(), 1.0);
    }
}
