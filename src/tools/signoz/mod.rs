//! The `signoz` MCP tool server: `query_logs`, `query_metrics`, `query_traces`.
//!
//! Each tool maps the service name to the one SigNoz knows ([`services`]), builds the SigNoz
//! **v5** `POST /api/v5/query_range` body ([`request`] for raw logs and spans, [`metrics`] for
//! metrics from the [`catalogue`]), hands it to the [`SignozBackend`], and decodes the answer
//! ([`decode`]) into an [`Observation`]. `query_metrics` asks the traces for the keys the metrics
//! answer left empty when the catalogue says how (request rate, error ratio and p99 from spans,
//! for a SigNoz without span metrics). A mapped service name or a traces-derived metric is said in
//! an extra text block of the answer, after the observation's JSON.

pub mod aggregation;
pub mod catalogue;
pub mod decode;
pub mod metrics;
pub mod request;
pub mod services;

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::schemars::JsonSchema;
use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};
use serde::Deserialize;

use crate::evidence::{MetricSeries, Observation};
use crate::tools::SignozBackend;
use crate::tools::wire;
use catalogue::MetricCatalogue;
use decode::{decode_logs, decode_metrics, decode_traces};
use metrics::{MetricsPlan, Scope};
use request::{logs_request, traces_request};
use services::{ServiceMatch, match_service};

/// Default look-back window.
pub const DEFAULT_MINUTES: u32 = 60;
/// Default number of log records / spans.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest window and row count a call may ask for.
const MAX_MINUTES: u32 = 7 * 24 * 60;
const MAX_LIMIT: u32 = 1000;

/// Arguments of `query_logs`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct QueryLogsArgs {
    /// Service name (`service.name` resource attribute).
    pub service: String,
    /// Kubernetes namespace (`k8s.namespace.name`), when known.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Minimum severity: TRACE, DEBUG, INFO, WARN (default), ERROR or FATAL.
    #[serde(default)]
    pub severity: Option<String>,
    /// Extra SigNoz filter expression ANDed to the query, e.g. `body CONTAINS 'timeout'`.
    #[serde(default)]
    pub query: Option<String>,
    /// Look-back window in minutes (default 60).
    #[serde(default, deserialize_with = "wire::opt_u32")]
    pub minutes: Option<u32>,
    /// Maximum number of records (default 100).
    #[serde(default, deserialize_with = "wire::opt_u32")]
    pub limit: Option<u32>,
}

/// Arguments of `query_metrics`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct QueryMetricsArgs {
    /// Service name (`service.name`).
    pub service: String,
    /// Metric names, e.g. `http_server_error_ratio`; one series set is returned per metric.
    #[serde(deserialize_with = "wire::string_list")]
    pub metrics: Vec<String>,
    /// Kubernetes namespace (fills `{namespace}` in the catalogue's filters), when known.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Look-back window in minutes (default 60).
    #[serde(default, deserialize_with = "wire::opt_u32")]
    pub minutes: Option<u32>,
}

/// Arguments of `query_traces`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct QueryTracesArgs {
    /// Service name (`service.name`).
    pub service: String,
    /// Only spans with `has_error = true` (default false).
    #[serde(default, deserialize_with = "wire::opt_bool")]
    pub only_errors: Option<bool>,
    /// Look-back window in minutes (default 60).
    #[serde(default, deserialize_with = "wire::opt_u32")]
    pub minutes: Option<u32>,
    /// Maximum number of spans (default 100).
    #[serde(default, deserialize_with = "wire::opt_u32")]
    pub limit: Option<u32>,
}

/// The SigNoz tool server.
#[derive(Clone)]
pub struct SignozServer {
    backend: Arc<dyn SignozBackend>,
    catalogue: Arc<MetricCatalogue>,
    tool_router: ToolRouter<Self>,
}

/// The service name to query, and what to tell about it.
struct ServiceChoice {
    name: String,
    note: Option<String>,
}

#[tool_router]
impl SignozServer {
    /// A server reading metrics through the built-in catalogue.
    pub fn new(backend: Arc<dyn SignozBackend>) -> Self {
        Self::with_catalogue(backend, Arc::new(MetricCatalogue::builtin().clone()))
    }

    /// A server reading metrics through `catalogue` (the configuration's `metrics:`).
    pub fn with_catalogue(
        backend: Arc<dyn SignozBackend>,
        catalogue: Arc<MetricCatalogue>,
    ) -> Self {
        Self {
            backend,
            catalogue,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Search a service's logs in SigNoz at or above a severity (default WARN) over the last `minutes` (default 60). Returns log records (timestamp, severity, pod, body, attributes), newest first."
    )]
    async fn query_logs(
        &self,
        Parameters(mut args): Parameters<QueryLogsArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let min_severity = match args.severity.as_deref() {
            None => SEVERITY_WARN,
            Some(s) => match severity_number(s) {
                Some(n) => n,
                None => return Ok(wire::failed(format!("unknown severity {s:?}"))),
            },
        };
        let asked = args.service.clone();
        let choice = self.choose_service(&asked).await;
        args.service = choice.name.clone();
        let limit = limit_of(args.limit);
        let body = logs_request(&args, now_ms());
        let resp = match self.backend.query_range(body).await {
            Ok(Some(resp)) => resp,
            Ok(None) => {
                return Ok(no_data(
                    format!("no logs for {}", choice.name),
                    &choice.note,
                ));
            }
            Err(e) => return Ok(wire::backend_failed("signoz", &e)),
        };
        Ok(match decode_logs(&resp, limit) {
            Ok(records) if records.is_empty() => no_data(
                format!(
                    "no logs at or above {} for {}",
                    severity_text(min_severity),
                    choice.name
                ),
                &choice.note,
            ),
            Ok(records) => with_note(wire::data(&Observation::Logs { records }), &choice.note),
            Err(e) => wire::failed(format!("signoz: {e}")),
        })
    }

    #[tool(
        description = "Fetch metric time series for a service from SigNoz over the last `minutes` (default 60), one series set per metric name (e.g. http_server_error_ratio, mongodb_pool_in_use, container_memory_working_set_bytes; the catalogue maps them to SigNoz's real metrics, and real names work too)."
    )]
    async fn query_metrics(
        &self,
        Parameters(args): Parameters<QueryMetricsArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let plan = MetricsPlan::new(&self.catalogue, &args.metrics);
        if plan.wanted().is_empty() {
            return Ok(wire::failed("`metrics` must name at least one metric"));
        }
        let choice = self.choose_service(&args.service).await;
        let scope = Scope {
            service: &choice.name,
            namespace: args.namespace.as_deref(),
        };
        let end = now_ms();
        let start = end - window_ms(args.minutes);
        let mut notes: Vec<String> = choice.note.iter().cloned().collect();
        let mut series: Vec<MetricSeries> = Vec::new();
        if let Some(body) = plan.metrics_request(&scope, start, end) {
            match self.backend.query_range(body).await {
                Ok(Some(resp)) => match decode_metrics(&resp, plan.wanted(), plan.catalogue()) {
                    Ok(found) => series = found,
                    Err(e) => return Ok(wire::failed(format!("signoz: {e}"))),
                },
                Ok(None) => {}
                Err(e) => return Ok(wire::backend_failed("signoz", &e)),
            }
        }
        let missing: Vec<&str> = plan
            .traces_capable()
            .into_iter()
            .filter(|k| !series.iter().any(|s| s.metric == *k))
            .collect();
        if let Some(body) = plan.traces_request(&missing, &scope, start, end) {
            let missing_names: Vec<String> = missing.iter().map(|k| k.to_string()).collect();
            match self.backend.query_range(body).await {
                Ok(Some(resp)) => match decode_metrics(&resp, &missing_names, plan.catalogue()) {
                    Ok(found) => {
                        let derived: Vec<String> = missing
                            .iter()
                            .filter(|k| found.iter().any(|s| s.metric == **k))
                            .map(|k| k.to_string())
                            .collect();
                        if !derived.is_empty() {
                            notes.push(format!(
                                "{} derived from {}'s spans (no metric data for them)",
                                derived.join(", "),
                                choice.name
                            ));
                        }
                        series.extend(found);
                    }
                    Err(e) if series.is_empty() => {
                        return Ok(wire::failed(format!("signoz: {e}")));
                    }
                    Err(e) => notes.push(format!("deriving metrics from spans failed: {e}")),
                },
                Ok(None) => {}
                Err(e) if series.is_empty() => return Ok(wire::backend_failed("signoz", &e)),
                Err(e) => notes.push(format!("deriving metrics from spans failed: {e}")),
            }
        }
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        Ok(if series.is_empty() {
            no_data(
                format!(
                    "no series for {} of {}",
                    plan.wanted().join(", "),
                    choice.name
                ),
                &note,
            )
        } else {
            with_note(wire::data(&Observation::Metrics { series }), &note)
        })
    }

    #[tool(
        description = "Search a service's spans in SigNoz over the last `minutes` (default 60); `only_errors` keeps spans with has_error. Returns spans (name, duration, error, status, peer, trace id), newest first."
    )]
    async fn query_traces(
        &self,
        Parameters(mut args): Parameters<QueryTracesArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let only_errors = args.only_errors.unwrap_or(false);
        let choice = self.choose_service(&args.service).await;
        args.service = choice.name.clone();
        let limit = limit_of(args.limit);
        let body = traces_request(&args, now_ms());
        let resp = match self.backend.query_range(body).await {
            Ok(Some(resp)) => resp,
            Ok(None) => {
                return Ok(no_data(
                    format!("no traces for {}", choice.name),
                    &choice.note,
                ));
            }
            Err(e) => return Ok(wire::backend_failed("signoz", &e)),
        };
        Ok(match decode_traces(&resp, &choice.name, limit) {
            Ok(spans) if spans.is_empty() => no_data(
                format!(
                    "no {}spans for {}",
                    if only_errors { "error " } else { "" },
                    choice.name
                ),
                &choice.note,
            ),
            Ok(spans) => with_note(wire::data(&Observation::Traces { spans }), &choice.note),
            Err(e) => wire::failed(format!("signoz: {e}")),
        })
    }
}

impl SignozServer {
    /// The service name SigNoz knows for `asked` (as given when SigNoz lists none that fits or
    /// cannot list them).
    async fn choose_service(&self, asked: &str) -> ServiceChoice {
        let known = match self.backend.services().await {
            Ok(Some(known)) => known,
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::debug!(error = %e, "SigNoz service list unavailable; using the name as given");
                Vec::new()
            }
        };
        let as_given = |note: Option<String>| ServiceChoice {
            name: asked.to_owned(),
            note,
        };
        match match_service(asked, &known) {
            ServiceMatch::Exact => as_given(None),
            ServiceMatch::Mapped { to, how } => ServiceChoice {
                note: Some(format!(
                    "SigNoz knows service `{asked}` as `{to}` ({how}); queried `{to}`"
                )),
                name: to,
            },
            ServiceMatch::Ambiguous(names) => as_given(Some(format!(
                "SigNoz has several services like `{asked}` ({}); queried `{asked}` as given",
                names.join(", ")
            ))),
            ServiceMatch::Unknown if known.is_empty() => as_given(None),
            ServiceMatch::Unknown => as_given(Some(format!(
                "SigNoz lists no service named like `{asked}` ({} known)",
                known.len()
            ))),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for SignozServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("signoz", env!("CARGO_PKG_VERSION")))
            .with_instructions("Logs, metrics and traces from SigNoz (query_range v5).")
    }
}

/// `result` with `note` as an extra text block (the observation's JSON stays first).
fn with_note(mut result: CallToolResult, note: &Option<String>) -> CallToolResult {
    if let Some(note) = note {
        result
            .content
            .push(ContentBlock::text(format!("note: {note}")));
    }
    result
}

/// "No data", with the note in the reason.
fn no_data(reason: String, note: &Option<String>) -> CallToolResult {
    match note {
        Some(note) => wire::no_data(format!("{reason} ({note})")),
        None => wire::no_data(reason),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn limit_of(limit: Option<u32>) -> usize {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize
}

fn window_ms(minutes: Option<u32>) -> i64 {
    i64::from(minutes.unwrap_or(DEFAULT_MINUTES).clamp(1, MAX_MINUTES)) * 60_000
}

// ---------------------------------------------------------------------------------------------
// Severity

const SEVERITY_WARN: u8 = 13;

/// OpenTelemetry severity number of the lowest level named `name` (`WARN` → 13); a number is
/// taken as is.
pub fn severity_number(name: &str) -> Option<u8> {
    let name = name.trim();
    if let Ok(n) = name.parse::<u8>() {
        return (1..=24).contains(&n).then_some(n);
    }
    Some(match name.to_ascii_uppercase().as_str() {
        "TRACE" => 1,
        "DEBUG" => 5,
        "INFO" | "INFORMATION" | "NOTICE" => 9,
        "WARN" | "WARNING" => 13,
        "ERROR" | "ERR" => 17,
        "FATAL" | "CRITICAL" | "CRIT" | "PANIC" | "EMERGENCY" | "ALERT" => 21,
        _ => return None,
    })
}

/// The level name of an OpenTelemetry severity number.
pub fn severity_text(n: u8) -> &'static str {
    match n {
        0 => "UNSPECIFIED",
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        _ => "FATAL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_names() {
        assert_eq!(severity_number("warn"), Some(13));
        assert_eq!(severity_number("Warning"), Some(13));
        assert_eq!(severity_number("17"), Some(17));
        assert_eq!(severity_number("loud"), None);
        assert_eq!(severity_text(18), "ERROR");
    }
}
