//! Live Kubernetes backend: the API server through `kube`, read-only.

use serde::{Deserialize, Serialize};

/// `backends.kubernetes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KubernetesSettings {
    /// Namespaces the tools may read; empty means every namespace.
    pub namespaces: Vec<String>,
}
