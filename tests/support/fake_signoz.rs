//! A local fake of SigNoz's HTTP query API for sre-agent's integration tests.
//!
//! It serves a scenario directory's recorded `signoz/{logs,metrics,traces}.json` (the format in
//! `fixtures/README.md`) on `127.0.0.1` with an ephemeral port:
//!
//! * `POST /api/v5/query_range`: checks the `SIGNOZ-API-KEY` header (401 without it or with a
//!   wrong one), then the body's shape (`schemaVersion`, `start` < `end` in epoch milliseconds,
//!   `requestType`, `compositeQuery.queries[]` with `type`, `spec.name`, `spec.signal`, metric
//!   aggregations, formula references), answering 400 with the reason when it is wrong. Then it
//!   answers: raw logs / raw traces are the recorded files; a `time_series` request gets the
//!   recorded results (`metrics.json`) whose `queryName` it asked for, whatever its signal (an
//!   empty result for the others, as SigNoz does for a metric it has not seen), except that a
//!   traces aggregation without a recorded answer is computed from the recorded spans (filters `key op value` joined by AND, `count()`, `rate()`, `pNN(field)`,
//!   `avg/sum/min/max(field)`, group by, formulas `A op B`), like SigNoz would from its span
//!   table.
//! * `POST /api/v1/services` (`{"start","end"}` in nanoseconds, as strings) and
//!   `GET /api/v1/services/list`: the service names in the recorded files.
//!
//! It records every request ([`FakeSignoz::requests`]) and can be told to fail (500), hang, or
//! answer an HTML page ([`Mode`]). Input is never `unwrap()`ed: a bad request gets SigNoz's error shape.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How the fake answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Every request gets HTTP 500.
    Fail,
    /// Requests are read and never answered.
    Hang,
    /// Every request gets HTTP 200 with an HTML page.
    Html,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The `SIGNOZ-API-KEY` header, if any.
    pub api_key: Option<String>,
    pub body: Value,
    /// The status answered (0 when the request hung).
    pub status: u16,
}

struct Inner {
    logs: Option<Value>,
    metrics: Option<Value>,
    traces: Option<Value>,
    api_key: Option<String>,
    mode: Mutex<Mode>,
    requests: Mutex<Vec<Recorded>>,
}

pub struct FakeSignoz {
    addr: SocketAddr,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl Drop for FakeSignoz {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn read(dir: &Path, name: &str) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join("signoz").join(name)).ok()?;
    match serde_json::from_str(&text) {
        Ok(v) => Some(v),
        Err(e) => panic!("{}/signoz/{name} is not JSON: {e}", dir.display()),
    }
}

impl FakeSignoz {
    /// Serve `dir`'s recorded SigNoz files; `api_key` is the key it accepts (`None`: any).
    pub async fn start(dir: &Path, api_key: Option<&str>) -> FakeSignoz {
        let inner = Arc::new(Inner {
            logs: read(dir, "logs.json"),
            metrics: read(dir, "metrics.json"),
            traces: read(dir, "traces.json"),
            api_key: api_key.map(str::to_owned),
            mode: Mutex::new(Mode::Normal),
            requests: Mutex::new(Vec::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let app = Router::new()
            .fallback(any(handle))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("[fake-signoz] server stopped: {e}");
            }
        });
        FakeSignoz { addr, inner, task }
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/", self.addr)).expect("url")
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.inner.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Bodies of the `query_range` requests, oldest first.
    pub fn query_bodies(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == "/api/v5/query_range")
            .map(|r| r.body)
            .collect()
    }

    pub fn clear_requests(&self) {
        self.inner
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The service names it reports (as `/api/v1/services` does).
    pub fn service_names(&self) -> Vec<String> {
        self.inner.service_names()
    }
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> (StatusCode, Value) {
    (
        status,
        json!({"status": "error", "error": {"code": code, "message": message.into()}}),
    )
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let api_key = headers
        .get("signoz-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mode = *inner.mode.lock().unwrap_or_else(|e| e.into_inner());
    let record = |status: u16| Recorded {
        method: method.to_string(),
        path: path.clone(),
        api_key: api_key.clone(),
        body: parsed.clone(),
        status,
    };
    if mode == Mode::Hang {
        inner.push(record(0));
        std::future::pending::<()>().await;
    }
    if mode == Mode::Html {
        inner.push(record(200));
        return (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "text/html")],
            "<html><body>Welcome to nginx</body></html>",
        )
            .into_response();
    }
    let (status, answer) = if mode == Mode::Fail {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the fake was told to fail",
        )
    } else {
        inner.answer(&method, &path, api_key.as_deref(), &body)
    };
    inner.push(record(status.as_u16()));
    (status, axum::Json(answer)).into_response()
}

impl Inner {
    fn push(&self, r: Recorded) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(r);
    }

    fn answer(
        &self,
        method: &Method,
        path: &str,
        key: Option<&str>,
        body: &[u8],
    ) -> (StatusCode, Value) {
        if let Some(want) = &self.api_key {
            match key {
                None => {
                    return error(
                        StatusCode::UNAUTHORIZED,
                        "unauthenticated",
                        "missing SIGNOZ-API-KEY",
                    );
                }
                Some(k) if k != want => {
                    return error(
                        StatusCode::UNAUTHORIZED,
                        "unauthenticated",
                        "invalid API key",
                    );
                }
                Some(_) => {}
            }
        }
        match (method.as_str(), path) {
            ("POST", "/api/v5/query_range") => match self.query_range(body) {
                Ok(v) => (StatusCode::OK, v),
                Err(reason) => error(StatusCode::BAD_REQUEST, "invalid_input", reason),
            },
            ("POST", "/api/v1/services") => match check_services_body(body) {
                Ok(()) => (
                    StatusCode::OK,
                    Value::Array(
                        self.service_names()
                            .into_iter()
                            .map(|n| json!({"serviceName": n, "p99": 0, "avgDuration": 0, "numCalls": 1, "callRate": 0, "numErrors": 0, "errorRate": 0, "num4XX": 0, "fourXXRate": 0}))
                            .collect(),
                    ),
                ),
                Err(reason) => error(StatusCode::BAD_REQUEST, "bad_data", reason),
            },
            ("GET", "/api/v1/services/list") => (StatusCode::OK, json!(self.service_names())),
            _ => error(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no route {method} {path}"),
            ),
        }
    }

    fn service_names(&self) -> Vec<String> {
        let mut names = BTreeSet::new();
        for v in [&self.logs, &self.metrics, &self.traces]
            .into_iter()
            .flatten()
        {
            collect_service_names(v, &mut names);
        }
        names.into_iter().collect()
    }

    fn query_range(&self, body: &[u8]) -> Result<Value, String> {
        let req: Value =
            serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
        let checked = check_query_range(&req)?;
        let results = match (checked.signal.as_str(), checked.request_type.as_str()) {
            ("logs", "raw") => recorded_results(&self.logs),
            ("traces", "raw" | "trace") => recorded_results(&self.traces),
            (signal, "time_series" | "scalar") => {
                // Recorded time series answer by query name, whatever the signal; a traces
                // aggregation without a recorded answer is computed from the recorded spans.
                let recorded = recorded_results(&self.metrics);
                let computed = if signal == "traces" {
                    aggregate_spans(&recorded_rows(&self.traces), &req)?
                } else {
                    Vec::new()
                };
                let named = |list: &[Value], name: &str| {
                    list.iter()
                        .find(|r| r.get("queryName").and_then(Value::as_str) == Some(name))
                        .cloned()
                };
                checked
                    .returned
                    .iter()
                    .map(|name| {
                        named(&recorded, name)
                            .or_else(|| named(&computed, name))
                            .unwrap_or_else(|| json!({"queryName": name, "aggregations": []}))
                    })
                    .collect()
            }
            (signal, rt) => return Err(format!("the fake does not answer {signal}/{rt}")),
        };
        Ok(json!({
            "status": "success",
            "data": {
                "type": checked.request_type,
                "meta": {"rowsScanned": 0, "bytesScanned": 0, "durationMs": 1},
                "data": {"results": results}
            }
        }))
    }
}

fn recorded_results(slot: &Option<Value>) -> Vec<Value> {
    slot.as_ref()
        .and_then(|v| v.pointer("/data/data/results"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn recorded_rows(slot: &Option<Value>) -> Vec<Value> {
    recorded_results(slot)
        .iter()
        .filter_map(|r| r.get("rows").and_then(Value::as_array))
        .flatten()
        .cloned()
        .collect()
}

fn collect_service_names(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                if k == "service.name"
                    && let Some(s) = val.as_str()
                {
                    out.insert(s.to_owned());
                }
                collect_service_names(val, out);
            }
            // Series labels: [{key:{name:"service.name"}, value}].
            if map
                .get("key")
                .and_then(|k| k.get("name"))
                .and_then(Value::as_str)
                == Some("service.name")
                && let Some(s) = map.get("value").and_then(Value::as_str)
            {
                out.insert(s.to_owned());
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_service_names(i, out)),
        _ => {}
    }
}

fn check_services_body(body: &[u8]) -> Result<(), String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let ns = |k: &str| -> Result<i128, String> {
        v.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{k} param missing in query"))?
            .parse::<i128>()
            .map_err(|_| format!("{k} param is not in correct timestamp format"))
    };
    let (start, end) = (ns("start")?, ns("end")?);
    // Nanoseconds: 2001..2286.
    if !(1_000_000_000_000_000_000..10_000_000_000_000_000_000).contains(&start) {
        return Err(format!("start {start} is not in nanoseconds"));
    }
    if start >= end {
        return Err("start must be before end".into());
    }
    Ok(())
}

/// What a valid request asks.
struct Checked {
    request_type: String,
    /// The signal of the builder queries.
    signal: String,
    /// Names whose results are returned: enabled builder queries and formulas.
    returned: Vec<String>,
}

const SPACE: &[&str] = &[
    "sum", "avg", "min", "max", "count", "p50", "p75", "p90", "p95", "p99",
];
const TIME: &[&str] = &[
    "latest",
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "count_distinct",
    "rate",
    "increase",
];

fn check_query_range(req: &Value) -> Result<Checked, String> {
    let obj = req.as_object().ok_or("body is not an object")?;
    if obj.get("schemaVersion").and_then(Value::as_str) != Some("v1") {
        return Err("schemaVersion must be \"v1\"".into());
    }
    let ms = |k: &str| -> Result<u64, String> {
        let n = obj
            .get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("`{k}` must be epoch milliseconds"))?;
        if !(1_000_000_000_000..10_000_000_000_000).contains(&n) {
            return Err(format!("`{k}` = {n} is not in epoch milliseconds"));
        }
        Ok(n)
    };
    let (start, end) = (ms("start")?, ms("end")?);
    if start >= end {
        return Err("start must be before end".into());
    }
    let request_type = obj
        .get("requestType")
        .and_then(Value::as_str)
        .ok_or("requestType is missing")?;
    if !["raw", "time_series", "scalar", "trace"].contains(&request_type) {
        return Err(format!("invalid requestType {request_type}"));
    }
    let queries = req
        .pointer("/compositeQuery/queries")
        .and_then(Value::as_array)
        .filter(|q| !q.is_empty())
        .ok_or("compositeQuery.queries must be a non-empty array")?;
    let mut builder_names = BTreeSet::new();
    let mut signals = BTreeSet::new();
    let mut returned = Vec::new();
    let mut formulas = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        let spec = q
            .get("spec")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("query {i} has no spec"))?;
        let name = spec
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| format!("query {i} has no name"))?;
        let disabled = spec.get("disabled").and_then(Value::as_bool) == Some(true);
        match q.get("type").and_then(Value::as_str) {
            Some("builder_query") => {
                if !builder_names.insert(name.to_owned()) {
                    return Err(format!("duplicate query name '{name}'"));
                }
                let signal = spec
                    .get("signal")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("query '{name}' has no signal"))?;
                if !["logs", "traces", "metrics"].contains(&signal) {
                    return Err(format!("invalid signal type: {signal}"));
                }
                signals.insert(signal.to_owned());
                check_aggregations(name, signal, request_type, spec)?;
                if !disabled {
                    returned.push(name.to_owned());
                }
            }
            Some("builder_formula") => {
                let expression = spec
                    .get("expression")
                    .and_then(Value::as_str)
                    .filter(|e| !e.trim().is_empty())
                    .ok_or_else(|| format!("formula '{name}' has no expression"))?;
                formulas.push((name.to_owned(), expression.to_owned()));
                if !disabled {
                    returned.push(name.to_owned());
                }
            }
            other => return Err(format!("query {i}: unknown type {other:?}")),
        }
    }
    for (name, expression) in &formulas {
        for var in formula_vars(expression) {
            if !builder_names.contains(var) {
                return Err(format!("formula '{name}' refers to unknown query '{var}'"));
            }
        }
    }
    if signals.len() != 1 {
        return Err(format!(
            "the fake answers one signal per request, not {signals:?}"
        ));
    }
    let signal = signals.into_iter().next().unwrap_or_default();
    Ok(Checked {
        request_type: request_type.to_owned(),
        signal,
        returned,
    })
}

fn check_aggregations(
    name: &str,
    signal: &str,
    request_type: &str,
    spec: &Map<String, Value>,
) -> Result<(), String> {
    if request_type == "raw" || request_type == "trace" {
        if signal == "metrics" {
            return Err("raw requests are for logs and traces".into());
        }
        let limit = spec.get("limit").and_then(Value::as_u64).unwrap_or(0);
        if limit > 10_000 {
            return Err(format!("limit {limit} is over 10000"));
        }
        return Ok(());
    }
    let aggs = spec
        .get("aggregations")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or("at least one aggregation is required")?;
    for agg in aggs {
        if signal == "metrics" {
            if agg
                .get("metricName")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(format!("metric name is required for query '{name}'"));
            }
            let space = agg
                .get("spaceAggregation")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !SPACE.contains(&space) {
                return Err(format!(
                    "invalid space aggregation `{space}` in query '{name}'"
                ));
            }
            if let Some(time) = agg.get("timeAggregation").and_then(Value::as_str)
                && !time.is_empty()
                && !TIME.contains(&time)
            {
                return Err(format!(
                    "invalid time aggregation `{time}` in query '{name}'"
                ));
            }
        } else if agg
            .get("expression")
            .and_then(Value::as_str)
            .is_none_or(|e| e.trim().is_empty())
        {
            return Err(format!("expression is required for query '{name}'"));
        }
    }
    Ok(())
}

fn formula_vars(expression: &str) -> Vec<&str> {
    expression
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .filter(|t| {
            t.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        })
        .map(|t| t.split('.').next().unwrap_or(t))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Aggregating recorded spans.

/// A span row's fields, flattened: top-level scalars, then attribute and resource maps.
fn fields(row: &Value) -> Map<String, Value> {
    let data = row.get("data").unwrap_or(row);
    let mut out = Map::new();
    if let Some(obj) = data.as_object() {
        for (k, v) in obj {
            match v {
                Value::Object(m) => {
                    for (k2, v2) in m {
                        out.entry(k2.clone()).or_insert(v2.clone());
                    }
                }
                other => {
                    out.insert(k.clone(), other.clone());
                }
            }
        }
    }
    out
}

fn field<'a>(f: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    f.get(key)
        .or_else(|| f.get(&key.replace('.', "_")))
        .or_else(|| f.get(&key.replace('_', ".")))
}

fn row_ms(row: &Value) -> Option<i64> {
    let t = row.get("timestamp")?.as_str()?;
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.timestamp_millis())
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
}

struct Clause {
    key: String,
    op: String,
    value: Literal,
}

fn parse_literal(s: &str) -> Result<Literal, String> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Ok(Literal::Str(
            inner.replace("\\'", "'").replace("\\\\", "\\"),
        ));
    }
    match s {
        "true" => return Ok(Literal::Bool(true)),
        "false" => return Ok(Literal::Bool(false)),
        _ => {}
    }
    s.parse::<f64>()
        .map(Literal::Num)
        .map_err(|_| format!("cannot read value `{s}`"))
}

fn parse_filter(expression: &str) -> Result<Vec<Clause>, String> {
    let mut out = Vec::new();
    for part in expression.split(" AND ") {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let ops = [
            " REGEXP ",
            " CONTAINS ",
            " LIKE ",
            " >= ",
            " <= ",
            " != ",
            " = ",
            " > ",
            " < ",
        ];
        let Some((op, at)) = ops
            .iter()
            .filter_map(|op| part.find(op).map(|at| (*op, at)))
            .min_by_key(|(_, at)| *at)
        else {
            return Err(format!("the fake cannot read the filter clause `{part}`"));
        };
        out.push(Clause {
            key: part[..at].trim().to_owned(),
            op: op.trim().to_owned(),
            value: parse_literal(&part[at + op.len()..])?,
        });
    }
    Ok(out)
}

fn matches(f: &Map<String, Value>, clauses: &[Clause]) -> Result<bool, String> {
    for c in clauses {
        let Some(v) = field(f, &c.key) else {
            return Ok(false);
        };
        let ok = match (&c.value, c.op.as_str()) {
            (Literal::Str(s), "=") => v.as_str() == Some(s.as_str()),
            (Literal::Str(s), "!=") => v.as_str() != Some(s.as_str()),
            (Literal::Str(s), "CONTAINS") => v.as_str().is_some_and(|x| x.contains(s.as_str())),
            (Literal::Str(s), "LIKE") => {
                let re = format!("^{}$", regex::escape(s).replace('%', ".*"));
                regex::Regex::new(&re)
                    .map_err(|e| e.to_string())?
                    .is_match(v.as_str().unwrap_or(""))
            }
            (Literal::Str(s), "REGEXP") => regex::Regex::new(s)
                .map_err(|e| format!("bad REGEXP `{s}`: {e}"))?
                .is_match(v.as_str().unwrap_or("")),
            (Literal::Bool(b), "=") => v.as_bool() == Some(*b),
            (Literal::Bool(b), "!=") => v.as_bool() != Some(*b),
            (Literal::Num(n), op) => {
                let x = v
                    .as_f64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()));
                match (x, op) {
                    (Some(x), "=") => x == *n,
                    (Some(x), "!=") => x != *n,
                    (Some(x), ">") => x > *n,
                    (Some(x), ">=") => x >= *n,
                    (Some(x), "<") => x < *n,
                    (Some(x), "<=") => x <= *n,
                    _ => false,
                }
            }
            (lit, op) => return Err(format!("the fake cannot apply `{op}` to {lit:?}")),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A series' labels and a bucket's start (ms).
type Key = (Vec<(String, String)>, i64);
/// `(labels, bucket ms) → value` for one query.
type Points = BTreeMap<Key, f64>;

fn aggregate(values: &[f64], expression: &str, step_secs: f64) -> Result<f64, String> {
    let e = expression.trim();
    let (func, arg) = e
        .strip_suffix(')')
        .and_then(|e| e.split_once('('))
        .ok_or_else(|| format!("cannot read aggregation `{e}`"))?;
    let _ = arg;
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    Ok(match func {
        "count" => n,
        "rate" => n / step_secs,
        "sum" => sorted.iter().sum(),
        "avg" => sorted.iter().sum::<f64>() / n,
        "min" => sorted.first().copied().unwrap_or(0.0),
        "max" => sorted.last().copied().unwrap_or(0.0),
        p if p.starts_with('p') => {
            let q: f64 = p[1..]
                .parse::<f64>()
                .map_err(|_| format!("unknown aggregation `{func}`"))?
                / 100.0;
            let rank = ((q * n).ceil() as usize).clamp(1, sorted.len());
            sorted[rank - 1]
        }
        other => return Err(format!("the fake does not compute `{other}()`")),
    })
}

fn aggregation_field(expression: &str) -> Option<String> {
    let inner = expression
        .trim()
        .strip_suffix(')')?
        .split_once('(')?
        .1
        .trim();
    (!inner.is_empty()).then(|| inner.to_owned())
}

fn aggregate_spans(rows: &[Value], req: &Value) -> Result<Vec<Value>, String> {
    let queries = req
        .pointer("/compositeQuery/queries")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut computed: BTreeMap<String, Points> = BTreeMap::new();
    let mut results = Vec::new();
    for q in &queries {
        let spec = &q["spec"];
        let name = spec["name"].as_str().unwrap_or_default().to_owned();
        let disabled = spec["disabled"].as_bool() == Some(true);
        let points = match q["type"].as_str() {
            Some("builder_query") => {
                let expression = spec["aggregations"][0]["expression"]
                    .as_str()
                    .unwrap_or_default();
                let step = spec["stepInterval"].as_f64().unwrap_or(60.0).max(1.0);
                let clauses = parse_filter(spec["filter"]["expression"].as_str().unwrap_or(""))?;
                let group_by: Vec<String> = spec["groupBy"]
                    .as_array()
                    .map(|g| {
                        g.iter()
                            .filter_map(|k| k["name"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let value_field = aggregation_field(expression);
                let mut buckets: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
                for row in rows {
                    let f = fields(row);
                    if !matches(&f, &clauses)? {
                        continue;
                    }
                    let Some(ms) = row_ms(row) else { continue };
                    let step_ms = (step * 1000.0) as i64;
                    let bucket = ms - ms.rem_euclid(step_ms);
                    let labels: Vec<(String, String)> = group_by
                        .iter()
                        .map(|g| {
                            let v = field(&f, g)
                                .map(|v| v.as_str().map(str::to_owned).unwrap_or(v.to_string()))
                                .unwrap_or_default();
                            (g.clone(), v)
                        })
                        .collect();
                    let value = match &value_field {
                        Some(fld) => match field(&f, fld).and_then(Value::as_f64) {
                            Some(v) => v,
                            None => continue,
                        },
                        None => 1.0,
                    };
                    buckets.entry((labels, bucket)).or_default().push(value);
                }
                let mut points = Points::new();
                for (k, values) in buckets {
                    points.insert(k, aggregate(&values, expression, step)?);
                }
                points
            }
            Some("builder_formula") => {
                evaluate_formula(spec["expression"].as_str().unwrap_or(""), &computed)?
            }
            _ => Points::new(),
        };
        if !disabled {
            results.push(series_result(&name, &points));
        }
        computed.insert(name, points);
    }
    Ok(results)
}

fn evaluate_formula(
    expression: &str,
    computed: &BTreeMap<String, Points>,
) -> Result<Points, String> {
    let tokens: Vec<&str> = expression.split_whitespace().collect();
    let [a, op, b] = tokens.as_slice() else {
        return Err(format!(
            "the fake evaluates formulas of the form `A op B`, not `{expression}`"
        ));
    };
    let operand = |t: &str| -> Result<Result<&Points, f64>, String> {
        match t.parse::<f64>() {
            Ok(n) => Ok(Err(n)),
            Err(_) => computed
                .get(t)
                .map(Ok)
                .ok_or_else(|| format!("unknown query `{t}` in formula")),
        }
    };
    let (a, b) = (operand(a)?, operand(b)?);
    let mut keys: BTreeSet<Key> = BTreeSet::new();
    for points in [&a, &b].into_iter().flatten() {
        keys.extend(points.keys().cloned());
    }
    let value = |side: &Result<&Points, f64>, k: &Key| match side {
        Ok(points) => points.get(k).copied().unwrap_or(0.0),
        Err(n) => *n,
    };
    let mut out = Points::new();
    for k in keys {
        let (x, y) = (value(&a, &k), value(&b, &k));
        let v = match *op {
            "+" => x + y,
            "-" => x - y,
            "*" => x * y,
            "/" => x / y,
            other => return Err(format!("unknown operator `{other}`")),
        };
        if v.is_finite() {
            out.insert(k, v);
        }
    }
    Ok(out)
}

fn series_result(name: &str, points: &Points) -> Value {
    let mut by_labels: BTreeMap<&Vec<(String, String)>, Vec<Value>> = BTreeMap::new();
    for ((labels, ts), v) in points {
        by_labels
            .entry(labels)
            .or_default()
            .push(json!({"timestamp": ts, "value": v}));
    }
    let series: Vec<Value> = by_labels
        .into_iter()
        .map(|(labels, values)| {
            json!({
                "labels": labels.iter().map(|(k, v)| json!({"key": {"name": k}, "value": v})).collect::<Vec<_>>(),
                "values": values,
            })
        })
        .collect();
    json!({"queryName": name, "aggregations": [{"index": 0, "alias": "", "series": series}]})
}
