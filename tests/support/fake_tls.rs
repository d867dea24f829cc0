//! Local TLS servers with certificates made to order, for the live TLS probe's tests.
//!
//! [`TestPki`] is a test root CA (its PEM file is what `backends.network.extra_ca_file` points
//! at). [`TestPki::leaf`] starts a [`LeafBuilder`]: by default a certificate for one host,
//! valid from a day ago for 30 days, signed by an intermediate CA (signed by the root) that the
//! server sends along, so the chain verifies. The builder bends one thing at a time: validity
//! (`expires_in`, `expired`), names (`sans`), the intermediate left out
//! (`without_intermediate`), `self_signed`, TLS 1.2 only. [`LeafBuilder::serve`] runs a
//! tokio-rustls server on `127.0.0.1` that presents it.
//!
//! [`serve_recorded`] serves a certificate matching a recorded `CertInfo` (a scenario's
//! `network/tls/<host>.json`): same subject, issuer name, SANs and dates; verified → signed by
//! an intermediate of that name, sent along; "unable to get local issuer"-style → the same,
//! without the intermediate.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, date_time_ymd,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use sre_agent::evidence::CertInfo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// Subject of the test root CA.
pub const ROOT_DN: &str = "CN=sre-agent test root CA,O=sre-agent tests";
/// Subject of the default intermediate CA.
pub const INTERMEDIATE_DN: &str = "CN=sre-agent test intermediate,O=sre-agent tests";

/// `CN=a,O=b,C=c` (RFC 4514 order: most specific first) as an rcgen name.
pub fn dn(text: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    // rcgen encodes in push order, RFC 4514 writes the last RDN first.
    for part in parts.iter().rev() {
        let (k, v) = part.split_once('=').expect("attribute=value");
        let ty = match k {
            "CN" => DnType::CommonName,
            "O" => DnType::OrganizationName,
            "OU" => DnType::OrganizationalUnitName,
            "C" => DnType::CountryName,
            "ST" => DnType::StateOrProvinceName,
            "L" => DnType::LocalityName,
            other => panic!("unsupported attribute {other} in {text}"),
        };
        name.push(ty, v);
    }
    name
}

fn set_validity(params: &mut CertificateParams, from: DateTime<Utc>, to: DateTime<Utc>) {
    let epoch = date_time_ymd(1970, 1, 1);
    let secs =
        |t: DateTime<Utc>| Duration::from_secs(u64::try_from(t.timestamp()).expect("after 1970"));
    params.not_before = epoch + secs(from);
    params.not_after = epoch + secs(to);
}

fn ca_params(subject: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = dn(subject);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = date_time_ymd(2000, 1, 1);
    params.not_after = date_time_ymd(2099, 12, 31);
    params
}

/// A test root CA and its PEM file.
pub struct TestPki {
    root: CertifiedIssuer<'static, KeyPair>,
    dir: tempfile::TempDir,
}

impl TestPki {
    pub fn new() -> TestPki {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let key = KeyPair::generate().expect("root key");
        let root = CertifiedIssuer::self_signed(ca_params(ROOT_DN), key).expect("root CA");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), root.pem()).expect("write ca.pem");
        TestPki { root, dir }
    }

    /// The root CA as PEM, for `extra_ca_file`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A certificate for `host`, valid now, chained through the default intermediate.
    pub fn leaf(&self, host: &str) -> LeafBuilder<'_> {
        let now = Utc::now();
        LeafBuilder {
            pki: self,
            subject: format!("CN={host}"),
            sans: vec![host.to_owned()],
            not_before: now - chrono::Duration::days(1),
            not_after: now + chrono::Duration::days(30),
            issuer: Issuing::Intermediate {
                dn: INTERMEDIATE_DN.to_owned(),
                send: true,
            },
            tls12_only: false,
            require_client_cert: false,
        }
    }

    /// The root CA certificate.
    pub fn root_der(&self) -> CertificateDer<'static> {
        self.root.der().clone()
    }

    fn intermediate(&self, subject: &str) -> CertifiedIssuer<'static, KeyPair> {
        let key = KeyPair::generate().expect("intermediate key");
        CertifiedIssuer::signed_by(ca_params(subject), key, &self.root).expect("intermediate")
    }
}

impl Default for TestPki {
    fn default() -> Self {
        TestPki::new()
    }
}

/// Who signs the leaf.
#[derive(Debug, Clone, PartialEq)]
pub enum Issuing {
    /// An intermediate CA named `dn`, signed by the test root; `send`: the server presents it.
    Intermediate { dn: String, send: bool },
    /// The leaf signs itself.
    SelfSigned,
}

/// One certificate to serve.
pub struct LeafBuilder<'a> {
    pki: &'a TestPki,
    subject: String,
    sans: Vec<String>,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    issuer: Issuing,
    tls12_only: bool,
    require_client_cert: bool,
}

impl LeafBuilder<'_> {
    pub fn subject(mut self, dn: &str) -> Self {
        self.subject = dn.to_owned();
        self
    }

    pub fn sans(mut self, sans: &[&str]) -> Self {
        self.sans = sans.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    pub fn valid_between(mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        self.not_before = from;
        self.not_after = to;
        self
    }

    /// `not_after` = now + `left`.
    pub fn expires_in(mut self, left: chrono::Duration) -> Self {
        self.not_after = Utc::now() + left;
        self
    }

    /// Valid for 90 days, ended yesterday.
    pub fn expired(mut self) -> Self {
        let now = Utc::now();
        self.not_before = now - chrono::Duration::days(91);
        self.not_after = now - chrono::Duration::days(1);
        self
    }

    /// Signed by an intermediate named `dn` (sent along).
    pub fn issuer(mut self, dn: &str) -> Self {
        self.issuer = Issuing::Intermediate {
            dn: dn.to_owned(),
            send: true,
        };
        self
    }

    /// The server does not send the intermediate that signed the leaf.
    pub fn without_intermediate(mut self) -> Self {
        if let Issuing::Intermediate { send, .. } = &mut self.issuer {
            *send = false;
        }
        self
    }

    pub fn self_signed(mut self) -> Self {
        self.issuer = Issuing::SelfSigned;
        self
    }

    /// The server speaks TLS 1.2 only (the probe's TLS 1.2 signature path).
    pub fn tls12_only(mut self) -> Self {
        self.tls12_only = true;
        self
    }

    /// The server demands a client certificate issued by the test root (mutual TLS).
    pub fn require_client_cert(mut self) -> Self {
        self.require_client_cert = true;
        self
    }

    /// The chain the server will present (leaf first) and the leaf's key.
    pub fn build(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().expect("leaf key");
        let mut params = CertificateParams::new(self.sans.clone()).expect("leaf params");
        params.distinguished_name = dn(&self.subject);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        set_validity(&mut params, self.not_before, self.not_after);
        let chain = match &self.issuer {
            Issuing::SelfSigned => {
                vec![params.self_signed(&key).expect("self-signed").der().clone()]
            }
            Issuing::Intermediate { dn, send } => {
                let ca = self.pki.intermediate(dn);
                let leaf = params.signed_by(&key, &ca).expect("leaf").der().clone();
                if *send {
                    vec![leaf, ca.der().clone()]
                } else {
                    vec![leaf]
                }
            }
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (chain, key)
    }

    /// Start a TLS server presenting this certificate.
    pub async fn serve(self) -> FakeTls {
        let (chain, key) = self.build();
        let options = ServerOptions {
            tls12_only: self.tls12_only,
            client_ca: self.require_client_cert.then(|| self.pki.root_der()),
        };
        FakeTls::start(chain, key, options).await
    }
}

/// A running TLS server; stops when dropped.
pub struct FakeTls {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for FakeTls {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How the fake server talks.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    pub tls12_only: bool,
    /// Demand a client certificate issued by this CA.
    pub client_ca: Option<CertificateDer<'static>>,
}

impl FakeTls {
    pub async fn start(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        options: ServerOptions,
    ) -> FakeTls {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone());
        let builder = if options.tls12_only {
            builder.with_protocol_versions(&[&rustls::version::TLS12])
        } else {
            builder.with_safe_default_protocol_versions()
        }
        .expect("protocol versions");
        let builder = match options.client_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(ca).expect("client CA");
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .expect("client verifier");
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let config = builder
            .with_single_cert(chain, key)
            .expect("server certificate");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let _ = tokio::io::copy(&mut tls, &mut tokio::io::sink()).await;
                    }
                });
            }
        });
        FakeTls {
            addr,
            connections,
            task,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// A TCP server that accepts connections and closes them at once: a port with no TLS server
/// behind it, on 127.0.0.1. Stops when dropped.
pub struct NoTls {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl NoTls {
    pub async fn start() -> NoTls {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                drop(tcp);
            }
        });
        NoTls { addr, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for NoTls {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How a recorded certificate must be served to reproduce its verdict.
pub fn recorded_issuing(cert: &CertInfo) -> Issuing {
    let err = cert
        .verify_error
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let chain_gap = [
        "local issuer",
        "intermediate",
        "unknown issuer",
        "first certificate",
    ]
    .iter()
    .any(|n| err.contains(n));
    if err.contains("self signed") || err.contains("self-signed") {
        Issuing::SelfSigned
    } else if cert.chain_verified || err.contains("expired") {
        Issuing::Intermediate {
            dn: cert.issuer.clone(),
            send: true,
        }
    } else if chain_gap {
        Issuing::Intermediate {
            dn: cert.issuer.clone(),
            send: false,
        }
    } else {
        panic!("the fake TLS server cannot reproduce verify_error {err:?}")
    }
}

/// Serve a certificate matching a recorded one.
pub async fn serve_recorded(pki: &TestPki, cert: &CertInfo) -> FakeTls {
    let sans: Vec<&str> = cert.sans.iter().map(String::as_str).collect();
    let mut builder = pki
        .leaf(&cert.host)
        .subject(&cert.subject)
        .sans(&sans)
        .valid_between(cert.not_before, cert.not_after);
    builder.issuer = recorded_issuing(cert);
    builder.serve().await
}

/// The recorded certificates of a scenario directory (empty when it has none).
pub fn scenario_certs(dir: &Path) -> Vec<CertInfo> {
    let Ok(entries) = std::fs::read_dir(dir.join("network/tls")) else {
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
            let text = std::fs::read_to_string(p).expect("read tls fixture");
            serde_json::from_str(&text).expect("tls fixture parses")
        })
        .collect()
}
