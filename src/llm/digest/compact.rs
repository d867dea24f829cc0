//! Compaction of each kind of observation for the digest: metric series summarised, log lines,
//! spans and events grouped, everything else pruned of nulls, empties and repeated labels.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{TEXT_MAX, clip};
use crate::evidence::{KubeEvent, LogRecord, MetricSeries, SpanRecord};

pub(super) fn t(ts: &DateTime<Utc>) -> String {
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
        let times = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.timestamp));
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

pub(super) fn metrics(series: &[MetricSeries], limit: usize, known: &[&str]) -> Value {
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

/// One series as one line of text, the densest form a model still reads without a legend:
/// `name{label=value} n=60: 434.4->423.8, min 405, max 435.1 at 02:50; step 02:25 429.6->405;
/// points 02:10 434.4, 02:50 435.1, 03:10 423.8`.
fn metric(s: &MetricSeries, limit: usize, clock: &Clock, known: &[&str]) -> Value {
    let n = s.points.len();
    // Labels that only repeat what was asked (the service, the namespace) say nothing.
    let labels: Vec<String> = s
        .labels
        .iter()
        .filter(|(_, v)| !known.contains(&v.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut out = s.metric.clone();
    if !labels.is_empty() {
        out.push_str(&format!("{{{}}}", labels.join(",")));
    }
    out.push_str(&format!(" n={n}"));
    let (Some(first), Some(last)) = (s.points.first(), s.points.last()) else {
        return json!(out);
    };
    let (imax, max) = s
        .points
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.value.total_cmp(&b.1.value))
        .map_or((0, first), |(i, p)| (i, p));
    out.push_str(&format!(
        ": {}->{}, min {}, max {} at {}",
        num(first.value),
        num(last.value),
        num(s.min().unwrap_or(first.value)),
        num(max.value),
        clock.at(&max.timestamp)
    ));
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
        out.push_str(&format!(
            "; step {} {}->{}",
            clock.at(&w[1].timestamp),
            num(w[0].value),
            num(w[1].value)
        ));
        idx.extend([i, i + 1]);
    }
    let k = (limit / 3).max(2).min(n);
    if n > 2 && k > 2 {
        idx.extend((0..k).map(|i| i * (n - 1) / (k - 1)));
        idx.push(imax);
        idx.sort_unstable();
        idx.dedup();
        let points: Vec<String> = idx
            .iter()
            .map(|&i| {
                format!(
                    "{} {}",
                    clock.at(&s.points[i].timestamp),
                    num(s.points[i].value)
                )
            })
            .collect();
        out.push_str(&format!("; points {}", points.join(", ")));
    }
    json!(out)
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

pub(super) fn log_groups(records: &[LogRecord], limit: usize, known: &[&str]) -> Vec<Value> {
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

pub(super) fn span_groups(spans: &[SpanRecord], limit: usize, known: &[&str]) -> Vec<Value> {
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

/// Events that say the same thing: type, reason, object and the message's shape.
type EventKey<'a> = (&'a str, &'a str, &'a str, String);

pub(super) fn event_groups(events: &[KubeEvent], limit: usize) -> Vec<Value> {
    let mut groups: BTreeMap<EventKey<'_>, (u32, Option<DateTime<Utc>>)> = BTreeMap::new();
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
pub(super) fn drop_keys(value: &mut Value, keys: &[&str]) {
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

/// Remove `key` wherever its value only repeats what the call asked with (each pod's
/// `namespace: prod` after a call for namespace `prod`).
pub(super) fn drop_known(value: &mut Value, key: &str, known: &[&str]) {
    match value {
        Value::Object(map) => {
            if map
                .get(key)
                .and_then(Value::as_str)
                .is_some_and(|v| known.contains(&v))
            {
                map.remove(key);
            }
            map.values_mut().for_each(|v| drop_known(v, key, known));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| drop_known(v, key, known)),
        _ => {}
    }
}

/// Cut every array to `limit` items (the first ones), saying how many were left out.
pub(super) fn cut_lists(value: &mut Value, limit: usize) {
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
pub(super) fn prune(value: &mut Value) {
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
