//! Container and Job failures: OOM kills, exit codes (127, 139, 1…) with the previous container's
//! last error line, configuration objects that do not exist, Jobs past their backoff limit or
//! deadline.
//!
//! Causality: an OOM kill or an exit code explains the restarts and the CrashLoopBackOff, so the
//! back-off alone is a weak cause; an error class in the crashing container's own log (a missing
//! setting, an authentication failure, a name that does not resolve) explains its exit code.

use super::{Facts, base_score, cite, note_rollout, pod_name};
use crate::findings::{Finding as Fact, LogClass, Strength};
use crate::llm::offline::common::{Finding, quote};

/// The container name of a container finding's detail (`container X of pod …`).
pub(crate) fn container_of(f: &Fact) -> Option<&str> {
    f.detail.strip_prefix("container ")?.split(' ').next()
}

/// The image of a pod's container, from the pod list.
fn image_of(facts: &Facts<'_>, pod: &str, container: Option<&str>) -> Option<String> {
    let p = facts.ctx.pods.iter().find(|p| p.name == pod)?;
    p.containers
        .iter()
        .find(|c| container.is_none_or(|n| c.name == n))
        .map(|c| c.image.clone())
}

/// The usual first checks of a failing pod.
fn pod_checks(c: &mut Finding, facts: &Facts<'_>, pod: &str, container: Option<&str>) {
    let ns = facts.ns_of_pod(pod);
    let ns = ns.as_deref();
    let cflag = container.map(|n| format!(" -c {n}")).unwrap_or_default();
    c.cmd(
        "Read the previous container's last lines (why it exited)",
        facts.kubectl(ns, &format!("logs {pod}{cflag} --previous --tail=200")),
    );
    c.cmd(
        "Last state, exit code, restarts and events of the pod",
        facts.kubectl(ns, &format!("describe pod {pod}")),
    );
}

/// Rollback or history of the target's workload, when it has one.
fn workload_history(c: &mut Finding, facts: &Facts<'_>) {
    if let Some(w) = facts.rollout_ref() {
        let ns = facts.ns();
        c.cmd(
            format!("Revisions of {w} (what changed last)"),
            facts.kubectl(ns.as_deref(), &format!("rollout history {w}")),
        );
    }
}

/// Facts about containers, target first.
fn container_facts<'f>(facts: &'f Facts<'_>, names: &[&str]) -> Vec<&'f Fact> {
    facts.target_first(facts.with(names))
}

/// Discount for a finding about another object than the target.
fn off_target(facts: &Facts<'_>, f: &Fact) -> f64 {
    if facts.about_target(f) { 0.0 } else { 0.08 }
}

/// `OOMKilled` (or an out-of-memory error in the log): the container needs more memory than
/// its limit; the restarts and the back-off are its effect.
pub(crate) fn oom_killed(facts: &Facts<'_>) -> Vec<Finding> {
    let ooms = container_facts(facts, &["oom_killed"]);
    let Some(f) = ooms.first() else {
        return Vec::new();
    };
    let pod = pod_name(&f.subject);
    let container = container_of(f);
    let mut c = Finding::new(
        "general-oom-killed",
        format!("{pod} OOMKilled: memory above its limit"),
    );
    c.score = base_score(Strength::Decisive) + 0.03 - off_target(facts, f);
    cite(&mut c, f);
    let mut growth = String::new();
    if let Some(s) = facts.ctx.series("container_memory_working_set_bytes")
        && s.first() > 0.0
        && s.peak() > s.first() * 1.5
    {
        growth = format!(
            " Its working set grew from {} to {} over the window: a memory leak (or a load that outgrows the limit), not a one-off spike.",
            crate::llm::offline::common::bytes(s.first()),
            crate::llm::offline::common::bytes(s.peak())
        );
        c.for_(format!(
            "container_memory_working_set_bytes {} → {}",
            crate::llm::offline::common::bytes(s.first()),
            crate::llm::offline::common::bytes(s.peak())
        ));
    }
    c.root_cause = format!(
        "The {}: the kernel's OOM killer stopped it (lastState.terminated.reason OOMKilled), and the restarts and CrashLoopBackOff follow from it.{growth}",
        f.detail
    );
    c.summary = format!("{pod} is OOMKilled: it needs more memory than its limit.");
    if ooms.len() > 1 {
        c.for_(format!("{} containers were OOMKilled", ooms.len()));
    }
    note_rollout(&mut c, facts);
    pod_checks(&mut c, facts, pod, container);
    let ns = facts.ns_of_pod(pod);
    c.cmd(
        "Memory use per container now",
        facts.kubectl(ns.as_deref(), &format!("top pod {pod} --containers")),
    );
    let owner = facts.object_ref().unwrap_or_else(|| format!("pod/{pod}"));
    c.step(format!(
        "Raise the memory limit of {} in {owner} to what it needs at peak, or cut what it holds in memory",
        container.unwrap_or("the container")
    ));
    c.prevent("Alert on working set above 90% of the memory limit before the OOM killer acts");
    c.metric("restarts", f.count.to_string());
    vec![c]
}

/// A container that exits (code 127, 139, 1…) with, when its log says it, the error class of its
/// last error line. The CrashLoopBackOff alone (no exit reason) is a weak cause.
pub(crate) fn crash_exit(facts: &Facts<'_>) -> Vec<Finding> {
    const EXITS: &[&str] = &[
        "command_not_found",
        "not_executable",
        "segfault",
        "aborted",
        "exit_error",
        "exited_cleanly",
        "cannot_run",
        "killed_sigkill",
        "terminated_sigterm",
    ];
    let probes_kill = !facts.with(&["liveness_probe_failed"]).is_empty();
    let oom = !facts.with(&["oom_killed"]).is_empty();
    let exits: Vec<&Fact> = container_facts(facts, EXITS)
        .into_iter()
        .filter(|f| {
            // A kill after failed liveness probes is the probe's cause (see probes.rs).
            !(probes_kill && matches!(f.fact.as_str(), "killed_sigkill" | "terminated_sigterm"))
        })
        .collect();
    let backoff = container_facts(facts, &["crash_loop_back_off"]);
    let Some(f) = exits.first().or(if oom { None } else { backoff.first() }) else {
        return Vec::new();
    };
    let pod = pod_name(&f.subject);
    let container = container_of(f);
    let line = facts.last_error_line(pod);
    let image = image_of(facts, pod, container);
    let image_words = image.map(|i| format!(" (image {i})")).unwrap_or_default();
    let mut c = Finding::new("general-crash-exit", format!("{pod} exits: {}", f.fact));
    cite(&mut c, f);
    let mut effect = String::new();
    if f.fact != "crash_loop_back_off"
        && let Some(b) = backoff.iter().find(|b| b.subject == f.subject)
    {
        c.for_(format!("effect: {}", b.detail));
        effect = " The CrashLoopBackOff is its effect.".to_string();
    }
    let strength_score = base_score(f.strength) - off_target(facts, f);
    let (score, why) = match (f.fact.as_str(), line) {
        ("segfault", _) => (
            strength_score,
            "a native crash (SIGSEGV: the runtime, a native module or the image's C library), not a memory limit (no OOMKilled)".to_string(),
        ),
        ("command_not_found" | "not_executable", Some((_, l))) => (
            strength_score,
            format!("the image lacks the command it runs: \"{}\"", quote(l, 160)),
        ),
        ("command_not_found" | "not_executable", None) => (
            strength_score,
            "the image lacks the command it runs (exit 127: not found; 126: not executable)"
                .to_string(),
        ),
        (_, Some((class, l))) if !matches!(class, LogClass::SlowOperation | LogClass::Timeout) => (
            0.84 - off_target(facts, f),
            format!(
                "its last error log line reports {}: \"{}\"",
                if class == LogClass::MissingConfig {
                    "a missing or invalid configuration setting"
                } else {
                    class.words()
                },
                quote(l, 200)
            ),
        ),
        ("crash_loop_back_off", _) => (
            0.45,
            "the exit reason and the previous container's log are not in the evidence".to_string(),
        ),
        _ => (
            strength_score.min(0.6),
            "its log shows no error class that says why".to_string(),
        ),
    };
    c.score = score;
    if let Some((_, l)) = line {
        c.for_(format!("last error line of {pod}: \"{}\"", quote(l, 200)));
    }
    c.root_cause = format!("The {}{image_words}: {why}.{effect}", f.detail);
    c.summary = format!("{pod} keeps exiting: {why}.");
    c.cause = format!("{pod}: {}", quote(&why, 90));
    note_rollout(&mut c, facts);
    pod_checks(&mut c, facts, pod, container);
    workload_history(&mut c, facts);
    if score < 0.6 {
        c.missing(format!(
            "the exit code and last log lines of {pod}'s previous container"
        ));
    }
    vec![c]
}

/// A container that cannot be created because the Secret or ConfigMap (or a key in it) it
/// refers to does not exist.
pub(crate) fn missing_config_object(facts: &Facts<'_>) -> Vec<Finding> {
    let found = container_facts(
        facts,
        &[
            "missing_secret",
            "missing_configmap",
            "container_config_error",
        ],
    );
    let Some(f) = found.first() else {
        return Vec::new();
    };
    let pod = pod_name(&f.subject);
    let mut c = Finding::new(
        "general-missing-config-object",
        format!("{pod}: configuration object missing"),
    );
    c.score = base_score(f.strength) - off_target(facts, f);
    cite(&mut c, f);
    let said = f.cites.first().cloned().unwrap_or_default();
    c.root_cause = format!(
        "The {}: CreateContainerConfigError ({}).",
        f.detail,
        quote(&said, 200)
    );
    c.summary = format!("{pod} cannot start: a Secret or ConfigMap it needs is missing.");
    note_rollout(&mut c, facts);
    let ns = facts.ns_of_pod(pod);
    c.cmd(
        "Which object or key is missing",
        facts.kubectl(ns.as_deref(), &format!("describe pod {pod}")),
    );
    c.cmd(
        "The Secrets and ConfigMaps that exist",
        facts.kubectl(ns.as_deref(), "get secrets,configmaps"),
    );
    vec![c]
}

/// A Job that failed: past its `activeDeadlineSeconds` (DeadlineExceeded) or its `backoffLimit`
/// (BackoffLimitExceeded), with the error its pods log.
pub(crate) fn job_failed(facts: &Facts<'_>) -> Vec<Finding> {
    let found =
        facts.target_first(facts.with(&["job_deadline_exceeded", "job_backoff_limit_exceeded"]));
    let Some(f) = found.first() else {
        return Vec::new();
    };
    let job = f
        .subject
        .split_once('/')
        .map_or(f.subject.as_str(), |s| s.1);
    let ns = facts.ns();
    let mut c = Finding::new("general-job-failed", format!("Job {job} failed"));
    cite(&mut c, f);
    let mut pods: Vec<&str> = facts
        .ctx
        .pods
        .iter()
        .map(|p| p.name.as_str())
        .chain(facts.ctx.logs.iter().filter_map(|l| l.pod))
        .filter(|p| super::belongs_to(p, job))
        .collect();
    pods.dedup();
    let line = pods.iter().find_map(|p| facts.last_error_line(p));
    // A Job the alert is not about is a rival, not the answer.
    let discount = if facts.about_target(f) { 0.0 } else { 0.2 };
    if f.fact == "job_deadline_exceeded" {
        c.score = 0.88 - discount;
        c.root_cause = format!(
            "Job {job} ran longer than its spec.activeDeadlineSeconds: the Job controller terminated its pods (DeadlineExceeded) before the work finished. {}",
            f.detail
        );
        c.summary = format!("Job {job} hit its activeDeadlineSeconds and was stopped.");
        c.step(
            "Compare the work's real duration (its progress log lines) with activeDeadlineSeconds; raise the deadline or split the work",
        );
    } else {
        let (score, why) = match line {
            Some((class, l)) if !matches!(class, LogClass::SlowOperation) => (
                0.87,
                format!(
                    "its pods fail with {}: \"{}\"",
                    class.words(),
                    quote(l, 200)
                ),
            ),
            _ => (
                0.6,
                "the evidence does not show why its pods fail".to_string(),
            ),
        };
        c.score = score - discount;
        c.root_cause = format!("Job {job} reached its backoffLimit (BackoffLimitExceeded): {why}.");
        c.summary = format!("Job {job} failed: {why}.");
    }
    c.cmd(
        "The Job's conditions and its pods' exit codes",
        facts.kubectl(ns.as_deref(), &format!("describe job/{job}")),
    );
    c.cmd(
        "The last lines its pods wrote",
        facts.kubectl(ns.as_deref(), &format!("logs job/{job} --tail=200")),
    );
    vec![c]
}
