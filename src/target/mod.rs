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
pub mod refine;
pub mod rules;
mod text;

use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertSource, HintOrigin};

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

    /// Whether `kubectl rollout undo|history|status` applies to this kind.
    pub fn rolls_out(self) -> bool {
        matches!(
            self,
            TargetKind::Deployment | TargetKind::StatefulSet | TargetKind::DaemonSet
        )
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
    /// For a pod: the workload its name points to (kind, name), to confirm by owner references;
    /// for an HPA: the workload it scales (`App` while its kind is not known); for a PVC: the
    /// workload of the pod that mounts it.
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

    /// The workload behind the target: itself for a workload, the pod's owner for a pod, the
    /// scaled workload for an HPA, the workload of the pod that mounts a PVC.
    pub fn workload(&self) -> Option<(TargetKind, &str)> {
        match self.kind {
            TargetKind::Deployment
            | TargetKind::StatefulSet
            | TargetKind::DaemonSet
            | TargetKind::Job
            | TargetKind::CronJob => Some((self.kind, self.name.as_str())),
            TargetKind::Pod
            | TargetKind::HorizontalPodAutoscaler
            | TargetKind::PersistentVolumeClaim => {
                self.workload.as_ref().map(|(k, n)| (*k, n.as_str()))
            }
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
    // Datadog's Service tag names the Service behind an ingress: it wins over the ingress.
    ("kube_service", TargetKind::Service),
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

/// A label value that can name the target: a plausible name, not the monitoring system's.
fn object_value(v: &str) -> bool {
    is_plausible_name(v) && !rules::is_monitoring_value(v)
}

/// The namespace, and how it was found: a label, a `Kind ns/name` phrase, the text's words, an
/// Alertmanager title's group value, the alert's fields.
fn namespace_of(
    alert: &Alert,
    named: Option<&text::Named>,
    why: &mut Vec<String>,
) -> Option<String> {
    if let Some((k, v)) = label(alert, NAMESPACE_LABELS) {
        why.push(format!("namespace from label {k}={v}"));
        return Some(v.to_string());
    }
    if let Some(n) = named
        && let Some(ns) = &n.namespace
    {
        why.push(format!("namespace from the text: \"{}\"", n.phrase));
        return Some(ns.clone());
    }
    if let Some((ns, phrase)) = text::namespace_phrase(&alert.title, &alert.text) {
        why.push(format!("namespace from the text: \"{phrase}\""));
        return Some(ns);
    }
    if alert.source == AlertSource::Alertmanager
        && let Some(ns) = text::group_values(&alert.title).into_iter().next()
    {
        why.push(format!(
            "namespace {ns}: the group value of the Alertmanager title (grouped by namespace)"
        ));
        return Some(ns);
    }
    alert.namespace.clone().inspect(|ns| {
        why.push(format!("namespace {ns} from the alert's fields"));
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
    let alertname = rules::alert_name(alert);
    let implied = alertname.as_deref().and_then(rules::kind_by_alertname);
    let named = text::kind_phrase(&alert.title, &alert.text);
    let namespace = namespace_of(alert, named.as_ref(), &mut why);
    let container = label(
        alert,
        &["container", "kube_container_name", "container_name"],
    )
    .filter(|(_, v)| *v != "POD" && !rules::is_monitoring_value(v))
    .map(|(_, v)| v.to_string());
    let done = |kind, name: String, why, guessed| {
        finish(
            kind,
            name,
            namespace.clone(),
            container.clone(),
            why,
            guessed,
        )
    };

    // 1. Labels naming an object (not the exporter's own pod or service).
    if let Some((kind, keys)) = implied
        && let Some((k, v)) = label(alert, keys)
        && object_value(v)
        && !(kind == TargetKind::Node && k == "instance")
        && !(kind == TargetKind::Url && k == "instance")
    {
        why.push(format!(
            "{}: label {k}={v} names the {}",
            alertname.as_deref().unwrap_or_default(),
            kind_words(kind)
        ));
        return done(kind, v.to_string(), why, false);
    }
    let from_labels = OBJECT_LABELS.iter().find_map(|(key, kind)| {
        let v = alert.labels.get(*key)?.trim();
        object_value(v).then(|| (*kind, v.to_string(), format!("label {key}={v}")))
    });
    if let Some((kind, name, how)) = from_labels {
        why.push(how);
        return done(kind, name, why, false);
    }
    // Nodes: `node` label; a node-exporter alert's `instance` is the node's address.
    if let Some((k, v)) = label(
        alert,
        &["node", "kubernetes_node", "kube_node", "host_name"],
    ) && object_value(v)
    {
        why.push(format!("label {k}={v}"));
        return done(TargetKind::Node, v.to_string(), why, false);
    }
    if implied.is_some_and(|(k, _)| k == TargetKind::Node)
        && let Some(ip) = label(alert, &["instance"])
            .and_then(|(_, v)| rules::ip_of(v))
            .or_else(|| alert.host.as_deref().and_then(rules::ip_of))
    {
        why.push(format!(
            "{}: the node-exporter's instance {ip} is the node's address",
            alertname.as_deref().unwrap_or_default()
        ));
        return done(TargetKind::Node, ip.to_string(), why, false);
    }
    // 2. A probed URL.
    if let Some((kind, name, how)) = probed_url(alert, exporter) {
        why.push(how);
        return done(kind, name, why, false);
    }
    // 3. `Kind ns/name` and `Kind name` phrases.
    if let Some(n) = named {
        why.push(format!("named in the text: \"{}\"", n.phrase));
        return done(n.kind, n.name, why, false);
    }
    // 4. The alert's kind, with its object among the values an Alertmanager title lists.
    if let Some((kind, _)) = implied
        && let Some(v) = positional_value(alert, kind, namespace.as_deref())
    {
        why.push(format!(
            "{}: {v} is the {} among the title's values",
            alertname.as_deref().unwrap_or_default(),
            kind_words(kind)
        ));
        return done(kind, v, why, false);
    }
    // 5. `service` label of an app's own metrics (not an exporter's): the app, before any host
    //    its text mentions (that host is a dependency).
    if !exporter
        && let Some((k, v)) = label(
            alert,
            &["service", "kube_service", "service_name", "service.name"],
        )
        && object_value(v)
    {
        why.push(format!("label {k}={v}"));
        return done(TargetKind::App, v.to_string(), why, false);
    }
    if let Some(host) = alert.host.as_deref() {
        why.push(format!("host {host} named by the alert"));
        return done(TargetKind::Host, host.to_string(), why, false);
    }
    // 6. Phrases of the text.
    if let Some((kind, name, phrase)) = text::object_phrase(&alert.title, &alert.text) {
        why.push(format!("named in the text: \"{phrase}\""));
        return done(kind, name, why, false);
    }
    // 7. A scrape target's address (an exporter's `instance`): the evidence names what runs
    //    there (a client's log prints its `name.namespace.svc`).
    if !exporter
        && label(alert, &["job"]).is_some()
        && let Some(ip) = label(alert, &["instance"])
            .map(|(_, v)| v)
            .into_iter()
            .chain(
                alert
                    .target_hints
                    .iter()
                    .filter(|h| h.origin == HintOrigin::TitleValue)
                    .map(|h| h.value.as_str()),
            )
            .find_map(rules::ip_of)
    {
        why.push(format!(
            "the scrape target's address {ip} (its instance) is what the alert is about"
        ));
        return done(TargetKind::Host, ip.to_string(), why, false);
    }
    // 8. The alert's service or the subject of a question, as a guess.
    let guess = alert
        .service
        .as_deref()
        .filter(|s| object_value(s))
        .map(|s| {
            (
                s.to_string(),
                format!("no object named; using the alert's service {s} (a guess)"),
            )
        })
        .or_else(|| {
            (alert.source == AlertSource::Text)
                .then(|| text::question_subject(&alert.title))
                .flatten()
                .map(|(name, phrase)| {
                    let why =
                        format!("no object named; the question is about \"{phrase}\" (a guess)");
                    (name, why)
                })
        });
    match guess {
        Some((name, how)) => {
            why.push(how);
            done(TargetKind::App, name, why, true)
        }
        None => {
            why.push("the alert names no object".to_string());
            done(TargetKind::App, String::new(), why, true)
        }
    }
}

fn kind_words(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::App => "app",
        TargetKind::Host => "host",
        TargetKind::Url => "URL",
        k => k.api_kind().unwrap_or("object"),
    }
}

/// The value of an Alertmanager title that names an object of `kind`: a plausible name that is
/// not the namespace, an address, a generated id, the monitoring system's or (but for a node) a
/// dotted host name; for a pod, one shaped like a pod's name first.
fn positional_value(alert: &Alert, kind: TargetKind, namespace: Option<&str>) -> Option<String> {
    let values: Vec<&str> = alert
        .target_hints
        .iter()
        .filter(|h| h.origin == HintOrigin::TitleValue)
        .map(|h| h.value.as_str())
        .filter(|v| {
            object_value(v)
                && Some(*v) != namespace
                && !rules::is_uuid(v)
                && rules::ip_of(v).is_none()
                && (kind == TargetKind::Node || !v.contains('.'))
        })
        .collect();
    if kind == TargetKind::Pod
        && let Some(v) = values.iter().find(|v| workload_of_pod(v).is_some())
    {
        return Some(v.to_string());
    }
    values.first().map(|v| v.to_string())
}

/// A probe's URL: in a `url`/`target`/`instance` label, or (for a probe alert) in the title.
fn probed_url(alert: &Alert, exporter: bool) -> Option<(TargetKind, String, String)> {
    let is_link = |v: &str| alert.links.iter().any(|l| l.url == v);
    for key in ["url", "target", "instance", "probe_target", "endpoint_url"] {
        let Some(v) = alert.labels.get(key) else {
            continue;
        };
        if is_link(v) || (key == "instance" && exporter) {
            continue;
        }
        if is_url(v) {
            return Some((
                TargetKind::Url,
                v.clone(),
                format!("label {key}={v} (a probed URL)"),
            ));
        }
    }
    // A title that lists a URL among its values names what is probed.
    alert
        .title
        .split(|c: char| c.is_whitespace() || "()[]<>|,".contains(c))
        .find(|w| is_url(w))
        .map(|u| {
            (
                TargetKind::Url,
                u.to_string(),
                format!("the title names the probed URL {u}"),
            )
        })
}

fn is_url(v: &str) -> bool {
    url::Url::parse(v).ok().is_some_and(|u| {
        matches!(u.scheme(), "http" | "https" | "tcp" | "tls") && u.host_str().is_some()
    })
}

fn finish(
    kind: TargetKind,
    name: String,
    namespace: Option<String>,
    container: Option<String>,
    mut why: Vec<String>,
    guessed: bool,
) -> Target {
    let workload = match kind {
        TargetKind::Pod => workload_of_pod(&name).map(|(shape, workload)| {
            why.push(format!(
                "pod name {name} has the shape of a {} pod: {}",
                shape.kind_words(),
                workload
            ));
            (shape.kind(), workload)
        }),
        // An HPA scales a workload, by convention of its own name; the evidence says its kind.
        TargetKind::HorizontalPodAutoscaler if !name.is_empty() => {
            why.push(format!(
                "HPA {name} scales the workload of the same name (its kind to be confirmed)"
            ));
            Some((TargetKind::App, name.clone()))
        }
        _ => None,
    };
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
