//! Network agent detectors: certificate expiry (and failing renewal), incomplete TLS chain, DNS
//! failure, upstream with no ready endpoints, upstream timeouts; plus the shared traffic/latency
//! and own-regression checks that usually end up as rejected distractors.

use chrono::{DateTime, Duration, Utc};

use super::causes::traffic;
use super::common::{
    Ctx, Detector, Finding, LogLine, arrow, contains_ci, day_hm, extract_host, hm, num, quote,
    word_after,
};
use crate::evidence::{CertInfo, KubeEvent, ServiceHealth};

pub(crate) const DETECTORS: &[Detector] = &[
    cert_expiry,
    tls_chain,
    dns_failure,
    no_ready_endpoints,
    upstream_timeout,
    traffic::traffic_latency,
    traffic::own_regression,
];

fn host_or(ctx: &Ctx<'_>) -> String {
    ctx.host.clone().unwrap_or_else(|| "<host>".to_string())
}

/// `openssl s_client … | openssl x509 -noout -dates -issuer`.
fn openssl_dates(host: &str) -> String {
    format!(
        "openssl s_client -connect {host}:443 -servername {host} </dev/null 2>/dev/null | openssl x509 -noout -dates -issuer -subject"
    )
}

/// "in 20 hours", "in 2 days", "3 days ago".
fn until(d: Duration) -> String {
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

fn pick_cert<'a>(ctx: &Ctx<'a>) -> Option<&'a CertInfo> {
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
fn cert_expiry(ctx: &Ctx<'_>) -> Option<Finding> {
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
        f.for_(format!("alert: \"{}\"", quote(&ctx.alert.title, 120)));
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
        f.for_(format!(
            "{} {}: {}",
            e.reason,
            e.object,
            quote(&e.message, 140)
        ));
        f.at_opt(
            e.timestamp,
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

const CHAIN_NEEDLES: &[&str] = &[
    "unable to get local issuer",
    "unable to verify the first certificate",
    "signed by unknown authority",
    "incomplete chain",
    "missing intermediate",
    "self signed certificate in certificate chain",
    "certificate verify failed",
    "unknown ca",
];

/// New certificate served without its intermediate chain.
fn tls_chain(ctx: &Ctx<'_>) -> Option<Finding> {
    let cert = pick_cert(ctx);
    let cert_err = cert.and_then(|c| {
        let err = c.verify_error.clone().unwrap_or_default();
        (!c.chain_verified && !contains_ci(&err, "expired")).then_some(err)
    });
    let logs: Vec<&LogLine<'_>> = ctx
        .logs_with(CHAIN_NEEDLES)
        .into_iter()
        .filter(|l| !l.lower.contains("expired"))
        .collect();
    let spike = ctx
        .series("tls_handshake_errors")
        .and_then(|s| s.change_point(3.0, 1.0).map(|cp| (s, cp)));
    if cert_err.is_none() && logs.is_empty() {
        let c = cert?;
        if !c.chain_verified {
            return None;
        }
        return Some(Finding::rejected(
            "tls-chain",
            format!("Incomplete certificate chain on {}", c.host),
            vec![format!(
                "chain verified for {} (issuer {})",
                c.host,
                quote(&c.issuer, 60)
            )],
        ));
    }
    let host = cert.map(|c| c.host.clone()).unwrap_or_else(|| host_or(ctx));
    let mut f = Finding::new(
        "tls-chain",
        format!("Certificate on {host} served without its intermediate chain"),
    );
    let mut score: f64 = 0.0;
    let err_text = cert_err
        .clone()
        .filter(|e| !e.is_empty())
        .or_else(|| logs.first().map(|l| quote(&l.rec.body, 120)))
        .unwrap_or_else(|| "chain not verified".into());
    if let Some(e) = &cert_err {
        score += 0.75;
        f.for_(format!(
            "TLS probe of {host}: chain not verified ({})",
            if e.is_empty() { "no detail" } else { e }
        ));
    }
    if let Some(l) = logs.first() {
        score += if cert_err.is_some() { 0.1 } else { 0.65 };
        f.cite_logs(logs.len(), l, "verification error");
    }
    let mut parts = Vec::new();
    if let Some((s, (at, _))) = spike {
        score += 0.05;
        parts.push(format!(
            "TLS handshake errors {}/min since {}",
            arrow(s, ""),
            hm(at)
        ));
        f.for_(format!(
            "TLS handshake errors {}/min from {}",
            arrow(s, ""),
            hm(at)
        ));
        f.at(at, "TLS handshake errors start rising");
        f.metric("TLS handshake errors", format!("{}/min", arrow(s, "")));
    }
    // A freshly installed certificate (or a Secret/Certificate update event) explains the timing.
    let installed = ctx
        .events
        .iter()
        .filter(|e| {
            e.object.starts_with("Secret/")
                || e.object.starts_with("Certificate/")
                || contains_ci(&e.message, "secret")
        })
        .filter_map(|e| e.timestamp.map(|t| (t, e)))
        .next_back();
    let is_update = |l: &&LogLine<'_>| {
        l.lower.contains("secret") && l.lower.contains("updated") && l.ts.is_some()
    };
    let secret_log = ctx
        .logs
        .iter()
        .rev()
        .filter(is_update)
        .find(|l| l.lower.contains("certificate"))
        .or_else(|| ctx.logs.iter().rev().find(is_update));
    if let Some(l) = secret_log.filter(|_| installed.is_none()) {
        score += 0.05;
        let when = l.ts.map(hm).unwrap_or_default();
        parts.push(format!(
            "right after the TLS secret was updated at {when} (\"{}\")",
            quote(&l.rec.body, 140)
        ));
        f.for_(format!("secret update: \"{}\"", quote(&l.rec.body, 160)));
        f.at_opt(
            l.ts,
            format!("TLS secret updated: {}", quote(&l.rec.body, 90)),
        );
    } else if let Some((at, e)) = installed {
        score += 0.05;
        parts.push(format!(
            "right after {} was updated at {}",
            e.object,
            hm(at)
        ));
        f.at(
            at,
            format!("{} updated: {}", e.object, quote(&e.message, 80)),
        );
    } else if let Some(c) = cert
        && (ctx.now - c.not_before) < Duration::days(14)
    {
        score += 0.05;
        parts.push(format!(
            "right after the new certificate (not before {}) was installed",
            day_hm(c.not_before)
        ));
        f.at(
            c.not_before,
            format!("new certificate for {host} valid from"),
        );
    }
    f.root_cause = format!(
        "The certificate served on {host}:443 was deployed without its intermediate chain: clients fail verification with \"{}\"{}{}.",
        quote(&err_text, 120),
        if parts.is_empty() { "" } else { " — " },
        parts.join(", ")
    );
    f.summary = format!(
        "TLS clients reject {host} because its certificate is served without the intermediate chain."
    );
    if let Some(c) = cert {
        f.metric("certificate issuer", quote(&c.issuer, 60));
        f.metric("not after", day_hm(c.not_after));
    }
    f.cmd(
        "Count the certificates served (1 = intermediate missing)",
        format!(
            "openssl s_client -connect {host}:443 -servername {host} -showcerts </dev/null 2>/dev/null | grep -c 'BEGIN CERTIFICATE'"
        ),
    );
    let secret = ctx
        .events
        .iter()
        .find_map(|e| e.object.strip_prefix("Secret/"))
        .map(str::to_string)
        .or_else(|| {
            secret_log.and_then(|l| {
                word_after(&l.rec.body, "secret")
                    .map(|w| w.rsplit('/').next().unwrap_or(&w).to_string())
                    .filter(|w| w.len() > 2)
            })
        })
        .unwrap_or_else(|| format!("{}-tls", host.replace('.', "-")));
    f.cmd(
        "Rebuild the TLS secret from the full chain (leaf + intermediate)",
        ctx.kubectl(&format!(
            "create secret tls {secret} --cert=fullchain.pem --key=privkey.pem --dry-run=client -o yaml | kubectl apply -f -"
        )),
    );
    f.cmd("Verify the served chain again", openssl_dates(&host));
    f.prevent("Always install fullchain.pem (leaf + intermediates), never the leaf alone");
    f.prevent(
        "Verify the chain before rollout (openssl verify -untrusted chain.pem cert.pem) and keep a blackbox probe on the handshake",
    );
    Some(f.with_score(score.min(0.95)))
}

const DNS_NEEDLES: &[&str] = &[
    "nxdomain",
    "no such host",
    "enotfound",
    "could not resolve",
    "name or service not known",
    "temporary failure in name resolution",
    "servfail",
    "name resolution",
];

/// The name a DNS error log line was about.
fn name_in_log(l: &LogLine<'_>) -> Option<String> {
    word_after(&l.lower, "lookup ")
        .or_else(|| word_after(&l.lower, "enotfound "))
        .or_else(|| word_after(&l.lower, "resolve "))
        .and_then(|w| extract_host(&w))
        .or_else(|| extract_host(&l.lower))
}

/// DNS lookups of an upstream fail (NXDOMAIN / SERVFAIL).
fn dns_failure(ctx: &Ctx<'_>) -> Option<Finding> {
    let failed = ctx.dns.iter().copied().find(|d| d.error.is_some());
    let logs = ctx.logs_with(DNS_NEEDLES);
    if failed.is_none() && logs.is_empty() {
        let ok = ctx.dns.iter().find(|d| !d.answers.is_empty())?;
        let mut r = Finding::rejected(
            "dns-failure",
            format!("DNS resolution failure for {}", ok.name),
            vec![format!(
                "DNS resolves fine: {} → {} (TTL {})",
                ok.name,
                ok.answers
                    .iter()
                    .map(|a| a.data.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                ok.answers.first().map(|a| a.ttl).unwrap_or_default()
            )],
        );
        r.cmd("Resolve the name", format!("dig +short {}", ok.name));
        return Some(r);
    }
    let name = failed
        .map(|d| d.name.clone())
        .or_else(|| logs.iter().find_map(|l| name_in_log(l)))
        .unwrap_or_else(|| host_or(ctx));
    let code = failed
        .and_then(|d| d.error.clone())
        .or_else(|| {
            logs.iter().find_map(|l| {
                if l.lower.contains("servfail") {
                    Some("SERVFAIL".to_string())
                } else if [
                    "nxdomain",
                    "no such host",
                    "enotfound",
                    "name or service not known",
                ]
                .iter()
                .any(|n| l.lower.contains(n))
                {
                    Some("NXDOMAIN".to_string())
                } else {
                    None
                }
            })
        })
        .unwrap_or_else(|| "a resolution error".into());
    let mut f = Finding::new(
        "dns-failure",
        format!("DNS lookups for {name} fail ({code})"),
    );
    let mut score: f64 = 0.0;
    if let Some(d) = failed {
        score += 0.85;
        f.for_(format!(
            "resolving {} ({}) returns {code}",
            d.name, d.record_type
        ));
    }
    if let Some(l) = logs.first() {
        score += if failed.is_some() { 0.05 } else { 0.75 };
        f.cite_logs(logs.len(), l, "DNS error");
    }
    if let Some(s) = ctx.series("dns_lookup_errors")
        && let Some((at, _)) = s.change_point(3.0, 1.0)
    {
        score += 0.03;
        f.for_(format!(
            "DNS lookup errors {}/min from {}",
            arrow(s, ""),
            hm(at)
        ));
        f.at(at, "DNS lookup errors start");
        f.metric("DNS lookup errors", format!("{}/min", arrow(s, "")));
    }
    // Was the Service renamed or removed? `ledger.payments.svc.cluster.local` → `ledger`.
    let label = name.split('.').next().unwrap_or_default().to_string();
    let ns = if name.ends_with(".svc.cluster.local") || name.ends_with(".svc") {
        name.split('.').nth(1).unwrap_or(&ctx.ns).to_string()
    } else {
        ctx.ns.clone()
    };
    let mut story = String::new();
    let mut similar_name = None;
    if ctx.services.len() > 1 && !label.is_empty() && !ctx.services.iter().any(|s| s.name == label)
    {
        let similar: Vec<&str> = ctx
            .services
            .iter()
            .filter(|s| s.name.contains(&label) || label.contains(&s.name))
            .map(|s| s.name.as_str())
            .collect();
        score += 0.03;
        if similar.is_empty() {
            story = format!("; there is no Service {label} in {ns} any more (removed or renamed)");
        } else {
            story = format!(
                "; the Service {label} no longer exists in {ns} — it was renamed ({} exists instead)",
                similar.join(", ")
            );
            similar_name = similar.first().map(|s| s.to_string());
            if let Some(r) = ctx
                .rollouts()
                .into_iter()
                .find(|r| similar.iter().any(|n| r.object.ends_with(&format!("/{n}"))))
            {
                f.at(
                    r.at,
                    format!("{} rolled out: {}", r.object, quote(r.message, 80)),
                );
                f.for_(format!("{} was deployed at {}", r.object, hm(r.at)));
            }
            if let Some(s) = ctx
                .services
                .iter()
                .find(|s| Some(s.name.as_str()) == similar.first().copied())
            {
                f.for_(format!(
                    "Service {} has {} ready endpoints: the upstream itself is healthy",
                    s.name, s.ready_endpoints
                ));
            }
        }
        f.for_(format!(
            "no Service named {label} among the Services in {ns}"
        ));
    }
    f.root_cause = format!(
        "DNS lookups for {name} fail with {code}, so {}'s calls to that upstream fail before any connection is made{story}.",
        ctx.service
    );
    f.summary = format!("{} cannot resolve {name} ({code}).", ctx.service);
    f.metric("DNS answer", format!("{name}: {code}"));
    f.cmd("Resolve the name yourself", format!("dig +short {name}"));
    f.cmd(
        "List the Services that do exist",
        format!("kubectl -n {ns} get svc -o wide"),
    );
    if let Some(sim) = &similar_name {
        f.cmd(
            "Quick fix: alias the old name to the renamed Service (then update the client's config)",
            format!(
                "kubectl -n {ns} create service externalname {label} --external-name {sim}.{ns}.svc.cluster.local"
            ),
        );
    }
    f.cmd(
        "Find where the old name is configured",
        ctx.kubectl(&format!(
            "get deploy/{} -o yaml | grep -n '{label}'",
            ctx.deployment
        )),
    );
    f.cmd(
        "Check CoreDNS for errors",
        "kubectl -n kube-system logs -l k8s-app=kube-dns --tail=50".to_string(),
    );
    f.prevent("Rename Services with a transition period: keep an ExternalName alias for the old name until every client moved");
    f.prevent("Alert on dns_lookup_errors per upstream, and resolve upstream names in a startup/readiness check");
    Some(f.with_score(score.min(0.95)))
}

fn is_503(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.contains("503"))
}

/// An upstream Service has no ready endpoints (its pods fail readiness): callers get 503s.
/// The upstream the alert is about: the first label of a cluster-local host, or the word after
/// "upstream" in an error log.
fn upstream_name(ctx: &Ctx<'_>) -> Option<String> {
    ctx.host
        .as_deref()
        .filter(|h| h.contains(".svc") || !h.contains('.'))
        .and_then(|h| h.split('.').next())
        .map(str::to_string)
        .or_else(|| {
            ctx.logs.iter().find_map(|l| {
                let w = word_after(&l.lower, "upstream ")?;
                (w.len() > 2 && !["connect", "request", "error", "responded"].contains(&w.as_str()))
                    .then_some(w)
            })
        })
}

/// An upstream Service has no ready endpoints (its pods fail readiness): callers get 503s.
fn no_ready_endpoints(ctx: &Ctx<'_>) -> Option<Finding> {
    let upstream = upstream_name(ctx);
    // Readiness failures of the upstream's pods, when the Service itself was not looked up.
    let upstream_probe_pods: Vec<&str> = match &upstream {
        Some(u) if !ctx.services.iter().any(|s| &s.name == u) => {
            let mut pods: Vec<&str> = ctx
                .events_with(&["readiness probe failed"])
                .into_iter()
                .filter_map(|e| e.object.strip_prefix("Pod/"))
                .filter(|p| p.starts_with(u.as_str()))
                .collect();
            pods.sort_unstable();
            pods.dedup();
            pods
        }
        _ => Vec::new(),
    };
    let synthesized;
    let svc: &ServiceHealth = match ctx
        .services
        .iter()
        .copied()
        .filter(|s| s.ready_endpoints == 0)
        .max_by_key(|s| (s.name != ctx.service, s.not_ready_endpoints))
    {
        Some(s) => s,
        None if !upstream_probe_pods.is_empty() => {
            synthesized = ServiceHealth {
                name: upstream.clone().unwrap_or_default(),
                namespace: ctx.ns.clone(),
                ready_endpoints: 0,
                not_ready_endpoints: upstream_probe_pods.len() as u32,
                deployment: None,
                ..ServiceHealth::default()
            };
            &synthesized
        }
        None => {
            if ctx.services.is_empty() {
                return None;
            }
            let list: Vec<String> = ctx
                .services
                .iter()
                .take(4)
                .map(|s| {
                    format!(
                        "{} {}/{}",
                        s.name,
                        s.ready_endpoints,
                        s.ready_endpoints + s.not_ready_endpoints
                    )
                })
                .collect();
            let mut r = Finding::rejected(
                "no-endpoints",
                "Upstream Service without ready endpoints",
                vec![format!(
                    "upstream pods healthy: every Service checked has ready endpoints ({})",
                    list.join(", ")
                )],
            );
            r.cmd("Check the endpoints", ctx.kubectl("get endpoints"));
            return Some(r);
        }
    };
    let dep = svc
        .deployment
        .as_ref()
        .map(|d| d.name.clone())
        .unwrap_or_else(|| svc.name.clone());
    let mut f = Finding::new(
        "no-endpoints",
        format!("Service {} has no ready endpoints", svc.name),
    );
    let mut score: f64 = 0.8;
    f.for_(format!(
        "Service {} in {}: 0 ready endpoints, {} not ready",
        svc.name, svc.namespace, svc.not_ready_endpoints
    ));
    f.metric(
        format!("{} endpoints", svc.name),
        format!("0 ready / {} not ready", svc.not_ready_endpoints),
    );
    let readiness: Vec<&KubeEvent> = ctx
        .events_with(&["readiness probe failed", "readiness probe"])
        .into_iter()
        .collect();
    let mine: Vec<&KubeEvent> = readiness
        .iter()
        .copied()
        .filter(|e| e.object.contains(&dep) || e.object.contains(&svc.name))
        .collect();
    let probe = mine.first().or(readiness.first()).copied();
    if let Some(e) = probe {
        score += 0.1;
        f.cite_event(
            &e.object,
            e,
            format!("readiness probe failing: {}", e.object),
        );
    }
    let spans_503: Vec<_> = ctx
        .spans
        .iter()
        .filter(|s| is_503(s.status_code.as_deref()) || s.attributes.values().any(|v| v == "503"))
        .collect();
    let logs_503 = ctx.logs_with(&["503", "no healthy upstream", "service unavailable"]);
    if !spans_503.is_empty() || !logs_503.is_empty() {
        score += 0.05;
        if !spans_503.is_empty() {
            f.for_(format!("{} spans answered 503", spans_503.len()));
        }
        if let Some(l) = logs_503.first() {
            f.for_(format!("logs: \"{}\"", quote(&l.rec.body, 120)));
            f.at_opt(l.ts, format!("first 503: {}", quote(&l.rec.body, 80)));
        }
    }
    if let Some(d) = &svc.deployment {
        f.metric(
            format!("deploy/{} ready", d.name),
            format!("{}/{}", d.ready, d.desired),
        );
        for c in &d.conditions {
            f.for_(format!("deploy/{}: {}", d.name, c));
        }
    }
    let reason_log = ctx
        .logs
        .iter()
        .rev()
        .find(|l| l.lower.contains("readiness") && l.lower.contains("not ready"))
        .map(|l| quote(&l.rec.body, 140));
    let mut probe_text = probe
        .map(|e| format!("\"{}\"", quote(&e.message, 120)))
        .unwrap_or_else(|| format!("{} endpoints not ready", svc.not_ready_endpoints));
    if let Some(r) = &reason_log {
        f.for_(format!("upstream log: \"{r}\""));
        probe_text.push_str(&format!("; its log says \"{r}\""));
    }
    let who = if svc.name == ctx.service {
        format!("requests to {}", svc.name)
    } else {
        format!("calls from {} to it", ctx.service)
    };
    f.root_cause = format!(
        "Upstream Service {} in {} has 0 ready endpoints: its pods fail the readiness probe ({probe_text}), so {who} get 503 Service Unavailable.",
        svc.name, svc.namespace
    );
    f.summary = format!(
        "{} returns 503s because Service {} has no ready endpoints (readiness probe failing).",
        ctx.service, svc.name
    );
    let k = |rest: String| format!("kubectl -n {} {rest}", svc.namespace);
    f.cmd(
        "Confirm the empty endpoints",
        k(format!("get endpoints {}", svc.name)),
    );
    f.cmd(
        "See why the pods are not ready (probe failures in Events)",
        k(format!("describe pods -l app={}", svc.name)),
    );
    f.cmd(
        "Read the upstream's logs",
        k(format!("logs deploy/{dep} --tail=100")),
    );
    f.cmd(
        "Inspect the readiness probe definition",
        k(format!(
            "get deploy/{dep} -o jsonpath='{{.spec.template.spec.containers[*].readinessProbe}}'"
        )),
    );
    f.cmd(
        "If a recent rollout broke readiness, roll it back",
        k(format!("rollout undo deploy/{dep}")),
    );
    f.prevent("Alert on Services with 0 ready endpoints (kube_endpoint_address_available == 0) before callers see 503s");
    f.prevent("Keep readiness probes cheap and independent of optional dependencies; use a PodDisruptionBudget and maxUnavailable=0 rollouts");
    Some(f.with_score(score.min(0.95)))
}

const TIMEOUT_NEEDLES: &[&str] = &[
    "timeout",
    "timed out",
    "deadline exceeded",
    "etimedout",
    "i/o timeout",
];

/// Calls to an upstream time out (connect errors, slow spans, timeout logs).
fn upstream_timeout(ctx: &Ctx<'_>) -> Option<Finding> {
    let connect = ctx
        .series("upstream_connect_errors")
        .and_then(|s| s.change_point(3.0, 1.0).map(|cp| (s, cp)));
    let logs = ctx.logs_with(TIMEOUT_NEEDLES);
    // Error spans grouped by peer: (peer, count, max duration, first time).
    let mut peers: Vec<(String, usize, f64, Option<DateTime<Utc>>)> = Vec::new();
    for s in ctx
        .spans
        .iter()
        .filter(|s| s.has_error || s.duration_ms >= 2000.0)
    {
        let Some(peer) = s.peer.as_ref().filter(|p| **p != ctx.service) else {
            continue;
        };
        if is_503(s.status_code.as_deref()) {
            continue;
        }
        match peers.iter_mut().find(|(p, ..)| p == peer) {
            Some(e) => {
                e.1 += 1;
                if s.duration_ms.is_finite() {
                    e.2 = e.2.max(s.duration_ms);
                }
                e.3 = match (e.3, s.timestamp) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            None => peers.push((
                peer.clone(),
                1,
                if s.duration_ms.is_finite() {
                    s.duration_ms
                } else {
                    0.0
                },
                s.timestamp,
            )),
        }
    }
    peers.sort_by_key(|p| std::cmp::Reverse(p.1));
    let slow_peer = peers.first().filter(|p| p.2 >= 1000.0);
    let mut score: f64 = 0.0;
    if connect.is_some() {
        score += 0.35;
    }
    if !logs.is_empty() {
        score += 0.3;
    }
    if slow_peer.is_some() {
        score += 0.2;
    }
    let p99 = ctx
        .series("http_server_duration_p99")
        .filter(|s| s.rise(1.0) >= 3.0);
    if p99.is_some() && score > 0.0 {
        score += 0.1;
    }
    if score < 0.3 {
        return None;
    }
    let peer = slow_peer
        .map(|p| p.0.clone())
        .or_else(|| peers.first().map(|p| p.0.clone()))
        .or_else(|| logs.iter().find_map(|l| extract_host(&l.lower)))
        .unwrap_or_else(|| "an upstream".into());
    let mut f = Finding::new(
        "upstream-timeout",
        format!("Upstream calls to {peer} time out"),
    );
    let mut parts = Vec::new();
    if let Some((s, (at, _))) = connect {
        parts.push(format!(
            "upstream connect errors {}/min since {}",
            arrow(s, ""),
            hm(at)
        ));
        f.for_(format!(
            "upstream connect errors {}/min from {}",
            arrow(s, ""),
            hm(at)
        ));
        f.at(at, "upstream connect errors start rising");
        f.metric("upstream connect errors", format!("{}/min", arrow(s, "")));
    }
    if let Some(p) = slow_peer {
        parts.push(format!(
            "{} failed spans to {} lasting up to {} ms",
            p.1,
            p.0,
            num(p.2)
        ));
        f.for_(format!(
            "{} error spans to {} (max {} ms)",
            p.1,
            p.0,
            num(p.2)
        ));
        f.at_opt(p.3, format!("first failed call to {}", p.0));
    }
    if let Some(l) = logs.first() {
        parts.push(format!("logs report \"{}\"", quote(&l.rec.body, 100)));
        f.for_(format!("{} timeout log lines", logs.len()));
        f.at_opt(l.ts, format!("first timeout: {}", quote(&l.rec.body, 100)));
    }
    if let Some(p) = p99 {
        f.for_(format!("p99 latency {}", arrow(p, " ms")));
        f.metric("p99 latency", arrow(p, " ms"));
    }
    let external = peer.contains('.') && !peer.contains(".svc");
    f.root_cause = format!(
        "Upstream calls from {} to {peer} fail with connect timeouts: {}; the upstream {} is slow to answer, not {}'s own pods.",
        ctx.service,
        parts.join(", "),
        if external {
            "(third-party) host"
        } else {
            "service"
        },
        ctx.service
    );
    f.summary = format!("{} errors because calls to {peer} time out.", ctx.service);
    if external {
        f.cmd(
            "Time a request to the upstream from inside the cluster",
            ctx.kubectl(&format!(
                "exec deploy/{} -- curl -s -o /dev/null -w 'connect=%{{time_connect}}s total=%{{time_total}}s\\n' https://{peer}/",
                ctx.deployment
            )),
        );
        f.step(format!(
            "Check {peer}'s status page / open a ticket with the provider"
        ));
    } else {
        f.cmd(
            "Look at the upstream's pods",
            ctx.kubectl(&format!("get pods -l app={peer} -o wide")),
        );
    }
    f.cmd(
        "Recent timeout errors",
        ctx.kubectl(&format!(
            "logs deploy/{} --since=30m | grep -i timeout | tail -20",
            ctx.deployment
        )),
    );
    f.step("Fail fast: lower the client timeout and enable a circuit breaker/retry budget for the upstream while it is slow");
    f.prevent("Set explicit connect/read timeouts and a circuit breaker on every upstream client");
    f.prevent("Alert on upstream_connect_errors and upstream latency per peer, not only on the service's own error rate");
    Some(f.with_score(score.min(0.85)))
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
