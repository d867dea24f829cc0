//! Logging setup (`tracing`) and the ops HTTP server (`/healthz`, `/readyz`, `/metrics`).
//!
//! Logs: human-readable text by default, JSON with `SRE_AGENT_LOG_FORMAT=json`.
//! The level comes from `RUST_LOG` (default `info`). Logs go to stderr so stdout stays the reply,
//! every line redacted ([`Redacting`]).

use std::io::Write;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The content type `/metrics` answers with: the OpenMetrics text format, which Prometheus
/// scrapes natively.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Install the global subscriber once (to stderr, redacted); later calls are no-ops.
pub fn init_logging(default_level: &str) {
    init_logging_to(default_level, std::io::stderr);
}

/// Install the global subscriber writing to `writer`, every line redacted
/// ([`crate::redact`]); later calls are no-ops. Tests pass a buffer to read the logs back.
pub fn init_logging_to<W>(default_level: &str, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let json = std::env::var("SRE_AGENT_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Redacting(writer));
    let _ = if json {
        // Each line carries the fields of its run's span (run id, fingerprint, channel, agent,
        // reasoner) at the top level of the JSON object.
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// A [`MakeWriter`] whose writers redact each log line before it reaches `W`: the last gate for
/// a secret that a log field carried (alert text, a tool's error, an endpoint's message).
pub struct Redacting<W>(pub W);

impl<'a, W: MakeWriter<'a>> MakeWriter<'a> for Redacting<W> {
    type Writer = RedactingWriter<W::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            line: Vec::with_capacity(256),
        }
    }
}

/// Buffers one event's output and writes it redacted when dropped or flushed.
pub struct RedactingWriter<W: Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    fn emit(&mut self) -> std::io::Result<()> {
        if self.line.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.line);
        let clean = crate::redact::redact(&text);
        let result = self.inner.write_all(clean.as_bytes());
        self.line.clear();
        result
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.emit()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.emit();
        let _ = self.inner.flush();
    }
}

/// What the ops endpoints report. Implemented by the bot.
pub trait OpsState: Send + Sync {
    /// `/readyz`: ready to take work (Socket Mode connected, not shutting down).
    fn ready(&self) -> bool;
    /// `/metrics`: OpenMetrics text ([`METRICS_CONTENT_TYPE`]).
    fn metrics(&self) -> String;
}

/// The running `/healthz`, `/readyz`, `/metrics` server.
pub struct OpsServer {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl OpsServer {
    /// The bound address (useful with port 0).
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Stop serving and wait for the server task.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }
}

/// Serve `/healthz` (always 200 while the process runs), `/readyz` (200 when
/// [`OpsState::ready`], else 503) and `/metrics` on `bind` (port 0 picks a free port).
pub async fn serve_ops(
    bind: std::net::SocketAddr,
    state: std::sync::Arc<dyn OpsState>,
) -> std::io::Result<OpsServer> {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use axum::routing::get;

    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let ready_state = state.clone();
    let metrics_state = state;
    let app = axum::Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(move || {
                let s = ready_state.clone();
                async move {
                    if s.ready() {
                        (StatusCode::OK, "ready\n")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let s = metrics_state.clone();
                async move {
                    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], s.metrics()).into_response()
                }
            }),
        );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "ops server stopped with an error");
        }
    });
    Ok(OpsServer {
        addr,
        stop: Some(tx),
        task,
    })
}
