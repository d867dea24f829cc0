//! Disk full: a node filesystem filling up (`no space left on device`, the kubelet's image and
//! log garbage collection failing), most often container logs that are not rotated.

use crate::evidence::KubeEvent;
use crate::llm::offline::common::NODE_LABELS;
use crate::llm::offline::common::{Ctx, Finding, hm, num, pct, quote};

/// Node disk almost full, typically from unrotated container logs.
pub(crate) fn disk_full(ctx: &Ctx<'_>) -> Option<Finding> {
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
