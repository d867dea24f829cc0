//! Live network probes: TLS certificates over a real handshake, DNS through the system resolver
//! (or configured name servers). [`LiveNetwork`] implements [`NetworkBackend`].
//!
//! | module | job |
//! |---|---|
//! | [`settings`] | `backends.network` ([`NetworkSettings`]) |
//! | [`dns`] | the resolver; a lookup → [`DnsResult`]; addresses for the TLS probe |
//! | [`tls`] | connect + handshake, recording verifier, trusted roots, [`Clock`] |
//! | [`cert`] | leaf fields (x509-parser) and the verdict → [`CertInfo`] |
//! | [`guard`] | no link-local / metadata addresses; [`host_allowed`] |
//!
//! Host arguments arrive normalised by the tool server (`crate::tools::network::split_host`
//! turns `https://host:port/x` into a host and a port); settings parse with the same function.

pub mod cert;
pub mod dns;
pub mod guard;
pub mod settings;
pub mod tls;

use std::net::SocketAddr;

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::evidence::{CertInfo, DnsResult};
use crate::tools::{BackendError, NetworkBackend, SourceMode, SourceStatus};

pub use settings::{AddressError, ConnectFrom, HostPort, Nameserver, NetworkSettings};
pub use tls::Clock;

/// Whether a probe may look at `host`: the alert names it, or `settings.allow_hosts` does.
pub fn host_allowed(settings: &NetworkSettings, host: &str, alert_hosts: &[&str]) -> bool {
    guard::host_allowed(&settings.allow_hosts, host, alert_hosts)
}

/// The live network backend.
pub struct LiveNetwork {
    settings: NetworkSettings,
    dns: dns::Dns,
    tls: tls::Tls,
    clock: Clock,
}

impl LiveNetwork {
    /// Build the resolver and the root store. Synchronous and sends nothing: it reads
    /// `/etc/resolv.conf` (unless `nameservers` is set), the system CA store and
    /// `extra_ca_file`. The probes themselves need a Tokio runtime.
    pub fn new(settings: &NetworkSettings) -> Result<LiveNetwork, BackendError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(LiveNetwork {
            settings: settings.clone(),
            dns: dns::Dns::new(&settings.nameservers, settings.timeout())?,
            tls: tls::Tls::new(settings.extra_ca_file.as_deref())?,
            clock: Clock::System,
        })
    }

    /// Verify chains as of `clock` instead of now.
    pub fn with_clock(mut self, clock: Clock) -> LiveNetwork {
        self.clock = clock;
        self
    }

    /// One line for `config check --probe`, e.g. `network: resolver 10.96.0.10:53 (system,
    /// search prod.svc.cluster.local, ndots 5), 146 trusted roots (…)`. Sends nothing.
    pub async fn probe(&self) -> String {
        format!("network: {}", self.describe())
    }

    /// What the backend reads, for the RCA footer.
    pub fn status(&self) -> SourceStatus {
        SourceStatus {
            source: "network".to_owned(),
            mode: SourceMode::Live,
            detail: self.describe(),
        }
    }

    fn describe(&self) -> String {
        let roots = self.tls.roots();
        let mut text = format!(
            "{}, {} trusted roots (Mozilla {}, system {}, extra {})",
            self.dns.description(),
            roots.total,
            roots.mozilla,
            roots.system,
            roots.extra
        );
        if !self.settings.connect_to.is_empty() {
            let pairs: Vec<String> = self
                .settings
                .connect_to
                .iter()
                .map(|(from, to)| format!("{from} → {to}"))
                .collect();
            text.push_str(&format!(", connect-to {}", pairs.join(", ")));
        }
        if self.settings.allow_link_local {
            text.push_str(", link-local allowed");
        }
        text
    }

    /// The certificate `host:port` presents.
    pub async fn certificate(&self, host: &str, port: u16) -> Result<CertInfo, BackendError> {
        let budget = self.settings.timeout();
        let probe = async {
            let addrs = self.targets(host, port).await?;
            guard::check_addrs(host, &addrs, self.settings.allow_link_local)?;
            self.tls.certificate(host, port, &addrs, self.clock).await
        };
        tokio::time::timeout(budget, probe)
            .await
            .unwrap_or_else(|_| {
                Err(BackendError::Request(format!(
                    "TLS probe of {host}:{port} timed out after {} ms",
                    budget.as_millis()
                )))
            })
    }

    /// Look `name` up.
    pub async fn lookup(&self, name: &str, record_type: &str) -> Result<DnsResult, BackendError> {
        self.dns.lookup(name, record_type).await
    }

    /// Where to connect for `host:port`: the `connect_to` override, or what `host` resolves to.
    async fn targets(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, BackendError> {
        let to = ConnectFrom::candidates(host, port)
            .iter()
            .find_map(|key| self.settings.connect_to.get(key));
        let (name, port) = match to {
            Some(to) => match to.socket_addr() {
                Some(addr) => return Ok(vec![addr]),
                None => (to.host.as_str(), to.port),
            },
            None => (host, port),
        };
        let ips = self.dns.addresses(name).await?;
        Ok(ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect())
    }
}

impl NetworkBackend for LiveNetwork {
    fn tls_certificate(
        &self,
        host: &str,
        port: u16,
    ) -> BoxFuture<'_, Result<Option<CertInfo>, BackendError>> {
        let host = host.to_owned();
        async move { self.certificate(&host, port).await.map(Some) }.boxed()
    }

    fn resolve(
        &self,
        name: &str,
        record_type: &str,
    ) -> BoxFuture<'_, Result<Option<DnsResult>, BackendError>> {
        let name = name.to_owned();
        let record_type = record_type.to_owned();
        async move { self.lookup(&name, &record_type).await.map(Some) }.boxed()
    }
}
