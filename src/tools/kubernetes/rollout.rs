//! Rollout status per workload kind, following `kubectl rollout status`: a Deployment is
//! paused, stalled (`ProgressDeadlineExceeded`), progressing, degraded or complete from its
//! generation, replica counts and Progressing condition; a StatefulSet from its revisions and
//! partition; a DaemonSet from its scheduled / updated / available pods; a Job from its
//! conditions; a CronJob from its last run. Also the failing-condition notes of each kind.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::evidence::{DeploymentState, RolloutStatus, WorkloadState};
use crate::tools::kubernetes::pods::{condition_note, time};

const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";

/// A condition of any workload kind.
struct Cond<'a> {
    type_: &'a str,
    status: &'a str,
    reason: Option<&'a str>,
    message: Option<&'a str>,
}

impl<'a> Cond<'a> {
    fn new(
        type_: &'a str,
        status: &'a str,
        reason: &'a Option<String>,
        message: &'a Option<String>,
    ) -> Cond<'a> {
        Cond {
            type_,
            status,
            reason: reason.as_deref(),
            message: message.as_deref(),
        }
    }

    /// Out of its healthy state: failure-type conditions that are True, the others that are
    /// not, and any deadline overrun.
    fn unhealthy(&self) -> bool {
        let failure = matches!(
            self.type_,
            "ReplicaFailure" | "Failed" | "FailureTarget" | "Suspended"
        );
        (failure && self.status == "True")
            || (!failure
                && !matches!(self.type_, "Complete" | "SuccessCriteriaMet")
                && self.status != "True")
            || self.reason == Some("ProgressDeadlineExceeded")
    }

    fn note(&self) -> String {
        condition_note(self.type_, self.status, self.reason, self.message)
    }
}

fn unhealthy<'a>(conds: impl Iterator<Item = Cond<'a>>) -> Vec<String> {
    conds.filter(Cond::unhealthy).map(|c| c.note()).collect()
}

pub(crate) fn count(v: Option<i32>) -> u32 {
    v.unwrap_or(0).max(0) as u32
}

pub(crate) fn images(template: Option<&PodTemplateSpec>) -> Vec<String> {
    template
        .and_then(|t| t.spec.as_ref())
        .map(|ps| {
            ps.containers
                .iter()
                .filter_map(|c| c.image.clone())
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn revision_of(meta: &ObjectMeta) -> Option<String> {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(REVISION_ANNOTATION))
        .cloned()
}

fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

/// Whether the controller has not yet seen the latest spec.
fn stale(meta: &ObjectMeta, observed: Option<i64>) -> bool {
    matches!((meta.generation, observed), (Some(g), Some(o)) if o < g)
}

/// A deployment as the reasoners see it.
pub fn deployment_state(d: &Deployment) -> DeploymentState {
    let spec = d.spec.as_ref();
    let status = d.status.as_ref();
    let count = |v: Option<i32>| v.unwrap_or(0).max(0) as u32;
    let conditions = unhealthy(
        status
            .and_then(|s| s.conditions.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|c| Cond::new(&c.type_, &c.status, &c.reason, &c.message)),
    );
    DeploymentState {
        name: d.metadata.name.clone().unwrap_or_default(),
        desired: spec.and_then(|s| s.replicas).unwrap_or(1).max(0) as u32,
        ready: count(status.and_then(|s| s.ready_replicas)),
        updated: count(status.and_then(|s| s.updated_replicas)),
        unavailable: count(status.and_then(|s| s.unavailable_replicas)),
        revision: revision_of(&d.metadata),
        images: images(spec.map(|s| &s.template)),
        conditions,
    }
}

pub(crate) fn fill_deployment(state: &mut WorkloadState, d: &Deployment) {
    let summary = deployment_state(d);
    let status = d.status.as_ref();
    let spec = d.spec.as_ref();
    state.desired = summary.desired;
    state.ready = summary.ready;
    state.updated = summary.updated;
    state.available = count(status.and_then(|s| s.available_replicas));
    state.unavailable = summary.unavailable;
    state.revision = summary.revision;
    state.images = summary.images;
    state.conditions = summary.conditions;
    let progressing = status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default()
        .iter()
        .find(|c| c.type_ == "Progressing")
        .and_then(|c| c.reason.as_deref());
    let current = status.map_or(0, |s| s.replicas.unwrap_or(0).max(0) as u32);
    state.rollout = if spec.and_then(|s| s.paused) == Some(true) {
        RolloutStatus::Paused
    } else if progressing == Some("ProgressDeadlineExceeded") {
        RolloutStatus::Stalled
    } else if stale(&d.metadata, status.and_then(|s| s.observed_generation))
        || state.updated < state.desired
        || current > state.updated
    {
        RolloutStatus::Progressing
    } else if state.available < state.desired {
        // All replicas run the new revision; some are not available. The rollout itself
        // finished (NewReplicaSetAvailable) or is still waiting for them.
        if progressing == Some("NewReplicaSetAvailable") {
            RolloutStatus::Degraded
        } else {
            RolloutStatus::Progressing
        }
    } else {
        RolloutStatus::Complete
    };
    if let Some(strategy) = spec.and_then(|s| s.strategy.as_ref()) {
        let mut note = format!(
            "strategy {}",
            strategy.type_.as_deref().unwrap_or("RollingUpdate")
        );
        if let Some(ru) = &strategy.rolling_update {
            if let Some(v) = &ru.max_unavailable {
                note.push_str(&format!(" maxUnavailable={}", int_or_string(v)));
            }
            if let Some(v) = &ru.max_surge {
                note.push_str(&format!(" maxSurge={}", int_or_string(v)));
            }
        }
        state.notes.push(note);
    }
    if let Some(secs) = spec.and_then(|s| s.progress_deadline_seconds) {
        state.notes.push(format!("progressDeadlineSeconds {secs}"));
    }
}

pub(crate) fn fill_replicaset(state: &mut WorkloadState, rs: &ReplicaSet) {
    let status = rs.status.as_ref();
    state.desired = count(rs.spec.as_ref().and_then(|s| s.replicas)).max(
        // `replicas` defaults to 1 when unset.
        u32::from(rs.spec.as_ref().and_then(|s| s.replicas).is_none()),
    );
    state.ready = count(status.and_then(|s| s.ready_replicas));
    state.updated = status.map_or(0, |s| s.replicas.max(0) as u32);
    state.available = count(status.and_then(|s| s.available_replicas));
    state.unavailable = state.desired.saturating_sub(state.available);
    state.revision = revision_of(&rs.metadata);
    state.images = images(rs.spec.as_ref().and_then(|s| s.template.as_ref()));
    state.conditions = unhealthy(
        status
            .and_then(|s| s.conditions.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|c| Cond::new(&c.type_, &c.status, &c.reason, &c.message)),
    );
    state.rollout = if state.ready < state.desired {
        RolloutStatus::Degraded
    } else {
        RolloutStatus::Complete
    };
}

pub(crate) fn fill_statefulset(state: &mut WorkloadState, s: &StatefulSet) {
    let spec = s.spec.as_ref();
    let status = s.status.as_ref();
    state.desired = spec.and_then(|s| s.replicas).unwrap_or(1).max(0) as u32;
    state.ready = count(status.and_then(|s| s.ready_replicas));
    state.updated = count(status.and_then(|s| s.updated_replicas));
    state.available = count(status.and_then(|s| s.available_replicas));
    state.unavailable = state.desired.saturating_sub(state.available);
    state.revision = status.and_then(|s| s.update_revision.clone());
    state.images = images(spec.map(|s| &s.template));
    state.conditions = unhealthy(
        status
            .and_then(|s| s.conditions.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|c| Cond::new(&c.type_, &c.status, &c.reason, &c.message)),
    );
    let strategy = spec.and_then(|s| s.update_strategy.as_ref());
    let on_delete = strategy.and_then(|s| s.type_.as_deref()) == Some("OnDelete");
    let partition = strategy
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0)
        .max(0) as u32;
    let current = status.and_then(|s| s.current_revision.as_deref());
    let update = status.and_then(|s| s.update_revision.as_deref());
    let rolling = !on_delete
        && (state.updated < state.desired.saturating_sub(partition)
            || (partition == 0 && current.is_some() && update.is_some() && current != update));
    state.rollout = if stale(&s.metadata, status.and_then(|s| s.observed_generation)) || rolling {
        RolloutStatus::Progressing
    } else if state.ready < state.desired {
        RolloutStatus::Degraded
    } else {
        RolloutStatus::Complete
    };
    let mut note = format!(
        "updateStrategy {}",
        if on_delete {
            "OnDelete"
        } else {
            "RollingUpdate"
        }
    );
    if partition > 0 {
        note.push_str(&format!(" partition={partition}"));
    }
    state.notes.push(note);
    if let (Some(c), Some(u)) = (current, update)
        && c != u
    {
        state
            .notes
            .push(format!("currentRevision {c}, updateRevision {u}"));
    }
}

pub(crate) fn fill_daemonset(state: &mut WorkloadState, d: &DaemonSet) {
    let status = d.status.as_ref();
    state.desired = status.map_or(0, |s| s.desired_number_scheduled.max(0) as u32);
    state.ready = status.map_or(0, |s| s.number_ready.max(0) as u32);
    state.updated = count(status.and_then(|s| s.updated_number_scheduled));
    state.available = count(status.and_then(|s| s.number_available));
    state.unavailable = count(status.and_then(|s| s.number_unavailable));
    state.images = images(d.spec.as_ref().map(|s| &s.template));
    state.conditions = unhealthy(
        status
            .and_then(|s| s.conditions.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|c| Cond::new(&c.type_, &c.status, &c.reason, &c.message)),
    );
    let on_delete = d
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        == Some("OnDelete");
    state.rollout = if stale(&d.metadata, status.and_then(|s| s.observed_generation))
        || (!on_delete && state.updated < state.desired)
    {
        RolloutStatus::Progressing
    } else if state.available < state.desired {
        RolloutStatus::Degraded
    } else {
        RolloutStatus::Complete
    };
    if let Some(mis) = status.map(|s| s.number_misscheduled).filter(|m| *m > 0) {
        state
            .notes
            .push(format!("{mis} pods on nodes they should not run on"));
    }
}

/// A Job's outcome from its conditions.
pub fn job_status(job: &Job) -> RolloutStatus {
    let conditions = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let holds = |t: &str| {
        conditions
            .iter()
            .any(|c| c.type_ == t && c.status == "True")
    };
    if holds("Failed") || holds("FailureTarget") {
        RolloutStatus::Failed
    } else if holds("Complete") || holds("SuccessCriteriaMet") {
        RolloutStatus::Succeeded
    } else if job.spec.as_ref().and_then(|s| s.suspend) == Some(true) {
        RolloutStatus::Suspended
    } else {
        RolloutStatus::Running
    }
}

/// Counts of a Job: `desired` completions, `ready` running pods, `available` succeeded pods,
/// `unavailable` failed pods.
pub(crate) fn fill_job(state: &mut WorkloadState, j: &Job) {
    let spec = j.spec.as_ref();
    let status = j.status.as_ref();
    state.desired = count(spec.and_then(|s| s.completions)).max(1);
    state.ready = count(
        status
            .and_then(|s| s.ready)
            .or(status.and_then(|s| s.active)),
    );
    state.available = count(status.and_then(|s| s.succeeded));
    state.updated = state.available;
    state.unavailable = count(status.and_then(|s| s.failed));
    state.images = images(spec.map(|s| &s.template));
    state.conditions = unhealthy(
        status
            .and_then(|s| s.conditions.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|c| Cond::new(&c.type_, &c.status, &c.reason, &c.message)),
    );
    state.rollout = job_status(j);
    state.notes.push(format!(
        "active {}, succeeded {}, failed {} (backoffLimit {})",
        count(status.and_then(|s| s.active)),
        state.available,
        state.unavailable,
        spec.and_then(|s| s.backoff_limit).unwrap_or(6)
    ));
    if let Some(t) = status.and_then(|s| s.start_time.as_ref()).and_then(time) {
        state.notes.push(format!("started {}", t.to_rfc3339()));
    }
    if let Some(t) = status
        .and_then(|s| s.completion_time.as_ref())
        .and_then(time)
    {
        state.notes.push(format!("completed {}", t.to_rfc3339()));
    }
}

/// A CronJob's state is its last run's: `ready` counts active jobs.
pub(crate) fn fill_cronjob(state: &mut WorkloadState, c: &CronJob) {
    let spec = c.spec.as_ref();
    let status = c.status.as_ref();
    let active = status.and_then(|s| s.active.as_ref()).map_or(0, Vec::len) as u32;
    state.ready = active;
    state.images = images(
        spec.and_then(|s| s.job_template.spec.as_ref())
            .map(|s| &s.template),
    );
    let last_schedule = status
        .and_then(|s| s.last_schedule_time.as_ref())
        .and_then(time);
    let last_success = status
        .and_then(|s| s.last_successful_time.as_ref())
        .and_then(time);
    state.rollout = if spec.and_then(|s| s.suspend) == Some(true) {
        RolloutStatus::Suspended
    } else if active > 0 {
        RolloutStatus::Running
    } else if let Some(newest) = state.revisions.first().and_then(|r| r.status) {
        newest
    } else if last_schedule.is_some() && last_success < last_schedule {
        RolloutStatus::Failed
    } else {
        RolloutStatus::Succeeded
    };
    if let Some(spec) = spec {
        state.notes.push(format!("schedule {}", spec.schedule));
    }
    if let Some(t) = last_schedule {
        state
            .notes
            .push(format!("last scheduled {}", t.to_rfc3339()));
    }
    if let Some(t) = last_success {
        state
            .notes
            .push(format!("last succeeded {}", t.to_rfc3339()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::kube_api::Workload;
    use crate::tools::kubernetes::workloads::workload_state;

    fn one<T: serde::de::DeserializeOwned>(json: &str) -> T {
        serde_json::from_str(json).expect("object")
    }

    const DEPLOYMENT: &str = r#"{"metadata":{"name":"cart","uid":"d1","generation":4,
        "annotations":{"deployment.kubernetes.io/revision":"7"}},
      "spec":{"replicas":3,"selector":{"matchLabels":{"app":"cart"}},
        "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"25%","maxSurge":1}},
        "progressDeadlineSeconds":600,
        "template":{"metadata":{"labels":{"app":"cart"}},"spec":{"containers":[{"name":"app","image":"cart:8.4.0"}]}}},
      "status":{"observedGeneration":4,"replicas":5,"updatedReplicas":2,"readyReplicas":3,"availableReplicas":3,"unavailableReplicas":2,
        "conditions":[{"type":"Available","status":"True"},
          {"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded","message":"ReplicaSet \"cart-vnp2\" has timed out progressing."}]}}"#;

    #[test]
    fn deployment_rollouts() {
        let d: Deployment = one(DEPLOYMENT);
        let children = vec![
            Workload::ReplicaSet(Box::new(one(
                r#"{"metadata":{"name":"cart-old","creationTimestamp":"2025-11-20T00:00:00Z",
                  "annotations":{"deployment.kubernetes.io/revision":"6"},
                  "ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"cart","uid":"d1","controller":true}]},
                  "spec":{"replicas":3,"selector":{},"template":{"spec":{"containers":[{"name":"app","image":"cart:8.3.9"}]}}},
                  "status":{"replicas":3,"readyReplicas":3}}"#,
            ))),
            Workload::ReplicaSet(Box::new(one(
                r#"{"metadata":{"name":"cart-vnp2","creationTimestamp":"2025-11-25T06:40:00Z",
                  "annotations":{"deployment.kubernetes.io/revision":"7"},
                  "ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"cart","uid":"d1","controller":true}]},
                  "spec":{"replicas":2,"selector":{}},"status":{"replicas":2,"readyReplicas":0}}"#,
            ))),
            Workload::ReplicaSet(Box::new(one(
                r#"{"metadata":{"name":"other-rs","annotations":{"deployment.kubernetes.io/revision":"9"},
                  "ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"other","uid":"d2","controller":true}]},
                  "spec":{"selector":{}}}"#,
            ))),
        ];
        let w = workload_state(
            &Workload::Deployment(Box::new(d.clone())),
            "prod",
            &children,
        );
        assert_eq!(w.kind, "Deployment");
        assert_eq!(w.rollout, RolloutStatus::Stalled);
        assert_eq!(
            (w.desired, w.ready, w.updated, w.available, w.unavailable),
            (3, 3, 2, 3, 2)
        );
        assert_eq!(w.revision.as_deref(), Some("7"));
        assert_eq!(w.selector.as_deref(), Some("app=cart"));
        let names: Vec<&str> = w.revisions.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["cart-vnp2", "cart-old"],
            "own ReplicaSets, newest first"
        );
        assert_eq!(w.revisions[1].images, vec!["cart:8.3.9"]);
        assert!(
            w.notes
                .contains(&"strategy RollingUpdate maxUnavailable=25% maxSurge=1".to_owned())
        );
        assert!(w.conditions[0].starts_with("Progressing=False: ProgressDeadlineExceeded"));

        let mut rolling = d.clone();
        if let Some(c) = rolling.status.as_mut().and_then(|s| s.conditions.as_mut()) {
            c[1].status = "True".into();
            c[1].reason = Some("ReplicaSetUpdated".into());
        }
        let w = workload_state(
            &Workload::Deployment(Box::new(rolling.clone())),
            "prod",
            &[],
        );
        assert_eq!(w.rollout, RolloutStatus::Progressing);

        let mut degraded = rolling;
        if let Some(s) = degraded.status.as_mut() {
            s.replicas = Some(3);
            s.updated_replicas = Some(3);
            s.available_replicas = Some(1);
            if let Some(c) = s.conditions.as_mut() {
                c[1].reason = Some("NewReplicaSetAvailable".into());
            }
        }
        let w = workload_state(
            &Workload::Deployment(Box::new(degraded.clone())),
            "prod",
            &[],
        );
        assert_eq!(w.rollout, RolloutStatus::Degraded);
        if let Some(s) = degraded.status.as_mut() {
            s.available_replicas = Some(3);
        }
        let w = workload_state(
            &Workload::Deployment(Box::new(degraded.clone())),
            "prod",
            &[],
        );
        assert_eq!(w.rollout, RolloutStatus::Complete);
        if let Some(s) = degraded.spec.as_mut() {
            s.paused = Some(true);
        }
        let w = workload_state(&Workload::Deployment(Box::new(degraded)), "prod", &[]);
        assert_eq!(w.rollout, RolloutStatus::Paused);
    }

    #[test]
    fn statefulset_and_daemonset_rollouts() {
        let sts: StatefulSet = one(r#"{"metadata":{"name":"mongodb-profile","generation":2},
          "spec":{"replicas":3,"serviceName":"mongodb-profile","selector":{"matchLabels":{"app":"mongodb-profile"}},
            "template":{"spec":{"containers":[{"name":"mongod","image":"mongo:7.0.14"}]}}},
          "status":{"observedGeneration":2,"replicas":3,"readyReplicas":2,"updatedReplicas":3,"availableReplicas":2,
            "currentRevision":"mongodb-profile-dfj","updateRevision":"mongodb-profile-dfj"}}"#);
        let w = workload_state(&Workload::StatefulSet(Box::new(sts.clone())), "prod", &[]);
        assert_eq!(w.rollout, RolloutStatus::Degraded);
        assert_eq!((w.desired, w.ready, w.unavailable), (3, 2, 1));
        assert_eq!(w.revision.as_deref(), Some("mongodb-profile-dfj"));
        let mut rolling = sts;
        if let Some(s) = rolling.status.as_mut() {
            s.update_revision = Some("mongodb-profile-new".into());
            s.updated_replicas = Some(1);
        }
        let w = workload_state(&Workload::StatefulSet(Box::new(rolling)), "prod", &[]);
        assert_eq!(w.rollout, RolloutStatus::Progressing);
        assert!(
            w.notes
                .iter()
                .any(|n| n.contains("updateRevision mongodb-profile-new"))
        );

        let ds: DaemonSet = one(r#"{"metadata":{"name":"node-exporter"},
          "spec":{"selector":{"matchLabels":{"app":"node-exporter"}},"template":{"spec":{"containers":[{"name":"e","image":"ne:1"}]}}},
          "status":{"currentNumberScheduled":4,"desiredNumberScheduled":4,"numberMisscheduled":1,"numberReady":3,
            "updatedNumberScheduled":4,"numberAvailable":3,"numberUnavailable":1}}"#);
        let w = workload_state(&Workload::DaemonSet(Box::new(ds)), "monitoring", &[]);
        assert_eq!(w.rollout, RolloutStatus::Degraded);
        assert_eq!((w.desired, w.ready, w.unavailable), (4, 3, 1));
        assert_eq!(w.notes, vec!["1 pods on nodes they should not run on"]);
    }

    #[test]
    fn jobs_and_cronjobs() {
        let failed: Job = one(
            r#"{"metadata":{"name":"rotator-29400754","creationTimestamp":"2025-11-25T04:34:00Z",
            "ownerReferences":[{"apiVersion":"batch/v1","kind":"CronJob","name":"rotator","uid":"c1","controller":true}]},
          "spec":{"backoffLimit":2,"selector":{"matchLabels":{"batch.kubernetes.io/controller-uid":"j1"}},
            "template":{"spec":{"containers":[{"name":"r","image":"rotator:1"}]}}},
          "status":{"failed":3,"startTime":"2025-11-25T04:34:00Z",
            "conditions":[{"type":"Failed","status":"True","reason":"BackoffLimitExceeded","message":"Job has reached the specified backoff limit"}]}}"#,
        );
        let w = workload_state(&Workload::Job(Box::new(failed.clone())), "prod", &[]);
        assert_eq!(w.rollout, RolloutStatus::Failed);
        assert_eq!(w.unavailable, 3);
        assert_eq!(
            w.conditions,
            vec!["Failed=True: BackoffLimitExceeded Job has reached the specified backoff limit"]
        );
        assert_eq!(
            w.selector.as_deref(),
            Some("batch.kubernetes.io/controller-uid=j1")
        );
        assert!(w.notes[0].contains("backoffLimit 2"));
        let cron: CronJob = one(r#"{"metadata":{"name":"rotator","uid":"c1"},
          "spec":{"schedule":"34 4 * * *","jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"r","image":"rotator:1"}]}}}}},
          "status":{"lastScheduleTime":"2025-11-25T04:34:00Z","lastSuccessfulTime":"2025-11-24T04:34:05Z"}}"#);
        let jobs = vec![Workload::Job(Box::new(failed))];
        let w = workload_state(&Workload::CronJob(Box::new(cron.clone())), "prod", &jobs);
        assert_eq!(w.rollout, RolloutStatus::Failed);
        assert_eq!(w.revisions.len(), 1);
        assert_eq!(w.revisions[0].status, Some(RolloutStatus::Failed));
        assert_eq!(w.selector, None);
        assert!(w.notes.contains(&"schedule 34 4 * * *".to_owned()));
        // Without its jobs: the schedule times tell.
        let w = workload_state(&Workload::CronJob(Box::new(cron)), "prod", &[]);
        assert_eq!(w.rollout, RolloutStatus::Failed);
    }
}
