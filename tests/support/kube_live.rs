//! Helpers of the live-Kubernetes tests: a [`Toolbox`] whose Kubernetes tools read a
//! [`FakeKube`] through the real `KubeApi`, the same data through the fixture store beside it,
//! and the small recorded cluster of `tests/data/kube-cluster`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sre_agent::evidence::{Observation, ToolCall, ToolOutcome, ToolOutput};
use sre_agent::tools::Toolbox;
use sre_agent::tools::fixture::fixture_backends;
use sre_agent::tools::live::kubernetes::{KubeApi, KubernetesSettings};

use crate::support::fake_kube::FakeKube;

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The tools the kubernetes server offers.
pub const KUBE_TOOLS: &[&str] = &[
    "get_pod_status",
    "get_service_health",
    "get_events",
    "get_pod_logs",
    "get_workload",
    "get_node_status",
];

/// `tests/data/kube-cluster` (see its README).
pub fn cluster_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kube-cluster")
}

pub fn call(tool: &str, args: Value) -> ToolCall {
    let Value::Object(args) = args else {
        panic!("args must be an object");
    };
    ToolCall {
        tool: tool.to_owned(),
        args,
    }
}

pub fn observation(out: ToolOutput) -> Observation {
    match out.outcome {
        ToolOutcome::Data { observation } => observation,
        other => panic!(
            "{}({:?}): expected data, got {other:?}",
            out.call.tool, out.call.args
        ),
    }
}

pub fn no_data(out: ToolOutput) -> String {
    match out.outcome {
        ToolOutcome::NoData { reason } => reason,
        other => panic!("{}: expected no data, got {other:?}", out.call.tool),
    }
}

/// A toolbox whose Kubernetes tools read `fake` live (the other tools have no data).
pub async fn live_toolbox(fake: &FakeKube, settings: &KubernetesSettings) -> Toolbox {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api = KubeApi::from_config(fake.config(), settings).expect("kube client");
    let mut backends = fixture_backends(None).expect("backends");
    backends.kube = Arc::new(api);
    Toolbox::start(backends).await.expect("toolbox")
}

/// The same data served from fixture files and from the fake API server.
pub struct Both {
    pub fixture: Toolbox,
    pub live: Toolbox,
    pub fake: FakeKube,
}

impl Both {
    pub async fn new(dir: &Path, settings: &KubernetesSettings) -> Both {
        let fake = FakeKube::with_scenario(dir).await;
        let live = live_toolbox(&fake, settings).await;
        let fixture = Toolbox::start(fixture_backends(Some(dir)).expect("fixture"))
            .await
            .expect("toolbox");
        Both {
            fixture,
            live,
            fake,
        }
    }

    /// Call both; the answers must be equal. Returns the live one.
    pub async fn same(&self, tool: &str, args: Value) -> ToolOutput {
        let fixture = self.fixture.call(call(tool, args.clone()), TIMEOUT).await;
        let live = self.live.call(call(tool, args.clone()), TIMEOUT).await;
        assert_eq!(
            live.outcome, fixture.outcome,
            "{tool}({args}): live and fixture answers differ"
        );
        live
    }

    pub async fn live(&self, tool: &str, args: Value) -> ToolOutput {
        self.live.call(call(tool, args), TIMEOUT).await
    }
}
