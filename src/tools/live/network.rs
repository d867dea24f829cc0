//! Live network probes: TLS certificates over a real handshake, DNS through the system resolver.

use serde::{Deserialize, Serialize};

/// `backends.network`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSettings {
    /// Hosts the probes may reach besides those the alert names.
    pub allow_hosts: Vec<String>,
}
