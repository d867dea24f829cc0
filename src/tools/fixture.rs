//! Fixture backends: every tool's data read from a scenario directory (layout in
//! `fixtures/README.md`).
//!
//! [`FixtureStore::load`] reads and parses every file of the directory **once**; calls are then
//! served from memory, so replays and benchmarks never touch the disk per call. A file that is
//! missing means "no data" (`Ok(None)`); a file that does not parse is kept as its error and every
//! call that needs it answers `BackendError::Decode` naming the file, so one bad file fails one
//! tool, not the whole scenario.
//!
//! The SigNoz files are the recorded `query_range` answers: a request is answered with
//! `signoz/logs.json`, `metrics.json` or `traces.json` by its `signal` (`requestType`
//! `time_series`, whatever the signal → metrics: the recorded time series answer every
//! aggregation by query name, and are never derived from the recorded rows). The service names
//! SigNoz "knows" are those in the recorded files. `slack/replies.json` and `channel.json` answer for any channel;
//! posted messages are recorded ([`FixtureStore::posted`]) and answered like `chat.postMessage`.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use futures::FutureExt;
use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Endpoints, Event, Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::evidence::{CertInfo, DnsResult};
use crate::tools::{
    BackendError, Backends, KubeBackend, NetworkBackend, SignozBackend, SlackBackend, SourceMode,
    SourceStatus,
};

/// Backends serving the files of a scenario directory (`None`: no data anywhere).
pub fn fixture_backends(dir: Option<&Path>) -> Result<Backends, BackendError> {
    let store = Arc::new(match dir {
        Some(dir) => FixtureStore::load(dir)?,
        None => FixtureStore::empty(),
    });
    Ok(store.backends())
}

/// One file's content: absent, parsed, or the reason it could not be read.
type Slot<T> = Option<Result<Arc<T>, String>>;

/// A message posted through the fixture Slack backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedMessage {
    pub channel: String,
    pub thread_ts: String,
    pub text: String,
    pub ts: String,
}

/// Everything a scenario directory holds, parsed. Implements all four backend traits.
#[derive(Default)]
pub struct FixtureStore {
    logs: Slot<Value>,
    metrics: Slot<Value>,
    traces: Slot<Value>,
    pods: Slot<Vec<Pod>>,
    events: Slot<Vec<Event>>,
    services: Slot<Vec<Service>>,
    endpoints: Slot<Vec<Endpoints>>,
    deployments: Slot<Vec<Deployment>>,
    /// Pod name → log text (`<pod>.log`); `<pod>.previous.log` for the previous container.
    pod_logs: HashMap<String, Result<Arc<str>, String>>,
    replies: Slot<Value>,
    channel: Slot<Value>,
    /// Host → certificate (`network/tls/<host>.json`).
    tls: HashMap<String, Result<Arc<CertInfo>, String>>,
    /// Name → lookup (`network/dns/<name>.json`).
    dns: HashMap<String, Result<Arc<DnsResult>, String>>,
    posted: Mutex<Vec<PostedMessage>>,
    /// The `service.name`s of the recorded SigNoz files, found once.
    signoz_services: OnceLock<Result<Option<Vec<String>>, BackendError>>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct List<T> {
    #[serde(default = "Vec::new", deserialize_with = "nullable_vec")]
    items: Vec<T>,
}

fn nullable_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Read `dir/rel` if it exists and parse it with `parse`.
fn slot<T>(dir: &Path, rel: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Slot<T> {
    let path = dir.join(rel);
    match fs::read_to_string(&path) {
        Ok(text) => Some(
            parse(&text)
                .map(Arc::new)
                .map_err(|e| format!("{}: {e}", path.display())),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(Err(format!("{}: {e}", path.display()))),
    }
}

fn json_slot(dir: &Path, rel: &str) -> Slot<Value> {
    slot(dir, rel, |text| {
        serde_json::from_str::<Value>(text).map_err(|e| e.to_string())
    })
}

fn list_slot<T: DeserializeOwned>(dir: &Path, rel: &str) -> Slot<Vec<T>> {
    slot(dir, rel, |text| {
        serde_json::from_str::<List<T>>(text)
            .map(|l| l.items)
            .map_err(|e| e.to_string())
    })
}

/// Files of `dir` with extension `ext`, by stem.
fn files_by_stem(dir: &Path, ext: &str) -> Vec<(String, PathBuf)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?;
            let stem = name.strip_suffix(ext)?.strip_suffix('.')?;
            (!stem.is_empty()).then(|| (stem.to_owned(), p.clone()))
        })
        .collect();
    out.sort();
    out
}

fn read_map<T, F>(dir: &Path, ext: &str, parse: F) -> HashMap<String, Result<Arc<T>, String>>
where
    T: ?Sized,
    F: Fn(String) -> Result<Arc<T>, String>,
{
    files_by_stem(dir, ext)
        .into_iter()
        .map(|(stem, path)| {
            let value = fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(&parse)
                .map_err(|e| format!("{}: {e}", path.display()));
            (stem.to_ascii_lowercase(), value)
        })
        .collect()
}

fn served<T: Clone>(slot: &Slot<T>) -> Result<Option<T>, BackendError> {
    match slot {
        None => Ok(None),
        Some(Ok(v)) => Ok(Some(T::clone(v))),
        Some(Err(e)) => Err(BackendError::Decode(e.clone())),
    }
}

/// Objects of `namespace` (objects without a namespace belong to every namespace).
fn in_namespace<T: Clone>(
    slot: &Slot<Vec<T>>,
    namespace: &str,
    meta: impl Fn(&T) -> &ObjectMeta,
) -> Result<Option<Vec<T>>, BackendError> {
    match slot {
        None => Ok(None),
        Some(Err(e)) => Err(BackendError::Decode(e.clone())),
        Some(Ok(items)) => Ok(Some(
            items
                .iter()
                .filter(|o| {
                    meta(o)
                        .namespace
                        .as_deref()
                        .is_none_or(|ns| ns == namespace)
                })
                .cloned()
                .collect(),
        )),
    }
}

/// `k=v,k2=v2` equality selectors (other forms select everything).
fn matches_selector(meta: &ObjectMeta, selector: &str) -> bool {
    selector
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .all(|term| match term.split_once('=') {
            Some((k, v)) => {
                let (k, v) = (k.trim_end_matches('='), v.trim_start_matches('='));
                meta.labels
                    .as_ref()
                    .and_then(|l| l.get(k.trim()))
                    .is_some_and(|x| x == v.trim())
            }
            None => true,
        })
}

impl FixtureStore {
    /// A store with no data at all.
    pub fn empty() -> FixtureStore {
        FixtureStore::default()
    }

    /// Read and parse every data file of a scenario directory.
    pub fn load(dir: &Path) -> Result<FixtureStore, BackendError> {
        if !dir.is_dir() {
            return Err(BackendError::Request(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        let pod_logs = read_map(&dir.join("kubernetes/logs"), "log", |text| {
            Ok(Arc::<str>::from(text))
        });
        let tls = read_map(&dir.join("network/tls"), "json", |text| {
            serde_json::from_str::<CertInfo>(&text)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        });
        let dns = read_map(&dir.join("network/dns"), "json", |text| {
            serde_json::from_str::<DnsResult>(&text)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        });
        Ok(FixtureStore {
            logs: json_slot(dir, "signoz/logs.json"),
            metrics: json_slot(dir, "signoz/metrics.json"),
            traces: json_slot(dir, "signoz/traces.json"),
            pods: list_slot(dir, "kubernetes/pods.json"),
            events: list_slot(dir, "kubernetes/events.json"),
            services: list_slot(dir, "kubernetes/services.json"),
            endpoints: list_slot(dir, "kubernetes/endpoints.json"),
            deployments: list_slot(dir, "kubernetes/deployments.json"),
            pod_logs,
            replies: json_slot(dir, "slack/replies.json"),
            channel: json_slot(dir, "slack/channel.json"),
            tls,
            dns,
            posted: Mutex::new(Vec::new()),
            signoz_services: OnceLock::new(),
        })
    }

    /// The four backends, all served by this store.
    pub fn backends(self: Arc<Self>) -> Backends {
        let sources = ["signoz", "kubernetes", "slack", "network"]
            .into_iter()
            .map(|source| SourceStatus {
                source: source.to_string(),
                mode: SourceMode::Fixture,
                detail: "recorded fixtures".to_string(),
            })
            .collect();
        Backends {
            signoz: self.clone(),
            kube: self.clone(),
            slack: self.clone(),
            network: self,
            sources,
        }
    }

    /// Messages posted so far, oldest first.
    pub fn posted(&self) -> Vec<PostedMessage> {
        self.posted
            .lock()
            .map(|p| p.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    fn signoz_answer(&self, body: &Value) -> Result<Option<Value>, BackendError> {
        let spec = body.pointer("/compositeQuery/queries/0/spec");
        let signal = spec
            .and_then(|s| s.get("signal"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let request_type = body
            .get("requestType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let slot = match (signal, request_type) {
            ("metrics", _) => &self.metrics,
            ("logs", "raw") => &self.logs,
            ("traces", "raw" | "trace") => &self.traces,
            // The recorded time series answer any aggregation, whatever its signal (a key the
            // catalogue derives from spans is recorded there too); the fixture never derives
            // metrics from its rows (that would change what old scenarios mean).
            (_, "time_series" | "scalar") => &self.metrics,
            _ => {
                return Err(BackendError::Request(format!(
                    "the fixture SigNoz answers raw logs, raw traces and metrics, not {signal:?}/{request_type:?}"
                )));
            }
        };
        served(slot)
    }

    /// Every `service.name` in the recorded logs, traces and metrics.
    fn service_names(&self) -> Result<Option<Vec<String>>, BackendError> {
        self.signoz_services
            .get_or_init(|| self.find_service_names())
            .clone()
    }

    fn find_service_names(&self) -> Result<Option<Vec<String>>, BackendError> {
        let mut names = std::collections::BTreeSet::new();
        let mut any = false;
        for slot in [&self.logs, &self.traces, &self.metrics] {
            if let Some(resp) = served(slot)? {
                any = true;
                names.extend(crate::tools::signoz::decode::service_names(&resp));
            }
        }
        Ok(any.then(|| names.into_iter().collect()))
    }

    fn pod_log(&self, pod: &str, previous: bool) -> Result<Option<String>, BackendError> {
        let pod = pod.to_ascii_lowercase();
        let entry = if previous {
            self.pod_logs
                .get(&format!("{pod}.previous"))
                .or_else(|| self.pod_logs.get(&pod))
        } else {
            self.pod_logs.get(&pod)
        };
        match entry {
            None => Ok(None),
            Some(Ok(text)) => Ok(Some(text.to_string())),
            Some(Err(e)) => Err(BackendError::Decode(e.clone())),
        }
    }
}

fn lookup<T: Clone>(
    map: &HashMap<String, Result<Arc<T>, String>>,
    key: &str,
) -> Result<Option<T>, BackendError> {
    let key = key.trim().trim_end_matches('.').to_ascii_lowercase();
    match map.get(&key) {
        None => Ok(None),
        Some(Ok(v)) => Ok(Some(T::clone(v))),
        Some(Err(e)) => Err(BackendError::Decode(e.clone())),
    }
}

impl SignozBackend for FixtureStore {
    fn query_range(&self, body: Value) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        std::future::ready(self.signoz_answer(&body)).boxed()
    }

    fn services(&self) -> BoxFuture<'_, Result<Option<Vec<String>>, BackendError>> {
        std::future::ready(self.service_names()).boxed()
    }
}

impl KubeBackend for FixtureStore {
    fn list_pods(
        &self,
        namespace: &str,
        label_selector: Option<&str>,
    ) -> BoxFuture<'_, Result<Option<Vec<Pod>>, BackendError>> {
        let mut pods = in_namespace(&self.pods, namespace, |p: &Pod| &p.metadata);
        if let (Ok(Some(list)), Some(selector)) = (&mut pods, label_selector) {
            list.retain(|p| matches_selector(&p.metadata, selector));
        }
        std::future::ready(pods).boxed()
    }

    fn list_events(
        &self,
        namespace: &str,
    ) -> BoxFuture<'_, Result<Option<Vec<Event>>, BackendError>> {
        std::future::ready(in_namespace(&self.events, namespace, |e: &Event| {
            &e.metadata
        }))
        .boxed()
    }

    fn list_services(
        &self,
        namespace: &str,
    ) -> BoxFuture<'_, Result<Option<Vec<Service>>, BackendError>> {
        std::future::ready(in_namespace(&self.services, namespace, |s: &Service| {
            &s.metadata
        }))
        .boxed()
    }

    fn list_endpoints(
        &self,
        namespace: &str,
    ) -> BoxFuture<'_, Result<Option<Vec<Endpoints>>, BackendError>> {
        std::future::ready(in_namespace(&self.endpoints, namespace, |e: &Endpoints| {
            &e.metadata
        }))
        .boxed()
    }

    fn list_deployments(
        &self,
        namespace: &str,
    ) -> BoxFuture<'_, Result<Option<Vec<Deployment>>, BackendError>> {
        std::future::ready(in_namespace(
            &self.deployments,
            namespace,
            |d: &Deployment| &d.metadata,
        ))
        .boxed()
    }

    fn pod_logs(
        &self,
        _namespace: &str,
        pod: &str,
        tail_lines: u32,
        previous: bool,
    ) -> BoxFuture<'_, Result<Option<String>, BackendError>> {
        let text = self.pod_log(pod, previous).map(|text| {
            text.map(|t| {
                // As the API does: only the last `tail_lines` lines.
                let lines: Vec<&str> = t.lines().collect();
                let start = lines.len().saturating_sub(tail_lines as usize);
                let mut out = lines[start..].join("\n");
                out.push('\n');
                out
            })
        });
        std::future::ready(text).boxed()
    }
}

impl SlackBackend for FixtureStore {
    fn conversations_replies(
        &self,
        _channel: &str,
        _ts: &str,
    ) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        std::future::ready(served(&self.replies)).boxed()
    }

    fn conversations_info(
        &self,
        _channel: &str,
    ) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        std::future::ready(served(&self.channel)).boxed()
    }

    fn post_message(
        &self,
        channel: &str,
        thread_ts: &str,
        text: &str,
    ) -> BoxFuture<'_, Result<Value, BackendError>> {
        let mut posted = match self.posted.lock() {
            Ok(p) => p,
            Err(e) => e.into_inner(),
        };
        let ts = format!("1700000000.{:06}", posted.len() + 1);
        posted.push(PostedMessage {
            channel: channel.to_owned(),
            thread_ts: thread_ts.to_owned(),
            text: text.to_owned(),
            ts: ts.clone(),
        });
        std::future::ready(Ok(json!({
            "ok": true,
            "channel": channel,
            "ts": ts,
            "message": {"type": "message", "text": text, "thread_ts": thread_ts, "ts": ts},
        })))
        .boxed()
    }
}

impl NetworkBackend for FixtureStore {
    fn tls_certificate(
        &self,
        host: &str,
        _port: u16,
    ) -> BoxFuture<'_, Result<Option<CertInfo>, BackendError>> {
        std::future::ready(lookup(&self.tls, host)).boxed()
    }

    fn resolve(
        &self,
        name: &str,
        _record_type: &str,
    ) -> BoxFuture<'_, Result<Option<DnsResult>, BackendError>> {
        std::future::ready(lookup(&self.dns, name)).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_directory_files_are_no_data() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = FixtureStore::load(tmp.path()).expect("load");
        assert_eq!(store.pod_log("x", false), Ok(None));
        assert_eq!(served(&store.logs), Ok(None));
        assert!(FixtureStore::load(&tmp.path().join("nope")).is_err());
    }

    #[test]
    fn bad_file_is_a_decode_error_naming_it() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(tmp.path().join("kubernetes")).expect("mkdir");
        fs::write(tmp.path().join("kubernetes/pods.json"), "{not json").expect("write");
        let store = FixtureStore::load(tmp.path()).expect("load");
        match in_namespace(&store.pods, "default", |p: &Pod| &p.metadata) {
            Err(BackendError::Decode(msg)) => assert!(msg.contains("pods.json"), "{msg}"),
            other => panic!("expected a decode error, got {other:?}"),
        }
    }

    #[test]
    fn selectors() {
        let meta = ObjectMeta {
            labels: Some([("app".to_owned(), "web".to_owned())].into()),
            ..ObjectMeta::default()
        };
        assert!(matches_selector(&meta, "app=web"));
        assert!(matches_selector(&meta, "app==web"));
        assert!(!matches_selector(&meta, "app=api"));
    }

    #[tokio::test]
    async fn signoz_services_are_those_of_the_recorded_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = FixtureStore::load(tmp.path()).expect("load");
        assert_eq!(
            store.services().await,
            Ok(None),
            "nothing recorded: cannot tell"
        );
        fs::create_dir_all(tmp.path().join("signoz")).expect("mkdir");
        fs::write(
            tmp.path().join("signoz/logs.json"),
            r#"{"status":"success","data":{"type":"raw","data":{"results":[{"queryName":"A","rows":[
              {"timestamp":"2026-01-01T00:00:00Z","data":{"body":"x","resources_string":{"service.name":"users"}}}]}]}}}"#,
        )
        .expect("write");
        fs::write(
            tmp.path().join("signoz/metrics.json"),
            r#"{"status":"success","data":{"type":"time_series","data":{"results":[{"queryName":"m","aggregations":[{"index":0,"series":[
              {"labels":[{"key":{"name":"service.name"},"value":"orders"}],"values":[{"timestamp":1767225600000,"value":1}]},
              {"labels":[{"key":{"name":"k8s.node.name"},"value":"n1"}],"values":[{"timestamp":1767225600000,"value":1}]}]}]}]}}}"#,
        )
        .expect("write");
        let store = FixtureStore::load(tmp.path()).expect("load");
        assert_eq!(
            store.services().await,
            Ok(Some(vec!["orders".to_owned(), "users".to_owned()]))
        );
        // A time-series request of any signal is answered from the recorded time series.
        let traces_agg = json!({"requestType": "time_series", "compositeQuery": {"queries": [
            {"type": "builder_query", "spec": {"name": "k", "signal": "traces"}}]}});
        assert!(matches!(store.signoz_answer(&traces_agg), Ok(Some(_))));
    }
}
