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
    /// The object the alert is about; eval compares it with the resolved target.
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

impl ExpectedTarget {
    /// Whether the resolved `got` is this object: the same name (and namespace, when one is
    /// expected) and a kind that is this one. A pod whose workload is the expected workload is
    /// that workload's object, so is an HPA's scale target; an application (a kind-less name) counts as a Deployment or a
    /// Service of that name; a database is whatever runs it (a StatefulSet, Service, host…); a
    /// host may be a node; a probed URL may be named by its host.
    pub fn matches(&self, got: &crate::target::Target) -> bool {
        use crate::target::TargetKind as K;
        let same = |a: &str, b: &str| {
            a.trim_end_matches('/')
                .eq_ignore_ascii_case(b.trim_end_matches('/'))
        };
        let ns_ok = match &self.namespace {
            Some(ns) => got.namespace.as_deref().is_some_and(|g| same(g, ns)),
            None => true,
        };
        if !ns_ok {
            return false;
        }
        let by_name = same(&got.name, &self.name);
        let workload_is = |kinds: &[K]| {
            matches!(got.kind, K::Pod | K::HorizontalPodAutoscaler)
                && got
                    .workload
                    .as_ref()
                    .is_some_and(|(k, n)| kinds.contains(k) && same(n, &self.name))
        };
        let kinds: &[K] = match self.kind {
            TargetKind::Deployment => &[K::Deployment, K::App],
            TargetKind::StatefulSet => &[K::StatefulSet],
            TargetKind::DaemonSet => &[K::DaemonSet],
            TargetKind::Job => &[K::Job],
            TargetKind::CronJob => &[K::CronJob],
            TargetKind::Pod => &[K::Pod],
            TargetKind::Node => &[K::Node],
            TargetKind::Service => &[K::Service, K::App],
            TargetKind::PersistentVolumeClaim => &[K::PersistentVolumeClaim],
            TargetKind::Host => &[K::Host, K::Node],
            TargetKind::Url => &[K::Url, K::Host],
            TargetKind::Database => &[K::StatefulSet, K::Deployment, K::Service, K::App, K::Host],
        };
        let url_host = self.kind == TargetKind::Url
            && got.kind == K::Host
            && url::Url::parse(&self.name)
                .ok()
                .and_then(|u| u.host_str().map(|h| same(h, &got.name)))
                .unwrap_or(false);
        (by_name && kinds.contains(&got.kind))
            || url_host
            || workload_is(match self.kind {
                TargetKind::Database => &[K::StatefulSet, K::Deployment],
                _ => kinds,
            })
    }
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
    /// Minimum share of the scenarios naming a `target` whose resolved target is that object
    /// (absent: the target is scored but not enforced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_accuracy: Option<f64>,
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
            target_accuracy: None,
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

    fn resolved(
        kind: crate::target::TargetKind,
        name: &str,
        ns: Option<&str>,
    ) -> crate::target::Target {
        crate::target::Target {
            kind,
            name: name.into(),
            namespace: ns.map(str::to_string),
            workload: None,
            container: None,
            why: Vec::new(),
            guessed: false,
        }
    }

    #[test]
    fn a_target_matches_by_kind_name_and_namespace() {
        use crate::target::TargetKind as K;
        let want = |y: &str| -> ExpectedTarget { serde_yaml::from_str(y).expect("target") };
        let sts = want("{kind: StatefulSet, name: db, namespace: data}");
        assert!(sts.matches(&resolved(K::StatefulSet, "db", Some("data"))));
        assert!(!sts.matches(&resolved(K::StatefulSet, "db", Some("default"))));
        assert!(!sts.matches(&resolved(K::StatefulSet, "db", None)));
        assert!(!sts.matches(&resolved(K::Deployment, "db", Some("data"))));
        let mut pod = resolved(K::Pod, "db-0", Some("data"));
        pod.workload = Some((K::StatefulSet, "db".into()));
        assert!(sts.matches(&pod), "a pod of the expected workload");
        let dep = want("{kind: Deployment, name: api, namespace: shop}");
        assert!(dep.matches(&resolved(K::App, "api", Some("shop"))));
        assert!(!dep.matches(&resolved(K::App, "api-v2", Some("shop"))));
        let node = want("{kind: Node, name: ip-10-0-1-5.ec2.internal}");
        assert!(node.matches(&resolved(K::Node, "ip-10-0-1-5.ec2.internal", None)));
        assert!(!node.matches(&resolved(K::Host, "10.0.1.5", None)));
        let url = want("{kind: Url, name: \"https://a.example.com/healthz\"}");
        assert!(url.matches(&resolved(K::Url, "https://a.example.com/healthz", None)));
        assert!(url.matches(&resolved(K::Host, "a.example.com", None)));
        let db = want("{kind: Database, name: pg, namespace: orders}");
        assert!(db.matches(&resolved(K::StatefulSet, "pg", Some("orders"))));
        assert!(!db.matches(&resolved(K::Node, "pg", None)));
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
