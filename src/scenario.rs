//! Replay and eval: run recorded incidents through the real pipeline.
//!
//! A replay target is a scenario directory (`alert.json`, `expect.yaml` and the tools' fixture
//! data), a single alert JSON file (its directory's fixture data is used), or free text (tools
//! answer "no data"). `eval` replays every scenario of a directory and scores routing, root-cause
//! hits and latency against `eval.yaml`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::agent::Engine;
use crate::alert::{self, Alert, Intake, MAX_ALERT_BYTES, ParseError};
use crate::pipeline::{Pipeline, Processed, SkipReason};
use crate::rca::Rca;
use crate::router::Route;
use crate::tools::signoz::catalogue::MetricCatalogue;
use crate::tools::{Toolbox, fixture::fixture_backends};

/// What a replay target holds.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// Where the tools' fixture data lives (`None`: every tool answers "no data").
    pub data_dir: Option<PathBuf>,
    pub input: AlertInput,
    pub expect: Option<Expectation>,
}

#[derive(Debug, Clone)]
pub enum AlertInput {
    /// A Slack event or envelope, as JSON text.
    SlackJson(String),
    /// Free text.
    Text(String),
}

/// `expect.yaml`: what a correct analysis of the scenario looks like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub agent: String,
    /// Words the whole reply text must contain (case-insensitive).
    #[serde(default)]
    pub contains: Vec<String>,
    /// Words the RCA's root cause must contain (case-insensitive).
    #[serde(default)]
    pub root_cause: Vec<String>,
}

/// `eval.yaml`: the thresholds `eval` enforces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub routing_accuracy: f64,
    pub root_cause_hit_rate: f64,
    pub p95_ms: f64,
    /// The p95 bound when an LLM reasons (a model takes seconds, not milliseconds).
    #[serde(default = "default_llm_p95_ms")]
    pub llm_p95_ms: f64,
}

fn default_llm_p95_ms() -> f64 {
    60_000.0
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            routing_accuracy: 1.0,
            root_cause_hit_rate: 0.9,
            p95_ms: 250.0,
            llm_p95_ms: default_llm_p95_ms(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Yaml {
        path: PathBuf,
        source: serde_yaml::Error,
    },
    #[error("{path} has no alert.json")]
    NoAlert { path: PathBuf },
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error("tools: {0}")]
    Tools(#[from] crate::tools::BackendError),
    #[error("{0}")]
    Engine(#[from] crate::agent::EngineError),
}

fn read(path: &Path) -> Result<String, ScenarioError> {
    std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl Scenario {
    /// Interpret a replay argument: a directory, a file, or else free text.
    pub fn from_target(target: &str) -> Result<Scenario, ScenarioError> {
        if target == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|source| {
                ScenarioError::Io {
                    path: PathBuf::from("-"),
                    source,
                }
            })?;
            return Ok(Scenario {
                name: "stdin".into(),
                data_dir: None,
                input: if text.trim_start().starts_with('{') {
                    AlertInput::SlackJson(text)
                } else {
                    AlertInput::Text(text)
                },
                expect: None,
            });
        }
        let path = Path::new(target);
        if path.is_dir() {
            return Scenario::from_dir(path);
        }
        if path.is_file() {
            let text = read(path)?;
            return Ok(Scenario {
                name: path.display().to_string(),
                // A bare file name's parent is "": its data is in the current directory.
                data_dir: Some(match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                }),
                input: AlertInput::SlackJson(text),
                expect: None,
            });
        }
        Ok(Scenario {
            name: "text".into(),
            data_dir: None,
            input: AlertInput::Text(target.to_string()),
            expect: None,
        })
    }

    pub fn from_dir(dir: &Path) -> Result<Scenario, ScenarioError> {
        let alert_path = dir.join("alert.json");
        if !alert_path.is_file() {
            return Err(ScenarioError::NoAlert {
                path: dir.to_path_buf(),
            });
        }
        let expect_path = dir.join("expect.yaml");
        let expect = if expect_path.is_file() {
            let text = read(&expect_path)?;
            Some(
                serde_yaml::from_str(&text).map_err(|source| ScenarioError::Yaml {
                    path: expect_path.clone(),
                    source,
                })?,
            )
        } else {
            None
        };
        Ok(Scenario {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| dir.display().to_string()),
            data_dir: Some(dir.to_path_buf()),
            input: AlertInput::SlackJson(read(&alert_path)?),
            expect,
        })
    }

    /// Every scenario directory (one holding `alert.json`) under `root`, sorted by name.
    pub fn all_in(root: &Path) -> Result<Vec<Scenario>, ScenarioError> {
        let entries = std::fs::read_dir(root).map_err(|source| ScenarioError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("alert.json").is_file())
            .collect();
        dirs.sort();
        dirs.iter().map(|d| Scenario::from_dir(d)).collect()
    }

    /// Parse the input into an intake (alert or ignored message).
    pub fn intake(&self) -> Result<Intake, ParseError> {
        match &self.input {
            AlertInput::SlackJson(json) => alert::parse_slack_json(json),
            AlertInput::Text(text) => Ok(Intake::Alert(Box::new(alert::sources::text_alert(text)))),
        }
    }

    /// A toolbox serving this scenario's fixture data (metrics through the built-in catalogue).
    pub async fn toolbox(&self) -> Result<Toolbox, ScenarioError> {
        let backends = fixture_backends(self.data_dir.as_deref())?;
        Ok(Toolbox::start(backends).await?)
    }

    /// A toolbox serving this scenario's fixture data, metrics through `catalogue` (the
    /// configuration's `metrics:`, whose aliases decode recorded answers).
    pub async fn toolbox_with(
        &self,
        catalogue: Arc<MetricCatalogue>,
    ) -> Result<Toolbox, ScenarioError> {
        let backends = fixture_backends(self.data_dir.as_deref())?;
        Ok(Toolbox::start_with_catalogue(backends, catalogue).await?)
    }
}

/// The result of replaying one alert: the `--json` output of `sre-agent replay`.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayOutput {
    pub alert: Option<Alert>,
    /// `analyze` or `skip`.
    pub action: &'static str,
    pub skip_reason: Option<SkipReason>,
    pub route: Option<Route>,
    pub rca: Option<Rca>,
    pub blocks: Vec<serde_json::Value>,
    pub text: String,
    pub elapsed_ms: f64,
    /// Where the evidence came from (the RCA footer's `Sources:` line).
    pub sources: Vec<crate::tools::SourceStatus>,
}

/// Run one parsed input through `pipeline`.
pub async fn replay_intake(pipeline: &Pipeline, intake: Intake, received: Instant) -> ReplayOutput {
    let alert = match intake {
        Intake::Ignored(ignored) => {
            return ReplayOutput {
                alert: None,
                action: "skip",
                skip_reason: Some(SkipReason::NotAnAlert),
                route: None,
                rca: None,
                blocks: Vec::new(),
                text: format!("Not an alert ({:?}): {}", ignored.reason, ignored.detail),
                elapsed_ms: ms(received),
                sources: Vec::new(),
            };
        }
        Intake::Alert(alert) => *alert,
    };
    let kept = alert.clone();
    match pipeline.process(alert, received).await {
        Processed::Skipped { alert, reason } => {
            let route = pipeline.engine().route(&alert);
            let text = match reason {
                SkipReason::Resolved => format!("Resolved: {} (no analysis)", alert.title),
                SkipReason::Duplicate => format!(
                    "Duplicate of an alert analysed within the dedup window: {}",
                    alert.title
                ),
                SkipReason::NotAnAlert => "Not an alert".to_string(),
            };
            ReplayOutput {
                alert: Some(*alert),
                action: "skip",
                skip_reason: Some(reason),
                route: Some(route),
                rca: None,
                blocks: Vec::new(),
                text,
                elapsed_ms: ms(received),
                sources: Vec::new(),
            }
        }
        Processed::Ran(Ok(analysis)) => ReplayOutput {
            alert: Some(kept),
            action: "analyze",
            skip_reason: None,
            route: Some(analysis.route),
            rca: Some(analysis.rca),
            blocks: analysis.blocks,
            text: analysis.text,
            elapsed_ms: analysis.elapsed_ms,
            sources: analysis.sources,
        },
        Processed::Ran(Err(e)) => ReplayOutput {
            alert: Some(kept),
            action: "analyze",
            skip_reason: None,
            route: None,
            rca: None,
            blocks: Vec::new(),
            text: format!("Analysis failed: {e}"),
            elapsed_ms: ms(received),
            sources: Vec::new(),
        },
        Processed::Refused(e) => ReplayOutput {
            alert: Some(kept),
            action: "skip",
            skip_reason: None,
            route: None,
            rca: None,
            blocks: Vec::new(),
            text: format!("Not analysed: {e}"),
            elapsed_ms: ms(received),
            sources: Vec::new(),
        },
    }
}

/// Replay one scenario with a fresh pipeline over its own fixture data.
pub async fn replay(base: &Engine, scenario: &Scenario) -> Result<ReplayOutput, ScenarioError> {
    let catalogue = Arc::new(base.config().config.metrics.clone());
    let engine = Arc::new(base.with_toolbox(Arc::new(scenario.toolbox_with(catalogue).await?)));
    let pipeline = Pipeline::start(engine, &base.config().config.pipeline);
    // The clock starts when the alert arrives (tools already up, as in the bot); parsing counts.
    let received = Instant::now();
    let intake = scenario.intake()?;
    Ok(replay_intake(&pipeline, intake, received).await)
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// One scenario's eval result.
#[derive(Debug, Clone, Serialize)]
pub struct EvalRow {
    pub name: String,
    pub expected_agent: String,
    pub agent: String,
    pub routed_ok: bool,
    pub contains_ok: bool,
    pub root_cause_ok: bool,
    pub missing_words: Vec<String>,
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
    let text = out.text.to_lowercase();
    let root = out
        .rca
        .as_ref()
        .map(|r| r.root_cause.to_lowercase())
        .unwrap_or_default();
    let mut missing = Vec::new();
    for w in &expect.contains {
        if !text.contains(&w.to_lowercase()) {
            missing.push(format!("reply: {w}"));
        }
    }
    let contains_ok = missing.is_empty();
    for w in &expect.root_cause {
        if !root.contains(&w.to_lowercase()) {
            missing.push(format!("root cause: {w}"));
        }
    }
    let root_cause_ok = out.rca.is_some()
        && expect
            .root_cause
            .iter()
            .all(|w| root.contains(&w.to_lowercase()));
    let usage = out.rca.as_ref().and_then(|r| r.usage.clone());
    EvalRow {
        name: name.to_string(),
        expected_agent: expect.agent.clone(),
        routed_ok: agent == expect.agent,
        agent,
        contains_ok,
        root_cause_ok,
        missing_words: missing,
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
    let n = rows.len().max(1) as f64;
    let share = |f: &dyn Fn(&EvalRow) -> bool| rows.iter().filter(|r| f(r)).count() as f64 / n;
    let routing_accuracy = share(&|r| r.routed_ok);
    let contains_rate = share(&|r| r.contains_ok);
    let root_cause_hit_rate = share(&|r| r.root_cause_ok);
    let mut times: Vec<f64> = rows.iter().map(|r| r.elapsed_ms).collect();
    times.sort_by(f64::total_cmp);
    let p50_ms = percentile(&times, 0.50);
    let p95_ms = percentile(&times, 0.95);
    let passed = !rows.is_empty()
        && routing_accuracy >= thresholds.routing_accuracy
        && root_cause_hit_rate >= thresholds.root_cause_hit_rate
        && p95_ms <= p95_bound;
    EvalReport {
        rows,
        routing_accuracy,
        contains_rate,
        root_cause_hit_rate,
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

impl ReplayOutput {
    /// The reply as a person reads it in a terminal (no Slack escaping or length cap).
    pub fn terminal_text(&self) -> String {
        match (&self.rca, &self.alert, &self.route) {
            (Some(rca), Some(alert), Some(route)) => {
                let ctx = crate::slack::blocks::ReplyContext {
                    alert_title: &alert.title,
                    service: alert.service.as_deref(),
                    agent: &route.agent,
                    elapsed_ms: self.elapsed_ms.round() as u64,
                    fingerprint: Some(&alert.fingerprint),
                    sources: &self.sources,
                };
                crate::slack::text::render_terminal(rca, &ctx)
            }
            _ => self.text.clone(),
        }
    }
}

impl EvalReport {
    /// The table `sre-agent eval` prints.
    pub fn table(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "{:<28} {:<11} {:<11} {:>5} {:>6} {:>6} {:>9}\n",
            "scenario", "expected", "routed", "route", "reply", "cause", "ms"
        ));
        let mark = |ok: bool| if ok { "ok" } else { "MISS" };
        for r in &self.rows {
            s.push_str(&format!(
                "{:<28} {:<11} {:<11} {:>5} {:>6} {:>6} {:>9.2}\n",
                r.name,
                r.expected_agent,
                r.agent,
                mark(r.routed_ok),
                mark(r.contains_ok),
                mark(r.root_cause_ok),
                r.elapsed_ms
            ));
            if !r.missing_words.is_empty() {
                s.push_str(&format!("    missing: {}\n", r.missing_words.join(", ")));
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
        let p95_bound = if self.llm.is_some() {
            self.thresholds.llm_p95_ms
        } else {
            self.thresholds.p95_ms
        };
        s.push_str(&format!("reasoner: {}\n", self.reasoner));
        if let Some(l) = &self.llm {
            s.push_str(&format!(
                "llm: {} answers, {} offline fallbacks, {} tool calls, {} tokens, {} unsupported claims, ${:.4}\n",
                l.model_answers, l.fallbacks, l.tool_calls, l.tokens, l.unsupported, l.cost_usd
            ));
        }
        s.push_str(&format!(
            "\nscenarios: {}\nrouting accuracy: {:.1}% (min {:.1}%)\nreply has expected words: {:.1}%\nroot cause found: {:.1}% (min {:.1}%)\nlatency: p50 {:.2} ms, p95 {:.2} ms (max {:.0} ms)\nresult: {}\n",
            self.rows.len(),
            self.routing_accuracy * 100.0,
            self.thresholds.routing_accuracy * 100.0,
            self.contains_rate * 100.0,
            self.root_cause_hit_rate * 100.0,
            self.thresholds.root_cause_hit_rate * 100.0,
            self.p50_ms,
            self.p95_ms,
            p95_bound,
            if self.passed { "PASS" } else { "FAIL" }
        ));
        s
    }
}

/// Cut text longer than `MAX_ALERT_BYTES` for display (on a char boundary).
pub fn clip(text: &str) -> &str {
    if text.len() <= MAX_ALERT_BYTES {
        return text;
    }
    let mut end = MAX_ALERT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
