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
//! The decoders stay in the tool servers, so a live answer and a recorded one go through the
//! same code.

pub mod kubernetes;
pub mod network;
pub mod signoz;
pub mod slack;

use serde::{Deserialize, Serialize};

/// `backends:` in `agents.yaml`: where the live tools read from. Secrets (API keys, tokens) come
/// only from the environment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackendsConfig {
    pub signoz: signoz::SignozSettings,
    pub kubernetes: kubernetes::KubernetesSettings,
    pub network: network::NetworkSettings,
}
