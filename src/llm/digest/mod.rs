//! The evidence as an LLM reads it: one compact line per tool call, within a byte budget.
//!
//! Raw observations are large (a metric series has hundreds of points, a log query hundreds of
//! near-identical lines), and a model pays for every token. A digest keeps what an analysis
//! cites and drops the bulk:
//!
//! - metric series: one line of text each (`name{label=v} n=60: first->last, min, max at,
//!   step at from->to; points …`): point count, first / last / min / max and when, the largest
//!   step between two points (where a change began), and a few evenly spaced points with the
//!   peak and the step among them; times are `HH:MM` on the day of the observation's `from`
//!   when the series span one day, labels that repeat the call's arguments are left out;
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

mod compact;
mod times;

use serde_json::{Value, json};

use crate::evidence::{Evidence, Observation, ToolOutcome, ToolOutput};
pub use compact::num;
use compact::{
    cut_lists, drop_keys, drop_known, event_groups, log_groups, metrics, prune, span_groups,
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
    let day = times::common_day(&full);
    let shorten = |line: String| match &day {
        Some(day) => times::shorten(&line, day),
        None => line,
    };
    let header = day.as_deref().map(times::header);
    let budget = budget.saturating_sub(header.as_ref().map_or(0, |h| h.len() + 1));
    let full: Vec<String> = full.into_iter().map(shorten).collect();
    let total: usize = full.iter().map(String::len).sum();
    let lines = if total <= budget {
        full
    } else {
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
                    let shorter = shorten(output_line(output, *limit));
                    if shorter.len() <= share {
                        return shorter;
                    }
                }
                cut(&shorten(output_line(output, 1)), share)
            })
            .collect()
    };
    header
        .into_iter()
        .chain(lines)
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
        && s.chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || "/.~".contains(c))
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

/// One tool call as a line: `- tool {args} → data: {…}`. A metrics call's list of names is not
/// repeated: its series carry them, and the names that returned nothing are listed after them.
pub fn output_line(output: &ToolOutput, limit: usize) -> String {
    let mut args = output.call.args.clone();
    let mut unanswered = Vec::new();
    if let ToolOutcome::Data {
        observation: Observation::Metrics { series },
    } = &output.outcome
        && let Some(Value::Array(asked)) = args.remove("metrics")
    {
        unanswered = asked
            .iter()
            .filter_map(Value::as_str)
            .filter(|name| !series.iter().any(|s| s.metric == *name))
            .map(str::to_string)
            .collect();
    }
    let args = flow(&Value::Object(args));
    let body = match &output.outcome {
        ToolOutcome::Data { observation } => {
            let known: Vec<&str> = output
                .call
                .args
                .values()
                .filter_map(serde_json::Value::as_str)
                .collect();
            let mut body = format!("data: {}", observation_digest(observation, limit, &known));
            if !unanswered.is_empty() {
                body.push_str(&format!("; no series for: {}", unanswered.join(", ")));
            }
            body
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
        Observation::Logs { records } => {
            json!({"kind": "logs", "groups": log_groups(records, limit, known), "records": records.len()})
        }
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
            drop_known(&mut v, "namespace", known);
            cut_lists(&mut v, limit);
            v
        }
    };
    let mut value = value;
    prune(&mut value);
    flow(&value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{LogRecord, MetricPoint, MetricSeries, ToolCall};
    use chrono::{DateTime, Utc};
    use compact::t;
    use std::collections::BTreeMap;

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
                    value: if i == 77 {
                        100.0
                    } else {
                        10.0 + i as f64 / 3.0
                    },
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
        let peak = at(77).format("%H:%M:%S").to_string();
        assert!(
            d.contains(&format!("max 100 at {peak}")),
            "the peak and its time: {d}"
        );
        assert!(
            d.contains(&format!("; step {peak} 35.33->100")),
            "the largest step: {d}"
        );
        assert!(d.contains("db_pool_in_use n=120: 10->49.67"), "{d}");
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
    fn a_metrics_line_names_each_metric_once() {
        let mut args = serde_json::Map::new();
        args.insert("service".into(), json!("cart"));
        args.insert("metrics".into(), json!(["db_pool_in_use", "db_pool_max"]));
        let output = ToolOutput {
            call: ToolCall {
                tool: "query_metrics".into(),
                args,
            },
            outcome: ToolOutcome::Data {
                observation: Observation::Metrics {
                    series: vec![MetricSeries {
                        metric: "db_pool_in_use".into(),
                        labels: BTreeMap::new(),
                        points: vec![MetricPoint {
                            timestamp: at(0),
                            value: 7.0,
                        }],
                    }],
                },
            },
            elapsed_ms: 1.0,
            truncated: None,
        };
        let line = output_line(&output, 12);
        assert_eq!(line.matches("db_pool_in_use").count(), 1, "{line}");
        assert!(
            line.starts_with("- query_metrics {service: cart} → data: {"),
            "{line}"
        );
        assert!(line.ends_with("; no series for: db_pool_max"), "{line}");
    }

    #[test]
    fn a_namespace_that_repeats_the_call_is_left_out() {
        let mut v = json!({"pods": [{"name": "a", "namespace": "prod"}, {"name": "b", "namespace": "dev"}]});
        drop_known(&mut v, "namespace", &["prod"]);
        assert_eq!(
            v,
            json!({"pods": [{"name": "a"}, {"name": "b", "namespace": "dev"}]})
        );
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
