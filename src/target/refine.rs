//! Target refinement: what the first evidence says about the object the alert names.
//!
//! The alert's words give a name and maybe a kind; the evidence confirms or corrects them, each
//! step by a general rule recorded in [`Target::why`]:
//!
//! - a pod's workload from its owner references (`DaemonSet/fluent-bit`, `ReplicaSet/x-7f9c` →
//!   Deployment `x`) rather than from its name's shape;
//! - an application's kind and namespace from the workload, pods or Service of that name, or
//!   from the telemetry's resource attributes (`service.name`, `k8s.namespace.name`,
//!   `k8s.deployment.name`), which also give the real name of an app the question spelt loosely
//!   (`checkout` → `checkout-api`);
//! - a node named by an exporter's address from the node that has that address;
//! - an address from the `name.namespace.svc` name a client's log prints next to it;
//! - a PersistentVolumeClaim's workload from the pod whose volumes mount it (what writes to a
//!   filling volume is what its logs and events explain);
//! - a namespace without a named object: its one workload, or the one whose name the question
//!   uses (`celery workers` → `etl-worker`).

use std::collections::BTreeSet;

use crate::alert::Alert;
use crate::evidence::{Evidence, Observation, PodState};
use crate::target::rules::ip_of;
use crate::target::{Target, TargetKind, workload_of_pod};
use crate::tools::signoz::services::{ServiceMatch, match_service};

/// The target as the evidence shows it (the same target when the evidence says nothing new).
pub fn refine(target: &Target, alert: &Alert, evidence: &Evidence) -> Target {
    let mut t = target.clone();
    match t.kind {
        TargetKind::Pod => pod_owner(&mut t, evidence),
        TargetKind::Node => node_by_address(&mut t, evidence),
        TargetKind::Host => host_by_log(&mut t, evidence),
        TargetKind::HorizontalPodAutoscaler => scaled_workload(&mut t, evidence),
        TargetKind::PersistentVolumeClaim => claim_user(&mut t, evidence),
        TargetKind::App | TargetKind::Service if !t.name.is_empty() => {
            app_from_telemetry(&mut t, evidence);
            app_kind(&mut t, evidence);
        }
        TargetKind::App => workload_in_namespace(&mut t, alert, evidence),
        _ => {}
    }
    if t.namespace.is_none() && t.kind.runs_pods() && !t.name.is_empty() {
        namespace_of_name(&mut t, evidence);
    }
    t
}

/// `Kind/name` → (kind, name) for the kinds that own pods.
fn owner_kind(owner: &str) -> Option<(TargetKind, String)> {
    let (kind, name) = owner.split_once('/')?;
    let kind = match kind {
        "Deployment" => TargetKind::Deployment,
        "StatefulSet" => TargetKind::StatefulSet,
        "DaemonSet" => TargetKind::DaemonSet,
        "Job" => TargetKind::Job,
        "CronJob" => TargetKind::CronJob,
        "ReplicaSet" => TargetKind::ReplicaSet,
        _ => return None,
    };
    Some((kind, name.to_string()))
}

fn pods(evidence: &Evidence) -> impl Iterator<Item = &PodState> {
    evidence.pods()
}

/// A pod's workload: the owner chain `get_workload` followed, else the pod's owner reference.
fn pod_owner(t: &mut Target, evidence: &Evidence) {
    let me = format!("Pod/{}", t.name);
    let chain = evidence.workloads().find(|w| w.owner_chain.contains(&me));
    let found = match chain {
        Some(w) => owner_kind(&format!("{}/{}", w.kind, w.name)).map(|o| (o, "owner chain")),
        None => pods(evidence)
            .find(|p| p.name == t.name && p.owner.is_some())
            .and_then(workload_of)
            .map(|o| (o, "owner reference")),
    };
    if let Some(((kind, name), how)) = found
        && t.workload.as_ref() != Some(&(kind, name.clone()))
    {
        t.why.push(format!(
            "the pod's {how} names its workload: {kind:?} {name}"
        ));
        t.workload = Some((kind, name));
    }
    if t.namespace.is_none()
        && let Some(p) = pods(evidence).find(|p| p.name == t.name)
    {
        t.namespace = Some(p.namespace.clone());
    }
}

/// A claim → the workload of the pod that mounts it (`data-pg-main-0` → StatefulSet `pg-main`).
fn claim_user(t: &mut Target, evidence: &Evidence) {
    let user = pods(evidence).find(|p| {
        p.claims.contains(&t.name) && t.namespace.as_ref().is_none_or(|ns| *ns == p.namespace)
    });
    let Some(p) = user else {
        return;
    };
    if let Some((kind, name)) = workload_of(p).filter(|w| t.workload.as_ref() != Some(w)) {
        t.why
            .push(format!("pod {} mounts the claim: {kind:?} {name}", p.name));
        t.workload = Some((kind, name));
    }
    t.namespace.get_or_insert_with(|| p.namespace.clone());
}

/// A node named by its address → the node that has that address (or the cloud's
/// `ip-a-b-c-d…` name for it).
fn node_by_address(t: &mut Target, evidence: &Evidence) {
    let Some(ip) = ip_of(&t.name) else {
        return;
    };
    let ip = ip.to_string();
    let dashed = format!("ip-{}", ip.replace('.', "-"));
    let node = evidence.nodes().find(|n| {
        n.addresses.contains(&ip) || n.name == dashed || n.name.starts_with(&format!("{dashed}."))
    });
    if let Some(n) = node {
        t.why.push(format!("node {} has the address {ip}", n.name));
        t.name = n.name.clone();
    }
}

/// A host address → the `name.namespace.svc` name a client's log line prints with it.
fn host_by_log(t: &mut Target, evidence: &Evidence) {
    let Some(ip) = ip_of(&t.name) else {
        return;
    };
    let ip = ip.to_string();
    for rec in evidence.logs() {
        let text = format!(
            "{} {}",
            rec.body,
            rec.attributes
                .values()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        );
        if !text.contains(&ip) {
            continue;
        }
        if let Some((name, ns)) = svc_name(&text) {
            t.why.push(format!(
                "a client's log names {ip} as {name}.{ns}.svc: Service {ns}/{name}"
            ));
            t.kind = TargetKind::Service;
            t.name = name;
            t.namespace = Some(ns);
            return;
        }
    }
}

/// The first `name.namespace.svc` in `text`.
pub fn svc_name(text: &str) -> Option<(String, String)> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
        .find_map(|tok| {
            let parts: Vec<&str> = tok.split('.').collect();
            let i = parts.iter().position(|p| *p == "svc")?;
            (i >= 2).then(|| (parts[i - 2].to_string(), parts[i - 1].to_string()))
        })
        .filter(|(n, ns)| !n.is_empty() && !ns.is_empty())
}

/// An HPA's scale target: the workload of its name the evidence found.
fn scaled_workload(t: &mut Target, evidence: &Evidence) {
    let Some((_, name)) = t.workload.clone() else {
        return;
    };
    if let Some(w) = evidence.workloads().find(|w| w.name == name)
        && let Some(kind) = owner_kind(&format!("{}/{}", w.kind, w.name)).map(|(k, _)| k)
    {
        t.why
            .push(format!("the HPA's workload {name} is a {}", w.kind));
        t.workload = Some((kind, name));
    }
}

/// Telemetry resource attributes of the records about the app: its real `service.name`, its
/// namespace and Deployment.
fn app_from_telemetry(t: &mut Target, evidence: &Evidence) {
    let mut attrs: Vec<&std::collections::BTreeMap<String, String>> = Vec::new();
    for obs in evidence.observations() {
        match obs {
            Observation::Logs { records } => attrs.extend(records.iter().map(|r| &r.attributes)),
            Observation::Metrics { series } => attrs.extend(series.iter().map(|s| &s.labels)),
            Observation::Traces { spans } => attrs.extend(spans.iter().map(|s| &s.attributes)),
            _ => {}
        }
    }
    let service_of = |a: &std::collections::BTreeMap<String, String>| {
        a.get("service.name")
            .or_else(|| a.get("service_name"))
            .cloned()
    };
    let known: BTreeSet<String> = attrs.iter().filter_map(|a| service_of(a)).collect();
    let known: Vec<String> = known.into_iter().collect();
    let name = match match_service(&t.name, &known) {
        ServiceMatch::Exact => t.name.clone(),
        ServiceMatch::Mapped { to, how } if t.guessed => {
            t.why.push(format!(
                "the telemetry knows {} as service {to} ({how})",
                t.name
            ));
            t.name = to.clone();
            t.guessed = false;
            to
        }
        _ => return,
    };
    let mine: Vec<_> = attrs
        .iter()
        .filter(|a| service_of(a).as_deref() == Some(name.as_str()))
        .collect();
    if t.namespace.is_none()
        && let Some(ns) = mine.iter().find_map(|a| {
            a.get("k8s.namespace.name")
                .or_else(|| a.get("k8s_namespace_name"))
        })
    {
        t.why
            .push(format!("the telemetry of {name} runs in namespace {ns}"));
        t.namespace = Some(ns.clone());
    }
    if t.kind == TargetKind::App
        && mine
            .iter()
            .any(|a| a.get("k8s.deployment.name") == Some(&name))
    {
        t.why.push(format!(
            "the telemetry of {name} comes from Deployment {name}"
        ));
        t.kind = TargetKind::Deployment;
    }
}

/// An app's kind from the workload of its name (or the Deployment behind its Service).
fn app_kind(t: &mut Target, evidence: &Evidence) {
    if t.kind != TargetKind::App {
        return;
    }
    let in_ns = |ns: &str| t.namespace.as_deref().is_none_or(|want| want == ns);
    if let Some(w) = evidence
        .workloads()
        .find(|w| w.name == t.name && in_ns(&w.namespace))
        && let Some((kind, _)) = owner_kind(&format!("{}/{}", w.kind, w.name))
    {
        t.why
            .push(format!("{} is a {} (the workload found)", t.name, w.kind));
        t.kind = kind;
        t.namespace.get_or_insert_with(|| w.namespace.clone());
        return;
    }
    if let Some(s) = evidence
        .services()
        .find(|s| s.name == t.name && in_ns(&s.namespace))
        && s.deployment.as_ref().is_some_and(|d| d.name == t.name)
    {
        t.why
            .push(format!("Service {} fronts Deployment {}", s.name, t.name));
        t.kind = TargetKind::Deployment;
        t.namespace.get_or_insert_with(|| s.namespace.clone());
    }
}

/// The workload a pod belongs to: its owner reference, else its name's shape.
pub fn workload_of(p: &PodState) -> Option<(TargetKind, String)> {
    p.owner
        .as_deref()
        .and_then(owner_kind)
        .map(|(k, n)| match (k, workload_of_pod(&p.name)) {
            // A Deployment's ReplicaSet is `<deployment>-<hash>`.
            (TargetKind::ReplicaSet, Some((_, base))) if n.starts_with(&format!("{base}-")) => {
                (TargetKind::Deployment, base)
            }
            _ => (k, n),
        })
        .or_else(|| workload_of_pod(&p.name).map(|(s, n)| (s.kind(), n)))
}

/// No object named, a namespace known: its only workload, or the one the question names.
fn workload_in_namespace(t: &mut Target, alert: &Alert, evidence: &Evidence) {
    let Some(ns) = t.namespace.clone() else {
        return;
    };
    let mut found: Vec<(TargetKind, String)> = Vec::new();
    for p in pods(evidence).filter(|p| p.namespace == ns) {
        if let Some(w) = workload_of(p)
            && !found.contains(&w)
        {
            found.push(w);
        }
    }
    let words: Vec<String> = alert
        .haystack()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() >= 4)
        .map(|w| w.trim_end_matches('s').to_string())
        .collect();
    let pick = if found.len() == 1 {
        found.first().cloned()
    } else {
        let named: Vec<&(TargetKind, String)> = found
            .iter()
            .filter(|(_, n)| n.split('-').any(|part| words.iter().any(|w| w == part)))
            .collect();
        (named.len() == 1).then(|| named[0].clone())
    };
    if let Some((kind, name)) = pick {
        t.why.push(format!(
            "the pods of namespace {ns} belong to {kind:?} {name}"
        ));
        t.kind = kind;
        t.name = name;
    }
}

/// A named object's namespace from the pods, workloads or Services of that name.
fn namespace_of_name(t: &mut Target, evidence: &Evidence) {
    let name = t.name.clone();
    let ns = evidence
        .workloads()
        .find(|w| w.name == name)
        .map(|w| w.namespace.clone())
        .or_else(|| {
            evidence
                .services()
                .find(|s| s.name == name)
                .map(|s| s.namespace.clone())
        })
        .or_else(|| {
            pods(evidence)
                .find(|p| workload_of(p).is_some_and(|(_, n)| n == name) || p.name == name)
                .map(|p| p.namespace.clone())
        });
    if let Some(ns) = ns {
        t.why.push(format!(
            "{name} runs in namespace {ns} (the evidence found it there)"
        ));
        t.namespace = Some(ns);
    }
}

#[cfg(test)]
mod tests;
