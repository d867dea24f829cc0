//! Causes by class, reasoned over findings and the resolved target.
//!
//! Each cause is a small function over [`Facts`]: the general findings of the evidence
//! ([`crate::findings::find_all`]: termination reasons and exit codes, waiting reasons, scheduler
//! messages, probe failures, node conditions, log error classes of Go/Java/Python/Node drivers,
//! certificates, DNS answers, recent rollouts) and the [`Target`] the alert is about. A cause
//! returns a candidate ([`Finding`] of the offline analyzer) only when a finding supports it; its
//! score follows the finding's strength (the system saying what happened scores highest), and
//! causality: a cause that explains the other symptoms (an OOM kill explains the restarts and the
//! back-off; an error in the crashing container's log explains its exit code) ranks above them.
//!
//! Commands name the resolved object (`kubectl -n <ns> describe statefulset/<name>`), never a
//! placeholder: when the namespace is unknown, the command that finds the object is given.
//! Causes are chosen by evidence, not by the agent the alert was routed to.
//!
//! The agents' detectors (functions over the [`Ctx`] alone, listed per agent in
//! [`super::agents`]) live here too, one file per cause class beside the general causes of the
//! same class: pool exhaustion (`pool`), slow queries and missing indexes (`slow_query`),
//! replication (`replication`), authentication (`auth`), an unreachable database
//! (`reachability`), certificate expiry (`certificate`), incomplete chains (`tls_chain`), DNS
//! (`dns`), upstreams without endpoints or timing out (`upstream`), crash loops (`crashloop`),
//! image pulls (`pull`), scheduling (`scheduling`), stuck rollouts (`rollout`), nodes (`nodes`),
//! memory (`memory`), CPU (`cpu`), disk (`disk`), and the traffic / own-regression distractors
//! (`traffic`).

mod alerting;
pub(super) mod auth;
pub(super) mod certificate;
pub(super) mod cpu;
mod crash;
pub(super) mod crashloop;
mod database;
mod dependency;
pub(super) mod disk;
pub(super) mod dns;
mod endpoints;
pub(super) mod memory;
pub(super) mod nodes;
pub(super) mod pool;
mod probes;
pub(super) mod pull;
pub(super) mod reachability;
pub(super) mod replication;
pub(super) mod rollout;
pub(super) mod scheduling;
pub(super) mod slow_query;
pub(super) mod tls_chain;
pub(super) mod traffic;
pub(super) mod upstream;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_servers;

use super::common::{Ctx, Finding};
use crate::findings::{Finding as Fact, FindingKind, Strength, find_all};
use crate::target::{Target, TargetKind};

/// What every cause reads: the context, the target, the findings.
pub(crate) struct Facts<'a> {
    pub ctx: &'a Ctx<'a>,
    pub target: &'a Target,
    pub all: Vec<Fact>,
}

/// A cause: one class of failure, found from the facts.
pub(crate) type Cause = fn(&Facts<'_>) -> Vec<Finding>;

/// Every cause class, in no particular order (ranking is by score).
const CAUSES: &[Cause] = &[
    crash::oom_killed,
    crash::crash_exit,
    crash::missing_config_object,
    pull::image_pull,
    scheduling::unschedulable,
    probes::liveness_failing,
    probes::readiness_failing,
    crash::job_failed,
    nodes::node_not_ready,
    nodes::node_pressure,
    dependency::dependency_errors,
    alerting::heartbeat_alert,
    endpoints::selector_matches_no_pod,
    database::connection_limit_holder,
    database::wal_retained,
];

/// The candidates the general causes find, best first.
pub(crate) fn candidates(ctx: &Ctx<'_>, target: &Target) -> Vec<Finding> {
    let facts = Facts::new(ctx, target, find_all(ctx.evidence, ctx.now));
    let mut out: Vec<Finding> = CAUSES.iter().flat_map(|c| c(&facts)).collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

/// Score a cause gets from the strength of the finding that supports it.
pub(crate) fn base_score(s: Strength) -> f64 {
    match s {
        Strength::Decisive => 0.9,
        Strength::Strong => 0.72,
        Strength::Weak => 0.4,
    }
}

impl<'a> Facts<'a> {
    pub fn new(ctx: &'a Ctx<'a>, target: &'a Target, all: Vec<Fact>) -> Facts<'a> {
        Facts { ctx, target, all }
    }

    /// Findings with any of these fact names.
    pub fn with(&self, facts: &[&str]) -> Vec<&Fact> {
        self.all
            .iter()
            .filter(|f| facts.contains(&f.fact.as_str()))
            .collect()
    }

    /// Findings of one kind.
    pub fn of_kind(&self, kind: FindingKind) -> Vec<&Fact> {
        self.all.iter().filter(|f| f.kind == kind).collect()
    }

    /// Whether a finding's subject (`Pod/x`, `Node/y`, `StatefulSet/z`, a pod or service name)
    /// belongs to the target: the target itself, or a pod of the target's workload.
    pub fn about_target(&self, f: &Fact) -> bool {
        let (kind, subject) = f
            .subject
            .split_once('/')
            .unwrap_or(("", f.subject.as_str()));
        let t = &self.target;
        if t.name.is_empty() {
            return false;
        }
        let workload = t.workload().map(|(_, n)| n).unwrap_or(t.name.as_str());
        if subject == t.name || subject == workload {
            return true;
        }
        // A pod (or a log's pod name) belongs to the workload by its name; another object
        // (a Job, a Node, a Service) is the target only by its own name.
        matches!(kind, "" | "Pod") && t.kind.runs_pods() && belongs_to(subject, workload)
    }

    /// The target's findings first, then the others; within each, the input order.
    pub fn target_first<'f>(&self, mut v: Vec<&'f Fact>) -> Vec<&'f Fact> {
        v.sort_by_key(|f| !self.about_target(f));
        v
    }

    /// Namespace of a pod seen in the evidence, else the target's.
    pub fn ns_of_pod(&self, pod: &str) -> Option<String> {
        self.ctx
            .pods
            .iter()
            .find(|p| p.name == pod)
            .map(|p| p.namespace.clone())
            .or_else(|| self.target.namespace.clone())
    }

    /// The target's namespace, else the one the evidence shows for it.
    pub fn ns(&self) -> Option<String> {
        self.target
            .namespace
            .clone()
            .or_else(|| self.ctx.pods.first().map(|p| p.namespace.clone()))
    }

    /// `kubectl -n <ns> <rest>`; without a known namespace, `kubectl <rest>` (the caller asks for
    /// `--all-namespaces` where the command lists objects).
    pub fn kubectl(&self, ns: Option<&str>, rest: &str) -> String {
        match ns {
            Some(ns) => format!("kubectl -n {ns} {rest}"),
            None => format!("kubectl {rest}"),
        }
    }

    /// The workload reference for commands (`statefulset/tls-rotator`), when the target has one.
    pub fn workload_ref(&self) -> Option<String> {
        let (kind, name) = self.target.workload()?;
        kind.kubectl().map(|k| format!("{k}/{name}"))
    }

    /// The workload for `rollout undo|history|status` (Deployment, StatefulSet, DaemonSet only).
    pub fn rollout_ref(&self) -> Option<String> {
        let (kind, _) = self.target.workload()?;
        kind.rolls_out().then(|| self.workload_ref()).flatten()
    }

    /// The object for `describe`/`logs`: the workload when known, else the target itself.
    pub fn object_ref(&self) -> Option<String> {
        self.workload_ref().or_else(|| self.target.kubectl_ref())
    }

    /// The previous container's log lines of a pod (or of the target's logs), newest last.
    pub fn pod_logs(&self, pod: &str) -> Vec<&'a str> {
        self.ctx
            .logs
            .iter()
            .filter(|l| l.pod == Some(pod) || l.pod.is_none())
            .map(|l| l.rec.body.as_str())
            .collect()
    }

    /// The last log line of `pod` that states an error class, with its class.
    pub fn last_error_line(&self, pod: &str) -> Option<(crate::findings::LogClass, &'a str)> {
        self.pod_logs(pod)
            .into_iter()
            .rev()
            .find_map(|l| crate::findings::classify_line(l).map(|c| (c, l)))
    }

    /// A recent rollout of the target's workload (a suspect, never a verdict alone).
    pub fn target_rollout(&self) -> Option<&Fact> {
        let name = match self.target.workload() {
            Some((_, n)) => n,
            None if self.target.kind == TargetKind::App && !self.target.name.is_empty() => {
                self.target.name.as_str()
            }
            None => return None,
        };
        self.with(&["recent_rollout"])
            .into_iter()
            .find(|f| f.subject.contains(name) || f.detail.contains(name))
    }
}

/// Whether pod `pod` belongs to workload `workload` by its name (`<wl>-<hash>-<id>`,
/// `<wl>-<ordinal>`, `<wl>-<id>`).
pub(crate) fn belongs_to(pod: &str, workload: &str) -> bool {
    pod == workload
        || pod
            .strip_prefix(workload)
            .is_some_and(|rest| rest.starts_with('-') && rest.len() > 1)
}

/// The pod name of a `Pod/<name>` subject.
pub(crate) fn pod_name(subject: &str) -> &str {
    subject.strip_prefix("Pod/").unwrap_or(subject)
}

/// Adds what a finding establishes (its detail and citations) to a candidate's evidence.
pub(crate) fn cite(c: &mut Finding, f: &Fact) {
    let cites = if f.cites.is_empty() {
        String::new()
    } else {
        format!(" [{}]", f.cites.join("; "))
    };
    c.for_(format!("{}{cites}", f.detail));
    c.at_opt(f.at, f.detail.clone());
}

/// Notes a recent rollout of the target as the trigger candidate (a suspect), when one exists.
pub(crate) fn note_rollout(c: &mut Finding, facts: &Facts<'_>) {
    if let Some(r) = facts.target_rollout() {
        c.for_(format!(
            "a rollout just before the onset is the likely trigger: {}",
            r.detail
        ));
        c.at_opt(r.at, r.detail.clone());
        let at =
            r.at.map(|t| format!(" at {}", super::common::hm(t)))
                .unwrap_or_default();
        c.root_cause.push_str(&format!(
            " It started after the rollout of {}{at}: the likely trigger.",
            r.subject
        ));
    }
}
