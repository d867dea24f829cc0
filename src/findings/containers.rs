//! Container states as the kubelet reports them: the last termination (reason and exit code),
//! and why a container is waiting.
//!
//! Exit codes follow the POSIX shell convention every runtime uses: 0 a normal exit, 1 (and
//! other small codes) an application error, 126 not executable, 127 command not found, and
//! 128 + N killed by signal N (137 = SIGKILL, which is what the OOM killer sends; 139 = SIGSEGV;
//! 134 = SIGABRT; 143 = SIGTERM). `OOMKilled` as the reason is the kernel's word; a 137 without
//! it is a kill from elsewhere (a failed liveness probe, eviction, `kubectl delete`).

use crate::evidence::{ContainerState, Evidence, PodState};
use crate::findings::{Finding, FindingKind, PullProblem, Strength, clip, has_any, pull_problem};

/// How a container's last run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    OomKilled,
    /// SIGKILL without `OOMKilled`.
    Killed,
    Segfault,
    Aborted,
    /// SIGTERM: stopped from outside (a rollout, eviction, probe) and exited as asked.
    Terminated,
    CommandNotFound,
    NotExecutable,
    /// Exit 1-125: the program exited with an error.
    AppError,
    /// Exit 0 while the pod wants it running.
    ExitedCleanly,
    /// The runtime could not start it (`ContainerCannotRun`, `StartError`).
    CannotRun,
    Other,
}

impl Termination {
    /// The fact name of a termination.
    pub fn fact(self) -> &'static str {
        match self {
            Termination::OomKilled => "oom_killed",
            Termination::Killed => "killed_sigkill",
            Termination::Segfault => "segfault",
            Termination::Aborted => "aborted",
            Termination::Terminated => "terminated_sigterm",
            Termination::CommandNotFound => "command_not_found",
            Termination::NotExecutable => "not_executable",
            Termination::AppError => "exit_error",
            Termination::ExitedCleanly => "exited_cleanly",
            Termination::CannotRun => "cannot_run",
            Termination::Other => "terminated",
        }
    }

    fn words(self, code: Option<i32>) -> String {
        let code = code
            .map(|c| format!(" (exit code {c})"))
            .unwrap_or_default();
        match self {
            Termination::OomKilled => {
                format!("was OOMKilled{code}: it used more memory than its limit")
            }
            Termination::Killed => format!(
                "was killed with SIGKILL{code}, not by the OOM killer (a failed liveness probe, an eviction or a delete)"
            ),
            Termination::Segfault => format!("crashed with a segmentation fault{code}"),
            Termination::Aborted => {
                format!("aborted{code} (SIGABRT: an assertion or a fatal runtime error)")
            }
            Termination::Terminated => format!("was stopped with SIGTERM{code}"),
            Termination::CommandNotFound => {
                format!("could not start its command{code}: command not found")
            }
            Termination::NotExecutable => {
                format!("could not run its command{code}: not executable")
            }
            Termination::AppError => format!("exited with an error{code}"),
            Termination::ExitedCleanly => {
                format!("exited normally{code} although it should keep running")
            }
            Termination::CannotRun => format!("could not be started by the runtime{code}"),
            Termination::Other => format!("terminated{code}"),
        }
    }
}

/// Classify a termination from its reason and exit code.
pub fn termination_of(reason: Option<&str>, exit_code: Option<i32>) -> Termination {
    let reason = reason.unwrap_or_default();
    if reason.eq_ignore_ascii_case("OOMKilled") {
        return Termination::OomKilled;
    }
    if has_any(
        reason,
        &["ContainerCannotRun", "StartError", "CreateContainerError"],
    ) {
        return match exit_code {
            Some(127) => Termination::CommandNotFound,
            Some(126) => Termination::NotExecutable,
            _ => Termination::CannotRun,
        };
    }
    match exit_code {
        Some(0) => Termination::ExitedCleanly,
        Some(126) => Termination::NotExecutable,
        Some(127) => Termination::CommandNotFound,
        Some(137) => Termination::Killed,
        Some(139) => Termination::Segfault,
        Some(134) => Termination::Aborted,
        Some(143) => Termination::Terminated,
        Some(c) if (1..=125).contains(&c) => Termination::AppError,
        _ if reason.eq_ignore_ascii_case("Error") => Termination::AppError,
        _ => Termination::Other,
    }
}

fn subject(pod: &PodState) -> String {
    format!("Pod/{}", pod.name)
}

/// The termination finding of one container, when it has a last termination.
fn last_termination(pod: &PodState, c: &ContainerState) -> Option<Finding> {
    let (reason, code) = match (c.last_termination_reason.as_deref(), c.last_exit_code) {
        (None, None) if c.state == "terminated" => (c.reason.as_deref(), None),
        (None, None) => return None,
        (r, code) => (r, code),
    };
    let kind = termination_of(reason, code);
    let strength = match kind {
        Termination::OomKilled
        | Termination::CommandNotFound
        | Termination::NotExecutable
        | Termination::Segfault
        | Termination::CannotRun => Strength::Decisive,
        Termination::Terminated | Termination::Other => Strength::Weak,
        _ => Strength::Strong,
    };
    let limit = match (kind, c.memory_limit.as_deref()) {
        (Termination::OomKilled, Some(l)) => format!(" (memory limit {l})"),
        _ => String::new(),
    };
    let detail = format!(
        "container {} of pod {} {}{limit}; {} restart{}",
        c.name,
        pod.name,
        kind.words(code),
        c.restart_count,
        if c.restart_count == 1 { "" } else { "s" }
    );
    let mut f = Finding::new(
        FindingKind::Termination,
        kind.fact(),
        subject(pod),
        detail,
        strength,
    )
    .at(c.last_finished_at)
    .count(c.restart_count);
    if let Some(r) = reason {
        f = f.cite(format!("lastState.terminated.reason: {r}"));
    }
    if let Some(code) = code {
        f = f.cite(format!("exitCode: {code}"));
    }
    Some(f)
}

/// The waiting finding of one container, when it waits for a reason worth reporting.
fn waiting(pod: &PodState, c: &ContainerState) -> Option<Finding> {
    if c.state != "waiting" {
        return None;
    }
    let reason = c.reason.as_deref()?;
    let message = c.message.as_deref().unwrap_or_default();
    let cite = if message.is_empty() {
        format!("waiting: {reason}")
    } else {
        format!("waiting: {reason}: {}", clip(message, 200))
    };
    let (fact, detail, strength) = match reason {
        "CrashLoopBackOff" => (
            "crash_loop_back_off",
            format!(
                "container {} of pod {} is in CrashLoopBackOff after {} restarts",
                c.name, pod.name, c.restart_count
            ),
            Strength::Strong,
        ),
        "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "ErrImageNeverPull" => {
            let problem = pull_problem(reason, message);
            (
                problem.fact(),
                format!(
                    "container {} of pod {} cannot pull image {} ({reason})",
                    c.name, pod.name, c.image
                ),
                if problem == PullProblem::Unknown {
                    Strength::Strong
                } else {
                    Strength::Decisive
                },
            )
        }
        "CreateContainerConfigError" => (
            if has_any(message, &["secret"]) {
                "missing_secret"
            } else if has_any(message, &["configmap"]) {
                "missing_configmap"
            } else {
                "container_config_error"
            },
            format!(
                "container {} of pod {} cannot be created: its configuration refers to something missing",
                c.name, pod.name
            ),
            Strength::Decisive,
        ),
        "CreateContainerError" | "RunContainerError" => (
            "cannot_run",
            format!(
                "container {} of pod {} cannot be started ({reason})",
                c.name, pod.name
            ),
            Strength::Decisive,
        ),
        _ => return None,
    };
    Some(
        Finding::new(FindingKind::Waiting, fact, subject(pod), detail, strength)
            .cite(cite)
            .count(c.restart_count),
    )
}

/// Termination and waiting findings of every container of every pod seen.
pub fn container_findings(evidence: &Evidence) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for pod in evidence.pods() {
        if !seen.insert((pod.namespace.clone(), pod.name.clone())) {
            continue;
        }
        for c in &pod.containers {
            out.extend(last_termination(pod, c));
            out.extend(waiting(pod, c));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_and_reasons() {
        assert_eq!(
            termination_of(Some("OOMKilled"), Some(137)),
            Termination::OomKilled
        );
        assert_eq!(
            termination_of(Some("Error"), Some(137)),
            Termination::Killed
        );
        assert_eq!(
            termination_of(Some("Error"), Some(1)),
            Termination::AppError
        );
        assert_eq!(
            termination_of(Some("Error"), Some(139)),
            Termination::Segfault
        );
        assert_eq!(
            termination_of(Some("Error"), Some(134)),
            Termination::Aborted
        );
        assert_eq!(
            termination_of(Some("Error"), Some(143)),
            Termination::Terminated
        );
        assert_eq!(
            termination_of(Some("ContainerCannotRun"), Some(127)),
            Termination::CommandNotFound
        );
        assert_eq!(
            termination_of(Some("StartError"), Some(128)),
            Termination::CannotRun
        );
        assert_eq!(
            termination_of(Some("Error"), Some(127)),
            Termination::CommandNotFound
        );
        assert_eq!(
            termination_of(Some("Completed"), Some(0)),
            Termination::ExitedCleanly
        );
        assert_eq!(termination_of(Some("Error"), None), Termination::AppError);
        assert_eq!(termination_of(None, None), Termination::Other);
    }

    fn pod(containers: Vec<ContainerState>) -> PodState {
        PodState {
            name: "invoice-sync-5f7d9-abcde".into(),
            namespace: "billing-3".into(),
            phase: "Running".into(),
            containers,
            ..PodState::default()
        }
    }

    fn container(state: &str, reason: Option<&str>, message: Option<&str>) -> ContainerState {
        ContainerState {
            name: "worker".into(),
            image: "acme/invoice-sync:2.4.1".into(),
            ready: false,
            restart_count: 7,
            state: state.into(),
            reason: reason.map(Into::into),
            message: message.map(Into::into),
            last_termination_reason: None,
            last_exit_code: None,
            last_finished_at: None,
            memory_limit: Some("512Mi".into()),
            cpu_limit: None,
        }
    }

    #[test]
    fn an_oom_kill_in_crash_loop_gives_both_facts() {
        let mut c = container(
            "waiting",
            Some("CrashLoopBackOff"),
            Some("back-off 5m0s restarting failed container"),
        );
        c.last_termination_reason = Some("OOMKilled".into());
        c.last_exit_code = Some(137);
        let ev = crate::evidence::Evidence {
            outputs: vec![crate::evidence::ToolOutput {
                call: crate::evidence::ToolCall {
                    tool: "get_pod_status".into(),
                    args: Default::default(),
                },
                outcome: crate::evidence::ToolOutcome::Data {
                    observation: crate::evidence::Observation::Pods {
                        pods: vec![pod(vec![c])],
                    },
                },
                elapsed_ms: 0.0,
                truncated: None,
            }],
        };
        let found = container_findings(&ev);
        let facts: Vec<&str> = found.iter().map(|f| f.fact.as_str()).collect();
        assert_eq!(facts, ["oom_killed", "crash_loop_back_off"]);
        assert_eq!(found[0].strength, Strength::Decisive);
        assert_eq!(found[0].count, 7);
        assert!(
            found[0].detail.contains("memory limit 512Mi"),
            "{}",
            found[0].detail
        );
        assert!(found[0].cites.contains(&"exitCode: 137".to_string()));
    }

    #[test]
    fn config_errors_name_what_is_missing() {
        let p = pod(vec![container(
            "waiting",
            Some("CreateContainerConfigError"),
            Some("secret \"invoice-db\" not found"),
        )]);
        let f = waiting(&p, &p.containers[0]).expect("finding");
        assert_eq!(f.fact, "missing_secret");
        assert!(f.cites[0].contains("secret \"invoice-db\" not found"));
        let p = pod(vec![container(
            "waiting",
            Some("CreateContainerConfigError"),
            Some("couldn't find key SMTP_HOST in ConfigMap billing-3/mailer"),
        )]);
        assert_eq!(
            waiting(&p, &p.containers[0]).expect("finding").fact,
            "missing_configmap"
        );
        // Running containers say nothing.
        let p = pod(vec![container("running", None, None)]);
        assert!(waiting(&p, &p.containers[0]).is_none());
        assert!(last_termination(&p, &p.containers[0]).is_none());
    }
}
