//! The per-alert context every detector reads ([`Ctx`]): the alert's wording, the normalised
//! evidence (metrics as [`Series`], log lines lower-cased once, pods, events, services,
//! certificates, DNS answers), the service, deployment, namespace and host it is about, and
//! lookups over them (series by name, logs and events by needle, rollouts, images).

use std::cell::RefCell;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{Series, clean_host, contains_ci, extract_host, plus_minutes};
use crate::alert::Alert;
use crate::evidence::{
    CertInfo, DnsResult, Evidence, KubeEvent, LogRecord, Observation, PodState, ServiceHealth,
    SpanRecord,
};

/// One log line with its lower-cased body, for matching.
#[derive(Debug)]
pub(crate) struct LogLine<'a> {
    pub ts: Option<DateTime<Utc>>,
    pub lower: String,
    pub pod: Option<&'a str>,
    pub rec: &'a LogRecord,
}

/// A rollout seen in the events (a `ScalingReplicaSet` scale-up, or a deployment update).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rollout<'a> {
    pub at: DateTime<Utc>,
    pub object: &'a str,
    pub message: &'a str,
}

/// Everything detectors read, computed once per alert.
pub(crate) struct Ctx<'a> {
    pub alert: &'a Alert,
    pub evidence: &'a Evidence,
    /// Alert title + text, lower-cased.
    pub hay: String,
    pub ns: String,
    pub service: String,
    pub deployment: String,
    pub host: Option<String>,
    /// Reference time: when the alert fired, else the newest evidence timestamp, else now.
    pub now: DateTime<Utc>,
    /// True when at least one tool returned data.
    pub has_data: bool,
    /// True when the namespace came from the alert, the target or the evidence (not a default).
    pub ns_known: bool,
    metrics: Vec<(&'a str, Series)>,
    pub logs: Vec<LogLine<'a>>,
    pub events: Vec<&'a KubeEvent>,
    /// `reason` and `message` of each event, lower-cased (same order as `events`).
    events_lower: Vec<String>,
    /// Results of [`Ctx::logs_with`] by needle list: detectors ask the same questions.
    log_cache: RefCell<Vec<(Vec<String>, Vec<usize>)>>,
    pub pods: Vec<&'a PodState>,
    pub services: Vec<&'a ServiceHealth>,
    pub certs: Vec<&'a CertInfo>,
    pub dns: Vec<&'a DnsResult>,
    pub spans: Vec<&'a SpanRecord>,
}

impl<'a> Ctx<'a> {
    pub fn new(alert: &'a Alert, evidence: &'a Evidence) -> Ctx<'a> {
        let mut metrics: Vec<(&'a str, Series)> = Vec::new();
        let mut logs = Vec::new();
        for obs in evidence.observations() {
            match obs {
                Observation::Metrics { series } => {
                    for s in series {
                        if let Some(mut ser) =
                            Series::new(s.points.iter().map(|p| (p.timestamp, p.value)))
                        {
                            ser.labels = s.labels.clone();
                            metrics.push((s.metric.as_str(), ser));
                        }
                    }
                }
                Observation::Logs { records } => {
                    logs.extend(records.iter().map(|r| LogLine {
                        ts: r.timestamp,
                        lower: r.body.to_lowercase(),
                        pod: r.pod.as_deref(),
                        rec: r,
                    }));
                }
                Observation::PodLogs { pod, records, .. } => {
                    logs.extend(records.iter().map(|r| LogLine {
                        ts: r.timestamp,
                        lower: r.body.to_lowercase(),
                        pod: Some(r.pod.as_deref().unwrap_or(pod.as_str())),
                        rec: r,
                    }));
                }
                _ => {}
            }
        }
        // Stable sort: untimed lines keep their order, before timed ones.
        logs.sort_by_key(|l| l.ts);
        let mut events: Vec<&KubeEvent> = evidence.events().collect();
        events.sort_by_key(|e| e.timestamp);
        let pods: Vec<&PodState> = evidence.pods().collect();
        let services: Vec<&ServiceHealth> = evidence.services().collect();
        let certs: Vec<&CertInfo> = evidence.certificates().collect();
        let dns: Vec<&DnsResult> = evidence.dns().collect();
        let spans: Vec<&SpanRecord> = evidence.spans().collect();
        let has_data = evidence.observations().next().is_some();

        let hay = alert.haystack();
        let label = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| alert.labels.get(*k).filter(|v| !v.trim().is_empty()))
                .cloned()
        };
        let ns = alert
            .namespace
            .clone()
            .or_else(|| label(&["namespace", "kubernetes_namespace", "k8s_namespace_name"]))
            .or_else(|| pods.first().map(|p| p.namespace.clone()))
            .or_else(|| services.first().map(|s| s.namespace.clone()))
            .filter(|s| !s.is_empty())
            .or_else(|| {
                // The telemetry knows where the service runs even when the alert did not say.
                const NS_KEYS: [&str; 3] =
                    ["k8s.namespace.name", "namespace", "k8s_namespace_name"];
                let mine = |labels: &BTreeMap<String, String>| {
                    alert.service.is_none()
                        || labels.get("service.name") == alert.service.as_ref()
                        || labels.get("service_name") == alert.service.as_ref()
                };
                metrics
                    .iter()
                    .filter(|(_, s)| mine(&s.labels))
                    .find_map(|(_, s)| NS_KEYS.iter().find_map(|k| s.labels.get(*k)))
                    .or_else(|| {
                        logs.iter()
                            .filter(|l| mine(&l.rec.attributes))
                            .find_map(|l| NS_KEYS.iter().find_map(|k| l.rec.attributes.get(*k)))
                    })
                    .filter(|s| !s.is_empty())
                    .cloned()
            })
            .unwrap_or_else(|| "default".to_string());
        let ns_known = ns != "default"
            || alert.namespace.is_some()
            || label(&["namespace", "kubernetes_namespace", "k8s_namespace_name"]).is_some();
        let service = alert
            .service
            .clone()
            .or_else(|| {
                label(&[
                    "service",
                    "service_name",
                    "app",
                    "deployment",
                    "job",
                    "container",
                ])
            })
            .or_else(|| {
                // A namespace-wide pod list holds other apps too: the pod that is not ready
                // or restarting is the one the alert is about, so its app comes first.
                let app = |p: &&PodState| {
                    p.labels
                        .get("app")
                        .or_else(|| p.labels.get("app.kubernetes.io/name"))
                        .cloned()
                };
                let unhealthy = |p: &&&PodState| !p.ready || p.restarts() > 0;
                pods.iter()
                    .filter(unhealthy)
                    .find_map(app)
                    .or_else(|| pods.iter().find_map(app))
            })
            .or_else(|| services.first().map(|s| s.name.clone()))
            .or_else(|| {
                format!("{}\n{}", alert.title, alert.text)
                    .split_whitespace()
                    .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-'))
                    .find(|w| w.ends_with("-service") || w.ends_with("-svc") || w.ends_with("-api"))
                    .map(str::to_string)
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "<service>".to_string());
        let deployment = services
            .iter()
            .filter(|s| s.name == service)
            .chain(services.iter())
            .find_map(|s| s.deployment.as_ref().map(|d| d.name.clone()))
            .or_else(|| label(&["deployment"]))
            .unwrap_or_else(|| service.clone());
        let host = alert
            .host
            .clone()
            .or_else(|| {
                label(&["host", "hostname", "domain", "instance"]).and_then(|h| clean_host(&h))
            })
            .or_else(|| extract_host(&alert.title))
            .or_else(|| extract_host(&alert.text))
            .or_else(|| certs.first().map(|c| c.host.clone()))
            .or_else(|| dns.first().map(|d| d.name.clone()));

        let newest = events
            .iter()
            .filter_map(|e| e.timestamp)
            .chain(logs.iter().filter_map(|l| l.ts))
            .chain(
                metrics
                    .iter()
                    .filter_map(|(_, s)| s.points.last().map(|p| p.0)),
            )
            .max();
        let now = alert.fired_at.or(newest).unwrap_or_else(Utc::now);

        let events_lower = events
            .iter()
            .map(|e| format!("{}\n{}", e.reason, e.message).to_lowercase())
            .collect();
        Ctx {
            events_lower,
            log_cache: RefCell::new(Vec::new()),
            alert,
            evidence,
            hay,
            ns,
            service,
            deployment,
            host,
            now,
            has_data,
            ns_known,
            metrics,
            logs,
            events,
            pods,
            services,
            certs,
            dns,
            spans,
        }
    }

    /// Reads the namespace and the workload from the resolved target, which knows better than
    /// the alert's raw labels (an exporter's `namespace`, `service` or `job` is not the target).
    pub fn with_target(mut self, target: &crate::target::Target) -> Ctx<'a> {
        if let Some(ns) = &target.namespace {
            self.ns = ns.clone();
            self.ns_known = true;
        }
        if !target.guessed && !target.name.is_empty() {
            if let Some((_, name)) = target.workload() {
                self.service = name.to_string();
                self.deployment = name.to_string();
            } else if target.kind.runs_pods() || target.kind == crate::target::TargetKind::Service {
                self.service = target.name.clone();
                if self.deployment.starts_with('<') {
                    self.deployment = target.name.clone();
                }
            }
        }
        self
    }

    /// The series of `name` with the highest peak (several series of one metric are per pod or
    /// per node: the worst one is the one that explains an alert).
    pub fn series(&self, name: &str) -> Option<&Series> {
        self.metrics
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, s)| s)
            .max_by(|a, b| a.peak().total_cmp(&b.peak()))
    }

    /// Every series of `name`.
    pub fn all_series<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Series> + 's {
        self.metrics
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, s)| s)
    }

    /// The node a pod runs on, from the pod list.
    pub fn pod_node(&self, pod: &str) -> Option<String> {
        let pod = pod.strip_prefix("Pod/").unwrap_or(pod);
        self.pods
            .iter()
            .find(|p| p.name == pod)
            .and_then(|p| p.node.clone())
    }

    /// Whether the alert's text names any of `words` (lower-case substrings).
    pub fn mentions(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.hay.contains(w))
    }

    /// Log lines containing any of `needles` (lower-case), oldest first. Memoised per needle list.
    pub fn logs_with(&self, needles: &[&str]) -> Vec<&LogLine<'a>> {
        let cached = self.log_cache.borrow().iter().find_map(|(k, v)| {
            (k.len() == needles.len() && k.iter().zip(needles).all(|(a, b)| a == b))
                .then(|| v.clone())
        });
        let idx = match cached {
            Some(v) => v,
            None => {
                let v: Vec<usize> = self
                    .logs
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| needles.iter().any(|n| l.lower.contains(n)))
                    .map(|(i, _)| i)
                    .collect();
                self.log_cache
                    .borrow_mut()
                    .push((needles.iter().map(|n| n.to_string()).collect(), v.clone()));
                v
            }
        };
        idx.iter().filter_map(|i| self.logs.get(*i)).collect()
    }

    /// Events whose reason or message contains any of `needles` (lower-case), oldest first.
    pub fn events_with(&self, needles: &[&str]) -> Vec<&'a KubeEvent> {
        self.events
            .iter()
            .zip(&self.events_lower)
            .filter(|(_, low)| needles.iter().any(|n| low.contains(n)))
            .map(|(e, _)| *e)
            .collect()
    }

    /// `kubectl -n <ns> <rest>`.
    pub fn kubectl(&self, rest: &str) -> String {
        format!("kubectl -n {} {rest}", self.ns)
    }

    /// `kubectl -n <ns> <verb> deploy/<deployment>` for the alert's deployment.
    pub fn kubectl_deploy(&self, verb: &str) -> String {
        self.kubectl(&format!("{verb} deploy/{}", self.deployment))
    }

    /// Rollouts of the service's deployment (or of any deployment when none matches), oldest first.
    pub fn rollouts(&self) -> Vec<Rollout<'a>> {
        let all: Vec<Rollout<'a>> = self
            .events
            .iter()
            .filter(|e| {
                (e.reason == "ScalingReplicaSet" && contains_ci(&e.message, "scaled up"))
                    || contains_ci(&e.reason, "DeploymentUpdated")
                    || contains_ci(&e.reason, "Rollout")
            })
            .filter_map(|e| {
                Some(Rollout {
                    at: e.timestamp?,
                    object: e.object.as_str(),
                    message: e.message.as_str(),
                })
            })
            .collect();
        let mine: Vec<Rollout<'a>> = all
            .iter()
            .filter(|r| {
                r.object.contains(self.deployment.as_str())
                    || r.message.contains(self.deployment.as_str())
            })
            .copied()
            .collect();
        if mine.is_empty() { all } else { mine }
    }

    /// The rollout closest before `at` (within `window_min` minutes), else the latest before it.
    /// The first event of that rollout is returned (a rollout is several scale-ups in a row).
    pub fn rollout_before(&self, at: DateTime<Utc>, window_min: i64) -> Option<Rollout<'a>> {
        let all: Vec<Rollout<'a>> = self
            .rollouts()
            .into_iter()
            .filter(|r| r.at <= plus_minutes(at, 5))
            .collect();
        let mut i = all
            .iter()
            .rposition(|r| (at - r.at).num_minutes() <= window_min)?;
        while i > 0 && (all[i].at - all[i - 1].at).num_minutes() <= 10 {
            i -= 1;
        }
        all.get(i).cloned()
    }

    /// Deployment revision (from the deployment state, or `revision N` in an event message).
    pub fn revision(&self) -> Option<String> {
        self.services
            .iter()
            .filter_map(|s| s.deployment.as_ref())
            .find(|d| d.name == self.deployment)
            .and_then(|d| d.revision.clone())
            .or_else(|| {
                self.events.iter().find_map(|e| {
                    let m = e.message.to_lowercase();
                    let i = m.find("revision")?;
                    let num: String = m[i + "revision".len()..]
                        .trim_start_matches([' ', ':', '='])
                        .chars()
                        .take_while(|c| c.is_ascii_digit())
                        .collect();
                    (!num.is_empty()).then_some(num)
                })
            })
    }

    /// Images of the service's deployment.
    pub fn images(&self) -> Vec<String> {
        self.services
            .iter()
            .filter_map(|s| s.deployment.as_ref())
            .find(|d| d.name == self.deployment)
            .map(|d| d.images.clone())
            .unwrap_or_default()
    }
}
