//! Pod logs: `get_pod_logs` picks the pod (the one named, or a service's / workload's worst)
//! and its container, reads the current or previous log bounded by `tailLines`,
//! `sinceSeconds` and `limitBytes`, and turns each line into a [`LogRecord`] (JSON lines,
//! `timestamp level msg` lines and the `--timestamps` prefix are understood); a log cut by
//! `limitBytes` loses its partial last line and is read again so the newest lines fit.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use k8s_openapi::api::core::v1::Pod;
use rmcp::model::CallToolResult;

use crate::evidence::{LogRecord, Observation};
use crate::tools::kube_api::LogQuery;
use crate::tools::kubernetes::DEFAULT_TAIL_LINES;
use crate::tools::kubernetes::args::{PodLogsArgs, Target};
use crate::tools::kubernetes::gaps::answer_error;
use crate::tools::kubernetes::pods::{log_container, pod_name, rank_pods};
use crate::tools::kubernetes::resolve::pods_of_target;
use crate::tools::wire::{self, scalar_string, time_of};
use crate::tools::{BackendError, KubeBackend};

const MAX_TAIL_LINES: u32 = 5000;
/// Pods of a service whose logs are tried, worst first, until one has a log.
const MAX_LOG_CANDIDATES: usize = 5;
/// Default byte budget of one log read.
pub const DEFAULT_LOG_LIMIT_BYTES: u32 = 64 * 1024;
const MAX_LOG_LIMIT_BYTES: u32 = 1024 * 1024;

fn level_of(word: &str) -> Option<&'static str> {
    let w = word.rsplit('=').next().unwrap_or(word);
    let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    Some(match w.to_ascii_uppercase().as_str() {
        "ERROR" | "ERR" => "ERROR",
        "WARN" | "WARNING" => "WARN",
        "INFO" => "INFO",
        "DEBUG" | "TRACE" => "DEBUG",
        "FATAL" | "PANIC" | "CRITICAL" | "CRIT" | "EMERG" => "FATAL",
        _ => return None,
    })
}

fn parse_json_line(pod: &str, line: &str) -> Option<LogRecord> {
    let Value::Object(obj) = serde_json::from_str::<Value>(line).ok()? else {
        return None;
    };
    let pick = |keys: &[&str]| keys.iter().find_map(|k| obj.get(*k));
    let timestamp = pick(&["ts", "time", "timestamp", "@timestamp", "t"]).and_then(time_of);
    let severity = pick(&["level", "severity", "lvl", "log.level", "levelname"])
        .and_then(Value::as_str)
        .map(|s| {
            level_of(s)
                .map(str::to_owned)
                .unwrap_or_else(|| s.to_ascii_uppercase())
        });
    let body = pick(&["msg", "message", "body", "log"])
        .and_then(scalar_string)
        .unwrap_or_else(|| line.to_owned());
    let attributes = obj
        .iter()
        .filter(|(k, _)| {
            ![
                "ts",
                "time",
                "timestamp",
                "@timestamp",
                "t",
                "level",
                "severity",
                "lvl",
                "log.level",
                "levelname",
                "msg",
                "message",
                "body",
                "log",
            ]
            .contains(&k.as_str())
        })
        .filter_map(|(k, v)| scalar_string(v).map(|v| (k.clone(), v)))
        .collect();
    Some(LogRecord {
        timestamp,
        severity,
        service: None,
        pod: Some(pod.to_owned()),
        body,
        attributes,
    })
}

/// A leading RFC 3339 timestamp (`kubectl logs --timestamps`) and the rest of the line.
fn split_timestamp(line: &str) -> (Option<DateTime<Utc>>, &str) {
    let first = line.split_whitespace().next().unwrap_or_default();
    match DateTime::parse_from_rfc3339(first.trim_matches(['[', ']'])) {
        Ok(t) => (
            Some(t.with_timezone(&Utc)),
            line.trim_start()[first.len()..].trim_start(),
        ),
        Err(_) => (None, line),
    }
}

fn parse_line(pod: &str, line: &str) -> LogRecord {
    let (prefix_time, rest) = split_timestamp(line);
    if rest.starts_with('{')
        && let Some(mut record) = parse_json_line(pod, rest)
    {
        record.timestamp = record.timestamp.or(prefix_time);
        return record;
    }
    let severity = rest
        .split_whitespace()
        .take(4)
        .find_map(level_of)
        .map(str::to_owned);
    LogRecord {
        timestamp: prefix_time,
        severity,
        service: None,
        pod: Some(pod.to_owned()),
        body: rest.to_owned(),
        attributes: BTreeMap::new(),
    }
}

/// The last `tail` non-empty lines of a pod log as records.
pub fn parse_log_lines(pod: &str, text: &str, tail: usize) -> Vec<LogRecord> {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .collect();
    let start = lines.len().saturating_sub(tail);
    lines[start..]
        .iter()
        .map(|line| parse_line(pod, line))
        .collect()
}

/// A log answer bounded by `limit_bytes`: whether it was cut, and the text without the partial
/// line the cut left at its end.
pub fn complete_lines(text: &str, limit_bytes: Option<u64>) -> (bool, &str) {
    let cut = limit_bytes.is_some_and(|limit| text.len() as u64 >= limit);
    if !cut || text.ends_with('\n') {
        return (cut, text);
    }
    match text.rfind('\n') {
        Some(i) => (true, &text[..=i]),
        None => (true, text),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading: `get_pod_logs`

/// `sinceSeconds` from `since` (RFC 3339) or `minutes`.
fn since_seconds(args: &PodLogsArgs, now: DateTime<Utc>) -> Result<Option<u64>, String> {
    if let Some(since) = args.since.as_deref().filter(|s| !s.trim().is_empty()) {
        let t = DateTime::parse_from_rfc3339(since.trim())
            .map_err(|e| format!("`since` {since:?} is not an RFC 3339 time: {e}"))?;
        let secs = (now - t.with_timezone(&Utc)).num_seconds().max(1);
        return Ok(Some(secs as u64));
    }
    Ok(args.minutes.filter(|m| *m > 0).map(|m| u64::from(m) * 60))
}

/// Read one pod's log. The API cuts a log at `limitBytes` from its start, which keeps the
/// oldest of the tail lines: a cut read is read again asking only as many lines as fitted, so
/// the newest lines come back whole (twice at most).
async fn read_log(
    backend: &dyn KubeBackend,
    ns: &str,
    pod: &str,
    query: &LogQuery,
) -> Result<Option<String>, BackendError> {
    let mut query = query.clone();
    let mut attempt = 0;
    loop {
        let Some(text) = backend.pod_logs(ns, pod, &query).await? else {
            return Ok(None);
        };
        let (cut, whole) = complete_lines(&text, query.limit_bytes);
        attempt += 1;
        if !cut || query.tail_lines <= 1 || attempt == 3 {
            return Ok(Some(whole.to_owned()));
        }
        let fitted = whole.lines().count() as u32;
        query.tail_lines = fitted.clamp(1, query.tail_lines - 1);
    }
}

pub async fn pod_logs(backend: &dyn KubeBackend, args: &PodLogsArgs) -> CallToolResult {
    let ns = args.namespace.as_str();
    let tail = args
        .tail_lines
        .unwrap_or(DEFAULT_TAIL_LINES)
        .clamp(1, MAX_TAIL_LINES);
    let previous = args.previous.unwrap_or(false);
    let since = match since_seconds(args, Utc::now()) {
        Ok(s) => s,
        Err(e) => return wire::failed(e),
    };
    let limit = args
        .limit_bytes
        .unwrap_or(DEFAULT_LOG_LIMIT_BYTES)
        .clamp(1024, MAX_LOG_LIMIT_BYTES);
    let target = match Target::from_args(&args.pod, &args.kind, &args.name, &args.service) {
        Ok(Target::Namespace) => {
            return wire::failed("get_pod_logs needs `pod`, `service` or a workload `name`");
        }
        Ok(t) => t,
        Err(e) => return wire::failed(e),
    };
    // (pod name, pod object when known), worst first.
    let candidates: Vec<(String, Option<Pod>)> = match &target {
        Target::Pod(pod) => {
            // The object only picks the container; without it the API picks.
            let object = backend.get_pod(ns, pod).await.ok().flatten();
            vec![(pod.clone(), object)]
        }
        other => {
            let pods = match pods_of_target(backend, ns, other).await {
                Ok(pods) => pods,
                Err(e) => return answer_error(&e),
            };
            let refs: Vec<&Pod> = pods.iter().collect();
            let ranked: Vec<(String, Option<Pod>)> = rank_pods(&refs)
                .into_iter()
                .take(MAX_LOG_CANDIDATES)
                .map(|p| (pod_name(p).to_owned(), Some(p.clone())))
                .collect();
            if ranked.is_empty() {
                return wire::no_data(format!("no pods{} in {ns}", target.describe()));
            }
            ranked
        }
    };
    // The worst pod first; the next ones only when a pod has no log at all.
    for (pod, object) in &candidates {
        let container = args
            .container
            .clone()
            .filter(|c| !c.trim().is_empty())
            .or_else(|| object.as_ref().and_then(log_container));
        let mut query = LogQuery {
            container: container.clone(),
            previous,
            tail_lines: tail,
            since_seconds: since,
            limit_bytes: Some(
                backend
                    .log_budget()
                    .map_or(u64::from(limit), |b| b.min(u64::from(limit))),
            ),
        };
        let mut text = read_log(backend, ns, pod, &query).await;
        if previous && matches!(text, Ok(None)) {
            // No previous container (it never restarted): the current log is the next best.
            query.previous = false;
            text = read_log(backend, ns, pod, &query).await;
        }
        match text {
            Ok(Some(text)) => {
                let records = parse_log_lines(pod, &text, tail as usize);
                if records.is_empty() {
                    continue;
                }
                return wire::data(&Observation::PodLogs {
                    pod: pod.clone(),
                    records,
                    container,
                    previous: query.previous,
                });
            }
            Ok(None) => continue,
            Err(e) => return answer_error(&e),
        }
    }
    wire::no_data(format!(
        "no log for {} in {ns}",
        match candidates.as_slice() {
            [(pod, _)] => format!("pod {pod}"),
            _ => format!("any of {} pods", candidates.len()),
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines() {
        let text = "2026-11-24T09:57:59.123Z INFO starting checkout v1.4.2\n\
                    2026-11-24T09:57:59.500000000Z {\"level\":\"warn\",\"msg\":\"config key not set\"}\n\
                    {\"ts\":\"2026-11-24T09:58:00Z\",\"level\":\"error\",\"msg\":\"missing env DATABASE_URL\",\"code\":1}\n\
                    \n\
                    panic: runtime error: invalid memory address\n";
        let records = parse_log_lines("p", text, 10);
        assert_eq!(records.len(), 4);
        assert_eq!(records[0].severity.as_deref(), Some("INFO"));
        assert_eq!(records[0].body, "INFO starting checkout v1.4.2");
        assert!(records[0].timestamp.is_some());
        assert_eq!(records[1].severity.as_deref(), Some("WARN"));
        assert_eq!(records[1].body, "config key not set");
        assert_eq!(
            records[1].timestamp.map(|t| t.timestamp_subsec_millis()),
            Some(500),
            "timestamp from the kubectl prefix"
        );
        assert_eq!(records[2].severity.as_deref(), Some("ERROR"));
        assert_eq!(records[2].body, "missing env DATABASE_URL");
        assert_eq!(
            records[2].attributes.get("code").map(String::as_str),
            Some("1")
        );
        assert_eq!(records[3].severity.as_deref(), Some("FATAL"));
        assert_eq!(records[3].pod.as_deref(), Some("p"));
        assert_eq!(parse_log_lines("p", text, 1).len(), 1);
        let lvl = parse_log_lines("p", "level=warn msg=\"slow\"", 5);
        assert_eq!(lvl[0].severity.as_deref(), Some("WARN"));
    }

    #[test]
    fn cut_logs_lose_their_partial_line() {
        assert_eq!(complete_lines("a\nb\npart", Some(8)), (true, "a\nb\n"));
        assert_eq!(complete_lines("a\nb\n", Some(4)), (true, "a\nb\n"));
        assert_eq!(complete_lines("a\nb", Some(100)), (false, "a\nb"));
        assert_eq!(complete_lines("a\nb", None), (false, "a\nb"));
        assert_eq!(complete_lines("longline", Some(8)), (true, "longline"));
    }
}
