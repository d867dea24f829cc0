//! The Slack bot: Socket Mode ingest, thread replies, `/rca`, buttons, resolved notes, catch-up.
//!
//! [`Bot::start`] calls `auth.test`, opens the Socket Mode connections (slack-morphism's
//! listener) and returns a [`BotHandle`]. slack-morphism acks an envelope only after its
//! callback returns, and reads one frame per connection at a time, so the event callback only
//! hands the event to the ingest task (a bounded channel; if it is full the callback ingests
//! inline, never drops). The ingest task classifies, parses, dedups and puts alerts on the
//! pipeline's bounded queue; commands and button clicks spawn a task. The Web API calls
//! (replies, updates, fetching messages) happen in those tasks, never in a callback.
//!
//! Per alert: `investigating` reply in the alert's thread → the pipeline runs the engine →
//! `chat.update` of that same reply with the Block Kit RCA and the Re-run / 👍 / 👎 buttons.
//! The fingerprint → analysis record cache (moka) links duplicates to the earlier analysis,
//! finds the thread for the resolved note and the alert behind a Re-run button.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use moka::future::Cache;
use serde_json::{Value, json};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tokio::sync::{Notify, mpsc};

use crate::agent::Engine;
use crate::alert::{Alert, AlertStatus, Intake, Origin, parse_slack_value};
use crate::config::{DuplicateNotice, Secret, SlackConfig};
use crate::pipeline::{DuplicateOf, Pipeline, RunError, RunResult, SubmitError};
use crate::slack::api::{self, ApiConfig, ApiError, Connector, SlackApi};
use crate::slack::ingest::{self, Classified, Identity};
use crate::slack::links;
use crate::slack::metrics::Metrics;

/// Everything the bot needs besides the pipeline.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// App-level token (`xapp-…`), for `apps.connections.open`.
    pub app_token: Secret,
    /// Bot token (`xoxb-…`), for every other call.
    pub bot_token: Secret,
    /// Web API base, e.g. `https://slack.com/api/`.
    pub api_url: String,
    pub slack: SlackConfig,
    pub api: ApiConfig,
    /// Socket Mode connections to keep open (Slack allows up to 10).
    pub max_connections: u32,
    /// First reconnect backoff of the Socket Mode client, seconds.
    pub reconnect_backoff_secs: u64,
}

/// Environment variables `sre-agent run` reads.
pub const ENV_APP_TOKEN: &str = "SLACK_APP_TOKEN";
pub const ENV_BOT_TOKEN: &str = "SLACK_BOT_TOKEN";
pub const ENV_API_URL: &str = "SLACK_API_URL";

/// A missing or malformed environment variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("{0} is not set (it must hold the Slack {1})")]
    Missing(&'static str, &'static str),
    #[error("{var} is malformed: it must start with `{prefix}` (the Slack {what})")]
    BadPrefix {
        var: &'static str,
        prefix: &'static str,
        what: &'static str,
    },
    #[error("{0} must be an http:// or https:// URL")]
    BadUrl(&'static str),
}

impl BotConfig {
    /// Defaults around the two tokens.
    pub fn new(app_token: Secret, bot_token: Secret, api_url: &str, slack: SlackConfig) -> Self {
        BotConfig {
            app_token,
            bot_token,
            api_url: api_url.to_string(),
            slack,
            api: ApiConfig::default(),
            max_connections: 2,
            reconnect_backoff_secs: 5,
        }
    }

    /// Read the tokens and the API URL through `lookup` (the process environment in `run`).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        slack: SlackConfig,
    ) -> Result<BotConfig, EnvError> {
        let token = |var: &'static str, prefix: &'static str, what: &'static str| {
            let v = lookup(var)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .ok_or(EnvError::Missing(var, what))?;
            if !v.starts_with(prefix) || v.len() <= prefix.len() {
                return Err(EnvError::BadPrefix { var, prefix, what });
            }
            Ok(Secret::new(v))
        };
        let app = token(ENV_APP_TOKEN, "xapp-", "app-level token")?;
        let bot = token(ENV_BOT_TOKEN, "xoxb-", "bot token")?;
        let url = lookup(ENV_API_URL)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| api::DEFAULT_API_URL.to_string());
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(EnvError::BadUrl(ENV_API_URL));
        }
        Ok(BotConfig::new(app, bot, &url, slack))
    }
}

/// Why the bot could not start.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] std::io::Error),
    #[error("auth.test failed: {0}")]
    Auth(ApiError),
    #[error("cannot open the Socket Mode connection: {0}")]
    Listen(String),
}

/// One analysis the bot posted (or is posting), by alert fingerprint.
#[derive(Debug, Clone)]
struct Record {
    alert: Alert,
    channel: String,
    /// The thread the analysis lives in (the alert message's ts), if any.
    thread_ts: Option<String>,
    /// Our reply's ts, once posted.
    reply_ts: Option<String>,
    agent: String,
    /// When the alert fired (Slack ts of the alert message, else receipt), epoch seconds.
    fired: f64,
}

/// Where a reply goes.
#[derive(Debug, Clone)]
enum Target {
    /// A new reply in the thread of `ts`.
    Thread { channel: String, ts: String },
    /// A new top-level message (`/rca <text>`).
    Channel { channel: String },
    /// Update an existing message of ours (Re-run).
    Existing {
        channel: String,
        ts: String,
        thread_ts: Option<String>,
    },
}

impl Target {
    fn channel(&self) -> &str {
        match self {
            Target::Thread { channel, .. }
            | Target::Channel { channel }
            | Target::Existing { channel, .. } => channel,
        }
    }
    fn thread(&self) -> Option<&str> {
        match self {
            Target::Thread { ts, .. } => Some(ts),
            Target::Channel { .. } => None,
            Target::Existing { thread_ts, .. } => thread_ts.as_deref(),
        }
    }
}

/// Counts spawned reply tasks so shutdown and tests can wait for them.
#[derive(Default)]
struct Tasks {
    running: AtomicUsize,
    idle: Notify,
}

/// State shared by the callbacks and the tasks.
struct Shared {
    cfg: BotConfig,
    me: Identity,
    api: SlackApi,
    metrics: Arc<Metrics>,
    engine: Arc<Engine>,
    pipeline: RwLock<Option<Pipeline>>,
    dedup: crate::pipeline::Dedup,
    records: Cache<String, Record>,
    ready: AtomicBool,
    closing: AtomicBool,
    tasks: Tasks,
    /// Events on their way from the Socket Mode callbacks to the ingest task.
    ingest: mpsc::Sender<Incoming>,
}

/// One event handed from a callback to the ingest task.
enum Incoming {
    Event {
        event: Value,
        event_id: Option<String>,
        received: Instant,
    },
    /// Shutdown: everything before this has been ingested.
    Stop,
}

/// Events the callbacks may hand over before they process one inline (slower ack, no loss).
const INGEST_CAPACITY: usize = 4096;

/// The entry point.
pub struct Bot;

/// A running bot.
pub struct BotHandle {
    shared: Arc<Shared>,
    listener: SlackClientSocketModeListener<Connector>,
    ingest_task: tokio::task::JoinHandle<()>,
}

impl Bot {
    /// `auth.test`, then Socket Mode connections, then (in the background) catch-up.
    pub async fn start(cfg: BotConfig, pipeline: Pipeline) -> Result<BotHandle, BotError> {
        let metrics = Arc::new(Metrics::default());
        let client = api::build_client(&cfg.api_url)?;
        let api = SlackApi::new(
            client.clone(),
            &cfg.bot_token,
            cfg.api.clone(),
            metrics.clone(),
        );
        let auth = api
            .post("auth.test", &json!({}))
            .await
            .map_err(BotError::Auth)?;
        let field = |k: &str| {
            auth.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let me = Identity {
            user_id: field("user_id"),
            bot_id: field("bot_id"),
            team_url: field("url"),
        };
        tracing::info!(user_id = %me.user_id, bot_id = %me.bot_id, team = %field("team"), "authenticated with Slack");
        let window = pipeline.engine().config().config.pipeline.dedup_window();
        let (ingest_tx, mut ingest_rx) = mpsc::channel::<Incoming>(INGEST_CAPACITY);
        let shared = Arc::new(Shared {
            me,
            api,
            metrics,
            engine: pipeline.engine().clone(),
            dedup: pipeline.dedup().clone(),
            pipeline: RwLock::new(Some(pipeline)),
            records: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(window.max(Duration::from_secs(24 * 3600)))
                .build(),
            ready: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            tasks: Tasks::default(),
            ingest: ingest_tx,
            cfg,
        });

        let callbacks = SlackSocketModeListenerCallbacks::<Connector>::new()
            .with_hello_events(on_hello)
            .with_push_events(on_push)
            .with_command_events(on_command)
            .with_interaction_events(on_interaction);
        let env = Arc::new(
            SlackClientEventsListenerEnvironment::new(client)
                .with_error_handler(on_error)
                .with_user_state(shared.clone()),
        );
        let sm_config = SlackClientSocketModeConfig::new()
            .with_max_connections_count(shared.cfg.max_connections.clamp(1, 10))
            .with_initial_backoff_in_seconds(shared.cfg.reconnect_backoff_secs);
        let listener = SlackClientSocketModeListener::new(&sm_config, env, callbacks);
        let app_token = SlackApiToken::new(SlackApiTokenValue(
            shared.cfg.app_token.expose().to_string(),
        ));
        listener
            .listen_for(&app_token)
            .await
            .map_err(|e| BotError::Listen(describe_client_error(&e)))?;
        // One task classifies, parses, dedups and queues events in arrival order, so the
        // callbacks only hand events over and the ack goes out at once.
        let ingester = shared.clone();
        let ingest_task = tokio::spawn(async move {
            while let Some(msg) = ingest_rx.recv().await {
                match msg {
                    Incoming::Event {
                        event,
                        event_id,
                        received,
                    } => {
                        ingester.ingest_event(event, event_id, received).await;
                        ingester.end_work();
                    }
                    Incoming::Stop => break,
                }
            }
        });
        listener.start().await;
        let catchup = shared.clone();
        shared.spawn(async move { catchup.catch_up().await });
        Ok(BotHandle {
            shared,
            listener,
            ingest_task,
        })
    }
}

fn describe_client_error(e: &SlackClientError) -> String {
    match e {
        SlackClientError::ApiError(a) => format!("Slack answered `{}`", a.code),
        other => other.to_string(),
    }
}

impl BotHandle {
    pub fn metrics(&self) -> Arc<Metrics> {
        self.shared.metrics.clone()
    }

    /// Who the bot is (from `auth.test`).
    pub fn identity(&self) -> &Identity {
        &self.shared.me
    }

    /// True once a Socket Mode `hello` arrived.
    pub fn is_ready(&self) -> bool {
        self.shared.ready.load(Ordering::Relaxed) && !self.shared.closing.load(Ordering::Relaxed)
    }

    /// Readiness and metrics for the ops HTTP server.
    pub fn ops(&self) -> Arc<dyn crate::telemetry::OpsState> {
        Arc::new(Ops(self.shared.clone()))
    }

    /// Wait until no reply task is running (tests).
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        self.shared.wait_idle(timeout).await
    }

    /// Stop taking work (close the sockets, so unacked events go elsewhere), let queued and
    /// running analyses finish and their replies go out within `grace`. True if all finished.
    pub async fn shutdown(self, grace: Duration) -> bool {
        let started = Instant::now();
        self.shared.closing.store(true, Ordering::Relaxed);
        self.listener.shutdown().await;
        // Events already acked are ours: ingest them before the pipeline stops taking work.
        let _ = self.shared.ingest.send(Incoming::Stop).await;
        let _ = tokio::time::timeout(grace, self.ingest_task).await;
        let pipeline = self.shared.pipeline.write().ok().and_then(|mut p| p.take());
        let drained = match pipeline {
            Some(p) => p.shutdown(grace).await,
            None => true,
        };
        let left = grace.saturating_sub(started.elapsed());
        let idle = self.shared.wait_idle(left).await;
        tracing::info!(drained, idle, "bot stopped");
        drained && idle
    }
}

struct Ops(Arc<Shared>);

impl crate::telemetry::OpsState for Ops {
    fn ready(&self) -> bool {
        self.0.ready.load(Ordering::Relaxed) && !self.0.closing.load(Ordering::Relaxed)
    }
    fn metrics(&self) -> String {
        let depth = self
            .0
            .pipeline
            .read()
            .ok()
            .and_then(|p| p.as_ref().map(Pipeline::queue_depth))
            .unwrap_or(0);
        self.0.metrics.render(depth, self.ready())
    }
}

// ---------------------------------------------------------------------------------------------
// Callbacks (fn pointers; state comes from the listener's user state). Each returns quickly.
// ---------------------------------------------------------------------------------------------

async fn shared_of(state: &SlackClientEventsUserState) -> Option<Arc<Shared>> {
    state.read().await.get_user_state::<Arc<Shared>>().cloned()
}

/// Generic over the event type because slack-morphism does not export its hello event's name.
async fn on_hello<E: Send + Sync + 'static>(
    _ev: E,
    _client: Arc<SlackClient<Connector>>,
    state: SlackClientEventsUserState,
) {
    tracing::info!("Socket Mode connected (hello)");
    if let Some(s) = shared_of(&state).await {
        s.ready.store(true, Ordering::Relaxed);
    }
}

async fn on_push(
    ev: SlackPushEventCallback,
    _client: Arc<SlackClient<Connector>>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let received = Instant::now();
    if let Some(s) = shared_of(&state).await {
        Metrics::inc(&s.metrics.envelopes_received);
        let event = match ev.event {
            SlackEventCallbackBody::Unknown(v) => v,
            other => serde_json::to_value(&other).unwrap_or(Value::Null),
        };
        s.hand_over(event, Some(ev.event_id.to_string()), received)
            .await;
        Metrics::inc(&s.metrics.envelopes_acked);
    }
    Ok(())
}

async fn on_command(
    ev: SlackCommandEvent,
    _client: Arc<SlackClient<Connector>>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let text = ev.text.clone().unwrap_or_default();
    let reply = |t: &str| {
        SlackCommandEventResponse::new(SlackMessageContent::new().with_text(t.to_string()))
            .with_response_type(SlackMessageResponseType::Ephemeral)
    };
    let Some(s) = shared_of(&state).await else {
        return Ok(reply("The bot is starting; try again in a moment."));
    };
    Metrics::inc(&s.metrics.envelopes_received);
    Metrics::inc(&s.metrics.commands);
    let answer = if text.trim().is_empty() {
        reply(
            "Usage: `/rca <link to an alert message>` re-runs the analysis in its thread; \
             `/rca <alert text>` analyses the text here.",
        )
    } else {
        let asker = Asker {
            channel: ev.channel_id.to_string(),
            user: ev.user_id.to_string(),
            response_url: Some(ev.response_url.clone()),
        };
        let task = s.clone();
        s.spawn(async move { task.command(text.trim().to_string(), asker).await });
        reply("On it… 🔎")
    };
    Metrics::inc(&s.metrics.envelopes_acked);
    Ok(answer)
}

async fn on_interaction(
    ev: SlackInteractionEvent,
    _client: Arc<SlackClient<Connector>>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    if let Some(s) = shared_of(&state).await {
        Metrics::inc(&s.metrics.envelopes_received);
        let payload = serde_json::to_value(&ev).unwrap_or(Value::Null);
        s.interaction(payload);
        Metrics::inc(&s.metrics.envelopes_acked);
    }
    Ok(())
}

/// Frames the listener could not decode land here (it acks them anyway). Alerts and button
/// clicks in shapes slack-morphism does not model are still handled from the raw JSON.
fn on_error(
    err: Box<dyn std::error::Error + Send + Sync + 'static>,
    _client: Arc<SlackClient<Connector>>,
    state: SlackClientEventsUserState,
) -> HttpStatusCode {
    let raw = err
        .downcast_ref::<SlackClientError>()
        .and_then(|e| match e {
            SlackClientError::ProtocolError(p) => p.json_body.clone(),
            _ => None,
        });
    match raw {
        Some(body) => {
            tokio::spawn(async move {
                if let Some(s) = shared_of(&state).await {
                    s.raw_envelope(&body).await;
                }
            });
        }
        None => tracing::warn!(error = %err, "Socket Mode listener error"),
    }
    HttpStatusCode::OK
}

// ---------------------------------------------------------------------------------------------
// Work
// ---------------------------------------------------------------------------------------------

/// Who ran `/rca` or the shortcut, to report errors to.
#[derive(Debug, Clone)]
struct Asker {
    channel: String,
    user: String,
    response_url: Option<SlackResponseUrl>,
}

impl Shared {
    fn spawn<F>(self: &Arc<Self>, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.begin_work();
        let me = self.clone();
        tokio::spawn(async move {
            fut.await;
            me.end_work();
        });
    }

    /// Count one piece of work (a spawned task, an event waiting for the ingest task).
    fn begin_work(&self) {
        self.tasks.running.fetch_add(1, Ordering::SeqCst);
    }

    fn end_work(&self) {
        if self.tasks.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.tasks.idle.notify_waiters();
        }
    }

    async fn wait_idle(&self, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.tasks.idle.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.tasks.running.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    fn permalink(&self, channel: &str, ts: &str, thread_ts: Option<&str>) -> String {
        links::permalink(&self.me.team_url, channel, ts, thread_ts)
    }

    /// An envelope slack-morphism could not decode, as raw JSON.
    async fn raw_envelope(self: &Arc<Self>, body: &str) {
        Metrics::inc(&self.metrics.envelopes_received);
        Metrics::inc(&self.metrics.envelopes_undecodable);
        let Ok(v) = serde_json::from_str::<Value>(body) else {
            tracing::warn!("undecodable Socket Mode frame (not JSON)");
            return;
        };
        let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
        match kind {
            "events_api" => {
                let event = v.pointer("/payload/event").cloned().unwrap_or(Value::Null);
                let id = v
                    .pointer("/payload/event_id")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                self.hand_over(event, id, Instant::now()).await;
            }
            "interactive" => {
                if let Some(p) = v.get("payload") {
                    self.interaction(p.clone());
                }
            }
            other => tracing::warn!(kind = other, "undecodable Socket Mode envelope ignored"),
        }
        Metrics::inc(&self.metrics.envelopes_acked);
    }

    fn skip(&self, reason: &str) {
        self.metrics.ignored.inc(&[reason]);
    }

    /// Give an event to the ingest task; if its queue is full, ingest it here (the ack waits a
    /// little longer, nothing is lost).
    async fn hand_over(
        self: &Arc<Self>,
        event: Value,
        event_id: Option<String>,
        received: Instant,
    ) {
        let msg = Incoming::Event {
            event,
            event_id,
            received,
        };
        self.begin_work();
        match self.ingest.try_send(msg) {
            Ok(()) => {}
            Err(
                mpsc::error::TrySendError::Full(Incoming::Event {
                    event,
                    event_id,
                    received,
                })
                | mpsc::error::TrySendError::Closed(Incoming::Event {
                    event,
                    event_id,
                    received,
                }),
            ) => {
                self.ingest_event(event, event_id, received).await;
                self.end_work();
            }
            Err(_) => self.end_work(),
        }
    }

    /// One `events_api` event: classify, parse, dedup, enqueue. Never waits on Slack.
    async fn ingest_event(
        self: &Arc<Self>,
        event: Value,
        event_id: Option<String>,
        received: Instant,
    ) {
        match ingest::classify(&event, None, &self.me, &self.cfg.slack.channels) {
            Classified::Skip(why) => self.skip(why.label()),
            Classified::Alert(msg) => {
                let Some(alert) = self.parse(&msg, event_id.as_deref()) else {
                    return;
                };
                self.alert_in(alert, received).await;
            }
            Classified::Edited(msg) => {
                let Some(alert) = self.parse(&msg, event_id.as_deref()) else {
                    return;
                };
                if alert.status == AlertStatus::Resolved {
                    self.alert_in(alert, received).await;
                } else {
                    self.skip("edit");
                }
            }
        }
    }

    /// Parse a classified message into an alert with its Slack reference filled in.
    fn parse(&self, msg: &Value, event_id: Option<&str>) -> Option<Alert> {
        let env = ingest::envelope_for_parser(msg, event_id);
        let mut alert = match parse_slack_value(&env) {
            Ok(Intake::Alert(a)) => *a,
            Ok(Intake::Ignored(i)) => {
                tracing::debug!(reason = ?i.reason, detail = %i.detail, "message is not an alert");
                self.skip("not_an_alert");
                return None;
            }
            Err(e) => {
                tracing::debug!(error = %e, "message could not be parsed");
                self.skip("unparseable");
                return None;
            }
        };
        let field = |k: &str| msg.get(k).and_then(Value::as_str).map(str::to_string);
        let r = &mut alert.slack;
        r.channel = r.channel.take().or_else(|| field("channel"));
        r.ts = r.ts.take().or_else(|| field("ts"));
        r.event_id = r.event_id.take().or_else(|| event_id.map(str::to_string));
        r.bot_id = r.bot_id.take().or_else(|| field("bot_id"));
        r.user = r.user.take().or_else(|| field("user"));
        if msg.get("bot_id").is_some() || field("subtype").as_deref() == Some("bot_message") {
            alert.origin = Origin::Integration;
        }
        Some(alert)
    }

    /// A parsed alert from a channel: resolved note, duplicate notice, or a new analysis.
    async fn alert_in(self: &Arc<Self>, alert: Alert, received: Instant) {
        if alert.status == AlertStatus::Resolved {
            if let Some(id) = &alert.slack.event_id
                && !self.dedup.first_seen(format!("resolved-event:{id}")).await
            {
                Metrics::inc(&self.metrics.redeliveries);
                return;
            }
            let me = self.clone();
            self.spawn(async move { me.resolved(alert).await });
            return;
        }
        match self.dedup.check(&alert).await {
            Some(DuplicateOf::Event) => {
                Metrics::inc(&self.metrics.redeliveries);
            }
            Some(DuplicateOf::Fingerprint) => {
                Metrics::inc(&self.metrics.duplicates);
                if self.cfg.slack.duplicate_notice == DuplicateNotice::Link {
                    let me = self.clone();
                    self.spawn(async move { me.duplicate_notice(alert).await });
                }
            }
            None => {
                let (Some(channel), Some(ts)) =
                    (alert.slack.channel.clone(), alert.slack.ts.clone())
                else {
                    self.skip("no_channel");
                    return;
                };
                self.submit(alert, Target::Thread { channel, ts }, received);
            }
        }
    }

    /// Queue an alert (dedup already decided) and spawn the task that replies.
    fn submit(self: &Arc<Self>, alert: Alert, target: Target, received: Instant) {
        let copy = alert.clone();
        let submitted = match self.pipeline.read() {
            Ok(guard) => match guard.as_ref() {
                Some(p) => p.submit(alert, received),
                None => Err(SubmitError::Closed {
                    alert: Box::new(alert),
                }),
            },
            Err(_) => Err(SubmitError::Closed {
                alert: Box::new(alert),
            }),
        };
        let me = self.clone();
        match submitted {
            Ok(rx) => {
                // The alert went into the queue; the worker hands the analysis back through rx.
                self.spawn(async move { me.reply(copy, target, rx).await });
            }
            Err(SubmitError::QueueFull { capacity, alert }) => {
                Metrics::inc(&self.metrics.queue_full);
                self.spawn(async move { me.queue_full(*alert, target, capacity).await });
            }
            Err(SubmitError::Closed { alert }) => {
                tracing::warn!(alert = %alert.title, "not analysed: the bot is shutting down");
                let dedup = self.dedup.clone();
                self.spawn(async move { dedup.forget(&alert).await });
            }
        }
    }

    fn agent_tools(&self, agent: &str) -> Vec<String> {
        let agents = &self.engine.config().config.agents;
        let Some(spec) = agents.iter().find(|a| a.name == agent) else {
            return Vec::new();
        };
        let mut tools: Vec<String> = spec.collect.iter().map(|c| c.tool.clone()).collect();
        if tools.is_empty() {
            tools = spec.tools.clone();
        }
        tools.dedup();
        tools
    }

    /// Post a message (new, or in a thread); the new message's ts.
    async fn post(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        text: &str,
        blocks: Option<&[Value]>,
    ) -> Result<String, ApiError> {
        let mut body = json!({
            "channel": channel,
            "text": ingest::truncate(text, 3900),
            "unfurl_links": false,
            "unfurl_media": false,
        });
        if let Some(t) = thread_ts {
            body["thread_ts"] = Value::String(t.to_string());
        }
        if let Some(b) = blocks {
            body["blocks"] = Value::Array(b.to_vec());
        }
        let answer = self.api.post("chat.postMessage", &body).await?;
        Ok(answer
            .get("ts")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// Replace one of our messages.
    async fn update(
        &self,
        channel: &str,
        ts: &str,
        text: &str,
        blocks: &[Value],
    ) -> Result<(), ApiError> {
        let body = json!({
            "channel": channel,
            "ts": ts,
            "text": ingest::truncate(text, 3900),
            "blocks": blocks,
        });
        self.api.post("chat.update", &body).await.map(|_| ())
    }

    /// Log and count a reply that could not be delivered.
    fn reply_failed(&self, what: &str, alert: &Alert, err: &ApiError) {
        Metrics::inc(&self.metrics.replies_failed);
        let link = match (&alert.slack.channel, &alert.slack.ts) {
            (Some(c), Some(t)) => self.permalink(c, t, None),
            (Some(c), None) => format!("channel {c}"),
            _ => "(no Slack message)".to_string(),
        };
        tracing::error!(what, alert = %alert.title, permalink = %link, error = %err, "Slack reply not delivered");
    }

    async fn remember(
        &self,
        alert: &Alert,
        target: &Target,
        reply_ts: Option<String>,
        agent: &str,
    ) {
        let fired = alert
            .slack
            .ts
            .as_deref()
            .and_then(links::ts_seconds)
            .or_else(|| alert.fired_at.map(|t| t.timestamp() as f64))
            .unwrap_or_else(now_secs);
        let (channel, thread_ts) = match target {
            Target::Thread { channel, ts } => (channel.clone(), Some(ts.clone())),
            Target::Channel { channel } => (channel.clone(), None),
            Target::Existing {
                channel, thread_ts, ..
            } => (channel.clone(), thread_ts.clone()),
        };
        self.records
            .insert(
                alert.fingerprint.clone(),
                Record {
                    alert: alert.clone(),
                    channel,
                    thread_ts,
                    reply_ts,
                    agent: agent.to_string(),
                    fired,
                },
            )
            .await;
    }

    /// The reply task: "investigating" message, wait for the analysis, update it with the RCA.
    async fn reply(
        self: Arc<Self>,
        alert: Alert,
        target: Target,
        rx: tokio::sync::oneshot::Receiver<RunResult>,
    ) {
        let route = self.engine.route(&alert);
        let tools = self.agent_tools(&route.agent);
        let investigating = ingest::investigating_text(&alert.title, &route.agent, &tools);
        let channel = target.channel().to_string();
        let mut message_ts = match &target {
            Target::Existing { ts, .. } => {
                if let Err(e) = self.update(&channel, ts, &investigating, &[]).await {
                    self.reply_failed("re-run notice", &alert, &e);
                }
                Some(ts.clone())
            }
            _ => match self
                .post(&channel, target.thread(), &investigating, None)
                .await
            {
                Ok(ts) if !ts.is_empty() => Some(ts),
                Ok(_) => None,
                Err(e) => {
                    self.reply_failed("investigating reply", &alert, &e);
                    None
                }
            },
        };
        self.remember(&alert, &target, message_ts.clone(), &route.agent)
            .await;

        let outcome = rx.await.unwrap_or(Err(RunError::ShutDown));
        let (text, blocks, agent) = match outcome {
            Ok(analysis) => {
                let agent = analysis.route.agent.clone();
                self.metrics.runs.inc(&[&agent, "ok"]);
                self.metrics
                    .run_duration
                    .observe(analysis.elapsed_ms / 1000.0);
                let blocks = ingest::with_buttons(analysis.blocks, &alert.fingerprint, &agent);
                (analysis.text, blocks, agent)
            }
            Err(err) => {
                let label = match err {
                    RunError::DeadlineExceeded(_) => "deadline",
                    RunError::ShutDown => "shutdown",
                };
                self.metrics.runs.inc(&[&route.agent, label]);
                let text = match err {
                    RunError::DeadlineExceeded(secs) => format!(
                        "⚠️ The analysis of *{}* did not finish within {secs} s. Press Re-run to try again.",
                        ingest::escape(&alert.title)
                    ),
                    RunError::ShutDown => format!(
                        "⚠️ The bot shut down before analysing *{}*. Press Re-run or use `/rca` with a link to the alert.",
                        ingest::escape(&alert.title)
                    ),
                };
                let blocks = ingest::with_buttons(
                    vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})],
                    &alert.fingerprint,
                    &route.agent,
                );
                (text, blocks, route.agent.clone())
            }
        };
        let delivered = match &message_ts {
            Some(ts) => match self.update(&channel, ts, &text, &blocks).await {
                Ok(()) => true,
                Err(e) => {
                    self.reply_failed("analysis update", &alert, &e);
                    false
                }
            },
            None => false,
        };
        if !delivered {
            // Second chance: the analysis as a new message.
            match self
                .post(&channel, target.thread(), &text, Some(&blocks))
                .await
            {
                Ok(ts) if !ts.is_empty() => message_ts = Some(ts),
                Ok(_) => {}
                Err(e) => self.reply_failed("analysis reply", &alert, &e),
            }
        }
        self.remember(&alert, &target, message_ts, &agent).await;
    }

    /// The queue is full: say so in the alert's thread; never drop silently.
    async fn queue_full(self: Arc<Self>, alert: Alert, target: Target, capacity: usize) {
        self.dedup.forget(&alert).await;
        let link = match (&alert.slack.channel, &alert.slack.ts) {
            (Some(c), Some(t)) => self.permalink(c, t, None),
            _ => "<link to the alert>".to_string(),
        };
        let text = format!(
            "⏳ The analysis queue is full ({capacity} alerts waiting), so this alert will not be analysed automatically. Run `/rca {link}` to analyse it."
        );
        tracing::warn!(alert = %alert.title, permalink = %link, "queue full; alert not analysed");
        if let Err(e) = self
            .post(target.channel(), target.thread(), &text, None)
            .await
        {
            self.reply_failed("queue-full notice", &alert, &e);
        }
    }

    /// A re-fired alert within the dedup window: a one-line reply linking the earlier analysis.
    async fn duplicate_notice(self: Arc<Self>, alert: Alert) {
        let (Some(channel), Some(ts)) = (alert.slack.channel.clone(), alert.slack.ts.clone())
        else {
            return;
        };
        let earlier = self.records.get(&alert.fingerprint).await;
        let text = match earlier {
            Some(r) => {
                let link = match (&r.reply_ts, &r.thread_ts) {
                    (Some(reply), thread) => self.permalink(&r.channel, reply, thread.as_deref()),
                    (None, Some(thread)) => self.permalink(&r.channel, thread, None),
                    (None, None) => self.permalink(&r.channel, "", None),
                };
                format!(
                    "↩️ Same alert as before — see the <{link}|earlier analysis> (no new analysis within the dedup window)."
                )
            }
            None => {
                "↩️ This alert is already being analysed (no new analysis within the dedup window)."
                    .to_string()
            }
        };
        if let Err(e) = self.post(&channel, Some(&ts), &text, None).await {
            self.reply_failed("duplicate notice", &alert, &e);
        }
    }

    /// A resolved alert we analysed: a short note in the original analysis thread.
    async fn resolved(self: Arc<Self>, alert: Alert) {
        let Some(record) = self.records.get(&alert.fingerprint).await else {
            self.skip("resolved_unknown");
            return;
        };
        let Some(thread) = record.thread_ts.clone().or(record.reply_ts.clone()) else {
            return;
        };
        // A new "[RESOLVED]" message carries its own ts; an edit of the alert message (Alertmanager
        // `update_message`) keeps the alert's ts, and arrives when it happens.
        let now = alert
            .slack
            .ts
            .as_deref()
            .filter(|ts| Some(*ts) != record.thread_ts.as_deref())
            .and_then(links::ts_seconds)
            .unwrap_or_else(now_secs);
        let text = format!(
            "✅ Resolved after {}",
            ingest::human_duration(now - record.fired)
        );
        self.records.invalidate(&alert.fingerprint).await;
        self.dedup.forget(&alert).await;
        match self.post(&record.channel, Some(&thread), &text, None).await {
            Ok(_) => Metrics::inc(&self.metrics.resolved_notes),
            Err(e) => self.reply_failed("resolved note", &alert, &e),
        }
    }

    // -----------------------------------------------------------------------------------------
    // /rca, shortcut, buttons
    // -----------------------------------------------------------------------------------------

    /// Tell the user who asked (response_url, else an ephemeral message).
    async fn tell(&self, asker: &Asker, text: &str) {
        if let Some(url) = &asker.response_url {
            let body =
                json!({"response_type": "ephemeral", "replace_original": false, "text": text});
            if self.api.post_response_url(url, &body).await.is_ok() {
                return;
            }
        }
        let body = json!({"channel": asker.channel, "user": asker.user, "text": text});
        if let Err(e) = self.api.post("chat.postEphemeral", &body).await {
            tracing::warn!(user = %asker.user, error = %e, "could not report to the user");
        }
    }

    /// `/rca <permalink>` or `/rca <free text>`.
    async fn command(self: Arc<Self>, text: String, asker: Asker) {
        if links::looks_like_link(&text) {
            match links::parse_permalink(&text) {
                Ok(m) => self.rca_message(m, asker).await,
                Err(e) => self.tell(&asker, &format!("⚠️ {e}")).await,
            }
            return;
        }
        let mut alert = crate::alert::sources::text_alert(&text);
        alert.slack.channel = Some(asker.channel.clone());
        alert.slack.user = Some(asker.user.clone());
        if alert.status == AlertStatus::Resolved {
            self.tell(
                &asker,
                "That alert text says it is resolved; nothing to analyse.",
            )
            .await;
            return;
        }
        let target = Target::Channel {
            channel: asker.channel.clone(),
        };
        self.submit_forced(alert, target, &asker);
    }

    fn submit_forced(self: &Arc<Self>, alert: Alert, target: Target, asker: &Asker) {
        if self.closing.load(Ordering::Relaxed) {
            let me = self.clone();
            let asker = asker.clone();
            self.spawn(async move {
                me.tell(&asker, "The bot is shutting down; try again in a minute.")
                    .await
            });
            return;
        }
        self.submit(alert, target, Instant::now());
    }

    /// Fetch one message by channel and ts (and thread, for replies).
    async fn fetch_message(&self, m: &links::MessageRef) -> Result<Option<Value>, ApiError> {
        let find = |answer: &Value| {
            answer
                .get("messages")
                .and_then(Value::as_array)
                .and_then(|msgs| {
                    msgs.iter()
                        .find(|x| x.get("ts").and_then(Value::as_str) == Some(m.ts.as_str()))
                        .cloned()
                })
        };
        // "No such message" is an answer, not a failure.
        let not_found = |r: Result<Value, ApiError>| match r {
            Err(ApiError::Slack(code))
                if matches!(code.as_str(), "thread_not_found" | "message_not_found") =>
            {
                Ok(Value::Null)
            }
            other => other,
        };
        if let Some(thread) = &m.thread_ts {
            let answer = not_found(
                self.api
                    .get(
                        "conversations.replies",
                        &[
                            ("channel", m.channel.clone()),
                            ("ts", thread.clone()),
                            ("limit", "200".into()),
                        ],
                    )
                    .await,
            )?;
            return Ok(find(&answer));
        }
        let answer = not_found(
            self.api
                .get(
                    "conversations.history",
                    &[
                        ("channel", m.channel.clone()),
                        ("latest", m.ts.clone()),
                        ("oldest", m.ts.clone()),
                        ("inclusive", "true".into()),
                        ("limit", "1".into()),
                    ],
                )
                .await,
        )?;
        if let Some(found) = find(&answer) {
            return Ok(Some(found));
        }
        let answer = not_found(
            self.api
                .get(
                    "conversations.replies",
                    &[
                        ("channel", m.channel.clone()),
                        ("ts", m.ts.clone()),
                        ("limit", "1".into()),
                    ],
                )
                .await,
        )?;
        Ok(find(&answer))
    }

    /// `/rca <permalink>` and the "Run RCA" shortcut: analyse that message, bypassing dedup.
    async fn rca_message(self: Arc<Self>, m: links::MessageRef, asker: Asker) {
        let msg = match self.fetch_message(&m).await {
            Ok(Some(msg)) => msg,
            Ok(None) => {
                self.tell(
                    &asker,
                    "⚠️ I could not find that message. Is the link right?",
                )
                .await;
                return;
            }
            Err(ApiError::Slack(code))
                if matches!(
                    code.as_str(),
                    "channel_not_found" | "not_in_channel" | "missing_scope" | "access_denied"
                ) =>
            {
                self.tell(&asker, &format!("⚠️ I can't read that channel (`{code}`). Invite me with `/invite @sre-agent` and try again.")).await;
                return;
            }
            Err(e) => {
                self.tell(&asker, &format!("⚠️ I could not fetch that message: {e}."))
                    .await;
                return;
            }
        };
        let mut msg = msg;
        if let Some(obj) = msg.as_object_mut() {
            obj.insert("channel".into(), Value::String(m.channel.clone()));
            obj.entry("type")
                .or_insert_with(|| Value::String("message".into()));
        }
        let Some(mut alert) = self.parse(&msg, None) else {
            self.tell(&asker, "⚠️ That message has nothing I can analyse.")
                .await;
            return;
        };
        if alert.status == AlertStatus::Resolved {
            self.tell(&asker, "That alert is resolved; nothing to analyse.")
                .await;
            return;
        }
        alert.slack.event_id = None;
        let thread = msg
            .get("thread_ts")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| m.ts.clone());
        let target = Target::Thread {
            channel: m.channel.clone(),
            ts: thread,
        };
        self.submit_forced(alert, target, &asker);
    }

    /// An interactive payload (block_actions, message_action), as JSON.
    fn interaction(self: &Arc<Self>, payload: Value) {
        let s = |p: &str| {
            payload
                .pointer(p)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let response_url = payload
            .get("response_url")
            .cloned()
            .and_then(|u| serde_json::from_value::<SlackResponseUrl>(u).ok());
        let user = s("/user/id").unwrap_or_default();
        let channel = s("/channel/id")
            .or_else(|| s("/container/channel_id"))
            .unwrap_or_default();
        let asker = Asker {
            channel: channel.clone(),
            user: user.clone(),
            response_url,
        };
        match s("/type").as_deref() {
            Some("message_action") => {
                if s("/callback_id").as_deref() != Some(ingest::SHORTCUT_RUN_RCA) {
                    self.skip("unknown_shortcut");
                    return;
                }
                Metrics::inc(&self.metrics.commands);
                let Some(ts) = s("/message/ts") else {
                    return;
                };
                let m = links::MessageRef {
                    channel,
                    thread_ts: s("/message/thread_ts").filter(|t| *t != ts),
                    ts,
                };
                let me = self.clone();
                self.spawn(async move { me.rca_message(m, asker).await });
            }
            Some("block_actions") => {
                let message_ts = s("/container/message_ts").or_else(|| s("/message/ts"));
                let thread_ts = s("/message/thread_ts");
                let actions = payload
                    .get("actions")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for action in actions {
                    let id = action
                        .get("action_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let value = action
                        .get("value")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let (fp, agent) = ingest::parse_button_value(value);
                    match id {
                        ingest::ACTION_RERUN => {
                            let Some(ts) = message_ts.clone() else {
                                continue;
                            };
                            let me = self.clone();
                            let asker = asker.clone();
                            let thread_ts = thread_ts.clone();
                            self.spawn(async move { me.rerun(fp, ts, thread_ts, asker).await });
                        }
                        ingest::ACTION_UP | ingest::ACTION_DOWN => {
                            let vote = if id == ingest::ACTION_UP {
                                "up"
                            } else {
                                "down"
                            };
                            let me = self.clone();
                            let user = user.clone();
                            self.spawn(async move { me.feedback(fp, agent, vote, user).await });
                        }
                        _ => self.skip("unknown_action"),
                    }
                }
            }
            _ => self.skip("other_interaction"),
        }
    }

    async fn feedback(
        self: Arc<Self>,
        fp: Option<String>,
        agent: Option<String>,
        vote: &'static str,
        user: String,
    ) {
        let fp = fp.unwrap_or_default();
        let agent = match agent {
            Some(a) => a,
            None => self
                .records
                .get(&fp)
                .await
                .map(|r| r.agent)
                .unwrap_or_else(|| "unknown".into()),
        };
        self.metrics.feedback.inc(&[&agent, vote]);
        tracing::info!(fingerprint = %fp, agent = %agent, vote, user = %user, "RCA feedback");
    }

    /// The Re-run button: analyse the same alert again and update the message in place.
    async fn rerun(
        self: Arc<Self>,
        fp: Option<String>,
        message_ts: String,
        thread_ts: Option<String>,
        asker: Asker,
    ) {
        let record = match &fp {
            Some(fp) => self.records.get(fp).await,
            None => None,
        };
        let alert = match record {
            Some(r) => Some(r.alert),
            None => match &thread_ts {
                // Not in memory (restart): read the alert at the top of the thread.
                Some(thread) => {
                    let m = links::MessageRef {
                        channel: asker.channel.clone(),
                        ts: thread.clone(),
                        thread_ts: None,
                    };
                    match self.fetch_message(&m).await {
                        Ok(Some(mut msg)) => {
                            if let Some(obj) = msg.as_object_mut() {
                                obj.insert("channel".into(), Value::String(asker.channel.clone()));
                            }
                            self.parse(&msg, None)
                        }
                        _ => None,
                    }
                }
                None => None,
            },
        };
        let Some(mut alert) = alert else {
            self.tell(
                &asker,
                "⚠️ I no longer have that alert; use `/rca <link to the alert>`.",
            )
            .await;
            return;
        };
        alert.slack.event_id = None;
        let target = Target::Existing {
            channel: asker.channel.clone(),
            ts: message_ts,
            thread_ts: thread_ts.or_else(|| alert.slack.ts.clone()),
        };
        self.submit_forced(alert, target, &asker);
    }

    // -----------------------------------------------------------------------------------------
    // Catch-up
    // -----------------------------------------------------------------------------------------

    /// Analyse recent alerts in the allowed channels that have no reply from this bot.
    async fn catch_up(self: Arc<Self>) {
        let minutes = self.cfg.slack.catch_up_minutes;
        if minutes == 0 {
            return;
        }
        let channels = if self.cfg.slack.channels.is_empty() {
            match self.member_channels().await {
                Ok(list) => list,
                Err(e) => {
                    tracing::info!(error = %e, "catch-up skipped: no channel allow list (slack.channels) and conversations.list failed");
                    return;
                }
            }
        } else {
            self.cfg.slack.channels.clone()
        };
        let oldest = format!("{:.6}", now_secs() - (minutes as f64) * 60.0);
        let mut found = 0usize;
        for channel in channels {
            let mut cursor = String::new();
            let mut messages = Vec::new();
            for _page in 0..20 {
                let mut params = vec![
                    ("channel", channel.clone()),
                    ("oldest", oldest.clone()),
                    ("limit", "200".to_string()),
                ];
                if !cursor.is_empty() {
                    params.push(("cursor", cursor.clone()));
                }
                let answer = match self.api.get("conversations.history", &params).await {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(channel = %channel, error = %e, "catch-up: cannot read history");
                        break;
                    }
                };
                if let Some(list) = answer.get("messages").and_then(Value::as_array) {
                    messages.extend(list.iter().cloned());
                }
                cursor = answer
                    .pointer("/response_metadata/next_cursor")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if cursor.is_empty()
                    || answer.get("has_more").and_then(Value::as_bool) != Some(true)
                {
                    break;
                }
            }
            // Oldest first, so alerts are answered in the order they fired.
            messages.sort_by(|a, b| {
                let ts = |m: &Value| {
                    m.get("ts")
                        .and_then(Value::as_str)
                        .and_then(links::ts_seconds)
                        .unwrap_or(0.0)
                };
                ts(a).total_cmp(&ts(b))
            });
            for msg in messages {
                if self.closing.load(Ordering::Relaxed) {
                    return;
                }
                let Classified::Alert(msg) =
                    ingest::classify(&msg, Some(&channel), &self.me, &self.cfg.slack.channels)
                else {
                    continue;
                };
                let Some(ts) = msg.get("ts").and_then(Value::as_str).map(str::to_string) else {
                    continue;
                };
                if self.answered(&channel, &ts, &msg).await {
                    continue;
                }
                let Some(alert) = self.parse(&msg, None) else {
                    continue;
                };
                if alert.status != AlertStatus::Firing {
                    continue;
                }
                found += 1;
                self.alert_in(alert, Instant::now()).await;
            }
        }
        tracing::info!(alerts = found, minutes, "catch-up done");
    }

    /// Channels the bot is a member of (`conversations.list`), for catch-up without an allow list.
    async fn member_channels(&self) -> Result<Vec<String>, ApiError> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        for _page in 0..50 {
            let mut params = vec![
                ("types", "public_channel,private_channel".to_string()),
                ("exclude_archived", "true".to_string()),
                ("limit", "200".to_string()),
            ];
            if !cursor.is_empty() {
                params.push(("cursor", cursor.clone()));
            }
            let answer = self.api.get("conversations.list", &params).await?;
            if let Some(list) = answer.get("channels").and_then(Value::as_array) {
                out.extend(
                    list.iter()
                        .filter(|c| c.get("is_member").and_then(Value::as_bool) == Some(true))
                        .filter_map(|c| c.get("id").and_then(Value::as_str).map(str::to_string)),
                );
            }
            cursor = answer
                .pointer("/response_metadata/next_cursor")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if cursor.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// True if the thread of `ts` already holds a message from this bot.
    async fn answered(&self, channel: &str, ts: &str, msg: &Value) -> bool {
        if msg.get("reply_count").and_then(Value::as_u64) == Some(0) {
            return false;
        }
        match self
            .api
            .get(
                "conversations.replies",
                &[
                    ("channel", channel.to_string()),
                    ("ts", ts.to_string()),
                    ("limit", "200".into()),
                ],
            )
            .await
        {
            Ok(answer) => answer
                .get("messages")
                .and_then(Value::as_array)
                .is_some_and(|msgs| {
                    msgs.iter()
                        .filter(|m| m.get("ts").and_then(Value::as_str) != Some(ts))
                        .any(|m| self.me.is_own(m))
                }),
            Err(e) => {
                tracing::warn!(channel, ts, error = %e, "catch-up: cannot read the thread; skipping it");
                true
            }
        }
    }
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn env_tokens_are_checked() {
        let ok = BotConfig::from_lookup(
            lookup(&[
                (ENV_APP_TOKEN, "xapp-1-A-1-x"),
                (ENV_BOT_TOKEN, "xoxb-1-2-y"),
            ]),
            SlackConfig::default(),
        )
        .unwrap();
        assert_eq!(ok.api_url, api::DEFAULT_API_URL);
        assert_eq!(format!("{:?}", ok.bot_token), "***");
        assert!(!format!("{ok:?}").contains("xoxb-1-2-y"));
        assert_eq!(
            BotConfig::from_lookup(lookup(&[(ENV_BOT_TOKEN, "xoxb-1")]), SlackConfig::default())
                .unwrap_err(),
            EnvError::Missing(ENV_APP_TOKEN, "app-level token")
        );
        let bad = BotConfig::from_lookup(
            lookup(&[(ENV_APP_TOKEN, "xapp-1"), (ENV_BOT_TOKEN, "xoxp-1")]),
            SlackConfig::default(),
        )
        .unwrap_err();
        assert!(bad.to_string().contains("SLACK_BOT_TOKEN"));
        assert!(!bad.to_string().contains("xoxp-1"));
        let custom = BotConfig::from_lookup(
            lookup(&[
                (ENV_APP_TOKEN, "xapp-1"),
                (ENV_BOT_TOKEN, "xoxb-1"),
                (ENV_API_URL, "http://127.0.0.1:9/api/"),
            ]),
            SlackConfig::default(),
        )
        .unwrap();
        assert_eq!(custom.api_url, "http://127.0.0.1:9/api/");
        assert_eq!(
            api::normalise_api_url(&custom.api_url),
            "http://127.0.0.1:9/api"
        );
    }
}
