//! Safety rules for outbound probes: which addresses a probe may connect to, and which hosts it
//! may be asked about.
//!
//! A TLS probe connects wherever a name resolves, and names come from alert text (or an LLM).
//! Link-local and cloud metadata addresses (`169.254.169.254`, `fd00:ec2::254`,
//! `100.100.100.200`) hand out instance credentials to anything that asks, so the probe refuses
//! them unless `backends.network.allow_link_local` says otherwise. Every resolved address is
//! checked before the first byte is sent.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::tools::BackendError;
use crate::tools::network::split_host;

/// Why an address is off limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    /// `169.254.0.0/16` or `fe80::/10` (AWS, GCP and Azure metadata live at `169.254.169.254`).
    LinkLocal,
    /// A cloud metadata address outside the link-local ranges (`fd00:ec2::254`,
    /// `100.100.100.200`).
    Metadata,
}

impl Forbidden {
    fn phrase(self) -> &'static str {
        match self {
            Forbidden::LinkLocal => "a link-local address (cloud metadata services live there)",
            Forbidden::Metadata => "a cloud metadata address",
        }
    }
}

/// AWS's IPv6 instance metadata endpoint.
const AWS_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);
/// Alibaba Cloud's metadata endpoint.
const ALIBABA_METADATA: Ipv4Addr = Ipv4Addr::new(100, 100, 100, 200);

/// Whether `ip` is a link-local or metadata address (IPv4-mapped IPv6 included).
pub fn forbidden(ip: IpAddr) -> Option<Forbidden> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None if v6 == AWS_METADATA_V6 => Some(Forbidden::Metadata),
            None if v6.is_unicast_link_local() => Some(Forbidden::LinkLocal),
            None => None,
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<Forbidden> {
    if ip.is_link_local() {
        Some(Forbidden::LinkLocal)
    } else if ip == ALIBABA_METADATA {
        Some(Forbidden::Metadata)
    } else {
        None
    }
}

/// `Err(Refused)` when any of `addrs` (what `host` resolved to) is off limits and
/// `allow_link_local` is false.
pub fn check_addrs(
    host: &str,
    addrs: &[SocketAddr],
    allow_link_local: bool,
) -> Result<(), BackendError> {
    if allow_link_local {
        return Ok(());
    }
    match addrs
        .iter()
        .find_map(|a| forbidden(a.ip()).map(|why| (a.ip(), why)))
    {
        Some((ip, why)) => Err(BackendError::Refused(format!(
            "{host} resolves to {ip}, {}; the network probe does not connect there unless \
             backends.network.allow_link_local is true",
            why.phrase()
        ))),
        None => Ok(()),
    }
}

/// Whether a probe may look at `host`: it is one the alert names, or matches an entry of
/// `backends.network.allow_hosts` (`api.example.com`, or `*.example.com` for any name under
/// `example.com`). Hosts may be given as URLs; case and a trailing dot do not matter.
pub fn host_allowed(allow_hosts: &[String], host: &str, alert_hosts: &[&str]) -> bool {
    let Some((host, _)) = split_host(host) else {
        return false;
    };
    let same = |other: &str| split_host(other).is_some_and(|(h, _)| h == host);
    alert_hosts.iter().any(|h| same(h))
        || allow_hosts
            .iter()
            .any(|pattern| match pattern.trim().strip_prefix("*.") {
                Some(domain) => split_host(domain).is_some_and(|(d, _)| {
                    host.strip_suffix(d.as_str())
                        .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.'))
                }),
                None => same(pattern),
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn link_local_and_metadata_ranges() {
        assert_eq!(forbidden(ip("169.254.169.254")), Some(Forbidden::LinkLocal));
        assert_eq!(forbidden(ip("169.254.0.1")), Some(Forbidden::LinkLocal));
        assert_eq!(forbidden(ip("fe80::1")), Some(Forbidden::LinkLocal));
        assert_eq!(forbidden(ip("febf::1")), Some(Forbidden::LinkLocal));
        assert_eq!(forbidden(ip("fd00:ec2::254")), Some(Forbidden::Metadata));
        assert_eq!(forbidden(ip("100.100.100.200")), Some(Forbidden::Metadata));
        assert_eq!(
            forbidden(ip("::ffff:169.254.169.254")),
            Some(Forbidden::LinkLocal)
        );
        for ok in [
            "169.253.255.255",
            "169.255.0.1",
            "10.96.0.10",
            "127.0.0.1",
            "fec0::1",
            "fd00:ec2::253",
            "100.100.100.201",
            "::1",
        ] {
            assert_eq!(forbidden(ip(ok)), None, "{ok}");
        }
    }

    #[test]
    fn check_refuses_unless_allowed() {
        let addrs: Vec<SocketAddr> = vec![
            "10.0.0.1:443".parse().expect("addr"),
            "169.254.169.254:443".parse().expect("addr"),
        ];
        match check_addrs("metadata.internal", &addrs, false) {
            Err(BackendError::Refused(msg)) => {
                assert!(msg.contains("169.254.169.254"), "{msg}");
                assert!(msg.contains("allow_link_local"), "{msg}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(check_addrs("metadata.internal", &addrs, true), Ok(()));
        assert_eq!(check_addrs("x", &addrs[..1], false), Ok(()));
    }

    #[test]
    fn hosts_named_by_the_alert_or_allowed() {
        let allow = vec!["*.example.com".to_string(), "db.internal".to_string()];
        assert!(host_allowed(&allow, "api.example.com", &[]));
        assert!(host_allowed(&allow, "a.b.example.com", &[]));
        assert!(!host_allowed(&allow, "example.com", &[]));
        assert!(!host_allowed(&allow, "badexample.com", &[]));
        assert!(host_allowed(&allow, "DB.internal.", &[]));
        assert!(!host_allowed(&allow, "db.internal.evil", &[]));
        assert!(host_allowed(
            &[],
            "shop.test",
            &["https://shop.test:8443/x"]
        ));
        assert!(!host_allowed(&[], "other.test", &["shop.test"]));
        assert!(!host_allowed(&allow, "", &["shop.test"]));
    }
}
