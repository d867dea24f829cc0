//! Decoding SigNoz `query_range` answers (`SigNoz/signoz` v0.138,
//! `pkg/types/querybuildertypes/querybuildertypesv5/resp.go`) into observations:
//!
//! - the HTTP envelope `{"status":"success","data":{"type":…,"data":{"results":[…]},"meta":…}}`
//!   (also accepted: `data.results` or a bare `results`);
//! - `time_series` results `{queryName, aggregations:[{index, alias, series:[{labels:[{key:{name},
//!   value}], values:[{timestamp(ms), value}]}]}]}` → [`MetricSeries`] named by the catalogue key
//!   the `queryName` is (or is an alias of), else by the `queryName`; v3-style `series` directly
//!   under the result is accepted too;
//! - `raw` results `{queryName, rows:[{timestamp(RFC 3339), data:{…}}]}` → [`LogRecord`] (from
//!   `body`, `severity_text`/`severity_number`, `attributes_*`, `resources_string`) or
//!   [`SpanRecord`] (`name`, `duration_nano`, `has_error`, `status_code_string`,
//!   `response_status_code`, `trace_id`; the peer from `peer.service` / `server.address` /
//!   `db.system` / `net.peer.name`).
//!
//! Unknown fields are ignored; an answer without rows or series is "no data"; a shape that is not
//! a `query_range` answer is an error with the reason.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::catalogue::MetricCatalogue;
use super::severity_text;
use crate::evidence::{LogRecord, MetricPoint, MetricSeries, SpanRecord};
use crate::tools::wire::{scalar_string, time_of};

/// The `results` array of a `query_range` answer.
fn results_of(resp: &Value) -> Result<&[Value], String> {
    let Some(obj) = resp.as_object() else {
        return Err("the query_range answer is not a JSON object".to_owned());
    };
    if obj.get("status").and_then(Value::as_str) == Some("error") {
        let reason = obj
            .get("error")
            .map(|e| {
                e.get("message")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| e.to_string())
            })
            .unwrap_or_else(|| "unknown error".to_owned());
        return Err(format!("SigNoz answered an error: {reason}"));
    }
    let candidates = [
        resp.pointer("/data/data/results"),
        resp.pointer("/data/results"),
        resp.get("results"),
    ];
    if let Some(candidate) = candidates.into_iter().flatten().next() {
        return match candidate {
            Value::Array(items) => Ok(items),
            Value::Null => Ok(&[]),
            _ => Err("`results` in the query_range answer is not an array".to_owned()),
        };
    }
    match resp.pointer("/data/data") {
        Some(Value::Null) => Ok(&[]),
        _ => Err("no data.data.results in the query_range answer".to_owned()),
    }
}

/// Rows of a raw result (`rows`, or v3's `list`).
fn rows_of(result: &Value) -> &[Value] {
    ["rows", "list"]
        .iter()
        .find_map(|k| result.get(*k).and_then(Value::as_array))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn bool_of(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" | "" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        _ => None,
    }
}

/// Columns of a raw row that are decoded into their own fields, not copied into `attributes`.
const ROW_COLUMNS: &[&str] = &[
    "timestamp",
    "id",
    "body",
    "severity_text",
    "severity_number",
    "name",
    "duration_nano",
    "durationNano",
    "has_error",
    "hasError",
    "observed_timestamp",
    "scope_name",
    "scope_version",
];

/// Attribute maps of a raw row, flattened (later maps do not override earlier keys).
const ROW_MAPS: &[&str] = &[
    "attributes_string",
    "attributes_number",
    "attributes_bool",
    "attributes_int",
    "attributes_float",
    "attributes_int64",
    "attributes_float64",
    "resources_string",
    "resource",
    "scope_string",
];

/// Top-level scalar columns plus every attribute map, as strings.
fn flatten_row(data: &serde_json::Map<String, Value>) -> BTreeMap<String, String> {
    let mut attrs = BTreeMap::new();
    for (k, v) in data {
        if ROW_COLUMNS.contains(&k.as_str()) || ROW_MAPS.contains(&k.as_str()) {
            continue;
        }
        if v.is_object() || v.is_array() {
            continue;
        }
        if let Some(s) = scalar_string(v).filter(|s| !s.is_empty()) {
            attrs.insert(k.clone(), s);
        }
    }
    for map in ROW_MAPS {
        if let Some(Value::Object(m)) = data.get(*map) {
            for (k, v) in m {
                if let Some(s) = scalar_string(v) {
                    attrs.entry(k.clone()).or_insert(s);
                }
            }
        }
    }
    attrs
}

fn first_of(attrs: &BTreeMap<String, String>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| attrs.get(*k).filter(|v| !v.is_empty()))
        .cloned()
}

/// The `data` object of a raw row (a row without `data` is taken as the data itself).
fn row_data(index: usize, row: &Value) -> Result<&serde_json::Map<String, Value>, String> {
    match row.get("data") {
        Some(Value::Object(data)) => Ok(data),
        Some(_) => Err(format!("row {index}: `data` is not an object")),
        None => row
            .as_object()
            .ok_or_else(|| format!("row {index} is not an object")),
    }
}

fn row_time(
    row: &Value,
    data: &serde_json::Map<String, Value>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    row.get("timestamp")
        .and_then(time_of)
        .or_else(|| data.get("timestamp").and_then(time_of))
}

/// Decode a `raw` logs answer, at most `limit` records. The severity filter is SigNoz's
/// (server-side, in the query); every row of the answer is kept.
pub fn decode_logs(resp: &Value, limit: usize) -> Result<Vec<LogRecord>, String> {
    let mut records = Vec::new();
    for result in results_of(resp)? {
        for (i, row) in rows_of(result).iter().enumerate() {
            if records.len() >= limit {
                return Ok(records);
            }
            let data = row_data(i, row)?;
            let number = data
                .get("severity_number")
                .and_then(number_of)
                .filter(|n| *n > 0.0 && *n <= 24.0)
                .map(|n| n as u8);
            let text = data
                .get("severity_text")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_ascii_uppercase);
            let severity = text.or_else(|| number.map(|n| severity_text(n).to_owned()));
            let body = match data.get("body") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            let attributes = flatten_row(data);
            records.push(LogRecord {
                timestamp: row_time(row, data),
                severity,
                service: first_of(
                    &attributes,
                    &["service.name", "serviceName", "service_name"],
                ),
                pod: first_of(&attributes, &["k8s.pod.name", "pod", "pod_name"]),
                body,
                attributes,
            });
        }
    }
    Ok(records)
}

/// Decode a `raw` traces answer, at most `limit` spans (the `has_error` filter is SigNoz's,
/// in the query). `service` fills spans whose row carries no `service.name`.
pub fn decode_traces(resp: &Value, service: &str, limit: usize) -> Result<Vec<SpanRecord>, String> {
    let mut spans = Vec::new();
    for result in results_of(resp)? {
        for (i, row) in rows_of(result).iter().enumerate() {
            if spans.len() >= limit {
                return Ok(spans);
            }
            let data = row_data(i, row)?;
            let attributes = flatten_row(data);
            let status_string = first_of(&attributes, &["status_code_string", "statusCodeString"]);
            let http_status = first_of(
                &attributes,
                &[
                    "response_status_code",
                    "http.response.status_code",
                    "http.status_code",
                    "responseStatusCode",
                ],
            )
            .filter(|s| s != "0");
            let has_error = ["has_error", "hasError"]
                .iter()
                .find_map(|k| data.get(*k).and_then(bool_of))
                .unwrap_or_else(|| {
                    status_string.as_deref().is_some_and(|s| {
                        s.eq_ignore_ascii_case("error") || s == "STATUS_CODE_ERROR"
                    }) || attributes.get("status_code").map(String::as_str) == Some("2")
                });
            let duration_ms = ["duration_nano", "durationNano"]
                .iter()
                .find_map(|k| data.get(*k).and_then(number_of))
                .map(|ns| ns / 1e6)
                .or_else(|| data.get("duration_ms").and_then(number_of))
                .filter(|d| d.is_finite())
                .unwrap_or(0.0);
            let name = ["name", "operation", "span_name"]
                .iter()
                .find_map(|k| data.get(*k).and_then(Value::as_str))
                .unwrap_or_default()
                .to_owned();
            spans.push(SpanRecord {
                timestamp: row_time(row, data),
                service: first_of(
                    &attributes,
                    &["service.name", "serviceName", "service_name"],
                )
                .unwrap_or_else(|| service.to_owned()),
                name,
                duration_ms,
                has_error,
                status_code: http_status.or(status_string),
                peer: first_of(
                    &attributes,
                    &[
                        "peer.service",
                        "server.address",
                        "db.system",
                        "db_system",
                        "net.peer.name",
                    ],
                ),
                trace_id: first_of(&attributes, &["trace_id", "traceID", "traceId"]),
                attributes,
            });
        }
    }
    Ok(spans)
}

/// Labels of a series: v5 `[{key:{name}, value}]` or v3 `{name: value}`.
fn labels_of(series: &Value) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    match series.get("labels") {
        Some(Value::Array(items)) => {
            for item in items {
                let name = item
                    .get("key")
                    .and_then(|k| k.get("name").and_then(Value::as_str).or_else(|| k.as_str()));
                if let (Some(name), Some(value)) = (name, item.get("value").and_then(scalar_string))
                {
                    labels.insert(name.to_owned(), value);
                }
            }
        }
        Some(Value::Object(map)) => {
            for (k, v) in map {
                if let Some(v) = scalar_string(v) {
                    labels.insert(k.clone(), v);
                }
            }
        }
        _ => {}
    }
    labels
}

fn points_of(series: &Value) -> Result<Vec<MetricPoint>, String> {
    let values = match series.get("values") {
        Some(Value::Array(values)) => values.as_slice(),
        Some(Value::Null) | None => &[],
        Some(_) => return Err("series `values` is not an array".to_owned()),
    };
    let mut points = Vec::with_capacity(values.len());
    for v in values {
        let Some(timestamp) = v.get("timestamp").and_then(time_of) else {
            return Err(format!("series point without a timestamp: {v}"));
        };
        // SigNoz omits a zero `value` (Go `omitempty`).
        let value = match v.get("value") {
            None | Some(Value::Null) => 0.0,
            Some(x) => match number_of(x) {
                Some(f) => f,
                None => return Err(format!("series point with a non-numeric value: {v}")),
            },
        };
        if value.is_finite() {
            points.push(MetricPoint { timestamp, value });
        }
    }
    points.sort_by_key(|p| p.timestamp);
    Ok(points)
}

/// Decode a `time_series` answer into one [`MetricSeries`] per series, named by the catalogue
/// key its query name is (or is an alias of), else by the query name; only the `wanted` names are
/// kept (all when `wanted` is empty). Series without points are dropped.
pub fn decode_metrics(
    resp: &Value,
    wanted: &[String],
    catalogue: &MetricCatalogue,
) -> Result<Vec<MetricSeries>, String> {
    let mut out = Vec::new();
    for result in results_of(resp)? {
        let Some(query_name) = result.get("queryName").and_then(Value::as_str) else {
            continue;
        };
        let name = catalogue.key_of(query_name).unwrap_or(query_name);
        if !wanted.is_empty() && !wanted.iter().any(|w| w == name) {
            continue;
        }
        let mut series_lists: Vec<&Value> = Vec::new();
        match result.get("aggregations") {
            Some(Value::Array(aggs)) => {
                for agg in aggs {
                    if let Some(series) = agg.get("series").filter(|s| !s.is_null()) {
                        series_lists.push(series);
                    }
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => return Err(format!("{name}: `aggregations` is not an array")),
        }
        if let Some(series) = result.get("series").filter(|s| !s.is_null()) {
            series_lists.push(series);
        }
        for list in series_lists {
            let Some(list) = list.as_array() else {
                return Err(format!("{name}: `series` is not an array"));
            };
            for series in list {
                let points = points_of(series).map_err(|e| format!("{name}: {e}"))?;
                if points.is_empty() {
                    continue;
                }
                out.push(MetricSeries {
                    metric: name.to_owned(),
                    labels: labels_of(series),
                    points,
                });
            }
        }
    }
    Ok(out)
}

/// Every `service.name` an answer mentions (raw rows' columns and attribute maps, series labels).
pub fn service_names(resp: &Value) -> BTreeSet<String> {
    const KEYS: &[&str] = &["service.name", "serviceName", "service_name"];
    let mut names = BTreeSet::new();
    let Ok(results) = results_of(resp) else {
        return names;
    };
    for result in results {
        for (i, row) in rows_of(result).iter().enumerate() {
            if let Ok(data) = row_data(i, row)
                && let Some(name) = first_of(&flatten_row(data), KEYS)
            {
                names.insert(name);
            }
        }
        let mut lists: Vec<&Value> = Vec::new();
        if let Some(Value::Array(aggs)) = result.get("aggregations") {
            lists.extend(aggs.iter().filter_map(|a| a.get("series")));
        }
        lists.extend(result.get("series"));
        for series in lists.iter().filter_map(|l| l.as_array()).flatten() {
            if let Some(name) = first_of(&labels_of(series), KEYS) {
                names.insert(name);
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_catalogue() -> MetricCatalogue {
        MetricCatalogue::from_entries(BTreeMap::new())
    }

    const TIME_SERIES: &str = r#"{
      "status": "success",
      "data": {
        "type": "time_series",
        "meta": {"rowsScanned": 10, "bytesScanned": 100, "durationMs": 3},
        "data": {
          "results": [
            {"queryName": "mongodb_pool_in_use", "aggregations": [{"index": 0, "alias": "",
              "series": [{"labels": [{"key": {"name": "service.name"}, "value": "user-service"}],
                          "values": [{"timestamp": 1763900120000, "value": 100},
                                     {"timestamp": 1763900060000, "value": 42.5},
                                     {"timestamp": 1763900180000}]}]}]},
            {"queryName": "not_asked", "aggregations": [{"index": 0, "series": [
              {"labels": [], "values": [{"timestamp": 1763900060000, "value": 1}]}]}]},
            {"queryName": "mongodb_pool_max", "aggregations": [{"index": 0, "series": null}]}
          ]
        }
      }
    }"#;

    #[test]
    fn decodes_v5_time_series() {
        let resp: Value = serde_json::from_str(TIME_SERIES).expect("json");
        let wanted = vec![
            "mongodb_pool_in_use".to_owned(),
            "mongodb_pool_max".to_owned(),
        ];
        let series = decode_metrics(&resp, &wanted, &no_catalogue()).expect("decoded");
        assert_eq!(series.len(), 1);
        let s = &series[0];
        assert_eq!(s.metric, "mongodb_pool_in_use");
        assert_eq!(
            s.labels.get("service.name").map(String::as_str),
            Some("user-service")
        );
        let values: Vec<f64> = s.points.iter().map(|p| p.value).collect();
        assert_eq!(values, vec![42.5, 100.0, 0.0]);
        assert_eq!(s.points[0].timestamp.timestamp_millis(), 1_763_900_060_000);
        // No wanted list: every series.
        assert_eq!(
            decode_metrics(&resp, &[], &no_catalogue())
                .expect("all")
                .len(),
            2
        );
    }

    const RAW_LOGS: &str = r#"{"status":"success","data":{"type":"raw","data":{"results":[
      {"queryName":"A","nextCursor":"x","rows":[
        {"timestamp":"2026-11-24T10:01:00.5Z","data":{
          "body":"connection pool exhausted: 100/100 in use","severity_text":"error","severity_number":17,
          "id":"0a","trace_id":"abc","span_id":"","timestamp":1795860060500000000,
          "attributes_string":{"db.system":"mongodb","code.function":"getUser"},
          "attributes_number":{"wait_ms":5000},
          "resources_string":{"service.name":"user-service","k8s.pod.name":"user-service-7d9f-abcde"}}},
        {"timestamp":"2026-11-24T10:00:00Z","data":{"body":"request ok","severity_text":"INFO","severity_number":9}},
        {"data":{"body":"slow response","severity_text":"WARN","timestamp":1795860000000000000}}
      ]}]}}}"#;

    #[test]
    fn decodes_v5_raw_logs() {
        let resp: Value = serde_json::from_str(RAW_LOGS).expect("json");
        let logs = decode_logs(&resp, 100).expect("decoded");
        assert_eq!(logs.len(), 3, "every row of the answer");
        let first = &logs[0];
        assert_eq!(first.severity.as_deref(), Some("ERROR"));
        assert_eq!(first.service.as_deref(), Some("user-service"));
        assert_eq!(first.pod.as_deref(), Some("user-service-7d9f-abcde"));
        assert!(first.body.contains("pool exhausted"));
        assert_eq!(
            first.attributes.get("db.system").map(String::as_str),
            Some("mongodb")
        );
        assert_eq!(
            first.attributes.get("wait_ms").map(String::as_str),
            Some("5000")
        );
        assert_eq!(
            first.attributes.get("trace_id").map(String::as_str),
            Some("abc")
        );
        assert!(
            !first.attributes.contains_key("span_id"),
            "empty values dropped"
        );
        assert_eq!(
            first.timestamp.map(|t| t.to_rfc3339()),
            Some("2026-11-24T10:01:00.500+00:00".to_owned())
        );
        // Timestamp from data (ns) when the row has none.
        assert_eq!(logs[1].severity.as_deref(), Some("INFO"));
        assert_eq!(
            logs[2].timestamp.map(|t| t.timestamp()),
            Some(1_795_860_000)
        );
        assert_eq!(decode_logs(&resp, 1).expect("limit").len(), 1);
    }

    const RAW_TRACES: &str = r#"{"status":"success","data":{"type":"raw","data":{"results":[
      {"queryName":"A","rows":[
        {"timestamp":"2026-11-24T10:01:00Z","data":{"name":"GET /users/:id","duration_nano":2500000000,
          "has_error":true,"status_code_string":"Error","response_status_code":"503",
          "trace_id":"t1","service.name":"api","server.address":"user-service.prod.svc"}},
        {"timestamp":"2026-11-24T10:00:00Z","data":{"name":"find users","duration_nano":"1200000",
          "has_error":false,"status_code_string":"Unset","trace_id":"t2",
          "attributes_string":{"db.system":"mongodb"}}}
      ]}]}}}"#;

    #[test]
    fn decodes_v5_raw_traces() {
        let resp: Value = serde_json::from_str(RAW_TRACES).expect("json");
        let spans = decode_traces(&resp, "api", 100).expect("decoded");
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].duration_ms, 2500.0);
        assert!(spans[0].has_error);
        assert_eq!(spans[0].status_code.as_deref(), Some("503"));
        assert_eq!(spans[0].peer.as_deref(), Some("user-service.prod.svc"));
        assert_eq!(spans[0].trace_id.as_deref(), Some("t1"));
        assert_eq!(spans[1].service, "api", "falls back to the queried service");
        assert_eq!(spans[1].duration_ms, 1.2);
        assert_eq!(spans[1].peer.as_deref(), Some("mongodb"));
        assert_eq!(spans[1].status_code.as_deref(), Some("Unset"));
        assert!(!spans[1].has_error);
    }

    #[test]
    fn empty_and_malformed_answers() {
        let empty = json!({"status":"success","data":{"type":"raw","data":{"results":[{"queryName":"A","rows":null}]}}});
        assert!(decode_logs(&empty, 10).expect("empty").is_empty());
        let null_results =
            json!({"status":"success","data":{"type":"raw","data":{"results":null}}});
        assert!(
            decode_traces(&null_results, "x", 10)
                .expect("null")
                .is_empty()
        );
        let err = decode_logs(
            &json!({"status":"error","error":{"code":"bad","message":"invalid filter"}}),
            10,
        )
        .expect_err("error status");
        assert!(err.contains("invalid filter"), "{err}");
        assert!(decode_metrics(&json!([1, 2]), &[], &no_catalogue()).is_err());
        assert!(decode_metrics(&json!({"foo": 1}), &[], &no_catalogue()).is_err());
        let bad_points = json!({"data":{"data":{"results":[{"queryName":"m","aggregations":[{"series":[{"values":[{"value":1}]}]}]}]}}});
        assert!(decode_metrics(&bad_points, &[], &no_catalogue()).is_err());
        let bad_row =
            json!({"data":{"data":{"results":[{"queryName":"A","rows":[{"data":"text"}]}]}}});
        assert!(decode_logs(&bad_row, 10).is_err());
    }

    #[test]
    fn query_names_decode_to_catalogue_keys() {
        let resp = json!({"status":"success","data":{"type":"time_series","data":{"results":[
            {"queryName":"signoz_calls_total","aggregations":[{"index":0,"series":[
                {"labels":[{"key":{"name":"service.name"},"value":"users"}],
                 "values":[{"timestamp":1763900060000u64,"value":4.0}]}]}]},
            {"queryName":"http_server_error_ratio__errors","aggregations":[{"index":0,"series":[
                {"labels":[],"values":[{"timestamp":1763900060000u64,"value":1.0}]}]}]}
        ]}}});
        let catalogue = MetricCatalogue::builtin();
        let wanted = vec!["http_server_request_rate".to_owned()];
        let series = decode_metrics(&resp, &wanted, catalogue).expect("decoded");
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].metric, "http_server_request_rate");
        let all = decode_metrics(&resp, &[], catalogue).expect("all");
        assert_eq!(
            all.len(),
            2,
            "a name the catalogue does not know keeps its own name"
        );
        assert_eq!(
            service_names(&resp).into_iter().collect::<Vec<_>>(),
            vec!["users".to_owned()]
        );
        let logs: Value = serde_json::from_str(RAW_LOGS).expect("json");
        assert!(service_names(&logs).contains("user-service"));
    }
}
