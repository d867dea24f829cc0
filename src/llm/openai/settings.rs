//! `llm:` in agents.yaml: the LLM reasoner's non-secret tunables and its price table.
//!
//! Which endpoint and key to use come from the environment only ([`super::provider`]); this
//! section bounds what one run may spend (steps, tool calls, tokens) and says what a token
//! costs, so the footer and `/metrics` can show money as well as tokens.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::glob_match;

/// How the model is asked for JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputMode {
    /// `json_schema` (strict); on a 400 that names `response_format`, `json_object`, then text.
    Auto,
    /// `response_format: {type: json_schema, strict: true}`.
    JsonSchema,
    /// `response_format: {type: json_object}` (schema in the system message).
    JsonObject,
    /// No `response_format`: the schema in the system message, JSON read from the text.
    Text,
}

/// When the model is offered the agent's tools as functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolPolicy {
    /// Evidence first: the first request carries the up-front evidence and no tool definitions,
    /// and asks for a draft RCA. A draft below `investigate_below` confidence that lists missing
    /// evidence goes on with the tools offered; a sure draft is the answer (one request).
    WhenUnsure,
    /// Tools offered from the first request.
    Always,
}

/// US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LlmSettings {
    /// Chat-completion requests per run: tool rounds and the answer (a repair request may add
    /// one more).
    pub max_steps: u32,
    /// Tool calls the model may make per run.
    pub max_tool_calls: u32,
    /// Completion tokens per request.
    pub max_tokens: u32,
    /// Prompt + completion tokens per run; past 80 % the model is asked to answer.
    pub max_total_tokens: u64,
    /// Bytes of evidence digest in the first message.
    pub evidence_bytes: usize,
    /// Bytes of one tool result sent back to the model.
    pub tool_result_bytes: usize,
    /// Sampling temperature; `null` to send none (reasoning models accept only the default).
    pub temperature: Option<f32>,
    /// How the model is asked for JSON.
    pub output: OutputMode,
    /// When the model is offered the agent's tools.
    pub tools: ToolPolicy,
    /// With `tools: when_unsure`: a draft whose confidence is below this, and that lists missing
    /// evidence, goes on with the tools.
    pub investigate_below: f64,
    /// Retries of one request on 429 (within `Retry-After`) and 5xx, inside the run deadline.
    pub max_retries: u32,
    /// Price per model (exact name or glob, e.g. `gpt-4o-mini*`), USD per million tokens.
    pub prices: BTreeMap<String, Price>,
}

impl Default for LlmSettings {
    fn default() -> Self {
        LlmSettings {
            max_steps: 5,
            max_tool_calls: 6,
            max_tokens: 1_500,
            max_total_tokens: 40_000,
            evidence_bytes: super::super::digest::DEFAULT_EVIDENCE_BYTES,
            tool_result_bytes: 3 * 1024,
            temperature: Some(0.1),
            output: OutputMode::Auto,
            tools: ToolPolicy::WhenUnsure,
            investigate_below: 0.6,
            max_retries: 2,
            prices: BTreeMap::new(),
        }
    }
}

impl LlmSettings {
    /// The price of `model`: an exact entry, else the first glob that matches.
    pub fn price(&self, model: &str) -> Option<Price> {
        self.prices.get(model).copied().or_else(|| {
            self.prices
                .iter()
                .find(|(pattern, _)| pattern.contains('*') && glob_match(pattern, model))
                .map(|(_, p)| *p)
        })
    }

    /// Dollars for these tokens, when the model has a price.
    pub fn cost(&self, model: &str, prompt_tokens: u64, completion_tokens: u64) -> Option<f64> {
        self.price(model).map(|p| {
            (prompt_tokens as f64 * p.input + completion_tokens as f64 * p.output) / 1_000_000.0
        })
    }

    /// Every problem, each a sentence naming the field.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.max_steps == 0 {
            problems.push("llm.max_steps must be at least 1".into());
        }
        if self.max_tokens == 0 || self.max_total_tokens == 0 {
            problems.push("llm.max_tokens and llm.max_total_tokens must be at least 1".into());
        }
        if self.evidence_bytes < 256 || self.tool_result_bytes < 256 {
            problems
                .push("llm.evidence_bytes and llm.tool_result_bytes must be at least 256".into());
        }
        if !(0.0..=1.0).contains(&self.investigate_below) {
            problems.push("llm.investigate_below must be between 0 and 1".into());
        }
        if let Some(t) = self.temperature
            && !(0.0..=2.0).contains(&t)
        {
            problems.push("llm.temperature must be between 0 and 2".into());
        }
        for (model, p) in &self.prices {
            if !(p.input.is_finite() && p.output.is_finite() && p.input >= 0.0 && p.output >= 0.0) {
                problems.push(format!("llm.prices.{model}: prices must be numbers ≥ 0"));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_by_name_or_glob() {
        let mut s = LlmSettings::default();
        s.prices.insert(
            "gpt-4o-mini*".into(),
            Price {
                input: 0.15,
                output: 0.6,
            },
        );
        s.prices.insert(
            "gpt-4o".into(),
            Price {
                input: 2.5,
                output: 10.0,
            },
        );
        let c = s.cost("gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000);
        assert!((c.unwrap_or(0.0) - 0.75).abs() < 1e-9);
        assert!((s.cost("gpt-4o", 2000, 100).unwrap_or(0.0) - 0.006).abs() < 1e-9);
        assert_eq!(s.cost("llama3.1", 10, 10), None);
    }
}
