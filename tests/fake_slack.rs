//! Self-test of the fake Slack in `tests/support/fake_slack.rs`.
//!
//! Drives the fake the way Slack clients do: a raw tokio-tungstenite WebSocket
//! client plus a minimal HTTP/1.1 client over `TcpStream` (Socket Mode protocol,
//! acks, redelivery, disconnects, Web API shapes, errors, rate limits), then
//! slack-morphism's own Web API client and Socket Mode listener, which is what
//! the bot uses. If these pass, tests of the bot can trust the fake.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use support::fake_slack::{FakeConfig, FakeSlack};

const T: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------
// A tiny HTTP/1.1 client (Connection: close), enough for the fake.
// ---------------------------------------------------------------------------

struct HttpResp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl HttpResp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn dechunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(pos) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_line = String::from_utf8_lossy(&rest[..pos]);
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        rest = &rest[pos + 2..];
        if size == 0 || rest.len() < size {
            break;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[(size + 2).min(rest.len())..];
    }
    out
}

async fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> HttpResp {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(hostport).await.expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    HttpResp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// POST form-urlencoded with a Bearer token, as Slack's docs show.
async fn api_form(fake: &FakeSlack, method: &str, token: &str, form: &[(&str, &str)]) -> HttpResp {
    let auth = format!("Bearer {token}");
    http(
        "POST",
        &fake.method_url(method),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &form_encode(form),
    )
    .await
}

/// POST JSON with a Bearer token, as slack-morphism does.
async fn api_json(fake: &FakeSlack, method: &str, token: &str, body: Value) -> HttpResp {
    let auth = format!("Bearer {token}");
    http(
        "POST",
        &fake.method_url(method),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json; charset=utf-8"),
        ],
        &body.to_string(),
    )
    .await
}

/// GET with query parameters, as slack-morphism does for read methods.
async fn api_get(fake: &FakeSlack, method: &str, token: &str, query: &[(&str, &str)]) -> HttpResp {
    let auth = format!("Bearer {token}");
    let url = format!("{}?{}", fake.method_url(method), form_encode(query));
    http("GET", &url, &[("Authorization", &auth)], "").await
}

// ---------------------------------------------------------------------------
// Raw Socket Mode client
// ---------------------------------------------------------------------------

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn open_socket(fake: &FakeSlack) -> (Ws, Value) {
    let r = api_form(fake, "apps.connections.open", fake.app_token(), &[]).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["ok"], true, "{v}");
    let url = v["url"].as_str().expect("url").to_string();
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
    assert!(url.contains("/link/?ticket="), "{url}");
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("ws connect");
    let hello = next_json(&mut ws).await.expect("hello");
    (ws, hello)
}

/// Next text frame as JSON; None on close/EOF/error or after 5 s.
async fn next_json(ws: &mut Ws) -> Option<Value> {
    next_json_within(ws, T).await
}

async fn next_json_within(ws: &mut Ws, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                return Some(serde_json::from_str(t.as_str()).expect("JSON frame"));
            }
            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => {
                return None;
            }
            Ok(Some(Ok(_))) => continue,
        }
    }
}

async fn ack(ws: &mut Ws, envelope: &Value, payload: Option<Value>) {
    let mut a = json!({"envelope_id": envelope["envelope_id"]});
    if let Some(p) = payload {
        a["payload"] = p;
    }
    ws.send(Message::text(a.to_string()))
        .await
        .expect("send ack");
}

fn alert_event(channel: &str, text: &str) -> Value {
    json!({
        "type": "message", "subtype": "bot_message", "bot_id": "B0AM",
        "username": "Alertmanager", "text": "", "channel": channel, "channel_type": "channel",
        "attachments": [{"id": 1, "color": "danger", "title": text, "fallback": text}]
    })
}

// ---------------------------------------------------------------------------
// Socket Mode tests (raw client)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn hello_event_and_ack_are_recorded() {
    let fake = FakeSlack::start().await;
    let (mut ws, hello) = open_socket(&fake).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["num_connections"], 1);
    assert_eq!(hello["connection_info"]["app_id"], fake.app_id());
    assert_eq!(hello["debug_info"]["approximate_connection_time"], 18060);
    assert!(fake.wait_connected(1, T).await);

    let event_id = fake
        .send_event(alert_event("C0ALERTS", "[FIRING:1] HighErrorRate api"))
        .await;
    assert!(event_id.starts_with("Ev"), "{event_id}");
    let env = next_json(&mut ws).await.expect("envelope");
    assert_eq!(env["type"], "events_api");
    assert_eq!(env["accepts_response_payload"], false);
    assert_eq!(env["retry_attempt"], 0);
    assert_eq!(env["retry_reason"], "");
    assert_eq!(env["payload"]["type"], "event_callback");
    assert_eq!(env["payload"]["event_id"], event_id.as_str());
    assert_eq!(env["payload"]["team_id"], fake.team_id());
    assert_eq!(env["payload"]["api_app_id"], fake.app_id());
    assert_eq!(
        env["payload"]["authorizations"][0]["user_id"],
        fake.bot_user_id()
    );
    let ev = &env["payload"]["event"];
    assert_eq!(ev["subtype"], "bot_message");
    let ts = ev["ts"].as_str().expect("ts filled in").to_string();
    assert_eq!(ev["event_ts"], ts.as_str());

    ack(&mut ws, &env, None).await;
    assert!(fake.wait_acks(1, T).await);
    let acks = fake.acks();
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].envelope_id, env["envelope_id"].as_str().unwrap());
    assert!(acks[0].payload.is_none());
    let latency = acks[0].latency.expect("latency");
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    assert_eq!(fake.deliveries().len(), 1);

    // The event's message is in the channel history.
    let r = api_get(
        &fake,
        "conversations.history",
        fake.bot_token(),
        &[("channel", "C0ALERTS")],
    )
    .await;
    let v = r.json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["messages"][0]["ts"], ts.as_str());
    assert_eq!(v["messages"][0]["bot_id"], "B0AM");

    // Garbage frames are ignored, the socket stays usable.
    ws.send(Message::text("not json")).await.unwrap();
    ws.send(Message::text("{\"no\":\"envelope\"}"))
        .await
        .unwrap();
    ws.send(Message::Binary(vec![1u8, 2, 3].into()))
        .await
        .unwrap();
    // Ping is answered with Pong.
    ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
    let pong = tokio::time::timeout(T, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Pong(p))) => return p,
                Some(Ok(_)) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await
    .expect("pong");
    assert_eq!(&pong[..], b"hi");
    fake.send_event(
        json!({"type": "app_mention", "channel": "C1", "user": "U1", "text": "<@U0FAKEBOT> hi"}),
    )
    .await;
    let env2 = next_json(&mut ws).await.expect("second envelope");
    assert_eq!(env2["payload"]["event"]["type"], "app_mention");
    assert_eq!(fake.acks().len(), 1);
}

#[tokio::test]
async fn unacked_events_are_redelivered_with_same_event_id() {
    let fake = FakeSlack::start_with(FakeConfig {
        redeliver_after: Duration::from_millis(300),
        ..FakeConfig::default()
    })
    .await;
    let (mut ws, _) = open_socket(&fake).await;

    let event_id = fake.send_event(alert_event("C0ALERTS", "disk full")).await;
    let first = next_json(&mut ws).await.expect("first");
    let t0 = Instant::now();
    let retry = next_json(&mut ws).await.expect("redelivery");
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert_eq!(retry["type"], "events_api");
    assert_eq!(retry["retry_attempt"], 1);
    assert_eq!(retry["retry_reason"], "timeout");
    assert_eq!(retry["payload"]["event_id"], event_id.as_str());
    assert_eq!(retry["payload"]["event"], first["payload"]["event"]);
    assert_ne!(retry["envelope_id"], first["envelope_id"]);

    ack(&mut ws, &retry, None).await;
    assert!(fake.wait_acks(1, T).await);
    // Acked: no further redelivery.
    assert!(
        next_json_within(&mut ws, Duration::from_millis(900))
            .await
            .is_none()
    );
    assert_eq!(fake.deliveries().len(), 2);
}

#[tokio::test]
async fn redelivery_gives_up_after_three_retries() {
    let fake = FakeSlack::start_with(FakeConfig {
        redeliver_after: Duration::from_millis(100),
        ..FakeConfig::default()
    })
    .await;
    let (mut ws, _) = open_socket(&fake).await;
    let event_id = fake.send_event(alert_event("C0ALERTS", "x")).await;
    let mut attempts = vec![];
    while let Some(env) = next_json_within(&mut ws, Duration::from_millis(600)).await {
        assert_eq!(env["payload"]["event_id"], event_id.as_str());
        attempts.push(env["retry_attempt"].as_u64().unwrap());
    }
    assert_eq!(attempts, vec![0, 1, 2, 3]);
}

#[tokio::test]
async fn late_ack_of_original_stops_redelivery() {
    let fake = FakeSlack::start_with(FakeConfig {
        redeliver_after: Duration::from_millis(200),
        ..FakeConfig::default()
    })
    .await;
    let (mut ws, _) = open_socket(&fake).await;
    fake.send_event(alert_event("C0ALERTS", "x")).await;
    let first = next_json(&mut ws).await.unwrap();
    let retry = next_json(&mut ws).await.unwrap();
    assert_eq!(retry["retry_attempt"], 1);
    ack(&mut ws, &first, None).await;
    assert!(
        next_json_within(&mut ws, Duration::from_millis(700))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn envelopes_queue_while_disconnected_and_go_to_one_connection() {
    let fake = FakeSlack::start().await;
    assert_eq!(fake.connections(), 0);
    let queued = fake.send_event(alert_event("C0ALERTS", "queued")).await;
    assert_eq!(fake.pending(), 1);
    let (mut a, hello_a) = open_socket(&fake).await;
    assert_eq!(hello_a["num_connections"], 1);
    let env = next_json(&mut a).await.expect("queued envelope");
    assert_eq!(env["payload"]["event_id"], queued.as_str());
    ack(&mut a, &env, None).await;

    let (mut b, hello_b) = open_socket(&fake).await;
    assert_eq!(hello_b["num_connections"], 2);
    assert!(fake.wait_connected(2, T).await);
    let e1 = fake.send_event(alert_event("C0ALERTS", "one")).await;
    let e2 = fake.send_event(alert_event("C0ALERTS", "two")).await;
    let got_a = next_json(&mut a).await.expect("a");
    let got_b = next_json(&mut b).await.expect("b");
    let mut ids = vec![
        got_a["payload"]["event_id"].as_str().unwrap().to_string(),
        got_b["payload"]["event_id"].as_str().unwrap().to_string(),
    ];
    ids.sort();
    let mut want = vec![e1, e2];
    want.sort();
    assert_eq!(ids, want, "round-robin: one envelope per connection");
    // Nothing else arrives: no broadcast.
    ack(&mut a, &got_a, None).await;
    ack(&mut b, &got_b, None).await;
    assert!(
        next_json_within(&mut a, Duration::from_millis(200))
            .await
            .is_none()
    );
    assert!(
        next_json_within(&mut b, Duration::from_millis(200))
            .await
            .is_none()
    );
    assert!(fake.wait_acks(3, T).await);
    let conns: Vec<u64> = fake.acks().iter().map(|a| a.connection).collect();
    assert_ne!(conns[1], conns[2]);
}

#[tokio::test]
async fn tickets_are_single_use() {
    let fake = FakeSlack::start().await;
    let v = api_form(&fake, "apps.connections.open", fake.app_token(), &[])
        .await
        .json();
    let url = v["url"].as_str().unwrap().to_string();
    let (_ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("first use");
    assert!(
        tokio_tungstenite::connect_async(url.as_str())
            .await
            .is_err()
    );
    let bad = format!("ws://{}/link/?ticket=forged", fake.ws_addr());
    assert!(
        tokio_tungstenite::connect_async(bad.as_str())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn disconnect_frame_then_close_and_new_connection_gets_traffic() {
    let fake = FakeSlack::start_with(FakeConfig {
        disconnect_close_delay: Duration::from_millis(300),
        ..FakeConfig::default()
    })
    .await;
    let (mut old, _) = open_socket(&fake).await;
    assert!(fake.wait_connected(1, T).await);
    fake.send_disconnect("refresh_requested").await;
    let d = next_json(&mut old).await.expect("disconnect frame");
    assert_eq!(d["type"], "disconnect");
    assert_eq!(d["reason"], "refresh_requested");
    assert!(d["debug_info"]["host"].is_string());
    assert_eq!(
        fake.connections(),
        0,
        "draining sockets get no new envelopes"
    );
    assert_eq!(fake.sockets(), 1);

    // An event sent now waits for the new connection.
    let ev = fake
        .send_event(alert_event("C0ALERTS", "after refresh"))
        .await;
    let (mut new, _) = open_socket(&fake).await;
    let env = next_json(&mut new).await.expect("event on new socket");
    assert_eq!(env["payload"]["event_id"], ev.as_str());

    // The old socket is closed with a close frame after the delay.
    let t0 = Instant::now();
    let closed = tokio::time::timeout(T, async {
        loop {
            match old.next().await {
                Some(Ok(Message::Close(_))) => return true,
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return false,
            }
        }
    })
    .await
    .expect("close in time");
    assert!(closed, "graceful close frame expected");
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert!(fake.wait_until(T, || fake.sockets() == 1).await);
    assert_eq!(fake.calls("apps.connections.open"), 2);
}

#[tokio::test]
async fn drop_connections_closes_without_close_frame() {
    let fake = FakeSlack::start().await;
    let (mut ws, _) = open_socket(&fake).await;
    assert!(fake.wait_connected(1, T).await);
    fake.drop_connections().await;
    assert_eq!(fake.connections(), 0);
    let end = tokio::time::timeout(T, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) => return "close",
                Some(Ok(_)) => continue,
                Some(Err(_)) => return "error",
                None => return "eof",
            }
        }
    })
    .await
    .expect("socket ends");
    assert_ne!(end, "close", "abrupt drop must not send a close frame");
}

#[tokio::test]
async fn slash_command_and_interactive_envelopes() {
    let fake = FakeSlack::start().await;
    let (mut ws, _) = open_socket(&fake).await;
    let eid = fake
        .send_slash_command("/rca", "why is api down", "C0ALERTS", "U0HUMAN")
        .await;
    let env = next_json(&mut ws).await.unwrap();
    assert_eq!(env["type"], "slash_commands");
    assert_eq!(env["envelope_id"], eid.as_str());
    assert_eq!(env["accepts_response_payload"], true);
    assert!(env.get("retry_attempt").is_none());
    let p = &env["payload"];
    assert_eq!(p["command"], "/rca");
    assert_eq!(p["text"], "why is api down");
    assert_eq!(p["channel_id"], "C0ALERTS");
    assert_eq!(p["user_id"], "U0HUMAN");
    assert!(p["trigger_id"].is_string());
    let response_url = p["response_url"].as_str().unwrap().to_string();
    ack(&mut ws, &env, Some(json!({"text": "working on it"}))).await;
    assert!(fake.wait_acks(1, T).await);
    assert_eq!(
        fake.acks()[0].payload,
        Some(json!({"text": "working on it"}))
    );

    let r = http(
        "POST",
        &response_url,
        &[("Content-Type", "application/json")],
        &json!({"response_type": "in_channel", "text": "RCA: pool exhausted"}).to_string(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        fake.response_url_posts(),
        vec![json!({"response_type": "in_channel", "text": "RCA: pool exhausted"})]
    );
    for _ in 0..4 {
        http(
            "POST",
            &response_url,
            &[("Content-Type", "application/json")],
            "{\"text\":\"x\"}",
        )
        .await;
    }
    let sixth = http(
        "POST",
        &response_url,
        &[("Content-Type", "application/json")],
        "{\"text\":\"x\"}",
    )
    .await;
    assert_eq!(sixth.json()["error"], "used_url");
    assert_eq!(fake.response_url_posts().len(), 5);

    let iid = fake
        .send_interactive(json!({
            "type": "block_actions",
            "channel": {"id": "C0ALERTS", "name": "alerts"},
            "message": {"type": "message", "ts": "1760000000.000100", "text": "RCA"},
            "actions": [{"type": "button", "action_id": "rerun", "block_id": "b1",
                         "value": "x", "action_ts": "1760000001.000000"}]
        }))
        .await;
    let env = next_json(&mut ws).await.unwrap();
    assert_eq!(env["type"], "interactive");
    assert_eq!(env["envelope_id"], iid.as_str());
    assert_eq!(env["accepts_response_payload"], false);
    assert_eq!(
        env["payload"]["container"]["message_ts"],
        "1760000000.000100"
    );
    assert!(env["payload"]["response_url"].is_string());
    assert_eq!(env["payload"]["team"]["id"], fake.team_id());
}

// ---------------------------------------------------------------------------
// Web API tests (raw HTTP)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn auth_errors_and_unknown_method() {
    let fake = FakeSlack::start().await;
    let r = api_form(&fake, "auth.test", "xoxb-wrong", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"ok": false, "error": "invalid_auth"}));
    let r = api_form(&fake, "apps.connections.open", "xapp-wrong", &[]).await;
    assert_eq!(r.json()["error"], "invalid_auth");
    let r = http("POST", &fake.method_url("auth.test"), &[], "").await;
    assert_eq!(r.json()["error"], "not_authed");
    let r = api_form(&fake, "apps.connections.open", fake.bot_token(), &[]).await;
    assert_eq!(r.json()["error"], "not_allowed_token_type");
    let r = api_form(
        &fake,
        "chat.postMessage",
        fake.app_token(),
        &[("channel", "C1"), ("text", "x")],
    )
    .await;
    assert_eq!(r.json()["error"], "not_allowed_token_type");
    let r = api_form(&fake, "no.such.method", fake.bot_token(), &[]).await;
    assert_eq!(r.json()["error"], "unknown_method");
    // token as a form parameter works too (legacy style).
    let r = http(
        "POST",
        &fake.method_url("auth.test"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form_encode(&[("token", fake.bot_token())]),
    )
    .await;
    let v = r.json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["user_id"], fake.bot_user_id());
    assert_eq!(v["bot_id"], fake.bot_id());
    assert_eq!(v["team_id"], fake.team_id());
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    // A base URL configured with a trailing slash ("…/api/") still works.
    let r = http(
        "GET",
        &format!("{}//auth.test", fake.api_url()),
        &[("Authorization", &format!("Bearer {}", fake.bot_token()))],
        "",
    )
    .await;
    assert_eq!(r.json()["ok"], true, "{}", r.body);
    assert_eq!(fake.calls("auth.test"), 4);
    // Malformed JSON body.
    let r = http(
        "POST",
        &fake.method_url("chat.postMessage"),
        &[
            ("Authorization", &format!("Bearer {}", fake.bot_token())),
            ("Content-Type", "application/json"),
        ],
        "{not json",
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_json");
}

#[tokio::test]
async fn post_reply_update_and_read_back() {
    let fake = FakeSlack::start().await;
    let parent_ts = fake.seed_history(
        "C0ALERTS",
        json!({"type": "message", "subtype": "bot_message", "bot_id": "B0AM", "text": "[FIRING:1] x",
               "ts": "1760000000.000100"}),
    );
    assert_eq!(parent_ts, "1760000000.000100");

    // Form-encoded post with blocks as a JSON string.
    let blocks = json!([{"type": "header", "text": {"type": "plain_text", "text": "RCA"}},
                        {"type": "section", "text": {"type": "mrkdwn", "text": "*cause*: pool"}}]);
    let r = api_form(
        &fake,
        "chat.postMessage",
        fake.bot_token(),
        &[
            ("channel", "C0ALERTS"),
            ("thread_ts", &parent_ts),
            ("text", "RCA ready"),
            ("blocks", &blocks.to_string()),
        ],
    )
    .await;
    let v = r.json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["channel"], "C0ALERTS");
    let reply_ts = v["ts"].as_str().unwrap().to_string();
    assert!(reply_ts > parent_ts);
    assert_eq!(v["message"]["user"], fake.bot_user_id());
    assert_eq!(v["message"]["bot_id"], fake.bot_id());
    assert_eq!(v["message"]["thread_ts"], parent_ts.as_str());
    assert!(v["message"]["blocks"][0]["block_id"].is_string());

    // JSON post, a second reply; ts strictly increasing.
    let r = api_json(
        &fake,
        "chat.postMessage",
        fake.bot_token(),
        json!({"channel": "C0ALERTS", "thread_ts": parent_ts, "text": "second"}),
    )
    .await;
    let v2 = r.json();
    assert_eq!(v2["ok"], true, "{v2}");
    let reply2_ts = v2["ts"].as_str().unwrap().to_string();
    assert!(reply2_ts > reply_ts);

    let posted = fake.posted();
    assert_eq!(posted.len(), 2);
    assert_eq!(posted[0].method, "chat.postMessage");
    assert_eq!(posted[0].thread_ts.as_deref(), Some(parent_ts.as_str()));
    assert_eq!(posted[0].blocks, blocks);
    assert_eq!(posted[1].text.as_deref(), Some("second"));
    assert_eq!(posted[1].blocks, Value::Null);

    // conversations.replies (GET with query) shows parent + both replies.
    let v = api_get(
        &fake,
        "conversations.replies",
        fake.bot_token(),
        &[("channel", "C0ALERTS"), ("ts", &parent_ts)],
    )
    .await
    .json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["has_more"], false);
    assert_eq!(v["response_metadata"]["next_cursor"], "");
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[0]["ts"], parent_ts.as_str());
    assert_eq!(msgs[0]["reply_count"], 2);
    assert_eq!(msgs[0]["latest_reply"], reply2_ts.as_str());
    assert_eq!(msgs[1]["user"], fake.bot_user_id());
    assert_eq!(msgs[1]["text"], "RCA ready");

    // chat.update changes the stored reply.
    let v = api_json(
        &fake,
        "chat.update",
        fake.bot_token(),
        json!({"channel": "C0ALERTS", "ts": reply_ts, "text": "RCA updated"}),
    )
    .await
    .json();
    assert_eq!(v["ok"], true, "{v}");
    let thread = fake.thread("C0ALERTS", &parent_ts);
    assert_eq!(thread.len(), 3);
    assert_eq!(thread[1].text.as_deref(), Some("RCA updated"));
    assert!(thread[1].edited);
    assert_eq!(thread[1].blocks, Value::Null);
    assert_eq!(fake.posted().last().unwrap().method, "chat.update");
    assert!(fake.wait_posted(|p| p.len() == 3, T).await);

    // Updates of missing or foreign messages fail like Slack.
    let v = api_json(
        &fake,
        "chat.update",
        fake.bot_token(),
        json!({"channel": "C0ALERTS", "ts": "1.000001", "text": "x"}),
    )
    .await
    .json();
    assert_eq!(v["error"], "message_not_found");
    let v = api_json(
        &fake,
        "chat.update",
        fake.bot_token(),
        json!({"channel": "C0ALERTS", "ts": parent_ts, "text": "x"}),
    )
    .await
    .json();
    assert_eq!(v["error"], "cant_update_message");
    assert_eq!(fake.rejected().len(), 2);

    // history: top-level only, newest first.
    let top = fake.seed_history("C0ALERTS", json!({"user": "U0HUMAN", "text": "later"}));
    let v = api_get(
        &fake,
        "conversations.history",
        fake.bot_token(),
        &[("channel", "C0ALERTS")],
    )
    .await
    .json();
    let msgs = v["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2, "{v}");
    assert_eq!(msgs[0]["ts"], top.as_str());
    assert_eq!(msgs[1]["ts"], parent_ts.as_str());
    let v = api_get(
        &fake,
        "conversations.history",
        fake.bot_token(),
        &[("channel", "C0ALERTS"), ("oldest", &parent_ts)],
    )
    .await
    .json();
    assert_eq!(v["messages"].as_array().unwrap().len(), 1);
    let v = api_get(
        &fake,
        "conversations.history",
        fake.bot_token(),
        &[("channel", "C0ALERTS"), ("limit", "1")],
    )
    .await
    .json();
    assert_eq!(v["has_more"], true);
    let cursor = v["response_metadata"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let v = api_get(
        &fake,
        "conversations.history",
        fake.bot_token(),
        &[("channel", "C0ALERTS"), ("limit", "1"), ("cursor", &cursor)],
    )
    .await
    .json();
    assert_eq!(v["messages"][0]["ts"], parent_ts.as_str());
    assert_eq!(v["has_more"], false);

    // permalink, info, ephemeral.
    let v = api_get(
        &fake,
        "chat.getPermalink",
        fake.bot_token(),
        &[("channel", "C0ALERTS"), ("message_ts", &parent_ts)],
    )
    .await
    .json();
    assert_eq!(
        v["permalink"],
        "https://fake.slack.com/archives/C0ALERTS/p1760000000000100"
    );
    let v = api_get(
        &fake,
        "conversations.info",
        fake.bot_token(),
        &[("channel", "C0ALERTS")],
    )
    .await
    .json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["channel"]["id"], "C0ALERTS");
    assert_eq!(v["channel"]["is_member"], true);
    let v = api_json(
        &fake,
        "chat.postEphemeral",
        fake.bot_token(),
        json!({"channel": "C0ALERTS", "user": "U0HUMAN", "text": "only you"}),
    )
    .await
    .json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(fake.ephemerals()[0].user.as_deref(), Some("U0HUMAN"));
    assert_eq!(fake.posted().len(), 3, "ephemeral is not in posted()");
}

#[tokio::test]
async fn block_kit_limits_are_enforced() {
    let fake = FakeSlack::start().await;
    let post = |blocks: Value| {
        let fake = fake.clone();
        async move {
            api_json(
                &fake,
                "chat.postMessage",
                fake.bot_token(),
                json!({"channel": "C1", "text": "t", "blocks": blocks}),
            )
            .await
            .json()
        }
    };
    let divider = json!({"type": "divider"});
    let ok50 = Value::Array(vec![divider.clone(); 50]);
    assert_eq!(post(ok50).await["ok"], true);
    let v = post(Value::Array(vec![divider; 51])).await;
    assert_eq!(v["error"], "invalid_blocks");
    assert!(v["errors"][0].is_string());
    let long_header = "h".repeat(151);
    let v = post(json!([{"type": "header", "text": {"type": "plain_text", "text": long_header}}]))
        .await;
    assert_eq!(v["error"], "invalid_blocks");
    let v =
        post(json!([{"type": "header", "text": {"type": "plain_text", "text": "h".repeat(150)}}]))
            .await;
    assert_eq!(v["ok"], true, "{v}");
    let v =
        post(json!([{"type": "section", "text": {"type": "mrkdwn", "text": "s".repeat(3001)}}]))
            .await;
    assert_eq!(v["error"], "invalid_blocks");
    let v =
        post(json!([{"type": "section", "text": {"type": "mrkdwn", "text": "s".repeat(3000)}}]))
            .await;
    assert_eq!(v["ok"], true, "{v}");
    let v = post(json!([{"type": "nonsense"}])).await;
    assert_eq!(v["error"], "invalid_blocks");
    let v = api_json(
        &fake,
        "chat.postMessage",
        fake.bot_token(),
        json!({"text": "no channel"}),
    )
    .await
    .json();
    assert_eq!(v["error"], "channel_not_found");
    let v = api_json(
        &fake,
        "chat.postMessage",
        fake.bot_token(),
        json!({"channel": "C1"}),
    )
    .await
    .json();
    assert_eq!(v["error"], "no_text");
    assert_eq!(fake.posted().len(), 3);
    assert_eq!(fake.rejected().len(), 6);
    assert_eq!(fake.rejected()[0].error.as_deref(), Some("invalid_blocks"));
}

#[tokio::test]
async fn rate_limit_and_injected_failures() {
    let fake = FakeSlack::start().await;
    fake.rate_limit_next("chat.postMessage", 2, 7);
    for _ in 0..2 {
        let r = api_json(
            &fake,
            "chat.postMessage",
            fake.bot_token(),
            json!({"channel": "C1", "text": "x"}),
        )
        .await;
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after"), Some("7"));
        assert_eq!(r.json(), json!({"ok": false, "error": "ratelimited"}));
    }
    let r = api_json(
        &fake,
        "chat.postMessage",
        fake.bot_token(),
        json!({"channel": "C1", "text": "x"}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["ok"], true);
    assert_eq!(fake.calls("chat.postMessage"), 3);
    assert_eq!(fake.posted().len(), 1);
    assert_eq!(fake.rejected()[0].error.as_deref(), Some("ratelimited"));

    fake.fail_next("chat.postMessage", "not_in_channel", 1);
    let r = api_json(
        &fake,
        "chat.postMessage",
        fake.bot_token(),
        json!({"channel": "C1", "text": "x"}),
    )
    .await;
    assert_eq!(r.json()["error"], "not_in_channel");
    let r = api_json(
        &fake,
        "chat.postMessage",
        fake.bot_token(),
        json!({"channel": "C1", "text": "x"}),
    )
    .await;
    assert_eq!(r.json()["ok"], true);
}

#[tokio::test]
async fn events_update_history_and_echo_own_messages() {
    let fake = FakeSlack::start_with(FakeConfig {
        echo_own_messages: true,
        ..FakeConfig::default()
    })
    .await;
    let (mut ws, _) = open_socket(&fake).await;
    fake.send_event(json!({"type": "message", "channel": "C1", "user": "U1", "text": "a", "ts": "1760000000.000100"}))
        .await;
    let _ = next_json(&mut ws).await.unwrap();
    fake.send_event(json!({"type": "message", "subtype": "message_changed", "channel": "C1", "hidden": true,
                           "message": {"type": "message", "user": "U1", "text": "a2", "ts": "1760000000.000100"}}))
        .await;
    let _ = next_json(&mut ws).await.unwrap();
    assert_eq!(
        fake.thread("C1", "1760000000.000100")[0].text.as_deref(),
        Some("a2")
    );

    let v = api_json(
        &fake,
        "chat.postMessage",
        fake.bot_token(),
        json!({"channel": "C1", "thread_ts": "1760000000.000100", "text": "mine"}),
    )
    .await
    .json();
    assert_eq!(v["ok"], true);
    let echo = next_json(&mut ws).await.expect("echo of own message");
    let ev = &echo["payload"]["event"];
    assert_eq!(ev["type"], "message");
    assert_eq!(ev["user"], fake.bot_user_id());
    assert_eq!(ev["bot_id"], fake.bot_id());
    assert_eq!(ev["thread_ts"], "1760000000.000100");
    assert_eq!(ev["channel"], "C1");
    assert_eq!(fake.thread("C1", "1760000000.000100").len(), 2);
}

// ---------------------------------------------------------------------------
// slack-morphism against the fake
// ---------------------------------------------------------------------------

use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn morphism_client(fake: &FakeSlack) -> Arc<SlackHyperClient> {
    install_crypto();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .expect("native roots")
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    Arc::new(SlackClient::new(
        SlackClientHyperConnector::with_connector(https).with_slack_api_url(&fake.api_url()),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_morphism_web_api_against_fake() {
    let fake = FakeSlack::start().await;
    let client = morphism_client(&fake);
    let token = SlackApiToken::new(SlackApiTokenValue::new(fake.bot_token().to_string()));
    let session = client.open_session(&token);

    let me = session.auth_test().await.expect("auth.test");
    assert_eq!(me.user_id.0, fake.bot_user_id());
    assert_eq!(
        me.bot_id.as_ref().map(|b| b.0.as_str()),
        Some(fake.bot_id())
    );
    assert_eq!(me.team_id.0, fake.team_id());

    let parent = fake.seed_history(
        "C0ALERTS",
        json!({"subtype": "bot_message", "bot_id": "B0AM", "username": "Alertmanager", "text": "",
               "attachments": [{"id": 1, "title": "[FIRING:1] DiskFull", "fallback": "[FIRING:1] DiskFull"}]}),
    );
    let req = SlackApiChatPostMessageRequest::new(
        SlackChannelId::new("C0ALERTS".into()),
        SlackMessageContent::new()
            .with_text("RCA: disk full".into())
            .with_blocks(vec![
                SlackBlock::Header(SlackHeaderBlock::new(pt!("Root cause"))),
                SlackBlock::Section(SlackSectionBlock::new().with_text(md!("*Disk* is full"))),
            ]),
    )
    .with_thread_ts(SlackTs::new(parent.clone()));
    let res = session
        .chat_post_message(&req)
        .await
        .expect("chat.postMessage");
    assert_eq!(res.channel.0, "C0ALERTS");
    let posted = fake.posted();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].thread_ts.as_deref(), Some(parent.as_str()));
    assert_eq!(posted[0].text.as_deref(), Some("RCA: disk full"));
    assert_eq!(posted[0].blocks[0]["type"], "header");
    assert_eq!(posted[0].blocks[1]["text"]["type"], "mrkdwn");
    assert_eq!(posted[0].ts, res.ts.0);

    let replies = session
        .conversations_replies(&SlackApiConversationsRepliesRequest::new(
            SlackChannelId::new("C0ALERTS".into()),
            SlackTs::new(parent.clone()),
        ))
        .await
        .expect("conversations.replies");
    assert_eq!(replies.messages.len(), 2);
    assert_eq!(
        replies.messages[1]
            .sender
            .user
            .as_ref()
            .map(|u| u.0.as_str()),
        Some(fake.bot_user_id())
    );
    assert_eq!(replies.messages[0].parent.reply_count, Some(1));

    let upd = session
        .chat_update(&SlackApiChatUpdateRequest::new(
            SlackChannelId::new("C0ALERTS".into()),
            SlackMessageContent::new().with_text("RCA v2".into()),
            res.ts.clone(),
        ))
        .await
        .expect("chat.update");
    assert_eq!(upd.ts, res.ts);
    assert_eq!(
        fake.thread("C0ALERTS", &parent)[1].text.as_deref(),
        Some("RCA v2")
    );

    let hist = session
        .conversations_history(
            &SlackApiConversationsHistoryRequest::new()
                .with_channel(SlackChannelId::new("C0ALERTS".into()))
                .with_limit(10),
        )
        .await
        .expect("conversations.history");
    assert_eq!(hist.messages.len(), 1);
    assert_eq!(hist.messages[0].origin.ts.0, parent);

    let info = session
        .conversations_info(&SlackApiConversationsInfoRequest::new(SlackChannelId::new(
            "C0ALERTS".into(),
        )))
        .await
        .expect("conversations.info");
    assert_eq!(info.channel.id.0, "C0ALERTS");

    let link = session
        .chat_get_permalink(&SlackApiChatGetPermalinkRequest::new(
            SlackChannelId::new("C0ALERTS".into()),
            res.ts.clone(),
        ))
        .await
        .expect("chat.getPermalink");
    assert!(
        link.permalink
            .as_str()
            .starts_with("https://fake.slack.com/archives/C0ALERTS/p")
    );

    // 429 surfaces as slack-morphism's RateLimitError with retry_after.
    fake.rate_limit_next("chat.postMessage", 1, 3);
    match session.chat_post_message(&req).await {
        Err(SlackClientError::RateLimitError(e)) => {
            assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
        }
        other => panic!("expected RateLimitError, got {other:?}"),
    }
    // Slack errors surface as ApiError with the code.
    let bad = SlackApiChatPostMessageRequest::new(
        SlackChannelId::new("C0ALERTS".into()),
        SlackMessageContent::new()
            .with_text("x".into())
            .with_blocks(vec![SlackBlock::Header(SlackHeaderBlock::new(pt!(
                "h".repeat(151)
            )))]),
    );
    match session.chat_post_message(&bad).await {
        Err(SlackClientError::ApiError(e)) => assert_eq!(e.code, "invalid_blocks"),
        other => panic!("expected ApiError, got {other:?}"),
    }
    // Wrong token.
    let wrong = SlackApiToken::new(SlackApiTokenValue::new("xoxb-wrong".into()));
    match client.open_session(&wrong).auth_test().await {
        Err(SlackClientError::ApiError(e)) => assert_eq!(e.code, "invalid_auth"),
        other => panic!("expected invalid_auth, got {other:?}"),
    }
}

/// Records what slack-morphism's callbacks saw (passed via user state, since
/// callbacks must be plain fn pointers).
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

async fn seen(states: &SlackClientEventsUserState) -> Seen {
    states
        .read()
        .await
        .get_user_state::<Seen>()
        .cloned()
        .expect("Seen state")
}

async fn on_push(
    ev: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let s = seen(&states).await;
    s.0.lock().unwrap().push(format!("push:{}", ev.event_id.0));
    Ok(())
}

async fn on_command(
    ev: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let s = seen(&states).await;
    s.0.lock()
        .unwrap()
        .push(format!("command:{}", ev.command.0));
    Ok(SlackCommandEventResponse::new(
        SlackMessageContent::new().with_text(format!("on it: {}", ev.text.unwrap_or_default())),
    ))
}

async fn on_interaction(
    ev: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let s = seen(&states).await;
    let kind = match ev {
        SlackInteractionEvent::BlockActions(_) => "block_actions",
        SlackInteractionEvent::MessageAction(_) => "message_action",
        _ => "other",
    };
    s.0.lock().unwrap().push(format!("interaction:{kind}"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_morphism_socket_mode_against_fake() {
    let fake = FakeSlack::start().await;
    let client = morphism_client(&fake);
    let seen_events = Seen::default();
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_push_events(on_push)
        .with_command_events(on_command)
        .with_interaction_events(on_interaction);
    let env = Arc::new(
        SlackClientEventsListenerEnvironment::new(client.clone())
            .with_user_state(seen_events.clone()),
    );
    let listener = SlackClientSocketModeListener::new(
        &SlackClientSocketModeConfig::new().with_max_connections_count(1),
        env,
        callbacks,
    );
    let app_token = SlackApiToken::new(SlackApiTokenValue::new(fake.app_token().to_string()));
    listener.listen_for(&app_token).await.expect("listen_for");
    listener.start().await;
    assert!(fake.wait_connected(1, T).await, "slack-morphism connected");
    assert_eq!(fake.calls("apps.connections.open"), 1);

    // events_api → callback → ack.
    let ev1 = fake
        .send_event(alert_event("C0ALERTS", "[FIRING:1] HighErrorRate"))
        .await;
    assert!(fake.wait_acks(1, T).await, "event acked");
    assert!(fake.acks()[0].latency.is_some());
    // slash command → ack carries the response payload.
    fake.send_slash_command("/rca", "api 5xx", "C0ALERTS", "U0HUMAN")
        .await;
    assert!(fake.wait_acks(2, T).await, "command acked");
    let payload = fake.acks()[1].payload.clone().expect("command ack payload");
    assert_eq!(payload["text"], "on it: api 5xx");
    // interactive → ack.
    fake.send_interactive(json!({
        "type": "block_actions",
        "channel": {"id": "C0ALERTS", "name": "alerts"},
        "message": {"type": "message", "ts": "1760000000.000100", "text": "RCA"},
        "actions": [{"type": "button", "action_id": "rerun", "block_id": "b1", "value": "x",
                     "action_ts": "1760000001.000000"}]
    }))
    .await;
    assert!(fake.wait_acks(3, T).await, "interaction acked");

    // disconnect → slack-morphism opens a new connection.
    fake.send_disconnect("refresh_requested").await;
    assert!(
        fake.wait_calls("apps.connections.open", 2, T).await,
        "reconnect after disconnect"
    );
    assert!(fake.wait_connected(1, T).await);
    let ev2 = fake
        .send_event(alert_event("C0ALERTS", "after refresh"))
        .await;
    assert!(fake.wait_acks(4, T).await, "event on new connection acked");

    // abrupt drop → reconnect; an event sent meanwhile is delivered afterwards.
    fake.drop_connections().await;
    let ev3 = fake
        .send_event(alert_event("C0ALERTS", "during outage"))
        .await;
    assert!(
        fake.wait_calls("apps.connections.open", 3, Duration::from_secs(10))
            .await,
        "reconnect after drop"
    );
    assert!(
        fake.wait_acks(5, Duration::from_secs(10)).await,
        "queued event acked after reconnect"
    );

    let got = seen_events.0.lock().unwrap().clone();
    assert!(got.contains(&format!("push:{ev1}")), "{got:?}");
    assert!(got.contains(&format!("push:{ev2}")), "{got:?}");
    assert!(got.contains(&format!("push:{ev3}")), "{got:?}");
    assert!(got.contains(&"command:/rca".to_string()), "{got:?}");
    assert!(
        got.contains(&"interaction:block_actions".to_string()),
        "{got:?}"
    );
    listener.shutdown().await;
}
