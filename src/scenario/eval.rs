//! `eval`: replay every scenario of a directory and score it against its `expect.yaml`.
//!
//! Per scenario: the route (`agent`), the reply's words (`contains`), the words it must avoid
//! (`not_contains`), the stated confidence (`max_confidence`) and the root cause (`root_cause`).
//! A root cause counts as found only when its words match **and** the reply avoids the listed
//! words **and** the confidence is within the limit: a right word in a confidently wrong reply is
//! not a hit. `target` is scored on its own: whether the resolved target is the expected object
//! (see [`ExpectedTarget::matches`]).

use std::path::Path;

use serde::Serialize;

use super::expect::{ExpectedTarget, Thresholds};
use super::{Expectation, ReplayOutput, Scenario, ScenarioError, read, replay};
use crate::agent::Engine;

/// One scenario's eval result.
#[derive(Debug, Clone, Serialize)]
pub struct EvalRow {
    pub name: String,
    pub expected_agent: String,
    pub agent: String,
    pub routed_ok: bool,
    pub contains_ok: bool,
    /// The root cause's words match, the reply avoids the `not_contains` words and the
    /// confidence is within `max_confidence`.
    pub root_cause_ok: bool,
    /// Whether the reply avoids every `not_contains` word (`None`: the scenario lists none).
    pub avoids_ok: Option<bool>,
    /// The RCA's confidence (`None`: no RCA).
    pub confidence: Option<f64>,
    /// Whether the confidence is at or below `max_confidence` (`None`: no limit set).
    pub confidence_ok: Option<bool>,
    /// The object the scenario says the alert is about.
    pub target: Option<ExpectedTarget>,
    /// Whether the resolved target is that object (`None`: the scenario names none).
    pub target_ok: Option<bool>,
    /// The resolved target, as the reply describes it.
    pub resolved_target: Option<String>,
    /// Expected words the reply or root cause lacks (`reply: w`, `root cause: w`).
    pub missing_words: Vec<String>,
    /// `not_contains` words the reply has.
    pub unwanted_words: Vec<String>,
    pub elapsed_ms: f64,
    /// Who answered: `offline`, `llm:<model>`, or `offline (<why the LLM was not used>)`.
    pub reasoner: String,
    /// Prompt + completion tokens the LLM spent (0 offline).
    pub tokens: u64,
    pub tool_calls: u32,
    /// Claims of the answer not found in the evidence.
    pub unsupported: usize,
    pub cost_usd: Option<f64>,
}

/// What the LLM cost over the whole eval.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalLlm {
    pub model_answers: usize,
    pub fallbacks: usize,
    pub tokens: u64,
    pub tool_calls: u64,
    pub unsupported: usize,
    pub cost_usd: f64,
}

/// The whole eval.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub rows: Vec<EvalRow>,
    pub routing_accuracy: f64,
    pub contains_rate: f64,
    pub root_cause_hit_rate: f64,
    /// Share of the scenarios with `not_contains` whose reply avoids those words.
    pub avoids_rate: Option<f64>,
    /// Share of the scenarios with `max_confidence` whose RCA stays within it.
    pub confidence_rate: Option<f64>,
    /// Scenarios naming a `target`.
    pub targets_named: usize,
    /// Share of the scenarios naming a `target` whose resolved target is that object.
    pub target_accuracy: Option<f64>,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub thresholds: Thresholds,
    /// The reasoner scored (`offline` or `llm:<model>`).
    pub reasoner: String,
    /// The LLM's totals, when one reasoned.
    pub llm: Option<EvalLlm>,
    pub passed: bool,
}

/// Replay every scenario under `root` that has an `expect.yaml` and score it.
pub async fn eval(base: &Engine, root: &Path) -> Result<EvalReport, ScenarioError> {
    let thresholds_path = root.join("eval.yaml");
    let thresholds = if thresholds_path.is_file() {
        serde_yaml::from_str(&read(&thresholds_path)?).map_err(|source| ScenarioError::Yaml {
            path: thresholds_path.clone(),
            source,
        })?
    } else {
        Thresholds::default()
    };
    let mut rows = Vec::new();
    for scenario in Scenario::all_in(root)? {
        let Some(expect) = scenario.expect.clone() else {
            continue;
        };
        let out = replay(base, &scenario).await?;
        rows.push(score(&scenario.name, &expect, &out));
    }
    Ok(summarise(rows, thresholds, &base.reasoner_name()))
}

/// Compare one replay with its expectation.
pub fn score(name: &str, expect: &Expectation, out: &ReplayOutput) -> EvalRow {
    let agent = out
        .route
        .as_ref()
        .map(|r| r.agent.clone())
        .unwrap_or_default();
    let text = unescape_slack(&out.text).to_lowercase();
    let root = out
        .rca
        .as_ref()
        .map(|r| r.root_cause.to_lowercase())
        .unwrap_or_default();
    let lacks = |hay: &str, w: &String| !hay.contains(&w.to_lowercase());
    let mut missing: Vec<String> = expect
        .contains
        .iter()
        .filter(|w| lacks(&text, w))
        .map(|w| format!("reply: {w}"))
        .collect();
    let contains_ok = missing.is_empty();
    let root_missing: Vec<String> = expect
        .root_cause
        .iter()
        .filter(|w| lacks(&root, w))
        .map(|w| format!("root cause: {w}"))
        .collect();
    let words_ok = root_missing.is_empty();
    missing.extend(root_missing);
    let unwanted: Vec<String> = expect
        .not_contains
        .iter()
        .filter(|w| !lacks(&text, w))
        .cloned()
        .collect();
    let avoids_ok = (!expect.not_contains.is_empty()).then_some(unwanted.is_empty());
    let confidence = out.rca.as_ref().map(|r| r.confidence.value());
    let confidence_ok = expect
        .max_confidence
        .map(|max| confidence.is_some_and(|c| c <= max));
    let usage = out.rca.as_ref().and_then(|r| r.usage.clone());
    let root_cause_ok =
        out.rca.is_some() && words_ok && avoids_ok.unwrap_or(true) && confidence_ok.unwrap_or(true);
    let target_ok = expect
        .target
        .as_ref()
        .map(|want| out.target.as_ref().is_some_and(|got| want.matches(got)));
    EvalRow {
        name: name.to_string(),
        expected_agent: expect.agent.clone(),
        routed_ok: agent == expect.agent,
        agent,
        contains_ok,
        root_cause_ok,
        avoids_ok,
        confidence,
        confidence_ok,
        target: expect.target.clone(),
        target_ok,
        resolved_target: out.target.as_ref().map(crate::target::Target::describe),
        missing_words: missing,
        unwanted_words: unwanted,
        elapsed_ms: out.elapsed_ms,
        reasoner: out
            .rca
            .as_ref()
            .map(|r| r.reasoner.clone())
            .unwrap_or_default(),
        tokens: usage.as_ref().map_or(0, |u| u.total_tokens()),
        tool_calls: usage.as_ref().map_or(0, |u| u.tool_calls),
        unsupported: out.rca.as_ref().map_or(0, |r| r.unsupported.len()),
        cost_usd: usage.and_then(|u| u.cost_usd),
    }
}

/// The reply as a person reads it: Slack's `&lt;`, `&gt;` and `&amp;` decoded, so that words
/// such as a `<service>` placeholder match what is shown.
fn unescape_slack(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Share of `rows` for which `f` holds (0 when empty).
fn share(rows: &[EvalRow], f: impl Fn(&EvalRow) -> bool) -> f64 {
    rows.iter().filter(|r| f(r)).count() as f64 / rows.len().max(1) as f64
}

/// Share of the rows where `check` is set that pass it (`None`: no row sets it).
fn checked_share(rows: &[EvalRow], check: impl Fn(&EvalRow) -> Option<bool>) -> Option<f64> {
    let set: Vec<bool> = rows.iter().filter_map(check).collect();
    (!set.is_empty()).then(|| set.iter().filter(|ok| **ok).count() as f64 / set.len() as f64)
}

fn summarise(rows: Vec<EvalRow>, thresholds: Thresholds, reasoner: &str) -> EvalReport {
    let is_llm = reasoner.starts_with("llm:");
    let llm = is_llm.then(|| EvalLlm {
        model_answers: rows
            .iter()
            .filter(|r| r.reasoner.starts_with("llm:"))
            .count(),
        fallbacks: rows
            .iter()
            .filter(|r| !r.reasoner.starts_with("llm:"))
            .count(),
        tokens: rows.iter().map(|r| r.tokens).sum(),
        tool_calls: rows.iter().map(|r| u64::from(r.tool_calls)).sum(),
        unsupported: rows.iter().map(|r| r.unsupported).sum(),
        cost_usd: rows.iter().filter_map(|r| r.cost_usd).sum(),
    });
    let p95_bound = if is_llm {
        thresholds.llm_p95_ms
    } else {
        thresholds.p95_ms
    };
    let routing_accuracy = share(&rows, |r| r.routed_ok);
    let contains_rate = share(&rows, |r| r.contains_ok);
    let root_cause_hit_rate = share(&rows, |r| r.root_cause_ok);
    let avoids_rate = checked_share(&rows, |r| r.avoids_ok);
    let confidence_rate = checked_share(&rows, |r| r.confidence_ok);
    let targets_named = rows.iter().filter(|r| r.target.is_some()).count();
    let target_accuracy = checked_share(&rows, |r| r.target_ok);
    let mut times: Vec<f64> = rows.iter().map(|r| r.elapsed_ms).collect();
    times.sort_by(f64::total_cmp);
    let p50_ms = percentile(&times, 0.50);
    let p95_ms = percentile(&times, 0.95);
    let passed = !rows.is_empty()
        && routing_accuracy >= thresholds.routing_accuracy
        && root_cause_hit_rate >= thresholds.root_cause_hit_rate
        && p95_ms <= p95_bound
        && thresholds
            .target_accuracy
            .is_none_or(|min| target_accuracy.unwrap_or(0.0) >= min);
    EvalReport {
        rows,
        routing_accuracy,
        contains_rate,
        root_cause_hit_rate,
        avoids_rate,
        confidence_rate,
        targets_named,
        target_accuracy,
        p50_ms,
        p95_ms,
        thresholds,
        reasoner: reasoner.to_string(),
        llm,
        passed,
    }
}

/// Nearest-rank percentile of sorted values (0 when empty).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn mark(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISS" }
}

fn mark_opt(ok: Option<bool>) -> &'static str {
    ok.map_or("-", mark)
}

/// `n/m (p%)` of the rows where `f` holds.
fn count(rows: &[EvalRow], f: impl Fn(&EvalRow) -> Option<bool>) -> String {
    let set: Vec<bool> = rows.iter().filter_map(f).collect();
    let ok = set.iter().filter(|b| **b).count();
    let pct = ok as f64 * 100.0 / set.len().max(1) as f64;
    format!("{ok}/{} ({pct:.1}%)", set.len())
}

impl EvalReport {
    /// The table `sre-agent eval` prints.
    pub fn table(&self) -> String {
        let w = self
            .rows
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(0)
            .max(28);
        let mut s = String::new();
        s.push_str(&format!(
            "{:<w$} {:<11} {:<11} {:>5} {:>6} {:>6} {:>5} {:>5} {:>6} {:>6} {:>9}\n",
            "scenario",
            "expected",
            "routed",
            "route",
            "reply",
            "avoid",
            "conf",
            "cap",
            "target",
            "cause",
            "ms"
        ));
        for r in &self.rows {
            let conf = r.confidence.map_or("-".to_string(), |c| format!("{c:.2}"));
            s.push_str(&format!(
                "{:<w$} {:<11} {:<11} {:>5} {:>6} {:>6} {:>5} {:>5} {:>6} {:>6} {:>9.2}\n",
                r.name,
                r.expected_agent,
                r.agent,
                mark(r.routed_ok),
                mark(r.contains_ok),
                mark_opt(r.avoids_ok),
                conf,
                mark_opt(r.confidence_ok),
                mark_opt(r.target_ok),
                mark(r.root_cause_ok),
                r.elapsed_ms
            ));
            if r.target_ok == Some(false)
                && let Some(want) = &r.target
            {
                s.push_str(&format!(
                    "    target: expected {want}, resolved {}\n",
                    r.resolved_target.as_deref().unwrap_or("none")
                ));
            }
            if !r.missing_words.is_empty() {
                s.push_str(&format!("    missing: {}\n", r.missing_words.join(", ")));
            }
            if !r.unwanted_words.is_empty() {
                s.push_str(&format!("    has: {}\n", r.unwanted_words.join(", ")));
            }
            if self.llm.is_some() {
                s.push_str(&format!(
                    "    {} · {} tool calls · {} tokens{}{}\n",
                    r.reasoner,
                    r.tool_calls,
                    r.tokens,
                    if r.unsupported > 0 {
                        format!(" · {} unsupported claims", r.unsupported)
                    } else {
                        String::new()
                    },
                    r.cost_usd
                        .map(|c| format!(" · ${c:.4}"))
                        .unwrap_or_default()
                ));
            }
        }
        s.push_str(&format!("reasoner: {}\n", self.reasoner));
        if let Some(l) = &self.llm {
            s.push_str(&format!(
                "llm: {} answers, {} offline fallbacks, {} tool calls, {} tokens, {} unsupported claims, ${:.4}\n",
                l.model_answers, l.fallbacks, l.tool_calls, l.tokens, l.unsupported, l.cost_usd
            ));
        }
        let rows = &self.rows;
        s.push_str(&format!("\nscenarios: {}\n", rows.len()));
        s.push_str(&format!(
            "routing accuracy: {} (min {:.1}%)\n",
            count(rows, |r| Some(r.routed_ok)),
            self.thresholds.routing_accuracy * 100.0
        ));
        s.push_str(&format!(
            "reply has expected words: {}\n",
            count(rows, |r| Some(r.contains_ok))
        ));
        if self.avoids_rate.is_some() {
            s.push_str(&format!(
                "reply avoids listed words (not_contains): {}\n",
                count(rows, |r| r.avoids_ok)
            ));
        }
        if self.confidence_rate.is_some() {
            s.push_str(&format!(
                "confidence within max_confidence: {}\n",
                count(rows, |r| r.confidence_ok)
            ));
        }
        s.push_str(&format!(
            "root cause found: {} (min {:.1}%)\n",
            count(rows, |r| Some(r.root_cause_ok)),
            self.thresholds.root_cause_hit_rate * 100.0
        ));
        if self.targets_named > 0 {
            let min = self
                .thresholds
                .target_accuracy
                .map(|m| format!(" (min {:.1}%)", m * 100.0))
                .unwrap_or_default();
            s.push_str(&format!(
                "right target object: {}{min}\n",
                count(rows, |r| r.target_ok)
            ));
        }
        s.push_str(&format!(
            "latency: p50 {:.2} ms, p95 {:.2} ms (max {:.0} ms)\nresult: {}\n",
            self.p50_ms,
            self.p95_ms,
            if self.llm.is_some() {
                self.thresholds.llm_p95_ms
            } else {
                self.thresholds.p95_ms
            },
            if self.passed { "PASS" } else { "FAIL" }
        ));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rca::{Confidence, Rca};

    fn output(root_cause: &str, text: &str, confidence: f64) -> ReplayOutput {
        let rca = Rca {
            summary: String::new(),
            root_cause: root_cause.to_string(),
            hypotheses: Vec::new(),
            timeline: Vec::new(),
            actions: Vec::new(),
            prevention: Vec::new(),
            metrics: Vec::new(),
            missing_evidence: Vec::new(),
            confidence: Confidence::new(confidence),
            reasoner: "offline".to_string(),
            unsupported: Vec::new(),
            usage: None,
        };
        ReplayOutput {
            alert: None,
            action: "analyze",
            skip_reason: None,
            route: None,
            rca: Some(rca),
            blocks: Vec::new(),
            text: text.to_string(),
            elapsed_ms: 1.0,
            sources: Vec::new(),
            target: None,
        }
    }

    fn expect(yaml: &str) -> Expectation {
        serde_yaml::from_str(yaml).expect("expect.yaml")
    }

    #[test]
    fn right_words_in_a_reply_with_forbidden_words_are_not_a_hit() {
        let e = expect("agent: database\nroot_cause: [pool]\nnot_contains: [MongoDB]\n");
        let row = score(
            "s",
            &e,
            &output("pool exhausted", "raise maxPoolSize in mongodb", 0.9),
        );
        assert_eq!(row.avoids_ok, Some(false));
        assert_eq!(row.unwanted_words, ["MongoDB"]);
        assert!(!row.root_cause_ok);
        let row = score(
            "s",
            &e,
            &output("pool exhausted", "raise max_connections", 0.9),
        );
        assert_eq!(row.avoids_ok, Some(true));
        assert!(row.root_cause_ok);
    }

    #[test]
    fn words_are_matched_in_the_reply_as_shown_not_as_escaped_for_slack() {
        let e = expect("agent: kubernetes\ncontains: [a & b]\nnot_contains: [\"<service>\"]\n");
        let row = score(
            "s",
            &e,
            &output("x", "a &amp; b: kubectl logs deploy/&lt;service&gt;", 0.5),
        );
        assert!(row.contains_ok);
        assert_eq!(row.avoids_ok, Some(false));
        assert_eq!(unescape_slack("&amp;lt;"), "&lt;", "decoded once");
    }

    #[test]
    fn a_confident_answer_without_evidence_is_not_a_hit() {
        let e = expect("agent: network\nmax_confidence: 0.5\n");
        let row = score("s", &e, &output("dns", "dns", 0.8));
        assert_eq!(row.confidence_ok, Some(false));
        assert!(!row.root_cause_ok);
        let row = score("s", &e, &output("unknown", "possible causes", 0.5));
        assert_eq!(row.confidence_ok, Some(true));
        assert!(row.root_cause_ok);
        let mut none = output("", "", 0.0);
        none.rca = None;
        assert_eq!(score("s", &e, &none).confidence_ok, Some(false));
    }

    #[test]
    fn checks_a_scenario_does_not_set_are_not_counted() {
        let e = expect("agent: network\nroot_cause: [dns]\n");
        let row = score("s", &e, &output("dns", "dns", 0.99));
        assert_eq!((row.avoids_ok, row.confidence_ok), (None, None));
        assert!(row.root_cause_ok);
        let report = summarise(vec![row], Thresholds::default(), "offline");
        assert_eq!(report.avoids_rate, None);
        assert_eq!(report.confidence_rate, None);
        let table = report.table();
        assert!(!table.contains("not_contains"));
        assert!(!table.contains("target object"));
    }

    #[test]
    fn the_table_reports_every_check_and_the_target() {
        let e = expect(
            "agent: kubernetes\nroot_cause: [oom]\nnot_contains: [certificate]\nmax_confidence: 0.6\n\
             target: {kind: StatefulSet, name: a, namespace: b}\n",
        );
        let mut right = output("OOMKilled", "memory", 0.5);
        right.target = Some(crate::target::Target {
            kind: crate::target::TargetKind::StatefulSet,
            name: "a".into(),
            namespace: Some("b".into()),
            workload: None,
            container: None,
            why: Vec::new(),
            guessed: false,
        });
        let hit = score("hit", &e, &right);
        assert_eq!(hit.target_ok, Some(true));
        let miss = score(
            "miss",
            &e,
            &output("expired certificate", "certificate", 0.9),
        );
        let report = summarise(vec![hit, miss], Thresholds::default(), "offline");
        assert_eq!(report.root_cause_hit_rate, 0.5);
        assert_eq!(report.avoids_rate, Some(0.5));
        assert_eq!(report.confidence_rate, Some(0.5));
        let table = report.table();
        assert!(table.contains("reply avoids listed words (not_contains): 1/2 (50.0%)"));
        assert!(table.contains("confidence within max_confidence: 1/2 (50.0%)"));
        assert!(table.contains("root cause found: 1/2 (50.0%)"));
        assert!(table.contains("right target object: 1/2 (50.0%)"));
        assert!(table.contains("target: expected StatefulSet b/a, resolved none"));
        assert_eq!(report.target_accuracy, Some(0.5));
        let lax = Thresholds {
            root_cause_hit_rate: 0.5,
            routing_accuracy: 0.0,
            ..Thresholds::default()
        };
        let report = summarise(report.rows, lax.clone(), "offline");
        assert!(report.passed, "no target threshold: not enforced");
        let strict = Thresholds {
            target_accuracy: Some(0.95),
            ..lax
        };
        let report = summarise(report.rows, strict, "offline");
        assert!(!report.passed, "the target threshold is enforced");
        assert!(table.contains("has: certificate"));
    }
}
