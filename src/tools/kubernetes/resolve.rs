//! Resolution through the backend: which pods a service or a workload means (server-side label
//! selectors), which workload a name means, and the owner chain from a pod to its top
//! controller (pod → ReplicaSet → Deployment, pod → Job → CronJob, pod → StatefulSet…).
//!
//! A service's pods are those its Service selects; without a Service, those of the Deployment,
//! StatefulSet or DaemonSet of that name; without either, the pods labelled `app`,
//! `app.kubernetes.io/name` or `k8s-app` = service, or named `<service>-…`.

use futures::future::join_all;
use k8s_openapi::api::core::v1::Pod;

use crate::tools::kube_api::{ListQuery, Workload, WorkloadKind};
use crate::tools::kubernetes::args::Target;
use crate::tools::kubernetes::gaps::gap_text;
use crate::tools::kubernetes::pods::pod_matches_service;
use crate::tools::kubernetes::selector;
use crate::tools::kubernetes::workloads::{Owner, controls, owner_of, pod_selector};
use crate::tools::{BackendError, KubeBackend};

/// Owner references followed at most (pod → ReplicaSet → Deployment is 2).
const MAX_OWNER_DEPTH: usize = 4;
/// A CronJob's newest Jobs whose pods count as its pods.
const MAX_CRONJOB_RUNS: usize = 3;

/// Kinds a bare name is looked up as, in this order.
pub const NAMED_KINDS: [WorkloadKind; 5] = [
    WorkloadKind::Deployment,
    WorkloadKind::StatefulSet,
    WorkloadKind::DaemonSet,
    WorkloadKind::CronJob,
    WorkloadKind::Job,
];

/// Kinds a service name is looked up as when there is no Service object.
const SERVICE_KINDS: [WorkloadKind; 3] = [
    WorkloadKind::Deployment,
    WorkloadKind::StatefulSet,
    WorkloadKind::DaemonSet,
];

/// The pods of `service` in `namespace` (see the module doc), in list order.
pub async fn pods_of_service(
    backend: &dyn KubeBackend,
    namespace: &str,
    service: &str,
) -> Result<Vec<Pod>, BackendError> {
    if let Ok(Some(services)) = backend.list_services(namespace).await
        && let Some(sel) = services
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(service))
            .and_then(|s| s.spec.as_ref())
            .and_then(|s| s.selector.as_ref())
            .and_then(selector::from_map)
    {
        return Ok(backend
            .list_pods(namespace, &ListQuery::labels(sel))
            .await?
            .unwrap_or_default());
    }
    if let Ok(Some(workload)) = find_workload(backend, namespace, &SERVICE_KINDS, service).await {
        return pods_of_workload(backend, namespace, &workload).await;
    }
    Ok(backend
        .list_pods(namespace, &ListQuery::all())
        .await?
        .unwrap_or_default()
        .into_iter()
        .filter(|p| pod_matches_service(p, service))
        .collect())
}

/// The pods `target` means in `namespace`.
pub async fn pods_of_target(
    backend: &dyn KubeBackend,
    namespace: &str,
    target: &Target,
) -> Result<Vec<Pod>, BackendError> {
    match target {
        Target::Pod(name) => Ok(backend
            .get_pod(namespace, name)
            .await?
            .into_iter()
            .collect()),
        Target::Workload(kinds, name) => {
            match find_workload(backend, namespace, kinds, name).await? {
                Some(w) => pods_of_workload(backend, namespace, &w).await,
                None => Ok(Vec::new()),
            }
        }
        Target::Service(service) => pods_of_service(backend, namespace, service).await,
        Target::Namespace => Ok(backend
            .list_pods(namespace, &ListQuery::all())
            .await?
            .unwrap_or_default()),
    }
}

/// The first of `kinds` that has an object named `name` (looked up concurrently).
pub async fn find_workload(
    backend: &dyn KubeBackend,
    namespace: &str,
    kinds: &[WorkloadKind],
    name: &str,
) -> Result<Option<Workload>, BackendError> {
    let answers = join_all(
        kinds
            .iter()
            .map(|kind| backend.get_workload(namespace, *kind, name)),
    )
    .await;
    let mut first_error = None;
    for answer in answers {
        match answer {
            Ok(Some(w)) => return Ok(Some(w)),
            Ok(None) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

/// The pods a workload runs: those its selector matches (a CronJob's: those of its newest
/// Jobs).
pub async fn pods_of_workload(
    backend: &dyn KubeBackend,
    namespace: &str,
    workload: &Workload,
) -> Result<Vec<Pod>, BackendError> {
    let selectors: Vec<String> = match workload {
        Workload::CronJob(_) => children(backend, namespace, workload)
            .await?
            .iter()
            .take(MAX_CRONJOB_RUNS)
            .filter_map(pod_selector)
            .collect(),
        other => pod_selector(other).into_iter().collect(),
    };
    let mut pods = Vec::new();
    for sel in selectors {
        pods.extend(
            backend
                .list_pods(namespace, &ListQuery::labels(sel))
                .await?
                .unwrap_or_default(),
        );
    }
    Ok(pods)
}

/// What a workload owns that tells its history: a Deployment's ReplicaSets, a CronJob's Jobs
/// (newest first for Jobs). Other kinds own pods only.
pub async fn children(
    backend: &dyn KubeBackend,
    namespace: &str,
    workload: &Workload,
) -> Result<Vec<Workload>, BackendError> {
    let (kind, query) = match workload {
        Workload::Deployment(_) => (
            WorkloadKind::ReplicaSet,
            pod_selector(workload).map_or_else(ListQuery::all, ListQuery::labels),
        ),
        Workload::CronJob(_) => (WorkloadKind::Job, ListQuery::all()),
        _ => return Ok(Vec::new()),
    };
    let mut owned: Vec<Workload> = backend
        .list_workloads(namespace, kind, &query)
        .await?
        .unwrap_or_default()
        .into_iter()
        .filter(|c| controls(workload, c.metadata()))
        .collect();
    owned.sort_by(|a, b| {
        b.metadata()
            .creation_timestamp
            .as_ref()
            .map(|t| t.0)
            .cmp(&a.metadata().creation_timestamp.as_ref().map(|t| t.0))
    });
    Ok(owned)
}

/// Where a pod's owner references lead.
#[derive(Debug, Clone, Default)]
pub struct OwnerChain {
    /// `Pod/…`, then each controller as `Kind/name`.
    pub links: Vec<String>,
    /// The topmost workload found.
    pub top: Option<Workload>,
    /// Why the chain stopped early (an owner that no longer exists, a non-workload owner).
    pub notes: Vec<String>,
    /// Owners that could not be read (RBAC, allow-list).
    pub gaps: Vec<String>,
}

/// Follow the controller references from `pod` up to the top workload.
pub async fn owner_chain(
    backend: &dyn KubeBackend,
    namespace: &str,
    pod: &Pod,
) -> Result<OwnerChain, BackendError> {
    let mut chain = OwnerChain {
        links: vec![format!(
            "Pod/{}",
            pod.metadata.name.as_deref().unwrap_or_default()
        )],
        ..OwnerChain::default()
    };
    let mut meta = pod.metadata.clone();
    for _ in 0..MAX_OWNER_DEPTH {
        match owner_of(&meta) {
            None => break,
            Some(Owner::Other { kind, name }) => {
                chain.links.push(format!("{kind}/{name}"));
                chain.notes.push(format!(
                    "controlled by {kind}/{name}, which is not a workload controller"
                ));
                break;
            }
            Some(Owner::Workload(kind, name)) => {
                match backend.get_workload(namespace, kind, &name).await {
                    Ok(Some(w)) => {
                        chain.links.push(format!("{kind}/{name}"));
                        meta = w.metadata().clone();
                        chain.top = Some(w);
                    }
                    Ok(None) => {
                        chain.links.push(format!("{kind}/{name}"));
                        chain
                            .notes
                            .push(format!("its controller {kind}/{name} no longer exists"));
                        break;
                    }
                    Err(e) => match gap_text(&e) {
                        Some(gap) => {
                            chain.links.push(format!("{kind}/{name}"));
                            chain.gaps.push(gap);
                            break;
                        }
                        None => return Err(e),
                    },
                }
            }
        }
    }
    Ok(chain)
}
