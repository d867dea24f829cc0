//! A local authoritative-style DNS server for the live network probe's tests.
//!
//! It answers real DNS messages (hickory's `proto::op::Message`) over UDP and TCP on one
//! `127.0.0.1` port, from a map name → [`Entry`]: addresses, a CNAME (followed inside the map),
//! NXDOMAIN or SERVFAIL. A name it has no entry for is answered REFUSED, the way a real server
//! answers a query it will not serve. [`FakeDns::silent`] binds a port and never answers.
//! [`FakeDns::from_scenario`] serves a scenario's `network/dns/*.json` files.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use hickory_resolver::proto::op::{Message, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, AAAA, CNAME};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use sre_agent::evidence::DnsResult;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

/// What the server knows about one name.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Addresses(Vec<(IpAddr, u32)>),
    Cname { target: String, ttl: u32 },
    NxDomain,
    ServFail,
}

/// name (lower-case, no trailing dot) → entry.
#[derive(Debug, Clone, Default)]
pub struct Zone(HashMap<String, Entry>);

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Zone {
    pub fn new() -> Zone {
        Zone::default()
    }

    /// Addresses (v4 → A, v6 → AAAA), all with `ttl`.
    pub fn addresses(mut self, name: &str, ips: &[&str], ttl: u32) -> Zone {
        let ips = ips
            .iter()
            .map(|ip| (ip.parse().expect("test IP"), ttl))
            .collect();
        self.0.insert(key(name), Entry::Addresses(ips));
        self
    }

    pub fn cname(mut self, name: &str, target: &str, ttl: u32) -> Zone {
        let target = key(target);
        self.0.insert(key(name), Entry::Cname { target, ttl });
        self
    }

    pub fn nxdomain(mut self, name: &str) -> Zone {
        self.0.insert(key(name), Entry::NxDomain);
        self
    }

    pub fn servfail(mut self, name: &str) -> Zone {
        self.0.insert(key(name), Entry::ServFail);
        self
    }

    /// A recorded lookup: its error (`NXDOMAIN`/`SERVFAIL`) or its answers.
    pub fn recorded(mut self, result: &DnsResult) -> Zone {
        let entry = match result.error.as_deref() {
            Some("NXDOMAIN") => Entry::NxDomain,
            Some("SERVFAIL") => Entry::ServFail,
            Some(other) => panic!("the fake DNS cannot replay error {other:?}"),
            None => Entry::Addresses(
                result
                    .answers
                    .iter()
                    .map(|a| (a.data.parse().expect("recorded answer is an IP"), a.ttl))
                    .collect(),
            ),
        };
        self.0.insert(key(&result.name), entry);
        self
    }

    /// The answer to `name`/`rtype`: records and response code.
    fn answer(&self, name: &Name, rtype: RecordType) -> (Vec<Record>, ResponseCode) {
        let mut records = Vec::new();
        let mut current = name.clone();
        // Follow CNAMEs inside the zone (bounded, in case of a loop).
        for _ in 0..8 {
            let Some(entry) = self.0.get(&key(&current.to_string())) else {
                // A CNAME pointing outside the zone ends the answer; an unknown name is refused.
                let code = if records.is_empty() {
                    ResponseCode::Refused
                } else {
                    ResponseCode::NoError
                };
                return (records, code);
            };
            match entry {
                Entry::NxDomain => return (records, ResponseCode::NXDomain),
                Entry::ServFail => return (Vec::new(), ResponseCode::ServFail),
                Entry::Addresses(ips) => {
                    records.extend(ips.iter().filter_map(|&(ip, ttl)| {
                        let data = match (ip, rtype) {
                            (IpAddr::V4(v4), RecordType::A) => RData::A(A(v4)),
                            (IpAddr::V6(v6), RecordType::AAAA) => RData::AAAA(AAAA(v6)),
                            _ => return None,
                        };
                        Some(Record::from_rdata(current.clone(), ttl, data))
                    }));
                    return (records, ResponseCode::NoError);
                }
                Entry::Cname { target, ttl } => {
                    let target = Name::from_str(&format!("{target}.")).expect("target name");
                    records.push(Record::from_rdata(
                        current.clone(),
                        *ttl,
                        RData::CNAME(CNAME(target.clone())),
                    ));
                    if rtype == RecordType::CNAME {
                        return (records, ResponseCode::NoError);
                    }
                    current = target;
                }
            }
        }
        (records, ResponseCode::ServFail)
    }

    /// The response bytes to one query message (`None`: not a query we can read).
    fn respond(&self, query: &[u8]) -> Option<Vec<u8>> {
        let request = Message::from_vec(query).ok()?;
        let q = request.queries.first()?.clone();
        let mut response = Message::response(request.metadata.id, request.metadata.op_code);
        response.metadata.recursion_desired = request.metadata.recursion_desired;
        response.metadata.recursion_available = true;
        let (records, code) = self.answer(q.name(), q.query_type());
        response.metadata.response_code = code;
        response.add_query(q);
        response.add_answers(records);
        response.to_vec().ok()
    }
}

/// A running fake DNS server; stops when dropped.
pub struct FakeDns {
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A UDP socket and a TCP listener on the same 127.0.0.1 port.
async fn bind_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..20 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
        let addr = udp.local_addr().expect("udp addr");
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("no port free for both UDP and TCP");
}

impl FakeDns {
    /// Serve `zone` over UDP and TCP.
    pub async fn start(zone: Zone) -> FakeDns {
        let zone = Arc::new(zone);
        let (udp, tcp) = bind_pair().await;
        let addr = udp.local_addr().expect("addr");
        let udp_zone = zone.clone();
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok((n, peer)) = udp.recv_from(&mut buf).await {
                if let Some(reply) = udp_zone.respond(&buf[..n]) {
                    let _ = udp.send_to(&reply, peer).await;
                }
            }
        });
        let tcp_task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = tcp.accept().await {
                let zone = zone.clone();
                tokio::spawn(async move {
                    // RFC 1035 4.2.2: each message is preceded by its two-byte length.
                    while let Ok(len) = stream.read_u16().await {
                        let mut msg = vec![0u8; usize::from(len)];
                        if stream.read_exact(&mut msg).await.is_err() {
                            return;
                        }
                        let Some(reply) = zone.respond(&msg) else {
                            return;
                        };
                        let Ok(len) = u16::try_from(reply.len()) else {
                            return;
                        };
                        if stream.write_u16(len).await.is_err()
                            || stream.write_all(&reply).await.is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        FakeDns {
            addr,
            tasks: vec![udp_task, tcp_task],
        }
    }

    /// A server that reads queries and never answers (UDP; TCP connections hang too).
    pub async fn silent() -> FakeDns {
        let (udp, tcp) = bind_pair().await;
        let addr = udp.local_addr().expect("addr");
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while udp.recv_from(&mut buf).await.is_ok() {}
        });
        let tcp_task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = tcp.accept().await {
                held.push(stream);
            }
        });
        FakeDns {
            addr,
            tasks: vec![udp_task, tcp_task],
        }
    }

    /// Every `network/dns/*.json` of a scenario directory.
    pub async fn from_scenario(dir: &Path) -> FakeDns {
        FakeDns::start(scenario_zone(dir)).await
    }

    /// `127.0.0.1:PORT`, for `backends.network.nameservers`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// The recorded lookups of a scenario directory (empty when it has none).
pub fn scenario_lookups(dir: &Path) -> Vec<DnsResult> {
    let Ok(entries) = std::fs::read_dir(dir.join("network/dns")) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("read dns fixture");
            serde_json::from_str(&text).expect("dns fixture parses")
        })
        .collect()
}

/// A zone answering a scenario's recorded lookups.
pub fn scenario_zone(dir: &Path) -> Zone {
    scenario_lookups(dir)
        .iter()
        .fold(Zone::new(), |zone, result| zone.recorded(result))
}
