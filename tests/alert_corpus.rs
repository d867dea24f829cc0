//! The rendering corpus: each tool's default and common Slack renderings, rendered by hand from
//! the tools' own template sources (cited in each file's `rendering`), in
//! `tests/data/renderings/<source>/<case>.json` (format in that directory's README).
//!
//! 1. Every case parses to the source, status, alert name, labels, service, namespace, host,
//!    severity, counts, group members, target hints and links its `expect` states.
//! 2. A fuzz-style property: any case with its fields and label lines reordered, whitespace
//!    added, or Slack markup added still parses to the same source, status and labels (a small
//!    deterministic PRNG, so every run checks the same variants).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use slack_morphism::prelude::SlackEventCallbackBody;
use sre_agent::alert::{Alert, Intake, parse_slack_value};

const CORPUS: &str = "tests/data/renderings";

struct Case {
    source_dir: String,
    name: String,
    doc: Value,
}

fn corpus() -> Vec<Case> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .expect("corpus directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("source directory")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for file in files {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("read"))
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            out.push(Case {
                source_dir: name_of(&dir),
                name: file
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                doc,
            });
        }
    }
    out
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn parse(event: &Value, what: &str) -> Alert {
    match parse_slack_value(event) {
        Ok(Intake::Alert(a)) => *a,
        other => panic!("{what}: not an alert: {other:?}"),
    }
}

/// What the corpus asserts, in the same JSON shape as `expect`.
fn observed(a: &Alert) -> Value {
    let group: Vec<Value> = a
        .group
        .iter()
        .map(|m| json!({"status": m.status, "labels": m.labels}))
        .collect();
    json!({
        "source": a.source,
        "status": a.status,
        "alertname": a.labels.get("alertname"),
        "labels": a.labels,
        "service": a.service,
        "namespace": a.namespace,
        "host": a.host,
        "severity": a.severity,
        "counts": a.counts,
        "group": group,
        "hints": a.target_hints,
        "links": a.links,
    })
}

#[test]
fn every_rendering_parses_as_expected() {
    let cases = corpus();
    let mut problems = Vec::new();
    let mut fingerprints: BTreeMap<(String, String), String> = BTreeMap::new();
    for c in &cases {
        let what = format!("{}/{}", c.source_dir, c.name);
        let a = parse(&c.doc["event"], &what);
        fingerprints.insert(
            (c.source_dir.clone(), c.name.clone()),
            a.fingerprint.clone(),
        );
        let got = observed(&a);
        let want = &c.doc["expect"];
        for (field, expected) in want.as_object().expect("expect object") {
            if field == "same_fingerprint_as" {
                continue;
            }
            if got.get(field) != Some(expected) {
                problems.push(format!(
                    "{what}: {field}\n    expected {expected}\n    got      {}",
                    got.get(field).unwrap_or(&Value::Null)
                ));
            }
        }
        for required in [
            "source",
            "status",
            "alertname",
            "labels",
            "hints",
            "links",
            "group",
        ] {
            if want.get(required).is_none() {
                problems.push(format!("{what}: expect lacks `{required}`"));
            }
        }
        if a.source.to_string() != c.source_dir {
            problems.push(format!("{what}: parsed as {}", a.source));
        }
        let files = c.doc["rendering"]["files"].as_array().map_or(0, Vec::len);
        if files == 0 {
            problems.push(format!("{what}: rendering cites no template source"));
        }
    }
    for c in &cases {
        if let Some(other) = c.doc["expect"]["same_fingerprint_as"].as_str() {
            let key = |n: &str| (c.source_dir.clone(), n.to_string());
            if fingerprints.get(&key(&c.name)) != fingerprints.get(&key(other)) {
                problems.push(format!(
                    "{}/{}: fingerprint differs from {other}",
                    c.source_dir, c.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_corpus_covers_every_source_firing_resolved_and_grouped() {
    let cases = corpus();
    let by_source =
        |s: &str| -> Vec<&Case> { cases.iter().filter(|c| c.source_dir == s).collect() };
    for source in [
        "alertmanager",
        "grafana",
        "signoz",
        "datadog",
        "pagerduty",
        "opsgenie",
    ] {
        let own = by_source(source);
        assert!(own.len() >= 3, "{source}: {} renderings", own.len());
        for status in ["firing", "resolved"] {
            assert!(
                own.iter().any(|c| c.doc["expect"]["status"] == status),
                "{source}: no {status} rendering"
            );
        }
    }
    for source in ["alertmanager", "grafana", "signoz"] {
        assert!(
            by_source(source).iter().any(|c| {
                c.doc["expect"]["group"]
                    .as_array()
                    .is_some_and(|g| g.len() > 1)
            }),
            "{source}: no rendering listing several alerts"
        );
    }
    assert!(
        cases.iter().any(|c| {
            let hints = c.doc["expect"]["hints"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            !hints.is_empty() && hints.iter().all(|h| h["origin"] == "title_value")
        }),
        "no rendering whose labels are only positional values"
    );
}

/// The bot sees an event after slack-morphism decoded it into its typed model and the bot encoded
/// it again; some attachment fields (`title_link`, `image_url`) do not survive. What the analysis
/// reads must.
#[test]
fn the_typed_round_trip_keeps_what_is_read() {
    let mut problems = Vec::new();
    for c in corpus() {
        let what = format!("{}/{}", c.source_dir, c.name);
        let event = c.doc["event"].clone();
        let typed: SlackEventCallbackBody =
            serde_json::from_value(event.clone()).expect("slack-morphism decodes the event");
        let reencoded = match typed {
            SlackEventCallbackBody::Unknown(v) => v,
            other => serde_json::to_value(&other).expect("encodes"),
        };
        let (direct, via_bot) = (parse(&event, &what), parse(&reencoded, &what));
        let read = |a: &Alert| {
            let mut v = essentials(a);
            v["service"] = json!(a.service);
            v["namespace"] = json!(a.namespace);
            v["host"] = json!(a.host);
            v["hints"] = json!(a.target_hints);
            v["fingerprint"] = json!(a.fingerprint);
            v
        };
        if read(&direct) != read(&via_bot) {
            problems.push(format!(
                "{what}:\n  direct  {}\n  via bot {}",
                read(&direct),
                read(&via_bot)
            ));
        }
        // Alertmanager's title link comes back through its fallback.
        if c.source_dir == "alertmanager" && via_bot.links.is_empty() {
            problems.push(format!("{what}: the bot lost Alertmanager's link"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Property test: reordering, whitespace and Slack markup do not change what is read.

/// xorshift64*: small, deterministic, good enough to pick variants.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// A line that is one label of a list: ` - k = v`, ` • *k:* v`, ` • *k:* `v``.
fn is_label_line(line: &str) -> bool {
    let t = line.trim();
    (t.starts_with("- ") && t.contains(" = ")) || (t.starts_with("• *") && t.contains(":*"))
}

/// Shuffle each run of consecutive label lines.
fn shuffle_label_runs(lines: &mut [String], rng: &mut Rng) {
    let mut i = 0;
    while i < lines.len() {
        if !is_label_line(&lines[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && is_label_line(&lines[i]) {
            i += 1;
        }
        rng.shuffle(&mut lines[start..i]);
    }
}

/// Add Slack markup: backticks on a bullet's or a ` - k = v` value, bold on a list heading.
fn markup(line: &str, rng: &mut Rng) -> String {
    let t = line.trim_end();
    if matches!(t.trim(), "Labels:" | "Annotations:") && rng.chance(40) {
        return format!("*{}*", t.trim());
    }
    if let Some((key, value)) = t.split_once(":* ")
        && t.trim_start().starts_with("• *")
        && !value.starts_with('`')
        && !value.starts_with('<')
        && rng.chance(50)
    {
        return format!("{key}:* `{value}`");
    }
    if let Some((key, value)) = t.split_once(" = ")
        && t.trim_start().starts_with("- ")
        && !value.contains('`')
        && rng.chance(30)
    {
        return format!("{key} = `{value}`");
    }
    t.to_string()
}

/// One text with its label runs reordered, markup and whitespace added.
fn mutate_text(text: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    shuffle_label_runs(&mut lines, rng);
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        let mut l = markup(&line, rng);
        if rng.chance(30) {
            l = format!("{}{l}", " ".repeat(1 + rng.below(4)));
        }
        if rng.chance(30) {
            l.push_str(&" ".repeat(1 + rng.below(3)));
        }
        out.push(l);
        if rng.chance(10) && !is_label_line(&line) {
            out.push(String::new());
        }
    }
    let sep = if rng.chance(50) { "\r\n" } else { "\n" };
    out.join(sep)
}

/// Tags in a `Tags:` line or field value in another order.
fn shuffle_tags(value: &str, rng: &mut Rng) -> String {
    let (head, tags) = match value.split_once("Tags: ") {
        Some((head, tags)) => (format!("{head}Tags: "), tags),
        None => (String::new(), value),
    };
    let mut parts: Vec<String> = tags
        .split(", ")
        .map(|t| {
            if rng.chance(30) {
                format!("`{t}`")
            } else {
                t.to_string()
            }
        })
        .collect();
    rng.shuffle(&mut parts);
    format!("{head}{}", parts.join(", "))
}

/// Mutate every text the event carries, in place.
fn mutate_event(event: &mut Value, rng: &mut Rng) {
    match event {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                match (k.as_str(), v) {
                    ("fields", Value::Array(items)) => {
                        rng.shuffle(items);
                        for item in items.iter_mut() {
                            mutate_event(item, rng);
                        }
                    }
                    ("text" | "value", Value::String(s)) => {
                        let tagged = if s.contains("Tags: ") || s.starts_with("env:") {
                            let lines: Vec<String> = s
                                .lines()
                                .map(|l| {
                                    if l.starts_with("Tags: ") || l.starts_with("env:") {
                                        shuffle_tags(l, rng)
                                    } else {
                                        l.to_string()
                                    }
                                })
                                .collect();
                            lines.join("\n")
                        } else {
                            s.clone()
                        };
                        *s = mutate_text(&tagged, rng);
                    }
                    (_, v) => mutate_event(v, rng),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                mutate_event(item, rng);
            }
        }
        _ => {}
    }
}

fn essentials(a: &Alert) -> Value {
    let group: Vec<&BTreeMap<String, String>> = a.group.iter().map(|m| &m.labels).collect();
    json!({"source": a.source, "status": a.status, "labels": a.labels, "group": group})
}

#[test]
fn reordering_whitespace_and_markup_change_nothing_read() {
    const VARIANTS: u64 = 40;
    let mut problems = Vec::new();
    let mut changed = 0usize;
    for (n, c) in corpus().iter().enumerate() {
        let what = format!("{}/{}", c.source_dir, c.name);
        let want = essentials(&parse(&c.doc["event"], &what));
        for i in 0..VARIANTS {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((n as u64) << 32) ^ (i + 1));
            let mut event = c.doc["event"].clone();
            mutate_event(&mut event, &mut rng);
            if event != c.doc["event"] {
                changed += 1;
            }
            let got = essentials(&parse(&event, &what));
            if got != want {
                problems.push(format!(
                    "{what} variant {i}:\n  event {event}\n  want {want}\n  got  {got}"
                ));
                break;
            }
        }
    }
    assert!(changed > 0, "the mutations must change the events");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
