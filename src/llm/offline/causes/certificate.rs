//! TLS certificate expiry: the certificate a probe or the TLS tool read (days left, expired), the
//! alert's own deadline when no certificate was read, and why renewal did not happen
//! (cert-manager Certificate/Order/Challenge events, ACME errors, an HTTP-01 challenge refused).

use chrono::Duration;

use crate::evidence::{CertInfo, KubeEvent};
use crate::llm::offline::common::{Ctx, Finding, LogLine, contains_ci, day_hm, num, quote};

pub(crate) fn host_or(ctx: &Ctx<'_>) -> String {
    ctx.host.clone().unwrap_or_else(|| "<host>".to_string())
}

/// `openssl s_client … | openssl x509 -noout -dates -issuer`.
pub(crate) fn openssl_dates(host: &str) -> String {
    format!(
        "openssl s_client -connect {host}:443 -servername {host} </dev/null 2>/dev/null | openssl x509 -noout -dates -issuer -subject"
    )
}

/// "in 20 hours", "in 2 days", "3 days ago".
pub(crate) fn until(d: Duration) -> String {
    let h = d.num_hours();
    let s = |n: i64, w: &str| {
        if n == 1 {
            format!("{n} {w}")
        } else {
            format!("{n} {w}s")
        }
    };
    if d.num_minutes() < 0 {
        let ago = -h;
        if ago < 48 {
            format!("{} ago", s(ago.max(0), "hour"))
        } else {
            format!("{} ago", s(ago / 24, "day"))
        }
    } else if h < 48 {
        format!("in {}", s(h, "hour"))
    } else {
        format!("in {}", s((h + 12) / 24, "day"))
    }
}

/// "in 24 hours" from the alert's own wording ("expires in 24 hours").
fn alert_deadline(hay: &str) -> Option<String> {
    let words: Vec<&str> = hay.split_whitespace().collect();
    words.windows(3).find_map(|w| {
        let n: f64 = w[1].parse().ok()?;
        let unit = w[2].trim_matches(|c: char| !c.is_alphabetic());
        ["minute", "hour", "day", "week"]
            .iter()
            .any(|u| unit.starts_with(u))
            .then(|| format!("in {} {unit}", num(n)))
            .filter(|_| w[0] == "in")
    })
}

const CERT_KINDS: &[&str] = &[
    "Certificate/",
    "CertificateRequest/",
    "Order/",
    "Challenge/",
    "Issuer/",
    "ClusterIssuer/",
];

/// Warning events from cert-manager / ACME: the renewal is failing.
fn renewal_failures<'a>(ctx: &Ctx<'a>) -> Vec<&'a KubeEvent> {
    ctx.events
        .iter()
        .copied()
        .filter(|e| e.event_type.eq_ignore_ascii_case("warning"))
        .filter(|e| {
            CERT_KINDS.iter().any(|k| e.object.starts_with(k))
                || ["acme", "challenge", "cert-manager", "certificate"]
                    .iter()
                    .any(|n| contains_ci(&e.message, n))
        })
        .collect()
}

/// The cert-manager Certificate name from events, if any.
fn certificate_name(ctx: &Ctx<'_>) -> Option<String> {
    ctx.events
        .iter()
        .find_map(|e| e.object.strip_prefix("Certificate/"))
        .map(str::to_string)
}

pub(crate) fn pick_cert<'a>(ctx: &Ctx<'a>) -> Option<&'a CertInfo> {
    ctx.certs
        .iter()
        .copied()
        .find(|c| Some(&c.host) == ctx.host.as_ref())
        .or_else(|| ctx.certs.first().copied())
}

fn renewal_actions(f: &mut Finding, ctx: &Ctx<'_>, host: &str) {
    f.cmd(
        "Check the certificate actually served (dates and issuer)",
        openssl_dates(host),
    );
    match certificate_name(ctx) {
        Some(name) => {
            f.cmd(
                "See why cert-manager's renewal is stuck",
                ctx.kubectl(&format!("describe certificate {name}")),
            );
            f.cmd(
                "List the renewal's requests, orders and challenges",
                ctx.kubectl("get certificaterequest,order,challenge -o wide"),
            );
            f.cmd(
                "Force a renewal once the cause is fixed",
                format!("cmctl renew {name} -n {}", ctx.ns),
            );
        }
        None => {
            f.cmd(
                "Find the certificate resource and its renewal status",
                ctx.kubectl("get certificates,certificaterequests -o wide"),
            );
            f.cmd(
                "Renew it now (cert-manager)",
                format!("cmctl renew --all -n {}", ctx.ns),
            );
            f.cmd(
                "Or renew it with certbot where cert-manager is not used",
                format!("certbot renew --cert-name {host}"),
            );
        }
    }
    f.prevent(
        "Alert 21 days before expiry (certmanager_certificate_expiration_timestamp_seconds - time() < 21d) so a failing renewal is caught while there is time to renew by hand",
    );
    f.prevent(
        "Alert on failed renewals (certmanager_certificate_ready_status{condition=\"False\"}) and test the ACME challenge path after ingress/WAF changes",
    );
}

/// Certificate expiring or expired; renewal failing when cert-manager/ACME warnings exist.
pub(crate) fn cert_expiry(ctx: &Ctx<'_>) -> Option<Finding> {
    let host = host_or(ctx);
    let failures = renewal_failures(ctx);
    let failure_logs: Vec<&LogLine<'_>> = ctx
        .logs_with(&["acme", "challenge", "renew"])
        .into_iter()
        .filter(|l| {
            ["fail", "error", "403", "denied", "invalid"]
                .iter()
                .any(|n| l.lower.contains(n))
        })
        .collect();
    let blocked = ctx
        .logs
        .iter()
        .find(|l| {
            l.lower.contains("acme-challenge")
                && (l.lower.contains("forbidden") || l.lower.contains("denied"))
        })
        .map(|l| quote(&l.rec.body, 120));
    let renewal_story = failures
        .iter()
        .find(|e| contains_ci(&e.message, "acme") || contains_ci(&e.message, "403"))
        .or(failures.last())
        .map(|e| {
            format!("{} on {}: \"{}\"", e.reason, e.object, quote(&e.message, 140))
        })
        .or_else(|| {
            failure_logs
                .iter()
                .find(|l| l.lower.contains("acme:") || l.lower.contains("urn:ietf"))
                .or_else(|| failure_logs.iter().find(|l| l.lower.contains("403")))
                .or(failure_logs.last())
                .map(|l| format!("\"{}\"", quote(l.rec.body.trim_matches('"'), 140)))
        })
        .map(|mut story| {
            if let Some(b) = &blocked {
                story.push_str(&format!(
                    "; the ACME HTTP-01 challenge path /.well-known/acme-challenge/ is blocked by the ingress (\"{b}\")"
                ));
            }
            story
        });

    let Some(cert) = pick_cert(ctx) else {
        // No certificate data: fall back to the alert's wording.
        if !ctx.mentions(&["cert", "ssl", "tls", "x509"]) {
            return None;
        }
        let deadline = alert_deadline(&ctx.hay);
        let mut f = Finding::new(
            "cert-expiry",
            format!("TLS certificate for {host} expiring without renewal"),
        );
        let when = deadline
            .clone()
            .map(|d| format!("expires {d}"))
            .unwrap_or_else(|| "is about to expire (or has expired)".into());
        f.root_cause = match &renewal_story {
            Some(story) => format!(
                "The SSL/TLS certificate for {host} {when} because its automatic renewal is failing: {story}."
            ),
            None => format!(
                "The SSL/TLS certificate for {host} {when} (per the alert) and has not been renewed: automatic renewal (cert-manager/ACME or the provider's) has most likely failed or is not set up."
            ),
        };
        f.summary = format!("The certificate for {host} {when} and needs to be renewed.");
        f.cite_alert(ctx);
        f.missing(format!("no certificate data for {host}"));
        renewal_actions(&mut f, ctx, &host);
        f.metric(
            "certificate expiry",
            deadline.unwrap_or_else(|| "unknown".into()),
        );
        let score = if renewal_story.is_some() { 0.6 } else { 0.45 };
        return Some(f.with_score(score));
    };

    let host = cert.host.clone();
    let left = cert.not_after - ctx.now;
    let days = left.num_minutes() as f64 / 1440.0;
    let mut f = Finding::new(
        "cert-expiry",
        format!("TLS certificate for {host} expiring without renewal"),
    );
    f.metric("certificate not after", day_hm(cert.not_after));
    f.metric("time left", until(left));
    f.at(
        cert.not_after,
        format!("certificate for {host} expires (not after)"),
    );
    if days > 30.0 && renewal_story.is_none() {
        let mut r = Finding::rejected(
            "cert-expiry",
            format!("Certificate for {host} expired or expiring"),
            vec![format!(
                "certificate for {host} valid until {} ({} days left)",
                day_hm(cert.not_after),
                days.floor()
            )],
        );
        r.cmd(
            "Check the certificate actually served",
            openssl_dates(&host),
        );
        return Some(r);
    }
    let when = if days <= 0.0 {
        format!("expired {}", until(left))
    } else {
        format!("expires {}", until(left))
    };
    f.for_(format!(
        "certificate for {host} {when} (not after {}, issuer {})",
        day_hm(cert.not_after),
        quote(&cert.issuer, 60)
    ));
    for e in failures.iter().rev().take(3) {
        f.cite_reason(
            e,
            140,
            format!("renewal failed: {} ({})", quote(&e.message, 100), e.object),
        );
    }
    if let Some(l) = failure_logs.first() {
        f.at_opt(l.ts, format!("renewal error: {}", quote(&l.rec.body, 100)));
    }
    f.root_cause = match &renewal_story {
        Some(story) => format!(
            "The TLS certificate for {host} {when} (not after {}) because its automatic renewal is failing: {story}.",
            day_hm(cert.not_after)
        ),
        None => format!(
            "The TLS certificate for {host} (issuer {}) {when} (not after {}) and has not been renewed: no renewal activity was seen, so automatic renewal is not running or not configured for it.",
            quote(&cert.issuer, 60),
            day_hm(cert.not_after)
        ),
    };
    f.summary = match &renewal_story {
        Some(_) => format!("The certificate for {host} {when} and its renewal is failing."),
        None => format!("The certificate for {host} {when} and has not been renewed."),
    };
    if renewal_story.is_some() && failures.iter().any(|e| contains_ci(&e.message, "403")) {
        f.cmd(
            "Check the HTTP-01 challenge path is reachable (403 means something blocks it)",
            format!("curl -sI http://{host}/.well-known/acme-challenge/test"),
        );
    }
    renewal_actions(&mut f, ctx, &host);
    if renewal_story.is_none() {
        f.missing("no cert-manager/ACME events explaining the missing renewal");
    }
    let mut score: f64 = if days <= 0.0 {
        0.9
    } else if days <= 3.0 {
        0.85
    } else if days <= 14.0 {
        0.7
    } else {
        0.4
    };
    if renewal_story.is_some() {
        score += 0.1;
    }
    Some(f.with_score(score.min(0.95)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_from_alert_text() {
        assert_eq!(
            alert_deadline("ssl certificate for api.example.com expires in 24 hours").as_deref(),
            Some("in 24 hours")
        );
        assert_eq!(alert_deadline("nothing here"), None);
    }

    #[test]
    fn until_wording() {
        assert_eq!(until(Duration::hours(20)), "in 20 hours");
        assert_eq!(until(Duration::days(5)), "in 5 days");
        assert_eq!(until(Duration::hours(-3)), "3 hours ago");
    }
}
