//! What the network tools observed: certificates (expired, expiring, untrusted, for another
//! host, self-signed), DNS lookups that failed, and Services whose endpoints are not ready.

use chrono::{DateTime, Utc};

use crate::evidence::{CertProblem, Evidence};
use crate::findings::{Finding, FindingKind, Strength, has_any};

/// A certificate this close to its end is worth an alert.
const EXPIRING_HOURS: i64 = 14 * 24;

/// Certificate findings; `now` is the alert's time.
pub fn certificate_findings(evidence: &Evidence, now: DateTime<Utc>) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in evidence.certificates() {
        let subject = format!("{}:{}", c.host, c.port);
        let err = c.verify_error.clone().unwrap_or_default();
        let left_h = (c.not_after - now).num_hours();
        let problem = c.verify_reason.or_else(|| {
            // Recorded results may carry only OpenSSL's words.
            if c.chain_verified {
                None
            } else if has_any(&err, &["expired"]) || c.not_after <= now {
                Some(CertProblem::Expired)
            } else if has_any(&err, &["self signed", "self-signed"]) {
                Some(CertProblem::SelfSigned)
            } else if has_any(&err, &["hostname", "not valid for", "is for", "mismatch"]) {
                Some(CertProblem::WrongHost)
            } else if has_any(
                &err,
                &[
                    "issuer",
                    "unknown authority",
                    "local issuer",
                    "unable to get",
                ],
            ) {
                Some(CertProblem::UnknownIssuer)
            } else {
                Some(CertProblem::Other)
            }
        });
        let cite = format!(
            "{subject}: subject {}, issuer {}, not after {}{}",
            c.subject,
            c.issuer,
            c.not_after.format("%Y-%m-%d %H:%M UTC"),
            if err.is_empty() {
                String::new()
            } else {
                format!(", {err}")
            }
        );
        let (fact, detail) = match problem {
            Some(CertProblem::Expired) => (
                "cert_expired",
                format!(
                    "the certificate of {subject} expired on {}",
                    c.not_after.format("%Y-%m-%d %H:%M UTC")
                ),
            ),
            Some(CertProblem::NotYetValid) => (
                "cert_not_yet_valid",
                format!(
                    "the certificate of {subject} is not valid before {}",
                    c.not_before.format("%Y-%m-%d %H:%M UTC")
                ),
            ),
            Some(CertProblem::UnknownIssuer) => (
                "cert_untrusted_chain",
                format!(
                    "the chain {subject} presents does not verify: unknown issuer (often a missing intermediate); {err}"
                ),
            ),
            Some(CertProblem::WrongHost) => (
                "cert_wrong_host",
                format!(
                    "the certificate of {subject} does not name {} (SANs: {})",
                    c.host,
                    c.sans.join(", ")
                ),
            ),
            Some(CertProblem::SelfSigned) => (
                "cert_self_signed",
                format!(
                    "{subject} presents a self-signed certificate ({})",
                    c.subject
                ),
            ),
            Some(CertProblem::Revoked) => (
                "cert_revoked",
                format!("the certificate of {subject} is revoked"),
            ),
            Some(CertProblem::Other) => (
                "cert_invalid",
                format!("the certificate of {subject} does not verify: {err}"),
            ),
            None if left_h < EXPIRING_HOURS => (
                "cert_expiring",
                format!(
                    "the certificate of {subject} expires in {} ({})",
                    human_hours(left_h),
                    c.not_after.format("%Y-%m-%d %H:%M UTC")
                ),
            ),
            None => continue,
        };
        let strength = match fact {
            "cert_expiring" if left_h > 7 * 24 => Strength::Strong,
            _ => Strength::Decisive,
        };
        out.push(
            Finding::new(FindingKind::Certificate, fact, subject, detail, strength).cite(cite),
        );
    }
    out
}

fn human_hours(h: i64) -> String {
    if h < 48 {
        format!("{h} h")
    } else {
        format!("{} days", h / 24)
    }
}

/// DNS lookups that failed.
pub fn dns_findings(evidence: &Evidence) -> Vec<Finding> {
    evidence
        .dns()
        .filter_map(|d| {
            let err = d.error.as_deref()?;
            let fact = match err.to_ascii_uppercase().as_str() {
                "NXDOMAIN" => "dns_nxdomain",
                "SERVFAIL" => "dns_servfail",
                "TIMEOUT" => "dns_timeout",
                _ => "dns_failed",
            };
            let chain = if d.cname_chain.is_empty() {
                String::new()
            } else {
                format!(" (via {})", d.cname_chain.join(" → "))
            };
            Some(
                Finding::new(
                    FindingKind::Dns,
                    fact,
                    d.name.clone(),
                    format!("{} does not resolve: {err}{chain}", d.name),
                    Strength::Decisive,
                )
                .cite(format!("{} {} → {err}", d.name, d.record_type)),
            )
        })
        .collect()
}

/// Services with endpoints that are not ready (or none at all).
pub fn endpoint_findings(evidence: &Evidence) -> Vec<Finding> {
    let mut out = Vec::new();
    for s in evidence.services() {
        let subject = format!("Service/{}", s.name);
        let cite = format!(
            "{}/{}: {} ready, {} not ready endpoints{}",
            s.namespace,
            s.name,
            s.ready_endpoints,
            s.not_ready_endpoints,
            if s.not_ready_targets.is_empty() {
                String::new()
            } else {
                format!(" ({})", s.not_ready_targets.join(", "))
            }
        );
        if s.ready_endpoints == 0 && s.not_ready_endpoints == 0 && !s.unselected_pods.is_empty() {
            let selector = s.selector.as_deref().unwrap_or("(none)");
            out.push(
                Finding::new(
                    FindingKind::Endpoints,
                    "selector_matches_no_pod",
                    subject.clone(),
                    format!(
                        "Service {}'s selector {selector} matches no pod, while its pods run with other labels: {}",
                        s.name,
                        s.unselected_pods.join("; ")
                    ),
                    Strength::Decisive,
                )
                .cite(format!("{cite}; selector {selector}"))
                .count(s.unselected_pods.len() as u32),
            );
        }
        if s.ready_endpoints == 0 {
            let detail = if s.not_ready_endpoints > 0 {
                format!(
                    "Service {} has no ready endpoints ({} not ready): every request to it fails",
                    s.name, s.not_ready_endpoints
                )
            } else {
                format!(
                    "Service {} has no endpoints at all: its selector matches no running pod",
                    s.name
                )
            };
            out.push(
                Finding::new(
                    FindingKind::Endpoints,
                    "no_ready_endpoints",
                    subject,
                    detail,
                    Strength::Decisive,
                )
                .cite(cite),
            );
        } else if s.not_ready_endpoints > 0 {
            out.push(
                Finding::new(
                    FindingKind::Endpoints,
                    "endpoints_not_ready",
                    subject,
                    format!(
                        "Service {} has {} of {} endpoints not ready",
                        s.name,
                        s.not_ready_endpoints,
                        s.ready_endpoints + s.not_ready_endpoints
                    ),
                    Strength::Weak,
                )
                .cite(cite),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{CertInfo, DnsResult, Observation};

    fn evidence(observations: Vec<Observation>) -> Evidence {
        Evidence::from_observations(observations)
    }

    fn cert(verified: bool, err: Option<&str>, not_after: &str) -> CertInfo {
        serde_json::from_value(serde_json::json!({
            "host": "api.example.com", "port": 443, "subject": "CN=api.example.com",
            "issuer": "CN=R11,O=Let's Encrypt,C=US", "sans": ["api.example.com"],
            "not_before": "2026-09-01T00:00:00Z", "not_after": not_after,
            "chain_verified": verified, "verify_error": err
        }))
        .expect("cert")
    }

    #[test]
    fn certificates_by_what_is_wrong() {
        let now: DateTime<Utc> = "2026-11-30T00:00:00Z".parse().unwrap();
        let f = certificate_findings(
            &evidence(vec![Observation::Certificate {
                cert: cert(true, None, "2026-11-30T20:00:00Z"),
            }]),
            now,
        );
        assert_eq!(
            (f[0].fact.as_str(), f[0].strength),
            ("cert_expiring", Strength::Decisive)
        );
        assert!(f[0].detail.contains("20 h"), "{}", f[0].detail);
        let f = certificate_findings(
            &evidence(vec![Observation::Certificate {
                cert: cert(
                    false,
                    Some("unable to get local issuer certificate"),
                    "2027-01-01T00:00:00Z",
                ),
            }]),
            now,
        );
        assert_eq!(f[0].fact, "cert_untrusted_chain");
        let f = certificate_findings(
            &evidence(vec![Observation::Certificate {
                cert: cert(
                    false,
                    Some("certificate has expired"),
                    "2026-11-01T00:00:00Z",
                ),
            }]),
            now,
        );
        assert_eq!(f[0].fact, "cert_expired");
        let mut c = cert(
            false,
            Some("self-signed certificate: CN=api.example.com is not a trusted CA"),
            "2027-01-01T00:00:00Z",
        );
        c.verify_reason = Some(CertProblem::SelfSigned);
        assert_eq!(
            certificate_findings(&evidence(vec![Observation::Certificate { cert: c }]), now)[0]
                .fact,
            "cert_self_signed"
        );
        // Healthy and far from expiry: nothing.
        assert!(
            certificate_findings(
                &evidence(vec![Observation::Certificate {
                    cert: cert(true, None, "2027-06-01T00:00:00Z")
                }]),
                now
            )
            .is_empty()
        );
    }

    #[test]
    fn dns_failures() {
        let d: DnsResult = serde_json::from_value(serde_json::json!({
            "name": "ledger.prod.svc.cluster.local", "record_type": "A", "answers": [], "error": "NXDOMAIN"
        }))
        .unwrap();
        let f = dns_findings(&evidence(vec![Observation::Dns { result: d }]));
        assert_eq!(f[0].fact, "dns_nxdomain");
        assert_eq!(f[0].subject, "ledger.prod.svc.cluster.local");
    }
}
