//! Upstream failures: a Service with no ready endpoints (its pods fail readiness, callers get 503
//! `no healthy upstream`), and upstream calls timing out (connect errors and latency at the
//! peer, internal or external).

use chrono::{DateTime, Utc};

use crate::evidence::{KubeEvent, ServiceHealth};
use crate::llm::offline::common::{Ctx, Finding, arrow, extract_host, hm, num, quote, word_after};

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
pub(crate) fn no_ready_endpoints(ctx: &Ctx<'_>) -> Option<Finding> {
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
            f.cite_line(
                "logs",
                l,
                120,
                format!("first 503: {}", quote(&l.rec.body, 80)),
            );
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
pub(crate) fn upstream_timeout(ctx: &Ctx<'_>) -> Option<Finding> {
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
