//! Bot metrics: plain atomics and small labelled maps, rendered as Prometheus text by hand.
//!
//! Counters are `AtomicU64`; labelled counters (runs by agent and outcome, Slack API errors by
//! method, feedback votes) are a `BTreeMap` behind a `Mutex`, touched once per run or call, never
//! on the ack path. The run-duration histogram has fixed buckets (seconds). The queue depth is
//! a gauge the renderer reads from the pipeline at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the run-duration histogram buckets; `+Inf` is implicit.
pub const DURATION_BUCKETS: &[f64] =
    &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// A histogram with [`DURATION_BUCKETS`].
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; 11],
    count: AtomicU64,
    /// Sum in microseconds (integer, so it can be atomic).
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, seconds: f64) {
        let seconds = if seconds.is_finite() && seconds > 0.0 {
            seconds
        } else {
            0.0
        };
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds * 1_000_000.0) as u64, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1_000_000.0;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// A counter with string labels.
#[derive(Debug, Default)]
pub struct LabelledCounter {
    values: Mutex<BTreeMap<Vec<String>, u64>>,
}

impl LabelledCounter {
    pub fn inc(&self, labels: &[&str]) {
        self.add(labels, 1);
    }

    pub fn add(&self, labels: &[&str], n: u64) {
        let key: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        if let Ok(mut map) = self.values.lock() {
            *map.entry(key).or_insert(0) += n;
        }
    }

    /// The value for exactly these labels (0 if never counted).
    pub fn get(&self, labels: &[&str]) -> u64 {
        let key: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        self.values
            .lock()
            .map(|m| m.get(&key).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Sum over every label set.
    pub fn total(&self) -> u64 {
        self.values.lock().map(|m| m.values().sum()).unwrap_or(0)
    }

    fn render(&self, name: &str, help: &str, label_names: &[&str], out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        let Ok(map) = self.values.lock() else {
            return;
        };
        for (labels, value) in map.iter() {
            let pairs: Vec<String> = label_names
                .iter()
                .zip(labels.iter())
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = writeln!(out, "{name}{{{}}} {value}", pairs.join(","));
        }
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Every metric the bot exports.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Socket Mode envelopes handed to a callback (events, commands, interactions).
    pub envelopes_received: AtomicU64,
    /// Envelopes whose callback returned so the listener acked them.
    pub envelopes_acked: AtomicU64,
    /// Envelopes that could not be decoded (acked anyway, logged).
    pub envelopes_undecodable: AtomicU64,
    /// Redeliveries of an event already seen (same `event_id`).
    pub redeliveries: AtomicU64,
    /// Alerts re-fired within the dedup window (same fingerprint).
    pub duplicates: AtomicU64,
    /// Alerts refused because the queue was full (a notice was posted).
    pub queue_full: AtomicU64,
    /// Messages ignored, by reason.
    pub ignored: LabelledCounter,
    /// Finished runs, by agent and outcome (`ok`, `deadline`, `shutdown`).
    pub runs: LabelledCounter,
    /// Duration of successful runs (receipt to rendered reply).
    pub run_duration: Histogram,
    /// Slack Web API calls that failed for good, by method and error.
    pub slack_api_errors: LabelledCounter,
    /// Slack Web API 429 answers (each was waited out).
    pub slack_rate_limited: AtomicU64,
    /// Replies that could not be delivered after every retry.
    pub replies_failed: AtomicU64,
    /// Feedback votes by agent and vote (`up`, `down`).
    pub feedback: LabelledCounter,
    /// Resolved notes posted.
    pub resolved_notes: AtomicU64,
    /// `/rca` commands and shortcuts received.
    pub commands: AtomicU64,
    /// Runs an LLM took part in, by outcome (`answered`, `fallback`).
    pub llm_runs: LabelledCounter,
    /// LLM tokens by direction (`in`: prompt, `out`: completion).
    pub llm_tokens: LabelledCounter,
    /// Chat-completion requests sent.
    pub llm_requests: AtomicU64,
    /// Tool calls the LLM made.
    pub llm_tool_calls: AtomicU64,
    /// Claims of LLM answers not found in the evidence.
    pub llm_unsupported_claims: AtomicU64,
    /// LLM spend in micro-dollars (from the `llm.prices` table).
    pub llm_cost_micro_usd: AtomicU64,
    /// Time spent in the LLM per run.
    pub llm_duration: Histogram,
    /// `@sre-agent` mentions acted on (questions and "analyse this thread").
    pub mentions: AtomicU64,
    /// Catch-up reads (history, thread) that failed and were tried again.
    pub catch_up_read_retries: AtomicU64,
    /// Catch-up reads that kept failing: the alert was neither analysed nor taken as answered.
    pub catch_up_unread: AtomicU64,
    /// "Investigating…" messages left by an earlier process and finished in place.
    pub analyses_resumed: AtomicU64,
    /// Re-fires folded into an existing duplicate notice (updated in place).
    pub duplicate_notices_coalesced: AtomicU64,
    /// Socket Mode connections lost with an error (readiness drops until the next hello).
    pub socket_errors: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Count what the LLM spent on one run (nothing when no LLM took part).
    pub fn observe_llm(&self, rca: &crate::rca::Rca) {
        let Some(u) = &rca.usage else {
            return;
        };
        let outcome = if rca.reasoner.starts_with("llm:") {
            "answered"
        } else {
            "fallback"
        };
        self.llm_runs.inc(&[outcome]);
        self.llm_tokens.add(&["in"], u.prompt_tokens);
        self.llm_tokens.add(&["out"], u.completion_tokens);
        self.llm_requests
            .fetch_add(u64::from(u.requests), Ordering::Relaxed);
        self.llm_tool_calls
            .fetch_add(u64::from(u.tool_calls), Ordering::Relaxed);
        self.llm_unsupported_claims
            .fetch_add(rca.unsupported.len() as u64, Ordering::Relaxed);
        if let Some(c) = u.cost_usd.filter(|c| c.is_finite() && *c > 0.0) {
            self.llm_cost_micro_usd
                .fetch_add((c * 1e6).round() as u64, Ordering::Relaxed);
        }
        self.llm_duration.observe(u.llm_ms as f64 / 1000.0);
    }

    /// Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, queue_depth: usize, ready: bool) -> String {
        let mut out = String::with_capacity(4096);
        let counters: [(&str, &str, &AtomicU64); 19] = [
            (
                "sre_agent_envelopes_received_total",
                "Socket Mode envelopes received.",
                &self.envelopes_received,
            ),
            (
                "sre_agent_envelopes_acked_total",
                "Socket Mode envelopes acknowledged.",
                &self.envelopes_acked,
            ),
            (
                "sre_agent_envelopes_undecodable_total",
                "Socket Mode envelopes that could not be decoded.",
                &self.envelopes_undecodable,
            ),
            (
                "sre_agent_redeliveries_total",
                "Events delivered again (same event_id).",
                &self.redeliveries,
            ),
            (
                "sre_agent_duplicates_total",
                "Alerts re-fired within the dedup window.",
                &self.duplicates,
            ),
            (
                "sre_agent_queue_full_total",
                "Alerts refused because the queue was full.",
                &self.queue_full,
            ),
            (
                "sre_agent_slack_rate_limited_total",
                "Slack Web API 429 answers waited out.",
                &self.slack_rate_limited,
            ),
            (
                "sre_agent_replies_failed_total",
                "Thread replies not delivered after every retry.",
                &self.replies_failed,
            ),
            (
                "sre_agent_resolved_notes_total",
                "Resolved notes posted.",
                &self.resolved_notes,
            ),
            (
                "sre_agent_commands_total",
                "/rca commands and Run RCA shortcuts received.",
                &self.commands,
            ),
            (
                "sre_agent_llm_requests_total",
                "Chat-completion requests sent to the LLM.",
                &self.llm_requests,
            ),
            (
                "sre_agent_llm_tool_calls_total",
                "Tool calls the LLM made.",
                &self.llm_tool_calls,
            ),
            (
                "sre_agent_llm_unsupported_claims_total",
                "Claims of LLM answers not found in the evidence.",
                &self.llm_unsupported_claims,
            ),
            (
                "sre_agent_mentions_total",
                "@sre-agent mentions acted on (questions and thread analyses).",
                &self.mentions,
            ),
            (
                "sre_agent_catch_up_read_retries_total",
                "Catch-up reads of Slack history or threads that failed and were retried.",
                &self.catch_up_read_retries,
            ),
            (
                "sre_agent_catch_up_unread_total",
                "Catch-up reads that kept failing (alert neither analysed nor taken as answered).",
                &self.catch_up_unread,
            ),
            (
                "sre_agent_analyses_resumed_total",
                "Investigating messages of an earlier process finished in place.",
                &self.analyses_resumed,
            ),
            (
                "sre_agent_duplicate_notices_coalesced_total",
                "Re-fires counted into an existing duplicate notice.",
                &self.duplicate_notices_coalesced,
            ),
            (
                "sre_agent_socket_errors_total",
                "Socket Mode connections lost with an error.",
                &self.socket_errors,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP sre_agent_queue_depth Alerts waiting for a worker."
        );
        let _ = writeln!(out, "# TYPE sre_agent_queue_depth gauge");
        let _ = writeln!(out, "sre_agent_queue_depth {queue_depth}");
        let _ = writeln!(
            out,
            "# HELP sre_agent_ready 1 when the Socket Mode connection is up."
        );
        let _ = writeln!(out, "# TYPE sre_agent_ready gauge");
        let _ = writeln!(out, "sre_agent_ready {}", u8::from(ready));
        self.ignored.render(
            "sre_agent_ignored_total",
            "Messages ignored, by reason.",
            &["reason"],
            &mut out,
        );
        self.runs.render(
            "sre_agent_runs_total",
            "Analyses by agent and outcome.",
            &["agent", "outcome"],
            &mut out,
        );
        self.run_duration.render(
            "sre_agent_run_duration_seconds",
            "Time from receipt to rendered reply.",
            &mut out,
        );
        self.slack_api_errors.render(
            "sre_agent_slack_api_errors_total",
            "Slack Web API calls that failed after retries, by method and error.",
            &["method", "error"],
            &mut out,
        );
        self.feedback.render(
            "sre_agent_feedback_total",
            "Helpful? votes by agent and vote.",
            &["agent", "vote"],
            &mut out,
        );
        self.llm_runs.render(
            "sre_agent_llm_runs_total",
            "Runs an LLM took part in, by outcome (answered, fallback).",
            &["outcome"],
            &mut out,
        );
        self.llm_tokens.render(
            "sre_agent_llm_tokens_total",
            "LLM tokens, by direction (in: prompt, out: completion).",
            &["direction"],
            &mut out,
        );
        let _ = writeln!(
            out,
            "# HELP sre_agent_llm_cost_usd_total LLM spend in US dollars (llm.prices)."
        );
        let _ = writeln!(out, "# TYPE sre_agent_llm_cost_usd_total counter");
        let _ = writeln!(
            out,
            "sre_agent_llm_cost_usd_total {}",
            self.llm_cost_micro_usd.load(Ordering::Relaxed) as f64 / 1e6
        );
        self.llm_duration.render(
            "sre_agent_llm_duration_seconds",
            "Time spent in the LLM per run.",
            &mut out,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        Metrics::inc(&m.envelopes_received);
        m.runs.inc(&["network", "ok"]);
        m.feedback.inc(&["network", "up"]);
        m.feedback.inc(&["network", "up"]);
        m.run_duration.observe(0.3);
        m.run_duration.observe(7.0);
        let text = m.render(3, true);
        assert!(text.contains("sre_agent_envelopes_received_total 1"));
        assert!(text.contains("sre_agent_runs_total{agent=\"network\",outcome=\"ok\"} 1"));
        assert!(text.contains("sre_agent_feedback_total{agent=\"network\",vote=\"up\"} 2"));
        assert!(text.contains("sre_agent_run_duration_seconds_bucket{le=\"0.25\"} 0"));
        assert!(text.contains("sre_agent_run_duration_seconds_bucket{le=\"0.5\"} 1"));
        assert!(text.contains("sre_agent_run_duration_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(text.contains("sre_agent_run_duration_seconds_count 2"));
        assert!(text.contains("sre_agent_queue_depth 3"));
        assert_eq!(m.feedback.get(&["network", "up"]), 2);
        assert_eq!(m.feedback.total(), 2);
    }

    #[test]
    fn llm_usage_is_counted() {
        use crate::rca::{Confidence, LlmUsage, Rca};
        let m = Metrics::default();
        let rca = Rca {
            summary: String::new(),
            root_cause: String::new(),
            hypotheses: vec![],
            timeline: vec![],
            actions: vec![],
            prevention: vec![],
            metrics: vec![],
            missing_evidence: vec![],
            confidence: Confidence::new(0.5),
            reasoner: "llm:gpt-4o-mini".into(),
            unsupported: vec!["pod `x-1`".into()],
            usage: Some(LlmUsage {
                model: "gpt-4o-mini".into(),
                prompt_tokens: 4000,
                completion_tokens: 600,
                requests: 3,
                tool_calls: 2,
                llm_ms: 6300,
                request_bytes: 9000,
                cost_usd: Some(0.00096),
            }),
        };
        m.observe_llm(&rca);
        let text = m.render(0, true);
        assert!(
            text.contains("sre_agent_llm_tokens_total{direction=\"in\"} 4000"),
            "{text}"
        );
        assert!(text.contains("sre_agent_llm_tokens_total{direction=\"out\"} 600"));
        assert!(text.contains("sre_agent_llm_tool_calls_total 2"));
        assert!(text.contains("sre_agent_llm_runs_total{outcome=\"answered\"} 1"));
        assert!(text.contains("sre_agent_llm_cost_usd_total 0.00096"));
        assert!(text.contains("sre_agent_llm_duration_seconds_bucket{le=\"10\"} 1"));
        assert!(text.contains("sre_agent_llm_unsupported_claims_total 1"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
