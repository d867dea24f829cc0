//! Admission: the bot's one door into the pipeline. Live events, catch-up, `/rca`, Re-run and
//! mentions all ask [`Gate::admit`] (the same decision `replay` uses) and queue through
//! [`Pipeline::submit`]; nothing here keeps its own dedup logic. After shutdown began the door
//! is closed: submissions are refused with [`SubmitError::Closed`].

use std::sync::{Arc, RwLock};
use std::time::Instant;

use tokio::sync::oneshot;

use crate::agent::Engine;
use crate::alert::Alert;
use crate::pipeline::{Admission, Gate, Pipeline, RunResult, SubmitError};

pub(super) struct Door {
    gate: Gate,
    engine: Arc<Engine>,
    pipeline: RwLock<Option<Pipeline>>,
}

impl Door {
    pub fn new(pipeline: Pipeline) -> Door {
        Door {
            gate: pipeline.gate(),
            engine: pipeline.engine().clone(),
            pipeline: RwLock::new(Some(pipeline)),
        }
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Analyse, or skip with the reason; records the alert for dedup.
    pub async fn admit(&self, alert: &Alert, force: bool) -> Admission {
        self.gate.admit(alert, force).await
    }

    /// See [`Gate::first_delivery`].
    pub async fn first_delivery(&self, key: &str) -> bool {
        self.gate.first_delivery(key).await
    }

    /// Let a later delivery of `alert` be analysed again.
    pub async fn forget(&self, alert: &Alert) {
        self.gate.forget(alert).await;
    }

    /// Queue an admitted alert without waiting.
    pub fn submit(
        &self,
        alert: Alert,
        received: Instant,
    ) -> Result<oneshot::Receiver<RunResult>, SubmitError> {
        match self.pipeline.read() {
            Ok(guard) => match guard.as_ref() {
                Some(p) => p.submit(alert, received),
                None => Err(SubmitError::Closed {
                    alert: Box::new(alert),
                }),
            },
            Err(_) => Err(SubmitError::Closed {
                alert: Box::new(alert),
            }),
        }
    }

    /// Alerts waiting for a worker.
    pub fn queue_depth(&self) -> usize {
        self.pipeline
            .read()
            .ok()
            .and_then(|p| p.as_ref().map(Pipeline::queue_depth))
            .unwrap_or(0)
    }

    /// Close the door: the pipeline, for its shutdown.
    pub fn close(&self) -> Option<Pipeline> {
        self.pipeline.write().ok().and_then(|mut p| p.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertStatus;
    use crate::alert::sources::text_alert;
    use crate::config::{ConfigOrigin, EMBEDDED_AGENTS_YAML, LoadedConfig};
    use crate::llm::offline::OfflineReasoner;
    use crate::pipeline::SkipReason;
    use crate::tools::{TOOL_NAMES, Toolbox, fixture::fixture_backends};

    async fn door() -> Door {
        let loaded =
            LoadedConfig::from_yaml_str(EMBEDDED_AGENTS_YAML, ConfigOrigin::Embedded, TOOL_NAMES)
                .expect("config");
        let cfg = loaded.config.pipeline.clone();
        let toolbox = Toolbox::start(fixture_backends(None).expect("fixtures"))
            .await
            .expect("toolbox");
        let engine = Engine::new(
            Arc::new(loaded),
            Arc::new(toolbox),
            Arc::new(OfflineReasoner),
        )
        .expect("engine");
        Door::new(Pipeline::start(Arc::new(engine), &cfg))
    }

    fn posted(title: &str, ts: &str, event: Option<&str>) -> Alert {
        let mut a = text_alert(title);
        a.slack.channel = Some("C1".into());
        a.slack.ts = Some(ts.into());
        a.slack.event_id = event.map(str::to_string);
        a
    }

    #[tokio::test]
    async fn one_decision_for_events_catch_up_and_refires() {
        let door = door().await;
        let first = posted("Pod api-1 is in CrashLoopBackOff", "1.000100", Some("Ev1"));
        assert_eq!(door.admit(&first, false).await, Admission::Analyze);
        // Slack retries the event; catch-up meets the same message without an event id.
        assert_eq!(
            door.admit(&first, false).await,
            Admission::Skip(SkipReason::Redelivered)
        );
        let via_history = posted("Pod api-1 is in CrashLoopBackOff", "1.000100", None);
        assert_eq!(
            door.admit(&via_history, false).await,
            Admission::Skip(SkipReason::Redelivered)
        );
        // The same alert fired again: a new message.
        let refire = posted("Pod api-1 is in CrashLoopBackOff", "2.000100", Some("Ev2"));
        assert_eq!(
            door.admit(&refire, false).await,
            Admission::Skip(SkipReason::Duplicate)
        );
        // It resolves: the note goes out once, and the next firing is analysed again.
        let mut resolved = posted("Pod api-1 is in CrashLoopBackOff", "3.000100", Some("Ev3"));
        resolved.status = AlertStatus::Resolved;
        assert_eq!(
            door.admit(&resolved, false).await,
            Admission::Skip(SkipReason::Resolved)
        );
        assert_eq!(
            door.admit(&resolved, false).await,
            Admission::Skip(SkipReason::Redelivered)
        );
        door.forget(&first).await;
        let later = posted("Pod api-1 is in CrashLoopBackOff", "4.000100", Some("Ev4"));
        assert_eq!(door.admit(&later, false).await, Admission::Analyze);
        // /rca forces past dedup.
        assert_eq!(door.admit(&later, true).await, Admission::Analyze);
    }

    #[tokio::test]
    async fn a_closed_door_refuses_and_reports_no_queue() {
        let door = door().await;
        let rx = door
            .submit(text_alert("Disk full on node-3"), Instant::now())
            .expect("queued");
        assert!(rx.await.expect("analysed").is_ok());
        let pipeline = door.close().expect("open until now");
        assert!(matches!(
            door.submit(text_alert("Disk full on node-4"), Instant::now()),
            Err(SubmitError::Closed { .. })
        ));
        assert_eq!(door.queue_depth(), 0);
        assert!(door.close().is_none());
        assert!(pipeline.shutdown(std::time::Duration::from_secs(5)).await);
    }
}
