//! From what a TLS handshake presented to a [`CertInfo`]: the leaf's fields (x509-parser), the
//! verifier's verdict as a [`CertProblem`] and a sentence a person can act on.
//!
//! Names are written the way OpenSSL's `-nameopt RFC2253` and the recorded scenarios write them:
//! most specific attribute first, comma-separated (`CN=R11,O=Let's Encrypt,C=US`).

use chrono::{DateTime, Utc};
use rustls::{CertificateError, Error as TlsError};
use x509_parser::extensions::GeneralName;
use x509_parser::objects::{oid_registry, oid2abbrev};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::X509Name;

use crate::evidence::{CertInfo, CertProblem};

/// The leaf certificate's fields the probe reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    pub subject: String,
    pub issuer: String,
    pub sans: Vec<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// Issuer and subject are the same name (a self-signed certificate, or a root).
    pub self_issued: bool,
}

/// Parse a DER certificate.
pub fn parse_leaf(der: &[u8]) -> Result<Leaf, String> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
    let time = |t: i64| {
        DateTime::from_timestamp(t, 0).ok_or_else(|| format!("timestamp {t} is out of range"))
    };
    let validity = cert.validity();
    let sans = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some((*d).to_owned()),
                GeneralName::IPAddress(bytes) => ip_text(bytes),
                _ => None,
            })
            .collect(),
        Ok(None) => Vec::new(),
        Err(e) => return Err(format!("subjectAltName: {e}")),
    };
    Ok(Leaf {
        subject: dn_string(cert.subject()),
        issuer: dn_string(cert.issuer()),
        sans,
        not_before: time(validity.not_before.timestamp())?,
        not_after: time(validity.not_after.timestamp())?,
        self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
    })
}

/// The issuer name of a DER certificate (the top of the chain a server sent).
pub fn issuer_of(der: &[u8]) -> Option<String> {
    X509Certificate::from_der(der)
        .ok()
        .map(|(_, c)| dn_string(c.issuer()))
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv4Addr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv6Addr::from(b).to_string()),
        _ => None,
    }
}

/// RFC 4514 string of a name: last RDN first, `,` between RDNs, `+` inside one.
pub fn dn_string(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let key = oid2abbrev(attr.attr_type(), oid_registry())
                        .map(str::to_owned)
                        .unwrap_or_else(|_| attr.attr_type().to_id_string());
                    let value = attr
                        .as_str()
                        .map(escape)
                        .unwrap_or_else(|_| format!("#{}", hex(attr.as_slice())));
                    format!("{key}={value}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn escape(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::with_capacity(value.len());
    for (i, &c) in chars.iter().enumerate() {
        let edge = (i == 0 && (c == ' ' || c == '#')) || (i + 1 == chars.len() && c == ' ');
        if edge || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the handshake showed, beyond the leaf.
#[derive(Debug, Clone)]
pub struct Presented {
    /// The verifier's verdict on the chain, at `checked_at`.
    pub verdict: Result<(), TlsError>,
    /// Whether the leaf names the host, checked on its own.
    pub hostname_match: Option<bool>,
    pub chain_len: usize,
    /// Issuer name of the last certificate the server sent.
    pub top_issuer: Option<String>,
    pub checked_at: DateTime<Utc>,
}

/// The [`CertInfo`] of `host:port`.
pub fn cert_info(host: &str, port: u16, leaf: Leaf, seen: &Presented) -> CertInfo {
    let (verify_reason, verify_error) = match &seen.verdict {
        Ok(()) => (None, None),
        Err(e) => {
            let (reason, text) = judge(e, host, &leaf, seen);
            (Some(reason), Some(text))
        }
    };
    CertInfo {
        host: host.to_owned(),
        port,
        subject: leaf.subject,
        issuer: leaf.issuer,
        sans: leaf.sans,
        not_before: leaf.not_before,
        not_after: leaf.not_after,
        chain_verified: seen.verdict.is_ok(),
        verify_error,
        verify_reason,
        hostname_match: seen.hostname_match,
        chain_len: Some(seen.chain_len),
        checked_at: Some(seen.checked_at),
    }
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The reason a chain failed, and a sentence saying it.
pub fn judge(error: &TlsError, host: &str, leaf: &Leaf, seen: &Presented) -> (CertProblem, String) {
    use CertificateError as C;
    let TlsError::InvalidCertificate(cert_error) = error else {
        return (CertProblem::Other, format!("certificate rejected: {error}"));
    };
    match cert_error {
        C::Expired | C::ExpiredContext { .. } => (
            CertProblem::Expired,
            format!(
                "certificate expired on {} (checked at {})",
                day(leaf.not_after),
                day(seen.checked_at)
            ),
        ),
        C::NotValidYet | C::NotValidYetContext { .. } => (
            CertProblem::NotYetValid,
            format!(
                "certificate is not valid before {} (checked at {})",
                day(leaf.not_before),
                day(seen.checked_at)
            ),
        ),
        C::UnknownIssuer if leaf.self_issued => (
            CertProblem::SelfSigned,
            format!(
                "self-signed certificate: {} is not a trusted CA",
                leaf.subject
            ),
        ),
        C::UnknownIssuer if seen.chain_len <= 1 => (
            CertProblem::UnknownIssuer,
            format!(
                "unknown issuer: the server sent no intermediate for {} (missing intermediate?)",
                leaf.issuer
            ),
        ),
        C::UnknownIssuer => (
            CertProblem::UnknownIssuer,
            format!(
                "unknown issuer: no trusted root signs the chain the server sent (it ends at {}; \
                 missing intermediate or private CA?)",
                seen.top_issuer.as_deref().unwrap_or(&leaf.issuer)
            ),
        ),
        C::NotValidForName | C::NotValidForNameContext { .. } => (
            CertProblem::WrongHost,
            format!(
                "certificate is for {}, not {host}",
                if leaf.sans.is_empty() {
                    leaf.subject.clone()
                } else {
                    leaf.sans.join(", ")
                }
            ),
        ),
        C::Revoked => (CertProblem::Revoked, "certificate revoked".to_owned()),
        other => (
            CertProblem::Other,
            format!(
                "certificate rejected: {}",
                TlsError::InvalidCertificate(other.clone())
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{ServerName, UnixTime};

    fn leaf(self_issued: bool) -> Leaf {
        Leaf {
            subject: "CN=c.example.com".into(),
            issuer: "CN=Test Intermediate,O=Test".into(),
            sans: vec!["a.example.com".into(), "b.example.com".into()],
            not_before: DateTime::from_timestamp(1_735_689_600, 0).expect("time"),
            not_after: DateTime::from_timestamp(1_767_225_600, 0).expect("time"),
            self_issued,
        }
    }

    fn seen(chain_len: usize) -> Presented {
        Presented {
            verdict: Ok(()),
            hostname_match: Some(false),
            chain_len,
            top_issuer: Some("CN=Other Root".into()),
            checked_at: DateTime::from_timestamp(1_780_000_000, 0).expect("time"),
        }
    }

    fn reason(e: CertificateError, self_issued: bool, chain_len: usize) -> (CertProblem, String) {
        judge(
            &TlsError::InvalidCertificate(e),
            "c.example.com",
            &leaf(self_issued),
            &seen(chain_len),
        )
    }

    #[test]
    fn reasons_and_sentences() {
        let t = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1));
        let (r, text) = reason(
            CertificateError::ExpiredContext {
                time: t,
                not_after: t,
            },
            false,
            2,
        );
        assert_eq!(r, CertProblem::Expired);
        assert!(
            text.starts_with("certificate expired on 2026-01-01"),
            "{text}"
        );
        let (r, text) = reason(CertificateError::NotValidYet, false, 2);
        assert_eq!(r, CertProblem::NotYetValid);
        assert!(text.contains("2025-01-01"), "{text}");
        let (r, text) = reason(CertificateError::UnknownIssuer, true, 1);
        assert_eq!(r, CertProblem::SelfSigned);
        assert!(text.starts_with("self-signed certificate"), "{text}");
        let (r, text) = reason(CertificateError::UnknownIssuer, false, 1);
        assert_eq!(r, CertProblem::UnknownIssuer);
        assert_eq!(
            text,
            "unknown issuer: the server sent no intermediate for CN=Test Intermediate,O=Test (missing intermediate?)"
        );
        let (r, text) = reason(CertificateError::UnknownIssuer, false, 2);
        assert_eq!(r, CertProblem::UnknownIssuer);
        assert!(text.contains("CN=Other Root"), "{text}");
        let (r, text) = reason(
            CertificateError::NotValidForNameContext {
                expected: ServerName::try_from("c.example.com").expect("name"),
                presented: vec![],
            },
            false,
            2,
        );
        assert_eq!(r, CertProblem::WrongHost);
        assert_eq!(
            text,
            "certificate is for a.example.com, b.example.com, not c.example.com"
        );
        assert_eq!(
            reason(CertificateError::Revoked, false, 2).0,
            CertProblem::Revoked
        );
        assert_eq!(
            reason(CertificateError::BadSignature, false, 2).0,
            CertProblem::Other
        );
        let (r, _) = judge(
            &TlsError::General("x".into()),
            "c.example.com",
            &leaf(false),
            &seen(1),
        );
        assert_eq!(r, CertProblem::Other);
    }

    #[test]
    fn escapes_special_characters() {
        assert_eq!(escape("Let's Encrypt"), "Let's Encrypt");
        assert_eq!(escape("Acme, Inc."), "Acme\\, Inc.");
        assert_eq!(escape("#x"), "\\#x");
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(parse_leaf(b"not a certificate").is_err());
        assert_eq!(ip_text(&[10, 0, 0, 1]), Some("10.0.0.1".into()));
        assert_eq!(ip_text(&[1, 2, 3]), None);
    }
}
