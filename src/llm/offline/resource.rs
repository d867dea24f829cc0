//! Resource agent detectors: OOM kills / memory leak, CPU throttling by a too-low limit, node CPU
//! saturation, disk full (unrotated logs), CPU saturation from a traffic surge (HPA at max) and
//! node memory pressure evictions.

use super::causes::crashloop::is_oom;
use super::causes::traffic::{flat_traffic_text, traffic};
use super::common::{
    Ctx, Detector, Finding, arrow, bytes, contains_ci, hm, num, pct, plural, quote, word_after,
};
use crate::evidence::{ContainerState, KubeEvent, PodState};

pub(crate) const DETECTORS: &[Detector] = &[
    oom,
    cpu_throttling,
    node_cpu_saturation,
    disk_full,
    cpu_traffic,
    node_memory_pressure,
];

/// Metric labels that name a node.
const NODE_LABELS: &[&str] = &[
    "k8s.node.name",
    "node",
    "host.name",
    "host_name",
    "instance",
    "host",
];

/// `512Mi`, `1Gi`, `500M`, `536870912` → bytes.
pub(crate) fn parse_quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(q.len());
    let (n, unit) = q.split_at(split);
    let n: f64 = n.parse().ok()?;
    let mult = match unit {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "m" => 1e-3,
        _ => return None,
    };
    Some(n * mult)
}

/// OOMKilled containers; a working set growing steadily to the limit with flat traffic is a leak.
pub(crate) fn oom(ctx: &Ctx<'_>) -> Option<Finding> {
    let killed: Vec<(&PodState, &ContainerState)> = ctx
        .pods
        .iter()
        .flat_map(|p| p.containers.iter().map(move |c| (*p, c)))
        .filter(|(_, c)| is_oom(c))
        .collect();
    let oom_events = ctx.events_with(&["oomkill", "oom-kill", "out of memory"]);
    let ws = ctx.series("container_memory_working_set_bytes");
    let limit = ctx
        .series("container_memory_limit_bytes")
        .map(|s| s.last())
        .filter(|l| *l > 0.0)
        .or_else(|| {
            ctx.pods
                .iter()
                .flat_map(|p| p.containers.iter())
                .find_map(|c| c.memory_limit.as_deref().and_then(parse_quantity))
        });
    let near_limit = match (ws, limit) {
        (Some(w), Some(l)) => w.peak() >= 0.85 * l,
        _ => false,
    };
    let growing = ws.is_some_and(|w| {
        w.rising_fraction() >= 0.6 && w.peak() >= 1.3 * w.points.first().map(|p| p.1).unwrap_or(0.0)
    });
    let mut f = Finding::new(
        "oom-leak",
        format!("{} OOMKilled: memory leak", ctx.deployment),
    );
    if killed.is_empty() && oom_events.is_empty() && !(near_limit && growing) {
        if ctx.mentions(&["oom", "out of memory", "memory"]) && !ctx.mentions(&["pressure"]) {
            f.root_cause = format!(
                "{} is running out of memory (per the alert): containers hit their memory limit and are OOMKilled — a memory leak (steady growth after a deploy) or a limit too low for the load.",
                ctx.deployment
            );
            f.summary = format!("{} is being OOMKilled.", ctx.deployment);
            f.missing("no memory metrics or pod status");
            f.cmd(
                "Current memory use per pod",
                format!(
                    "kubectl top pod -n {} -l app={} --containers",
                    ctx.ns, ctx.service
                ),
            );
            return Some(f.with_score(0.45).into_hint(ctx));
        }
        let terminated: Vec<String> = ctx
            .pods
            .iter()
            .flat_map(|p| p.containers.iter())
            .filter_map(|c| {
                c.last_exit_code.map(|x| {
                    format!(
                        "not OOM: last termination {} with exit code {x}",
                        c.last_termination_reason.as_deref().unwrap_or("Error")
                    )
                })
            })
            .take(1)
            .collect();
        let mut against = terminated;
        if let (Some(w), Some(l)) = (ws, limit) {
            against.push(format!(
                "working set peaks at {} of a {} limit",
                bytes(w.peak()),
                bytes(l)
            ));
        }
        if against.is_empty() && !ctx.pods.is_empty() {
            against.push(format!(
                "no OOMKilled container among {}",
                plural(ctx.pods.len() as u64, "pod")
            ));
        }
        if against.is_empty() {
            return None;
        }
        let mut r =
            super::common::Finding::rejected("oom-leak", "Out of memory (OOMKilled)", against);
        r.cmd(
            "Memory use per pod",
            format!(
                "kubectl top pod -n {} -l app={} --containers",
                ctx.ns, ctx.service
            ),
        );
        return Some(r);
    }
    let mut score: f64 = 0.0;
    let restarts: u32 = killed.iter().map(|(_, c)| c.restart_count).sum();
    if let Some((p, c)) = killed.first() {
        score += 0.55;
        f.for_(format!(
            "{}: last termination OOMKilled (exit code {}), {}",
            p.name,
            c.last_exit_code.unwrap_or(137),
            plural(u64::from(c.restart_count), "restart")
        ));
        f.at_opt(c.last_finished_at, format!("{} OOMKilled", p.name));
        f.metric("restarts", restarts.to_string());
    }
    if let Some(e) = oom_events.first() {
        score += if killed.is_empty() { 0.5 } else { 0.03 };
        f.for_(format!(
            "{} {}: {}",
            e.reason,
            e.object,
            quote(&e.message, 100)
        ));
        f.at_opt(
            e.timestamp,
            format!("{}: {}", e.reason, quote(&e.message, 80)),
        );
    }
    let limit_text = limit.map(bytes).unwrap_or_else(|| "memory".into());
    let mut growth_text = String::new();
    if let Some(w) = ws {
        f.metric(
            "working set",
            format!("{} → {}", bytes(w.first()), bytes(w.peak())),
        );
        if let Some(l) = limit {
            f.metric("memory limit", bytes(l));
        }
        if growing {
            score += 0.2;
            growth_text = format!(
                "its working set grows steadily from {} to {} (the {limit_text} limit)",
                bytes(w.first()),
                bytes(w.peak())
            );
            f.for_(format!(
                "working set grows monotonically {} → {}",
                bytes(w.first()),
                bytes(w.peak())
            ));
            if let Some(at) = w.peak_at() {
                f.at(at, format!("working set reaches {}", bytes(w.peak())));
            }
        } else {
            f.against(format!(
                "working set not growing steadily ({} → {})",
                bytes(w.first()),
                bytes(w.last())
            ));
        }
    } else {
        f.missing(
            "no container_memory_working_set_bytes series to tell a leak from a limit too low",
        );
    }
    let mut load_text = String::new();
    let mut load_driven = false;
    if let Some((ratio, rate)) = traffic(ctx) {
        if ratio < 1.5 {
            score += 0.1;
            load_text = format!(
                ", while the request rate is flat ({} → {} req/s) — memory use is not driven by load",
                num(rate.first()),
                num(rate.last())
            );
            f.for_(format!("traffic flat: {}", flat_traffic_text(rate)));
            f.metric(
                "request rate",
                format!("{} → {} req/s", num(rate.first()), num(rate.last())),
            );
        } else {
            load_driven = true;
            f.against(format!(
                "request rate rose {}x: memory may follow load",
                num(ratio)
            ));
        }
    }
    let start = ws
        .and_then(|w| w.points.first().map(|p| p.0))
        .unwrap_or(ctx.now);
    let rollout = ctx.rollout_before(super::common::plus_minutes(start, 30), 240);
    let mut deploy_text = String::new();
    if let Some(r) = &rollout {
        score += 0.07;
        let rev = ctx
            .revision()
            .map(|v| format!("revision {v}"))
            .unwrap_or_else(|| format!("deploy/{}", ctx.deployment));
        deploy_text = format!(" since the deploy of {rev} at {}", hm(r.at));
        f.for_(format!("deploy at {}: {}", hm(r.at), quote(r.message, 90)));
        f.at(r.at, format!("rollout of {rev}"));
    }
    let hint = ctx
        .logs
        .iter()
        // Runtimes that report a leak themselves (Node's "Possible EventEmitter memory leak
        // detected", leak detectors): an application's own cache wording is not matched.
        .find(|l| l.lower.contains("memory leak"))
        .map(|l| quote(&l.rec.body, 120));
    if let Some(h) = &hint {
        f.for_(format!("log: \"{h}\""));
        growth_text.push_str(&format!(" (the logs point at the leak: \"{h}\")"));
    }
    if growing && !load_driven {
        f.root_cause = format!(
            "{} is OOMKilled (exit code 137, {}) by a memory leak: {growth_text}{deploy_text}{load_text}.",
            ctx.deployment,
            plural(u64::from(restarts), "restart")
        );
        f.summary = format!("{} leaks memory until it is OOMKilled.", ctx.deployment);
    } else if growing {
        f.cause = format!(
            "{} OOMKilled: memory limit too low for the load",
            ctx.deployment
        );
        f.root_cause = format!(
            "{} is OOMKilled (exit code 137): {growth_text} as traffic grows — the {limit_text} memory limit is too low for the load (or memory leaks under load).",
            ctx.deployment
        );
        f.summary = format!("{} runs out of memory under higher load.", ctx.deployment);
    } else {
        f.root_cause = format!(
            "{} is OOMKilled (exit code 137, {}): its memory reaches the {limit_text} limit{deploy_text} — a memory leak or a limit too low for the workload.",
            ctx.deployment,
            plural(u64::from(restarts), "restart")
        );
        f.summary = format!("{} is OOMKilled at its memory limit.", ctx.deployment);
    }
    let pod = killed
        .first()
        .map(|(p, _)| p.name.clone())
        .unwrap_or_else(|| format!("-l app={}", ctx.service));
    f.cmd(
        "Memory use per container now",
        format!(
            "kubectl top pod -n {} -l app={} --containers",
            ctx.ns, ctx.service
        ),
    );
    f.cmd(
        "Confirm the OOM kills (Last State)",
        ctx.kubectl(&format!("describe pod {pod}")),
    );
    if rollout.is_some() {
        f.cmd(
            "Roll back the release that introduced the leak",
            ctx.kubectl(&format!("rollout undo deploy/{}", ctx.deployment)),
        );
    }
    if let Some(l) = limit {
        f.cmd(
            "Stopgap: raise the memory limit to buy time (does not fix a leak)",
            ctx.kubectl(&format!(
                "set resources deploy/{} --limits=memory={}Mi",
                ctx.deployment,
                ((l * 1.5) / (1024.0 * 1024.0)).round()
            )),
        );
    }
    f.step(
        "Take a heap profile of a pod before it is killed and compare it with the previous release",
    );
    f.prevent("Alert on working set > 90% of the memory limit and on steady memory growth after each deploy");
    f.prevent("Soak-test releases for memory growth; size runtime heaps to the container limit (GOMEMLIMIT, -XX:MaxRAMPercentage)");
    Some(f.with_score(score.min(0.93)))
}

/// CPU throttling from a too-low CPU limit while the node has idle CPU.
fn cpu_throttling(ctx: &Ctx<'_>) -> Option<Finding> {
    let thr = ctx.series("container_cpu_throttled_ratio")?;
    if thr.peak() < 0.25 {
        let mut r = super::common::Finding::rejected(
            "cpu-throttling",
            "CPU throttling by a too-low CPU limit",
            vec![format!(
                "no throttling from limits: throttled ratio at most {}",
                pct(thr.peak())
            )],
        );
        r.cmd(
            "CPU use per pod",
            format!("kubectl top pod -n {} -l app={}", ctx.ns, ctx.service),
        );
        return Some(r);
    }
    let mut f = Finding::new(
        "cpu-throttling",
        format!("{} throttled by its CPU limit", ctx.deployment),
    );
    let mut score: f64 = 0.55;
    f.for_(format!("CPU throttled ratio {}", format_ratio_arrow(thr)));
    f.metric("CPU throttled", format_ratio_arrow(thr));
    if let Some((at, _)) = thr.change_point(2.0, 0.1) {
        f.at(at, format!("CPU throttling rises to {}", pct(thr.peak())));
    }
    let mut node_text = String::new();
    if let Some(n) = ctx.series("node_cpu_used_ratio") {
        if n.peak() < 0.6 {
            score += 0.2;
            node_text = format!(" while the node's CPU is only {} used", pct(n.peak()));
            f.for_(format!(
                "node not saturated: node CPU at most {}",
                pct(n.peak())
            ));
        } else {
            f.against(format!("node CPU {} used", pct(n.peak())));
        }
        f.metric("node CPU used", pct(n.peak()));
    }
    let mut usage_text = String::new();
    if let Some(u) = ctx.series("container_cpu_usage_ratio") {
        if u.peak() >= 0.8 {
            score += 0.1;
            usage_text = format!(" — the container runs at {} of its limit", pct(u.peak()));
        }
        f.metric("CPU used / limit", pct(u.peak()));
    }
    if let Some(p) = ctx.series("http_server_duration_p99")
        && p.rise(1.0) >= 2.0
    {
        score += 0.05;
        f.for_(format!("p99 latency {}", arrow(p, " ms")));
        f.metric("p99 latency", arrow(p, " ms"));
    }
    let mut traffic_text = String::new();
    if let Some((ratio, rate)) = traffic(ctx) {
        if ratio < 1.5 {
            traffic_text = format!("; {}", flat_traffic_text(rate));
            f.for_(flat_traffic_text(rate));
        } else {
            score -= 0.1;
            f.against(format!("request rate rose {}x", num(ratio)));
        }
    }
    if let Some(l) = ctx
        .logs
        .iter()
        // Go sizes its scheduler from GOMAXPROCS, the host's CPUs unless set (or automaxprocs).
        .find(|l| l.lower.contains("gomaxprocs"))
    {
        f.for_(format!("startup log: \"{}\"", quote(&l.rec.body, 120)));
        traffic_text.push_str(&format!(
            "; the app sizes its worker threads from the host's CPUs, not its limit (\"{}\")",
            quote(&l.rec.body, 100)
        ));
    }
    let limit = ctx
        .pods
        .iter()
        .flat_map(|p| p.containers.iter())
        .find_map(|c| c.cpu_limit.clone());
    let limit_text = limit.clone().map(|l| format!(" ({l})")).unwrap_or_default();
    f.root_cause = format!(
        "{}'s latency comes from CPU throttling: {} of CFS periods are throttled because its CPU limit{limit_text} is too low{usage_text}{node_text}{traffic_text}.",
        ctx.deployment,
        pct(thr.peak())
    );
    f.summary = format!(
        "{} is throttled by a CPU limit that is too low ({} of periods throttled).",
        ctx.deployment,
        pct(thr.peak())
    );
    f.cmd(
        "CPU use per pod against its limit",
        format!(
            "kubectl top pod -n {} -l app={} --containers",
            ctx.ns, ctx.service
        ),
    );
    f.cmd(
        "The current requests and limits",
        ctx.kubectl(&format!(
            "get deploy/{} -o jsonpath='{{.spec.template.spec.containers[*].resources}}'",
            ctx.deployment
        )),
    );
    let new_limit = limit
        .as_deref()
        .and_then(|l| {
            let cores = super::resource::parse_quantity(l)?;
            Some(format!("{}m", ((cores * 2.0) * 1000.0).round()))
        })
        .unwrap_or_else(|| "2".into());
    f.cmd(
        "Raise (or remove) the CPU limit",
        ctx.kubectl(&format!(
            "set resources deploy/{} --limits=cpu={new_limit}",
            ctx.deployment
        )),
    );
    f.prevent("Set CPU requests from observed usage and avoid tight CPU limits for latency-sensitive services");
    f.prevent("Alert on container_cpu_throttled_ratio > 25% for 10 minutes");
    Some(f.with_score(score.min(0.92)))
}

fn format_ratio_arrow(s: &super::common::Series) -> String {
    format!("{} → {}", pct(s.baseline()), pct(s.peak()))
}

/// Node CPU saturated (noisy neighbours): usually the distractor for throttling.
fn node_cpu_saturation(ctx: &Ctx<'_>) -> Option<Finding> {
    let n = ctx.series("node_cpu_used_ratio")?;
    if n.peak() < 0.85 {
        return Some(Finding::rejected(
            "node-cpu",
            "Node CPU saturated",
            vec![format!(
                "node not saturated: node CPU at most {}",
                pct(n.peak())
            )],
        ));
    }
    let mut f = Finding::new("node-cpu", "Node CPU saturated");
    f.for_(format!("node CPU {}", format_ratio_arrow(n)));
    f.metric("node CPU used", pct(n.peak()));
    let node = n.label(NODE_LABELS).unwrap_or("<node>").to_string();
    f.root_cause = format!(
        "The node running {} is CPU-saturated ({} used): pods compete for CPU on {node}.",
        ctx.deployment,
        pct(n.peak())
    );
    f.summary = format!("Node CPU is saturated ({}).", pct(n.peak()));
    f.cmd(
        "Top CPU consumers",
        "kubectl top pods -A --sort-by=cpu | head -20".to_string(),
    );
    f.cmd("Node usage", "kubectl top nodes".to_string());
    Some(f.with_score(0.5))
}

/// Node disk almost full, typically from unrotated container logs.
fn disk_full(ctx: &Ctx<'_>) -> Option<Finding> {
    let fs = ctx.series("node_filesystem_used_ratio");
    let nospace = ctx.logs_with(&["no space left on device"]);
    let disk_events: Vec<&KubeEvent> = ctx.events_with(&[
        "diskpressure",
        "ephemeral-storage",
        "nodefs",
        "freediskspacefailed",
        "imagegcfailed",
    ]);
    let mut f = Finding::new("disk-full", "Node disk full (unrotated logs)");
    let full = fs.is_some_and(|s| s.peak() >= 0.85);
    if !full && nospace.is_empty() && disk_events.is_empty() {
        if ctx.mentions(&["disk", "filesystem", "no space", "inode"]) {
            f.root_cause = format!(
                "A disk of {} (per the alert) is filling up — most often container or application logs that are not rotated, or images/volumes growing.",
                ctx.deployment
            );
            f.summary = "A disk is almost full.".into();
            f.missing("no node_filesystem_used_ratio data");
            f.cmd(
                "Disk pressure on nodes",
                "kubectl describe nodes | grep -i -A2 DiskPressure".to_string(),
            );
            return Some(f.with_score(0.45).into_hint(ctx));
        }
        let s = fs?;
        return Some(Finding::rejected(
            "disk-full",
            "Disk full",
            vec![format!("disk at most {} used", pct(s.peak()))],
        ));
    }
    let mut score: f64 = 0.0;
    let node = fs
        .and_then(|s| s.label(NODE_LABELS).map(str::to_string))
        .or_else(|| disk_events.iter().find_map(|e| ctx.pod_node(&e.object)))
        .or_else(|| {
            disk_events
                .iter()
                .find_map(|e| e.object.strip_prefix("Node/").map(str::to_string))
        })
        .or_else(|| ctx.pods.iter().find_map(|p| p.node.clone()))
        .unwrap_or_else(|| "<node>".into());
    let mut growth = String::new();
    if let Some(s) = fs {
        score += if s.peak() >= 0.95 {
            0.7
        } else if full {
            0.6
        } else {
            0.2
        };
        let since = s.change_point(1.05, 0.02).map(|c| c.0);
        let hours = match (s.points.first(), s.points.last()) {
            (Some(a), Some(b)) if b.0 > a.0 => (b.0 - a.0).num_minutes() as f64 / 60.0,
            _ => 0.0,
        };
        let rate = if hours > 0.0 {
            format!(
                ", growing {} percentage points/h",
                num((s.last() - s.first()) * 100.0 / hours)
            )
        } else {
            String::new()
        };
        growth = format!(
            " ({} → {}{}{rate})",
            pct(s.first()),
            pct(s.peak()),
            since
                .map(|t| format!(" since {}", hm(t)))
                .unwrap_or_default()
        );
        f.for_(format!(
            "node filesystem {} → {} used",
            pct(s.first()),
            pct(s.peak())
        ));
        f.metric(
            "disk used",
            format!("{} → {}", pct(s.first()), pct(s.peak())),
        );
        f.at_opt(since, "disk usage starts climbing");
        if let Some(at) = s.peak_at() {
            f.at(at, format!("disk reaches {}", pct(s.peak())));
        }
    }
    if let Some(l) = nospace.first() {
        score += 0.15;
        f.for_(format!(
            "{} log lines: \"{}\"",
            nospace.len(),
            quote(&l.rec.body, 120)
        ));
        f.at_opt(l.ts, "writes fail: no space left on device");
    }
    if let Some(e) = disk_events.first() {
        score += 0.1;
        f.for_(format!("{}: {}", e.reason, quote(&e.message, 100)));
        f.at_opt(
            e.timestamp,
            format!("{}: {}", e.reason, quote(&e.message, 70)),
        );
    }
    let log_ev: Vec<String> = ctx
        .logs_with(&[
            "/var/log",
            "log rotation",
            "logrotate",
            "container log",
            "log file",
        ])
        .iter()
        .map(|l| quote(&l.rec.body, 100))
        .chain(
            ctx.events_with(&["/var/log", "log rotation", "container log"])
                .iter()
                .map(|e| quote(&e.message, 100)),
        )
        .take(1)
        .collect();
    let cause = match log_ev.first() {
        Some(q) => {
            score += 0.05;
            f.for_(format!("log growth: \"{q}\""));
            format!("container logs are not rotated and fill it (\"{q}\")")
        }
        None => {
            "the steady growth matches container logs that are not rotated (under /var/log/pods)"
                .into()
        }
    };
    let fail = if nospace.is_empty() {
        String::new()
    } else {
        "; writes now fail with \"no space left on device\"".into()
    };
    let used = fs.map(|s| pct(s.peak())).unwrap_or_else(|| "almost".into());
    f.root_cause = format!("Node {node}'s disk is {used} full{growth}: {cause}{fail}.");
    f.summary = format!("Node {node}'s disk is {used} full, filled by unrotated logs.");
    f.cmd(
        "Disk pressure and conditions",
        format!("kubectl describe node {node} | grep -i -A3 -E 'DiskPressure|ephemeral'"),
    );
    f.cmd(
        "What fills the disk (largest log directories)",
        format!(
            "kubectl debug node/{node} -it --image=busybox -- sh -c 'du -sh /host/var/log/pods/* /host/var/log/containers 2>/dev/null | sort -h | tail -10'"
        ),
    );
    f.step("Truncate the biggest log file(s) (not delete while open), then fix rotation: kubelet containerLogMaxSize/containerLogMaxFiles or the app's own log file rotation");
    f.prevent("Configure log rotation (kubelet containerLogMaxSize=50Mi, containerLogMaxFiles=5) and log to stdout, not files in the container");
    f.prevent("Alert on node_filesystem_used_ratio > 80% and on its growth rate");
    Some(f.with_score(score.min(0.93)))
}

/// HPA events showing the autoscaler pinned at its maximum.
fn hpa_at_max<'a>(ctx: &Ctx<'a>) -> (Vec<&'a KubeEvent>, bool) {
    let hpa: Vec<&KubeEvent> = ctx
        .events
        .iter()
        .copied()
        .filter(|e| {
            e.object.starts_with("HorizontalPodAutoscaler/")
                || matches!(
                    e.reason.as_str(),
                    "SuccessfulRescale" | "ScalingLimited" | "TooManyReplicas"
                )
        })
        .collect();
    let at_max = hpa.iter().any(|e| {
        ["max", "toomanyreplicas", "scalinglimited"]
            .iter()
            .any(|n| contains_ci(&e.message, n) || contains_ci(&e.reason, n))
    });
    (hpa, at_max)
}

/// CPU saturation from a traffic surge, HPA at max replicas.
fn cpu_traffic(ctx: &Ctx<'_>) -> Option<Finding> {
    let (ratio, rate) = traffic(ctx)?;
    let cpu = ctx.series("container_cpu_usage_ratio");
    let (hpa, at_max) = hpa_at_max(ctx);
    let mut f = Finding::new(
        "cpu-traffic",
        format!("Traffic surge saturating {}'s CPU", ctx.deployment),
    );
    if ratio < 2.0 {
        if cpu.is_none() && hpa.is_empty() {
            return None;
        }
        return Some(Finding::rejected(
            "cpu-traffic",
            "Traffic surge saturating CPU",
            vec![format!("traffic flat: {}", flat_traffic_text(rate))],
        ));
    }
    let mut score: f64 = 0.45;
    let since = rate.change_point(1.5, 1.0).map(|c| c.0);
    f.for_(format!(
        "request rate rose {}x ({} req/s)",
        num(ratio),
        arrow(rate, "")
    ));
    f.at_opt(
        since,
        format!("traffic surge starts ({} req/s)", arrow(rate, "")),
    );
    f.metric("request rate", format!("{} req/s", arrow(rate, "")));
    let mut cpu_text = String::new();
    if let Some(c) = cpu {
        if c.peak() >= 0.8 {
            score += 0.15;
            cpu_text = format!(", so each pod runs at {} of its CPU limit", pct(c.peak()));
        }
        f.for_(format!("CPU used/limit {}", format_ratio_arrow(c)));
        f.metric("CPU used / limit", format_ratio_arrow(c));
    }
    // The HPA's last rescale is long past while CPU stays high: it is pinned at its maximum.
    let last_rescale = hpa.iter().rev().find_map(|e| e.timestamp);
    let pinned = !at_max
        && last_rescale.is_some_and(|t| (ctx.now - t).num_minutes() >= 10)
        && cpu.is_some_and(|c| c.last() >= 0.8);
    let at_max = at_max || pinned;
    let hpa_text = if at_max {
        score += 0.25;
        let e = hpa
            .iter()
            .rev()
            .find(|e| contains_ci(&e.message, "max") || contains_ci(&e.reason, "limited"))
            .or(hpa.last());
        if let Some(e) = e {
            f.for_(format!(
                "{} {}: {}",
                e.reason,
                e.object,
                quote(&e.message, 120)
            ));
            f.at_opt(
                e.timestamp,
                format!("HPA at its maximum: {}", quote(&e.message, 80)),
            );
        }
        let max = hpa
            .iter()
            .rev()
            .find_map(|e| word_after(&e.message, "New size:"))
            .map(|n| format!(" of {} replicas", n.trim_end_matches(';')))
            .unwrap_or_default();
        format!("and the HPA is already at its maximum{max} and cannot add capacity")
    } else if !hpa.is_empty() {
        score += 0.1;
        for e in hpa.iter().take(2) {
            f.at_opt(e.timestamp, format!("HPA: {}", quote(&e.message, 80)));
        }
        "and the HPA is scaling but not fast/far enough".to_string()
    } else {
        f.missing("no HPA events: could not confirm whether the autoscaler reached its maximum");
        "and the HPA did not add enough replicas".to_string()
    };
    if let Some(t) = ctx.series("container_cpu_throttled_ratio") {
        if t.peak() < 0.25 {
            score += 0.05;
            f.for_(format!(
                "no throttling from limits: throttled ratio {}",
                pct(t.peak())
            ));
        } else {
            f.against(format!("CPU throttled {} too", pct(t.peak())));
        }
    }
    f.root_cause = format!(
        "CPU saturation in {} comes from a traffic surge: the request rate rose {}x ({} req/s{}) {hpa_text}{cpu_text}.",
        ctx.deployment,
        num(ratio),
        arrow(rate, ""),
        since
            .map(|t| format!(" from {}", hm(t)))
            .unwrap_or_default()
    );
    f.summary = format!(
        "{} is CPU-saturated by a {}x traffic surge with the HPA at its limit.",
        ctx.deployment,
        num(ratio)
    );
    f.cmd(
        "HPA state (current vs max replicas)",
        ctx.kubectl("get hpa -o wide"),
    );
    f.cmd(
        "Raise the HPA's ceiling if the cluster has room",
        ctx.kubectl(&format!(
            "patch hpa {} --patch '{{\"spec\":{{\"maxReplicas\":{}}}}}'",
            ctx.deployment,
            2 * ctx
                .services
                .iter()
                .filter_map(|s| s.deployment.as_ref())
                .find(|d| d.name == ctx.deployment)
                .map(|d| d.desired.max(1))
                .unwrap_or(10)
        )),
    );
    f.cmd(
        "CPU per pod",
        format!("kubectl top pod -n {} -l app={}", ctx.ns, ctx.service),
    );
    f.step("Find where the traffic comes from (new client, bot, retry storm) and rate-limit it if it is not legitimate");
    f.prevent(
        "Size the HPA's maxReplicas for peak traffic and alert when it sits at max for 10 minutes",
    );
    f.prevent("Load-test to know requests/s per pod; rate-limit at the edge");
    Some(f.with_score(score.min(0.92)))
}

/// Node MemoryPressure: the kubelet evicts pods.
fn node_memory_pressure(ctx: &Ctx<'_>) -> Option<Finding> {
    let ev: Vec<&KubeEvent> = ctx
        .events
        .iter()
        .copied()
        .filter(|e| {
            let mem = contains_ci(&e.message, "memory") || contains_ci(&e.reason, "memory");
            (mem && (contains_ci(&e.reason, "evict") || contains_ci(&e.message, "evict")))
                || contains_ci(&e.reason, "NodeHasInsufficientMemory")
                || contains_ci(&e.message, "MemoryPressure")
                || (contains_ci(&e.reason, "EvictionThresholdMet") && mem)
        })
        .collect();
    let node_mem = ctx.series("node_memory_used_ratio");
    let mut f = Finding::new("node-memory-pressure", "Node MemoryPressure evicting pods");
    if ev.is_empty() {
        if ctx.mentions(&["memorypressure", "memory pressure", "evict"]) {
            f.root_cause = format!(
                "A node running {} is under MemoryPressure (per the alert): the kubelet evicts pods to reclaim memory.",
                ctx.deployment
            );
            f.summary = "Node memory pressure is evicting pods.".into();
            f.missing("no node events or node memory metrics");
            f.cmd(
                "Node conditions",
                "kubectl describe nodes | grep -A2 MemoryPressure".to_string(),
            );
            return Some(f.with_score(0.45).into_hint(ctx));
        }
        let n = node_mem?;
        if n.peak() >= 0.9 {
            return None;
        }
        return Some(Finding::rejected(
            "node-memory-pressure",
            "Node memory pressure",
            vec![format!("node memory at most {} used", pct(n.peak()))],
        ));
    }
    let mut score: f64 = 0.65;
    let node = ev
        .iter()
        .find_map(|e| e.object.strip_prefix("Node/").map(str::to_string))
        .or_else(|| ev.iter().find_map(|e| ctx.pod_node(&e.object)))
        .or_else(|| node_mem.and_then(|s| s.label(NODE_LABELS).map(str::to_string)))
        .or_else(|| {
            ctx.pods
                .iter()
                .find(|p| p.phase == "Failed")
                .and_then(|p| p.node.clone())
        })
        .or_else(|| ctx.pods.iter().find_map(|p| p.node.clone()))
        .unwrap_or_else(|| "<node>".into());
    let evicted: Vec<String> = ev
        .iter()
        .filter(|e| contains_ci(&e.reason, "evict"))
        .filter_map(|e| e.object.strip_prefix("Pod/").map(str::to_string))
        .take(4)
        .collect();
    if ev.iter().any(|e| {
        contains_ci(&e.message, "MemoryPressure") || contains_ci(&e.reason, "memorypressure")
    }) {
        score += 0.15;
    }
    for e in ev.iter().take(3) {
        f.for_(format!(
            "{} {}: {}",
            e.reason,
            e.object,
            quote(&e.message, 100)
        ));
    }
    for e in ev.iter().take(6) {
        f.at_opt(e.timestamp, format!("{} {}", e.reason, e.object));
    }
    let mut used = String::new();
    if let Some(n) = node_mem {
        if n.peak() >= 0.85 {
            score += 0.1;
        }
        used = format!(" (node memory {} used)", pct(n.peak()));
        f.metric("node memory used", format_ratio_arrow(n));
        f.at_opt(n.change_point(1.1, 0.05).map(|c| c.0), "node memory climbs");
    }
    let mut consumer = String::new();
    if let Some(w) = ctx
        .all_series("container_memory_working_set_bytes")
        .filter(|w| w.peak() - w.first() > 256.0 * 1024.0 * 1024.0 && w.peak() >= 2.0 * w.first())
        .max_by(|a, b| (a.peak() - a.first()).total_cmp(&(b.peak() - b.first())))
    {
        let who = w
            .label(&["k8s.pod.name", "pod", "service.name"])
            .unwrap_or("a container")
            .to_string();
        f.for_(format!(
            "{who} working set {} → {}",
            bytes(w.first()),
            bytes(w.peak())
        ));
        f.metric(
            format!("{who} working set"),
            format!("{} → {}", bytes(w.first()), bytes(w.peak())),
        );
        consumer = format!(
            "; the memory is taken by {who}, whose working set grew {} → {}",
            bytes(w.first()),
            bytes(w.peak())
        );
    }
    f.metric(
        "evicted pods",
        ev.iter()
            .filter(|e| contains_ci(&e.reason, "evict"))
            .count()
            .to_string(),
    );
    let msg = ev
        .iter()
        .find(|e| contains_ci(&e.reason, "evict"))
        .map(|e| format!(": \"{}\"", quote(&e.message, 120)))
        .unwrap_or_default();
    f.root_cause = format!(
        "Node {node} is under MemoryPressure{used}: the kubelet is evicting pods to reclaim memory ({}){msg}{consumer}.",
        if evicted.is_empty() {
            "evictions in the events".into()
        } else {
            evicted.join(", ")
        }
    );
    f.summary = format!("Node {node} ran low on memory and the kubelet is evicting pods.");
    f.cmd(
        "Node conditions and allocated memory",
        format!("kubectl describe node {node}"),
    );
    f.cmd(
        "Biggest memory users",
        "kubectl top pods -A --sort-by=memory | head -20".to_string(),
    );
    f.cmd(
        "Evicted pods",
        ctx.kubectl("get pods --field-selector=status.phase=Failed -o wide"),
    );
    f.step(format!("Cordon {node} if it keeps evicting, and set memory requests = real usage for the heaviest pods"));
    f.prevent("Set memory requests close to real usage (VPA recommendations) so the scheduler does not overcommit nodes");
    f.prevent("Reserve memory for the system (kubelet system-reserved / eviction-hard) and alert on node memory > 85%");
    Some(f.with_score(score.min(0.92)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("512Mi"), Some(512.0 * 1024.0 * 1024.0));
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("1Gi"), Some(1024.0 * 1024.0 * 1024.0));
        assert_eq!(parse_quantity("bogus"), None);
        assert_eq!(parse_quantity(""), None);
    }
}
