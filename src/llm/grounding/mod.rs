//! Grounding: is what the model says backed by what was observed?
//!
//! Every number (with its unit), resource name, timestamp and command target of an LLM's
//! [`Rca`] ([`claims`]) is looked up in a [`Haystack`] built from the alert and every tool
//! output of the run (the up-front evidence and the model's own tool calls), in full, not the
//! digest the model read. Numbers match within the precision they were written with, across the
//! usual unit changes (ratio ↔ %, ms ↔ s ↔ min, bytes ↔ KiB/MiB/GiB); names match as whole
//! tokens; times match within 90 s.
//!
//! [`check`] lists the claims nothing supports and whether the root cause cites anything
//! observed at all (a supported claim, or an identifier that appears in the tools' data);
//! [`apply`] marks the unsupported ones on the RCA and lowers its confidence. The LLM reasoner
//! replaces an RCA whose root cause cites nothing observed with the offline one.

pub mod claims;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use chrono::{DateTime, Timelike, Utc};
use regex::Regex;

use crate::alert::Alert;
use crate::evidence::{ToolOutcome, ToolOutput};
use crate::rca::{Confidence, Rca};
use claims::Claim;

/// Two times this close are the same moment (answers round to the minute).
const TIME_SLACK_SECS: i64 = 90;
/// Confidence lost per unsupported claim, and at most in all.
const PENALTY: f64 = 0.1;
const MAX_PENALTY: f64 = 0.4;
/// Namespaces every Kubernetes cluster has. Not `default`: a command aimed at `-n default` when
/// the evidence is elsewhere is the classic wrong-object mistake, and stays flagged.
const SYSTEM_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];
/// Most unsupported claims listed.
const MAX_LISTED: usize = 10;

static NUMBERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
        .unwrap_or_else(|e| panic!("grounding pattern: {e}"))
});
static TIMESTAMPS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
        .unwrap_or_else(|e| panic!("grounding pattern: {e}"))
});
static IDENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9][A-Za-z0-9_.\-]{2,79}")
        .unwrap_or_else(|e| panic!("grounding pattern: {e}"))
});

/// What the answer may cite: the alert and every tool output, searchable.
#[derive(Debug, Clone, Default)]
pub struct Haystack {
    /// Everything, lower-cased.
    text: String,
    numbers: Vec<f64>,
    times: Vec<DateTime<Utc>>,
    /// Identifiers that occur in the tools' data (lower-cased).
    observed: BTreeSet<String>,
    /// Whether any tool returned data.
    has_data: bool,
}

/// An identifier specific enough to count as a citation: it has a `-`, `_`, `.` or digit, or
/// an upper-case letter after the first (`OOMKilled`, `CrashLoopBackOff`).
fn identifier_like(word: &str) -> bool {
    word.len() >= 4
        && word.chars().any(|c| c.is_ascii_alphabetic())
        && (word.contains(['-', '_', '.'])
            || word.chars().any(|c| c.is_ascii_digit())
            || word.chars().skip(1).any(|c| c.is_ascii_uppercase()))
}

impl Haystack {
    /// The alert and these tool outputs.
    pub fn new<'a>(alert: &Alert, outputs: impl IntoIterator<Item = &'a ToolOutput>) -> Haystack {
        let mut text = String::new();
        let mut push = |s: &str| {
            text.push_str(s);
            text.push('\n');
        };
        push(&alert.title);
        push(&alert.text);
        for v in [
            &alert.service,
            &alert.namespace,
            &alert.host,
            &alert.severity,
        ]
        .into_iter()
        .flatten()
        {
            push(v);
        }
        for (k, v) in &alert.labels {
            push(&format!("{k}={v}"));
        }
        if let Some(t) = alert.fired_at {
            push(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        let mut observed = BTreeSet::new();
        let mut has_data = false;
        for o in outputs {
            push(&serde_json::Value::Object(o.call.args.clone()).to_string());
            let outcome = serde_json::to_string(&o.outcome).unwrap_or_default();
            if let ToolOutcome::Data { .. } = o.outcome {
                has_data = true;
                for m in IDENT.find_iter(&outcome) {
                    let w = m.as_str().trim_end_matches(['.', '-', '_']);
                    if identifier_like(w) {
                        observed.insert(w.to_ascii_lowercase());
                    }
                }
            }
            push(&outcome);
        }
        let numbers = NUMBERS
            .find_iter(&text)
            .filter_map(|m| m.as_str().parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .collect();
        let times = TIMESTAMPS
            .find_iter(&text)
            .filter_map(|m| DateTime::parse_from_rfc3339(m.as_str()).ok())
            .map(|t| t.with_timezone(&Utc))
            .collect();
        Haystack {
            text: text.to_lowercase(),
            numbers,
            times,
            observed,
            has_data,
        }
    }

    /// Whether any tool returned data (with none, nothing can be grounded).
    pub fn has_data(&self) -> bool {
        self.has_data
    }

    /// `needle` (lower-case) occurs as a whole token: not inside a longer word or number.
    fn contains_token(&self, needle: &str) -> bool {
        if needle.is_empty() {
            return false;
        }
        let hay = self.text.as_bytes();
        let word = |b: u8| b.is_ascii_alphanumeric();
        self.text.match_indices(needle).any(|(i, _)| {
            let before = i.checked_sub(1).map(|j| hay[j]);
            let after = hay.get(i + needle.len()).copied();
            !before.is_some_and(word) && !after.is_some_and(word)
        })
    }

    fn supports(&self, claim: &Claim) -> bool {
        match claim {
            // Every cluster has its system namespaces: `kubectl -n kube-system logs -l
            // k8s-app=kube-dns` needs no evidence that kube-system exists.
            Claim::Name { kind, name }
                if kind == "namespace" && SYSTEM_NAMESPACES.contains(&name.as_str()) =>
            {
                true
            }
            Claim::Name { name, .. } => self.contains_token(name),
            Claim::Number {
                value,
                decimals,
                unit,
                ..
            } => {
                let half_unit = 0.5 * 10f64.powi(-decimals);
                scales(unit).iter().any(|&f| {
                    let want = value * f;
                    let tol = (half_unit * f.abs()).max(want.abs() * 0.005);
                    self.numbers.iter().any(|h| (h - want).abs() <= tol)
                })
            }
            Claim::Timestamp { at, .. } => self
                .times
                .iter()
                .any(|t| (*t - *at).num_seconds().abs() <= TIME_SLACK_SECS),
            Claim::TimeOfDay { at, .. } => {
                let claimed = i64::from(at.num_seconds_from_midnight());
                self.times.iter().any(|t| {
                    let seen = i64::from(t.num_seconds_from_midnight());
                    let d = (seen - claimed).rem_euclid(86_400);
                    d.min(86_400 - d) <= TIME_SLACK_SECS
                })
            }
        }
    }

    /// Whether `text` names something the tools returned.
    fn cites_observation(&self, text: &str) -> bool {
        IDENT.find_iter(text).any(|m| {
            let w = m.as_str().trim_end_matches(['.', '-', '_']);
            identifier_like(w) && self.observed.contains(&w.to_ascii_lowercase())
        })
    }
}

/// The factors that turn a claimed value into the units the evidence may hold it in.
fn scales(unit: &str) -> Vec<f64> {
    const KI: f64 = 1024.0;
    match unit {
        "%" => vec![1.0, 0.01],
        "ms" => vec![1.0, 1e-3, 1e3],
        "µs" | "us" => vec![1.0, 1e-3, 1e-6],
        "ns" => vec![1.0, 1e-6, 1e-9],
        "s" | "sec" | "secs" | "second" | "seconds" => vec![1.0, 1e3, 1.0 / 60.0],
        "m" | "min" | "mins" | "minute" | "minutes" => vec![1.0, 60.0, 60e3],
        "h" | "hour" | "hours" => vec![1.0, 3600.0, 60.0],
        "d" | "day" | "days" => vec![1.0, 86_400.0, 24.0],
        "ki" | "kib" => vec![1.0, KI, 1.0 / KI],
        "mi" | "mib" => vec![1.0, KI * KI, KI, 1.0 / KI],
        "gi" | "gib" => vec![1.0, KI * KI * KI, KI * KI, KI],
        "kb" => vec![1.0, 1e3, KI],
        "mb" => vec![1.0, 1e6, KI * KI],
        "gb" => vec![1.0, 1e9, KI * KI * KI],
        "tb" => vec![1.0, 1e12, KI.powi(4)],
        "cores" | "core" => vec![1.0, 1e3],
        "millicores" => vec![1.0, 1e-3],
        "rps" | "req/s" | "qps" => vec![1.0, 60.0],
        _ => vec![1.0, 100.0, 0.01],
    }
}

/// The grounding verdict on one answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grounding {
    /// Claims nothing supports, as listed in the reply.
    pub unsupported: Vec<String>,
    /// Claims checked in all.
    pub checked: usize,
    /// Whether the root cause cites something observed.
    pub root_cause_grounded: bool,
}

fn prose_claims(text: &str) -> Vec<Claim> {
    let mut out = claims::names(text);
    out.extend(claims::times(text));
    out.extend(claims::numbers(text));
    out
}

/// Check every claim of `rca` against `hay`.
pub fn check(rca: &Rca, hay: &Haystack) -> Grounding {
    let mut all: Vec<Claim> = Vec::new();
    let mut texts: Vec<&str> = vec![&rca.summary, &rca.root_cause];
    for h in &rca.hypotheses {
        texts.push(&h.cause);
        texts.extend(h.evidence_for.iter().map(String::as_str));
        texts.extend(h.evidence_against.iter().map(String::as_str));
    }
    texts.extend(rca.timeline.iter().map(|t| t.event.as_str()));
    for text in texts {
        all.extend(prose_claims(text));
    }
    for m in &rca.metrics {
        all.extend(claims::numbers(&m.value));
        all.extend(claims::times(&m.value));
    }
    for t in &rca.timeline {
        all.push(Claim::Timestamp {
            text: t.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            at: t.at,
        });
    }
    for a in &rca.actions {
        if let Some(cmd) = &a.command {
            all.extend(claims::command_targets(cmd));
        }
    }
    let mut unsupported: Vec<String> = Vec::new();
    let mut checked = 0;
    for claim in &all {
        checked += 1;
        if !hay.supports(claim) {
            let label = claim.label();
            if !unsupported.contains(&label) {
                unsupported.push(label);
            }
        }
    }
    let root_claims = prose_claims(&rca.root_cause);
    let root_cause_grounded =
        root_claims.iter().any(|c| hay.supports(c)) || hay.cites_observation(&rca.root_cause);
    Grounding {
        unsupported,
        checked,
        root_cause_grounded,
    }
}

/// Mark the unsupported claims on `rca` and lower its confidence for them.
pub fn apply(rca: &mut Rca, grounding: &Grounding) {
    let n = grounding.unsupported.len();
    if n == 0 {
        return;
    }
    let mut listed: Vec<String> = grounding
        .unsupported
        .iter()
        .take(MAX_LISTED)
        .cloned()
        .collect();
    if n > MAX_LISTED {
        listed.push(format!("…and {} more", n - MAX_LISTED));
    }
    rca.unsupported = listed;
    let penalty = (PENALTY * n as f64).min(MAX_PENALTY);
    rca.confidence = Confidence::new((rca.confidence.value() - penalty).max(0.05));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sources::text_alert;
    use crate::evidence::{MetricPoint, MetricSeries, Observation, PodState, ToolCall};
    use crate::rca::{Action, Hypothesis, Likelihood};

    fn hay() -> Haystack {
        let mut alert = text_alert("Connection pool exhausted for user-service");
        alert.namespace = Some("prod".into());
        let at = |m: i64| DateTime::from_timestamp(1_790_000_000 + m * 60, 0).expect("t");
        let outputs = vec![
            ToolOutput {
                call: ToolCall {
                    tool: "query_metrics".into(),
                    args: serde_json::Map::new(),
                },
                outcome: ToolOutcome::Data {
                    observation: Observation::Metrics {
                        series: vec![MetricSeries {
                            metric: "db_pool_wait_ms".into(),
                            labels: Default::default(),
                            points: vec![
                                MetricPoint {
                                    timestamp: at(0),
                                    value: 12.0,
                                },
                                MetricPoint {
                                    timestamp: at(5),
                                    value: 4512.7,
                                },
                            ],
                        }],
                    },
                },
                elapsed_ms: 1.0,
                truncated: None,
            },
            ToolOutput {
                call: ToolCall {
                    tool: "get_pod_status".into(),
                    args: serde_json::Map::new(),
                },
                outcome: ToolOutcome::Data {
                    observation: Observation::Pods {
                        pods: vec![PodState {
                            name: "user-service-7d9f8b6c5d-x2k4p".into(),
                            namespace: "prod".into(),
                            phase: "Running".into(),
                            ready: true,
                            ..PodState::default()
                        }],
                    },
                },
                elapsed_ms: 1.0,
                truncated: None,
            },
        ];
        Haystack::new(&alert, &outputs)
    }

    fn rca(root_cause: &str) -> Rca {
        Rca {
            summary: "Pool exhausted".into(),
            root_cause: root_cause.into(),
            hypotheses: vec![Hypothesis {
                cause: "slow queries".into(),
                evidence_for: vec!["pool wait 4.5 s".into()],
                evidence_against: vec![],
                likelihood: Likelihood::High,
            }],
            timeline: vec![],
            actions: vec![Action {
                title: "Restart".into(),
                command: Some("kubectl -n prod rollout restart deploy/user-service".into()),
            }],
            prevention: vec![],
            metrics: vec![],
            missing_evidence: vec![],
            confidence: Confidence::new(0.8),
            reasoner: "llm:test".into(),
            unsupported: vec![],
            usage: None,
        }
    }

    #[test]
    fn supported_claims_pass_across_units() {
        let g = check(
            &rca("Pod user-service-7d9f8b6c5d-x2k4p waited 4513 ms for a connection"),
            &hay(),
        );
        assert!(g.unsupported.is_empty(), "{:?}", g.unsupported);
        assert!(g.root_cause_grounded);
    }

    #[test]
    fn invented_names_and_values_are_flagged() {
        let mut r = rca("Pod user-service-5f5f5f5f5f-zzzzz waited 9731 ms for a connection");
        let g = check(&r, &hay());
        assert_eq!(
            g.unsupported,
            ["pod `user-service-5f5f5f5f5f-zzzzz`", "value `9731 ms`"]
        );
        assert!(!g.root_cause_grounded);
        apply(&mut r, &g);
        assert_eq!(r.unsupported.len(), 2);
        assert!((r.confidence.value() - 0.6).abs() < 1e-9);
    }

    #[test]
    fn system_namespaces_need_no_evidence_but_default_does() {
        let mut r = rca("db_pool_wait_ms climbed: the pool is exhausted");
        r.actions = vec![
            Action {
                title: "CoreDNS logs".into(),
                command: Some("kubectl -n kube-system logs -l k8s-app=kube-dns --tail=50".into()),
            },
            Action {
                title: "Wrong namespace".into(),
                command: Some("kubectl -n default get pods".into()),
            },
        ];
        assert_eq!(check(&r, &hay()).unsupported, ["namespace `default`"]);
    }

    #[test]
    fn a_root_cause_without_observations_is_not_grounded() {
        let g = check(
            &rca("Cosmic rays flipped bits in the primary's memory."),
            &hay(),
        );
        assert!(!g.root_cause_grounded);
        let g = check(
            &rca("db_pool_wait_ms climbed: the pool is exhausted"),
            &hay(),
        );
        assert!(g.root_cause_grounded);
    }
}
