//! A faithful local fake of Slack for sre-agent's integration tests.
//!
//! It speaks the real wire protocols on `127.0.0.1` with ephemeral ports, so the
//! bot under test (and slack-morphism underneath it) cannot tell it from Slack:
//!
//! * **Web API** (axum, HTTP/1.1) under [`FakeSlack::api_url`]:
//!   `apps.connections.open`, `auth.test`, `chat.postMessage`, `chat.update`,
//!   `chat.delete`, `chat.postEphemeral`, `chat.getPermalink`,
//!   `conversations.replies`, `conversations.history`, `conversations.info`,
//!   `reactions.add`. Parameters are read uniformly from the query string, a
//!   form-urlencoded body or a JSON body; tokens come from
//!   `Authorization: Bearer …` (or a `token` parameter). Answers use Slack's
//!   shapes and error codes (`invalid_auth`, `not_authed`,
//!   `not_allowed_token_type`, `invalid_blocks`, `message_not_found`,
//!   `unknown_method`, HTTP 429 + `Retry-After` + `ratelimited`, …).
//! * **Socket Mode** (tokio-tungstenite): `apps.connections.open` hands out a
//!   single-use `ws://127.0.0.1:PORT/link/?ticket=…` URL; each socket gets a
//!   `hello`, then envelopes (`events_api`, `slash_commands`, `interactive`),
//!   delivered round-robin to exactly one open connection (never broadcast), or
//!   queued while none is open. Acks are read and recorded with timestamps.
//!   Unacked `events_api` envelopes are redelivered after
//!   [`FakeConfig::redeliver_after`] with a new `envelope_id`, the same
//!   `event_id`, `retry_attempt`+1 and `retry_reason:"timeout"`, up to
//!   [`FakeConfig::max_retries`] times. `disconnect` frames and abrupt socket
//!   drops can be injected.
//! * **response_url** endpoints for slash commands and interactions, recorded.
//!
//! Everything the client does is recorded (calls per method, posted and
//! rejected messages, acks with latency, deliveries, response_url posts) and the
//! `wait_*` helpers let tests await conditions without sleeping. Messages live in
//! a per-channel store, so `conversations.replies`/`history` reflect what the
//! bot posted and updated, plus anything seeded or sent as events.
//!
//! Data received from the client is never `unwrap()`ed: malformed frames and
//! bodies are logged to stderr (prefix `[fake-slack]`) and ignored or answered
//! with Slack's error.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures::{SinkExt, StreamExt};
use serde_json::{Map, Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request as WsRequest, Response as WsResponse,
};

fn log(msg: impl Display) {
    eprintln!("[fake-slack] {msg}");
}

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// Knobs for the fake. `FakeConfig::default()` is what [`FakeSlack::start`] uses.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// App-level token (`xapp-…`) accepted by `apps.connections.open` only.
    pub app_token: String,
    /// Bot token (`xoxb-…`) accepted by every other Web API method.
    pub bot_token: String,
    /// The bot's user id (`auth.test` `user_id`; `user` of messages it posts).
    pub bot_user_id: String,
    /// The bot's bot id (`auth.test` `bot_id`; `bot_id` of messages it posts).
    pub bot_id: String,
    /// The bot's display name (`auth.test` `user`, `bot_profile.name`).
    pub bot_name: String,
    pub app_id: String,
    pub team_id: String,
    pub team_name: String,
    /// Workspace domain: permalinks are `https://<domain>.slack.com/archives/…`.
    pub team_domain: String,
    /// How long an `events_api` envelope may stay unacked before redelivery.
    pub redeliver_after: Duration,
    /// Maximum number of redeliveries per event (Slack: 3).
    pub max_retries: u32,
    /// Delay between the `disconnect` frame and the socket close.
    pub disconnect_close_delay: Duration,
    /// Concurrent sockets allowed; one more gets `too_many_websockets` (Slack: 10).
    pub max_connections: usize,
    /// Reject WebSocket handshakes without a fresh ticket from `apps.connections.open`.
    pub require_ticket: bool,
    /// Like real Slack, send the bot a `message` event for each message it posts
    /// (and `message_changed` for each update) over Socket Mode. Off by default.
    pub echo_own_messages: bool,
    /// Channel names for `conversations.info`; unknown ids get `channel-<id>`.
    pub channel_names: HashMap<String, String>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            app_token: "xapp-1-A0FAKE-1-fakeapptoken0000".to_string(),
            bot_token: "xoxb-0000000000-1111111111-fakebottoken0000".to_string(),
            bot_user_id: "U0FAKEBOT".to_string(),
            bot_id: "B0FAKEBOT".to_string(),
            bot_name: "sre-agent".to_string(),
            app_id: "A0FAKE".to_string(),
            team_id: "T0FAKE".to_string(),
            team_name: "Fake Team".to_string(),
            team_domain: "fake".to_string(),
            redeliver_after: Duration::from_secs(3),
            max_retries: 3,
            disconnect_close_delay: Duration::from_millis(200),
            max_connections: 10,
            require_ticket: true,
            echo_own_messages: false,
            channel_names: HashMap::new(),
        }
    }
}

/// One ack frame read from a client socket.
#[derive(Clone, Debug)]
pub struct Ack {
    pub envelope_id: String,
    /// The ack's `payload`, if it had one (slash command / interaction responses).
    pub payload: Option<Value>,
    /// When the ack frame was read.
    pub received_at: Instant,
    /// When the acked envelope's frame was written (None: unknown envelope id).
    pub sent_at: Option<Instant>,
    /// `received_at - sent_at`.
    pub latency: Option<Duration>,
    /// Id of the socket the ack came in on.
    pub connection: u64,
}

/// One envelope frame written to a client socket.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub envelope_id: Option<String>,
    pub envelope: Value,
    pub connection: u64,
    pub written_at: Instant,
}

/// One `chat.postMessage` / `chat.update` / `chat.postEphemeral` call, as sent.
#[derive(Clone, Debug)]
pub struct PostedMessage {
    /// `chat.postMessage`, `chat.update` or `chat.postEphemeral`.
    pub method: String,
    pub channel: String,
    /// ts of the message created (postMessage/postEphemeral) or updated (update);
    /// empty for rejected calls that never got one.
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: Option<String>,
    /// `blocks` as sent (parsed if it came as a JSON string); `Null` if absent.
    pub blocks: Value,
    /// `attachments` as sent; `Null` if absent.
    pub attachments: Value,
    /// Ephemeral target user (chat.postEphemeral only).
    pub user: Option<String>,
    /// Slack error code for rejected calls (only in [`FakeSlack::rejected`]).
    pub error: Option<String>,
    /// All request parameters, merged from query/form/JSON.
    pub params: Value,
    pub time: Instant,
}

/// A message as currently stored by the fake (after updates).
#[derive(Clone, Debug)]
pub struct StoredMessage {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub user: Option<String>,
    pub bot_id: Option<String>,
    pub text: Option<String>,
    /// `Null` if the message has no blocks.
    pub blocks: Value,
    pub edited: bool,
    /// The full message JSON as `conversations.*` would return it.
    pub raw: Value,
}

impl StoredMessage {
    fn from_raw(channel: &str, raw: &Value) -> StoredMessage {
        let s = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_string);
        StoredMessage {
            channel: channel.to_string(),
            ts: s("ts").unwrap_or_default(),
            thread_ts: s("thread_ts"),
            user: s("user"),
            bot_id: s("bot_id"),
            text: s("text"),
            blocks: raw.get("blocks").cloned().unwrap_or(Value::Null),
            edited: raw.get("edited").is_some(),
            raw: raw.clone(),
        }
    }
}

// ---------------------------------------------------------------------------
// Internal state
// ---------------------------------------------------------------------------

enum ConnCmd {
    Send(Value),
    Disconnect {
        frame: String,
        close_after: Duration,
    },
    Drop,
}

struct Conn {
    id: u64,
    tx: mpsc::UnboundedSender<ConnCmd>,
    draining: bool,
}

struct SentInfo {
    /// Redelivery chain (events_api sent through send_event only).
    chain: Option<u64>,
    written_at: Option<Instant>,
}

struct ResponseUrlInfo {
    uses: usize,
}

/// Sort key of a Slack ts: (seconds, micros, original string).
type TsKey = (u64, u64, String);

fn ts_key(ts: &str) -> TsKey {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, ""));
    let secs = secs.parse::<u64>().unwrap_or(0);
    let mut f: String = frac.chars().take(6).collect();
    while f.len() < 6 {
        f.push('0');
    }
    let micros = f.parse::<u64>().unwrap_or(0);
    (secs, micros, ts.to_string())
}

#[derive(Default)]
struct St {
    conns: Vec<Conn>,
    next_conn_id: u64,
    total_connections: usize,
    rr: usize,
    pending: VecDeque<Value>,
    sent: HashMap<String, SentInfo>,
    acked_chains: HashSet<u64>,
    next_chain: u64,
    deliveries: Vec<Delivery>,
    acks: Vec<Ack>,
    channels: HashMap<String, BTreeMap<TsKey, Value>>,
    posted: Vec<PostedMessage>,
    rejected: Vec<PostedMessage>,
    ephemerals: Vec<PostedMessage>,
    rate_limits: HashMap<String, (usize, u64)>,
    failures: HashMap<String, VecDeque<String>>,
    calls: HashMap<String, usize>,
    response_urls: HashMap<String, ResponseUrlInfo>,
    response_url_posts: Vec<Value>,
    tickets: HashSet<String>,
    last_ts_micros: u128,
    faults: Faults,
    faults_injected: HashMap<&'static str, usize>,
}

/// Random Web API faults (chaos tests): each bot-token call answers 429 with `Retry-After`
/// with probability `rate_limited`, else HTTP 500 with probability `server_error`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    pub rate_limited: f64,
    pub server_error: f64,
    pub retry_after_secs: u64,
}

struct Inner {
    cfg: FakeConfig,
    http_addr: SocketAddr,
    ws_addr: SocketAddr,
    st: Mutex<St>,
    notify: Notify,
    rng: AtomicU64,
    started: Instant,
}

fn now_unix() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

const KNOWN_METHODS: &[&str] = &[
    "apps.connections.open",
    "auth.test",
    "chat.postMessage",
    "chat.update",
    "chat.delete",
    "chat.postEphemeral",
    "chat.getPermalink",
    "conversations.replies",
    "conversations.history",
    "conversations.info",
    "reactions.add",
    "users.conversations",
];

/// Reply of one Web API call.
struct ApiReply {
    status: StatusCode,
    retry_after: Option<u64>,
    body: Value,
}

fn err(code: &str) -> Value {
    json!({"ok": false, "error": code})
}

fn p_str(p: &Map<String, Value>, k: &str) -> Option<String> {
    match p.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

fn p_nonempty(p: &Map<String, Value>, k: &str) -> Option<String> {
    p_str(p, k).filter(|s| !s.is_empty())
}

fn p_bool(p: &Map<String, Value>, k: &str) -> bool {
    match p.get(k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        _ => false,
    }
}

fn p_u64(p: &Map<String, Value>, k: &str) -> Option<u64> {
    match p.get(k) {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
}

/// A JSON-valued parameter (`blocks`, `attachments`): an array/object in JSON
/// bodies, or a JSON string in form/query parameters. Err on unparsable strings.
fn p_json(p: &Map<String, Value>, k: &str) -> Result<Option<Value>, ()> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s).map(Some).map_err(|_| ()),
        Some(v) => Ok(Some(v.clone())),
    }
}

/// Decodes `application/x-www-form-urlencoded` (also used for query strings).
fn parse_form(s: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    s.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn text_len(v: &Value) -> usize {
    v.get("text")
        .and_then(Value::as_str)
        .map(|s| s.chars().count())
        .unwrap_or(0)
}

/// Block Kit validation, with the limits Slack enforces for messages.
/// Returns Slack's error detail (reported in the `errors` array) on failure.
fn validate_blocks(blocks: &Value) -> Result<(), String> {
    let Some(arr) = blocks.as_array() else {
        return Err("blocks must be an array".into());
    };
    if arr.len() > 50 {
        return Err(format!(
            "no more than 50 items allowed [json-pointer:/blocks] (got {})",
            arr.len()
        ));
    }
    let mut ids = HashSet::new();
    let button_ok = |el: &Value, at: &str| -> Result<(), String> {
        if el.get("type").and_then(Value::as_str) == Some("button") {
            let t = el.get("text").map(text_len).unwrap_or(0);
            if t == 0 || t > 75 {
                return Err(format!(
                    "button text must be 1..=75 characters [json-pointer:{at}/text]"
                ));
            }
            if let Some(a) = el.get("action_id").and_then(Value::as_str)
                && a.chars().count() > 255
            {
                return Err(format!("action_id too long [json-pointer:{at}/action_id]"));
            }
        }
        Ok(())
    };
    for (i, b) in arr.iter().enumerate() {
        let at = format!("/blocks/{i}");
        let Some(obj) = b.as_object() else {
            return Err(format!("block must be an object [json-pointer:{at}]"));
        };
        if let Some(id) = obj.get("block_id") {
            let Some(id) = id.as_str() else {
                return Err(format!(
                    "block_id must be a string [json-pointer:{at}/block_id]"
                ));
            };
            if id.is_empty() || id.chars().count() > 255 {
                return Err(format!("invalid block_id [json-pointer:{at}/block_id]"));
            }
            if !ids.insert(id.to_string()) {
                return Err(format!("duplicate block_id [json-pointer:{at}/block_id]"));
            }
        }
        let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
        match ty {
            "header" => {
                let Some(t) = obj.get("text") else {
                    return Err(format!("missing required field: text [json-pointer:{at}]"));
                };
                if t.get("type").and_then(Value::as_str) != Some("plain_text") {
                    return Err(format!("must be plain_text [json-pointer:{at}/text/type]"));
                }
                let n = text_len(t);
                if n == 0 || n > 150 {
                    return Err(format!(
                        "must be less than 151 characters [json-pointer:{at}/text]"
                    ));
                }
            }
            "section" => {
                let text = obj.get("text");
                let fields = obj.get("fields");
                if text.is_none() && fields.is_none() {
                    return Err(format!("must provide text or fields [json-pointer:{at}]"));
                }
                if let Some(t) = text {
                    let tt = t.get("type").and_then(Value::as_str);
                    if tt != Some("mrkdwn") && tt != Some("plain_text") {
                        return Err(format!("invalid text type [json-pointer:{at}/text/type]"));
                    }
                    let n = text_len(t);
                    if n == 0 || n > 3000 {
                        return Err(format!(
                            "must be less than 3001 characters [json-pointer:{at}/text]"
                        ));
                    }
                }
                if let Some(f) = fields {
                    let Some(f) = f.as_array() else {
                        return Err(format!(
                            "fields must be an array [json-pointer:{at}/fields]"
                        ));
                    };
                    if f.len() > 10 {
                        return Err(format!(
                            "no more than 10 items allowed [json-pointer:{at}/fields]"
                        ));
                    }
                    for (j, x) in f.iter().enumerate() {
                        if text_len(x) > 2000 {
                            return Err(format!(
                                "must be less than 2001 characters [json-pointer:{at}/fields/{j}]"
                            ));
                        }
                    }
                }
                if let Some(acc) = obj.get("accessory") {
                    button_ok(acc, &format!("{at}/accessory"))?;
                }
            }
            "context" => {
                let n = obj
                    .get("elements")
                    .and_then(Value::as_array)
                    .map(Vec::len)
                    .unwrap_or(0);
                if n == 0 || n > 10 {
                    return Err(format!(
                        "elements must have 1..=10 items [json-pointer:{at}/elements]"
                    ));
                }
            }
            "actions" => {
                let Some(els) = obj.get("elements").and_then(Value::as_array) else {
                    return Err(format!("missing elements [json-pointer:{at}/elements]"));
                };
                if els.is_empty() || els.len() > 25 {
                    return Err(format!(
                        "elements must have 1..=25 items [json-pointer:{at}/elements]"
                    ));
                }
                for (j, el) in els.iter().enumerate() {
                    button_ok(el, &format!("{at}/elements/{j}"))?;
                }
            }
            "markdown" => {
                let n = text_len(b);
                if n == 0 || n > 12000 {
                    return Err(format!(
                        "must be less than 12001 characters [json-pointer:{at}/text]"
                    ));
                }
            }
            "image" => {
                if obj.get("image_url").is_none() && obj.get("slack_file").is_none() {
                    return Err(format!("missing image_url [json-pointer:{at}]"));
                }
                if obj.get("alt_text").and_then(Value::as_str).is_none() {
                    return Err(format!("missing alt_text [json-pointer:{at}]"));
                }
            }
            "divider" | "rich_text" | "input" | "file" | "video" | "call" | "table" => {}
            other => {
                return Err(format!(
                    "unsupported type: {other:?} [json-pointer:{at}/type]"
                ));
            }
        }
    }
    Ok(())
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, St> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn changed(&self) {
        self.notify.notify_waiters();
    }

    fn rand(&self) -> u64 {
        // splitmix64
        let mut z = self
            .rng
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn new_envelope_id(&self) -> String {
        let a = self.rand();
        let b = self.rand();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48 & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    fn new_alnum(&self, n: usize) -> String {
        const CH: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        (0..n)
            .map(|_| CH[(self.rand() % CH.len() as u64) as usize] as char)
            .collect()
    }

    fn new_event_id(&self) -> String {
        format!("Ev{}", self.new_alnum(10))
    }

    fn new_trigger_id(&self) -> String {
        format!(
            "{}.{}.{:032x}",
            self.rand() % 10_000_000_000,
            now_unix().as_secs(),
            (u128::from(self.rand()) << 64) | u128::from(self.rand())
        )
    }

    fn next_ts(&self, st: &mut St) -> String {
        let now = now_unix().as_micros();
        let v = now.max(st.last_ts_micros + 1);
        st.last_ts_micros = v;
        format!("{}.{:06}", v / 1_000_000, v % 1_000_000)
    }

    fn see_ts(st: &mut St, ts: &str) {
        let (s, m, _) = ts_key(ts);
        let v = u128::from(s) * 1_000_000 + u128::from(m);
        if v > st.last_ts_micros {
            st.last_ts_micros = v;
        }
    }

    // ----- Socket Mode delivery ------------------------------------------

    /// Sends `env` to one open (non-draining) connection, round-robin; queues it
    /// when none is open.
    fn deliver(&self, st: &mut St, env: Value) {
        let mut env = env;
        loop {
            let active: Vec<usize> = st
                .conns
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.draining)
                .map(|(i, _)| i)
                .collect();
            if active.is_empty() {
                st.pending.push_back(env);
                return;
            }
            let idx = active[st.rr % active.len()];
            st.rr = st.rr.wrapping_add(1);
            match st.conns[idx].tx.send(ConnCmd::Send(env)) {
                Ok(()) => return,
                Err(mpsc::error::SendError(cmd)) => {
                    st.conns.remove(idx);
                    match cmd {
                        ConnCmd::Send(e) => env = e,
                        _ => return,
                    }
                }
            }
        }
    }

    fn flush_pending(&self, st: &mut St) {
        let pending: Vec<Value> = st.pending.drain(..).collect();
        for env in pending {
            self.deliver(st, env);
        }
    }

    /// Registers a new socket; Err(()) when over the connection limit.
    fn register_conn(&self, tx: mpsc::UnboundedSender<ConnCmd>) -> Result<(u64, usize), ()> {
        let mut st = self.lock();
        if st.conns.len() >= self.cfg.max_connections {
            return Err(());
        }
        st.next_conn_id += 1;
        let id = st.next_conn_id;
        st.total_connections += 1;
        st.conns.push(Conn {
            id,
            tx,
            draining: false,
        });
        let n = st.conns.len();
        self.flush_pending(&mut st);
        drop(st);
        self.changed();
        Ok((id, n))
    }

    fn unregister_conn(&self, id: u64) {
        let mut st = self.lock();
        st.conns.retain(|c| c.id != id);
        drop(st);
        self.changed();
    }

    fn requeue(&self, env: Value) {
        let mut st = self.lock();
        self.deliver(&mut st, env);
    }

    fn on_written(self: &Arc<Self>, conn: u64, env: &Value) {
        let now = Instant::now();
        let eid = env
            .get("envelope_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut redeliver = None;
        {
            let mut st = self.lock();
            if let Some(eid) = &eid
                && let Some(info) = st.sent.get_mut(eid)
            {
                info.written_at = Some(now);
                if let Some(chain) = info.chain {
                    redeliver = Some(chain);
                }
            }
            st.deliveries.push(Delivery {
                envelope_id: eid,
                envelope: env.clone(),
                connection: conn,
                written_at: now,
            });
        }
        self.changed();
        if let Some(chain) = redeliver {
            let inner = self.clone();
            let env = env.clone();
            let after = self.cfg.redeliver_after;
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                inner.maybe_redeliver(env, chain);
            });
        }
    }

    fn maybe_redeliver(&self, env: Value, chain: u64) {
        let mut st = self.lock();
        if st.acked_chains.contains(&chain) {
            return;
        }
        let attempt = env
            .get("retry_attempt")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            + 1;
        if attempt > u64::from(self.cfg.max_retries) {
            log(format!(
                "event {} never acked; giving up after {} retries",
                env.pointer("/payload/event_id")
                    .and_then(Value::as_str)
                    .unwrap_or("?"),
                self.cfg.max_retries
            ));
            return;
        }
        let mut env = env;
        let eid = self.new_envelope_id();
        env["envelope_id"] = json!(eid);
        env["retry_attempt"] = json!(attempt);
        env["retry_reason"] = json!("timeout");
        st.sent.insert(
            eid,
            SentInfo {
                chain: Some(chain),
                written_at: None,
            },
        );
        self.deliver(&mut st, env);
    }

    /// A text frame from a client: an ack, or garbage to log and ignore.
    fn on_frame(&self, conn: u64, text: &str) {
        let received_at = Instant::now();
        let v: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                log(format!(
                    "conn {conn}: ignoring non-JSON frame ({e}): {text:.200}"
                ));
                return;
            }
        };
        let Some(eid) = v.get("envelope_id").and_then(Value::as_str) else {
            log(format!(
                "conn {conn}: ignoring frame without envelope_id: {text:.200}"
            ));
            return;
        };
        let mut st = self.lock();
        let sent_at = match st.sent.get(eid).map(|i| (i.chain, i.written_at)) {
            Some((chain, written_at)) => {
                if let Some(chain) = chain {
                    st.acked_chains.insert(chain);
                }
                written_at
            }
            None => {
                log(format!("conn {conn}: ack for unknown envelope {eid}"));
                None
            }
        };
        st.acks.push(Ack {
            envelope_id: eid.to_string(),
            payload: v.get("payload").cloned(),
            received_at,
            sent_at,
            latency: sent_at.map(|s| received_at.saturating_duration_since(s)),
            connection: conn,
        });
        drop(st);
        self.changed();
    }

    fn events_api_envelope(&self, event: Value, event_id: &str, event_time: u64) -> Value {
        let envelope_id = self.new_envelope_id();
        let ctx = format!(
            "4-{}-{}-{}",
            event.get("type").and_then(Value::as_str).unwrap_or("event"),
            self.cfg.team_id,
            event
                .get("channel")
                .and_then(Value::as_str)
                .unwrap_or("C0000000000")
        );
        json!({
            "envelope_id": envelope_id,
            "type": "events_api",
            "accepts_response_payload": false,
            "retry_attempt": 0,
            "retry_reason": "",
            "payload": {
                "token": "fake-verification-token",
                "team_id": self.cfg.team_id,
                "context_team_id": self.cfg.team_id,
                "api_app_id": self.cfg.app_id,
                "type": "event_callback",
                "event_id": event_id,
                "event_time": event_time,
                "event": event,
                "authorizations": [{
                    "enterprise_id": null,
                    "team_id": self.cfg.team_id,
                    "user_id": self.cfg.bot_user_id,
                    "is_bot": true,
                    "is_enterprise_install": false
                }],
                "is_ext_shared_channel": false,
                "event_context": ctx
            }
        })
    }

    /// Queues an events_api envelope with redelivery tracking; returns event_id.
    fn push_event(&self, st: &mut St, mut event: Value, event_id: Option<String>) -> String {
        self.record_event_in_history(st, &mut event);
        let event_id = event_id.unwrap_or_else(|| self.new_event_id());
        let event_time = event
            .get("event_ts")
            .or_else(|| event.get("ts"))
            .and_then(Value::as_str)
            .map(|ts| ts_key(ts).0)
            .filter(|s| *s > 0)
            .unwrap_or_else(|| now_unix().as_secs());
        let env = self.events_api_envelope(event, &event_id, event_time);
        st.next_chain += 1;
        let chain = st.next_chain;
        if let Some(eid) = env.get("envelope_id").and_then(Value::as_str) {
            st.sent.insert(
                eid.to_string(),
                SentInfo {
                    chain: Some(chain),
                    written_at: None,
                },
            );
        }
        self.deliver(st, env);
        event_id
    }

    /// Message-like events are also messages in the channel: store them (fills
    /// in `ts`/`event_ts` when missing) so conversations.* see them.
    fn record_event_in_history(&self, st: &mut St, event: &mut Value) {
        let Some(obj) = event.as_object() else {
            return;
        };
        let ty = obj.get("type").and_then(Value::as_str).unwrap_or("");
        if ty != "message" && ty != "app_mention" {
            return;
        }
        let Some(channel) = obj
            .get("channel")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return;
        };
        let subtype = obj
            .get("subtype")
            .and_then(Value::as_str)
            .map(str::to_string);
        match subtype.as_deref() {
            Some("message_changed") => {
                if let Some(m) = obj.get("message").cloned()
                    && let Some(ts) = m.get("ts").and_then(Value::as_str)
                {
                    let key = ts_key(ts);
                    let chan = st.channels.entry(channel.clone()).or_default();
                    let mut m = m.clone();
                    if let Some(o) = m.as_object_mut() {
                        o.remove("channel");
                        o.entry("type").or_insert(json!("message"));
                    }
                    chan.insert(key, m);
                }
                return;
            }
            Some("message_deleted") => {
                if let Some(ts) = obj.get("deleted_ts").and_then(Value::as_str) {
                    let ts = ts.to_string();
                    let root = self.remove_message(st, &channel, &ts);
                    if let Some(root) = root {
                        Self::refresh_thread(st, &channel, &root);
                    }
                }
                return;
            }
            _ => {}
        }
        let ts = match obj.get("ts").and_then(Value::as_str) {
            Some(ts) => ts.to_string(),
            None => self.next_ts(st),
        };
        if let Some(o) = event.as_object_mut() {
            o.entry("ts").or_insert(json!(ts.clone()));
            o.entry("event_ts").or_insert(json!(ts.clone()));
        }
        Self::see_ts(st, &ts);
        let exists = st
            .channels
            .get(&channel)
            .is_some_and(|c| c.contains_key(&ts_key(&ts)));
        if !exists {
            let mut msg = event.clone();
            if let Some(o) = msg.as_object_mut() {
                o.insert("type".into(), json!("message"));
                o.remove("channel");
                o.remove("channel_type");
                o.remove("event_ts");
            }
            Self::store_message(st, &channel, msg);
        }
    }

    // ----- Message store -------------------------------------------------

    fn store_message(st: &mut St, channel: &str, msg: Value) {
        let Some(ts) = msg.get("ts").and_then(Value::as_str).map(str::to_string) else {
            return;
        };
        Self::see_ts(st, &ts);
        let root = msg
            .get("thread_ts")
            .and_then(Value::as_str)
            .map(str::to_string);
        st.channels
            .entry(channel.to_string())
            .or_default()
            .insert(ts_key(&ts), msg);
        if let Some(root) = root
            && root != ts
        {
            Self::refresh_thread(st, channel, &root);
        }
    }

    fn get_message<'a>(st: &'a St, channel: &str, ts: &str) -> Option<&'a Value> {
        st.channels.get(channel)?.get(&ts_key(ts))
    }

    /// Removes a message; returns the thread root it belonged to (if a reply).
    fn remove_message(&self, st: &mut St, channel: &str, ts: &str) -> Option<String> {
        let removed = st.channels.get_mut(channel)?.remove(&ts_key(ts))?;
        removed
            .get("thread_ts")
            .and_then(Value::as_str)
            .filter(|r| *r != ts)
            .map(str::to_string)
    }

    /// Recomputes a thread parent's reply metadata from the stored replies.
    fn refresh_thread(st: &mut St, channel: &str, root: &str) {
        let Some(chan) = st.channels.get_mut(channel) else {
            return;
        };
        let replies: Vec<(String, Option<String>)> = chan
            .values()
            .filter(|m| {
                m.get("thread_ts").and_then(Value::as_str) == Some(root)
                    && m.get("ts").and_then(Value::as_str) != Some(root)
            })
            .map(|m| {
                (
                    m.get("ts")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    m.get("user").and_then(Value::as_str).map(str::to_string),
                )
            })
            .collect();
        let Some(parent) = chan.get_mut(&ts_key(root)).and_then(Value::as_object_mut) else {
            return;
        };
        if replies.is_empty() {
            for k in [
                "reply_count",
                "reply_users_count",
                "latest_reply",
                "reply_users",
            ] {
                parent.remove(k);
            }
            return;
        }
        let mut users: Vec<String> = Vec::new();
        for u in replies.iter().filter_map(|(_, u)| u.clone()) {
            if !users.contains(&u) {
                users.push(u);
            }
        }
        let latest = replies.last().map(|(ts, _)| ts.clone()).unwrap_or_default();
        parent.insert("thread_ts".into(), json!(root));
        parent.insert("reply_count".into(), json!(replies.len()));
        parent.insert("reply_users_count".into(), json!(users.len()));
        parent.insert("reply_users".into(), json!(users));
        parent.insert("latest_reply".into(), json!(latest));
        parent.entry("subscribed").or_insert(json!(false));
    }

    /// ts of the thread root a message belongs to (itself if top-level).
    fn thread_root(st: &St, channel: &str, ts: &str) -> Option<String> {
        let m = Self::get_message(st, channel, ts)?;
        Some(
            m.get("thread_ts")
                .and_then(Value::as_str)
                .unwrap_or(ts)
                .to_string(),
        )
    }

    fn thread_messages(st: &St, channel: &str, root: &str) -> Vec<Value> {
        let Some(chan) = st.channels.get(channel) else {
            return vec![];
        };
        chan.values()
            .filter(|m| {
                let ts = m.get("ts").and_then(Value::as_str);
                ts == Some(root) || m.get("thread_ts").and_then(Value::as_str) == Some(root)
            })
            .cloned()
            .collect()
    }

    fn with_block_ids(&self, blocks: &Value) -> Value {
        let mut blocks = blocks.clone();
        if let Some(arr) = blocks.as_array_mut() {
            for b in arr.iter_mut() {
                if let Some(o) = b.as_object_mut()
                    && !o.contains_key("block_id")
                {
                    o.insert("block_id".into(), json!(self.new_alnum(5)));
                }
            }
        }
        blocks
    }

    fn bot_profile(&self) -> Value {
        json!({
            "id": self.cfg.bot_id,
            "deleted": false,
            "name": self.cfg.bot_name,
            "updated": 1_700_000_000u64,
            "app_id": self.cfg.app_id,
            "user_id": self.cfg.bot_user_id,
            "team_id": self.cfg.team_id
        })
    }

    fn echo(&self, st: &mut St, event: Value) {
        if self.cfg.echo_own_messages {
            let _ = self.push_event(st, event, None);
        }
    }

    // ----- Web API -------------------------------------------------------

    fn handle_api(
        &self,
        method: &str,
        token: Option<String>,
        params: Result<Map<String, Value>, &'static str>,
    ) -> ApiReply {
        let mut st = self.lock();
        *st.calls.entry(method.to_string()).or_default() += 1;
        let params_value = params
            .as_ref()
            .map(|p| Value::Object(p.clone()))
            .unwrap_or(Value::Null);
        let reply = self.dispatch(&mut st, method, token, params);
        if matches!(
            method,
            "chat.postMessage" | "chat.update" | "chat.postEphemeral"
        ) && reply.body.get("ok") != Some(&Value::Bool(true))
        {
            let p = params_value.as_object().cloned().unwrap_or_default();
            st.rejected.push(PostedMessage {
                method: method.to_string(),
                channel: p_str(&p, "channel").unwrap_or_default(),
                ts: p_str(&p, "ts").unwrap_or_default(),
                thread_ts: p_str(&p, "thread_ts"),
                text: p_str(&p, "text"),
                blocks: p_json(&p, "blocks").ok().flatten().unwrap_or(Value::Null),
                attachments: p_json(&p, "attachments")
                    .ok()
                    .flatten()
                    .unwrap_or(Value::Null),
                user: p_str(&p, "user"),
                error: reply
                    .body
                    .get("error")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                params: params_value,
                time: Instant::now(),
            });
        }
        drop(st);
        self.changed();
        reply
    }

    fn dispatch(
        &self,
        st: &mut St,
        method: &str,
        token: Option<String>,
        params: Result<Map<String, Value>, &'static str>,
    ) -> ApiReply {
        let ok = |body: Value| ApiReply {
            status: StatusCode::OK,
            retry_after: None,
            body,
        };
        if !KNOWN_METHODS.contains(&method) {
            return ok(json!({"ok": false, "error": "unknown_method", "req_method": method}));
        }
        if method != "apps.connections.open" {
            let f = st.faults;
            let roll = (self.rand() % 1_000_000) as f64 / 1_000_000.0;
            if roll < f.rate_limited {
                *st.faults_injected.entry("429").or_default() += 1;
                return ApiReply {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    retry_after: Some(f.retry_after_secs),
                    body: err("ratelimited"),
                };
            }
            if roll < f.rate_limited + f.server_error {
                *st.faults_injected.entry("500").or_default() += 1;
                return ApiReply {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    retry_after: None,
                    body: err("internal_error"),
                };
            }
        }
        if let Some((n, secs)) = st.rate_limits.get_mut(method)
            && *n > 0
        {
            *n -= 1;
            let secs = *secs;
            return ApiReply {
                status: StatusCode::TOO_MANY_REQUESTS,
                retry_after: Some(secs),
                body: err("ratelimited"),
            };
        }
        let wants_app = method == "apps.connections.open";
        match token.as_deref() {
            None | Some("") => return ok(err("not_authed")),
            Some(t) if wants_app && t == self.cfg.app_token => {}
            Some(t) if !wants_app && t == self.cfg.bot_token => {}
            Some(t) if t == self.cfg.app_token || t == self.cfg.bot_token => {
                return ok(err("not_allowed_token_type"));
            }
            Some(_) => return ok(err("invalid_auth")),
        }
        let p = match params {
            Ok(p) => p,
            Err(code) => return ok(err(code)),
        };
        if let Some(q) = st.failures.get_mut(method)
            && let Some(code) = q.pop_front()
        {
            return ok(err(&code));
        }
        let body = match method {
            "apps.connections.open" => self.api_connections_open(st),
            "auth.test" => json!({
                "ok": true,
                "url": format!("https://{}.slack.com/", self.cfg.team_domain),
                "team": self.cfg.team_name,
                "user": self.cfg.bot_name,
                "team_id": self.cfg.team_id,
                "user_id": self.cfg.bot_user_id,
                "bot_id": self.cfg.bot_id,
                "is_enterprise_install": false
            }),
            "chat.postMessage" => self.api_post_message(st, &p),
            "chat.update" => self.api_update(st, &p),
            "chat.delete" => self.api_delete(st, &p),
            "chat.postEphemeral" => self.api_post_ephemeral(st, &p),
            "chat.getPermalink" => self.api_permalink(st, &p),
            "conversations.replies" => self.api_replies(st, &p),
            "conversations.history" => self.api_history(st, &p),
            "conversations.info" => self.api_info(&p),
            "reactions.add" => self.api_reactions_add(st, &p),
            // The channels the bot is in: those the fake knows by name, one page.
            "users.conversations" => {
                let mut ids: Vec<&String> = self.cfg.channel_names.keys().collect();
                ids.sort();
                json!({
                    "ok": true,
                    "channels": ids.iter().map(|id| json!({"id": id, "name": self.cfg.channel_names[*id]})).collect::<Vec<_>>(),
                    "response_metadata": {"next_cursor": ""}
                })
            }
            _ => json!({"ok": false, "error": "unknown_method", "req_method": method}),
        };
        ok(body)
    }

    fn api_connections_open(&self, st: &mut St) -> Value {
        let ticket = self.new_envelope_id();
        st.tickets.insert(ticket.clone());
        json!({
            "ok": true,
            "url": format!(
                "ws://{}/link/?ticket={}&app_id={}",
                self.ws_addr, ticket, self.cfg.app_id
            )
        })
    }

    /// Shared checks of message content; Err is the full error body.
    #[allow(clippy::type_complexity)]
    fn check_content(
        p: &Map<String, Value>,
        require_content: bool,
    ) -> Result<(Option<String>, Option<Value>, Option<Value>), Value> {
        let text = p_str(p, "text");
        let blocks = p_json(p, "blocks").map_err(|_| {
            json!({"ok": false, "error": "invalid_blocks_format",
                   "errors": ["blocks is not valid JSON"]})
        })?;
        let attachments = p_json(p, "attachments").map_err(|_| err("invalid_attachments"))?;
        if require_content
            && text.as_deref().is_none_or(str::is_empty)
            && blocks.is_none()
            && attachments.is_none()
        {
            return Err(err("no_text"));
        }
        if let Some(b) = &blocks
            && let Err(detail) = validate_blocks(b)
        {
            return Err(json!({"ok": false, "error": "invalid_blocks", "errors": [detail]}));
        }
        if let Some(a) = &attachments {
            match a.as_array() {
                Some(a) if a.len() > 100 => return Err(err("too_many_attachments")),
                Some(_) => {}
                None => return Err(err("invalid_attachments")),
            }
        }
        if text.as_deref().is_some_and(|t| t.chars().count() > 40_000) {
            return Err(err("msg_too_long"));
        }
        Ok((text, blocks, attachments))
    }

    fn api_post_message(&self, st: &mut St, p: &Map<String, Value>) -> Value {
        let Some(channel) = p_nonempty(p, "channel") else {
            return err("channel_not_found");
        };
        let (text, blocks, attachments) = match Self::check_content(p, true) {
            Ok(c) => c,
            Err(e) => return e,
        };
        let thread_ts = p_nonempty(p, "thread_ts").map(|tt| {
            // A reply to a reply goes to the thread's root, as in Slack.
            Self::thread_root(st, &channel, &tt).unwrap_or(tt)
        });
        let ts = self.next_ts(st);
        let mut msg = Map::new();
        msg.insert("type".into(), json!("message"));
        if thread_ts.is_some() && p_bool(p, "reply_broadcast") {
            msg.insert("subtype".into(), json!("thread_broadcast"));
        }
        msg.insert("text".into(), json!(text.clone().unwrap_or_default()));
        msg.insert("user".into(), json!(self.cfg.bot_user_id));
        msg.insert("bot_id".into(), json!(self.cfg.bot_id));
        msg.insert("app_id".into(), json!(self.cfg.app_id));
        msg.insert("team".into(), json!(self.cfg.team_id));
        msg.insert("ts".into(), json!(ts));
        msg.insert("bot_profile".into(), self.bot_profile());
        if let Some(b) = &blocks {
            msg.insert("blocks".into(), self.with_block_ids(b));
        }
        if let Some(a) = &attachments {
            msg.insert("attachments".into(), a.clone());
        }
        if let Some(md) = p.get("metadata") {
            msg.insert("metadata".into(), md.clone());
        }
        if let Some(tt) = &thread_ts {
            msg.insert("thread_ts".into(), json!(tt));
            let parent_user = Self::get_message(st, &channel, tt)
                .and_then(|m| m.get("user").and_then(Value::as_str))
                .map(str::to_string);
            if let Some(u) = parent_user {
                msg.insert("parent_user_id".into(), json!(u));
            }
        }
        let msg = Value::Object(msg);
        Self::store_message(st, &channel, msg.clone());
        st.posted.push(PostedMessage {
            method: "chat.postMessage".into(),
            channel: channel.clone(),
            ts: ts.clone(),
            thread_ts: thread_ts.clone(),
            text,
            blocks: blocks.unwrap_or(Value::Null),
            attachments: attachments.unwrap_or(Value::Null),
            user: None,
            error: None,
            params: Value::Object(p.clone()),
            time: Instant::now(),
        });
        let mut ev = msg.clone();
        ev["channel"] = json!(channel);
        ev["event_ts"] = json!(ts);
        ev["channel_type"] = json!("channel");
        self.echo(st, ev);
        json!({"ok": true, "channel": channel, "ts": ts, "message": msg})
    }

    fn is_own(&self, m: &Value) -> bool {
        m.get("user").and_then(Value::as_str) == Some(self.cfg.bot_user_id.as_str())
            || m.get("bot_id").and_then(Value::as_str) == Some(self.cfg.bot_id.as_str())
    }

    fn api_update(&self, st: &mut St, p: &Map<String, Value>) -> Value {
        let Some(channel) = p_nonempty(p, "channel") else {
            return err("channel_not_found");
        };
        let Some(ts) = p_nonempty(p, "ts") else {
            return err("message_not_found");
        };
        let Some(previous) = Self::get_message(st, &channel, &ts).cloned() else {
            return err("message_not_found");
        };
        if !self.is_own(&previous) {
            return err("cant_update_message");
        }
        let (text, blocks, attachments) = match Self::check_content(p, true) {
            Ok(c) => c,
            Err(e) => return e,
        };
        let edit_ts = self.next_ts(st);
        let mut msg = previous.clone();
        if let Some(o) = msg.as_object_mut() {
            o.insert("text".into(), json!(text.clone().unwrap_or_default()));
            match &blocks {
                Some(b) => {
                    o.insert("blocks".into(), self.with_block_ids(b));
                }
                None => {
                    o.remove("blocks");
                }
            }
            if let Some(a) = &attachments {
                o.insert("attachments".into(), a.clone());
            }
            // New metadata replaces the old; without it the message keeps its own.
            if let Some(md) = p.get("metadata") {
                o.insert("metadata".into(), md.clone());
            }
            o.insert(
                "edited".into(),
                json!({"user": self.cfg.bot_user_id, "ts": edit_ts}),
            );
        }
        if let Some(chan) = st.channels.get_mut(&channel) {
            chan.insert(ts_key(&ts), msg.clone());
        }
        let thread_ts = msg
            .get("thread_ts")
            .and_then(Value::as_str)
            .map(str::to_string);
        st.posted.push(PostedMessage {
            method: "chat.update".into(),
            channel: channel.clone(),
            ts: ts.clone(),
            thread_ts,
            text: text.clone(),
            blocks: blocks.unwrap_or(Value::Null),
            attachments: attachments.unwrap_or(Value::Null),
            user: None,
            error: None,
            params: Value::Object(p.clone()),
            time: Instant::now(),
        });
        let ev = json!({
            "type": "message",
            "subtype": "message_changed",
            "hidden": true,
            "channel": channel,
            "ts": edit_ts,
            "event_ts": edit_ts,
            "channel_type": "channel",
            "message": msg,
            "previous_message": previous
        });
        self.echo(st, ev);
        json!({
            "ok": true,
            "channel": channel,
            "ts": ts,
            "text": text.unwrap_or_default(),
            "message": msg
        })
    }

    fn api_delete(&self, st: &mut St, p: &Map<String, Value>) -> Value {
        let Some(channel) = p_nonempty(p, "channel") else {
            return err("channel_not_found");
        };
        let Some(ts) = p_nonempty(p, "ts") else {
            return err("message_not_found");
        };
        let Some(m) = Self::get_message(st, &channel, &ts) else {
            return err("message_not_found");
        };
        if !self.is_own(m) {
            return err("cant_delete_message");
        }
        if let Some(root) = self.remove_message(st, &channel, &ts) {
            Self::refresh_thread(st, &channel, &root);
        }
        json!({"ok": true, "channel": channel, "ts": ts})
    }

    fn api_post_ephemeral(&self, st: &mut St, p: &Map<String, Value>) -> Value {
        let Some(channel) = p_nonempty(p, "channel") else {
            return err("channel_not_found");
        };
        let Some(user) = p_nonempty(p, "user") else {
            return err("user_not_in_channel");
        };
        let (text, blocks, attachments) = match Self::check_content(p, true) {
            Ok(c) => c,
            Err(e) => return e,
        };
        let ts = self.next_ts(st);
        st.ephemerals.push(PostedMessage {
            method: "chat.postEphemeral".into(),
            channel,
            ts: ts.clone(),
            thread_ts: p_nonempty(p, "thread_ts"),
            text,
            blocks: blocks.unwrap_or(Value::Null),
            attachments: attachments.unwrap_or(Value::Null),
            user: Some(user),
            error: None,
            params: Value::Object(p.clone()),
            time: Instant::now(),
        });
        json!({"ok": true, "message_ts": ts})
    }

    fn api_permalink(&self, st: &mut St, p: &Map<String, Value>) -> Value {
        let Some(channel) = p_nonempty(p, "channel") else {
            return err("channel_not_found");
        };
        let Some(ts) = p_nonempty(p, "message_ts") else {
            return err("message_not_found");
        };
        let Some(m) = Self::get_message(st, &channel, &ts) else {
            return err("message_not_found");
        };
        let mut link = format!(
            "https://{}.slack.com/archives/{}/p{}",
            self.cfg.team_domain,
            channel,
            ts.replace('.', "")
        );
        if let Some(tt) = m.get("thread_ts").and_then(Value::as_str)
            && tt != ts
        {
            link.push_str(&format!("?thread_ts={tt}&cid={channel}"));
        }
        json!({"ok": true, "channel": channel, "permalink": link})
    }

    fn paginate(
        items: Vec<Value>,
        p: &Map<String, Value>,
        default_limit: u64,
    ) -> (Vec<Value>, String) {
        let limit = p_u64(p, "limit")
            .filter(|l| *l > 0)
            .unwrap_or(default_limit) as usize;
        let offset = p_str(p, "cursor")
            .and_then(|c| c.strip_prefix("off:").and_then(|n| n.parse::<usize>().ok()))
            .unwrap_or(0);
        let total = items.len();
        let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
        let next = if offset + page.len() < total {
            format!("off:{}", offset + page.len())
        } else {
            String::new()
        };
        (page, next)
    }

    /// oldest/latest/inclusive filter.
    fn in_range(ts: &str, p: &Map<String, Value>) -> bool {
        let k = ts_key(ts);
        let k = (k.0, k.1);
        let inclusive = p_bool(p, "inclusive");
        if let Some(o) = p_nonempty(p, "oldest") {
            let o = ts_key(&o);
            let o = (o.0, o.1);
            if k < o || (k == o && !inclusive) {
                return false;
            }
        }
        if let Some(l) = p_nonempty(p, "latest") {
            let l = ts_key(&l);
            let l = (l.0, l.1);
            if k > l || (k == l && !inclusive) {
                return false;
            }
        }
        true
    }

    /// Like Slack, messages carry their `metadata` only when `include_all_metadata` is true.
    fn metadata_if_asked(mut page: Vec<Value>, p: &Map<String, Value>) -> Vec<Value> {
        if !p_bool(p, "include_all_metadata") {
            for m in &mut page {
                if let Some(o) = m.as_object_mut() {
                    o.remove("metadata");
                }
            }
        }
        page
    }

    fn api_replies(&self, st: &mut St, p: &Map<String, Value>) -> Value {
        let Some(channel) = p_nonempty(p, "channel") else {
            return err("channel_not_found");
        };
        let Some(ts) = p_nonempty(p, "ts") else {
            return err("thread_not_found");
        };
        let Some(root) = Self::thread_root(st, &channel, &ts) else {
            return err("thread_not_found");
        };
        let msgs: Vec<Value> = Self::thread_messages(st, &channel, &root)
            .into_iter()
            .filter(|m| {
                let mts = m.get("ts").and_then(Value::as_str).unwrap_or("");
                mts == root || Self::in_range(mts, p)
            })
            .collect();
        let (page, next) = Self::paginate(msgs, p, 1000);
        let page = Self::metadata_if_asked(page, p);
        json!({
            "ok": true,
            "messages": page,
            "has_more": !next.is_empty(),
            "response_metadata": {"next_cursor": next}
        })
    }

    fn api_history(&self, st: &mut St, p: &Map<String, Value>) -> Value {
        let Some(channel) = p_nonempty(p, "channel") else {
            return err("channel_not_found");
        };
        let mut msgs: Vec<Value> = st
            .channels
            .get(&channel)
            .map(|c| {
                c.values()
                    .filter(|m| {
                        let ts = m.get("ts").and_then(Value::as_str).unwrap_or("");
                        let tt = m.get("thread_ts").and_then(Value::as_str);
                        let top = tt.is_none_or(|t| t == ts)
                            || m.get("subtype").and_then(Value::as_str) == Some("thread_broadcast");
                        top && Self::in_range(ts, p)
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        msgs.reverse();
        let (page, next) = Self::paginate(msgs, p, 100);
        let page = Self::metadata_if_asked(page, p);
        json!({
            "ok": true,
            "messages": page,
            "has_more": !next.is_empty(),
            "pin_count": 0,
            "channel_actions_ts": null,
            "channel_actions_count": 0,
            "response_metadata": {"next_cursor": next}
        })
    }

    fn api_info(&self, p: &Map<String, Value>) -> Value {
        let Some(channel) = p_nonempty(p, "channel") else {
            return err("channel_not_found");
        };
        let name = self
            .cfg
            .channel_names
            .get(&channel)
            .cloned()
            .unwrap_or_else(|| format!("channel-{}", channel.to_lowercase()));
        let private = channel.starts_with('G');
        let im = channel.starts_with('D');
        let mut info = json!({
            "id": channel,
            "name": name,
            "name_normalized": name,
            "is_channel": !private && !im,
            "is_group": private,
            "is_im": im,
            "is_mpim": false,
            "is_private": private,
            "is_archived": false,
            "is_general": false,
            "is_shared": false,
            "is_ext_shared": false,
            "is_org_shared": false,
            "is_member": true,
            "created": 1_600_000_000u64,
            "creator": "U0FAKEADMIN",
            "unlinked": 0,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": []
        });
        if p_bool(p, "include_num_members") {
            info["num_members"] = json!(3);
        }
        json!({"ok": true, "channel": info})
    }

    fn api_reactions_add(&self, st: &mut St, p: &Map<String, Value>) -> Value {
        let Some(channel) = p_nonempty(p, "channel") else {
            return err("channel_not_found");
        };
        let Some(name) = p_nonempty(p, "name") else {
            return err("invalid_name");
        };
        let Some(ts) = p_nonempty(p, "timestamp") else {
            return err("message_not_found");
        };
        let bot = self.cfg.bot_user_id.clone();
        let Some(m) = st
            .channels
            .get_mut(&channel)
            .and_then(|c| c.get_mut(&ts_key(&ts)))
            .and_then(Value::as_object_mut)
        else {
            return err("message_not_found");
        };
        let reactions = m.entry("reactions").or_insert(json!([]));
        let Some(list) = reactions.as_array_mut() else {
            return err("internal_error");
        };
        if let Some(r) = list
            .iter_mut()
            .find(|r| r.get("name").and_then(Value::as_str) == Some(name.as_str()))
        {
            let users = r
                .get("users")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if users.iter().any(|u| u.as_str() == Some(bot.as_str())) {
                return err("already_reacted");
            }
            let mut users = users;
            users.push(json!(bot));
            r["count"] = json!(users.len());
            r["users"] = json!(users);
        } else {
            list.push(json!({"name": name, "users": [bot], "count": 1}));
        }
        json!({"ok": true})
    }

    fn handle_response_url(&self, id: &str, body: Result<Value, ()>) -> ApiReply {
        let mut st = self.lock();
        *st.calls.entry("response_url".to_string()).or_default() += 1;
        let reply = match st.response_urls.get_mut(id) {
            None => ApiReply {
                status: StatusCode::NOT_FOUND,
                retry_after: None,
                body: err("expired_url"),
            },
            Some(info) if info.uses >= 5 => ApiReply {
                status: StatusCode::NOT_FOUND,
                retry_after: None,
                body: err("used_url"),
            },
            Some(info) => match body {
                Ok(v) => {
                    info.uses += 1;
                    st.response_url_posts.push(v);
                    ApiReply {
                        status: StatusCode::OK,
                        retry_after: None,
                        body: json!({"ok": true}),
                    }
                }
                Err(()) => ApiReply {
                    status: StatusCode::BAD_REQUEST,
                    retry_after: None,
                    body: err("invalid_payload"),
                },
            },
        };
        drop(st);
        self.changed();
        reply
    }

    fn new_response_url(&self, st: &mut St) -> String {
        let id = format!("{}/{}", self.new_alnum(11), self.new_alnum(24));
        let id = id.replace('/', "-");
        st.response_urls
            .insert(id.clone(), ResponseUrlInfo { uses: 0 });
        format!("http://{}/response_url/{}", self.http_addr, id)
    }
}

// ---------------------------------------------------------------------------
// HTTP server
// ---------------------------------------------------------------------------

fn json_response(r: ApiReply) -> Response {
    let mut resp = (
        r.status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        r.body.to_string(),
    )
        .into_response();
    if let Some(secs) = r.retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, tok) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| tok.trim().to_string())
}

/// Query parameters merged with a JSON or form-urlencoded body.
fn collect_params(
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, &'static str> {
    let mut params = Map::new();
    if let Some(q) = uri.query() {
        for (k, v) in parse_form(q) {
            params.insert(k, Value::String(v));
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(params);
    }
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ctype.starts_with("application/json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => params.extend(m),
            Ok(_) | Err(_) => return Err("invalid_json"),
        }
    } else if ctype.starts_with("multipart/") {
        return Err("invalid_form_data");
    } else {
        let Ok(s) = std::str::from_utf8(body) else {
            return Err("invalid_form_data");
        };
        for (k, v) in parse_form(s) {
            params.insert(k, Value::String(v));
        }
    }
    Ok(params)
}

async fn api_route(
    State(inner): State<Arc<Inner>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let method = method.trim_start_matches('/').to_string();
    let params = collect_params(&uri, &headers, &body);
    let token =
        bearer(&headers).or_else(|| params.as_ref().ok().and_then(|p| p_nonempty(p, "token")));
    json_response(inner.handle_api(&method, token, params))
}

async fn response_url_route(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // A response_url needs no token; count any that arrive so tests can assert none leak.
    if headers.contains_key(header::AUTHORIZATION) {
        *inner
            .lock()
            .calls
            .entry("response_url_with_token".to_string())
            .or_default() += 1;
    }
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let parsed = if ctype.starts_with("application/x-www-form-urlencoded") {
        // Legacy shape: payload=<json>.
        std::str::from_utf8(&body)
            .ok()
            .and_then(|s| parse_form(s).into_iter().find(|(k, _)| k == "payload"))
            .and_then(|(_, v)| serde_json::from_str::<Value>(&v).ok())
            .ok_or(())
    } else {
        serde_json::from_slice::<Value>(&body).map_err(|_| ())
    };
    if parsed.is_err() {
        log(format!(
            "response_url {id}: ignoring unparsable body: {:.200}",
            String::from_utf8_lossy(&body)
        ));
    }
    json_response(inner.handle_response_url(&id, parsed))
}

async fn not_found(uri: Uri) -> Response {
    log(format!("HTTP 404 for {uri}"));
    (StatusCode::NOT_FOUND, "not found").into_response()
}

// ---------------------------------------------------------------------------
// WebSocket server
// ---------------------------------------------------------------------------

async fn ws_accept_loop(inner: Arc<Inner>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                // Like Slack's edge, write frames at once (no Nagle delay on small frames).
                let _ = stream.set_nodelay(true);
                tokio::spawn(handle_ws(inner.clone(), stream));
            }
            Err(e) => {
                log(format!("ws accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

// tungstenite's handshake callback must return its (large) ErrorResponse.
#[allow(clippy::result_large_err)]
async fn handle_ws(inner: Arc<Inner>, stream: TcpStream) {
    let check = inner.clone();
    let callback = move |req: &WsRequest, resp: WsResponse| -> Result<WsResponse, ErrorResponse> {
        if !check.cfg.require_ticket {
            return Ok(resp);
        }
        let ticket = req
            .uri()
            .query()
            .and_then(|q| parse_form(q).into_iter().find(|(k, _)| k == "ticket"))
            .map(|(_, v)| v);
        let valid = ticket.is_some_and(|t| check.lock().tickets.remove(&t));
        if valid {
            Ok(resp)
        } else {
            log(format!("rejecting WebSocket handshake for {}", req.uri()));
            let mut e = ErrorResponse::new(Some("invalid or used ticket".to_string()));
            *e.status_mut() = StatusCode::UNAUTHORIZED;
            Err(e)
        }
    };
    let mut ws = match tokio_tungstenite::accept_hdr_async(stream, callback).await {
        Ok(ws) => ws,
        Err(e) => {
            log(format!("WebSocket handshake failed: {e}"));
            return;
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (conn_id, num) = match inner.register_conn(tx) {
        Ok(r) => r,
        Err(()) => {
            let frame = json!({"type": "disconnect", "reason": "too_many_websockets",
                               "debug_info": {"host": "fake"}});
            let _ = ws.send(Message::text(frame.to_string())).await;
            let _ = ws.close(None).await;
            return;
        }
    };
    let hello = json!({
        "type": "hello",
        "num_connections": num,
        "debug_info": {
            "host": "fake",
            "build_number": 1,
            "approximate_connection_time": 18060
        },
        "connection_info": {"app_id": inner.cfg.app_id}
    });
    if let Err(e) = ws.send(Message::text(hello.to_string())).await {
        log(format!("conn {conn_id}: failed to send hello: {e}"));
    } else {
        let mut close_at: Option<tokio::time::Instant> = None;
        loop {
            let deadline = close_at.unwrap_or_else(tokio::time::Instant::now);
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(ConnCmd::Send(env)) => {
                        match ws.send(Message::text(env.to_string())).await {
                            Ok(()) => inner.on_written(conn_id, &env),
                            Err(e) => {
                                log(format!("conn {conn_id}: write failed: {e}"));
                                inner.unregister_conn(conn_id);
                                inner.requeue(env);
                                break;
                            }
                        }
                    }
                    Some(ConnCmd::Disconnect { frame, close_after }) => {
                        if ws.send(Message::text(frame)).await.is_err() {
                            break;
                        }
                        close_at = Some(tokio::time::Instant::now() + close_after);
                    }
                    Some(ConnCmd::Drop) | None => break,
                },
                msg = ws.next() => match msg {
                    Some(Ok(Message::Text(t))) => inner.on_frame(conn_id, t.as_str()),
                    Some(Ok(Message::Binary(b))) => {
                        log(format!("conn {conn_id}: ignoring binary frame ({} bytes)", b.len()));
                    }
                    // Pings are answered with pongs by tungstenite itself.
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Close(_))) => {
                        // tungstenite queued the close reply; flush it.
                        let _ = ws.flush().await;
                        break;
                    }
                    Some(Err(e)) => {
                        log(format!("conn {conn_id}: read error: {e}"));
                        break;
                    }
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline), if close_at.is_some() => {
                    let _ = ws.close(None).await;
                    break;
                }
            }
        }
    }
    inner.unregister_conn(conn_id);
    rx.close();
    while let Ok(cmd) = rx.try_recv() {
        if let ConnCmd::Send(env) = cmd {
            inner.requeue(env);
        }
    }
    // Dropping `ws` here closes the TCP socket (abruptly when no close frame was sent).
}

// ---------------------------------------------------------------------------
// Handle
// ---------------------------------------------------------------------------

/// Handle to a running fake Slack. Cheap to clone; all clones share one server.
#[derive(Clone)]
pub struct FakeSlack {
    inner: Arc<Inner>,
}

impl FakeSlack {
    /// Starts the fake with [`FakeConfig::default`].
    pub async fn start() -> FakeSlack {
        Self::start_with(FakeConfig::default()).await
    }

    /// Starts the HTTP and WebSocket servers on ephemeral 127.0.0.1 ports.
    pub async fn start_with(cfg: FakeConfig) -> FakeSlack {
        let http = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fake slack: bind HTTP listener");
        let wsl = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fake slack: bind WebSocket listener");
        let http_addr = http.local_addr().expect("fake slack: HTTP local addr");
        let ws_addr = wsl.local_addr().expect("fake slack: WS local addr");
        let seed = now_unix().as_nanos() as u64 ^ (u64::from(http_addr.port()) << 32);
        let inner = Arc::new(Inner {
            cfg,
            http_addr,
            ws_addr,
            st: Mutex::new(St::default()),
            notify: Notify::new(),
            rng: AtomicU64::new(seed),
            started: Instant::now(),
        });
        let app = Router::new()
            .route("/api/{*method}", any(api_route))
            .route("/response_url/{id}", any(response_url_route))
            .fallback(not_found)
            .with_state(inner.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(http, app).await {
                log(format!("HTTP server stopped: {e}"));
            }
        });
        tokio::spawn(ws_accept_loop(inner.clone(), wsl));
        FakeSlack { inner }
    }

    pub fn config(&self) -> &FakeConfig {
        &self.inner.cfg
    }

    /// Web API base, `http://127.0.0.1:PORT/api` (no trailing slash): the
    /// form slack-morphism's `with_slack_api_url` expects, since it requests
    /// `format!("{}/{}", api_url, method)`. Use [`FakeSlack::method_url`] for
    /// a full method URL.
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.inner.http_addr)
    }

    /// Full URL of one Web API method, e.g. `…/api/chat.postMessage`.
    pub fn method_url(&self, method: &str) -> String {
        format!("{}/{}", self.api_url(), method)
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.inner.http_addr
    }

    pub fn ws_addr(&self) -> SocketAddr {
        self.inner.ws_addr
    }

    pub fn app_token(&self) -> &str {
        &self.inner.cfg.app_token
    }

    pub fn bot_token(&self) -> &str {
        &self.inner.cfg.bot_token
    }

    pub fn bot_user_id(&self) -> &str {
        &self.inner.cfg.bot_user_id
    }

    pub fn bot_id(&self) -> &str {
        &self.inner.cfg.bot_id
    }

    pub fn app_id(&self) -> &str {
        &self.inner.cfg.app_id
    }

    pub fn team_id(&self) -> &str {
        &self.inner.cfg.team_id
    }

    // ----- waiting ---------------------------------------------------------

    /// Polls `cond` each time the fake's state changes, until true or timeout.
    pub async fn wait_until(&self, timeout: Duration, cond: impl Fn() -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if cond() {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return cond();
            }
        }
    }

    // ----- Socket Mode -----------------------------------------------------

    /// Waits until at least `n` sockets are open and not draining after a
    /// `disconnect` (i.e. sockets that would receive new envelopes).
    pub async fn wait_connected(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, || self.connections() >= n).await
    }

    /// Open sockets that receive new envelopes (excludes ones told to disconnect).
    pub fn connections(&self) -> usize {
        self.inner
            .lock()
            .conns
            .iter()
            .filter(|c| !c.draining)
            .count()
    }

    /// All open sockets, including ones draining after `disconnect`.
    pub fn sockets(&self) -> usize {
        self.inner.lock().conns.len()
    }

    /// Sockets ever accepted (past the handshake).
    pub fn total_connections(&self) -> usize {
        self.inner.lock().total_connections
    }

    /// Sends an `events_api` envelope wrapping `event`; returns its new event_id.
    /// `message`/`app_mention` events are also stored in the channel history
    /// (their `ts`/`event_ts` are filled in when missing); `message_changed`
    /// and `message_deleted` update/remove the stored message.
    pub async fn send_event(&self, event: Value) -> String {
        let mut st = self.inner.lock();
        let id = self.inner.push_event(&mut st, event, None);
        drop(st);
        self.inner.changed();
        id
    }

    /// Like [`FakeSlack::send_event`] with a chosen event_id (to model Slack
    /// sending the same event twice, e.g. across reconnects).
    pub async fn send_event_with_id(&self, event: Value, event_id: &str) -> String {
        let mut st = self.inner.lock();
        let id = self
            .inner
            .push_event(&mut st, event, Some(event_id.to_string()));
        drop(st);
        self.inner.changed();
        id
    }

    /// Sends a raw envelope as-is (no redelivery tracking).
    pub async fn send_envelope(&self, envelope: Value) {
        let mut st = self.inner.lock();
        if let Some(eid) = envelope.get("envelope_id").and_then(Value::as_str) {
            st.sent.insert(
                eid.to_string(),
                SentInfo {
                    chain: None,
                    written_at: None,
                },
            );
        }
        self.inner.deliver(&mut st, envelope);
        drop(st);
        self.inner.changed();
    }

    /// Sends a `slash_commands` envelope (flat payload with a `response_url`
    /// served by the fake); returns the envelope_id.
    pub async fn send_slash_command(
        &self,
        command: &str,
        text: &str,
        channel: &str,
        user: &str,
    ) -> String {
        let inner = &self.inner;
        let mut st = inner.lock();
        let envelope_id = inner.new_envelope_id();
        let channel_name = inner
            .cfg
            .channel_names
            .get(channel)
            .cloned()
            .unwrap_or_else(|| format!("channel-{}", channel.to_lowercase()));
        let env = json!({
            "envelope_id": envelope_id,
            "type": "slash_commands",
            "accepts_response_payload": true,
            "payload": {
                "token": "fake-verification-token",
                "team_id": inner.cfg.team_id,
                "team_domain": inner.cfg.team_domain,
                "channel_id": channel,
                "channel_name": channel_name,
                "user_id": user,
                "user_name": format!("user-{}", user.to_lowercase()),
                "command": command,
                "text": text,
                "api_app_id": inner.cfg.app_id,
                "is_enterprise_install": "false",
                "response_url": inner.new_response_url(&mut st),
                "trigger_id": inner.new_trigger_id()
            }
        });
        st.sent.insert(
            envelope_id.clone(),
            SentInfo {
                chain: None,
                written_at: None,
            },
        );
        inner.deliver(&mut st, env);
        drop(st);
        inner.changed();
        envelope_id
    }

    /// Sends an `interactive` envelope (block_actions, message_action, shortcut,
    /// view_submission, …). Missing `token`, `api_app_id`, `team`, `user`,
    /// `trigger_id`, `response_url` (block_actions/message_action) and
    /// `container` (block_actions with a message) are filled in. Returns the
    /// envelope_id.
    pub async fn send_interactive(&self, payload: Value) -> String {
        let inner = &self.inner;
        let mut st = inner.lock();
        let mut payload = payload;
        let ty = payload
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let response_url = inner.new_response_url(&mut st);
        if let Some(o) = payload.as_object_mut() {
            o.entry("token").or_insert(json!("fake-verification-token"));
            o.entry("api_app_id").or_insert(json!(inner.cfg.app_id));
            o.entry("team")
                .or_insert(json!({"id": inner.cfg.team_id, "domain": inner.cfg.team_domain}));
            o.entry("user").or_insert(json!({
                "id": "U0FAKEUSER", "username": "tester", "name": "tester",
                "team_id": inner.cfg.team_id
            }));
            o.entry("is_enterprise_install").or_insert(json!(false));
            o.entry("trigger_id")
                .or_insert(json!(inner.new_trigger_id()));
            if ty == "block_actions" || ty == "message_action" {
                o.entry("response_url").or_insert(json!(response_url));
            }
            if ty == "block_actions" && !o.contains_key("container") {
                let mts = o.get("message").and_then(|m| m.get("ts")).cloned();
                let cid = o.get("channel").and_then(|c| c.get("id")).cloned();
                if let Some(mts) = mts {
                    o.insert(
                        "container".into(),
                        json!({"type": "message", "message_ts": mts,
                               "channel_id": cid, "is_ephemeral": false}),
                    );
                }
            }
        }
        let envelope_id = inner.new_envelope_id();
        let accepts = matches!(ty.as_str(), "view_submission" | "block_suggestion");
        let env = json!({
            "envelope_id": envelope_id,
            "type": "interactive",
            "accepts_response_payload": accepts,
            "payload": payload
        });
        st.sent.insert(
            envelope_id.clone(),
            SentInfo {
                chain: None,
                written_at: None,
            },
        );
        inner.deliver(&mut st, env);
        drop(st);
        inner.changed();
        envelope_id
    }

    /// Sends `{"type":"disconnect","reason":…}` to every open socket, stops
    /// routing new envelopes to them, and closes them (close frame) after
    /// [`FakeConfig::disconnect_close_delay`].
    pub async fn send_disconnect(&self, reason: &str) {
        let frame = json!({"type": "disconnect", "reason": reason,
                           "debug_info": {"host": "fake"}})
        .to_string();
        let delay = self.inner.cfg.disconnect_close_delay;
        let mut st = self.inner.lock();
        for c in st.conns.iter_mut().filter(|c| !c.draining) {
            c.draining = true;
            let _ = c.tx.send(ConnCmd::Disconnect {
                frame: frame.clone(),
                close_after: delay,
            });
        }
        drop(st);
        self.inner.changed();
    }

    /// Closes every socket abruptly (TCP close, no WebSocket close frame).
    /// Unwritten envelopes are requeued; written-but-unacked events_api
    /// envelopes are redelivered on timeout as usual.
    pub async fn drop_connections(&self) {
        let mut st = self.inner.lock();
        for c in st.conns.drain(..) {
            let _ = c.tx.send(ConnCmd::Drop);
        }
        drop(st);
        self.inner.changed();
    }

    /// Envelopes waiting for a connection.
    pub fn pending(&self) -> usize {
        self.inner.lock().pending.len()
    }

    /// Every envelope frame written, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.lock().deliveries.clone()
    }

    /// Every ack read, in order.
    pub fn acks(&self) -> Vec<Ack> {
        self.inner.lock().acks.clone()
    }

    pub async fn wait_acks(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, || self.inner.lock().acks.len() >= n)
            .await
    }

    /// Waits until `n` envelope frames have been written in total.
    pub async fn wait_deliveries(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, || self.inner.lock().deliveries.len() >= n)
            .await
    }

    // ----- Web API ---------------------------------------------------------

    /// Successful chat.postMessage and chat.update calls, in order.
    pub fn posted(&self) -> Vec<PostedMessage> {
        self.inner.lock().posted.clone()
    }

    /// Rejected chat.postMessage / chat.update / chat.postEphemeral calls
    /// (validation errors, rate limits, auth, injected failures).
    pub fn rejected(&self) -> Vec<PostedMessage> {
        self.inner.lock().rejected.clone()
    }

    /// Successful chat.postEphemeral calls.
    pub fn ephemerals(&self) -> Vec<PostedMessage> {
        self.inner.lock().ephemerals.clone()
    }

    pub async fn wait_posted(
        &self,
        pred: impl Fn(&[PostedMessage]) -> bool,
        timeout: Duration,
    ) -> bool {
        self.wait_until(timeout, || pred(&self.posted())).await
    }

    /// Current state of the thread containing `ts` (root first, then replies
    /// in ts order); empty if there is no such message.
    pub fn thread(&self, channel: &str, ts: &str) -> Vec<StoredMessage> {
        let st = self.inner.lock();
        let Some(root) = Inner::thread_root(&st, channel, ts) else {
            return vec![];
        };
        Inner::thread_messages(&st, channel, &root)
            .iter()
            .map(|m| StoredMessage::from_raw(channel, m))
            .collect()
    }

    /// All stored messages of a channel (threads included), oldest first.
    pub fn history(&self, channel: &str) -> Vec<StoredMessage> {
        let st = self.inner.lock();
        st.channels
            .get(channel)
            .map(|c| {
                c.values()
                    .map(|m| StoredMessage::from_raw(channel, m))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Pre-loads a message into a channel (for catch-up tests). A missing `ts`
    /// is assigned; `type` defaults to `message`. Replies (`thread_ts` ≠ `ts`)
    /// update their parent's reply metadata. Returns the message's ts.
    pub fn seed_history(&self, channel: &str, msg: Value) -> String {
        let inner = &self.inner;
        let mut st = inner.lock();
        let mut msg = match msg {
            Value::Object(o) => Value::Object(o),
            other => json!({"text": other.to_string()}),
        };
        let ts = match msg.get("ts").and_then(Value::as_str) {
            Some(ts) => ts.to_string(),
            None => inner.next_ts(&mut st),
        };
        if let Some(o) = msg.as_object_mut() {
            o.insert("ts".into(), json!(ts));
            o.entry("type").or_insert(json!("message"));
            o.remove("channel");
        }
        Inner::store_message(&mut st, channel, msg);
        drop(st);
        inner.changed();
        ts
    }

    /// The next `n` calls of `method` answer HTTP 429, `Retry-After:
    /// retry_after_secs`, `{"ok":false,"error":"ratelimited"}`.
    pub fn rate_limit_next(&self, method: &str, n: usize, retry_after_secs: u64) {
        self.inner
            .lock()
            .rate_limits
            .insert(method.to_string(), (n, retry_after_secs));
    }

    /// The next `n` (authenticated) calls of `method` answer HTTP 200
    /// `{"ok":false,"error":error}` (e.g. `not_in_channel`, `channel_not_found`).
    pub fn fail_next(&self, method: &str, error: &str, n: usize) {
        let mut st = self.inner.lock();
        let q = st.failures.entry(method.to_string()).or_default();
        for _ in 0..n {
            q.push_back(error.to_string());
        }
    }

    /// From now on, answer bot-token Web API calls with random 429s and 500s.
    pub fn set_faults(&self, faults: Faults) {
        self.inner.lock().faults = faults;
    }

    /// Faults injected so far, by kind (`429`, `500`).
    pub fn faults_injected(&self) -> HashMap<&'static str, usize> {
        self.inner.lock().faults_injected.clone()
    }

    /// Events sent with redelivery tracking that no ack has answered yet (any attempt).
    pub fn unacked_events(&self) -> usize {
        let st = self.inner.lock();
        (st.next_chain as usize).saturating_sub(st.acked_chains.len())
    }

    /// JSON bodies POSTed to response_urls handed out with slash commands and
    /// interactions, in order.
    pub fn response_url_posts(&self) -> Vec<Value> {
        self.inner.lock().response_url_posts.clone()
    }

    /// HTTP calls made to `method` (all outcomes, including 429s and errors).
    /// `"response_url"` counts response_url POSTs.
    pub fn calls(&self, method: &str) -> usize {
        self.inner.lock().calls.get(method).copied().unwrap_or(0)
    }

    pub async fn wait_calls(&self, method: &str, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, || self.calls(method) >= n).await
    }
}
