//! The `network` MCP tool server: `check_tls_certificate`, `resolve_dns`.
//!
//! The [`NetworkBackend`] already answers in the decoded form ([`crate::evidence::CertInfo`], [`crate::evidence::DnsResult`]), so
//! this server normalises its arguments (a host may arrive as `https://api.example.com:8443/x`)
//! and passes the answer through. A failed lookup (`NXDOMAIN`, `SERVFAIL`) is data: a
//! `DnsResult` with `error` set. A backend with nothing for the host answers "no data".

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, Implementation, ServerCapabilities, ServerConfig};
use rmcp::schemars::JsonSchema;
use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};
use serde::Deserialize;

use crate::evidence::Observation;
use crate::tools::NetworkBackend;
use crate::tools::wire;

/// Record types `resolve_dns` accepts.
const RECORD_TYPES: &[&str] = &[
    "A", "AAAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT", "SOA", "CAA",
];

/// Arguments of `check_tls_certificate`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct TlsArgs {
    /// Host name (a URL is accepted; its host and port are used).
    pub host: String,
    /// TCP port (default 443).
    #[serde(default, deserialize_with = "wire::opt_u16")]
    pub port: Option<u16>,
}

/// Arguments of `resolve_dns`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub struct DnsArgs {
    /// Name to resolve (a URL is accepted; its host is used).
    pub name: String,
    /// Record type (default A).
    #[serde(default)]
    pub record_type: Option<String>,
}

/// The network tool server.
#[derive(Clone)]
pub struct NetworkServer {
    backend: Arc<dyn NetworkBackend>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl NetworkServer {
    pub fn new(backend: Arc<dyn NetworkBackend>) -> Self {
        Self {
            backend,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "The TLS certificate a host presents: subject, issuer, SANs, validity (not_before/not_after), whether the chain verifies and why not."
    )]
    async fn check_tls_certificate(
        &self,
        Parameters(args): Parameters<TlsArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let Some((host, url_port)) = split_host(&args.host) else {
            return Ok(wire::failed(format!("{:?} is not a host name", args.host)));
        };
        let port = args.port.or(url_port).unwrap_or(443);
        Ok(match self.backend.tls_certificate(&host, port).await {
            Ok(Some(cert)) => wire::data(&Observation::Certificate { cert }),
            Ok(None) => wire::no_data(format!("no certificate seen on {host}:{port}")),
            Err(e) => wire::backend_failed("tls", &e),
        })
    }

    #[tool(
        description = "Resolve a DNS name (record type A by default): the answers with TTLs, or the failure (NXDOMAIN, SERVFAIL…)."
    )]
    async fn resolve_dns(
        &self,
        Parameters(args): Parameters<DnsArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let Some((name, _)) = split_host(&args.name) else {
            return Ok(wire::failed(format!("{:?} is not a DNS name", args.name)));
        };
        let record_type = args
            .record_type
            .as_deref()
            .map(|t| t.trim().to_ascii_uppercase())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "A".to_owned());
        if !RECORD_TYPES.contains(&record_type.as_str()) {
            return Ok(wire::failed(format!(
                "unsupported record type {record_type}"
            )));
        }
        Ok(match self.backend.resolve(&name, &record_type).await {
            Ok(Some(result)) => wire::data(&Observation::Dns { result }),
            Ok(None) => wire::no_data(format!("no DNS answer recorded for {name} {record_type}")),
            Err(e) => wire::backend_failed("dns", &e),
        })
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for NetworkServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("network", env!("CARGO_PKG_VERSION")))
            .with_instructions("TLS certificate checks and DNS lookups.")
    }
}

/// The host (lower-cased, without a trailing dot) and the port of `input`, which may be a bare
/// host, `host:port`, or a URL. `None` when nothing host-like is left.
pub fn split_host(input: &str) -> Option<(String, Option<u16>)> {
    let mut s = input.trim();
    if let Some(i) = s.find("://") {
        s = &s[i + 3..];
    }
    s = s.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some(i) = s.rfind('@') {
        s = &s[i + 1..];
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        // [IPv6]:port
        let (h, tail) = rest.split_once(']')?;
        (h, tail.strip_prefix(':').and_then(|p| p.parse().ok()))
    } else if s.matches(':').count() == 1 {
        let (h, p) = s.split_once(':')?;
        (h, p.parse().ok())
    } else {
        (s, None)
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '*'));
    valid.then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_from_urls() {
        assert_eq!(
            split_host("https://API.example.com:8443/health?x=1"),
            Some(("api.example.com".into(), Some(8443)))
        );
        assert_eq!(
            split_host("ledger.payments.svc.cluster.local."),
            Some(("ledger.payments.svc.cluster.local".into(), None))
        );
        assert_eq!(split_host("[::1]:443"), Some(("::1".into(), Some(443))));
        assert_eq!(split_host("../../etc/passwd"), None);
        assert_eq!(split_host(""), None);
    }
}
