//! A local fake of an OpenAI-compatible chat-completions server (and of Azure OpenAI) for
//! sre-agent's tests and benches.
//!
//! It listens on `127.0.0.1` with an ephemeral port and speaks the wire shape:
//!
//! * OpenAI-style: `POST /v1/chat/completions` with `Authorization: Bearer <key>` (401 without
//!   it or with another key).
//! * Azure-style ([`FakeLlm::start_azure`]): `POST /openai/deployments/{deployment}/chat/completions?api-version=…`
//!   with an `api-key` header; a wrong deployment is 404, a wrong or missing `api-version` 400,
//!   a wrong key 401.
//!
//! It checks the body as the real service does (a `model` for OpenAI, non-empty `messages`,
//! every `tool` message answering a `tool_call_id` an earlier assistant message asked for;
//! 400 with an OpenAI error body otherwise), records every request (path, query, headers, raw
//! body, how long it took to answer) and answers from a script, one [`Reply`] per request, then
//! from the responder (default: 500). Replies can be a chat completion with text or tool calls, an
//! error status with `Retry-After`, a delay, or no answer at all.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this chat-completion body.
    Completion(Value),
    /// An error status, with an optional `Retry-After` header and an OpenAI error body.
    Status {
        status: u16,
        retry_after: Option<String>,
        message: String,
    },
    /// Wait, then answer.
    Delayed(Duration, Box<Reply>),
    /// Read the request and never answer.
    Hang,
}

pub type Responder = Box<dyn Fn(&Value) -> Reply + Send + Sync>;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Header names lower-cased.
    pub headers: BTreeMap<String, String>,
    pub raw: String,
    pub body: Value,
    /// Status answered (0 while hanging).
    pub status: u16,
    /// From receipt to the answer (the scripted delay included).
    pub answered_in: Duration,
}

impl Recorded {
    /// The text of every message of the request.
    pub fn message_texts(&self) -> Vec<String> {
        self.body["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| match &m["content"] {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn roles(&self) -> Vec<String> {
        self.body["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| m["role"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn tool_names(&self) -> Vec<String> {
        self.body["tools"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t["function"]["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Clone)]
enum Shape {
    OpenAi {
        key: String,
    },
    Azure {
        deployment: String,
        api_version: String,
        key: String,
    },
}

struct Inner {
    shape: Shape,
    script: Mutex<VecDeque<Reply>>,
    responder: Mutex<Option<Responder>>,
    requests: Mutex<Vec<Recorded>>,
}

pub struct FakeLlm {
    addr: SocketAddr,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The key the OpenAI-style fake expects.
pub const KEY: &str = "sk-fake-test-key-0123456789";
/// The model name the tests configure.
pub const MODEL: &str = "test-model";

impl FakeLlm {
    /// An OpenAI-compatible server expecting `Authorization: Bearer KEY`.
    pub async fn start(script: Vec<Reply>) -> FakeLlm {
        Self::spawn(
            Shape::OpenAi {
                key: KEY.to_string(),
            },
            script,
        )
        .await
    }

    /// An Azure OpenAI server for one deployment and api-version.
    pub async fn start_azure(
        deployment: &str,
        api_version: &str,
        key: &str,
        script: Vec<Reply>,
    ) -> FakeLlm {
        Self::spawn(
            Shape::Azure {
                deployment: deployment.to_string(),
                api_version: api_version.to_string(),
                key: key.to_string(),
            },
            script,
        )
        .await
    }

    async fn spawn(shape: Shape, script: Vec<Reply>) -> FakeLlm {
        let inner = Arc::new(Inner {
            shape,
            script: Mutex::new(script.into()),
            responder: Mutex::new(None),
            requests: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .fallback(any(handle))
            .with_state(inner.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeLlm { addr, inner, task }
    }

    /// What answers once the script is used up.
    pub fn set_responder(&self, f: impl Fn(&Value) -> Reply + Send + Sync + 'static) {
        *self.inner.responder.lock().expect("lock") = Some(Box::new(f));
    }

    /// `http://127.0.0.1:PORT/v1` (OPENAI_BASE_URL).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:PORT` (AZURE_OPENAI_ENDPOINT).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.requests.lock().expect("lock").clone()
    }

    /// The environment for the OpenAI-style fake.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("OPENAI_API_KEY".into(), KEY.into()),
            ("OPENAI_BASE_URL".into(), self.base_url()),
            ("OPENAI_MODEL".into(), MODEL.into()),
        ]
    }
}

fn error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [("content-type", "application/json")],
        json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
            .to_string(),
    )
        .into_response()
}

/// What the real service refuses before any model runs.
fn check(
    inner: &Inner,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Value,
) -> Option<Response> {
    if method != Method::POST {
        return Some(error(405, "method not allowed"));
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    match &inner.shape {
        Shape::OpenAi { key } => {
            if uri.path() != "/v1/chat/completions" {
                return Some(error(404, &format!("no route {}", uri.path())));
            }
            if header("authorization") != Some(format!("Bearer {key}")) {
                return Some(error(401, "Incorrect API key provided"));
            }
            if body["model"].as_str().is_none_or(str::is_empty) {
                return Some(error(400, "you must provide a model parameter"));
            }
        }
        Shape::Azure {
            deployment,
            api_version,
            key,
        } => {
            if uri.path() != format!("/openai/deployments/{deployment}/chat/completions") {
                return Some(error(
                    404,
                    "The API deployment for this resource does not exist.",
                ));
            }
            let version = uri.query().and_then(|q| {
                q.split('&')
                    .find_map(|kv| kv.strip_prefix("api-version="))
                    .map(str::to_string)
            });
            if version.as_deref() != Some(api_version.as_str()) {
                return Some(error(400, "Unsupported or missing api-version"));
            }
            if header("api-key").as_deref() != Some(key.as_str())
                || header("authorization").is_some()
            {
                return Some(error(401, "Access denied due to invalid subscription key."));
            }
        }
    }
    let Some(messages) = body["messages"].as_array().filter(|m| !m.is_empty()) else {
        return Some(error(400, "messages must be a non-empty array"));
    };
    let mut asked: Vec<String> = Vec::new();
    for m in messages {
        match m["role"].as_str() {
            Some("assistant") => {
                for c in m["tool_calls"].as_array().into_iter().flatten() {
                    if let Some(id) = c["id"].as_str() {
                        asked.push(id.to_string());
                    }
                }
            }
            Some("tool") => {
                let id = m["tool_call_id"].as_str().unwrap_or("");
                if !asked.iter().any(|a| a == id) {
                    return Some(error(
                        400,
                        "messages with role 'tool' must be a response to a preceeding message with 'tool_calls'",
                    ));
                }
            }
            Some("system" | "user" | "developer") => {}
            _ => return Some(error(400, "invalid role")),
        }
    }
    None
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let raw = String::from_utf8_lossy(&body).into_owned();
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let index = {
        let mut reqs = inner.requests.lock().expect("lock");
        reqs.push(Recorded {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().map(str::to_string),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_ascii_lowercase(),
                        v.to_str().unwrap_or("").to_string(),
                    )
                })
                .collect(),
            raw: raw.clone(),
            body: parsed.clone(),
            status: 0,
            answered_in: Duration::ZERO,
        });
        reqs.len() - 1
    };
    let response = match check(&inner, &method, &uri, &headers, &parsed) {
        Some(refused) => refused,
        None => {
            let scripted = inner.script.lock().expect("lock").pop_front();
            let reply = match scripted {
                Some(r) => r,
                None => match &*inner.responder.lock().expect("lock") {
                    Some(f) => f(&parsed),
                    None => Reply::Status {
                        status: 500,
                        retry_after: None,
                        message: "script exhausted".into(),
                    },
                },
            };
            answer(reply, &parsed, raw.len()).await
        }
    };
    let mut reqs = inner.requests.lock().expect("lock");
    if let Some(r) = reqs.get_mut(index) {
        r.status = response.status().as_u16();
        r.answered_in = started.elapsed();
    }
    response
}

async fn answer(reply: Reply, request: &Value, request_bytes: usize) -> Response {
    let mut reply = reply;
    loop {
        match reply {
            Reply::Delayed(d, next) => {
                tokio::time::sleep(d).await;
                reply = *next;
            }
            Reply::Hang => {
                std::future::pending::<()>().await;
                unreachable!()
            }
            Reply::Status {
                status,
                retry_after,
                message,
            } => {
                let mut r = error(status, &message);
                if let Some(v) = retry_after {
                    r.headers_mut()
                        .insert("retry-after", v.parse().expect("header value"));
                }
                return r;
            }
            Reply::Completion(mut body) => {
                // Usage as the service reports it: about four bytes a token.
                if body.get("usage").is_none() {
                    let out = body.to_string().len() / 4;
                    body["usage"] = json!({"prompt_tokens": request_bytes / 4, "completion_tokens": out,
                        "total_tokens": request_bytes / 4 + out});
                }
                if body.get("model").is_none() {
                    body["model"] = request["model"].clone();
                }
                return (
                    StatusCode::OK,
                    [("content-type", "application/json")],
                    body.to_string(),
                )
                    .into_response();
            }
        }
    }
}

/// A chat completion answering `content`.
pub fn text(content: &str) -> Reply {
    Reply::Completion(json!({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_790_000_000u32,
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": content, "refusal": null}}]
    }))
}

/// A chat completion that calls tools: `(name, arguments)`.
pub fn tool_calls(calls: &[(&str, Value)]) -> Reply {
    let calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (name, args))| {
            json!({"id": format!("call_{i}_{name}"), "type": "function",
                   "function": {"name": name, "arguments": args.to_string()}})
        })
        .collect();
    Reply::Completion(json!({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_790_000_000u32,
        "choices": [{"index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": null, "tool_calls": calls}}]
    }))
}

/// A refusal.
pub fn refusal(why: &str) -> Reply {
    Reply::Completion(json!({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_790_000_000u32,
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": null, "refusal": why}}]
    }))
}

pub fn status(status: u16, retry_after: Option<&str>) -> Reply {
    Reply::Status {
        status,
        retry_after: retry_after.map(str::to_string),
        message: format!("fake status {status}"),
    }
}

/// An RCA answer as the schema asks.
pub fn rca_json(
    summary: &str,
    root_cause: &str,
    evidence_for: &[&str],
    command: &str,
    confidence: f64,
) -> String {
    json!({
        "summary": summary,
        "root_cause": root_cause,
        "hypotheses": [{"cause": root_cause, "evidence_for": evidence_for, "evidence_against": [], "likelihood": "high"}],
        "timeline": [],
        "actions": [{"title": "Act", "command": command}],
        "prevention": ["Alert earlier"],
        "metrics": [],
        "missing_evidence": [],
        "confidence": confidence
    })
    .to_string()
}

/// A closed port on 127.0.0.1 (a dead endpoint).
pub async fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}/v1")
}

/// The offline second opinion the request carries (`<<<DATA offline-analysis>>>`): its root
/// cause, confidence and first hypothesis's evidence.
pub fn offline_opinion(request: &Value) -> Option<(String, f64, Vec<String>)> {
    let messages = request["messages"].as_array()?;
    let block = messages.iter().find_map(|m| {
        let text = m["content"].as_str()?;
        let start =
            text.find("<<<DATA offline-analysis>>>\n")? + "<<<DATA offline-analysis>>>\n".len();
        let end = text[start..].find("\n<<<END offline-analysis>>>")? + start;
        Some(text[start..end].to_string())
    })?;
    let mut lines = block.lines();
    let first = lines.next()?.strip_prefix("root cause (confidence ")?;
    let (confidence, root) = first.split_once("): ")?;
    let evidence = lines
        .next()
        .and_then(|l| l.split_once("; for: "))
        .map(|(_, f)| {
            f.split("; against: ")
                .next()
                .unwrap_or("")
                .split("; ")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Some((
        root.to_string(),
        confidence.parse().unwrap_or(0.5),
        evidence,
    ))
}

/// A model that agrees with the offline analyzer: its answer restates the second opinion
/// (for evals and benches over every scenario).
pub fn echo_offline(request: &Value) -> Reply {
    let Some((root, confidence, evidence)) = offline_opinion(request) else {
        return text("no second opinion in the request");
    };
    let evidence: Vec<&str> = evidence.iter().map(String::as_str).collect();
    text(&rca_json(&root, &root, &evidence, "", confidence))
}
