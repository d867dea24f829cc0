//! Bot metrics, kept in `prometheus-client` types and exposed in the OpenMetrics text format.
//!
//! Counters and histograms are the crate's lock-free atomics; labelled counters are a
//! [`Family`] whose label names are fixed by the type (`LabelledCounter<2>` takes exactly two
//! values), touched once per run or call, never on the ack path. The queue depth and readiness
//! are gauges the renderer sets from the pipeline at scrape time; `sre_agent_build_info` carries
//! the version. The metric names are the ones the hand-written exposition had, so dashboards
//! and alerts keep working.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter as PromCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram as PromHistogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Upper bounds (seconds) of the run-duration histogram buckets; `+Inf` is implicit.
pub const DURATION_BUCKETS: &[f64] =
    &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// A monotonic counter.
pub type Counter = PromCounter;

/// A histogram of seconds with [`DURATION_BUCKETS`], and its count for the bot's own checks
/// (the crate reads it back only in its test builds).
#[derive(Debug, Clone)]
pub struct Histogram {
    exported: PromHistogram,
    count: Counter,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            exported: PromHistogram::new(DURATION_BUCKETS.iter().copied()),
            count: Counter::default(),
        }
    }
}

impl Histogram {
    /// Record one observation; negative or non-finite values count as 0.
    pub fn observe(&self, seconds: f64) {
        let seconds = if seconds.is_finite() && seconds > 0.0 {
            seconds
        } else {
            0.0
        };
        self.exported.observe(seconds);
        self.count.inc();
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.get()
    }
}

/// The label set of a [`LabelledCounter`]: names fixed at construction, values per sample.
type Labels = Vec<(&'static str, String)>;

/// A counter with `N` string labels whose names are fixed when it is made.
#[derive(Debug, Clone)]
pub struct LabelledCounter<const N: usize> {
    names: [&'static str; N],
    family: Family<Labels, Counter>,
    total: Counter,
}

impl<const N: usize> LabelledCounter<N> {
    fn new(names: [&'static str; N]) -> Self {
        Self {
            names,
            family: Family::default(),
            total: Counter::default(),
        }
    }

    fn labels(&self, values: &[&str; N]) -> Labels {
        self.names
            .iter()
            .zip(values.iter())
            .map(|(k, v)| (*k, (*v).to_string()))
            .collect()
    }

    pub fn inc(&self, values: &[&str; N]) {
        self.add(values, 1);
    }

    pub fn add(&self, values: &[&str; N], n: u64) {
        self.family.get_or_create(&self.labels(values)).inc_by(n);
        self.total.inc_by(n);
    }

    /// The value for exactly these label values (0 if never counted).
    pub fn get(&self, values: &[&str; N]) -> u64 {
        self.family
            .get(&self.labels(values))
            .map(|c| c.get())
            .unwrap_or(0)
    }

    /// Sum over every label set.
    pub fn total(&self) -> u64 {
        self.total.get()
    }
}

/// Every metric the bot exports, and the registry that exposes them.
#[derive(Debug)]
pub struct Metrics {
    /// Socket Mode envelopes handed to a callback (events, commands, interactions).
    pub envelopes_received: Counter,
    /// Envelopes whose callback returned so the listener acked them.
    pub envelopes_acked: Counter,
    /// Envelopes that could not be decoded (acked anyway, logged).
    pub envelopes_undecodable: Counter,
    /// Redeliveries of an event already seen (same `event_id`).
    pub redeliveries: Counter,
    /// Alerts re-fired within the dedup window (same fingerprint).
    pub duplicates: Counter,
    /// Alerts refused because the queue was full (a notice was posted).
    pub queue_full: Counter,
    /// Messages ignored, by reason.
    pub ignored: LabelledCounter<1>,
    /// Finished runs, by agent and outcome (`ok`, `deadline`, `shutdown`).
    pub runs: LabelledCounter<2>,
    /// Duration of successful runs (receipt to rendered reply).
    pub run_duration: Histogram,
    /// Slack Web API calls that failed for good, by method and error.
    pub slack_api_errors: LabelledCounter<2>,
    /// Slack Web API 429 answers (each was waited out).
    pub slack_rate_limited: Counter,
    /// Replies that could not be delivered after every retry.
    pub replies_failed: Counter,
    /// Feedback votes by agent and vote (`up`, `down`).
    pub feedback: LabelledCounter<2>,
    /// Resolved notes posted.
    pub resolved_notes: Counter,
    /// `/rca` commands and shortcuts received.
    pub commands: Counter,
    /// Runs an LLM took part in, by outcome (`answered`, `fallback`).
    pub llm_runs: LabelledCounter<1>,
    /// LLM tokens by direction (`in`: prompt, `out`: completion).
    pub llm_tokens: LabelledCounter<1>,
    /// Chat-completion requests sent.
    pub llm_requests: Counter,
    /// Tool calls the LLM made.
    pub llm_tool_calls: Counter,
    /// Claims of LLM answers not found in the evidence.
    pub llm_unsupported_claims: Counter,
    /// LLM spend in US dollars (from the `llm.prices` table).
    pub llm_cost_usd: PromCounter<f64, AtomicU64>,
    /// Time spent in the LLM per run.
    pub llm_duration: Histogram,
    /// `@sre-agent` mentions acted on (questions and "analyse this thread").
    pub mentions: Counter,
    /// Catch-up reads (history, thread) that failed and were tried again.
    pub catch_up_read_retries: Counter,
    /// Catch-up reads that kept failing: the alert was neither analysed nor taken as answered.
    pub catch_up_unread: Counter,
    /// "Investigating…" messages left by an earlier process and finished in place.
    pub analyses_resumed: Counter,
    /// Re-fires folded into an existing duplicate notice (updated in place).
    pub duplicate_notices_coalesced: Counter,
    /// Socket Mode connections lost with an error (readiness drops until the next hello).
    pub socket_errors: Counter,
    /// Alerts waiting for a worker (set at scrape time).
    queue_depth: Gauge,
    /// 1 while the Socket Mode connection is up (set at scrape time).
    ready: Gauge,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered under its exported name.
    pub fn new() -> Self {
        let mut m = Metrics {
            envelopes_received: Counter::default(),
            envelopes_acked: Counter::default(),
            envelopes_undecodable: Counter::default(),
            redeliveries: Counter::default(),
            duplicates: Counter::default(),
            queue_full: Counter::default(),
            ignored: LabelledCounter::new(["reason"]),
            runs: LabelledCounter::new(["agent", "outcome"]),
            run_duration: Histogram::default(),
            slack_api_errors: LabelledCounter::new(["method", "error"]),
            slack_rate_limited: Counter::default(),
            replies_failed: Counter::default(),
            feedback: LabelledCounter::new(["agent", "vote"]),
            resolved_notes: Counter::default(),
            commands: Counter::default(),
            llm_runs: LabelledCounter::new(["outcome"]),
            llm_tokens: LabelledCounter::new(["direction"]),
            llm_requests: Counter::default(),
            llm_tool_calls: Counter::default(),
            llm_unsupported_claims: Counter::default(),
            llm_cost_usd: PromCounter::default(),
            llm_duration: Histogram::default(),
            mentions: Counter::default(),
            catch_up_read_retries: Counter::default(),
            catch_up_unread: Counter::default(),
            analyses_resumed: Counter::default(),
            duplicate_notices_coalesced: Counter::default(),
            socket_errors: Counter::default(),
            queue_depth: Gauge::default(),
            ready: Gauge::default(),
            registry: Registry::default(),
        };
        m.register();
        m
    }

    /// Register every metric (counter names without `_total`: the encoder adds it).
    fn register(&mut self) {
        let r = &mut self.registry;
        let counters: [(&str, &str, &Counter); 19] = [
            (
                "envelopes_received",
                "Socket Mode envelopes received.",
                &self.envelopes_received,
            ),
            (
                "envelopes_acked",
                "Socket Mode envelopes acknowledged.",
                &self.envelopes_acked,
            ),
            (
                "envelopes_undecodable",
                "Socket Mode envelopes that could not be decoded.",
                &self.envelopes_undecodable,
            ),
            (
                "redeliveries",
                "Events delivered again (same event_id).",
                &self.redeliveries,
            ),
            (
                "duplicates",
                "Alerts re-fired within the dedup window.",
                &self.duplicates,
            ),
            (
                "queue_full",
                "Alerts refused because the queue was full.",
                &self.queue_full,
            ),
            (
                "slack_rate_limited",
                "Slack Web API 429 answers waited out.",
                &self.slack_rate_limited,
            ),
            (
                "replies_failed",
                "Thread replies not delivered after every retry.",
                &self.replies_failed,
            ),
            (
                "resolved_notes",
                "Resolved notes posted.",
                &self.resolved_notes,
            ),
            (
                "commands",
                "/rca commands and Run RCA shortcuts received.",
                &self.commands,
            ),
            (
                "llm_requests",
                "Chat-completion requests sent to the LLM.",
                &self.llm_requests,
            ),
            (
                "llm_tool_calls",
                "Tool calls the LLM made.",
                &self.llm_tool_calls,
            ),
            (
                "llm_unsupported_claims",
                "Claims of LLM answers not found in the evidence.",
                &self.llm_unsupported_claims,
            ),
            (
                "mentions",
                "@sre-agent mentions acted on (questions and thread analyses).",
                &self.mentions,
            ),
            (
                "catch_up_read_retries",
                "Catch-up reads of Slack history or threads that failed and were retried.",
                &self.catch_up_read_retries,
            ),
            (
                "catch_up_unread",
                "Catch-up reads that kept failing (alert neither analysed nor taken as answered).",
                &self.catch_up_unread,
            ),
            (
                "analyses_resumed",
                "Investigating messages of an earlier process finished in place.",
                &self.analyses_resumed,
            ),
            (
                "duplicate_notices_coalesced",
                "Re-fires counted into an existing duplicate notice.",
                &self.duplicate_notices_coalesced,
            ),
            (
                "socket_errors",
                "Socket Mode connections lost with an error.",
                &self.socket_errors,
            ),
        ];
        for (name, help, counter) in counters {
            r.register(format!("sre_agent_{name}"), help, counter.clone());
        }
        let labelled: [(&str, &str, &Family<Labels, Counter>); 6] = [
            (
                "ignored",
                "Messages ignored, by reason.",
                &self.ignored.family,
            ),
            ("runs", "Analyses by agent and outcome.", &self.runs.family),
            (
                "slack_api_errors",
                "Slack Web API calls that failed after retries, by method and error.",
                &self.slack_api_errors.family,
            ),
            (
                "feedback",
                "Helpful? votes by agent and vote.",
                &self.feedback.family,
            ),
            (
                "llm_runs",
                "Runs an LLM took part in, by outcome (answered, fallback).",
                &self.llm_runs.family,
            ),
            (
                "llm_tokens",
                "LLM tokens, by direction (in: prompt, out: completion).",
                &self.llm_tokens.family,
            ),
        ];
        for (name, help, family) in labelled {
            r.register(format!("sre_agent_{name}"), help, family.clone());
        }
        r.register(
            "sre_agent_llm_cost_usd",
            "LLM spend in US dollars (llm.prices).",
            self.llm_cost_usd.clone(),
        );
        r.register(
            "sre_agent_run_duration_seconds",
            "Time from receipt to rendered reply.",
            self.run_duration.exported.clone(),
        );
        r.register(
            "sre_agent_llm_duration_seconds",
            "Time spent in the LLM per run.",
            self.llm_duration.exported.clone(),
        );
        r.register(
            "sre_agent_queue_depth",
            "Alerts waiting for a worker.",
            self.queue_depth.clone(),
        );
        r.register(
            "sre_agent_ready",
            "1 when the Socket Mode connection is up.",
            self.ready.clone(),
        );
        r.register(
            "sre_agent_build",
            "The running build: version, commit (SRE_AGENT_GIT_SHA at build time) and profile.",
            Info::new(vec![
                ("version", env!("CARGO_PKG_VERSION")),
                (
                    "commit",
                    option_env!("SRE_AGENT_GIT_SHA").unwrap_or("unknown"),
                ),
                (
                    "profile",
                    if cfg!(debug_assertions) {
                        "debug"
                    } else {
                        "release"
                    },
                ),
            ]),
        );
    }

    pub fn inc(counter: &Counter) {
        counter.inc();
    }

    pub fn get(counter: &Counter) -> u64 {
        counter.get()
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
        self.llm_requests.inc_by(u64::from(u.requests));
        self.llm_tool_calls.inc_by(u64::from(u.tool_calls));
        self.llm_unsupported_claims
            .inc_by(rca.unsupported.len() as u64);
        if let Some(c) = u.cost_usd.filter(|c| c.is_finite() && *c > 0.0) {
            self.llm_cost_usd.inc_by(c);
        }
        self.llm_duration.observe(u.llm_ms as f64 / 1000.0);
    }

    /// The OpenMetrics text exposition (`crate::telemetry::METRICS_CONTENT_TYPE`), with the scrape-time gauges set.
    pub fn render(&self, queue_depth: usize, ready: bool) -> String {
        self.queue_depth
            .set(i64::try_from(queue_depth).unwrap_or(i64::MAX));
        self.ready.set(i64::from(ready));
        let mut out = String::with_capacity(8192);
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "metrics could not be encoded");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample line `name` (exactly, labels included).
    fn sample(text: &str, name: &str) -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ').map(str::to_string))
    }

    #[test]
    fn renders_openmetrics_text() {
        let m = Metrics::default();
        Metrics::inc(&m.envelopes_received);
        m.runs.inc(&["network", "ok"]);
        m.feedback.inc(&["network", "up"]);
        m.feedback.inc(&["network", "up"]);
        m.run_duration.observe(0.3);
        m.run_duration.observe(7.0);
        let text = m.render(3, true);
        assert_eq!(
            sample(&text, "sre_agent_envelopes_received_total").as_deref(),
            Some("1")
        );
        assert!(
            text.contains("# TYPE sre_agent_envelopes_received counter"),
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                "sre_agent_runs_total{agent=\"network\",outcome=\"ok\"}"
            )
            .as_deref(),
            Some("1")
        );
        assert_eq!(
            sample(
                &text,
                "sre_agent_feedback_total{agent=\"network\",vote=\"up\"}"
            )
            .as_deref(),
            Some("2")
        );
        assert_eq!(
            sample(&text, "sre_agent_run_duration_seconds_bucket{le=\"0.25\"}").as_deref(),
            Some("0")
        );
        assert_eq!(
            sample(&text, "sre_agent_run_duration_seconds_bucket{le=\"0.5\"}").as_deref(),
            Some("1")
        );
        assert_eq!(
            sample(&text, "sre_agent_run_duration_seconds_bucket{le=\"+Inf\"}").as_deref(),
            Some("2")
        );
        assert_eq!(
            sample(&text, "sre_agent_run_duration_seconds_count").as_deref(),
            Some("2")
        );
        assert_eq!(sample(&text, "sre_agent_queue_depth").as_deref(), Some("3"));
        assert_eq!(sample(&text, "sre_agent_ready").as_deref(), Some("1"));
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(m.feedback.get(&["network", "up"]), 2);
        assert_eq!(m.feedback.get(&["network", "down"]), 0);
        assert_eq!(m.feedback.total(), 2);
        assert_eq!(m.run_duration.count(), 2);
    }

    #[test]
    fn build_info_names_the_version() {
        let text = Metrics::default().render(0, false);
        let line = text
            .lines()
            .find(|l| l.starts_with("sre_agent_build_info{"))
            .unwrap_or_else(|| panic!("no build info in {text}"));
        assert!(
            line.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))),
            "{line}"
        );
        assert!(line.ends_with(" 1"), "{line}");
        assert_eq!(sample(&text, "sre_agent_ready").as_deref(), Some("0"));
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
        let value = |name: &str| sample(&text, name).unwrap_or_else(|| panic!("{name}: {text}"));
        assert_eq!(
            value("sre_agent_llm_tokens_total{direction=\"in\"}"),
            "4000"
        );
        assert_eq!(
            value("sre_agent_llm_tokens_total{direction=\"out\"}"),
            "600"
        );
        assert_eq!(value("sre_agent_llm_tool_calls_total"), "2");
        assert_eq!(value("sre_agent_llm_requests_total"), "3");
        assert_eq!(value("sre_agent_llm_runs_total{outcome=\"answered\"}"), "1");
        let cost: f64 = value("sre_agent_llm_cost_usd_total").parse().unwrap_or(0.0);
        assert!((cost - 0.00096).abs() < 1e-12, "{cost}");
        assert_eq!(
            value("sre_agent_llm_duration_seconds_bucket{le=\"10.0\"}"),
            "1"
        );
        assert_eq!(
            value("sre_agent_llm_duration_seconds_bucket{le=\"5.0\"}"),
            "0"
        );
        assert_eq!(value("sre_agent_llm_unsupported_claims_total"), "1");
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::default();
        m.ignored.inc(&["a\"b\\c\nd"]);
        let text = m.render(0, true);
        assert!(
            text.contains(r#"sre_agent_ignored_total{reason="a\"b\\c\nd"} 1"#),
            "{text}"
        );
    }
}
