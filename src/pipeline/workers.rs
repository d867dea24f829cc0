//! The bounded worker pool: at most N engine runs at once, each under the run deadline.
//!
//! A dispatcher task takes jobs off the queue in order and starts each once a semaphore permit is
//! free, so the queue (not an unbounded set of tasks) holds the backlog. Runs are spawned on the
//! runtime handle given at start, which may be a dedicated analysis runtime.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tracing::Instrument;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use super::{Job, RunError};
use crate::agent::Engine;

/// A short id for one run, unique within the process (`r1a`, `r1b`…).
fn next_run_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("r{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

pub(super) struct WorkerPool {
    dispatcher: JoinHandle<()>,
    permits: Arc<Semaphore>,
    size: u32,
}

impl WorkerPool {
    pub(super) fn spawn(
        engine: Arc<Engine>,
        mut rx: mpsc::Receiver<Job>,
        size: usize,
        analysis: tokio::runtime::Handle,
    ) -> Self {
        let size = u32::try_from(size)
            .unwrap_or(u32::MAX)
            .min(Semaphore::MAX_PERMITS as u32);
        let permits = Arc::new(Semaphore::new(size as usize));
        let sem = permits.clone();
        let dispatcher = tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                let Ok(permit) = sem.clone().acquire_owned().await else {
                    let _ = job.done.send(Err(RunError::ShutDown));
                    continue;
                };
                let engine = engine.clone();
                // Every log line of the run carries these (JSON logs put them on each line).
                let span = tracing::info_span!(
                    "run",
                    run_id = %next_run_id(),
                    fingerprint = %job.alert.fingerprint,
                    channel = job.alert.slack.channel.as_deref().unwrap_or(""),
                    agent = tracing::field::Empty,
                    reasoner = tracing::field::Empty,
                );
                analysis.spawn(async move {
                    let deadline = engine.run_deadline();
                    // A panic in a run (a bug) must not pass for a shutdown or kill the pool.
                    let run = AssertUnwindSafe(engine.analyze(&job.alert, job.received))
                        .catch_unwind();
                    let result = match tokio::time::timeout(deadline, run).await {
                        Ok(Ok(analysis)) => Ok(analysis),
                        Ok(Err(panic)) => {
                            let msg = panic
                                .downcast_ref::<&str>()
                                .map(|s| s.to_string())
                                .or_else(|| panic.downcast_ref::<String>().cloned())
                                .unwrap_or_else(|| "panic".to_string());
                            tracing::error!(alert = %job.alert.title, fingerprint = %job.alert.fingerprint, panic = %msg, "analysis panicked");
                            Err(RunError::Panicked(msg))
                        }
                        Err(_) => {
                            tracing::warn!(alert = %job.alert.title, "analysis deadline exceeded");
                            Err(RunError::DeadlineExceeded(deadline.as_secs()))
                        }
                    };
                    match &result {
                        Ok(a) => tracing::info!(
                            elapsed_ms = a.elapsed_ms.round() as u64,
                            confidence = a.rca.confidence.value(),
                            tools = a.evidence.outputs.len(),
                            "analysis finished"
                        ),
                        Err(e) => tracing::warn!(error = %e, "analysis failed"),
                    }
                    // The caller may have stopped waiting; that is not an error here.
                    let _ = job.done.send(result);
                    drop(permit);
                }.instrument(span));
            }
        });
        WorkerPool {
            dispatcher,
            permits,
            size,
        }
    }

    /// Wait for the queue to empty and every run to end, up to `grace`. True if all finished.
    pub(super) async fn drain(self, grace: Duration) -> bool {
        let permits = self.permits.clone();
        let size = self.size;
        let wait = async move {
            let _ = self.dispatcher.await;
            let _ = permits.acquire_many(size).await;
        };
        tokio::time::timeout(grace, wait).await.is_ok()
    }
}
