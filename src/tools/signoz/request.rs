//! The v5 `POST /api/v5/query_range` bodies of `query_logs` and `query_traces` (raw rows), built
//! the way SigNoz's own MCP server does (`SigNoz/signoz-mcp-server` v0.13,
//! `pkg/types/querybuilder.go`: `BuildLogsQueryPayload`, `BuildTracesQueryPayload`), and the
//! envelope and literal quoting every request shares. Metric requests are built from the
//! catalogue in [`super::metrics`].

use serde_json::{Value, json};

use super::{QueryLogsArgs, QueryTracesArgs, SEVERITY_WARN, limit_of, severity_number, window_ms};

/// A SigNoz filter-expression string literal.
pub fn quote(value: &str) -> String {
    format!("'{}'", escape(value))
}

/// `value` escaped for use inside a single-quoted filter literal.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn service_filter(service: &str) -> String {
    format!("service.name = {}", quote(service))
}

pub fn envelope(start: i64, end: i64, request_type: &str, queries: Vec<Value>) -> Value {
    json!({
        "schemaVersion": "v1",
        "start": start,
        "end": end,
        "requestType": request_type,
        "compositeQuery": {"queries": queries},
        "formatOptions": {"formatTableResultForUI": false, "fillGaps": false},
        "variables": {},
    })
}

/// The v5 `raw` logs query: `service.name = '<svc>' AND severity_number >= N` (plus namespace and
/// the extra expression), newest first.
pub fn logs_request(args: &QueryLogsArgs, end_ms: i64) -> Value {
    let min = args
        .severity
        .as_deref()
        .and_then(severity_number)
        .unwrap_or(SEVERITY_WARN);
    let mut filter = service_filter(&args.service);
    filter.push_str(&format!(" AND severity_number >= {min}"));
    if let Some(ns) = args.namespace.as_deref().filter(|s| !s.trim().is_empty()) {
        filter.push_str(&format!(" AND k8s.namespace.name = {}", quote(ns)));
    }
    if let Some(q) = args.query.as_deref().filter(|s| !s.trim().is_empty()) {
        filter.push_str(&format!(" AND ({q})"));
    }
    let query = json!({
        "type": "builder_query",
        "spec": {
            "name": "A",
            "signal": "logs",
            "disabled": false,
            "filter": {"expression": filter},
            "limit": limit_of(args.limit),
            "offset": 0,
            "order": [
                {"key": {"name": "timestamp"}, "direction": "desc"},
                {"key": {"name": "id"}, "direction": "desc"}
            ],
            "having": {"expression": ""},
        }
    });
    envelope(end_ms - window_ms(args.minutes), end_ms, "raw", vec![query])
}

/// The v5 `raw` traces query (`has_error = true` when only errors are wanted), newest first.
pub fn traces_request(args: &QueryTracesArgs, end_ms: i64) -> Value {
    let mut filter = service_filter(&args.service);
    if args.only_errors.unwrap_or(false) {
        filter.push_str(" AND has_error = true");
    }
    let fields: Vec<Value> = [
        ("trace_id", "string", "span"),
        ("span_id", "string", "span"),
        ("name", "string", "span"),
        ("duration_nano", "number", "span"),
        ("timestamp", "number", "span"),
        ("has_error", "bool", "span"),
        ("status_code_string", "string", "span"),
        ("status_message", "string", "span"),
        ("response_status_code", "string", "span"),
        ("kind_string", "string", "span"),
        ("service.name", "string", "resource"),
        ("k8s.pod.name", "string", "resource"),
        ("peer.service", "string", "tag"),
        ("server.address", "string", "tag"),
        ("db.system", "string", "tag"),
        ("net.peer.name", "string", "tag"),
        ("http.route", "string", "tag"),
    ]
    .iter()
    .map(|(name, ty, ctx)| {
        json!({"name": name, "fieldDataType": ty, "signal": "traces", "fieldContext": ctx})
    })
    .collect();
    let query = json!({
        "type": "builder_query",
        "spec": {
            "name": "A",
            "signal": "traces",
            "disabled": false,
            "filter": {"expression": filter},
            "limit": limit_of(args.limit),
            "offset": 0,
            "order": [{"key": {"name": "timestamp"}, "direction": "desc"}],
            "having": {"expression": ""},
            "selectFields": fields,
        }
    });
    envelope(end_ms - window_ms(args.minutes), end_ms, "raw", vec![query])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs_args() -> QueryLogsArgs {
        QueryLogsArgs {
            service: "user-service".into(),
            namespace: Some("prod".into()),
            severity: Some("ERROR".into()),
            query: Some("body CONTAINS 'pool'".into()),
            minutes: Some(30),
            limit: None,
        }
    }

    #[test]
    fn logs_request_is_a_v5_raw_query() {
        let body = logs_request(&logs_args(), 1_800_000_000_000);
        assert_eq!(body["schemaVersion"], "v1");
        assert_eq!(body["requestType"], "raw");
        assert_eq!(body["end"], 1_800_000_000_000i64);
        assert_eq!(body["start"], 1_800_000_000_000i64 - 30 * 60_000);
        let spec = &body["compositeQuery"]["queries"][0]["spec"];
        assert_eq!(
            body["compositeQuery"]["queries"][0]["type"],
            "builder_query"
        );
        assert_eq!(spec["signal"], "logs");
        assert_eq!(spec["limit"], 100);
        assert_eq!(
            spec["filter"]["expression"],
            "service.name = 'user-service' AND severity_number >= 17 AND k8s.namespace.name = 'prod' AND (body CONTAINS 'pool')"
        );
        assert_eq!(spec["order"][0]["key"]["name"], "timestamp");
    }

    #[test]
    fn traces_request_filters_errors() {
        let args = QueryTracesArgs {
            service: "api".into(),
            only_errors: Some(true),
            minutes: None,
            limit: Some(5),
        };
        let body = traces_request(&args, 1_000_000_000_000);
        let spec = &body["compositeQuery"]["queries"][0]["spec"];
        assert_eq!(spec["signal"], "traces");
        assert_eq!(spec["limit"], 5);
        assert_eq!(
            spec["filter"]["expression"],
            "service.name = 'api' AND has_error = true"
        );
    }
}
