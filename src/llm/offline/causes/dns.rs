//! DNS failures: a name that does not resolve (NXDOMAIN, `no such host`, `ENOTFOUND`, SERVFAIL)
//! from the DNS tool's answers, the logs and the resolver-error metric; renamed or removed
//! Services and typos in a configured host.

use super::certificate::host_or;
use crate::llm::offline::common::{
    Ctx, Finding, LogLine, arrow, extract_host, hm, quote, word_after,
};

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
pub(crate) fn dns_failure(ctx: &Ctx<'_>) -> Option<Finding> {
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
