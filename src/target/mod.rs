//! Target resolution: which object an alert is about, of which kind, in which namespace, and
//! how that was found.
//!
//! The alert's labels (Alertmanager, Grafana), tags (Datadog `kube_deployment:`), fields and
//! text are read in order of trust, and every step is recorded in [`Target::why`]:
//!
//! 1. labels that name a Kubernetes object (`deployment`, `statefulset`, `job_name`, `pod`,
//!    `persistentvolumeclaim`, `node`, Datadog's `kube_*` tags…), skipping the labels that
//!    describe the *monitoring* system rather than the target: kube-state-metrics' own `job`,
//!    `service`, `instance` and `endpoint`, a blackbox prober's `job`, an exporter's pod;
//! 2. a URL or host (`instance` of a probe, `url`, `host`) for network alerts;
//! 3. phrases of the text: `deployment/checkout`, `statefulset kafka`, `the invoice-sync pods`,
//!    `pod api-7f9c…`, `node ip-10-0-3-17`;
//! 4. the alert's service, as a last resort, marked as a guess.
//!
//! A pod name maps to its workload by its shape (a ReplicaSet hash → Deployment, an ordinal →
//! StatefulSet, a CronJob's schedule stamp → CronJob, a 5-character suffix → Job or DaemonSet);
//! the live Kubernetes tools confirm it through owner references. Namespaces come from labels,
//! tags and phrases (`in namespace billing-3`, `in the shop namespace`, `-n prod`,
//! `prod/checkout`). Free words (`longer`, `high`, `default`) never become a name.

mod names;
mod text;

use serde::{Deserialize, Serialize};

use crate::alert::Alert;

pub use names::{PodShape, is_plausible_name, workload_of_pod};

/// The kinds of object an alert can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TargetKind {
    Pod,
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    ReplicaSet,
    Node,
    Service,
    Ingress,
    PersistentVolumeClaim,
    HorizontalPodAutoscaler,
    /// A host name or address (a probe target, a database server).
    Host,
    Url,
    /// An application as the alert names it (a service name), not a specific object.
    App,
}

impl TargetKind {
    /// The kind as `kubectl` spells it in `kind/name` (`deploy/x`, `sts/y`).
    pub fn kubectl(self) -> Option<&'static str> {
        Some(match self {
            TargetKind::Pod => "pod",
            TargetKind::Deployment => "deployment",
            TargetKind::StatefulSet => "statefulset",
            TargetKind::DaemonSet => "daemonset",
            TargetKind::Job => "job",
            TargetKind::CronJob => "cronjob",
            TargetKind::ReplicaSet => "replicaset",
            TargetKind::Node => "node",
            TargetKind::Service => "service",
            TargetKind::Ingress => "ingress",
            TargetKind::PersistentVolumeClaim => "pvc",
            TargetKind::HorizontalPodAutoscaler => "hpa",
            TargetKind::Host | TargetKind::Url | TargetKind::App => return None,
        })
    }

    /// The Kubernetes kind (`Deployment`), for the Kubernetes tools' `kind` argument.
    pub fn api_kind(self) -> Option<&'static str> {
        Some(match self {
            TargetKind::Pod => "Pod",
            TargetKind::Deployment => "Deployment",
            TargetKind::StatefulSet => "StatefulSet",
            TargetKind::DaemonSet => "DaemonSet",
            TargetKind::Job => "Job",
            TargetKind::CronJob => "CronJob",
            TargetKind::ReplicaSet => "ReplicaSet",
            TargetKind::Node => "Node",
            TargetKind::Service => "Service",
            TargetKind::Ingress => "Ingress",
            TargetKind::PersistentVolumeClaim => "PersistentVolumeClaim",
            TargetKind::HorizontalPodAutoscaler => "HorizontalPodAutoscaler",
            TargetKind::Host | TargetKind::Url | TargetKind::App => return None,
        })
    }

    /// Whether pods run under this kind (so pod-level evidence applies).
    pub fn runs_pods(self) -> bool {
        matches!(
            self,
            TargetKind::Pod
                | TargetKind::Deployment
                | TargetKind::StatefulSet
                | TargetKind::DaemonSet
                | TargetKind::Job
                | TargetKind::CronJob
                | TargetKind::ReplicaSet
                | TargetKind::App
        )
    }
}

/// The object an alert is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub kind: TargetKind,
    pub name: String,
    pub namespace: Option<String>,
    /// For a pod: the workload its name points to (kind, name), to confirm by owner references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<(TargetKind, String)>,
    /// The container the alert names (never the workload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// How it was found, one step per line (`label deployment=checkout`, `pod name shape`…).
    pub why: Vec<String>,
    /// True when nothing named an object and the alert's service is a guess.
    #[serde(default)]
    pub guessed: bool,
}

impl Target {
    /// `kind/name` for kubectl (`deployment/checkout`, `pod/api-1`), when it is a cluster object.
    pub fn kubectl_ref(&self) -> Option<String> {
        self.kind.kubectl().map(|k| format!("{k}/{}", self.name))
    }

    /// The workload behind the target: itself for a workload, the pod's owner for a pod.
    pub fn workload(&self) -> Option<(TargetKind, &str)> {
        match self.kind {
            TargetKind::Deployment
            | TargetKind::StatefulSet
            | TargetKind::DaemonSet
            | TargetKind::Job
            | TargetKind::CronJob => Some((self.kind, self.name.as_str())),
            TargetKind::Pod => self.workload.as_ref().map(|(k, n)| (*k, n.as_str())),
            _ => None,
        }
    }

    /// The reply's line: what the target is and the steps that found it, e.g. `pod
    /// billing-3/invoice-sync-5f7d9bcc48-rtw2p — label pod=…; pod name … Deployment pod: invoice-sync`.
    /// When nothing named an object it says so.
    pub fn reply_line(&self) -> String {
        if self.name.is_empty() {
            return "not named by the alert (give the workload and namespace, or mention me in the alert's thread)".to_string();
        }
        let steps: Vec<&str> = self
            .why
            .iter()
            .map(String::as_str)
            .filter(|w| !w.starts_with("job/service/instance"))
            .collect();
        let guess = if self.guessed { " (a guess)" } else { "" };
        format!("{}{guess} — {}", self.describe(), steps.join("; "))
    }

    /// One line for the reply: `Deployment billing-3/invoice-sync (label deployment=…)`.
    pub fn describe(&self) -> String {
        let ns = self
            .namespace
            .as_deref()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        let kind = match self.kind {
            TargetKind::App => "app",
            k => k.api_kind().unwrap_or(match k {
                TargetKind::Host => "host",
                _ => "URL",
            }),
        };
        format!("{kind} {ns}{}", self.name)
    }
}

/// Labels that describe the monitoring system, not the target, when the alert comes from an
/// exporter that scrapes other objects (kube-state-metrics, kubelet/cAdvisor, node-exporter).
const MONITORING_JOBS: &[&str] = &[
    "kube-state-metrics",
    "kubelet",
    "cadvisor",
    "node-exporter",
    "prometheus-node-exporter",
    "apiserver",
    "kube-apiserver",
    "prometheus",
    "alertmanager",
];

/// Label keys naming an object, most specific kind first, with the kind each names.
const OBJECT_LABELS: &[(&str, TargetKind)] = &[
    ("persistentvolumeclaim", TargetKind::PersistentVolumeClaim),
    (
        "kube_persistentvolumeclaim",
        TargetKind::PersistentVolumeClaim,
    ),
    (
        "horizontalpodautoscaler",
        TargetKind::HorizontalPodAutoscaler,
    ),
    ("cronjob", TargetKind::CronJob),
    ("kube_cronjob", TargetKind::CronJob),
    ("job_name", TargetKind::Job),
    ("kube_job", TargetKind::Job),
    ("statefulset", TargetKind::StatefulSet),
    ("kube_stateful_set", TargetKind::StatefulSet),
    ("daemonset", TargetKind::DaemonSet),
    ("kube_daemon_set", TargetKind::DaemonSet),
    ("deployment", TargetKind::Deployment),
    ("kube_deployment", TargetKind::Deployment),
    ("k8s.deployment.name", TargetKind::Deployment),
    ("replicaset", TargetKind::ReplicaSet),
    ("kube_replica_set", TargetKind::ReplicaSet),
    ("pod", TargetKind::Pod),
    ("pod_name", TargetKind::Pod),
    ("kube_pod_name", TargetKind::Pod),
    ("k8s.pod.name", TargetKind::Pod),
    ("ingress", TargetKind::Ingress),
    ("kube_ingress", TargetKind::Ingress),
];

/// Label keys holding the namespace.
const NAMESPACE_LABELS: &[&str] = &[
    "namespace",
    "kube_namespace",
    "exported_namespace",
    "k8s.namespace.name",
    "k8s_namespace_name",
];

/// Whether the alert's `job` / `service` labels name the exporter that scraped the target.
fn from_exporter(alert: &Alert) -> bool {
    ["job", "service"].iter().any(|k| {
        alert.labels.get(*k).is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            MONITORING_JOBS
                .iter()
                .any(|m| v == *m || v.ends_with(&format!("-{m}")))
        })
    })
}

fn label<'a>(alert: &'a Alert, keys: &[&'a str]) -> Option<(&'a str, &'a str)> {
    keys.iter().find_map(|k| {
        alert
            .labels
            .get(*k)
            .map(|v| (*k, v.trim()))
            .filter(|(_, v)| !v.is_empty())
    })
}

/// Resolve the target of `alert`.
pub fn resolve(alert: &Alert) -> Target {
    let mut why = Vec::new();
    let exporter = from_exporter(alert);
    if exporter {
        why.push(
            "job/service/instance labels name the exporter (kube-state-metrics, kubelet…), not the target"
                .to_string(),
        );
    }
    let namespace = match label(alert, NAMESPACE_LABELS) {
        Some((k, v)) => {
            why.push(format!("namespace from label {k}={v}"));
            Some(v.to_string())
        }
        None => match text::namespace_phrase(&alert.title, &alert.text) {
            Some((ns, phrase)) => {
                why.push(format!("namespace from the text: \"{phrase}\""));
                Some(ns)
            }
            None => alert.namespace.clone().inspect(|ns| {
                why.push(format!("namespace {ns} from the alert's fields"));
            }),
        },
    };
    let container = label(
        alert,
        &["container", "kube_container_name", "container_name"],
    )
    .filter(|(_, v)| *v != "POD")
    .map(|(_, v)| v.to_string());

    // 1. Labels naming an object.
    let special = special_by_alertname(alert);
    let from_labels = special.or_else(|| {
        OBJECT_LABELS.iter().find_map(|(key, kind)| {
            let v = alert.labels.get(*key)?.trim();
            (is_plausible_name(v)).then(|| (*kind, v.to_string(), format!("label {key}={v}")))
        })
    });
    if let Some((kind, name, how)) = from_labels {
        why.push(how);
        return finish(kind, name, namespace, container, why, false);
    }
    // Nodes: `node` label, or an exporter's `instance` on a node alert.
    if let Some((k, v)) = label(
        alert,
        &["node", "kubernetes_node", "kube_node", "host_name"],
    ) && is_plausible_name(v)
    {
        why.push(format!("label {k}={v}"));
        return finish(TargetKind::Node, v.to_string(), None, None, why, false);
    }
    // 2. A probed URL or host.
    if let Some((kind, name, how)) = url_or_host(alert, exporter) {
        why.push(how);
        return finish(kind, name, namespace, container, why, false);
    }
    // `service` label of an app's own metrics (not an exporter's) names a Service.
    if !exporter
        && let Some((k, v)) = label(
            alert,
            &["service", "kube_service", "service_name", "service.name"],
        )
        && is_plausible_name(v)
    {
        why.push(format!("label {k}={v}"));
        return finish(
            TargetKind::App,
            v.to_string(),
            namespace,
            container,
            why,
            false,
        );
    }
    // 3. Phrases of the text.
    if let Some((kind, name, phrase)) = text::object_phrase(&alert.title, &alert.text) {
        why.push(format!("named in the text: \"{phrase}\""));
        return finish(kind, name, namespace, container, why, false);
    }
    // 4. The alert's service, a guess.
    match alert.service.as_deref().filter(|s| is_plausible_name(s)) {
        Some(s) => {
            why.push(format!(
                "no object named; using the alert's service {s} (a guess)"
            ));
            finish(
                TargetKind::App,
                s.to_string(),
                namespace,
                container,
                why,
                true,
            )
        }
        None => {
            why.push("the alert names no object".to_string());
            finish(
                TargetKind::App,
                String::new(),
                namespace,
                container,
                why,
                true,
            )
        }
    }
}

/// Alerts whose labels mean something else than usual (kube-prometheus rules).
fn special_by_alertname(alert: &Alert) -> Option<(TargetKind, String, String)> {
    let name = alert.labels.get("alertname")?.as_str();
    match name {
        // `job` here is the scrape job that is down: the target is that job's service.
        "TargetDown" => {
            let job = alert.labels.get("job")?;
            Some((
                TargetKind::Service,
                job.clone(),
                format!("TargetDown: label job={job} is the scrape target"),
            ))
        }
        _ => None,
    }
}

fn url_or_host(alert: &Alert, exporter: bool) -> Option<(TargetKind, String, String)> {
    let is_link = |v: &str| alert.links.iter().any(|l| l.url == v);
    for key in ["url", "target", "instance", "probe_target", "endpoint_url"] {
        let Some(v) = alert.labels.get(key) else {
            continue;
        };
        if is_link(v) || (key == "instance" && exporter) {
            continue;
        }
        if let Ok(u) = url::Url::parse(v)
            && matches!(u.scheme(), "http" | "https" | "tcp" | "tls")
            && u.host_str().is_some()
        {
            return Some((
                TargetKind::Url,
                v.clone(),
                format!("label {key}={v} (a probed URL)"),
            ));
        }
    }
    let host = alert.host.as_deref()?;
    Some((
        TargetKind::Host,
        host.to_string(),
        format!("host {host} named by the alert"),
    ))
}

fn finish(
    kind: TargetKind,
    name: String,
    namespace: Option<String>,
    container: Option<String>,
    mut why: Vec<String>,
    guessed: bool,
) -> Target {
    let workload = (kind == TargetKind::Pod)
        .then(|| workload_of_pod(&name))
        .flatten()
        .map(|(shape, workload)| {
            why.push(format!(
                "pod name {name} has the shape of a {} pod: {}",
                shape.kind_words(),
                workload
            ));
            (shape.kind(), workload)
        });
    let namespace = match kind {
        TargetKind::Node | TargetKind::Host | TargetKind::Url => None,
        _ => namespace,
    };
    Target {
        kind,
        name,
        namespace,
        workload,
        container,
        why,
        guessed,
    }
}

#[cfg(test)]
mod tests;
