//! An incomplete TLS chain: clients fail verification (`unable to get local issuer`, `unknown
//! authority`) while the leaf is valid, typically after a certificate was replaced by the leaf
//! alone (a Secret or Certificate updated just before).

use chrono::Duration;

use super::certificate::{host_or, openssl_dates, pick_cert};
use crate::llm::offline::common::{
    Ctx, Finding, LogLine, arrow, contains_ci, day_hm, hm, quote, word_after,
};

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
pub(crate) fn tls_chain(ctx: &Ctx<'_>) -> Option<Finding> {
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
        f.cite_line(
            "secret update",
            l,
            160,
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
