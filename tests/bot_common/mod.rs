//! Shared harness of the bot's integration tests and ack-latency bench: empty tool backends, a
//! slowed-down reasoner, a bot started in-process against the fake Slack, alert messages in the
//! shapes integrations post, and helpers to read the fake's record.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use serde_json::{Value, json};

use k8s_openapi::api::core::v1::{Endpoints, Event, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use sre_agent::agent::Engine;
use sre_agent::config::{
    ConfigOrigin, DuplicateNotice, EMBEDDED_AGENTS_YAML, LoadedConfig, PipelineConfig, Secret,
    SlackConfig,
};
use sre_agent::llm::offline::OfflineReasoner;
use sre_agent::llm::{ReasonFuture, ReasonInput, Reasoner};
use sre_agent::pipeline::Pipeline;
use sre_agent::slack::api::ApiConfig;
use sre_agent::slack::{Bot, BotConfig, BotHandle};
use sre_agent::tools::{
    BackendError, Backends, KubeBackend, KubeFuture, ListQuery, LogQuery, NetworkBackend,
    SignozBackend, SlackBackend, TOOL_NAMES, Toolbox, Workload, WorkloadKind,
};

use crate::support::fake_slack::{FakeConfig, FakeSlack, PostedMessage, StoredMessage};

pub const CH: &str = "C0ALERTS";
pub const T: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// Tool backends with no data anywhere: runs are fast and deterministic.
pub struct Empty;

/// A SigNoz that answers "no data" after `0` (to push a run past its deadline).
pub struct SlowSignoz(pub Duration);

impl SignozBackend for SlowSignoz {
    fn query_range(&self, _b: Value) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        let delay = self.0;
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            Ok(None)
        })
    }
}

impl SignozBackend for Empty {
    fn query_range(&self, _b: Value) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        Box::pin(async { Ok(None) })
    }
}

impl KubeBackend for Empty {
    fn list_pods(&self, _ns: &str, _q: &ListQuery) -> KubeFuture<'_, Vec<Pod>> {
        Box::pin(async { Ok(None) })
    }
    fn get_pod(&self, _ns: &str, _name: &str) -> KubeFuture<'_, Pod> {
        Box::pin(async { Ok(None) })
    }
    fn list_events(&self, _ns: &str, _q: &ListQuery) -> KubeFuture<'_, Vec<Event>> {
        Box::pin(async { Ok(None) })
    }
    fn list_services(&self, _ns: &str) -> KubeFuture<'_, Vec<Service>> {
        Box::pin(async { Ok(None) })
    }
    fn list_endpoints(&self, _ns: &str) -> KubeFuture<'_, Vec<Endpoints>> {
        Box::pin(async { Ok(None) })
    }
    fn list_endpoint_slices(
        &self,
        _ns: &str,
        _q: &ListQuery,
    ) -> KubeFuture<'_, Vec<EndpointSlice>> {
        Box::pin(async { Ok(None) })
    }
    fn list_workloads(
        &self,
        _ns: &str,
        _kind: WorkloadKind,
        _q: &ListQuery,
    ) -> KubeFuture<'_, Vec<Workload>> {
        Box::pin(async { Ok(None) })
    }
    fn get_workload(
        &self,
        _ns: &str,
        _kind: WorkloadKind,
        _name: &str,
    ) -> KubeFuture<'_, Workload> {
        Box::pin(async { Ok(None) })
    }
    fn list_nodes(&self, _q: &ListQuery) -> KubeFuture<'_, Vec<Node>> {
        Box::pin(async { Ok(None) })
    }
    fn get_node(&self, _name: &str) -> KubeFuture<'_, Node> {
        Box::pin(async { Ok(None) })
    }
    fn pod_logs(&self, _ns: &str, _pod: &str, _q: &LogQuery) -> KubeFuture<'_, String> {
        Box::pin(async { Ok(None) })
    }
}

impl SlackBackend for Empty {
    fn conversations_replies(
        &self,
        _c: &str,
        _ts: &str,
    ) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        Box::pin(async { Ok(None) })
    }
    fn conversations_info(&self, _c: &str) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        Box::pin(async { Ok(None) })
    }
    fn post_message(
        &self,
        _c: &str,
        _t: &str,
        _x: &str,
    ) -> BoxFuture<'_, Result<Value, BackendError>> {
        Box::pin(async { Ok(json!({"ok": true})) })
    }
}

impl NetworkBackend for Empty {
    fn tls_certificate(
        &self,
        _h: &str,
        _p: u16,
    ) -> BoxFuture<'_, Result<Option<sre_agent::evidence::CertInfo>, BackendError>> {
        Box::pin(async { Ok(None) })
    }
    fn resolve(
        &self,
        _n: &str,
        _t: &str,
    ) -> BoxFuture<'_, Result<Option<sre_agent::evidence::DnsResult>, BackendError>> {
        Box::pin(async { Ok(None) })
    }
}

/// The offline reasoner, slowed down (to fill the queue).
pub struct Slow(pub Duration);

impl Reasoner for Slow {
    fn name(&self) -> String {
        "slow-offline".into()
    }
    fn reason<'a>(&'a self, input: ReasonInput<'a>) -> ReasonFuture<'a> {
        Box::pin(async move {
            tokio::time::sleep(self.0).await;
            OfflineReasoner.reason(input).await
        })
    }
}

pub struct Opts {
    pub pipeline: PipelineConfig,
    pub slack: SlackConfig,
    pub api: ApiConfig,
    pub connections: u32,
    pub reasoner: Arc<dyn Reasoner>,
    /// Runtime for the analyses (as `sre-agent run` does); `None`: the test's own runtime.
    pub analysis: Option<tokio::runtime::Handle>,
    /// Make every SigNoz query take this long.
    pub signoz_delay: Option<Duration>,
    /// The tools' backends (e.g. live ones over local fakes); `None`: empty backends.
    pub backends: Option<Backends>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            pipeline: PipelineConfig {
                workers: 8,
                queue_capacity: 256,
                dedup_window_secs: 600,
                dedup_capacity: 10_000,
                run_deadline_secs: 30,
                tool_timeout_ms: 1_000,
            },
            slack: SlackConfig {
                channels: Vec::new(),
                catch_up_minutes: 0,
                duplicate_notice: DuplicateNotice::Link,
                metrics_port: 0,
                shutdown_grace_secs: 5,
                ..SlackConfig::default()
            },
            api: ApiConfig {
                max_attempts: 4,
                backoff: Duration::from_millis(20),
                pace: Duration::from_millis(2),
                max_rate_limited: 10,
                max_retry_after: Duration::from_secs(5),
            },
            connections: 1,
            reasoner: Arc::new(OfflineReasoner),
            analysis: None,
            signoz_delay: None,
            backends: None,
        }
    }
}

pub fn fast_fake() -> FakeConfig {
    FakeConfig {
        redeliver_after: Duration::from_millis(800),
        disconnect_close_delay: Duration::from_millis(50),
        ..FakeConfig::default()
    }
}

pub async fn start_bot(fake: &FakeSlack, opts: Opts) -> BotHandle {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut loaded =
        LoadedConfig::from_yaml_str(EMBEDDED_AGENTS_YAML, ConfigOrigin::Embedded, TOOL_NAMES)
            .expect("embedded config");
    loaded.config.pipeline = opts.pipeline.clone();
    loaded.config.slack = opts.slack.clone();
    let e: Arc<Empty> = Arc::new(Empty);
    let signoz: Arc<dyn SignozBackend> = match opts.signoz_delay {
        Some(d) => Arc::new(SlowSignoz(d)),
        None => e.clone(),
    };
    let backends = opts.backends.clone().unwrap_or_else(|| Backends {
        signoz,
        kube: e.clone(),
        slack: e.clone(),
        network: e,
        sources: Vec::new(),
    });
    let toolbox = Toolbox::start(backends).await.expect("toolbox");
    let engine =
        Arc::new(Engine::new(Arc::new(loaded), Arc::new(toolbox), opts.reasoner).expect("engine"));
    let pipeline = match opts.analysis.clone() {
        Some(handle) => Pipeline::start_on(engine, &opts.pipeline, handle),
        None => Pipeline::start(engine, &opts.pipeline),
    };
    let mut cfg = BotConfig::new(
        Secret::new(fake.app_token()),
        Secret::new(fake.bot_token()),
        &format!("{}/", fake.api_url()),
        opts.slack,
    );
    cfg.api = opts.api;
    cfg.max_connections = opts.connections;
    cfg.reconnect_backoff_secs = 0;
    let bot = Bot::start(cfg, pipeline).await.expect("bot starts");
    assert!(
        fake.wait_connected(opts.connections as usize, T).await,
        "bot connected"
    );
    bot
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A Slack ts `secs_ago` seconds in the past, made unique by `n`.
pub fn ts_ago(secs_ago: f64, n: usize) -> String {
    let base = (now() - secs_ago).floor() as u64;
    format!("{base}.{:06}", 100 + n)
}

/// An Alertmanager alert posted through an incoming webhook (subtype bot_message).
pub fn am_alert(name: &str, ts: &str, status: &str) -> Value {
    let (prefix, color) = if status == "resolved" {
        ("[RESOLVED]".to_string(), "good")
    } else {
        ("[FIRING:1]".to_string(), "danger")
    };
    let title = format!("{prefix} {name} (prod critical)");
    json!({
        "type": "message", "subtype": "bot_message", "bot_id": "B0AM", "username": "Alertmanager",
        "text": title, "channel": CH, "channel_type": "channel", "ts": ts, "event_ts": ts,
        "attachments": [{
            "id": 1, "color": color, "title": title,
            "title_link": "http://am:9093/#/alerts?receiver=slack",
            "fallback": format!("{title} | http://am:9093/#/alerts?receiver=slack"),
            "text": format!("*Summary:* 5xx > 5% on {name}\n*Description:* error ratio 0.12 for 10m"),
            "mrkdwn_in": ["fallback", "pretext", "text"]
        }]
    })
}

/// A Grafana alert posted by an app bot (no subtype, `user` + `bot_id`).
pub fn grafana_alert(name: &str, ts: &str) -> Value {
    let title = format!("[FIRING:1] {name} (node-3)");
    json!({
        "type": "message", "user": "U0GRAF", "bot_id": "B0GRAF", "app_id": "A0GRAF",
        "text": title, "channel": CH, "ts": ts, "event_ts": ts,
        "attachments": [{"id": 1, "color": "#D63232", "title": title, "fallback": title,
            "text": "**Firing**\n\nValue: A=97.1\nLabels:\n - alertname = DiskFull"}]
    })
}

pub fn permalink(ts: &str) -> String {
    format!(
        "https://fake.slack.com/archives/{CH}/p{}",
        ts.replace('.', "")
    )
}

pub fn has_action(blocks: &Value, id: &str) -> bool {
    match blocks {
        Value::Object(m) => {
            m.get("action_id").and_then(Value::as_str) == Some(id)
                || m.values().any(|v| has_action(v, id))
        }
        Value::Array(a) => a.iter().any(|v| has_action(v, id)),
        _ => false,
    }
}

pub fn find_value(blocks: &Value, id: &str) -> Option<String> {
    match blocks {
        Value::Object(m) => {
            if m.get("action_id").and_then(Value::as_str) == Some(id) {
                return m.get("value").and_then(Value::as_str).map(str::to_string);
            }
            m.values().find_map(|v| find_value(v, id))
        }
        Value::Array(a) => a.iter().find_map(|v| find_value(v, id)),
        _ => None,
    }
}

/// Final RCA updates (chat.update carrying the Re-run button).
pub fn rca_updates(posted: &[PostedMessage]) -> Vec<PostedMessage> {
    posted
        .iter()
        .filter(|p| p.method == "chat.update" && has_action(&p.blocks, "rca_rerun"))
        .cloned()
        .collect()
}

/// The bot's messages in the thread of `ts` (root excluded).
pub fn bot_replies(fake: &FakeSlack, ts: &str) -> Vec<StoredMessage> {
    fake.thread(CH, ts)
        .into_iter()
        .filter(|m| m.ts != ts && m.bot_id.as_deref() == Some(fake.bot_id()))
        .collect()
}

/// Polls `cond` every 10 ms until true or `timeout` (for conditions on the bot, which the fake's
/// `wait_until` does not see change).
pub async fn eventually(timeout: Duration, cond: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cond()
}

/// A child process (`sre-agent run`) killed and reaped when the test or bench ends, panics
/// included.
pub struct Reaped(pub std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// A TCP port free on 127.0.0.1 right now (0 if none could be found).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}
