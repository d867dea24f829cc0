//! The evidence as an LLM reads it: one compact line per tool call, within a byte budget.
//!
//! Raw observations are large (a metric series has hundreds of points, a log query hundreds of
//! near-identical lines), and a model pays for every token. A digest keeps what an analysis
//! cites and drops the bulk:
//!
//! - metric series: point count, first / min / max (and when) / last, the largest step between
//!   two points (where a change began), and a few evenly spaced points with the peak and the
//!   step among them; times are `HH:MM` on the day of the observation's `from` when the series
//!   span one day, labels that repeat the call's arguments are left out;
//! - logs: identical lines (digits aside) grouped, with their count, first and last time;
//! - spans: grouped by service, operation, peer and status, with count, p50 and max;
//! - events: grouped by reason, object and message, warnings first;
//! - everything else: the observation's JSON without nulls and empty fields.
//!
//! Values are written in flow style ([`flow`]): JSON without the quotes that words, numbers,
//! names and times do not need. [`evidence_digest`] fits the whole into a budget: each line gets a fair share (short lines
//! keep all of theirs, long ones share the rest), a long line first shows fewer items, and only
//! then is cut with a `…(cut)` mark. Numbers keep four significant digits; times are RFC 3339.
//! The grounding check ([`super::grounding`]) reads the full evidence, not the digest.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::evidence::{
    Evidence, KubeEvent, LogRecord, MetricSeries, Observation, SpanRecord, ToolOutcome, ToolOutput,
};

/// Default bytes of evidence in the LLM's first message.
pub const DEFAULT_EVIDENCE_BYTES: usize = 3 * 1024;

/// Items per list, from generous to terse, tried in turn until a line fits its share.
const LIMITS: [usize; 5] = [12, 8, 5, 3, 1];

/// Longest log body or message kept.
const TEXT_MAX: usize = 240;

/// The evidence, one line per tool call, at most `budget` bytes (plus line breaks).
pub fn evidence_digest(evidence: &Evidence, budget: usize) -> String {
    let outputs = &evidence.outputs;
    if outputs.is_empty() {
        return "(no tool was called)".to_string();
    }
    let full: Vec<String> = outputs.iter().map(|o| output_line(o, LIMITS[0])).collect();
    let total: usize = full.iter().map(String::len).sum();
    if total <= budget {
        return full.join("\n");
    }
    let shares = fair_shares(&full.iter().map(String::len).collect::<Vec<_>>(), budget);
    outputs
        .iter()
        .zip(full)
        .zip(shares)
        .map(|((output, line), share)| {
            if line.len() <= share {
                return line;
            }
            for limit in &LIMITS[1..] {
                let shorter = output_line(output, *limit);
                if shorter.len() <= share {
                    return shorter;
                }
            }
            cut(&output_line(output, 1), share)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Water-filling: lines shorter than an equal share keep their size; the rest split what is left.
fn fair_shares(sizes: &[usize], budget: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| sizes[i]);
    let mut shares = vec![0; sizes.len()];
    let mut remaining = budget;
    for (pos, &i) in order.iter().enumerate() {
        let share = remaining / (sizes.len() - pos);
        let given = sizes[i].min(share);
        shares[i] = given;
        remaining -= given;
    }
    shares
}

/// `text` cut to at most `max` bytes on a char boundary, marked.
fn cut(text: &str, max: usize) -> String {
    const MARK: &str = "…(cut)";
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(MARK.len());
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MARK}", &text[..end])
}

/// Clip to [`TEXT_MAX`] characters.
fn clip(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(TEXT_MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// A JSON value in flow style: like JSON, without the quotes that plain words, numbers, names
/// and times do not need (`{kind: metrics, n: 13, at: 02:35, body: "GET /x failed: …"}`).
pub fn flow(value: &Value) -> String {
    let mut out = String::new();
    write_flow(value, &mut out);
    out
}

fn bare(s: &str) -> bool {
    !s.is_empty()
        && !matches!(s, "null" | "true" | "false")
        && s.chars().next().is_some_and(|c| c.is_alphanumeric() || "/.~".contains(c))
        && s.chars()
            .all(|c| c.is_alphanumeric() || "_./@+:-~*#%&=".contains(c))
}

fn write_flow(value: &Value, out: &mut String) {
    match value {
        Value::String(s) if bare(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_flow(v, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                write_flow(v, out);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// One tool call as a line: `- tool {args} → data: {…}`.
pub fn output_line(output: &ToolOutput, limit: usize) -> String {
    let args = flow(&Value::Object(output.call.args.clone()));
    let body = match &output.outcome {
        ToolOutcome::Data { observation } => {
            let known: Vec<&str> = output
                .call
                .args
                .values()
                .filter_map(serde_json::Value::as_str)
                .collect();
            format!("data: {}", observation_digest(observation, limit, &known))
        }
        ToolOutcome::NoData { reason } => format!("no data: {}", clip(reason)),
        ToolOutcome::Failed { error } => format!("failed: {}", clip(error)),
        ToolOutcome::TimedOut { after_ms } => format!("timed out after {after_ms} ms"),
    };
    let note = output
        .truncated
        .as_deref()
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    format!("- {} {args} → {body}{note}", output.call.tool)
}

/// An observation in compact JSON, lists cut to `limit` items; `known` are the values the call
/// asked with (labels that repeat them are left out).
pub fn observation_digest(observation: &Observation, limit: usize, known: &[&str]) -> String {
    let value = match observation {
        Observation::Metrics { series } => metrics(series, limit, known),
        Observation::Logs { records } => json!({"kind": "logs", "groups": log_groups(records, limit, known), "records": records.len()}),
        Observation::PodLogs {
            pod,
            records,
            container,
            previous,
        } => json!({
            "kind": "pod_logs", "pod": pod, "container": container, "previous": previous,
            "groups": log_groups(records, limit, known), "records": records.len(),
        }),
        Observation::Traces { spans } => {
            json!({"kind": "traces", "groups": span_groups(spans, limit, known), "spans": spans.len()})
        }
        Observation::Events { events } => {
            json!({"kind": "events", "groups": event_groups(events, limit), "events": events.len()})
        }
        other => {
            let mut v = serde_json::to_value(other).unwrap_or(Value::Null);
            drop_keys(&mut v, &["labels", "elapsed_ms"]);
            cut_lists(&mut v, limit);
            v
        }
    };
    let mut value = value;
    prune(&mut value);
    flow(&value)
}

fn t(ts: &DateTime<Utc>) -> String {
    ts.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A number with four significant digits (integers stay integers).
pub fn num(v: f64) -> Value {
    if !v.is_finite() {
        return Value::Null;
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return json!(v as i64);
    }
    let digits = 4 - (v.abs().log10().floor() as i32) - 1;
    let rounded = if (0..=12).contains(&digits) {
        let f = 10f64.powi(digits);
        (v * f).round() / f
    } else if digits < 0 {
        let f = 10f64.powi(-digits);
        (v / f).round() * f
    } else {
        v
    };
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        return json!(rounded as i64);
    }
    json!(rounded)
}

/// How times inside a metrics observation are written: `HH:MM` (`HH:MM:SS`) when every point
/// is on the day of the observation's `from`, else RFC 3339.
struct Clock {
    same_day: bool,
}

impl Clock {
    fn of(series: &[MetricSeries]) -> (Clock, Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let times = series.iter().flat_map(|s| s.points.iter().map(|p| p.timestamp));
        let from = times.clone().min();
        let to = times.max();
        let same_day = match (from, to) {
            (Some(a), Some(b)) => a.date_naive() == b.date_naive(),
            _ => true,
        };
        (Clock { same_day }, from, to)
    }

    fn at(&self, ts: &DateTime<Utc>) -> String {
        if !self.same_day {
            t(ts)
        } else if ts.timestamp() % 60 == 0 {
            ts.format("%H:%M").to_string()
        } else {
            ts.format("%H:%M:%S").to_string()
        }
    }
}

fn metrics(series: &[MetricSeries], limit: usize, known: &[&str]) -> Value {
    let (clock, from, to) = Clock::of(series);
    let shown = limit.max(4);
    json!({
        "kind": "metrics",
        "from": from.as_ref().map(t),
        "to": to.as_ref().map(t),
        "series": series.iter().take(shown).map(|s| metric(s, limit, &clock, known)).collect::<Vec<_>>(),
        "more_series": series.len().saturating_sub(shown),
    })
}

fn metric(s: &MetricSeries, limit: usize, clock: &Clock, known: &[&str]) -> Value {
    let n = s.points.len();
    let mut out = Map::new();
    out.insert("metric".into(), json!(s.metric));
    // Labels that only repeat what was asked (the service, the namespace) say nothing.
    let labels: BTreeMap<&String, &String> = s
        .labels
        .iter()
        .filter(|(_, v)| !known.contains(&v.as_str()))
        .collect();
    if !labels.is_empty() {
        out.insert("labels".into(), json!(labels));
    }
    out.insert("n".into(), json!(n));
    let (Some(first), Some(last)) = (s.points.first(), s.points.last()) else {
        return Value::Object(out);
    };
    let (imax, max) = s
        .points
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.value.total_cmp(&b.1.value))
        .map_or((0, first), |(i, p)| (i, p));
    out.insert("first".into(), num(first.value));
    out.insert("min".into(), num(s.min().unwrap_or(first.value)));
    out.insert("max".into(), num(max.value));
    out.insert("max_at".into(), json!(clock.at(&max.timestamp)));
    out.insert("last".into(), num(last.value));
    // The largest step between two points: where a change began.
    let jump = s
        .points
        .windows(2)
        .enumerate()
        .max_by(|a, b| {
            (a.1[1].value - a.1[0].value)
                .abs()
                .total_cmp(&(b.1[1].value - b.1[0].value).abs())
        })
        .filter(|(_, w)| w[1].value != w[0].value);
    let mut idx: Vec<usize> = Vec::new();
    if let Some((i, w)) = jump {
        out.insert(
            "jump".into(),
            json!({"at": clock.at(&w[1].timestamp), "from": num(w[0].value), "to": num(w[1].value)}),
        );
        idx.extend([i, i + 1]);
    }
    let k = (limit / 3).max(2).min(n);
    if n > 2 && k > 2 {
        idx.extend((0..k).map(|i| i * (n - 1) / (k - 1)));
        idx.push(imax);
        idx.sort_unstable();
        idx.dedup();
        let points: Vec<Value> = idx
            .iter()
            .map(|&i| json!([clock.at(&s.points[i].timestamp), num(s.points[i].value)]))
            .collect();
        out.insert("points".into(), Value::Array(points));
    }
    Value::Object(out)
}

/// Digits replaced by `#`, for grouping lines that differ only in numbers.
fn shape_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(200));
    let mut in_digits = false;
    for c in text.chars().take(200) {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

struct Group<'a> {
    count: usize,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    newest: &'a LogRecord,
}

/// `value` unless the call asked with it (then it says nothing).
fn unless_known<'a>(value: Option<&'a str>, known: &[&str]) -> Option<&'a str> {
    value.filter(|v| !known.contains(v))
}

fn log_groups(records: &[LogRecord], limit: usize, known: &[&str]) -> Vec<Value> {
    let mut groups: BTreeMap<String, Group<'_>> = BTreeMap::new();
    for r in records {
        let key = format!(
            "{}|{}",
            r.severity.as_deref().unwrap_or(""),
            shape_of(&r.body)
        );
        let g = groups.entry(key).or_insert(Group {
            count: 0,
            first: r.timestamp,
            last: r.timestamp,
            newest: r,
        });
        g.count += 1;
        if r.timestamp < g.first || g.first.is_none() {
            g.first = r.timestamp.or(g.first);
        }
        if r.timestamp > g.last {
            g.last = r.timestamp;
            g.newest = r;
        }
    }
    let severe = |g: &Group<'_>| {
        matches!(
            g.newest.severity.as_deref(),
            Some("ERROR" | "FATAL" | "CRITICAL" | "PANIC")
        )
    };
    let mut groups: Vec<Group<'_>> = groups.into_values().collect();
    groups.sort_by(|a, b| {
        severe(b)
            .cmp(&severe(a))
            .then(b.count.cmp(&a.count))
            .then(b.last.cmp(&a.last))
    });
    groups
        .iter()
        .take(limit)
        .map(|g| {
            json!({
                "n": g.count,
                "sev": g.newest.severity,
                "svc": unless_known(g.newest.service.as_deref(), known),
                "pod": g.newest.pod,
                "first": g.first.as_ref().map(t),
                "last": g.last.as_ref().map(t),
                "body": clip(&g.newest.body),
            })
        })
        .collect()
}

fn span_groups(spans: &[SpanRecord], limit: usize, known: &[&str]) -> Vec<Value> {
    type Key<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, bool);
    let mut groups: BTreeMap<Key<'_>, Vec<&SpanRecord>> = BTreeMap::new();
    for s in spans {
        groups
            .entry((
                s.service.as_str(),
                s.name.as_str(),
                s.peer.as_deref(),
                s.status_code.as_deref(),
                s.has_error,
            ))
            .or_default()
            .push(s);
    }
    let mut groups: Vec<(Key<'_>, Vec<&SpanRecord>)> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.0.4.cmp(&a.0.4).then(b.1.len().cmp(&a.1.len())));
    groups
        .into_iter()
        .take(limit)
        .map(|((service, name, peer, status, error), members)| {
            let mut d: Vec<f64> = members.iter().map(|s| s.duration_ms).collect();
            d.sort_by(f64::total_cmp);
            let p50 = d.get(d.len() / 2).copied().unwrap_or(0.0);
            let max = d.last().copied().unwrap_or(0.0);
            let last = members.iter().filter_map(|s| s.timestamp).max();
            json!({
                "svc": unless_known(Some(service), known), "op": clip(name), "peer": peer,
                "status": status, "error": error, "n": members.len(), "p50_ms": num(p50),
                "max_ms": num(max), "last": last.as_ref().map(t),
            })
        })
        .collect()
}

fn event_groups(events: &[KubeEvent], limit: usize) -> Vec<Value> {
    let mut groups: BTreeMap<(&str, &str, &str, String), (u32, Option<DateTime<Utc>>)> =
        BTreeMap::new();
    for e in events {
        let g = groups
            .entry((
                e.event_type.as_str(),
                e.reason.as_str(),
                e.object.as_str(),
                shape_of(&e.message),
            ))
            .or_insert((0, e.timestamp));
        g.0 += e.count.max(1);
        if e.timestamp > g.1 {
            g.1 = e.timestamp;
        }
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| {
        (b.0.0 == "Warning")
            .cmp(&(a.0.0 == "Warning"))
            .then(b.1.1.cmp(&a.1.1))
    });
    groups
        .into_iter()
        .take(limit)
        .map(|((kind, reason, object, shape), (count, last))| {
            let message = events
                .iter()
                .rev()
                .find(|e| e.reason == reason && e.object == object && shape_of(&e.message) == shape)
                .map(|e| clip(&e.message))
                .unwrap_or_default();
            json!({"type": kind, "reason": reason, "object": object, "count": count,
                   "last": last.as_ref().map(t), "msg": message})
        })
        .collect()
}

/// Remove these keys wherever they appear.
fn drop_keys(value: &mut Value, keys: &[&str]) {
    match value {
        Value::Object(map) => {
            for k in keys {
                map.remove(*k);
            }
            map.values_mut().for_each(|v| drop_keys(v, keys));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| drop_keys(v, keys)),
        _ => {}
    }
}

/// Cut every array to `limit` items (the first ones), saying how many were left out.
fn cut_lists(value: &mut Value, limit: usize) {
    match value {
        Value::Array(items) => {
            if items.len() > limit {
                let more = items.len() - limit;
                items.truncate(limit);
                items.push(json!(format!("…and {more} more")));
            }
            items.iter_mut().for_each(|v| cut_lists(v, limit));
        }
        Value::Object(map) => map.values_mut().for_each(|v| cut_lists(v, limit)),
        Value::String(s) if s.chars().count() > TEXT_MAX => *s = clip(s),
        _ => {}
    }
}

/// Drop nulls, empty strings, empty lists and empty objects (and zero `more_*` counters).
fn prune(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.values_mut().for_each(prune);
            map.retain(|k, v| {
                !(v.is_null()
                    || v.as_str().is_some_and(str::is_empty)
                    || v.as_array().is_some_and(Vec::is_empty)
                    || v.as_object().is_some_and(Map::is_empty)
                    || (k.starts_with("more_") && v.as_u64() == Some(0))
                    || (k == "previous" && v == &Value::Bool(false)))
            });
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{MetricPoint, ToolCall};

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + min * 60, 0).expect("time")
    }

    fn logs(n: usize) -> ToolOutput {
        ToolOutput {
            call: ToolCall {
                tool: "query_logs".into(),
                args: serde_json::Map::new(),
            },
            outcome: ToolOutcome::Data {
                observation: Observation::Logs {
                    records: (0..n)
                        .map(|i| LogRecord {
                            timestamp: Some(at(i as i64)),
                            severity: Some("ERROR".into()),
                            service: Some("cart".into()),
                            pod: Some(format!("cart-7f9c-{}", i % 3)),
                            body: format!("timeout after {} ms waiting for a connection", 5000 + i),
                            attributes: BTreeMap::new(),
                        })
                        .collect(),
                },
            },
            elapsed_ms: 1.0,
            truncated: None,
        }
    }

    #[test]
    fn identical_log_lines_are_grouped() {
        let line = output_line(&logs(200), 12);
        assert!(line.contains("n: 200"), "{line}");
        assert!(line.len() < 600, "{} bytes: {line}", line.len());
    }

    #[test]
    fn metric_series_keep_their_shape() {
        let series = MetricSeries {
            metric: "db_pool_in_use".into(),
            labels: BTreeMap::new(),
            points: (0..120)
                .map(|i| MetricPoint {
                    timestamp: at(i),
                    value: if i == 77 { 100.0 } else { 10.0 + i as f64 / 3.0 },
                })
                .collect(),
        };
        let d = observation_digest(
            &Observation::Metrics {
                series: vec![series],
            },
            12,
            &[],
        );
        assert!(d.contains("max: 100"), "{d}");
        let peak = at(77).format("%H:%M:%S").to_string();
        assert!(d.contains(&format!("[{peak}, 100]")), "the peak is kept: {d}");
        assert!(d.contains(&format!("jump: {{at: {peak}, ")), "the largest step: {d}");
        assert!(d.contains("n: 120"), "{d}");
        assert!(d.contains(&format!("from: {}", t(&at(0)))), "{d}");
    }

    #[test]
    fn the_budget_holds_and_short_lines_stay_whole() {
        let evidence = Evidence {
            outputs: vec![
                logs(400),
                ToolOutput {
                    call: ToolCall {
                        tool: "get_events".into(),
                        args: serde_json::Map::new(),
                    },
                    outcome: ToolOutcome::NoData {
                        reason: "no events".into(),
                    },
                    elapsed_ms: 1.0,
                    truncated: None,
                },
            ],
        };
        let d = evidence_digest(&evidence, 500);
        assert!(d.len() <= 500 + 2, "{} bytes", d.len());
        assert!(d.contains("get_events {} → no data: no events"), "{d}");
    }

    #[test]
    fn flow_style_quotes_only_what_needs_it() {
        let v = json!({"a": "user-service", "b": "GET /x failed: timeout", "c": [1, "2025-11-25T02:10:00Z"],
                       "d": null, "e": "true", "f": "{x}"});
        assert_eq!(
            flow(&v),
            r#"{a: user-service, b: "GET /x failed: timeout", c: [1, 2025-11-25T02:10:00Z], d: null, e: "true", f: "{x}"}"#
        );
    }

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(num(0.123456), json!(0.1235));
        assert_eq!(num(1234.5678), json!(1235));
        assert_eq!(num(123456.7), json!(123500));
        assert_eq!(num(42.0), json!(42));
    }
}
