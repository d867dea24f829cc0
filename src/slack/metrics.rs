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
        let key: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        if let Ok(mut map) = self.values.lock() {
            *map.entry(key).or_insert(0) += 1;
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
    /// `@sre-agent` mentions acted on (questions and "analyse this thread").
    pub mentions: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, queue_depth: usize, ready: bool) -> String {
        let mut out = String::with_capacity(4096);
        let counters: [(&str, &str, &AtomicU64); 11] = [
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
                "sre_agent_mentions_total",
                "@sre-agent mentions acted on (questions and thread analyses).",
                &self.mentions,
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
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
