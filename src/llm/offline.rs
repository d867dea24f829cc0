//! The deterministic offline analyzer. (stub)

use super::{ReasonFuture, ReasonInput, Reasoner};
use crate::rca::{Confidence, Rca};

#[derive(Debug, Clone, Default)]
pub struct OfflineReasoner;

impl Reasoner for OfflineReasoner {
    fn name(&self) -> String {
        "offline".into()
    }
    fn reason<'a>(&'a self, input: ReasonInput<'a>) -> ReasonFuture<'a> {
        Box::pin(async move {
            Ok(Rca {
                summary: input.alert.title.clone(),
                root_cause: String::new(),
                hypotheses: vec![],
                timeline: vec![],
                actions: vec![],
                prevention: vec![],
                metrics: vec![],
                missing_evidence: vec![],
                confidence: Confidence::new(0.1),
                reasoner: "offline".into(),
            })
        })
    }
}
