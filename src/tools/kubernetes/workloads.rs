//! Workloads as the reasoners see them: [`WorkloadState`] from a Deployment, ReplicaSet,
//! StatefulSet, DaemonSet, Job or CronJob (its rollout status from [`super::rollout`]), with
//! its ReplicaSets or Jobs as revisions; and the owner references that lead from a pod to its
//! controller (pod → ReplicaSet → Deployment, pod → Job → CronJob).

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::evidence::{RevisionState, RolloutStatus, WorkloadState};
use crate::tools::kube_api::{Workload, WorkloadKind};
use crate::tools::kubernetes::pods::{controller_of, time};
use crate::tools::kubernetes::rollout::{
    count, fill_cronjob, fill_daemonset, fill_deployment, fill_job, fill_replicaset,
    fill_statefulset, images, job_status, revision_of,
};
use crate::tools::kubernetes::selector;

pub use crate::tools::kubernetes::rollout::deployment_state;

/// Revisions (ReplicaSets, Jobs) listed per workload.
pub const MAX_REVISIONS: usize = 5;

/// Where a controller points: the next workload up, or something else (a Node for static
/// pods, a custom controller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Workload(WorkloadKind, String),
    Other { kind: String, name: String },
}

/// The controller of an object, from its owner references.
pub fn owner_of(meta: &ObjectMeta) -> Option<Owner> {
    let owner = controller_of(meta)?;
    Some(match WorkloadKind::parse(&owner.kind) {
        Some(kind) if owner.kind == kind.kind() => Owner::Workload(kind, owner.name.clone()),
        _ => Owner::Other {
            kind: owner.kind.clone(),
            name: owner.name.clone(),
        },
    })
}

/// Whether `owner` is the controller of the object with metadata `child`.
pub fn controls(owner: &Workload, child: &ObjectMeta) -> bool {
    controller_of(child).is_some_and(|o| {
        o.kind == owner.kind().kind()
            && o.name == owner.name()
            && (o.uid.is_empty()
                || owner
                    .metadata()
                    .uid
                    .as_deref()
                    .is_none_or(|uid| uid == o.uid))
    })
}

/// The label selector of the pods a workload runs (a CronJob has none of its own: its Jobs do).
pub fn pod_selector(w: &Workload) -> Option<String> {
    match w {
        Workload::Deployment(d) => d
            .spec
            .as_ref()
            .and_then(|s| selector::from_label_selector(&s.selector)),
        Workload::ReplicaSet(r) => r
            .spec
            .as_ref()
            .and_then(|s| selector::from_label_selector(&s.selector)),
        Workload::StatefulSet(s) => s
            .spec
            .as_ref()
            .and_then(|s| selector::from_label_selector(&s.selector)),
        Workload::DaemonSet(d) => d
            .spec
            .as_ref()
            .and_then(|s| selector::from_label_selector(&s.selector)),
        Workload::Job(j) => j
            .spec
            .as_ref()
            .and_then(|s| s.selector.as_ref())
            .and_then(selector::from_label_selector),
        Workload::CronJob(_) => None,
    }
}

/// A workload as the reasoners see it. `children` are what it owns among the objects given
/// (a Deployment's ReplicaSets, a CronJob's Jobs); they become its revisions, newest first.
pub fn workload_state(w: &Workload, namespace: &str, children: &[Workload]) -> WorkloadState {
    let meta = w.metadata();
    let mut revisions: Vec<(Option<DateTime<Utc>>, i64, RevisionState)> = children
        .iter()
        .filter(|c| controls(w, c.metadata()))
        .filter_map(|c| {
            let created = c.metadata().creation_timestamp.as_ref().and_then(time);
            let state = match c {
                Workload::ReplicaSet(rs) => replicaset_revision(rs),
                Workload::Job(job) => job_revision(job),
                _ => return None,
            };
            let number = state
                .revision
                .as_deref()
                .and_then(|r| r.parse::<i64>().ok())
                .unwrap_or(0);
            Some((created, number, state))
        })
        .collect();
    revisions.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    let revisions: Vec<RevisionState> = revisions
        .into_iter()
        .take(MAX_REVISIONS)
        .map(|(_, _, r)| r)
        .collect();
    let mut state = WorkloadState {
        kind: w.kind().kind().to_owned(),
        name: w.name().to_owned(),
        namespace: meta
            .namespace
            .clone()
            .unwrap_or_else(|| namespace.to_owned()),
        owner_chain: Vec::new(),
        rollout: RolloutStatus::Complete,
        desired: 0,
        ready: 0,
        updated: 0,
        available: 0,
        unavailable: 0,
        revision: None,
        images: Vec::new(),
        conditions: Vec::new(),
        selector: pod_selector(w),
        revisions,
        notes: Vec::new(),
        gaps: Vec::new(),
    };
    match w {
        Workload::Deployment(d) => fill_deployment(&mut state, d),
        Workload::ReplicaSet(rs) => fill_replicaset(&mut state, rs),
        Workload::StatefulSet(s) => fill_statefulset(&mut state, s),
        Workload::DaemonSet(d) => fill_daemonset(&mut state, d),
        Workload::Job(j) => fill_job(&mut state, j),
        Workload::CronJob(c) => fill_cronjob(&mut state, c),
    }
    state
}

fn replicaset_revision(rs: &ReplicaSet) -> RevisionState {
    RevisionState {
        name: rs.metadata.name.clone().unwrap_or_default(),
        revision: revision_of(&rs.metadata),
        created_at: rs.metadata.creation_timestamp.as_ref().and_then(time),
        desired: count(rs.spec.as_ref().and_then(|s| s.replicas)),
        ready: count(rs.status.as_ref().and_then(|s| s.ready_replicas)),
        images: images(rs.spec.as_ref().and_then(|s| s.template.as_ref())),
        status: None,
    }
}

fn job_revision(job: &Job) -> RevisionState {
    RevisionState {
        name: job.metadata.name.clone().unwrap_or_default(),
        revision: None,
        created_at: job.metadata.creation_timestamp.as_ref().and_then(time),
        desired: count(job.spec.as_ref().and_then(|s| s.completions)).max(1),
        ready: count(job.status.as_ref().and_then(|s| s.succeeded)),
        images: images(job.spec.as_ref().map(|s| &s.template)),
        status: Some(job_status(job)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::kubernetes::testdata::list;
    use k8s_openapi::api::core::v1::Pod;

    fn one<T: serde::de::DeserializeOwned>(json: &str) -> T {
        serde_json::from_str(json).expect("object")
    }

    #[test]
    fn owner_chains_from_owner_references() {
        let pods: Vec<Pod> = list(
            r#"{"items":[
          {"metadata":{"name":"cart-7f9c-x1","ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"cart-7f9c","uid":"rs1","controller":true}]}},
          {"metadata":{"name":"db-0","ownerReferences":[{"apiVersion":"apps/v1","kind":"StatefulSet","name":"db","uid":"s1","controller":true}]}},
          {"metadata":{"name":"backup-29400-abc","ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"backup-29400","uid":"j1","controller":true}]}},
          {"metadata":{"name":"kube-apiserver-n1","ownerReferences":[{"apiVersion":"v1","kind":"Node","name":"n1","uid":"n","controller":true}]}},
          {"metadata":{"name":"debug"}}]}"#,
        );
        let owners: Vec<Option<Owner>> = pods.iter().map(|p| owner_of(&p.metadata)).collect();
        assert_eq!(
            owners,
            vec![
                Some(Owner::Workload(
                    WorkloadKind::ReplicaSet,
                    "cart-7f9c".into()
                )),
                Some(Owner::Workload(WorkloadKind::StatefulSet, "db".into())),
                Some(Owner::Workload(WorkloadKind::Job, "backup-29400".into())),
                Some(Owner::Other {
                    kind: "Node".into(),
                    name: "n1".into()
                }),
                None,
            ]
        );
        let rs: ReplicaSet = one(
            r#"{"metadata":{"name":"cart-7f9c","uid":"rs1","ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"cart","uid":"d1","controller":true}]}}"#,
        );
        assert_eq!(
            owner_of(&rs.metadata),
            Some(Owner::Workload(WorkloadKind::Deployment, "cart".into()))
        );
        let rs = Workload::ReplicaSet(Box::new(rs));
        assert!(controls(&rs, &pods[0].metadata));
        assert!(!controls(&rs, &pods[1].metadata));
    }
}
