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
    signoz: Option<Arc<signoz::SignozHttp>>,
    kube: Option<Arc<kubernetes::KubeApi>>,
    network: Option<Arc<network::LiveNetwork>>,
    slack: Option<Arc<LiveSlack>>,
    backends: Backends,
}

fn unavailable(source: &str, reason: String) -> (Arc<Unavailable>, SourceStatus) {
    (
        Arc::new(Unavailable::new(reason.clone())),
        SourceStatus {
            source: source.to_string(),
            mode: SourceMode::Unavailable,
            detail: reason,
        },
    )
}

fn live(source: &str, detail: String) -> SourceStatus {
    SourceStatus {
        source: source.to_string(),
        mode: SourceMode::Live,
        detail,
    }
}

impl LiveSources {
    /// Build every configured source. Never fails: a source that is not configured or cannot
    /// be built is unavailable, with the reason (logged once here, and in every answer).
    pub async fn connect(
        config: &BackendsConfig,
        lookup: Lookup<'_>,
        http: &reqwest::Client,
        slack_api: Option<Arc<SlackApi>>,
    ) -> LiveSources {
        let mut sources = Vec::with_capacity(4);

        let signoz = match signoz::SignozHttp::from_env(http.clone(), &config.signoz, lookup) {
            Ok(Some(s)) => Some(Arc::new(s)),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "SigNoz is configured but unusable");
                None
            }
        };
        let signoz_backend: Arc<dyn crate::tools::SignozBackend> = match &signoz {
            Some(s) => {
                sources.push(live("signoz", s.describe()));
                s.clone()
            }
            None => {
                let (b, status) = unavailable("signoz", "SIGNOZ_URL not set".into());
                sources.push(status);
                b
            }
        };

        let (kube, kube_backend): (_, Arc<dyn crate::tools::KubeBackend>) =
            match kubernetes::KubeApi::connect(&config.kubernetes).await {
                Ok(k) => {
                    let k = Arc::new(k);
                    sources.push(k.source_status());
                    (Some(k.clone()), k)
                }
                Err(e) => {
                    tracing::info!(error = %e, "Kubernetes tools unavailable");
                    let (b, status) = unavailable("kubernetes", e.to_string());
                    sources.push(status);
                    (None, b)
                }
            };

        let (network, network_backend): (_, Arc<dyn crate::tools::NetworkBackend>) =
            match network::LiveNetwork::new(&config.network) {
                Ok(n) => {
                    let n = Arc::new(n);
                    sources.push(n.status());
                    (Some(n.clone()), n)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "network probes unavailable");
                    let (b, status) = unavailable("network", e.to_string());
                    sources.push(status);
                    (None, b)
                }
            };

        let slack = slack_api.map(|api| Arc::new(LiveSlack::new(api)));
        let slack_backend: Arc<dyn crate::tools::SlackBackend> = match &slack {
            Some(s) => {
                sources.push(live("slack", "bot token".into()));
                s.clone()
            }
            None => {
                let (b, status) = unavailable("slack", "SLACK_BOT_TOKEN not set".into());
                sources.push(status);
                b
            }
        };
        LiveSources {
            signoz,
            kube,
            network,
            slack,
            backends: Backends {
                signoz: signoz_backend,
                kube: kube_backend,
                slack: slack_backend,
                network: network_backend,
                sources,
            },
        }
    }

    /// The backends for [`crate::tools::Toolbox::start_with`].
    pub fn backends(&self) -> Backends {
        self.backends.clone()
    }

    /// One line per source for `config check --probe`, e.g. `signoz: ok, 41 services at …`.
    /// Live sources are asked (in parallel); unavailable ones say why.
    pub async fn probe(&self) -> Vec<String> {
        let failed = |e: crate::tools::BackendError| format!("FAILED: {e}");
        let signoz = async {
            match &self.signoz {
                Some(s) => Some(format!(
                    "signoz: {}",
                    s.probe().await.unwrap_or_else(failed)
                )),
                None => None,
            }
        };
        let kube = async {
            match &self.kube {
                Some(k) => Some(k.probe().await),
                None => None,
            }
        };
        let network = async {
            match &self.network {
                Some(n) => Some(n.probe().await),
                None => None,
            }
        };
        let slack = async {
            match &self.slack {
                Some(s) => Some(format!("slack: {}", s.probe().await.unwrap_or_else(failed))),
                None => None,
            }
        };
        let (signoz, kube, network, slack) = tokio::join!(signoz, kube, network, slack);
        let mut answered = [signoz, kube, network, slack].into_iter();
        self.backends
            .sources
            .iter()
            .map(|s| {
                let probed = answered.next().flatten();
                match (s.mode, probed) {
                    (SourceMode::Live, Some(line)) => line,
                    _ => format!("{}: unavailable ({})", s.source, s.detail),
                }
            })
            .collect()
    }
}
