//! Replay and eval: run recorded incidents through the real pipeline.
//!
//! A replay target is a scenario directory (`alert.json`, `expect.yaml` and the tools' fixture
//! data), a single alert JSON file (its directory's fixture data is used), or free text (tools
//! answer "no data"). [`eval()`] replays every scenario of a directory and scores routing, reply
//! words, root-cause hits and latency against `eval.yaml` ([`expect`] holds both files' types).

mod eval;
pub mod expect;

pub use eval::{EvalReport, EvalRow, eval, percentile, score};
pub use expect::{Expectation, ExpectedTarget, TargetKind, Thresholds};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

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

    /// Parse the input into an intake (alert or ignored message), with no `sources:` mapping.
    pub fn intake(&self) -> Result<Intake, ParseError> {
        self.intake_with(&alert::SourceMap::default())
    }

    /// Parse the input into an intake; `sources` maps senders to sources (`agents.yaml`).
    pub fn intake_with(&self, sources: &alert::SourceMap) -> Result<Intake, ParseError> {
        match &self.input {
            AlertInput::SlackJson(json) => match alert::mention::question_in_json(json) {
                // A question asked with @sre-agent, read as the bot reads it.
                Some(question) => Ok(Intake::Alert(Box::new(question))),
                None => alert::parse_slack_json_with(json, sources),
            },
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
    /// The object the alert is about, and how it was found.
    pub target: Option<crate::target::Target>,
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
                target: None,
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
                SkipReason::Redelivered => format!("Already seen (same delivery): {}", alert.title),
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
                target: None,
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
            target: Some(analysis.target),
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
            target: None,
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
            target: None,
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
    let intake = scenario.intake_with(&base.config().config.source_map())?;
    Ok(replay_intake(&pipeline, intake, received).await)
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

impl ReplayOutput {
    /// The reply as a person reads it in a terminal (no Slack escaping or length cap).
    pub fn terminal_text(&self) -> String {
        match (&self.rca, &self.alert, &self.route) {
            (Some(rca), Some(alert), Some(route)) => {
                let target_line = self.target.as_ref().map(crate::target::Target::reply_line);
                let ctx = crate::slack::blocks::ReplyContext {
                    alert_title: &alert.title,
                    service: alert.service.as_deref(),
                    agent: &route.agent,
                    elapsed_ms: self.elapsed_ms.round() as u64,
                    fingerprint: Some(&alert.fingerprint),
                    sources: &self.sources,
                    target: target_line.as_deref(),
                };
                crate::slack::text::render_terminal(rca, &ctx)
            }
            _ => self.text.clone(),
        }
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
