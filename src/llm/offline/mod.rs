//! The deterministic offline analyzer: evidence in, [`Rca`] out, no model involved.
//!
//! Each agent has a set of detectors ([`agents`] lists them; each is one function per cause,
//! organised by cause class in [`causes`]). A detector reads the normalised evidence (metrics,
//! logs, traces, pods, events, services, certificates, DNS) and the alert, and returns a
//! [`Finding`] with a score, the evidence for and against its cause, timeline entries, exact commands,
//! prevention and key numbers. It also returns a low-scored finding when the evidence *rules its
//! cause out*, so distractors show up as rejected hypotheses with the evidence against them.
//!
//! [`analyze`] scores every detector of the routed agent, plus the other agents' detectors at a
//! discount (only their positive findings are kept), ranks them, and turns the best into the
//! root cause and the rest into hypotheses. With no evidence at all the detectors fall back to
//! the alert's wording (most likely causes, confidence ≤ 0.5, and what is missing).

mod agents;
mod causes;
mod common;

use std::collections::HashSet;

use super::{ReasonFuture, ReasonInput, Reasoner};
use crate::alert::Alert;
use crate::evidence::{Evidence, ToolOutcome};
use crate::rca::{Confidence, Hypothesis, Likelihood, Rca, TimelineEntry};
use crate::target::Target;
use common::{Ctx, Detector, Finding, REJECTED, hm, quote};

/// Weight applied to a detector that belongs to another agent than the routed one.
const OFF_AGENT_WEIGHT: f64 = 0.85;
/// Score from which a general cause rests on direct evidence (a termination reason, an event,
/// an error class in the logs).
const DIRECT: f64 = 0.75;
/// Weight of the agents' detectors when a general cause rests on direct evidence.
const DETECTOR_WEIGHT_BESIDE_DIRECT: f64 = 0.9;
/// Most timeline entries in an RCA.
const MAX_TIMELINE: usize = 12;
/// Most hypotheses in an RCA.
const MAX_HYPOTHESES: usize = 10;

/// The offline, evidence-driven reasoner (name `offline`).
#[derive(Debug, Clone, Default)]
pub struct OfflineReasoner;

impl Reasoner for OfflineReasoner {
    fn name(&self) -> String {
        "offline".into()
    }
    fn wants_prompt(&self) -> bool {
        false
    }
    fn reason<'a>(&'a self, input: ReasonInput<'a>) -> ReasonFuture<'a> {
        Box::pin(async move {
            Ok(analyze_for(
                input.alert,
                &input.route.agent,
                input.evidence,
                input.target,
            ))
        })
    }
}

/// The detectors of one agent, in order (cheap cross-agent ones included).
fn agent_detectors(agent: &str) -> &'static [Detector] {
    match agent {
        "network" => agents::NETWORK,
        "database" => agents::DATABASE,
        "kubernetes" => agents::KUBERNETES,
        "resource" => agents::RESOURCE,
        _ => &[],
    }
}

const ALL_AGENTS: [&str; 4] = ["network", "database", "kubernetes", "resource"];

/// Analyse one alert with the evidence the `agent` collected, for the target resolved from the
/// alert and refined on the evidence. Never panics, never fails.
pub fn analyze(alert: &Alert, agent: &str, evidence: &Evidence) -> Rca {
    let target = crate::target::refine::refine(&crate::target::resolve(alert), alert, evidence);
    analyze_for(alert, agent, evidence, &target)
}

/// Analyse one alert for a `target` already resolved (the pipeline's). The general causes (by
/// class, over findings) compete with the agents' detectors; causes are chosen by evidence,
/// whatever the agent.
pub fn analyze_for(alert: &Alert, agent: &str, evidence: &Evidence, target: &Target) -> Rca {
    let ctx = Ctx::new(alert, evidence).with_target(target);
    let general: Vec<Finding> = causes::candidates(&ctx, target);
    // A cause read from a finding (the system saying what happened) outranks an agent detector's
    // reading of the same story: the detectors' scores are discounted when one exists.
    let direct = general.iter().any(|f| f.score >= DIRECT);
    let mut findings: Vec<Finding> = Vec::new();
    let own = agent_detectors(agent);
    for det in own {
        if let Some(f) = det(&ctx) {
            findings.push(f);
        }
    }
    // Other agents' detectors: only clear positive findings, discounted.
    let weight = if own.is_empty() {
        1.0
    } else {
        OFF_AGENT_WEIGHT
    };
    for other in ALL_AGENTS.iter().filter(|a| **a != agent) {
        for det in agent_detectors(other) {
            if let Some(mut f) = det(&ctx) {
                if findings.iter().any(|g| g.id == f.id) {
                    continue;
                }
                f.score *= weight;
                let keep = if own.is_empty() {
                    f.score > REJECTED || !f.evidence_against.is_empty()
                } else {
                    f.score >= 0.25 && !f.evidence_for.is_empty()
                };
                if keep {
                    findings.push(f);
                }
            }
        }
    }
    if direct {
        for f in &mut findings {
            f.score *= DETECTOR_WEIGHT_BESIDE_DIRECT;
        }
    }
    findings.extend(general);
    findings.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut rca = build_rca(&ctx, findings);
    drop_guessed_commands(&ctx, target, &mut rca);
    drop_unseen_engines(&ctx, &mut rca);
    rca
}

/// Database engines whose advice needs the engine in the alert or the evidence.
const ENGINES: &[&str] = &["mongo"];

/// Advice for a database engine that neither the alert nor the evidence mentions (MongoDB
/// commands for a PostgreSQL alert) is dropped: rivals keep their place only with their engine.
fn drop_unseen_engines(ctx: &Ctx<'_>, rca: &mut Rca) {
    let seen = |engine: &str| {
        ctx.hay.contains(engine)
            || serde_json::to_string(ctx.evidence)
                .map(|t| t.to_lowercase().contains(engine))
                .unwrap_or(true)
    };
    for engine in ENGINES.iter().filter(|e| !seen(e)) {
        let mentions = |t: &str| t.to_lowercase().contains(engine);
        rca.hypotheses.retain(|h| !mentions(&h.cause));
        rca.actions
            .retain(|a| !mentions(&a.title) && !a.command.as_deref().is_some_and(mentions));
        rca.prevention.retain(|p| !mentions(p));
        rca.missing_evidence.retain(|m| !mentions(m));
    }
}

/// A command that names a placeholder (`<service>`) or a namespace nobody named is a guess:
/// it is dropped, and the reply says what is unknown.
fn drop_guessed_commands(ctx: &Ctx<'_>, target: &Target, rca: &mut Rca) {
    let before = rca.actions.len();
    let guessed_ns = format!("-n {} ", ctx.ns);
    rca.actions.retain(|a| {
        a.command.as_deref().is_none_or(|c| {
            !(c.contains("<service>") || c.contains("<host>") || c.contains("<namespace>"))
                && (ctx.ns_known || !c.contains(&guessed_ns))
        })
    });
    if rca.actions.len() < before {
        let find = if target.name.is_empty() || !target.kind.runs_pods() {
            "kubectl get pods --all-namespaces -o wide".to_string()
        } else {
            format!(
                "kubectl get pods --all-namespaces -o wide | grep {}",
                target.name
            )
        };
        rca.missing_evidence.push(format!(
            "the alert names no namespace for some checks (left out): find the object with `{find}`"
        ));
    }
}

fn likelihood(score: f64) -> Likelihood {
    if score >= 0.65 {
        Likelihood::High
    } else if score >= 0.3 {
        Likelihood::Medium
    } else {
        Likelihood::Low
    }
}

fn build_rca(ctx: &Ctx<'_>, findings: Vec<Finding>) -> Rca {
    let mut missing = missing_from_tools(ctx.evidence);
    if ctx.evidence.outputs.is_empty() {
        missing.push("no tool output at all: the analysis rests on the alert text only".into());
    }
    let mut iter = findings.into_iter();
    let Some(best) = iter.next().filter(|f| f.score > REJECTED) else {
        return unknown_rca(ctx, missing);
    };
    let rest: Vec<Finding> = iter.collect();

    // Confidence: the winner's score, less when a rival is close, capped without evidence.
    let mut confidence = best.score;
    if let Some(second) = rest.first()
        && best.score - second.score < 0.1
    {
        confidence -= 0.1;
    }
    if !ctx.has_data {
        confidence = confidence.min(0.5);
    }
    let confidence = confidence.clamp(0.2, 0.95);

    let mut hypotheses = vec![Hypothesis {
        cause: best.cause.clone(),
        evidence_for: best.evidence_for.clone(),
        evidence_against: best.evidence_against.clone(),
        likelihood: likelihood(best.score),
    }];
    hypotheses.extend(rest.iter().take(MAX_HYPOTHESES - 1).map(|f| Hypothesis {
        cause: if f.score <= REJECTED {
            format!("{} (ruled out)", f.cause)
        } else {
            f.cause.clone()
        },
        evidence_for: f.evidence_for.clone(),
        evidence_against: f.evidence_against.clone(),
        likelihood: likelihood(f.score),
    }));

    // Timeline: the winner's entries, first error log, the alert firing; sorted, deduplicated.
    let mut timeline = best.timeline.clone();
    if let Some(first_err) = ctx.logs.iter().find(|l| {
        l.ts.is_some()
            && l.rec
                .severity
                .as_deref()
                .is_some_and(|s| matches!(s, "ERROR" | "FATAL" | "CRITICAL"))
    }) && let Some(at) = first_err.ts
        && !timeline.iter().any(|e| e.at == at)
    {
        timeline.push(TimelineEntry {
            at,
            event: format!("first error log: {}", quote(&first_err.rec.body, 120)),
        });
    }
    if let Some(at) = ctx.alert.fired_at {
        timeline.push(TimelineEntry {
            at,
            event: format!("alert fired: {}", quote(&ctx.alert.title, 100)),
        });
    }
    timeline.sort_by_key(|e| e.at);
    let mut seen = HashSet::new();
    timeline.retain(|e| seen.insert(e.event.clone()));
    if timeline.len() > MAX_TIMELINE {
        // Keep the oldest and newest entries: the story's start and the alert.
        let tail = timeline.split_off(timeline.len() - MAX_TIMELINE / 2);
        timeline.truncate(MAX_TIMELINE - tail.len());
        timeline.extend(tail);
    }

    // Actions: the winner's, then one check per plausible rival.
    let mut actions = best.actions.clone();
    for f in rest.iter().filter(|f| f.score >= 0.3).take(2) {
        // A rival nearly as likely (often the same story read another way) brings its checks.
        let n = if best.score - f.score < 0.1 { 3 } else { 1 };
        actions.extend(f.actions.iter().take(n).cloned());
    }
    // The same command twice (a rival suggesting the winner's check) is one step.
    let mut seen = HashSet::new();
    actions.retain(|a| match &a.command {
        Some(cmd) => seen.insert(cmd.clone()),
        None => seen.insert(a.title.clone()),
    });

    for f in std::iter::once(&best).chain(rest.iter().filter(|f| f.score >= 0.3)) {
        missing.extend(f.missing.iter().cloned());
    }
    let mut seen = HashSet::new();
    missing.retain(|m| seen.insert(m.clone()));

    let mut metrics = best.metrics.clone();
    let mut seen = HashSet::new();
    metrics.retain(|m| seen.insert(m.name.clone()));

    Rca {
        summary: best.summary.clone(),
        root_cause: best.root_cause.clone(),
        hypotheses,
        timeline,
        actions,
        prevention: best.prevention.clone(),
        metrics,
        missing_evidence: missing,
        confidence: Confidence::new(confidence),
        reasoner: "offline".into(),
        unsupported: Vec::new(),
        usage: None,
    }
}

/// "query_metrics(service=checkout): no data (…)" for every tool that did not return data.
fn missing_from_tools(evidence: &Evidence) -> Vec<String> {
    evidence
        .missing()
        .map(|o| {
            let target = ["host", "name", "service", "namespace"]
                .iter()
                .find_map(|k| o.call.args.get(*k).and_then(|v| v.as_str()))
                .map(|v| format!("({v})"))
                .unwrap_or_default();
            let why = match &o.outcome {
                ToolOutcome::NoData { reason } => format!("no data ({})", quote(reason, 80)),
                ToolOutcome::Failed { error } => format!("failed ({})", quote(error, 80)),
                ToolOutcome::TimedOut { after_ms } => format!("timed out after {after_ms} ms"),
                ToolOutcome::Data { .. } => "data".into(),
            };
            format!("{}{target}: {why}", o.call.tool)
        })
        .collect()
}

/// Nothing matched: say so, with the generic first checks.
fn unknown_rca(ctx: &Ctx<'_>, mut missing: Vec<String>) -> Rca {
    let mut f = Finding::new(
        "unknown",
        format!(
            "Cause of \"{}\" not determined from the evidence",
            quote(&ctx.alert.title, 80)
        ),
    );
    f.root_cause = format!(
        "No detector matched the evidence for {}: the collected data shows no clear cause for \"{}\".",
        ctx.service,
        quote(&ctx.alert.title, 100)
    );
    f.summary = format!(
        "The offline analysis could not pin down the cause of \"{}\".",
        quote(&ctx.alert.title, 80)
    );
    f.cmd(
        "Look at the service's pods",
        ctx.kubectl(&format!("get pods -l app={} -o wide", ctx.service)),
    );
    f.cmd(
        "Recent warnings in the namespace",
        ctx.kubectl("get events --field-selector type=Warning --sort-by=.lastTimestamp"),
    );
    f.cmd(
        "Recent logs",
        ctx.kubectl(&format!("logs deploy/{} --tail=100", ctx.deployment)),
    );
    missing.push("no evidence pointed at a specific cause".into());
    let mut timeline = Vec::new();
    if let Some(at) = ctx.alert.fired_at {
        timeline.push(TimelineEntry {
            at,
            event: format!("alert fired ({})", hm(at)),
        });
    }
    Rca {
        summary: f.summary,
        root_cause: f.root_cause,
        hypotheses: vec![],
        timeline,
        actions: f.actions,
        prevention: vec![],
        metrics: vec![],
        missing_evidence: missing,
        confidence: Confidence::new(0.2),
        reasoner: "offline".into(),
        unsupported: Vec::new(),
        usage: None,
    }
}
