//! Live backends: the same tool servers, reading the real systems instead of fixture files.
//!
//! Each submodule implements one backend trait of [`crate::tools::backend`] over the real
//! protocol, and owns its `*Settings` (the `backends.<source>` section of `agents.yaml`):
//!
//! | module | trait | protocol |
//! |---|---|---|
//! | [`signoz`] | `SignozBackend` | SigNoz HTTP query API (`reqwest`, rustls) |
//! | [`kubernetes`] | `KubeBackend` | Kubernetes API (`kube`, read-only) |
//! | [`network`] | `NetworkBackend` | TLS handshake (`tokio-rustls`) and DNS (`hickory-resolver`) |
//! | [`slack`] | `SlackBackend` | Slack Web API on the bot's own client |
//!
//! [`LiveSources::connect`] builds each configured source once per process (one HTTP client,
//! one Kubernetes client); a source that is not configured or cannot start is
//! [`unavailable::Unavailable`], says why in every answer, and is named in the RCA footer.
//! The decoders stay in the tool servers, so a live answer and a recorded one go through the
//! same code.

pub mod kubernetes;
pub mod network;
pub mod signoz;
pub mod slack;
pub mod unavailable;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::slack::api::SlackApi;
use crate::tools::{Backends, SourceMode, SourceStatus};

use self::slack::LiveSlack;
use self::unavailable::Unavailable;

/// `backends:` in `agents.yaml`: where the live tools read from. Secrets (API keys, tokens) come
/// only from the environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackendsConfig {
    pub signoz: signoz::SignozSettings,
    pub kubernetes: kubernetes::KubernetesSettings,
    pub network: network::NetworkSettings,
}

/// Environment lookup (a closure, so tests never touch the process environment).
pub type Lookup<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// The process's one HTTP client (SigNoz, external MCP servers over HTTP): rustls with the
/// ring provider, system roots, connection reuse, a connect timeout. Installs the ring provider
/// first, as every reqwest client needs.
pub fn http_client() -> Result<reqwest::Client, crate::tools::BackendError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("sre-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            crate::tools::BackendError::Request(format!("cannot build the HTTP client: {e}"))
        })
}

/// Every live source of the process, typed, for the toolbox and `config check --probe`.
pub struct LiveSources {
    slack: Option<Arc<LiveSlack>>,
    backends: Backends,
}

impl LiveSources {
    /// Build every configured source. Never fails: a source that cannot be built is
    /// unavailable, with the reason.
    pub async fn connect(
        _config: &BackendsConfig,
        _lookup: Lookup<'_>,
        _http: &reqwest::Client,
        slack_api: Option<Arc<SlackApi>>,
    ) -> LiveSources {
        let mut sources = Vec::new();
        let mut status = |source: &str, mode: SourceMode, detail: String| {
            sources.push(SourceStatus {
                source: source.to_string(),
                mode,
                detail,
            })
        };
        let signoz = Arc::new(Unavailable::new("the live SigNoz backend is not built yet"));
        status("signoz", SourceMode::Unavailable, "not built yet".into());
        let kube = Arc::new(Unavailable::new(
            "the live Kubernetes backend is not built yet",
        ));
        status(
            "kubernetes",
            SourceMode::Unavailable,
            "not built yet".into(),
        );
        let network = Arc::new(Unavailable::new(
            "the live network probes are not built yet",
        ));
        status("network", SourceMode::Unavailable, "not built yet".into());
        let slack = slack_api.map(|api| Arc::new(LiveSlack::new(api)));
        let slack_backend: Arc<dyn crate::tools::SlackBackend> = match &slack {
            Some(s) => {
                status("slack", SourceMode::Live, "bot token".into());
                s.clone()
            }
            None => {
                status(
                    "slack",
                    SourceMode::Unavailable,
                    "SLACK_BOT_TOKEN not set".into(),
                );
                Arc::new(Unavailable::new("SLACK_BOT_TOKEN is not set"))
            }
        };
        LiveSources {
            slack,
            backends: Backends {
                signoz,
                kube,
                slack: slack_backend,
                network,
                sources,
            },
        }
    }

    /// The backends for [`crate::tools::Toolbox::start_with`].
    pub fn backends(&self) -> Backends {
        self.backends.clone()
    }

    /// One line per source for `config check --probe`, e.g. `slack: ok, bot in 4 channels`.
    pub async fn probe(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for s in &self.backends.sources {
            if s.mode != SourceMode::Live {
                lines.push(format!("{}: unavailable ({})", s.source, s.detail));
                continue;
            }
            let line = match s.source.as_str() {
                "slack" => match &self.slack {
                    Some(slack) => match slack.probe().await {
                        Ok(ok) => ok,
                        Err(e) => format!("FAILED: {e}"),
                    },
                    None => "unavailable".into(),
                },
                _ => s.detail.clone(),
            };
            lines.push(format!("{}: {line}", s.source));
        }
        lines
    }
}
