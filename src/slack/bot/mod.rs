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
//!
//! The state is split into parts with one job each: [`admission`] (the one door into the
//! pipeline, shared with catch-up, `/rca` and replay), [`records`] (the byte-bounded record of
//! each analysis), [`replies`] (the messages and their resumable markers), [`notices`]
//! (coalesced duplicate notices) and [`catch_up`] (reading history on start). [`flow`] drives
//! one alert through them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tokio::sync::{Notify, mpsc, watch};

use crate::alert::{Alert, AlertStatus, Intake, Origin, SourceMap, parse_slack_value_with};
use crate::config::{DuplicateNotice, Secret, SlackConfig};
use crate::pipeline::{Admission, Pipeline, SkipReason, SubmitError};
use crate::slack::api::{self, ApiConfig, ApiError, Connector, SlackApi};
use crate::slack::ingest::{self, Classified, Identity};
use crate::slack::links;
use crate::slack::metrics::Metrics;

mod admission;
mod buttons;
mod catch_up;
mod commands;
mod flow;
mod mentions;
mod notices;
mod records;
mod replies;

use admission::Door;
use notices::Notices;
use records::Records;
use replies::Replies;

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
    /// `sources:` of `agents.yaml`: which integration a sender is.
    pub sources: SourceMap,
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
            sources: SourceMap::default(),
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

/// The parts, reached by the callbacks and the tasks.
struct Shared {
    cfg: BotConfig,
    me: Identity,
    metrics: Arc<Metrics>,
    /// The one way into the pipeline.
    door: Door,
    /// What each analysis is and where it lives.
    records: Records,
    /// The messages the bot writes.
    replies: Replies,
    /// Coalesced duplicate notices.
    notices: Notices,
    /// A Socket Mode connection said `hello` and none failed since.
    socket_up: AtomicBool,
    closing: AtomicBool,
    tasks: Tasks,
    /// Events on their way from the Socket Mode callbacks to the ingest task.
    ingest: mpsc::Sender<Incoming>,
    /// True once catch-up has read (and claimed) the history; live events wait for it.
    scanned: watch::Sender<bool>,
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

/// Longest the live ingest waits for catch-up's scan before it goes ahead anyway.
const SCAN_WAIT: Duration = Duration::from_secs(60);

/// The entry point.
pub struct Bot;

/// A running bot.
pub struct BotHandle {
    shared: Arc<Shared>,
    listener: SlackClientSocketModeListener<Connector>,
    ingest_task: tokio::task::JoinHandle<()>,
}

impl Bot {
    /// The bot's Web API caller for `cfg`: one per process, shared by the bot's replies and the
    /// Slack tools (so both keep one pacing and one rate-limit budget).
    pub fn web_api(cfg: &BotConfig) -> Result<Arc<SlackApi>, BotError> {
        let client = api::build_client(&cfg.api_url)?;
        Ok(Arc::new(SlackApi::new(
            client,
            &cfg.bot_token,
            cfg.api.clone(),
            Arc::new(Metrics::default()),
        )))
    }

    /// `auth.test`, then Socket Mode connections, then (in the background) catch-up.
    pub async fn start(cfg: BotConfig, pipeline: Pipeline) -> Result<BotHandle, BotError> {
        let api = Bot::web_api(&cfg)?;
        Bot::start_with_api(cfg, pipeline, api).await
    }

    /// [`Bot::start`] over a Web API caller built by [`Bot::web_api`].
    pub async fn start_with_api(
        cfg: BotConfig,
        pipeline: Pipeline,
        api: Arc<SlackApi>,
    ) -> Result<BotHandle, BotError> {
        let metrics = api.metrics().clone();
        let client = api.client().clone();
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
        let (scanned, scan_done) = watch::channel(cfg.slack.catch_up_minutes == 0);
        let shared = Arc::new(Shared {
            me,
            metrics,
            door: Door::new(pipeline),
            records: Records::new(
                cfg.slack.records_max_bytes,
                window.max(Duration::from_secs(24 * 3600)),
            ),
            replies: Replies::new(api),
            notices: Notices::new(window),
            socket_up: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            tasks: Tasks::default(),
            ingest: ingest_tx,
            scanned,
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
            // Catch-up claims the history first, so a redelivered event of a message it is
            // finishing is a redelivery, not a second analysis. Acks do not wait for this.
            let mut scan_done = scan_done;
            if tokio::time::timeout(SCAN_WAIT, scan_done.wait_for(|done| *done))
                .await
                .is_err()
            {
                tracing::warn!("catch-up is slow; live events go ahead");
            }
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
                    Incoming::Stop => {
                        // Events acked after the stop was queued are ours too.
                        while let Ok(msg) = ingest_rx.try_recv() {
                            if let Incoming::Event {
                                event,
                                event_id,
                                received,
                            } = msg
                            {
                                ingester.ingest_event(event, event_id, received).await;
                                ingester.end_work();
                            }
                        }
                        break;
                    }
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

    /// True while a Socket Mode connection is up (a `hello` arrived and no socket failed
    /// since) and the bot is not shutting down.
    pub fn is_ready(&self) -> bool {
        self.shared.ready()
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
        let pipeline = self.shared.door.close();
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
        self.0.ready()
    }
    fn metrics(&self) -> String {
        let mut out = self
            .0
            .metrics
            .render(self.0.door.queue_depth(), self.0.ready());
        out.push_str(
            "# HELP sre_agent_records_bytes Bytes held by the analysis records (slack.records_max_bytes bounds it).\n\
             # TYPE sre_agent_records_bytes gauge\n",
        );
        out.push_str(&format!(
            "sre_agent_records_bytes {}\n",
            self.0.records.weighted_bytes()
        ));
        out
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
        s.socket_up.store(true, Ordering::Relaxed);
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
                    // Tracked like any other work, so shutdown waits for it.
                    let me = s.clone();
                    s.spawn(async move { me.raw_envelope(&body).await });
                }
            });
        }
        None => {
            // A socket that failed (dropped without a close, a read error): not ready until
            // the reconnected socket says hello.
            let socket = matches!(
                err.downcast_ref::<SlackClientError>(),
                Some(SlackClientError::SocketModeProtocolError(_))
            );
            tracing::warn!(error = %err, "Socket Mode listener error");
            if socket {
                tokio::spawn(async move {
                    if let Some(s) = shared_of(&state).await {
                        Metrics::inc(&s.metrics.socket_errors);
                        s.socket_up.store(false, Ordering::Relaxed);
                    }
                });
            }
        }
    }
    HttpStatusCode::OK
}

// ---------------------------------------------------------------------------------------------
// Work
// ---------------------------------------------------------------------------------------------

/// Ends one piece of work when dropped (normal end or panic).
struct WorkGuard(Arc<Shared>);

impl Drop for WorkGuard {
    fn drop(&mut self) {
        self.0.end_work();
    }
}

/// Who ran `/rca` or the shortcut, to report errors to.
#[derive(Debug, Clone)]
struct Asker {
    channel: String,
    user: String,
    response_url: Option<SlackResponseUrl>,
}

impl Shared {
    fn ready(&self) -> bool {
        self.socket_up.load(Ordering::Relaxed) && !self.closing.load(Ordering::Relaxed)
    }

    fn spawn<F>(self: &Arc<Self>, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.begin_work();
        let guard = WorkGuard(self.clone());
        tokio::spawn(async move {
            // Ends the work even if `fut` panics, so shutdown never waits for a dead task.
            let _guard = guard;
            fut.await;
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
        if event.get("type").and_then(Value::as_str) == Some("app_mention") {
            self.mention(event, event_id).await;
            return;
        }
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
        let mut alert = match parse_slack_value_with(&env, &self.cfg.sources) {
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

    /// A parsed alert from a channel: resolved note, duplicate notice, or a new analysis, as
    /// the pipeline's admission decides.
    async fn alert_in(self: &Arc<Self>, alert: Alert, received: Instant) {
        match self.door.admit(&alert, false).await {
            Admission::Skip(SkipReason::Redelivered) => Metrics::inc(&self.metrics.redeliveries),
            Admission::Skip(SkipReason::Resolved) => {
                let me = self.clone();
                self.spawn(async move { me.resolved(alert).await });
            }
            Admission::Skip(SkipReason::Duplicate) => {
                Metrics::inc(&self.metrics.duplicates);
                if self.cfg.slack.duplicate_notice == DuplicateNotice::Link {
                    self.duplicate(alert).await;
                }
            }
            Admission::Skip(SkipReason::NotAnAlert) => self.skip("not_an_alert"),
            Admission::Analyze => {
                let (Some(channel), Some(ts)) =
                    (alert.slack.channel.clone(), alert.slack.ts.clone())
                else {
                    self.skip("no_channel");
                    return;
                };
                self.submit(alert, Target::Thread { channel, ts }, received, false);
            }
        }
    }

    /// Queue an admitted alert and spawn the task that replies. `forced` (`/rca`, shortcut,
    /// Re-run) bypassed dedup, so a refusal must not erase the dedup record of the alert's
    /// earlier, admitted analysis.
    fn submit(self: &Arc<Self>, alert: Alert, target: Target, received: Instant, forced: bool) {
        let copy = alert.clone();
        let me = self.clone();
        match self.door.submit(alert, received) {
            Ok(rx) => {
                // The alert went into the queue; the worker hands the analysis back through rx.
                self.spawn(async move { me.reply(copy, target, rx).await });
            }
            Err(SubmitError::QueueFull { capacity, alert }) => {
                Metrics::inc(&self.metrics.queue_full);
                self.spawn(async move { me.queue_full(*alert, target, capacity, forced).await });
            }
            Err(SubmitError::Closed { alert }) => {
                tracing::warn!(alert = %alert.title, "not analysed: the bot is shutting down");
                if !forced {
                    self.spawn(async move { me.door.forget(&alert).await });
                }
            }
        }
    }

    fn agent_tools(&self, agent: &str) -> Vec<String> {
        let agents = &self.door.engine().config().config.agents;
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
