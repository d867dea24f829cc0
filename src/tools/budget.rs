//! The byte budget of one tool result.
//!
//! A live source can answer far more than an analysis can use (a pod's whole log, a thousand
//! events, an external server's page of text). [`fit`] cuts an [`Observation`] until its JSON is
//! within the budget, keeping what matters most (the newest log lines, records and points; the
//! start of free text) and returns a note that says what was cut, which the toolbox attaches to
//! the result so that neither a reasoner nor a person mistakes a cut answer for the whole.

use crate::evidence::{MetricSeries, Observation};

/// Default budget for one tool result.
pub const DEFAULT_RESULT_BYTES: usize = 64 * 1024;

fn size(observation: &Observation) -> usize {
    serde_json::to_vec(observation).map_or(usize::MAX, |v| v.len())
}

/// Which end of a list holds the items worth keeping.
#[derive(Clone, Copy)]
enum Keep {
    /// The list is newest first: keep its head.
    Head,
    /// The list is oldest first: keep its tail.
    Tail,
}

/// Keep the most items of `items` (at the `keep` end) for which `fits` holds; returns how many
/// were dropped. `fits` is monotone in the number kept, so a binary search finds the count.
fn shrink<T: Clone>(items: &mut Vec<T>, keep: Keep, mut fits: impl FnMut(&[T]) -> bool) -> usize {
    let total = items.len();
    let window = |n: usize, all: &[T]| -> Vec<T> {
        match keep {
            Keep::Head => all[..n].to_vec(),
            Keep::Tail => all[all.len() - n..].to_vec(),
        }
    };
    let all = items.clone();
    let (mut lo, mut hi) = (0usize, total);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(&window(mid, &all)) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    *items = window(lo, &all);
    total - lo
}

fn budget_label(max_bytes: usize) -> String {
    if max_bytes >= 1024 {
        format!("{} KiB budget", max_bytes / 1024)
    } else {
        format!("{max_bytes} B budget")
    }
}

/// Put the most `items` that fit back into `observation` (through `set`) and say what was cut.
fn cut<T: Clone>(
    observation: &mut Observation,
    mut items: Vec<T>,
    keep: Keep,
    max_bytes: usize,
    which: &str,
    what: &str,
    set: impl Fn(&mut Observation, Vec<T>),
) -> Option<String> {
    let total = items.len();
    let mut probe = observation.clone();
    let dropped = shrink(&mut items, keep, |kept| {
        set(&mut probe, kept.to_vec());
        size(&probe) <= max_bytes
    });
    set(observation, items);
    let budget = budget_label(max_bytes);
    (dropped > 0).then(|| {
        format!(
            "kept the {which} {} of {total} {what} ({budget})",
            total - dropped
        )
    })
}

/// Cut `observation` to at most `max_bytes` of JSON. `None` when nothing was cut, else a note
/// such as `kept the newest 120 of 800 log records (64 KiB budget)`.
pub fn fit(observation: &mut Observation, max_bytes: usize) -> Option<String> {
    if size(observation) <= max_bytes {
        return None;
    }
    let budget = budget_label(max_bytes);
    match observation {
        Observation::Logs { records } => {
            let items = std::mem::take(records);
            cut(
                observation,
                items,
                Keep::Head,
                max_bytes,
                "newest",
                "log records",
                |o, v| {
                    if let Observation::Logs { records } = o {
                        *records = v;
                    }
                },
            )
        }
        Observation::PodLogs { records, .. } => {
            let items = std::mem::take(records);
            cut(
                observation,
                items,
                Keep::Tail,
                max_bytes,
                "last",
                "log lines",
                |o, v| {
                    if let Observation::PodLogs { records, .. } = o {
                        *records = v;
                    }
                },
            )
        }
        Observation::Traces { spans } => {
            let items = std::mem::take(spans);
            cut(
                observation,
                items,
                Keep::Head,
                max_bytes,
                "newest",
                "spans",
                |o, v| {
                    if let Observation::Traces { spans } = o {
                        *spans = v;
                    }
                },
            )
        }
        Observation::Events { events } => {
            let items = std::mem::take(events);
            cut(
                observation,
                items,
                Keep::Tail,
                max_bytes,
                "newest",
                "events",
                |o, v| {
                    if let Observation::Events { events } = o {
                        *events = v;
                    }
                },
            )
        }
        Observation::Pods { pods } => {
            let items = std::mem::take(pods);
            cut(
                observation,
                items,
                Keep::Head,
                max_bytes,
                "first",
                "pods",
                |o, v| {
                    if let Observation::Pods { pods } = o {
                        *pods = v;
                    }
                },
            )
        }
        Observation::ServiceHealth { services } => {
            let items = std::mem::take(services);
            cut(
                observation,
                items,
                Keep::Head,
                max_bytes,
                "first",
                "services",
                |o, v| {
                    if let Observation::ServiceHealth { services } = o {
                        *services = v;
                    }
                },
            )
        }
        Observation::Thread { thread } => {
            let items = std::mem::take(&mut thread.messages);
            cut(
                observation,
                items,
                Keep::Head,
                max_bytes,
                "first",
                "messages",
                |o, v| {
                    if let Observation::Thread { thread } = o {
                        thread.messages = v;
                    }
                },
            )
        }
        Observation::Metrics { series } => {
            // Drop the oldest points of every series alike; then whole series if still too big.
            let full = std::mem::take(series);
            let longest = full.iter().map(|s| s.points.len()).max().unwrap_or(0);
            let with_points = |n: usize| -> Vec<MetricSeries> {
                let mut cut = full.clone();
                for s in &mut cut {
                    let len = s.points.len();
                    s.points.drain(..len.saturating_sub(n));
                }
                cut
            };
            let (mut lo, mut hi) = (0usize, longest);
            while lo < hi {
                let mid = (lo + hi).div_ceil(2);
                if size(&Observation::Metrics {
                    series: with_points(mid),
                }) <= max_bytes
                {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            if lo > 0 {
                *observation = Observation::Metrics {
                    series: with_points(lo),
                };
                Some(format!(
                    "kept the newest {lo} of {longest} points per series ({budget})"
                ))
            } else {
                cut(
                    observation,
                    with_points(1),
                    Keep::Head,
                    max_bytes,
                    "first",
                    "series (one point each)",
                    |o, v| {
                        if let Observation::Metrics { series } = o {
                            *series = v;
                        }
                    },
                )
            }
        }
        Observation::Text { text } => {
            let total = text.len();
            // JSON escaping can make text longer; cut until the encoded form fits.
            let mut end = total.min(max_bytes);
            loop {
                while end > 0 && !text.is_char_boundary(end) {
                    end -= 1;
                }
                let over = size(&Observation::Text {
                    text: text[..end].to_string(),
                })
                .saturating_sub(max_bytes);
                if over == 0 || end == 0 {
                    break;
                }
                end = end.saturating_sub(over);
            }
            text.truncate(end);
            Some(format!(
                "kept the first {end} of {total} bytes of text ({budget})"
            ))
        }
        Observation::Nodes { nodes } => {
            let items = std::mem::take(nodes);
            cut(
                observation,
                items,
                Keep::Head,
                max_bytes,
                "first",
                "nodes",
                |o, v| {
                    if let Observation::Nodes { nodes } = o {
                        *nodes = v;
                    }
                },
            )
        }
        // Single small records: nothing sensible to cut.
        Observation::Workload { .. }
        | Observation::Certificate { .. }
        | Observation::Dns { .. }
        | Observation::Channel { .. }
        | Observation::Posted { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{LogRecord, MetricPoint};
    use chrono::{TimeZone, Utc};

    fn record(i: usize) -> LogRecord {
        LogRecord {
            timestamp: None,
            severity: Some("ERROR".into()),
            service: Some("api".into()),
            pod: None,
            body: format!("line {i} {}", "x".repeat(100)),
            attributes: Default::default(),
        }
    }

    #[test]
    fn small_results_are_untouched() {
        let mut obs = Observation::Logs {
            records: vec![record(1)],
        };
        let before = obs.clone();
        assert_eq!(fit(&mut obs, 10_000), None);
        assert_eq!(obs, before);
    }

    #[test]
    fn logs_keep_the_newest_records_within_the_budget() {
        let mut obs = Observation::Logs {
            records: (0..500).map(record).collect(),
        };
        let note = fit(&mut obs, 8 * 1024).expect("cut");
        assert!(size(&obs) <= 8 * 1024);
        let Observation::Logs { records } = &obs else {
            panic!()
        };
        assert!(records.len() > 10 && records.len() < 500);
        assert!(
            records[0].body.starts_with("line 0 "),
            "newest first is kept"
        );
        assert!(
            note.contains(&format!(
                "kept the newest {} of 500 log records",
                records.len()
            )),
            "{note}"
        );
        assert!(note.contains("8 KiB budget"), "{note}");
    }

    #[test]
    fn pod_logs_keep_the_last_lines() {
        let mut obs = Observation::PodLogs {
            pod: "p".into(),
            container: None,
            previous: false,
            records: (0..500).map(record).collect(),
        };
        fit(&mut obs, 4096).expect("cut");
        let Observation::PodLogs { records, .. } = &obs else {
            panic!()
        };
        assert!(records.last().unwrap().body.starts_with("line 499 "));
        assert!(size(&obs) <= 4096);
    }

    #[test]
    fn metrics_drop_old_points_first() {
        let t = |m| Utc.with_ymd_and_hms(2026, 1, 1, 0, m, 0).unwrap();
        let series = |name: &str| MetricSeries {
            metric: name.into(),
            labels: Default::default(),
            points: (0..59)
                .map(|m| MetricPoint {
                    timestamp: t(m),
                    value: m as f64,
                })
                .collect(),
        };
        let mut obs = Observation::Metrics {
            series: vec![series("a"), series("b")],
        };
        let note = fit(&mut obs, 2048).expect("cut");
        let Observation::Metrics { series } = &obs else {
            panic!()
        };
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].last(), Some(58.0), "the newest point stays");
        assert!(note.contains("points per series"), "{note}");
        assert!(size(&obs) <= 2048);
    }

    #[test]
    fn text_is_cut_on_a_char_boundary() {
        let mut obs = Observation::Text {
            text: "é\"".repeat(5000),
        };
        let note = fit(&mut obs, 1000).expect("cut");
        assert!(size(&obs) <= 1000);
        assert!(note.contains("of 15000 bytes"), "{note}");
    }
}
