//! The pipeline's guarantees: bounded workers, bounded queue with a visible refusal, per-run
//! deadline, dedup under concurrency, resolved alerts skipped, graceful drain.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use sre_agent::agent::Engine;
use sre_agent::alert::AlertStatus;
use sre_agent::alert::sources::text_alert;
use sre_agent::config::{LoadedConfig, PipelineConfig};
use sre_agent::llm::offline::OfflineReasoner;
use sre_agent::llm::{ReasonError, ReasonFuture, ReasonInput, Reasoner};
use sre_agent::pipeline::{Admission, Pipeline, Processed, RunError, SkipReason, SubmitError};
use sre_agent::tools::{
    BackendError, SignozBackend, TOOL_NAMES, Toolbox, fixture::fixture_backends,
};

/// A reasoner that holds every run for `delay` and records how many run at once.
struct SlowReasoner {
    delay: Duration,
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl Reasoner for SlowReasoner {
    fn name(&self) -> String {
        "slow".into()
    }
    fn reason<'a>(&'a self, input: ReasonInput<'a>) -> ReasonFuture<'a> {
        Box::pin(async move {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            OfflineReasoner.reason(input).await
        })
    }
}

/// Records the prompt it was given; `wants` says whether it asks for one.
struct PromptSpy {
    wants: bool,
    seen: std::sync::Mutex<Vec<String>>,
}

impl Reasoner for PromptSpy {
    fn name(&self) -> String {
        "spy".into()
    }
    fn wants_prompt(&self) -> bool {
        self.wants
    }
    fn reason<'a>(&'a self, input: ReasonInput<'a>) -> ReasonFuture<'a> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(input.prompt.to_string());
        }
        OfflineReasoner.reason(input)
    }
}

#[tokio::test]
async fn the_prompt_is_built_only_for_reasoners_that_read_it() {
    for wants in [true, false] {
        let spy = Arc::new(PromptSpy {
            wants,
            seen: std::sync::Mutex::new(Vec::new()),
        });
        let engine = engine_with(spy.clone(), |_| {}).await;
        let alert = text_alert("Database connection pool exhausted for user-service");
        engine.analyze(&alert, Instant::now()).await;
        let seen = spy.seen.lock().expect("lock").clone();
        assert_eq!(seen.len(), 1);
        if wants {
            assert!(
                seen[0].contains("Database connection pool exhausted"),
                "{}",
                seen[0]
            );
            assert!(
                seen[0].contains("- query_metrics {"),
                "the evidence digest in the prompt: {}",
                seen[0]
            );
            assert!(!seen[0].contains("{evidence}"));
        } else {
            assert!(seen[0].is_empty());
        }
    }
}

/// A reasoner that always fails, to exercise the offline fallback.
struct BrokenReasoner;

impl Reasoner for BrokenReasoner {
    fn name(&self) -> String {
        "llm:broken".into()
    }
    fn reason<'a>(&'a self, _input: ReasonInput<'a>) -> ReasonFuture<'a> {
        Box::pin(async { Err(ReasonError::Backend("connection refused".into())) })
    }
}

async fn engine_with(
    reasoner: Arc<dyn Reasoner>,
    tweak: impl FnOnce(&mut PipelineConfig),
) -> Arc<Engine> {
    let mut config =
        LoadedConfig::load(Some(Path::new("agents.yaml")), TOOL_NAMES).expect("config");
    tweak(&mut config.config.pipeline);
    let toolbox = Toolbox::start(fixture_backends(None).expect("backends"))
        .await
        .expect("toolbox");
    Arc::new(Engine::new(Arc::new(config), Arc::new(toolbox), reasoner).expect("engine"))
}

fn slow(delay_ms: u64) -> Arc<SlowReasoner> {
    Arc::new(SlowReasoner {
        delay: Duration::from_millis(delay_ms),
        running: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    })
}

#[tokio::test]
async fn workers_are_bounded_and_every_alert_is_answered() {
    let reasoner = slow(30);
    let engine = engine_with(reasoner.clone(), |p| {
        p.workers = 3;
        p.queue_capacity = 64;
    })
    .await;
    let cfg = engine.config().config.pipeline.clone();
    let pipeline = Pipeline::start(engine, &cfg);
    let mut waiting = Vec::new();
    for i in 0..12 {
        let alert = text_alert(&format!("Disk usage on node-{i} at 97%"));
        assert_eq!(pipeline.admit(&alert, false).await, Admission::Analyze);
        waiting.push(pipeline.submit(alert, Instant::now()).expect("queued"));
    }
    for rx in waiting {
        let analysis = rx.await.expect("answered").expect("ran");
        assert_eq!(analysis.route.agent, "resource");
    }
    assert_eq!(
        reasoner.peak.load(Ordering::SeqCst),
        3,
        "never more than 3 at once"
    );
}

#[tokio::test]
async fn a_full_queue_refuses_visibly_and_hands_the_alert_back() {
    let engine = engine_with(slow(300), |p| {
        p.workers = 1;
        p.queue_capacity = 2;
    })
    .await;
    let cfg = engine.config().config.pipeline.clone();
    let pipeline = Pipeline::start(engine, &cfg);
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for i in 0..6 {
        let alert = text_alert(&format!("CPU throttling above 50% for search-{i}"));
        match pipeline.submit(alert, Instant::now()) {
            Ok(rx) => accepted.push(rx),
            Err(SubmitError::QueueFull { capacity, alert }) => {
                assert_eq!(capacity, 2);
                assert!(alert.title.contains("search-"), "the alert comes back");
                refused.push(alert);
            }
            Err(e) => panic!("unexpected {e}"),
        }
        tokio::task::yield_now().await;
    }
    assert!(!refused.is_empty(), "some were refused");
    assert!(accepted.len() >= 2, "the queue took what it could");
    assert_eq!(accepted.len() + refused.len(), 6, "nothing vanished");
    for rx in accepted {
        assert!(rx.await.expect("answered").is_ok());
    }
}

/// A SigNoz that hangs: answers "no data" after 3 s.
struct HungSignoz;

impl SignozBackend for HungSignoz {
    fn query_range(
        &self,
        _body: serde_json::Value,
    ) -> BoxFuture<'_, Result<Option<serde_json::Value>, BackendError>> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok(None)
        })
    }
}

#[tokio::test]
async fn a_run_past_its_deadline_is_reported() {
    // Tools that take longer than the whole run (a hung backend, a generous tool timeout).
    let mut config =
        LoadedConfig::load(Some(Path::new("agents.yaml")), TOOL_NAMES).expect("config");
    config.config.pipeline.run_deadline_secs = 1;
    config.config.pipeline.tool_timeout_ms = 10_000;
    let mut backends = fixture_backends(None).expect("backends");
    backends.signoz = Arc::new(HungSignoz);
    let toolbox = Toolbox::start(backends).await.expect("toolbox");
    let engine = Arc::new(
        Engine::new(
            Arc::new(config),
            Arc::new(toolbox),
            Arc::new(OfflineReasoner),
        )
        .expect("engine"),
    );
    let cfg = engine.config().config.pipeline.clone();
    let pipeline = Pipeline::start(engine, &cfg);
    match pipeline
        .process(text_alert("MongoDB slow queries on orders"), Instant::now())
        .await
    {
        Processed::Ran(Err(RunError::DeadlineExceeded(1))) => {}
        other => panic!("expected a deadline error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_reasoner_slower_than_the_deadline_falls_back_instead_of_failing() {
    let engine = engine_with(slow(5_000), |p| p.run_deadline_secs = 1).await;
    let cfg = engine.config().config.pipeline.clone();
    let pipeline = Pipeline::start(engine, &cfg);
    match pipeline
        .process(text_alert("MongoDB slow queries on orders"), Instant::now())
        .await
    {
        Processed::Ran(Ok(analysis)) => {
            assert!(
                analysis.rca.reasoner == "offline (slow timed out after 1 s)",
                "{}",
                analysis.rca.reasoner
            );
            assert!(!analysis.rca.root_cause.is_empty());
        }
        other => panic!("expected the offline fallback, got {other:?}"),
    }
}

#[tokio::test]
async fn a_failing_llm_falls_back_to_the_offline_analyzer() {
    let engine = engine_with(Arc::new(BrokenReasoner), |_| {}).await;
    let cfg = engine.config().config.pipeline.clone();
    let pipeline = Pipeline::start(engine, &cfg);
    match pipeline
        .process(
            text_alert("Database connection pool exhausted for user-service"),
            Instant::now(),
        )
        .await
    {
        Processed::Ran(Ok(analysis)) => {
            assert!(
                analysis.rca.reasoner.starts_with("offline (fallback:"),
                "{}",
                analysis.rca.reasoner
            );
            assert!(analysis.rca.reasoner.contains("connection refused"));
            assert!(!analysis.rca.root_cause.is_empty());
        }
        other => panic!("expected an analysis, got {other:?}"),
    }
}

/// A reasoner with a bug: panics on alerts that mention "boom".
struct PanickyReasoner;

impl Reasoner for PanickyReasoner {
    fn name(&self) -> String {
        "panicky".into()
    }
    fn reason<'a>(&'a self, input: ReasonInput<'a>) -> ReasonFuture<'a> {
        Box::pin(async move {
            if input.alert.title.contains("boom") {
                panic!("reasoner bug on {}", input.alert.title);
            }
            OfflineReasoner.reason(input).await
        })
    }
}

#[tokio::test]
async fn a_panicking_run_is_reported_as_such_and_the_pool_keeps_working() {
    let engine = engine_with(Arc::new(PanickyReasoner), |p| p.workers = 1).await;
    let cfg = engine.config().config.pipeline.clone();
    let pipeline = Pipeline::start(engine, &cfg);
    match pipeline
        .process(text_alert("Disk usage boom on node-3"), Instant::now())
        .await
    {
        Processed::Ran(Err(RunError::Panicked(msg))) => {
            assert!(msg.contains("reasoner bug"), "{msg}")
        }
        other => panic!("expected a reported panic, got {other:?}"),
    }
    match pipeline
        .process(text_alert("Disk usage on node-4 at 97%"), Instant::now())
        .await
    {
        Processed::Ran(Ok(a)) => assert_eq!(a.route.agent, "resource"),
        other => panic!("the pool must keep working, got {other:?}"),
    }
}

#[tokio::test]
async fn concurrent_copies_of_one_alert_are_analysed_once() {
    let engine = engine_with(Arc::new(OfflineReasoner), |_| {}).await;
    let cfg = engine.config().config.pipeline.clone();
    let pipeline = Arc::new(Pipeline::start(engine, &cfg));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let p = pipeline.clone();
        tasks.push(tokio::spawn(async move {
            let mut alert = text_alert("Pod checkout-7d9f is in CrashLoopBackOff");
            alert.slack.event_id = Some(format!("Ev{}", i % 3));
            p.admit(&alert, false).await
        }));
    }
    let mut analyze = 0;
    for t in tasks {
        match t.await.expect("task") {
            Admission::Analyze => analyze += 1,
            // Same event id again (a redelivery), or a new event of the same alert (a re-fire).
            Admission::Skip(SkipReason::Redelivered | SkipReason::Duplicate) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(analyze, 1);
}

#[tokio::test]
async fn resolved_alerts_are_skipped_even_when_forced() {
    let engine = engine_with(Arc::new(OfflineReasoner), |_| {}).await;
    let cfg = engine.config().config.pipeline.clone();
    let pipeline = Pipeline::start(engine, &cfg);
    let mut alert = text_alert("Disk usage on node-3 at 97%");
    alert.status = AlertStatus::Resolved;
    assert_eq!(
        pipeline.admit(&alert, true).await,
        Admission::Skip(SkipReason::Resolved)
    );
    // A resolved message must not consume the fingerprint: the next firing is analysed.
    alert.status = AlertStatus::Firing;
    assert_eq!(pipeline.admit(&alert, false).await, Admission::Analyze);
    assert_eq!(
        pipeline.admit(&alert, true).await,
        Admission::Analyze,
        "force bypasses dedup"
    );
}

#[tokio::test]
async fn shutdown_drains_queued_work_within_grace() {
    let engine = engine_with(slow(50), |p| p.workers = 2).await;
    let cfg = engine.config().config.pipeline.clone();
    let pipeline = Pipeline::start(engine, &cfg);
    let mut waiting = Vec::new();
    for i in 0..6 {
        waiting.push(
            pipeline
                .submit(text_alert(&format!("OOMKilled api-{i}")), Instant::now())
                .expect("queued"),
        );
    }
    assert!(
        pipeline.shutdown(Duration::from_secs(5)).await,
        "drained in time"
    );
    for rx in waiting {
        assert!(rx.await.expect("answered").is_ok());
    }
}
