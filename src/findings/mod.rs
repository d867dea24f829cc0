//! Findings: general facts read from the evidence, each by one small function.
//!
//! A finding is something real systems emit when they fail, whatever the incident: a container
//! terminated `OOMKilled` with exit code 137, a pod waiting in `ImagePullBackOff` because the tag
//! does not exist, a scheduler message saying `Insufficient memory`, a Job past its backoff limit,
//! a node under `DiskPressure`, a Service with no ready endpoints, a certificate that expired, a
//! name that does not resolve, a log line in which a Go, Java, Python or Node driver reports that
//! a connection pool is exhausted. No finding depends on an incident's wording or on a name the
//! fixtures invented; each one cites the evidence it read.
//!
//! Findings are not verdicts: the reasoners rank them into causes (a cause explains its effects:
//! an OOM kill explains the restarts and the back-off). [`find_all`] runs every detector; an
//! agent may name the kinds it cares about with [`FindingKind`].

mod changes;
mod containers;
mod events;
mod log_classes;
mod logs;
mod network;
mod nodes;
mod pull;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::evidence::Evidence;

pub use changes::recent_changes;
pub use containers::{container_findings, termination_of};
pub use events::event_findings;
pub use log_classes::LogClass;
pub use logs::{classify_line, log_findings};
pub use network::{certificate_findings, dns_findings, endpoint_findings};
pub use nodes::node_findings;
pub use pull::{PullProblem, pull_problem};

/// What kind of fact a finding states. Agents name these in `agents.yaml` (snake case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A container's last run ended (OOM kill, error exit, signal).
    Termination,
    /// A container cannot start or keeps restarting (CrashLoopBackOff, image pull, config).
    Waiting,
    ProbeFailure,
    Scheduling,
    JobFailure,
    Volume,
    Eviction,
    NodeCondition,
    Endpoints,
    Rollout,
    Change,
    Certificate,
    Dns,
    Log,
}

/// How much one finding establishes on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    /// A hint: worth a look, explains little alone.
    Weak,
    /// Clear evidence of a fault.
    Strong,
    /// The system says what happened (`OOMKilled`, `manifest unknown`, `Insufficient cpu`).
    Decisive,
}

/// One fact from the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// A stable, machine-readable name of the fact, e.g. `oom_killed`, `image_tag_not_found`,
    /// `insufficient_memory`, `log_pool_exhausted`.
    pub fact: String,
    /// The object it is about: `Pod/checkout-7f9c-x1`, `Node/ip-10-0-1-5`, `Service/cart`,
    /// `api.example.com:443`, or a service name for logs.
    pub subject: String,
    /// When it happened, when the evidence says.
    pub at: Option<DateTime<Utc>>,
    /// One sentence with the numbers from the evidence.
    pub detail: String,
    /// What was read, quoted (a log line, an event message, a condition).
    #[serde(default)]
    pub cites: Vec<String>,
    pub strength: Strength,
    /// How many times it was seen (restarts, events, log lines).
    #[serde(default)]
    pub count: u32,
}

impl Finding {
    pub fn new(
        kind: FindingKind,
        fact: &str,
        subject: impl Into<String>,
        detail: impl Into<String>,
        strength: Strength,
    ) -> Finding {
        Finding {
            kind,
            fact: fact.to_string(),
            subject: subject.into(),
            at: None,
            detail: detail.into(),
            cites: Vec::new(),
            strength,
            count: 1,
        }
    }

    pub fn at(mut self, at: Option<DateTime<Utc>>) -> Finding {
        self.at = at;
        self
    }

    pub fn cite(mut self, quote: impl Into<String>) -> Finding {
        let q = quote.into();
        if !q.is_empty() && !self.cites.contains(&q) {
            self.cites.push(q);
        }
        self
    }

    pub fn count(mut self, count: u32) -> Finding {
        self.count = count.max(1);
        self
    }
}

/// Every finding the evidence supports, strongest first (then oldest first). `now` is the
/// alert's time, for "expires in" and "just before the alert".
pub fn find_all(evidence: &Evidence, now: DateTime<Utc>) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(container_findings(evidence));
    out.extend(event_findings(evidence));
    out.extend(node_findings(evidence));
    out.extend(endpoint_findings(evidence));
    out.extend(certificate_findings(evidence, now));
    out.extend(dns_findings(evidence));
    out.extend(log_findings(evidence));
    out.extend(recent_changes(evidence, now));
    out.sort_by(|a, b| {
        b.strength
            .cmp(&a.strength)
            .then_with(|| a.at.cmp(&b.at))
            .then_with(|| a.fact.cmp(&b.fact))
    });
    out
}

/// A quote cut to `max` characters on a char boundary, with `…` when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut s: String = one_line.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// Case-insensitive "contains any of".
pub(crate) fn has_any(haystack: &str, needles: &[&str]) -> bool {
    let h = haystack.to_ascii_lowercase();
    needles.iter().any(|n| h.contains(&n.to_ascii_lowercase()))
}
