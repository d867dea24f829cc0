//! The agent run loop: route the alert, collect evidence in parallel, reason, render.
//!
//! One `Engine` serves every alert; it owns the compiled router, the toolbox and the reasoner.
//! A run never fails as a whole: a tool that errs or times out becomes "no data" evidence, and
//! a reasoner that fails falls back to the offline analyzer, marked as such in the RCA.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;

use crate::agent::{AgentSpec, AgentTools, probe_policy, render_prompt};
use crate::alert::Alert;
use crate::config::{LoadedConfig, glob_match};
use crate::evidence::{Evidence, ToolCall, ToolOutcome, ToolOutput};
use crate::llm::offline::OfflineReasoner;
use crate::llm::{ReasonError, ReasonInput, Reasoner};
use crate::rca::Rca;
use crate::redact::{redact_rca, redact_string};
use crate::router::{Route, Router, RouterError};
use crate::slack::blocks::{ReplyContext, render_blocks, render_text};
use crate::target::{self, Target};
use crate::tools::{SourceStatus, Toolbox};

/// Everything one run produced.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub route: Route,
    pub evidence: Evidence,
    pub rca: Rca,
    pub blocks: Vec<serde_json::Value>,
    pub text: String,
    /// From the alert's receipt to the rendered reply.
    pub elapsed_ms: f64,
    /// Where the evidence came from (live, fixture, unavailable), as the footer says.
    pub sources: Vec<SourceStatus>,
    /// The object the alert is about, and how it was found.
    pub target: Target,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Router(#[from] RouterError),
}

/// Routes, collects and reasons. Cheap to share (`Arc`).
pub struct Engine {
    config: Arc<LoadedConfig>,
    router: Arc<Router>,
    toolbox: Arc<Toolbox>,
    reasoner: Arc<dyn Reasoner>,
    fallback: OfflineReasoner,
}

impl Engine {
    pub fn new(
        config: Arc<LoadedConfig>,
        toolbox: Arc<Toolbox>,
        reasoner: Arc<dyn Reasoner>,
    ) -> Result<Engine, EngineError> {
        let router = Router::new(&config.config.agents, &config.config.default_agent)?;
        Ok(Engine {
            config,
            router: Arc::new(router),
            toolbox,
            reasoner,
            fallback: OfflineReasoner,
        })
    }

    /// The same engine (router, reasoner, config) over other tools, e.g. another scenario's data.
    pub fn with_toolbox(&self, toolbox: Arc<Toolbox>) -> Engine {
        Engine {
            config: self.config.clone(),
            router: self.router.clone(),
            toolbox,
            reasoner: self.reasoner.clone(),
            fallback: OfflineReasoner,
        }
    }

    /// The reasoner's name (`offline`, `llm:<model>`).
    pub fn reasoner_name(&self) -> String {
        self.reasoner.name()
    }

    pub fn config(&self) -> &LoadedConfig {
        &self.config
    }

    pub fn route(&self, alert: &Alert) -> Route {
        self.router.route(alert)
    }

    fn agent(&self, name: &str) -> &AgentSpec {
        let agents = &self.config.config.agents;
        agents
            .iter()
            .find(|a| a.name == name)
            .or_else(|| agents.first())
            .expect("validated config has at least one agent")
    }

    /// The agent's up-front calls for this alert (arguments filled from the alert).
    pub fn planned_calls(
        &self,
        agent: &AgentSpec,
        alert: &Alert,
        target: &Target,
    ) -> Vec<Result<ToolCall, Box<ToolOutput>>> {
        agent
            .collect
            .iter()
            .filter(|c| agent.tools.iter().any(|p| glob_match(p, &c.tool)))
            .map(|c| match c.render(alert, target) {
                Ok(args) => {
                    let call = ToolCall {
                        tool: c.tool.clone(),
                        args,
                    };
                    match probe_policy::check(&call, alert, &self.config.config.backends.network) {
                        Ok(()) => Ok(call),
                        Err(reason) => Err(Box::new(ToolOutput {
                            call,
                            outcome: ToolOutcome::NoData { reason },
                            elapsed_ms: 0.0,
                            truncated: None,
                        })),
                    }
                }
                Err(missing) => Err(Box::new(ToolOutput {
                    call: ToolCall {
                        tool: c.tool.clone(),
                        args: c.args.clone(),
                    },
                    outcome: ToolOutcome::NoData {
                        reason: missing.to_string(),
                    },
                    elapsed_ms: 0.0,
                    truncated: None,
                })),
            })
            .collect()
    }

    /// Run the tools of the routed agent in parallel, each under the per-call timeout.
    pub async fn collect(&self, agent: &AgentSpec, alert: &Alert, target: &Target) -> Evidence {
        let timeout = self.config.config.pipeline.tool_timeout();
        let planned = self.planned_calls(agent, alert, target);
        let calls = planned.into_iter().map(|p| async move {
            match p {
                Ok(call) => self.toolbox.call(call, timeout).await,
                Err(skipped) => *skipped,
            }
        });
        Evidence {
            outputs: join_all(calls).await,
        }
    }

    /// Collect for `target`, then once more for what the evidence says the target is (a pod's
    /// owner, an app's namespace, a node's name): the calls whose arguments change are made
    /// again and their answers replace the first ones.
    pub async fn collect_for_target(
        &self,
        agent: &AgentSpec,
        alert: &Alert,
        first: Target,
    ) -> (Target, Evidence) {
        let mut evidence = self.collect(agent, alert, &first).await;
        let refined = target::refine::refine(&first, alert, &evidence);
        if same_object(&refined, &first) {
            return (refined, evidence);
        }
        let timeout = self.config.config.pipeline.tool_timeout();
        let before = self.planned_calls(agent, alert, &first);
        let after = self.planned_calls(agent, alert, &refined);
        let call_of = |p: &Result<ToolCall, Box<ToolOutput>>| match p {
            Ok(c) => c.clone(),
            Err(o) => o.call.clone(),
        };
        let again: Vec<(usize, Result<ToolCall, Box<ToolOutput>>)> = after
            .into_iter()
            .enumerate()
            .filter(|(i, p)| before.get(*i).map(call_of) != Some(call_of(p)))
            .collect();
        let outputs = join_all(again.into_iter().map(|(i, p)| async move {
            let out = match p {
                Ok(call) => self.toolbox.call(call, timeout).await,
                Err(skipped) => *skipped,
            };
            (i, out)
        }))
        .await;
        for (i, out) in outputs {
            if let Some(slot) = evidence.outputs.get_mut(i) {
                *slot = out;
            }
        }
        let target = target::refine::refine(&refined, alert, &evidence);
        (target, evidence)
    }

    /// The whole run for one alert. `received` is when the alert reached us.
    pub async fn analyze(&self, alert: &Alert, received: Instant) -> Analysis {
        let route = self.router.route(alert);
        let span = tracing::Span::current();
        span.record("agent", route.agent.as_str());
        span.record("reasoner", self.reasoner.name().as_str());
        let agent = self.agent(&route.agent);
        let (target, evidence) = self
            .collect_for_target(agent, alert, target::resolve(alert))
            .await;
        let template = self
            .config
            .prompts
            .get(&agent.name)
            .map(String::as_str)
            .unwrap_or_default();
        // Built only for a reasoner that reads it; the offline fallback never does.
        let prompt = if self.reasoner.wants_prompt() {
            render_prompt(template, alert, &evidence, self.reasoner.prompt_budget())
        } else {
            String::new()
        };
        // The reasoner gets what is left of the run deadline, minus a margin for the fallback,
        // so a slow model ends in the offline analysis rather than in no analysis at all.
        let deadline = self.run_deadline();
        let margin = (deadline / 10).min(Duration::from_secs(2));
        let budget = deadline
            .saturating_sub(received.elapsed())
            .saturating_sub(margin);
        let tools = AgentTools {
            toolbox: &self.toolbox,
            agent,
            alert,
            network: &self.config.config.backends.network,
            timeout: self.config.config.pipeline.tool_timeout(),
        };
        let input = ReasonInput {
            alert,
            route: &route,
            agent,
            prompt: &prompt,
            evidence: &evidence,
            target: &target,
            tools: Some(&tools),
            deadline: Some(tokio::time::Instant::now() + budget),
        };
        let reason_started = Instant::now();
        // The reasoner keeps its own deadline (and says what it spent); this is the backstop.
        let backstop = budget + Duration::from_millis(250).min(margin);
        let answer = match tokio::time::timeout(backstop, self.reasoner.reason(input)).await {
            Ok(answer) => answer,
            Err(_) => Err(ReasonError::Timeout),
        };
        let mut rca = match answer {
            Ok(rca) => rca,
            Err(err) => {
                let why = match &err {
                    ReasonError::Llm { failure, .. } => failure.to_string(),
                    ReasonError::Timeout => format!(
                        "{} timed out after {:.0} s",
                        self.reasoner.name(),
                        reason_started.elapsed().as_secs_f64()
                    ),
                    other => format!("fallback: {other}"),
                };
                tracing::warn!(reason = %redact_string(&why), reasoner = %self.reasoner.name(), "reasoner not used; answering with the offline analyzer");
                let mut rca = match self.fallback.reason(input).await {
                    Ok(rca) => rca,
                    Err(e) => minimal_rca(alert, &e.to_string()),
                };
                rca.reasoner = format!("offline ({why})");
                if let ReasonError::Llm { usage, .. } = err {
                    rca.usage = Some(*usage);
                }
                rca
            }
        };
        // Nothing secret reaches Slack, the replay output or the logs.
        redact_rca(&mut rca);
        let elapsed_ms = received.elapsed().as_secs_f64() * 1000.0;
        let sources = self.toolbox.sources().to_vec();
        let title = redact_string(&alert.title);
        let target_line = target.reply_line();
        let ctx = ReplyContext {
            alert_title: &title,
            service: alert.service.as_deref(),
            agent: &route.agent,
            elapsed_ms: elapsed_ms.round() as u64,
            fingerprint: Some(&alert.fingerprint),
            sources: &sources,
            target: Some(&target_line),
        };
        let blocks = render_blocks(&rca, &ctx);
        let text = render_text(&rca, &ctx);
        log_run(&route.agent, &rca, elapsed_ms);
        Analysis {
            route,
            evidence,
            rca,
            blocks,
            text,
            elapsed_ms,
            sources,
            target,
        }
    }

    /// Per-run deadline from the configuration.
    pub fn run_deadline(&self) -> Duration {
        self.config.config.pipeline.run_deadline()
    }
}

/// Whether two targets are the same object (how they were found aside).
fn same_object(a: &Target, b: &Target) -> bool {
    (a.kind, &a.name, &a.namespace, &a.workload) == (b.kind, &b.name, &b.namespace, &b.workload)
}

/// The one log line per run: who answered, with what confidence, at what cost.
fn log_run(agent: &str, rca: &Rca, elapsed_ms: f64) {
    let usage = rca.usage.clone().unwrap_or_default();
    tracing::info!(
        agent,
        reasoner = %rca.reasoner,
        confidence = rca.confidence.value(),
        unsupported = rca.unsupported.len(),
        tokens_in = usage.prompt_tokens,
        tokens_out = usage.completion_tokens,
        tool_calls = usage.tool_calls,
        llm_ms = usage.llm_ms,
        cost_usd = usage.cost_usd.unwrap_or(0.0),
        elapsed_ms = elapsed_ms.round() as u64,
        "analysis finished"
    );
}

/// Used only if even the offline analyzer fails: says so, and keeps the alert visible.
fn minimal_rca(alert: &Alert, why: &str) -> Rca {
    use crate::rca::Confidence;
    Rca {
        summary: format!("Could not analyse \"{}\"", alert.title),
        root_cause: format!("Analysis failed: {why}"),
        hypotheses: vec![],
        timeline: vec![],
        actions: vec![],
        prevention: vec![],
        metrics: vec![],
        missing_evidence: vec![],
        confidence: Confidence::new(0.0),
        reasoner: "none".into(),
        unsupported: Vec::new(),
        usage: None,
    }
}
