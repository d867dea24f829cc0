//! The TLS probe: connect, handshake with SNI, and keep whatever chain the server presents, even
//! an expired, self-signed or wrong-host one.
//!
//! The trick is a [`ServerCertVerifier`] that runs rustls' own [`WebPkiServerVerifier`] (ring
//! provider, over the root store), records its verdict and the chain, and then lets the
//! handshake go on. Handshake signatures are still checked, with ring's algorithms, so what we
//! report was really presented by whoever holds the key. The verdict is taken at the probe's
//! [`Clock`], not the wall clock, so a recorded incident can be re-checked as of its time.
//!
//! Trusted roots: the Mozilla set (`webpki-roots`), the system store (`rustls-native-certs`;
//! failing to read it is not an error) and `backends.network.extra_ca_file` (an internal CA).

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::cert::{self, Presented};
use crate::evidence::CertInfo;
use crate::tools::BackendError;

/// The time a chain is verified at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// Now.
    #[default]
    System,
    /// A fixed instant (tests; re-checking a recorded incident).
    Fixed(DateTime<Utc>),
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => *t,
        }
    }
}

fn unix_time(t: DateTime<Utc>) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(t.timestamp()).unwrap_or(0),
    ))
}

/// Where the trusted roots came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootCounts {
    pub mozilla: usize,
    pub system: usize,
    pub extra: usize,
    /// Distinct roots in the store.
    pub total: usize,
}

/// The TLS side of the live network backend.
pub struct Tls {
    provider: Arc<CryptoProvider>,
    webpki: Arc<WebPkiServerVerifier>,
    roots: RootCounts,
}

impl Tls {
    pub fn new(extra_ca_file: Option<&Path>) -> Result<Tls, BackendError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut store = RootCertStore::empty();
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mozilla = store.len();
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::debug!(error = %e, "system CA store: skipped");
        }
        let (system, _) = store.add_parsable_certificates(native.certs);
        let extra = match extra_ca_file {
            Some(path) => add_pem_file(&mut store, path)?,
            None => 0,
        };
        let roots = RootCounts {
            mozilla,
            system,
            extra,
            total: store.len(),
        };
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
            .build()
            .map_err(|e| BackendError::Request(format!("could not build the TLS verifier: {e}")))?;
        Ok(Tls {
            provider,
            webpki,
            roots,
        })
    }

    pub fn roots(&self) -> RootCounts {
        self.roots
    }

    /// Handshake with `host` at the first of `addrs` that accepts a connection, and describe
    /// the certificate it presents. The caller bounds the time.
    pub async fn certificate(
        &self,
        host: &str,
        port: u16,
        addrs: &[SocketAddr],
        clock: Clock,
    ) -> Result<CertInfo, BackendError> {
        let server_name = ServerName::try_from(host.to_owned()).map_err(|e| {
            BackendError::Request(format!("{host:?} is not a TLS server name: {e}"))
        })?;
        let (tcp, addr) = connect(host, addrs).await?;
        let checked_at = clock.now();
        let recorder = Arc::new(Recorder {
            webpki: self.webpki.clone(),
            algorithms: self.provider.signature_verification_algorithms,
            now: unix_time(checked_at),
            seen: Mutex::new(None),
        });
        let config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| BackendError::Request(format!("TLS configuration: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(recorder.clone())
            .with_no_client_auth();
        let handshake = TlsConnector::from(Arc::new(config))
            .connect(server_name, tcp)
            .await;
        let presented_chain = match handshake {
            Ok(mut stream) => {
                let chain: Option<Vec<CertificateDer<'static>>> = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .map(|c| c.iter().map(|c| c.clone().into_owned()).collect());
                // Say goodbye politely; the answer does not depend on it.
                let _ = stream.shutdown().await;
                Ok(chain)
            }
            Err(e) => Err(e),
        };
        let (chain, seen) = match (presented_chain, recorder.take()) {
            (Ok(chain), Some(seen)) => (chain.unwrap_or_else(|| seen.chain.clone()), seen),
            // The server hung up on us after presenting its chain (it wants a client
            // certificate, say): the chain is still what it presents.
            (Err(e), Some(seen)) if server_alert(&e) => {
                tracing::debug!(%host, %addr, error = %e, "TLS handshake refused after the certificate");
                (seen.chain.clone(), seen)
            }
            (Err(e), _) => {
                return Err(BackendError::Request(format!(
                    "TLS handshake with {host} ({addr}) failed: {e}"
                )));
            }
            (Ok(_), None) => {
                return Err(BackendError::Request(format!(
                    "{host} ({addr}) completed a handshake without a certificate"
                )));
            }
        };
        let Some(leaf_der) = chain.first() else {
            return Err(BackendError::Request(format!(
                "{host} ({addr}) presented no certificate"
            )));
        };
        let leaf = cert::parse_leaf(leaf_der)
            .map_err(|e| BackendError::Decode(format!("the certificate {host} presented: {e}")))?;
        let presented = Presented {
            verdict: seen.verdict,
            hostname_match: seen.hostname_match,
            chain_len: chain.len(),
            top_issuer: chain.last().and_then(|c| cert::issuer_of(c)),
            checked_at,
        };
        Ok(cert::cert_info(host, port, leaf, &presented))
    }
}

/// Whether a failed handshake ended with an alert from the server (as opposed to something the
/// probe rejected, like a bad handshake signature: then the chain proves nothing).
fn server_alert(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| matches!(e, rustls::Error::AlertReceived(_)))
}

/// Add every certificate of a PEM file to `store`; the number added.
fn add_pem_file(store: &mut RootCertStore, path: &Path) -> Result<usize, BackendError> {
    let bad = |why: String| {
        BackendError::Request(format!(
            "backends.network.extra_ca_file {}: {why}",
            path.display()
        ))
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate".to_owned()));
    }
    let count = certs.len();
    for c in certs {
        store.add(c).map_err(|e| bad(e.to_string()))?;
    }
    Ok(count)
}

/// Connect to the first address that accepts.
async fn connect(
    host: &str,
    addrs: &[SocketAddr],
) -> Result<(TcpStream, SocketAddr), BackendError> {
    let mut errors = Vec::new();
    for &addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => return Ok((tcp, addr)),
            Err(e) => errors.push(format!("{addr}: {e}")),
        }
    }
    Err(BackendError::Request(format!(
        "could not connect to {host}: {}",
        if errors.is_empty() {
            "no address".to_owned()
        } else {
            errors.join("; ")
        }
    )))
}

/// What the verifier saw during one handshake.
struct Seen {
    chain: Vec<CertificateDer<'static>>,
    verdict: Result<(), rustls::Error>,
    hostname_match: Option<bool>,
}

/// Runs the WebPKI verifier, records its verdict, and accepts the certificate either way.
struct Recorder {
    webpki: Arc<WebPkiServerVerifier>,
    algorithms: WebPkiSupportedAlgorithms,
    now: UnixTime,
    seen: Mutex<Option<Seen>>,
}

impl Recorder {
    fn take(&self) -> Option<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder").field("now", &self.now).finish()
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .webpki
            .verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                self.now,
            )
            .map(|_| ());
        let hostname_match = ParsedCertificate::try_from(end_entity)
            .ok()
            .map(|c| verify_server_name(&c, server_name).is_ok());
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        *self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Seen {
            chain,
            verdict,
            hostname_match,
        });
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
