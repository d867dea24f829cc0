//! `backends.network` in `agents.yaml`: what the live network probes may reach, how they resolve
//! names and which CAs they trust. Addresses are parsed when the configuration loads, so a typo
//! fails `config check` instead of a probe.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::tools::network::split_host;

/// Default time budget of one probe.
const DEFAULT_TIMEOUT_MS: NonZeroU64 = NonZeroU64::new(5000).expect("5000 is not zero");

/// `backends.network`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSettings {
    /// Hosts the probes may reach besides those the alert names (`api.example.com`, or
    /// `*.example.com`); see [`super::host_allowed`].
    pub allow_hosts: Vec<String>,
    /// Let the TLS probe connect to link-local and cloud metadata addresses (off by default).
    pub allow_link_local: bool,
    /// Name servers to ask (`10.96.0.10`, `127.0.0.1:5353`, `[fd00::a]:53`), over UDP and TCP.
    /// Empty: the system resolver configuration (`/etc/resolv.conf`: servers, search domains,
    /// ndots), so a name resolves as the application next to the agent sees it.
    pub nameservers: Vec<Nameserver>,
    /// A PEM file of extra trusted CAs (an internal CA), on top of the Mozilla roots and the
    /// system store.
    pub extra_ca_file: Option<PathBuf>,
    /// Time budget of one probe (resolve, connect and handshake, or one DNS lookup).
    pub timeout_ms: NonZeroU64,
    /// `"host:port" → "address:port"`: connect there instead of where `host` resolves (like
    /// `curl --connect-to`); the handshake still names `host`. `*` as the host or the port of a
    /// key means any (`"*:443"`, `"*:*"`); the most specific key wins.
    pub connect_to: BTreeMap<ConnectFrom, HostPort>,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            allow_hosts: Vec::new(),
            allow_link_local: false,
            nameservers: Vec::new(),
            extra_ca_file: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            connect_to: BTreeMap::new(),
        }
    }
}

impl NetworkSettings {
    /// [`Self::timeout_ms`] as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.get())
    }
}

/// A setting that did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("{0:?} is not host:port")]
    HostPort(String),
    #[error("{0:?} is not host:port (either may be *)")]
    ConnectFrom(String),
    #[error("{0:?} is not an IP address or IP:port")]
    Nameserver(String),
}

/// A host (lower-case, no trailing dot) and a port: `api.example.com:443`, `10.0.0.7:8443`,
/// `[::1]:443`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl HostPort {
    pub fn new(host: &str, port: u16) -> Result<HostPort, AddressError> {
        let (host, _) = split_host(host).ok_or_else(|| AddressError::HostPort(host.to_owned()))?;
        Ok(HostPort { host, port })
    }

    /// The address when the host is an IP literal.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.host
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, self.port))
    }
}

impl FromStr for HostPort {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match split_host(s) {
            Some((host, Some(port))) if !s.contains("://") => Ok(HostPort { host, port }),
            _ => Err(AddressError::HostPort(s.to_owned())),
        }
    }
}

impl TryFrom<String> for HostPort {
    type Error = AddressError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<HostPort> for String {
    fn from(hp: HostPort) -> String {
        hp.to_string()
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A `connect_to` key: a host and a port, each of which may be `*` (any).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectFrom {
    /// `None`: any host.
    pub host: Option<String>,
    /// `None`: any port.
    pub port: Option<u16>,
}

impl ConnectFrom {
    pub fn exact(host: &str, port: u16) -> Result<ConnectFrom, AddressError> {
        let hp = HostPort::new(host, port)?;
        Ok(ConnectFrom {
            host: Some(hp.host),
            port: Some(hp.port),
        })
    }

    /// The keys that apply to `host:port`, most specific first.
    pub fn candidates(host: &str, port: u16) -> [ConnectFrom; 4] {
        let host = split_host(host).map_or_else(|| host.to_owned(), |(h, _)| h);
        let h = || Some(host.clone());
        [
            ConnectFrom {
                host: h(),
                port: Some(port),
            },
            ConnectFrom {
                host: h(),
                port: None,
            },
            ConnectFrom {
                host: None,
                port: Some(port),
            },
            ConnectFrom {
                host: None,
                port: None,
            },
        ]
    }
}

impl FromStr for ConnectFrom {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || AddressError::ConnectFrom(s.to_owned());
        let t = s.trim();
        let (host, port) = t.rsplit_once(':').ok_or_else(bad)?;
        let port = match port {
            "*" => None,
            p => Some(p.parse::<u16>().map_err(|_| bad())?),
        };
        let host = match host {
            "*" => None,
            h => match split_host(h) {
                Some((h, None)) if !h.contains("://") => Some(h),
                _ => return Err(bad()),
            },
        };
        Ok(ConnectFrom { host, port })
    }
}

impl TryFrom<String> for ConnectFrom {
    type Error = AddressError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<ConnectFrom> for String {
    fn from(c: ConnectFrom) -> String {
        c.to_string()
    }
}

impl fmt::Display for ConnectFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Some(h) if h.contains(':') => write!(f, "[{h}]")?,
            Some(h) => f.write_str(h)?,
            None => f.write_str("*")?,
        }
        match self.port {
            Some(p) => write!(f, ":{p}"),
            None => f.write_str(":*"),
        }
    }
}

/// A name server address; the port defaults to 53.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Nameserver(pub SocketAddr);

impl FromStr for Nameserver {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(Nameserver(addr));
        }
        let bare = s.strip_prefix('[').and_then(|r| r.strip_suffix(']'));
        bare.unwrap_or(s)
            .parse::<IpAddr>()
            .map(|ip| Nameserver(SocketAddr::new(ip, 53)))
            .map_err(|_| AddressError::Nameserver(s.to_owned()))
    }
}

impl TryFrom<String> for Nameserver {
    type Error = AddressError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Nameserver> for String {
    fn from(ns: Nameserver) -> String {
        ns.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ports() {
        let hp: HostPort = "API.example.com:8443".parse().expect("parse");
        assert_eq!(hp, HostPort::new("api.example.com", 8443).expect("new"));
        assert_eq!(hp.to_string(), "api.example.com:8443");
        assert_eq!(hp.socket_addr(), None);
        let ip: HostPort = "127.0.0.1:9443".parse().expect("parse");
        assert_eq!(
            ip.socket_addr(),
            Some("127.0.0.1:9443".parse().expect("addr"))
        );
        let v6: HostPort = "[::1]:443".parse().expect("parse");
        assert_eq!(v6.to_string(), "[::1]:443");
        assert_eq!(v6.socket_addr(), Some("[::1]:443".parse().expect("addr")));
        assert!(
            "api.example.com".parse::<HostPort>().is_err(),
            "port required"
        );
        assert!("https://a.example.com:443/".parse::<HostPort>().is_err());
        assert!("a b:1".parse::<HostPort>().is_err());
    }

    #[test]
    fn connect_from_keys() {
        let key = |s: &str| s.parse::<ConnectFrom>();
        assert_eq!(key("API.test:443"), ConnectFrom::exact("api.test", 443));
        assert_eq!(
            key("*:443"),
            Ok(ConnectFrom {
                host: None,
                port: Some(443)
            })
        );
        assert_eq!(key("*:*").map(|k| k.to_string()), Ok("*:*".into()));
        assert_eq!(
            key("a.test:*").map(|k| k.to_string()),
            Ok("a.test:*".into())
        );
        assert_eq!(
            key("[::1]:443").map(|k| k.to_string()),
            Ok("[::1]:443".into())
        );
        assert!(key("a.test").is_err());
        assert!(key("a.test:x").is_err());
        assert!(key("a b:1").is_err());
        let c = ConnectFrom::candidates("a.test", 443);
        assert_eq!(c[0], ConnectFrom::exact("a.test", 443).expect("key"));
        assert_eq!(c[3].to_string(), "*:*");
    }

    #[test]
    fn nameservers() {
        let ns = |s: &str| s.parse::<Nameserver>().map(|n| n.0.to_string());
        assert_eq!(ns("10.96.0.10"), Ok("10.96.0.10:53".into()));
        assert_eq!(ns("127.0.0.1:5353"), Ok("127.0.0.1:5353".into()));
        assert_eq!(ns("[fd00::a]:53"), Ok("[fd00::a]:53".into()));
        assert_eq!(ns("fd00::a"), Ok("[fd00::a]:53".into()));
        assert!(ns("dns.example.com").is_err());
    }

    #[test]
    fn yaml_defaults_and_typos() {
        let s: NetworkSettings = serde_yaml::from_str("allow_link_local: true").expect("yaml");
        assert_eq!(s.timeout_ms.get(), 5000);
        assert!(s.allow_link_local);
        let s: NetworkSettings = serde_yaml::from_str(
            "nameservers: [\"127.0.0.1:5353\"]\nconnect_to: {\"a.test:443\": \"127.0.0.1:9443\"}\ntimeout_ms: 250",
        )
        .expect("yaml");
        assert_eq!(s.nameservers[0].0.port(), 5353);
        assert_eq!(s.timeout(), Duration::from_millis(250));
        assert_eq!(
            s.connect_to
                .get(&ConnectFrom::exact("a.test", 443).expect("key")),
            Some(&"127.0.0.1:9443".parse().expect("value"))
        );
        assert!(serde_yaml::from_str::<NetworkSettings>("nameservers: [\"dns.example\"]").is_err());
        assert!(serde_yaml::from_str::<NetworkSettings>("timeout_ms: 0").is_err());
        assert!(
            serde_yaml::from_str::<NetworkSettings>("connect_to: {\"a.test\": \"x:1\"}").is_err()
        );
    }
}
