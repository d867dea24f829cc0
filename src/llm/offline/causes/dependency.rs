//! Failing dependencies, from the error classes that Go, Java, Python and Node clients and
//! drivers log: names that do not resolve, TLS verification errors, refused or reset
//! connections, exhausted connection pools, authentication failures, full disks, timeouts —
//! corroborated by the DNS answers and certificates the probes read.
//!
//! Causality: a refused connection to a dependency that crash-loops is the crash's effect (the
//! crash is the cause, see `crash.rs`); timeouts are usually an effect of something slower
//! upstream, so they rank low unless nothing else explains them.

use super::{Facts, base_score, cite, note_rollout};
use crate::findings::{Finding as Fact, Strength};
use crate::llm::offline::common::{Finding, clean_host, quote};

/// The host a client error names: after `lookup`, `ENOTFOUND`, `UnknownHostException:`,
/// `hostname:`, `host=`, else the first host-shaped token.
pub(crate) fn host_in(line: &str) -> Option<String> {
    const MARKERS: &[&str] = &[
        "lookup ",
        "enotfound ",
        "eai_again ",
        "unknownhostexception: ",
        "hostname: '",
        "host=",
        "could not translate host name \"",
        "dial tcp ",
        "connect to ",
    ];
    let lower = line.to_ascii_lowercase();
    for m in MARKERS {
        if let Some(i) = lower.find(m) {
            let rest = &line[i + m.len()..];
            let token: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "-._:".contains(*c))
                .collect();
            let token = token.trim_end_matches(':').split(':').next().unwrap_or("");
            if let Some(h) = clean_host(token) {
                return Some(h);
            }
        }
    }
    line.split(|c: char| c.is_whitespace() || "\"'`()[]{}<>,;|=@".contains(c))
        .filter(|t| !t.contains("://") || t.starts_with("http"))
        .find_map(|t| clean_host(t).filter(|h| !h.ends_with(".py") && !h.ends_with(".js")))
}

/// What each class means for the dependency, and its base score.
fn meaning(fact: &str) -> Option<(&'static str, &'static str)> {
    Some(match fact {
        "log_dns_failure" => (
            "dns",
            "the name does not resolve: a typo or a renamed/removed Service or record (NXDOMAIN), a short name resolved from another namespace, or a DNS outage (SERVFAIL, timeouts)",
        ),
        "log_tls_error" => (
            "tls",
            "TLS verification fails: the certificate is expired, for another name, or signed by an authority the client does not trust",
        ),
        "log_connection_refused" => (
            "refused",
            "nothing listens at the address: the dependency is down, has no ready endpoints, or the port is wrong",
        ),
        "log_connection_reset" => (
            "reset",
            "the peer drops connections: it restarts, overloads, or a proxy/idle timeout cuts them",
        ),
        "log_pool_exhausted" => (
            "pool",
            "the connection pool (or the server's connection limit) is exhausted: connections are held too long (slow queries, leaks) or more clients connect than the limit allows",
        ),
        "log_auth_failed" => (
            "auth",
            "the dependency rejects the credentials: a rotated or wrong password/secret, or a missing grant",
        ),
        "log_disk_full" => ("disk", "the disk is full (No space left on device)"),
        "log_missing_config" => ("config", "a required setting is missing or empty"),
        "log_timeout" => (
            "timeout",
            "calls time out: the dependency is slow or unreachable (timeouts are often an effect of something upstream)",
        ),
        _ => return None,
    })
}

/// Certificate and DNS probe results that corroborate a class.
fn corroboration<'f>(facts: &'f Facts<'_>, class: &str) -> Vec<&'f Fact> {
    match class {
        "dns" => facts.with(&["dns_nxdomain", "dns_servfail", "dns_timeout", "dns_failed"]),
        "tls" => facts.with(&[
            "cert_expired",
            "cert_expiring",
            "cert_untrusted_chain",
            "cert_self_signed",
            "cert_wrong_host",
            "cert_not_yet_valid",
            "cert_revoked",
            "cert_invalid",
        ]),
        "refused" => facts.with(&["no_ready_endpoints", "endpoints_not_ready"]),
        _ => Vec::new(),
    }
}

/// One candidate per error class the logs show.
pub(crate) fn dependency_errors(facts: &Facts<'_>) -> Vec<Finding> {
    let crash_elsewhere = facts
        .with(&["crash_loop_back_off", "exit_error"])
        .into_iter()
        .any(|f| !facts.about_target(f));
    let mut out = Vec::new();
    for f in facts.of_kind(crate::findings::FindingKind::Log) {
        let Some((class, why)) = meaning(&f.fact) else {
            continue;
        };
        let line = f.cites.first().cloned().unwrap_or_default();
        let host = host_in(&line);
        let support = corroboration(facts, class);
        let mut score = base_score(f.strength);
        if f.strength == Strength::Strong && f.count >= 3 {
            score += 0.04;
        }
        if !support.is_empty() {
            score = score.max(0.78) + 0.1;
        }
        if class == "timeout" {
            score = score.min(0.45);
        }
        if class == "refused" && crash_elsewhere {
            score -= 0.15;
        }
        let target = host.clone().unwrap_or_else(|| "its dependency".to_string());
        let mut c = Finding::new(
            "general-dependency",
            format!(
                "{} to {target}",
                f.fact.trim_start_matches("log_").replace('_', " ")
            ),
        );
        c.score = score.min(0.93);
        cite(&mut c, f);
        for s in &support {
            cite(&mut c, s);
        }
        let server_limit = class == "pool"
            && [
                "too many clients",
                "connection slots are reserved",
                "too many connections",
            ]
            .iter()
            .any(|m| line.to_ascii_lowercase().contains(m));
        let short = host.as_deref().is_some_and(|h| !h.contains('.'));
        let caller_ns = facts.ns();
        let extra = if class == "dns" && short {
            match (&host, &caller_ns) {
                (Some(h), Some(ns)) => format!(
                    " A short name resolves only in the caller's own namespace: from {ns}, {h} means {h}.{ns}.svc.cluster.local; a Service in another namespace needs its namespace in the name."
                ),
                _ => " A short name resolves only in the caller's own namespace; a Service in another namespace needs its namespace in the name.".to_string(),
            }
        } else if server_limit {
            " The database server refuses new connections: its max_connections is used up by all clients together (pools x replicas, batch jobs); see who holds them (pg_stat_activity / SHOW PROCESSLIST by client).".to_string()
        } else {
            String::new()
        };
        let probe = support
            .first()
            .map(|s| format!(" The probe confirms it: {}.", s.detail))
            .unwrap_or_default();
        c.root_cause = format!(
            "{} of {} report {}: {why}.{probe}{extra} First line: \"{}\".",
            f.count,
            if f.subject.is_empty() {
                "the logs"
            } else {
                f.subject.as_str()
            },
            match &host {
                Some(h) => format!("failures to reach {h}"),
                None => "errors".to_string(),
            },
            quote(&line, 220)
        );
        c.summary = format!(
            "{} fails: {}.",
            if f.subject.is_empty() {
                "the service"
            } else {
                f.subject.as_str()
            },
            quote(why, 110)
        );
        note_rollout(&mut c, facts);
        let ns = facts.ns();
        let ns = ns.as_deref();
        match (class, &host) {
            ("dns", Some(h)) => {
                c.cmd(
                    format!("Resolve {h} from inside the cluster"),
                    facts.kubectl(
                        ns,
                        &format!("run dnscheck --rm -it --restart=Never --image=busybox:1.36 -- nslookup {h}"),
                    ),
                );
                let first = h.split('.').next().unwrap_or(h);
                c.cmd(
                    "Which Services of that name exist, in which namespace",
                    format!("kubectl get svc --all-namespaces | grep {first}"),
                );
            }
            ("tls", Some(h)) => c.cmd(
                format!("The certificate {h} serves (issuer, dates, names)"),
                format!(
                    "openssl s_client -connect {h}:443 -servername {h} </dev/null 2>/dev/null | openssl x509 -noout -issuer -subject -dates"
                ),
            ),
            _ => {}
        }
        if let Some(obj) = facts.object_ref() {
            c.cmd(
                "The errors in context",
                facts.kubectl(ns, &format!("logs {obj} --since=1h --tail=200")),
            );
            c.cmd(
                "The settings the app connects with",
                facts.kubectl(ns, &format!("set env {obj} --list")),
            );
        }
        out.push(c);
    }
    out
}
