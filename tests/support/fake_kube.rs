//! A local fake of the Kubernetes API server for sre-agent's integration tests.
//!
//! It serves recorded API objects in the real JSON shape at the real paths on `127.0.0.1`
//! (HTTP/1.1, axum), so `kube` cannot tell it from an API server:
//!
//! * `GET /api/v1/namespaces/{ns}/{pods,events,services,endpoints}[/{name}]`,
//!   `/api/v1/namespaces/{ns}/pods/{name}/log`,
//!   `/apis/apps/v1/namespaces/{ns}/{deployments,replicasets,statefulsets,daemonsets}[/{name}]`,
//!   `/apis/batch/v1/namespaces/{ns}/{jobs,cronjobs}[/{name}]`,
//!   `/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices[/{name}]`,
//!   `/api/v1/nodes[/{name}]`, and the all-namespaces lists (`/api/v1/pods`, …).
//! * Lists are `{apiVersion, kind: XList, metadata: {resourceVersion, continue}, items}` with
//!   `limit` / `continue` paging; `labelSelector` (`=`, `==`, `!=`, `in`, `notin`, `key`,
//!   `!key`) and `fieldSelector` (`metadata.name`, `metadata.namespace`, `involvedObject.*`,
//!   `spec.nodeName`, `status.phase`, `type`, `reason`; others are refused with 400 as the API
//!   server refuses unsupported field labels) are applied.
//! * Missing objects are 404 `Status` objects; a 403 `Status` with the API server's exact
//!   message can be configured per verb, resource and namespace ([`FakeKube::forbid`]); any
//!   status can be injected per resource ([`FakeKube::fail`]), or a delay
//!   ([`FakeKube::delay`]).
//! * Pod logs honour `container` (400 when a multi-container pod gets none, as the kubelet
//!   answers), `previous` (400 "previous terminated container … not found" without one),
//!   `sinceSeconds` (against [`FakeKube::set_clock`], when set), `tailLines`, `timestamps`
//!   (lines are stored with their RFC 3339 prefix and lose it unless asked) and `limitBytes`.
//!
//! A scenario directory's `kubernetes/*.json` and `kubernetes/logs/<pod>[.previous].log` load
//! with [`FakeKube::load_scenario`] (as in the fixture format, `<pod>.log` also answers for the
//! previous container when there is no `<pod>.previous.log`). Objects recorded without a namespace belong to every
//! namespace (as in the fixture format). Every request is recorded.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The service account the 403 messages name.
pub const USER: &str = "system:serviceaccount:sre:sre-agent";

/// One served resource.
#[derive(Debug, Clone, Copy)]
struct Res {
    plural: &'static str,
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    namespaced: bool,
    /// Field labels the API server accepts for this resource (besides metadata.*).
    fields: &'static [&'static str],
}

const RESOURCES: &[Res] = &[
    Res {
        plural: "pods",
        group: "",
        version: "v1",
        kind: "Pod",
        namespaced: true,
        fields: &["spec.nodeName", "status.phase", "spec.restartPolicy"],
    },
    Res {
        plural: "events",
        group: "",
        version: "v1",
        kind: "Event",
        namespaced: true,
        fields: &[
            "involvedObject.kind",
            "involvedObject.name",
            "involvedObject.namespace",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.fieldPath",
            "involvedObject.resourceVersion",
            "reason",
            "type",
            "source",
            "reportingComponent",
        ],
    },
    Res {
        plural: "services",
        group: "",
        version: "v1",
        kind: "Service",
        namespaced: true,
        fields: &[],
    },
    Res {
        plural: "endpoints",
        group: "",
        version: "v1",
        kind: "Endpoints",
        namespaced: true,
        fields: &[],
    },
    Res {
        plural: "nodes",
        group: "",
        version: "v1",
        kind: "Node",
        namespaced: false,
        fields: &["spec.unschedulable"],
    },
    Res {
        plural: "deployments",
        group: "apps",
        version: "v1",
        kind: "Deployment",
        namespaced: true,
        fields: &[],
    },
    Res {
        plural: "replicasets",
        group: "apps",
        version: "v1",
        kind: "ReplicaSet",
        namespaced: true,
        fields: &[],
    },
    Res {
        plural: "statefulsets",
        group: "apps",
        version: "v1",
        kind: "StatefulSet",
        namespaced: true,
        fields: &[],
    },
    Res {
        plural: "daemonsets",
        group: "apps",
        version: "v1",
        kind: "DaemonSet",
        namespaced: true,
        fields: &[],
    },
    Res {
        plural: "jobs",
        group: "batch",
        version: "v1",
        kind: "Job",
        namespaced: true,
        fields: &["status.successful"],
    },
    Res {
        plural: "cronjobs",
        group: "batch",
        version: "v1",
        kind: "CronJob",
        namespaced: true,
        fields: &[],
    },
    Res {
        plural: "endpointslices",
        group: "discovery.k8s.io",
        version: "v1",
        kind: "EndpointSlice",
        namespaced: true,
        fields: &[],
    },
];

fn resource(plural: &str) -> Option<Res> {
    RESOURCES.iter().copied().find(|r| r.plural == plural)
}

fn api_version(r: &Res) -> String {
    if r.group.is_empty() {
        r.version.to_owned()
    } else {
        format!("{}/{}", r.group, r.version)
    }
}

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct Forbid {
    verb: String,
    resource: String,
    namespace: Option<String>,
}

/// Log of one container: `None` container = whatever container is asked.
type LogKey = (String, Option<String>, bool);

#[derive(Default)]
struct Inner {
    objects: HashMap<&'static str, Vec<Value>>,
    logs: HashMap<LogKey, String>,
    forbidden: Vec<Forbid>,
    failures: HashMap<String, (u16, String)>,
    delays: HashMap<String, Duration>,
    requests: Vec<Recorded>,
    clock: Option<DateTime<Utc>>,
}

type Shared = Arc<Mutex<Inner>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Inner> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running fake API server.
pub struct FakeKube {
    addr: SocketAddr,
    shared: Shared,
    task: JoinHandle<()>,
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeKube {
    /// An empty API server on an ephemeral port.
    pub async fn start() -> FakeKube {
        let shared: Shared = Arc::default();
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeKube { addr, shared, task }
    }

    /// An API server holding a scenario directory's Kubernetes data.
    pub async fn with_scenario(dir: &Path) -> FakeKube {
        let fake = FakeKube::start().await;
        fake.load_scenario(dir);
        fake
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A `kube` config pointing at this server.
    pub fn config(&self) -> kube::Config {
        kube::Config::new(self.url().parse().expect("url"))
    }

    /// Load `kubernetes/<plural>.json` lists and `kubernetes/logs/*.log` of a scenario.
    pub fn load_scenario(&self, dir: &Path) {
        let kube = dir.join("kubernetes");
        for r in RESOURCES {
            let path = kube.join(format!("{}.json", r.plural));
            if let Ok(text) = std::fs::read_to_string(&path) {
                let list: Value = serde_json::from_str(&text).expect("scenario list JSON");
                self.add_list(r.plural, list);
            }
        }
        if let Ok(entries) = std::fs::read_dir(kube.join("logs")) {
            for entry in entries.filter_map(Result::ok) {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Some(stem) = name.strip_suffix(".log") else {
                    continue;
                };
                let text = std::fs::read_to_string(entry.path()).expect("log");
                match stem.strip_suffix(".previous") {
                    Some(pod) => self.set_log(pod, None, true, &text),
                    None => {
                        self.set_log(stem, None, false, &text);
                        // The fixture format: `<pod>.log` is also the previous container's
                        // log unless `<pod>.previous.log` says otherwise.
                        let previous = kube.join("logs").join(format!("{stem}.previous.log"));
                        if !previous.exists() {
                            self.set_log(stem, None, true, &text);
                        }
                    }
                }
            }
        }
    }

    /// Add the `items` of a list JSON (or a JSON array) as objects of `plural`.
    pub fn add_list(&self, plural: &str, list: Value) {
        let items = match list {
            Value::Array(items) => items,
            mut other => match other.get_mut("items").map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
        };
        for item in items {
            self.add(plural, item);
        }
    }

    /// Add one object of `plural`.
    pub fn add(&self, plural: &str, object: Value) {
        let r = resource(plural).unwrap_or_else(|| panic!("the fake does not serve {plural}"));
        lock(&self.shared)
            .objects
            .entry(r.plural)
            .or_default()
            .push(object);
    }

    /// The log of `pod` (any container when `container` is `None`).
    pub fn set_log(&self, pod: &str, container: Option<&str>, previous: bool, text: &str) {
        lock(&self.shared).logs.insert(
            (
                pod.to_ascii_lowercase(),
                container.map(str::to_owned),
                previous,
            ),
            text.to_owned(),
        );
    }

    /// Answer 403 to `verb` (`list`, `get`) on `resource` (`events`, `pods/log`, …) in
    /// `namespace` (`None`: in every namespace and at the cluster scope).
    pub fn forbid(&self, verb: &str, resource: &str, namespace: Option<&str>) {
        lock(&self.shared).forbidden.push(Forbid {
            verb: verb.to_owned(),
            resource: resource.to_owned(),
            namespace: namespace.map(str::to_owned),
        });
    }

    /// Answer every request on `resource` with this status and message.
    pub fn fail(&self, resource: &str, code: u16, message: &str) {
        lock(&self.shared)
            .failures
            .insert(resource.to_owned(), (code, message.to_owned()));
    }

    /// Answer requests on `resource` only after `delay`.
    pub fn delay(&self, resource: &str, delay: Duration) {
        lock(&self.shared).delays.insert(resource.to_owned(), delay);
    }

    /// "Now" for `sinceSeconds` (without it, `sinceSeconds` keeps every line).
    pub fn set_clock(&self, now: DateTime<Utc>) {
        lock(&self.shared).clock = Some(now);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared).requests.clone()
    }

    /// Requests whose path ends with `suffix`.
    pub fn requests_ending(&self, suffix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with(suffix))
            .collect()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared).requests.clear();
    }
}

// ---------------------------------------------------------------------------------------------
// Answers

fn status(code: u16, reason: &str, message: &str, details: Value) -> Response {
    let body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    });
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn not_found(r: &Res, name: &str) -> Response {
    let what = if r.group.is_empty() {
        r.plural.to_owned()
    } else {
        format!("{}.{}", r.plural, r.group)
    };
    status(
        404,
        "NotFound",
        &format!("{what} \"{name}\" not found"),
        json!({"name": name, "group": r.group, "kind": r.plural}),
    )
}

fn bad_request(message: &str) -> Response {
    status(400, "BadRequest", message, json!({}))
}

fn forbidden(
    verb: &str,
    resource: &str,
    group: &str,
    ns: Option<&str>,
    name: Option<&str>,
) -> Response {
    let base = resource.split('/').next().unwrap_or(resource);
    let qualified = if group.is_empty() {
        base.to_owned()
    } else {
        format!("{base}.{group}")
    };
    let subject = match name {
        Some(n) => format!("{qualified} \"{n}\""),
        None => qualified,
    };
    let scope = match ns {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_owned(),
    };
    status(
        403,
        "Forbidden",
        &format!(
            "{subject} is forbidden: User \"{USER}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}"
        ),
        json!({"name": name.unwrap_or_default(), "group": group, "kind": base}),
    )
}

fn json_ok(value: Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// What a path asks for.
#[derive(Debug)]
enum Route {
    List {
        r: Res,
        ns: Option<String>,
    },
    Get {
        r: Res,
        ns: Option<String>,
        name: String,
    },
    Log {
        ns: String,
        pod: String,
    },
}

fn route(path: &str) -> Option<Route> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match segs.as_slice() {
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return None,
    };
    let find = |plural: &str| resource(plural).filter(|r| r.group == group);
    Some(match rest {
        [plural] => Route::List {
            r: find(plural)?,
            ns: None,
        },
        [plural, name] => {
            let r = find(plural)?;
            if r.namespaced {
                return None;
            }
            Route::Get {
                r,
                ns: None,
                name: (*name).to_owned(),
            }
        }
        ["namespaces", ns, plural] => Route::List {
            r: find(plural).filter(|r| r.namespaced)?,
            ns: Some((*ns).to_owned()),
        },
        ["namespaces", ns, plural, name] => Route::Get {
            r: find(plural).filter(|r| r.namespaced)?,
            ns: Some((*ns).to_owned()),
            name: (*name).to_owned(),
        },
        ["namespaces", ns, "pods", pod, "log"] if group.is_empty() => Route::Log {
            ns: (*ns).to_owned(),
            pod: (*pod).to_owned(),
        },
        _ => return None,
    })
}

async fn handle(State(shared): State<Shared>, method: Method, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    let query: BTreeMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    lock(&shared).requests.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
    });
    if method != Method::GET {
        return status(
            405,
            "MethodNotAllowed",
            "the fake API server is read-only",
            json!({}),
        );
    }
    let Some(route) = route(&path) else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
            json!({}),
        );
    };
    let (verb, res_name, group, ns, name) = match &route {
        Route::List { r, ns } => ("list", r.plural.to_owned(), r.group, ns.clone(), None),
        Route::Get { r, ns, name } => (
            "get",
            r.plural.to_owned(),
            r.group,
            ns.clone(),
            Some(name.clone()),
        ),
        Route::Log { ns, pod } => (
            "get",
            "pods/log".to_owned(),
            "",
            Some(ns.clone()),
            Some(pod.clone()),
        ),
    };
    let (delay, failure, refused) = {
        let inner = lock(&shared);
        let refused = inner.forbidden.iter().any(|f| {
            f.verb == verb
                && f.resource == res_name
                && f.namespace.as_ref().is_none_or(|n| Some(n) == ns.as_ref())
        });
        (
            inner.delays.get(&res_name).copied(),
            inner.failures.get(&res_name).cloned(),
            refused,
        )
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some((code, message)) = failure {
        return status(code, "InternalError", &message, json!({}));
    }
    if refused {
        return forbidden(verb, &res_name, group, ns.as_deref(), name.as_deref());
    }
    let inner = lock(&shared).objects.clone();
    match route {
        Route::List { r, ns } => list(&inner, &r, ns.as_deref(), &query),
        Route::Get { r, ns, name } => match objects_in(&inner, &r, ns.as_deref())
            .into_iter()
            .find(|o| o.pointer("/metadata/name").and_then(Value::as_str) == Some(&name))
        {
            Some(mut o) => {
                o["apiVersion"] = json!(api_version(&r));
                o["kind"] = json!(r.kind);
                json_ok(o)
            }
            None => not_found(&r, &name),
        },
        Route::Log { ns, pod } => log(&shared, &inner, &ns, &pod, &query),
    }
}

/// Objects of `r` in `ns` (`None`: all); recorded objects without a namespace are in every
/// namespace and answer with the one asked.
fn objects_in(
    objects: &HashMap<&'static str, Vec<Value>>,
    r: &Res,
    ns: Option<&str>,
) -> Vec<Value> {
    objects
        .get(r.plural)
        .map(|all| {
            all.iter()
                .filter_map(|o| {
                    let own = o.pointer("/metadata/namespace").and_then(Value::as_str);
                    match (r.namespaced, ns, own) {
                        (true, Some(ns), Some(own)) if own != ns => None,
                        (true, Some(ns), None) => {
                            let mut o = o.clone();
                            o["metadata"]["namespace"] = json!(ns);
                            Some(o)
                        }
                        _ => Some(o.clone()),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn list(
    objects: &HashMap<&'static str, Vec<Value>>,
    r: &Res,
    ns: Option<&str>,
    query: &BTreeMap<String, String>,
) -> Response {
    let mut items = objects_in(objects, r, ns);
    if let Some(sel) = query.get("labelSelector").filter(|s| !s.is_empty()) {
        let Some(reqs) = parse_labels(sel) else {
            return bad_request(&format!("unable to parse requirement: {sel:?}"));
        };
        items.retain(|o| {
            let labels = o.pointer("/metadata/labels").cloned().unwrap_or(json!({}));
            reqs.iter().all(|req| req.matches(&labels))
        });
    }
    if let Some(sel) = query.get("fieldSelector").filter(|s| !s.is_empty()) {
        let mut terms = Vec::new();
        for term in sel.split(',') {
            let (field, value, negated) = if let Some((f, v)) = term.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (f, v, false)
            } else {
                return bad_request(&format!("invalid selector: '{sel}'"));
            };
            if !field.starts_with("metadata.") && !r.fields.contains(&field) {
                return bad_request(&format!("field label not supported: {field}"));
            }
            terms.push((field.to_owned(), value.to_owned(), negated));
        }
        items.retain(|o| {
            terms.iter().all(|(field, value, negated)| {
                let pointer = format!("/{}", field.replace('.', "/"));
                let actual = match o.pointer(&pointer) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                (actual == *value) != *negated
            })
        });
    }
    // Paging.
    let offset: usize = match query.get("continue") {
        Some(token) => match token
            .strip_prefix("fake-continue:")
            .and_then(|n| n.parse().ok())
        {
            Some(n) => n,
            None => {
                return status(
                    410,
                    "Expired",
                    "the provided continue parameter is too old",
                    json!({}),
                );
            }
        },
        None => 0,
    };
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let total = items.len();
    let page: Vec<Value> = items
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|mut o| {
            // As the API server lists them: items without apiVersion / kind.
            if let Some(map) = o.as_object_mut() {
                map.remove("apiVersion");
                map.remove("kind");
            }
            o
        })
        .collect();
    let mut metadata = json!({"resourceVersion": "4242"});
    if offset + page.len() < total {
        metadata["continue"] = json!(format!("fake-continue:{}", offset + page.len()));
        metadata["remainingItemCount"] = json!(total - offset - page.len());
    }
    json_ok(json!({
        "apiVersion": api_version(r),
        "kind": format!("{}List", r.kind),
        "metadata": metadata,
        "items": page,
    }))
}

fn log(
    shared: &Shared,
    objects: &HashMap<&'static str, Vec<Value>>,
    ns: &str,
    pod: &str,
    query: &BTreeMap<String, String>,
) -> Response {
    let Some(pods) = resource("pods") else {
        return bad_request("no pods");
    };
    let Some(object) = objects_in(objects, &pods, Some(ns))
        .into_iter()
        .find(|o| o.pointer("/metadata/name").and_then(Value::as_str) == Some(pod))
    else {
        return not_found(&pods, pod);
    };
    let containers: Vec<String> = object
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let container = match query.get("container") {
        Some(c) if !containers.is_empty() && !containers.contains(c) => {
            return bad_request(&format!("container {c} is not valid for pod {pod}"));
        }
        Some(c) => c.clone(),
        None if containers.len() > 1 => {
            return bad_request(&format!(
                "a container name must be specified for pod {pod}, choose one of: [{}]",
                containers.join(" ")
            ));
        }
        None => containers.first().cloned().unwrap_or_default(),
    };
    let previous = query.get("previous").is_some_and(|p| p == "true");
    let inner = lock(shared);
    let key = pod.to_ascii_lowercase();
    let text = inner
        .logs
        .get(&(key.clone(), Some(container.clone()), previous))
        .or_else(|| inner.logs.get(&(key, None, previous)))
        .cloned();
    let clock = inner.clock;
    drop(inner);
    let text = match (text, previous) {
        (Some(t), _) => t,
        (None, true) => {
            return bad_request(&format!(
                "previous terminated container \"{container}\" in pod \"{pod}\" not found"
            ));
        }
        (None, false) => String::new(),
    };
    let mut lines: Vec<&str> = text.lines().collect();
    if let (Some(since), Some(now)) = (
        query
            .get("sinceSeconds")
            .and_then(|s| s.parse::<i64>().ok()),
        clock,
    ) {
        let from = now - chrono::Duration::seconds(since);
        lines.retain(|l| {
            let first = l.split_whitespace().next().unwrap_or_default();
            DateTime::parse_from_rfc3339(first).map_or(true, |t| t.with_timezone(&Utc) >= from)
        });
    }
    if let Some(tail) = query.get("tailLines").and_then(|t| t.parse::<usize>().ok()) {
        let start = lines.len().saturating_sub(tail);
        lines.drain(..start);
    }
    let timestamps = query.get("timestamps").is_some_and(|t| t == "true");
    let mut body = String::new();
    for line in lines {
        let first = line.split_whitespace().next().unwrap_or_default();
        if !timestamps && DateTime::parse_from_rfc3339(first).is_ok() {
            body.push_str(line[first.len()..].trim_start());
        } else {
            body.push_str(line);
        }
        body.push('\n');
    }
    let mut bytes = body.into_bytes();
    if let Some(limit) = query
        .get("limitBytes")
        .and_then(|l| l.parse::<usize>().ok())
    {
        bytes.truncate(limit);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain")],
        bytes,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Label selectors, as the API server reads them.

#[derive(Debug)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    Absent(String),
}

impl Req {
    fn matches(&self, labels: &Value) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        match self {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::Ne(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Req::Exists(k) => get(k).is_some(),
            Req::Absent(k) => get(k).is_none(),
        }
    }
}

fn parse_labels(sel: &str) -> Option<Vec<Req>> {
    // Split on commas outside parentheses.
    let mut terms = Vec::new();
    let (mut depth, mut cur) = (0, String::new());
    for c in sel.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    terms.push(cur);
    if depth != 0 {
        return None;
    }
    let mut out = Vec::new();
    for term in terms.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        let req = if let Some((head, rest)) = term.split_once('(') {
            let values: Vec<String> = rest
                .trim_end()
                .strip_suffix(')')?
                .split(',')
                .map(|v| v.trim().to_owned())
                .collect();
            let words: Vec<&str> = head.split_whitespace().collect();
            match words.as_slice() {
                [k, "in"] => Req::In((*k).to_owned(), values),
                [k, "notin"] => Req::NotIn((*k).to_owned(), values),
                _ => return None,
            }
        } else if let Some(k) = term.strip_prefix('!') {
            Req::Absent(k.trim().to_owned())
        } else if let Some((k, v)) = term.split_once("!=") {
            Req::Ne(k.trim().to_owned(), v.trim().to_owned())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            Req::Eq(k.trim().to_owned(), v.trim().to_owned())
        } else if term.contains(char::is_whitespace) {
            return None;
        } else {
            Req::Exists(term.to_owned())
        };
        out.push(req);
    }
    Some(out)
}
