//! The [`Finding`] every detector and cause returns (a candidate cause with its evidence for and
//! against, timeline, commands, prevention and key numbers), and the [`Detector`] signature.

use chrono::{DateTime, Utc};

use super::{Ctx, LogLine, quote};
use crate::evidence::KubeEvent;
use crate::rca::{Action, KeyMetric, TimelineEntry};

/// Score given to a hypothesis the evidence rules out (kept to show the evidence against it).
pub(crate) const REJECTED: f64 = 0.05;

/// One candidate cause, as a detector saw it.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    /// Stable id, e.g. `pool-slow-query`.
    pub id: &'static str,
    /// Short name of the cause, used as the hypothesis title.
    pub cause: String,
    /// The full root-cause sentence (used when this finding wins).
    pub root_cause: String,
    /// One sentence for the reply's first line.
    pub summary: String,
    /// 0..1: how well the evidence supports this cause.
    pub score: f64,
    pub evidence_for: Vec<String>,
    pub evidence_against: Vec<String>,
    pub timeline: Vec<TimelineEntry>,
    pub actions: Vec<Action>,
    pub prevention: Vec<String>,
    pub metrics: Vec<KeyMetric>,
    /// Evidence the detector looked for and did not find.
    pub missing: Vec<String>,
}

impl Finding {
    pub fn new(id: &'static str, cause: impl Into<String>) -> Finding {
        let cause = cause.into();
        Finding {
            id,
            root_cause: cause.clone(),
            summary: format!("{cause}."),
            cause,
            score: 0.0,
            evidence_for: Vec::new(),
            evidence_against: Vec::new(),
            timeline: Vec::new(),
            actions: Vec::new(),
            prevention: Vec::new(),
            metrics: Vec::new(),
            missing: Vec::new(),
        }
    }

    /// A hypothesis the evidence rules out, with the evidence against it.
    pub fn rejected(id: &'static str, cause: impl Into<String>, against: Vec<String>) -> Finding {
        let mut f = Finding::new(id, cause);
        f.score = REJECTED;
        f.evidence_against = against;
        f
    }

    pub fn with_score(mut self, score: f64) -> Finding {
        self.score = if score.is_finite() {
            score.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// Marks a finding that rests on the alert's wording only: it keeps its score when no tool
    /// returned data, and loses 0.1 when the tools answered without confirming it.
    pub fn into_hint(mut self, ctx: &Ctx<'_>) -> Finding {
        if self.evidence_for.is_empty() {
            self.evidence_for
                .push(format!("alert: \"{}\"", quote(&ctx.alert.title, 120)));
        }
        if ctx.has_data {
            self.score = (self.score - 0.1).max(0.1);
        }
        self
    }

    pub fn for_(&mut self, s: impl Into<String>) {
        self.evidence_for.push(s.into());
    }
    pub fn against(&mut self, s: impl Into<String>) {
        self.evidence_against.push(s.into());
    }
    pub fn at(&mut self, at: DateTime<Utc>, event: impl Into<String>) {
        self.timeline.push(TimelineEntry {
            at,
            event: event.into(),
        });
    }
    /// Cite matching log lines: "N log lines like …" as evidence, and the first one on the
    /// timeline as "first <what>: …".
    pub fn cite_logs(&mut self, count: usize, first: &LogLine<'_>, what: &str) {
        self.for_(format!(
            "{count} log lines like \"{}\"",
            quote(&first.rec.body, 120)
        ));
        self.at_opt(
            first.ts,
            format!("first {what}: {}", quote(&first.rec.body, 90)),
        );
    }
    /// Cite a Kubernetes event: "<label> (N×): message" as evidence, and `timeline` at its time.
    pub fn cite_event(&mut self, label: &str, e: &KubeEvent, timeline: String) {
        self.for_(format!(
            "{label} ({}×): {}",
            e.count.max(1),
            quote(&e.message, 120)
        ));
        self.at_opt(e.timestamp, timeline);
    }
    /// Cite a Kubernetes event by reason and object: "<reason> <object>: message" (quoted to
    /// `max` characters) as evidence, and `timeline` at its time.
    pub fn cite_reason(&mut self, e: &KubeEvent, max: usize, timeline: impl Into<String>) {
        self.for_(format!(
            "{} {}: {}",
            e.reason,
            e.object,
            quote(&e.message, max)
        ));
        self.at_opt(e.timestamp, timeline);
    }
    /// Cite one log line: `<label>: "line"` (quoted to `max` characters) as evidence, and
    /// `timeline` at its time.
    pub fn cite_line(
        &mut self,
        label: &str,
        l: &LogLine<'_>,
        max: usize,
        timeline: impl Into<String>,
    ) {
        self.for_(format!("{label}: \"{}\"", quote(&l.rec.body, max)));
        self.at_opt(l.ts, timeline);
    }
    /// Cite the alert's title as evidence (a finding that rests on the alert's wording).
    pub fn cite_alert(&mut self, ctx: &Ctx<'_>) {
        self.for_(format!("alert: \"{}\"", quote(&ctx.alert.title, 120)));
    }
    pub fn at_opt(&mut self, at: Option<DateTime<Utc>>, event: impl Into<String>) {
        if let Some(at) = at {
            self.at(at, event);
        }
    }
    pub fn cmd(&mut self, title: impl Into<String>, command: impl Into<String>) {
        self.actions.push(Action {
            title: title.into(),
            command: Some(command.into()),
        });
    }
    pub fn step(&mut self, title: impl Into<String>) {
        self.actions.push(Action {
            title: title.into(),
            command: None,
        });
    }
    pub fn prevent(&mut self, s: impl Into<String>) {
        self.prevention.push(s.into());
    }
    pub fn metric(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.metrics.push(KeyMetric {
            name: name.into(),
            value: value.into(),
        });
    }
    pub fn missing(&mut self, s: impl Into<String>) {
        self.missing.push(s.into());
    }
}

/// A detector: looks at the evidence (and alert) and returns a finding when it has something to
/// say, for or against its cause.
pub(crate) type Detector = fn(&Ctx<'_>) -> Option<Finding>;
