//! What a scenario expects (`expect.yaml`) and what an eval of a directory requires (`eval.yaml`).
//!
//! Every field added after the first format is optional with a serde default, so an old
//! `expect.yaml` means what it always meant.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `expect.yaml`: what a correct analysis of the scenario looks like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The agent a good SRE would hand the alert to.
    pub agent: String,
    /// Words the whole reply text must contain (case-insensitive).
    #[serde(default)]
    pub contains: Vec<String>,
    /// Words the RCA's root cause must contain (case-insensitive).
    #[serde(default)]
    pub root_cause: Vec<String>,
    /// Words the whole reply text must not contain (case-insensitive): wrong advice, another
    /// technology, a command in the wrong namespace, an unfilled `<service>` placeholder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_contains: Vec<String>,
    /// Highest confidence the RCA may state (a scenario without evidence must not sound sure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_confidence: Option<f64>,
    /// The object the alert is about (recorded now; scored once target resolution exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<ExpectedTarget>,
}

/// `target:` of `expect.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedTarget {
    pub kind: TargetKind,
    pub name: String,
    /// Absent for cluster-scoped or outside objects (Node, Host, Url, an external Database).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// What kind of object an alert can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TargetKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    Pod,
    Node,
    Service,
    PersistentVolumeClaim,
    /// A machine outside Kubernetes (or named only by its host name).
    Host,
    /// An endpoint probed from outside (blackbox `instance`).
    Url,
    Database,
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl fmt::Display for ExpectedTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// `eval.yaml`: the thresholds `eval` enforces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub routing_accuracy: f64,
    pub root_cause_hit_rate: f64,
    pub p95_ms: f64,
    /// The p95 bound when an LLM reasons (a model takes seconds, not milliseconds).
    #[serde(default = "default_llm_p95_ms")]
    pub llm_p95_ms: f64,
}

fn default_llm_p95_ms() -> f64 {
    60_000.0
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            routing_accuracy: 1.0,
            root_cause_hit_rate: 0.9,
            p95_ms: 250.0,
            llm_p95_ms: default_llm_p95_ms(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_format_still_parses_and_means_the_same() {
        let e: Expectation =
            serde_yaml::from_str("agent: network\ncontains: [a]\nroot_cause: [b]\n").expect("old");
        assert_eq!(e.agent, "network");
        assert!(e.not_contains.is_empty());
        assert_eq!(e.max_confidence, None);
        assert_eq!(e.target, None);
    }

    #[test]
    fn the_new_fields_parse() {
        let e: Expectation = serde_yaml::from_str(
            "agent: kubernetes\nnot_contains: [mongodb]\nmax_confidence: 0.5\n\
             target: {kind: StatefulSet, name: db, namespace: data}\n",
        )
        .expect("new");
        assert_eq!(e.not_contains, ["mongodb"]);
        assert_eq!(e.max_confidence, Some(0.5));
        let t = e.target.expect("target");
        assert_eq!(t.kind, TargetKind::StatefulSet);
        assert_eq!(t.to_string(), "StatefulSet data/db");
    }

    #[test]
    fn unknown_fields_and_kinds_are_refused() {
        assert!(serde_yaml::from_str::<Expectation>("agent: x\nroot: [a]\n").is_err());
        assert!(
            serde_yaml::from_str::<Expectation>("agent: x\ntarget: {kind: Ingress, name: a}\n")
                .is_err()
        );
        assert!(
            serde_yaml::from_str::<Expectation>("agent: x\ntarget: {kind: Pod, name: a, ns: b}\n")
                .is_err()
        );
    }
}
