//! Pod logs as the reasoners see them: each line of `GET …/pods/{pod}/log` becomes a
//! [`LogRecord`] (JSON lines, `timestamp level msg` lines and the `--timestamps` prefix are
//! understood); a log cut by `limitBytes` loses its partial last line.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::evidence::LogRecord;
use crate::tools::wire::{scalar_string, time_of};

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
