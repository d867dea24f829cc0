//! The pipeline: dedup → bounded queue → bounded worker pool → engine.
//!
//! Replay and the Slack bot drive this same pipeline. [`Pipeline::admit`] decides whether an
//! alert is analysed (resolved and duplicate alerts are skipped, with the reason);
//! [`Pipeline::submit`] puts it on the bounded queue without waiting (a full queue is an error
//! the caller shows to the user, never a silent drop); workers run the engine under a per-run
//! deadline and hand the result back through a oneshot channel.

pub mod dedup;
mod workers;

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::agent::{Analysis, Engine};
use crate::alert::{Alert, AlertStatus};
use crate::config::PipelineConfig;
pub use dedup::{Dedup, DuplicateOf};

/// Why an alert was not analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    Resolved,
    /// The same alert fired again within the dedup window.
    Duplicate,
    /// The same delivery met again (a Slack retry, a second connection, catch-up meeting a
    /// message the live path already took).
    Redelivered,
    NotAnAlert,
}

/// The admission decision for one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Analyze,
    Skip(SkipReason),
}

/// One alert on its way through the workers.
pub struct Job {
    pub alert: Alert,
    pub received: Instant,
    done: oneshot::Sender<RunResult>,
}

/// What a worker hands back.
pub type RunResult = Result<Analysis, RunError>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum RunError {
    #[error("the analysis did not finish within {0} s")]
    DeadlineExceeded(u64),
    #[error("the pipeline shut down before the analysis ran")]
    ShutDown,
    /// A bug: the analysis panicked. Logged with the panic message and counted.
    #[error("the analysis failed unexpectedly: {0}")]
    Panicked(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the analysis queue is full ({capacity} alerts waiting)")]
    QueueFull { capacity: usize, alert: Box<Alert> },
    #[error("the pipeline is shutting down")]
    Closed { alert: Box<Alert> },
}

/// The admission decision over the pipeline's dedup memory.
#[derive(Clone)]
pub struct Gate {
    dedup: Dedup,
}

impl Gate {
    /// Decide whether to analyse `alert`, recording it for dedup. The one admission path of
    /// the bot (live events and catch-up), `/rca`, the Re-run button and `replay`. `force`
    /// (`/rca`, Re-run) bypasses dedup but never analyses a resolved alert. A resolved alert met
    /// again (same event or message) is [`SkipReason::Redelivered`], so its note goes out once.
    pub async fn admit(&self, alert: &Alert, force: bool) -> Admission {
        if alert.status == AlertStatus::Resolved {
            if self.dedup.resolved_seen(alert).await {
                return Admission::Skip(SkipReason::Redelivered);
            }
            return Admission::Skip(SkipReason::Resolved);
        }
        if force {
            return Admission::Analyze;
        }
        match self.dedup.check(alert).await {
            Some(DuplicateOf::Event) => Admission::Skip(SkipReason::Redelivered),
            Some(DuplicateOf::Fingerprint) => Admission::Skip(SkipReason::Duplicate),
            None => Admission::Analyze,
        }
    }

    /// True the first time a delivery `key` is met within the window (mentions, which are not
    /// alerts but must not be answered twice either).
    pub async fn first_delivery(&self, key: &str) -> bool {
        self.dedup.first_seen(format!("delivery:{key}")).await
    }

    /// Forget an alert's message and fingerprint, so a later delivery may analyse it (an alert
    /// that could not be queued, an alert that resolved).
    pub async fn forget(&self, alert: &Alert) {
        self.dedup.forget(alert).await;
    }
}

/// Dedup, queue and workers around one engine.
pub struct Pipeline {
    dedup: Dedup,
    queue: mpsc::Sender<Job>,
    capacity: usize,
    workers: workers::WorkerPool,
    engine: Arc<Engine>,
}

impl Pipeline {
    /// Start the worker pool on the current tokio runtime. Must be called inside a runtime.
    pub fn start(engine: Arc<Engine>, cfg: &PipelineConfig) -> Pipeline {
        Self::start_on(engine, cfg, tokio::runtime::Handle::current())
    }

    /// Start the worker pool with the analyses running on `analysis` — a runtime of their own,
    /// so that CPU-heavy runs never delay the Socket Mode acks handled on the caller's runtime.
    pub fn start_on(
        engine: Arc<Engine>,
        cfg: &PipelineConfig,
        analysis: tokio::runtime::Handle,
    ) -> Pipeline {
        let (tx, rx) = mpsc::channel(cfg.queue_capacity.max(1));
        let workers = workers::WorkerPool::spawn(engine.clone(), rx, cfg.workers.max(1), analysis);
        Pipeline {
            dedup: Dedup::new(cfg.dedup_window(), cfg.dedup_capacity),
            queue: tx,
            capacity: cfg.queue_capacity.max(1),
            workers,
            engine,
        }
    }

    /// A pipeline over another engine that keeps this one's dedup memory (replaying several
    /// targets, each with its own tools, in one session). Queued work of `self` still finishes.
    pub fn with_engine(self, engine: Arc<Engine>) -> Pipeline {
        let cfg = engine.config().config.pipeline.clone();
        let (tx, rx) = mpsc::channel(cfg.queue_capacity.max(1));
        let workers = workers::WorkerPool::spawn(
            engine.clone(),
            rx,
            cfg.workers.max(1),
            tokio::runtime::Handle::current(),
        );
        Pipeline {
            dedup: self.dedup,
            queue: tx,
            capacity: cfg.queue_capacity.max(1),
            workers,
            engine,
        }
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub fn dedup(&self) -> &Dedup {
        &self.dedup
    }

    /// Alerts waiting for a worker.
    pub fn queue_depth(&self) -> usize {
        self.capacity - self.queue.capacity()
    }

    /// Decide whether to analyse `alert`, recording it for dedup (see [`Gate::admit`]).
    pub async fn admit(&self, alert: &Alert, force: bool) -> Admission {
        self.gate().admit(alert, force).await
    }

    /// The admission decision on its own, cheap to clone (the bot admits from many tasks).
    pub fn gate(&self) -> Gate {
        Gate {
            dedup: self.dedup.clone(),
        }
    }

    /// Queue an admitted alert without waiting. The receiver yields the analysis.
    pub fn submit(
        &self,
        alert: Alert,
        received: Instant,
    ) -> Result<oneshot::Receiver<RunResult>, SubmitError> {
        let (done, rx) = oneshot::channel();
        let job = Job {
            alert,
            received,
            done,
        };
        match self.queue.try_send(job) {
            Ok(()) => Ok(rx),
            Err(mpsc::error::TrySendError::Full(job)) => Err(SubmitError::QueueFull {
                capacity: self.capacity,
                alert: Box::new(job.alert),
            }),
            Err(mpsc::error::TrySendError::Closed(job)) => Err(SubmitError::Closed {
                alert: Box::new(job.alert),
            }),
        }
    }

    /// Admit, queue and wait: the whole path for one alert (replay, eval, tests).
    pub async fn process(&self, alert: Alert, received: Instant) -> Processed {
        match self.admit(&alert, false).await {
            Admission::Skip(reason) => Processed::Skipped {
                alert: Box::new(alert),
                reason,
            },
            Admission::Analyze => match self.submit(alert, received) {
                Ok(rx) => match rx.await {
                    Ok(result) => Processed::Ran(result.map(Box::new)),
                    Err(_) => Processed::Ran(Err(RunError::ShutDown)),
                },
                Err(e) => Processed::Refused(e),
            },
        }
    }

    /// Stop taking work, let queued and running jobs finish within `grace`.
    pub async fn shutdown(self, grace: std::time::Duration) -> bool {
        drop(self.queue);
        self.workers.drain(grace).await
    }
}

/// The end of one alert's trip through the pipeline.
#[derive(Debug)]
pub enum Processed {
    Skipped {
        alert: Box<Alert>,
        reason: SkipReason,
    },
    Ran(Result<Box<Analysis>, RunError>),
    Refused(SubmitError),
}
