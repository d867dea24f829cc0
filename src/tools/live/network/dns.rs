//! The DNS probe: one `hickory-resolver` lookup per call, with the answer cache off, turned into
//! a [`DnsResult`]; and the address lookup the TLS probe connects with (the same resolver, so
//! both probes see the names the same way).
//!
//! By default the resolver reads the system configuration (`/etc/resolv.conf`: servers, search
//! domains, `ndots`), so `ledger` or `ledger.prod` resolves as it does for the application in the
//! same pod. `backends.network.nameservers` replaces the servers (UDP and TCP).
//!
//! What a failed lookup becomes: `NXDOMAIN`, `SERVFAIL` (and other error codes) and a timeout are
//! data (`DnsResult.error`), because an application asking the same server meets the same
//! failure. `REFUSED` is not: it says the server will not talk to *this probe* (no recursion for
//! us, an ACL), nothing about the name, so it is a tool failure, as is a server that cannot be
//! reached at all.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, Record, RecordType};
use hickory_resolver::{Resolver, TokioResolver};

use super::settings::Nameserver;
use crate::evidence::{DnsAnswer, DnsResult};
use crate::tools::BackendError;

/// The resolver both probes use, and what it was configured with (for `config check`).
pub struct Dns {
    resolver: TokioResolver,
    timeout: Duration,
    description: String,
}

/// How one lookup ended, before it becomes a [`DnsResult`] or an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The server answered (maybe with no record of the asked type).
    Answered {
        answers: Vec<DnsAnswer>,
        cname_chain: Vec<String>,
    },
    /// A failure the application would meet too: `NXDOMAIN`, `SERVFAIL`, `TIMEOUT`…
    Failed(String),
    /// The probe could not ask (refused, unreachable): says nothing about the name.
    Unusable(String),
}

impl Dns {
    /// A resolver from the system configuration, or over `nameservers` when some are given.
    pub fn new(nameservers: &[Nameserver], timeout: Duration) -> Result<Dns, BackendError> {
        let (config, mut options, source) = if nameservers.is_empty() {
            let (config, options) =
                hickory_resolver::system_conf::read_system_conf().map_err(|e| {
                    BackendError::Request(format!(
                        "could not read the system resolver configuration: {e}"
                    ))
                })?;
            (config, options, "system")
        } else {
            let servers = nameservers.iter().map(|ns| server(ns.0)).collect();
            let mut options = ResolverOpts::default();
            options.use_hosts_file = ResolveHosts::Never;
            (
                ResolverConfig::from_name_servers(servers),
                options,
                "configured",
            )
        };
        if config.name_servers().is_empty() {
            return Err(BackendError::NotConfigured(
                "network: no name server (empty /etc/resolv.conf and no backends.network.nameservers)",
            ));
        }
        options.cache_size = 0;
        // resolv.conf's `timeout:` holds when it is shorter than the probe's budget.
        options.timeout = options.timeout.min(timeout);
        options.preserve_intermediates = true;
        let description = describe(&config, &options, source);
        let mut builder = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
        *builder.options_mut() = options;
        let resolver = builder
            .build()
            .map_err(|e| BackendError::Request(format!("could not build the resolver: {e}")))?;
        Ok(Dns {
            resolver,
            timeout,
            description,
        })
    }

    /// `resolver 10.96.0.10:53 (search prod.svc.cluster.local, ndots 5)`.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Look `name` up as `record_type` (`A`, `AAAA`, `MX`…).
    pub async fn lookup(&self, name: &str, record_type: &str) -> Result<DnsResult, BackendError> {
        let rtype = RecordType::from_str(&record_type.to_ascii_uppercase())
            .map_err(|_| BackendError::Request(format!("unsupported record type {record_type}")))?;
        let started = Instant::now();
        let outcome =
            match tokio::time::timeout(self.timeout, self.resolver.lookup(name, rtype)).await {
                Ok(Ok(lookup)) => answered(&lookup, rtype),
                Ok(Err(e)) => classify(&e),
                Err(_) => Outcome::Failed("TIMEOUT".to_owned()),
            };
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let (answers, cname_chain, error) = match outcome {
            Outcome::Answered {
                answers,
                cname_chain,
            } => (answers, cname_chain, None),
            Outcome::Failed(code) => (Vec::new(), Vec::new(), Some(code)),
            Outcome::Unusable(why) => {
                return Err(BackendError::Request(format!(
                    "DNS lookup of {name} {record_type}: {why}"
                )));
            }
        };
        Ok(DnsResult {
            name: name.to_owned(),
            record_type: rtype.to_string(),
            answers,
            error,
            cname_chain,
            elapsed_ms: Some(elapsed_ms),
        })
    }

    /// The addresses `host` resolves to (A and AAAA), for connecting.
    pub async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, BackendError> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let failed =
            |why: String| BackendError::Request(format!("could not resolve {host}: {why}"));
        match tokio::time::timeout(self.timeout, self.resolver.lookup_ip(host)).await {
            Ok(Ok(ips)) => {
                let ips: Vec<IpAddr> = ips.iter().collect();
                if ips.is_empty() {
                    Err(failed("no A or AAAA record".to_owned()))
                } else {
                    Ok(ips)
                }
            }
            Ok(Err(e)) => Err(failed(match classify(&e) {
                Outcome::Failed(code) | Outcome::Unusable(code) => code,
                Outcome::Answered { .. } => "no A or AAAA record".to_owned(),
            })),
            Err(_) => Err(failed("TIMEOUT".to_owned())),
        }
    }
}

fn server(addr: SocketAddr) -> NameServerConfig {
    let mut udp = ConnectionConfig::udp();
    udp.port = addr.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = addr.port();
    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
}

fn describe(config: &ResolverConfig, options: &ResolverOpts, source: &str) -> String {
    let mut servers: Vec<String> = Vec::new();
    for ns in config.name_servers() {
        let ports = ns.connections.iter().map(|c| c.port);
        for port in ports {
            let addr = SocketAddr::new(ns.ip, port).to_string();
            if !servers.contains(&addr) {
                servers.push(addr);
            }
        }
    }
    let mut details = vec![source.to_owned()];
    let search: Vec<String> = config
        .search()
        .iter()
        .map(|n| trim_dot(&n.to_string()))
        .collect();
    if !search.is_empty() {
        details.push(format!("search {}", search.join(" ")));
    }
    details.push(format!("ndots {}", options.ndots));
    format!("resolver {} ({})", servers.join(", "), details.join(", "))
}

/// The records of the asked type, and the CNAMEs followed to reach them.
pub fn answered(lookup: &Lookup, rtype: RecordType) -> Outcome {
    let records = lookup.answers();
    let mut cname_chain = Vec::new();
    if rtype != RecordType::CNAME {
        let mut current = lookup.query().name().clone();
        for _ in 0..records.len() {
            let next = records.iter().find_map(|r| match &r.data {
                RData::CNAME(target) if r.name == current => Some(target.0.clone()),
                _ => None,
            });
            let Some(next) = next else { break };
            cname_chain.push(trim_dot(&next.to_string()));
            current = next;
        }
    }
    let answers = records
        .iter()
        .filter(|r| r.record_type() == rtype)
        .map(|r| DnsAnswer {
            data: rdata_text(r),
            ttl: r.ttl,
        })
        .collect();
    Outcome::Answered {
        answers,
        cname_chain,
    }
}

fn rdata_text(record: &Record) -> String {
    let text = record.data.to_string();
    match record.record_type() {
        RecordType::CNAME
        | RecordType::NS
        | RecordType::PTR
        | RecordType::MX
        | RecordType::SRV
        | RecordType::SOA => trim_dot(&text),
        _ => text,
    }
}

fn trim_dot(s: &str) -> String {
    s.strip_suffix('.').unwrap_or(s).to_owned()
}

/// What a resolver error means for the probe.
pub fn classify(error: &NetError) -> Outcome {
    match error {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => match nr.response_code {
            ResponseCode::NoError => Outcome::Answered {
                answers: Vec::new(),
                cname_chain: Vec::new(),
            },
            code => response_code(code),
        },
        NetError::Dns(DnsError::ResponseCode(code)) => response_code(*code),
        NetError::Timeout => Outcome::Failed("TIMEOUT".to_owned()),
        other => Outcome::Unusable(format!("the name server could not be asked: {other}")),
    }
}

fn response_code(code: ResponseCode) -> Outcome {
    match code {
        ResponseCode::Refused => Outcome::Unusable(
            "the name server refused to answer this probe (REFUSED): it says nothing about the name"
                .to_owned(),
        ),
        code => Outcome::Failed(rcode_name(code)),
    }
}

/// The mnemonic `dig` prints for a response code.
pub fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".to_owned(),
        ResponseCode::FormErr => "FORMERR".to_owned(),
        ResponseCode::ServFail => "SERVFAIL".to_owned(),
        ResponseCode::NXDomain => "NXDOMAIN".to_owned(),
        ResponseCode::NotImp => "NOTIMP".to_owned(),
        ResponseCode::Refused => "REFUSED".to_owned(),
        ResponseCode::Unknown(n) => format!("RCODE{n}"),
        other => format!("{other:?}").to_ascii_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::net::NoRecords;
    use hickory_resolver::proto::op::Query;
    use hickory_resolver::proto::rr::Name;
    use hickory_resolver::proto::rr::rdata::{A, CNAME};

    fn name(s: &str) -> Name {
        Name::from_str(s).expect("name")
    }

    #[test]
    fn error_codes() {
        let nx = NetError::Dns(DnsError::NoRecordsFound(NoRecords::new(
            Query::query(name("x.test."), RecordType::A),
            ResponseCode::NXDomain,
        )));
        assert_eq!(classify(&nx), Outcome::Failed("NXDOMAIN".into()));
        let nodata = NetError::Dns(DnsError::NoRecordsFound(NoRecords::new(
            Query::query(name("x.test."), RecordType::AAAA),
            ResponseCode::NoError,
        )));
        assert!(
            matches!(classify(&nodata), Outcome::Answered { answers, .. } if answers.is_empty())
        );
        let servfail = NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail));
        assert_eq!(classify(&servfail), Outcome::Failed("SERVFAIL".into()));
        let refused = NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused));
        assert!(matches!(classify(&refused), Outcome::Unusable(m) if m.contains("REFUSED")));
        assert_eq!(
            classify(&NetError::Timeout),
            Outcome::Failed("TIMEOUT".into())
        );
        assert!(matches!(
            classify(&NetError::NoConnections),
            Outcome::Unusable(_)
        ));
        assert_eq!(rcode_name(ResponseCode::NotAuth), "NOTAUTH");
        assert_eq!(rcode_name(ResponseCode::Unknown(3841)), "RCODE3841");
    }

    #[test]
    fn cname_chain_is_followed_in_order() {
        let query = Query::query(name("www.shop.test."), RecordType::A);
        let records = vec![
            Record::from_rdata(name("edge.cdn.test."), 20, RData::A(A::new(10, 0, 0, 7))),
            Record::from_rdata(
                name("www.shop.test."),
                300,
                RData::CNAME(CNAME(name("shop.cdn.test."))),
            ),
            Record::from_rdata(
                name("shop.cdn.test."),
                60,
                RData::CNAME(CNAME(name("edge.cdn.test."))),
            ),
        ];
        let lookup = Lookup::new_with_max_ttl(query, records);
        assert_eq!(
            answered(&lookup, RecordType::A),
            Outcome::Answered {
                answers: vec![DnsAnswer {
                    data: "10.0.0.7".into(),
                    ttl: 20
                }],
                cname_chain: vec!["shop.cdn.test".into(), "edge.cdn.test".into()],
            }
        );
    }
}
