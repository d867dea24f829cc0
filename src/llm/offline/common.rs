//! Shared pieces of the offline analyzer: the per-alert context ([`Ctx`]), the [`Finding`] every
//! detector returns, metric-series helpers (baseline, change point, growth), text matching and
//! number/time formatting.
//!
//! Everything here is plain string matching and arithmetic: no regex is compiled per call, and
//! nothing panics on odd input (empty series, NaN values, unsorted timestamps, missing fields).

use std::cell::RefCell;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::alert::Alert;
use crate::evidence::{
    CertInfo, DnsResult, Evidence, KubeEvent, LogRecord, Observation, PodState, ServiceHealth,
    SpanRecord,
};
use crate::rca::{Action, KeyMetric, TimelineEntry};

/// Score given to a hypothesis the evidence rules out (kept to show the evidence against it).
pub(crate) const REJECTED: f64 = 0.05;

/// One candidate cause, as a detector saw it.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    /// Stable id, e.g. `pool-slow-query`.
    pub id: &'static str,
    /// Short name of the cause, used as the hypothesis title.
    pub cause: String,
    /// The full root-cause sentence (used when this finding wins).
    pub root_cause: String,
    /// One sentence for the reply's first line.
    pub summary: String,
    /// 0..1: how well the evidence supports this cause.
    pub score: f64,
    pub evidence_for: Vec<String>,
    pub evidence_against: Vec<String>,
    pub timeline: Vec<TimelineEntry>,
    pub actions: Vec<Action>,
    pub prevention: Vec<String>,
    pub metrics: Vec<KeyMetric>,
    /// Evidence the detector looked for and did not find.
    pub missing: Vec<String>,
}

impl Finding {
    pub fn new(id: &'static str, cause: impl Into<String>) -> Finding {
        let cause = cause.into();
        Finding {
            id,
            root_cause: cause.clone(),
            summary: format!("{cause}."),
            cause,
            score: 0.0,
            evidence_for: Vec::new(),
            evidence_against: Vec::new(),
            timeline: Vec::new(),
            actions: Vec::new(),
            prevention: Vec::new(),
            metrics: Vec::new(),
            missing: Vec::new(),
        }
    }

    /// A hypothesis the evidence rules out, with the evidence against it.
    pub fn rejected(id: &'static str, cause: impl Into<String>, against: Vec<String>) -> Finding {
        let mut f = Finding::new(id, cause);
        f.score = REJECTED;
        f.evidence_against = against;
        f
    }

    pub fn with_score(mut self, score: f64) -> Finding {
        self.score = if score.is_finite() {
            score.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// Marks a finding that rests on the alert's wording only: it keeps its score when no tool
    /// returned data, and loses 0.1 when the tools answered without confirming it.
    pub fn into_hint(mut self, ctx: &Ctx<'_>) -> Finding {
        if self.evidence_for.is_empty() {
            self.evidence_for
                .push(format!("alert: \"{}\"", quote(&ctx.alert.title, 120)));
        }
        if ctx.has_data {
            self.score = (self.score - 0.1).max(0.1);
        }
        self
    }

    pub fn for_(&mut self, s: impl Into<String>) {
        self.evidence_for.push(s.into());
    }
    pub fn against(&mut self, s: impl Into<String>) {
        self.evidence_against.push(s.into());
    }
    pub fn at(&mut self, at: DateTime<Utc>, event: impl Into<String>) {
        self.timeline.push(TimelineEntry {
            at,
            event: event.into(),
        });
    }
    /// Cite matching log lines: "N log lines like …" as evidence, and the first one on the
    /// timeline as "first <what>: …".
    pub fn cite_logs(&mut self, count: usize, first: &LogLine<'_>, what: &str) {
        self.for_(format!(
            "{count} log lines like \"{}\"",
            quote(&first.rec.body, 120)
        ));
        self.at_opt(
            first.ts,
            format!("first {what}: {}", quote(&first.rec.body, 90)),
        );
    }
    /// Cite a Kubernetes event: "<label> (N×): message" as evidence, and `timeline` at its time.
    pub fn cite_event(&mut self, label: &str, e: &KubeEvent, timeline: String) {
        self.for_(format!(
            "{label} ({}×): {}",
            e.count.max(1),
            quote(&e.message, 120)
        ));
        self.at_opt(e.timestamp, timeline);
    }
    pub fn at_opt(&mut self, at: Option<DateTime<Utc>>, event: impl Into<String>) {
        if let Some(at) = at {
            self.at(at, event);
        }
    }
    pub fn cmd(&mut self, title: impl Into<String>, command: impl Into<String>) {
        self.actions.push(Action {
            title: title.into(),
            command: Some(command.into()),
        });
    }
    pub fn step(&mut self, title: impl Into<String>) {
        self.actions.push(Action {
            title: title.into(),
            command: None,
        });
    }
    pub fn prevent(&mut self, s: impl Into<String>) {
        self.prevention.push(s.into());
    }
    pub fn metric(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.metrics.push(KeyMetric {
            name: name.into(),
            value: value.into(),
        });
    }
    pub fn missing(&mut self, s: impl Into<String>) {
        self.missing.push(s.into());
    }
}

/// A detector: looks at the evidence (and alert) and returns a finding when it has something to
/// say, for or against its cause.
pub(crate) type Detector = fn(&Ctx<'_>) -> Option<Finding>;

// ---------------------------------------------------------------------------------------------
// Metric series
// ---------------------------------------------------------------------------------------------

/// A metric series sorted by time with non-finite values dropped.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub points: Vec<(DateTime<Utc>, f64)>,
    pub labels: BTreeMap<String, String>,
}

impl Series {
    /// `None` when no finite point remains.
    pub fn new(points: impl Iterator<Item = (DateTime<Utc>, f64)>) -> Option<Series> {
        let mut points: Vec<_> = points.filter(|(_, v)| v.is_finite()).collect();
        if points.is_empty() {
            return None;
        }
        points.sort_by_key(|(t, _)| *t);
        Some(Series {
            points,
            labels: BTreeMap::new(),
        })
    }

    /// The first of `keys` present in the series' labels.
    pub fn label(&self, keys: &[&str]) -> Option<&str> {
        keys.iter()
            .find_map(|k| self.labels.get(*k))
            .map(String::as_str)
    }
    pub fn first(&self) -> f64 {
        self.points.first().map(|p| p.1).unwrap_or(0.0)
    }
    pub fn last(&self) -> f64 {
        self.points.last().map(|p| p.1).unwrap_or(0.0)
    }
    pub fn peak(&self) -> f64 {
        self.points
            .iter()
            .map(|p| p.1)
            .fold(f64::NEG_INFINITY, f64::max)
            .max(0.0)
    }
    pub fn peak_at(&self) -> Option<DateTime<Utc>> {
        let peak = self.peak();
        self.points.iter().find(|p| p.1 >= peak).map(|p| p.0)
    }
    fn window(&self) -> usize {
        self.points.len().div_ceil(4).clamp(1, 8)
    }
    /// Median of the first quarter of the series (at most 8 points): the "before" level.
    pub fn baseline(&self) -> f64 {
        let mut head: Vec<f64> = self
            .points
            .iter()
            .take(self.window())
            .map(|p| p.1)
            .collect();
        head.sort_by(f64::total_cmp);
        head.get(head.len() / 2).copied().unwrap_or(0.0)
    }
    /// Peak over baseline (baseline floored at `floor` so a zero baseline does not divide by 0).
    pub fn rise(&self, floor: f64) -> f64 {
        self.peak() / self.baseline().max(floor)
    }
    /// First point after the baseline window that departs upward from the baseline by more than
    /// `ratio`× and by more than `abs`.
    pub fn change_point(&self, ratio: f64, abs: f64) -> Option<(DateTime<Utc>, f64)> {
        let base = self.baseline();
        self.points
            .iter()
            .skip(self.window().min(self.points.len().saturating_sub(1)))
            .find(|(_, v)| *v > base * ratio && *v - base > abs)
            .copied()
    }
    /// Share of steps that go up; big drops (restarts: more than 30% down) are not counted.
    pub fn rising_fraction(&self) -> f64 {
        let (mut up, mut counted) = (0usize, 0usize);
        for w in self.points.windows(2) {
            let d = w[1].1 - w[0].1;
            if d < 0.0 && -d > 0.3 * w[0].1.abs() {
                continue;
            }
            counted += 1;
            if d > 0.0 {
                up += 1;
            }
        }
        if counted == 0 {
            0.0
        } else {
            up as f64 / counted as f64
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Context
// ---------------------------------------------------------------------------------------------

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
                pods.iter()
                    .find_map(|p| {
                        p.labels
                            .get("app")
                            .or_else(|| p.labels.get("app.kubernetes.io/name"))
                    })
                    .cloned()
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

// ---------------------------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------------------------

/// `t` plus `m` minutes, saturating instead of panicking at the ends of the calendar.
pub(crate) fn plus_minutes(t: DateTime<Utc>, m: i64) -> DateTime<Utc> {
    t.checked_add_signed(chrono::Duration::minutes(m))
        .unwrap_or(t)
}

/// Case-insensitive substring test (`needle` must be lower-case).
pub(crate) fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        hay.as_bytes()
            .windows(needle.len().max(1))
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
            && !needle.is_empty()
    } else {
        hay.to_lowercase().contains(needle)
    }
}

/// A log record's body plus the attributes that explain it (`reason`, `error`), for quoting.
pub(crate) fn log_text(rec: &LogRecord) -> String {
    let extra: Vec<&str> = ["reason", "error", "err"]
        .iter()
        .filter_map(|k| rec.attributes.get(*k))
        .map(String::as_str)
        .filter(|v| !v.is_empty() && !rec.body.contains(*v))
        .collect();
    if extra.is_empty() {
        rec.body.clone()
    } else {
        format!("{} ({})", rec.body, extra.join("; "))
    }
}

/// A host name in free text (`api.example.com`, `https://api.example.com:443/x`).
pub(crate) fn extract_host(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || "\"'`()[]{}<>,;|=".contains(c))
        .find_map(clean_host)
}

/// `https://api.example.com:443/x.` → `api.example.com`, when it looks like a host name.
pub(crate) fn clean_host(token: &str) -> Option<String> {
    let t = token
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let t = t.split('/').next()?.split(':').next()?;
    let t = t.trim_matches(|c: char| c == '.' || c == '-');
    if !t.contains('.') || t.len() > 253 {
        return None;
    }
    if !t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return None;
    }
    let labels: Vec<&str> = t.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return None;
    }
    let tld = labels.last()?;
    if tld.len() < 2 || !tld.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    Some(t.to_ascii_lowercase())
}

/// Cut `s` to at most `max` chars (on a char boundary), marking the cut.
pub(crate) fn quote(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{}…", cut.trim_end())
}

/// An `UPPER_CASE` identifier in a log line (an environment variable name), if any.
pub(crate) fn env_var_name(line: &str) -> Option<String> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|w| {
            w.len() >= 3
                && w.contains('_')
                && w.chars().any(|c| c.is_ascii_uppercase())
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_string)
}

/// The word following `key` in `text` (e.g. the namespace after `ns:`), trimmed of quotes.
pub(crate) fn word_after(text: &str, key: &str) -> Option<String> {
    let i = text.find(key)?;
    let rest = text[i + key.len()..].trim_start_matches([' ', ':', '=', '"', '\'']);
    let w: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || "._-/".contains(*c))
        .collect();
    (!w.is_empty()).then_some(w)
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/// `2300` → `2,300`; `4.25` → `4.25`; `40.0` → `40`.
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v.abs() >= 100.0 {
        let n = v.round() as i64;
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0 {
            out.insert(0, '-');
        }
        out
    } else if v.abs() >= 10.0 {
        trim_zeros(format!("{v:.1}"))
    } else {
        trim_zeros(format!("{v:.2}"))
    }
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `0.6` → `60%`.
pub(crate) fn pct(ratio: f64) -> String {
    if !ratio.is_finite() {
        return "n/a".into();
    }
    format!("{}%", num((ratio * 100.0 * 10.0).round() / 10.0))
}

/// Bytes as MiB/GiB.
pub(crate) fn bytes(v: f64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if !v.is_finite() {
        return "n/a".into();
    }
    if v >= 1024.0 * MIB {
        format!("{} GiB", num(v / (1024.0 * MIB)))
    } else {
        format!("{} MiB", num(v / MIB))
    }
}

/// `10:05 UTC`.
pub(crate) fn hm(t: DateTime<Utc>) -> String {
    t.format("%H:%M UTC").to_string()
}

/// `2026-11-26 10:00 UTC`.
pub(crate) fn day_hm(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `a → b unit` for a series' baseline and peak.
pub(crate) fn arrow(s: &Series, unit: &str) -> String {
    format!("{} → {}{unit}", num(s.baseline()), num(s.peak()))
}

/// `1 restart` / `3 restarts`.
pub(crate) fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

// ---------------------------------------------------------------------------------------------
// Cross-agent helpers and detectors
// ---------------------------------------------------------------------------------------------

/// Request-rate shape: `Some((ratio peak/baseline, series))`.
pub(crate) fn traffic<'c>(ctx: &'c Ctx<'_>) -> Option<(f64, &'c Series)> {
    let s = ctx.series("http_server_request_rate")?;
    Some((s.rise(0.01), s))
}

/// "request rate flat at 120 req/s (118 → 121 req/s)", or "request rate up only 1.3x (…)".
pub(crate) fn flat_traffic_text(s: &Series) -> String {
    let ratio = s.rise(0.01);
    if ratio < 1.2 {
        format!(
            "request rate flat at {} req/s ({} → {} req/s)",
            num(s.baseline()),
            num(s.first()),
            num(s.last())
        )
    } else {
        format!(
            "request rate up only {}x ({} → {} req/s)",
            num(ratio),
            num(s.baseline()),
            num(s.peak())
        )
    }
}

/// "A regression in the service itself (recent deploy or unhealthy pods)": usually a distractor
/// for upstream problems; rejected when there was no rollout and the pods are healthy.
pub(crate) fn own_regression(ctx: &Ctx<'_>) -> Option<Finding> {
    let rollout = ctx
        .rollout_before(ctx.now, 120)
        .filter(|r| r.object.contains(&ctx.deployment) || r.message.contains(&ctx.deployment));
    let mine: Vec<&&PodState> = ctx
        .pods
        .iter()
        .filter(|p| p.name.starts_with(&ctx.deployment))
        .collect();
    let restarts: u32 = mine.iter().map(|p| p.restarts()).sum();
    let not_ready = mine.iter().filter(|p| !p.ready).count();
    let mut f = Finding::new(
        "own-regression",
        format!(
            "A regression in {} itself (recent deploy or unhealthy pods)",
            ctx.service
        ),
    );
    let mut score: f64 = 0.0;
    match &rollout {
        Some(r) => {
            score += 0.25;
            f.for_(format!(
                "rollout at {}: {}",
                hm(r.at),
                quote(r.message, 100)
            ));
        }
        None if !ctx.events.is_empty() => f.against(format!(
            "no rollout of {} in the recent events",
            ctx.deployment
        )),
        None => {}
    }
    if !mine.is_empty() {
        if restarts == 0 && not_ready == 0 {
            f.against(format!(
                "own pods healthy: {}/{} ready, 0 restarts",
                mine.len(),
                mine.len()
            ));
        } else {
            score += 0.1;
            f.for_(format!(
                "{} of {} pods not ready, {}",
                not_ready,
                mine.len(),
                plural(u64::from(restarts), "restart")
            ));
        }
    }
    if f.evidence_for.is_empty() && f.evidence_against.is_empty() {
        return None;
    }
    if score == 0.0 {
        score = REJECTED;
    }
    f.cmd(
        "Check recent rollouts",
        ctx.kubectl(&format!("rollout history deploy/{}", ctx.deployment)),
    );
    Some(f.with_score(score))
}

/// Traffic surge or latency regression of the service: a distractor for certificate and DNS
/// problems (and the cause when nothing else explains a saturation).
pub(crate) fn traffic_latency(ctx: &Ctx<'_>) -> Option<Finding> {
    let rate = ctx.series("http_server_request_rate");
    let p99 = ctx.series("http_server_duration_p99");
    if rate.is_none() && p99.is_none() {
        return None;
    }
    let mut f = Finding::new(
        "traffic-latency",
        format!("Traffic spike or latency regression in {}", ctx.service),
    );
    let mut score: f64 = 0.0;
    if let Some(r) = rate {
        if r.rise(0.01) >= 2.0 {
            score += 0.3;
            f.for_(format!(
                "request rate rose {}x ({} req/s)",
                num(r.rise(0.01)),
                arrow(r, "")
            ));
        } else {
            f.against(flat_traffic_text(r));
        }
    }
    if let Some(p) = p99 {
        if p.rise(1.0) >= 3.0 {
            score += 0.15;
            f.for_(format!("p99 latency {}", arrow(p, " ms")));
        } else {
            f.against(format!("p99 latency normal at {} ms", num(p.baseline())));
        }
    }
    Some(f.with_score(if score == 0.0 { REJECTED } else { score }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 10, m, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn series_drops_nan_and_sorts() {
        let s =
            Series::new(vec![(t(3), 3.0), (t(1), f64::NAN), (t(0), 1.0), (t(2), 1.0)].into_iter())
                .expect("points");
        assert_eq!(s.points.len(), 3);
        assert_eq!(s.first(), 1.0);
        assert_eq!(s.last(), 3.0);
        assert!(Series::new(vec![(t(0), f64::NAN)].into_iter()).is_none());
    }

    #[test]
    fn change_point_finds_first_departure() {
        let vals = [40.0, 41.0, 39.0, 40.0, 42.0, 900.0, 2300.0, 2200.0];
        let s = Series::new(vals.iter().enumerate().map(|(i, v)| (t(i as u32), *v))).expect("s");
        let (at, v) = s.change_point(3.0, 50.0).expect("change");
        assert_eq!(at, t(5));
        assert_eq!(v, 900.0);
        assert!(s.rise(1.0) > 50.0);
    }

    #[test]
    fn host_extraction() {
        assert_eq!(
            extract_host("SSL certificate for api.example.com expires in 24 hours").as_deref(),
            Some("api.example.com")
        );
        assert_eq!(
            clean_host("https://Api.Example.com:443/x").as_deref(),
            Some("api.example.com")
        );
        assert_eq!(clean_host("v2.3.1"), None);
        assert_eq!(extract_host("e.g. nothing here"), None);
    }

    #[test]
    fn formatting() {
        assert_eq!(num(2300.0), "2,300");
        assert_eq!(num(1234567.0), "1,234,567");
        assert_eq!(num(40.0), "40");
        assert_eq!(num(4.25), "4.25");
        assert_eq!(num(f64::NAN), "n/a");
        assert_eq!(pct(0.6), "60%");
        assert_eq!(bytes(512.0 * 1024.0 * 1024.0), "512 MiB");
        assert_eq!(
            env_var_name("FATAL: env PAYMENT_API_URL is not set").as_deref(),
            Some("PAYMENT_API_URL")
        );
        assert_eq!(quote("abcdef", 3), "abc…");
        assert_eq!(
            word_after("ns: shop.orders planSummary", "ns").as_deref(),
            Some("shop.orders")
        );
    }
}
