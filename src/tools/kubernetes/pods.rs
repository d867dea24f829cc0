//! Pods as the reasoners see them: [`PodState`] from a `Pod` (phase, readiness, container
//! states and last terminations, failing conditions, controller), which pods belong to a
//! service by the label/name heuristic, which pod and container explain most.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference, Time};

use crate::evidence::{ContainerState, PodState};

/// `k8s-openapi` time → chrono.
pub fn time(t: &Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
}

pub(crate) fn micro_time(t: &MicroTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
}

pub(crate) fn pod_name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or_default()
}

pub(crate) fn name_has_prefix(name: &str, prefix: &str) -> bool {
    name.len() > prefix.len() + 1
        && name.starts_with(prefix)
        && name.as_bytes().get(prefix.len()) == Some(&b'-')
}

/// Whether `pod` belongs to `service`: label `app` / `app.kubernetes.io/name` equals it, or the
/// pod is named `<service>-…`.
pub fn pod_matches_service(pod: &Pod, service: &str) -> bool {
    let labelled = pod.metadata.labels.as_ref().is_some_and(|labels| {
        ["app", "app.kubernetes.io/name", "k8s-app"]
            .iter()
            .any(|k| labels.get(*k).map(String::as_str) == Some(service))
    });
    labelled || name_has_prefix(pod_name(pod), service)
}

pub(crate) fn condition_note(
    type_: &str,
    status: &str,
    reason: Option<&str>,
    message: Option<&str>,
) -> String {
    let mut note = format!("{type_}={status}");
    let detail = [reason, message]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !detail.is_empty() {
        note.push_str(": ");
        note.push_str(&detail);
    }
    note
}

fn container_state(
    spec: Option<&Container>,
    status: Option<&ContainerStatus>,
    name: &str,
) -> ContainerState {
    let limits = spec
        .and_then(|c| c.resources.as_ref())
        .and_then(|r| r.limits.as_ref());
    let limit = |k: &str| limits.and_then(|l| l.get(k)).map(|q| q.0.clone());
    let mut out = ContainerState {
        name: name.to_owned(),
        image: status
            .map(|s| s.image.clone())
            .filter(|s| !s.is_empty())
            .or_else(|| spec.and_then(|c| c.image.clone()))
            .unwrap_or_default(),
        ready: status.is_some_and(|s| s.ready),
        restart_count: status.map(|s| s.restart_count.max(0) as u32).unwrap_or(0),
        state: "waiting".to_owned(),
        reason: None,
        message: None,
        last_termination_reason: None,
        last_exit_code: None,
        last_finished_at: None,
        memory_limit: limit("memory"),
        cpu_limit: limit("cpu"),
    };
    let Some(status) = status else {
        return out;
    };
    if let Some(state) = &status.state {
        if let Some(w) = &state.waiting {
            out.state = "waiting".to_owned();
            out.reason = w.reason.clone();
            out.message = w.message.clone();
        } else if let Some(t) = &state.terminated {
            out.state = "terminated".to_owned();
            out.reason = t.reason.clone();
            out.message = t.message.clone();
        } else if state.running.is_some() {
            out.state = "running".to_owned();
        }
    }
    if let Some(t) = status
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
    {
        out.last_termination_reason = t.reason.clone();
        out.last_exit_code = Some(t.exit_code);
        out.last_finished_at = t.finished_at.as_ref().and_then(time);
    }
    out
}

/// A pod as the reasoners see it.
pub fn pod_state(pod: &Pod, namespace: &str) -> PodState {
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let mut conditions: Vec<String> = status
        .and_then(|s| s.conditions.as_ref())
        .map(|cs| {
            cs.iter()
                .filter(|c| c.status != "True")
                .map(|c| {
                    condition_note(
                        &c.type_,
                        &c.status,
                        c.reason.as_deref(),
                        c.message.as_deref(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(reason) = status.and_then(|s| s.reason.as_deref()) {
        // e.g. Evicted: "The node was low on resource: memory."
        let message = status
            .and_then(|s| s.message.as_deref())
            .unwrap_or_default();
        conditions.insert(
            0,
            format!("{reason}: {message}")
                .trim_end_matches([' ', ':'])
                .to_owned(),
        );
    }
    if let Some(deleted) = pod.metadata.deletion_timestamp.as_ref().and_then(time) {
        conditions.push(format!("Terminating since {}", deleted.to_rfc3339()));
    }
    let statuses = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let spec_containers = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
    let mut containers: Vec<ContainerState> =
        Vec::with_capacity(spec_containers.len().max(statuses.len()));
    // Init containers only while they are in the way (not completed successfully).
    let init_statuses = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or_default();
    let init_specs = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or_default();
    for st in init_statuses {
        let done = st
            .state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .is_some_and(|t| t.exit_code == 0);
        let running = st.state.as_ref().is_some_and(|s| s.running.is_some());
        if !done && !running {
            let spec = init_specs.iter().find(|c| c.name == st.name);
            containers.push(container_state(spec, Some(st), &st.name));
        }
    }
    for c in spec_containers {
        let st = statuses.iter().find(|s| s.name == c.name);
        containers.push(container_state(Some(c), st, &c.name));
    }
    for st in statuses {
        if !spec_containers.iter().any(|c| c.name == st.name) {
            containers.push(container_state(None, Some(st), &st.name));
        }
    }
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    PodState {
        name: pod_name(pod).to_owned(),
        namespace: pod
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| namespace.to_owned()),
        phase: status
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Unknown".to_owned()),
        node: spec.and_then(|s| s.node_name.clone()),
        ready,
        created_at: pod.metadata.creation_timestamp.as_ref().and_then(time),
        labels: pod.metadata.labels.clone().unwrap_or_default(),
        conditions,
        containers,
        owner: controller_of(&pod.metadata).map(|o| format!("{}/{}", o.kind, o.name)),
        claims: spec
            .and_then(|s| s.volumes.as_deref())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.persistent_volume_claim.as_ref())
            .map(|c| c.claim_name.clone())
            .collect(),
    }
}

/// The pods of `service`, those whose logs explain most first (see [`rank_pods`]).
pub fn ranked_pods(pods: &[Pod], service: &str) -> Vec<String> {
    let mine: Vec<&Pod> = pods
        .iter()
        .filter(|p| pod_matches_service(p, service))
        .collect();
    rank_pods(&mine)
        .into_iter()
        .map(|p| pod_name(p).to_owned())
        .collect()
}

/// Pods, those whose logs explain most first: most restarts, then not ready, then in list
/// order.
pub fn rank_pods<'a>(pods: &[&'a Pod]) -> Vec<&'a Pod> {
    let mut ranked: Vec<(u32, bool, usize, &Pod)> = pods
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let state = pod_state(p, "");
            (state.restarts(), state.ready, i, *p)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    ranked.into_iter().map(|(_, _, _, p)| p).collect()
}

/// The owner reference marked `controller: true` (the object that manages this one).
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|o| o.controller == Some(true))
}

/// The container whose log to read when none is named: the only one; else the one
/// `kubectl.kubernetes.io/default-container` names; else the one with the most restarts, then a
/// not-ready one, then the first.
pub fn log_container(pod: &Pod) -> Option<String> {
    let containers = pod.spec.as_ref().map(|s| s.containers.as_slice())?;
    if containers.len() <= 1 {
        return containers.first().map(|c| c.name.clone());
    }
    if let Some(default) = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("kubectl.kubernetes.io/default-container"))
        .filter(|d| containers.iter().any(|c| &c.name == *d))
    {
        return Some(default.clone());
    }
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    containers
        .iter()
        .enumerate()
        .max_by_key(|(i, c)| {
            let st = statuses.iter().find(|s| s.name == c.name);
            (
                st.map_or(0, |s| s.restart_count),
                st.is_some_and(|s| !s.ready),
                std::cmp::Reverse(*i),
            )
        })
        .map(|(_, c)| c.name.clone())
}

/// The pod of `service` whose logs explain most (see [`ranked_pods`]).
pub fn worst_pod(pods: &[Pod], service: &str) -> Option<String> {
    ranked_pods(pods, service).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::kubernetes::testdata::{PODS, list};

    #[test]
    fn pod_list_states() {
        let pods: Vec<Pod> = list(PODS);
        let crash = pod_state(&pods[0], "shop");
        assert_eq!(crash.phase, "Running");
        assert!(!crash.ready);
        assert_eq!(crash.node.as_deref(), Some("node-a"));
        assert_eq!(crash.restarts(), 7);
        let c = &crash.containers[0];
        assert_eq!(c.state, "waiting");
        assert_eq!(c.reason.as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(c.last_termination_reason.as_deref(), Some("OOMKilled"));
        assert_eq!(c.last_exit_code, Some(137));
        assert_eq!(c.memory_limit.as_deref(), Some("256Mi"));
        assert_eq!(c.cpu_limit.as_deref(), Some("500m"));
        assert_eq!(
            c.last_finished_at.map(|t| t.to_rfc3339()),
            Some("2026-11-24T09:58:00+00:00".to_owned())
        );
        assert_eq!(
            crash.conditions,
            vec!["Ready=False: ContainersNotReady containers with unready status: [app]"]
        );
        let pull = pod_state(&pods[1], "shop");
        assert_eq!(
            pull.containers[0].reason.as_deref(),
            Some("ImagePullBackOff")
        );
        let pending = pod_state(&pods[2], "shop");
        assert_eq!(
            pending.containers.len(),
            1,
            "spec containers without status"
        );
        assert_eq!(pending.containers[0].state, "waiting");
        assert!(pending.conditions[0].starts_with("PodScheduled=False: Unschedulable 0/3 nodes"));

        assert!(pod_matches_service(&pods[0], "checkout"));
        assert!(pod_matches_service(&pods[2], "web"));
        assert!(!pod_matches_service(&pods[2], "checkout"));
        assert_eq!(
            worst_pod(&pods, "checkout").as_deref(),
            Some("checkout-7c9d-abcde")
        );
    }

    #[test]
    fn the_claims_a_pod_mounts() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "pg-main-0", "namespace": "data"},
            "spec": {"containers": [{"name": "postgres"}], "volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": "data-pg-main-0"}},
                {"name": "config", "configMap": {"name": "pg-config"}}
            ]}
        }))
        .expect("a pod");
        assert_eq!(pod_state(&pod, "data").claims, ["data-pg-main-0"]);
        let pods: Vec<Pod> = list(PODS);
        assert!(pod_state(&pods[0], "shop").claims.is_empty());
    }

    #[test]
    fn controllers_and_log_containers() {
        let pods: Vec<Pod> = list(
            r#"{"items":[
          {"metadata":{"name":"web-0","ownerReferences":[
             {"apiVersion":"v1","kind":"Node","name":"n","uid":"1"},
             {"apiVersion":"apps/v1","kind":"StatefulSet","name":"web","uid":"2","controller":true}]},
           "spec":{"containers":[{"name":"app"},{"name":"sidecar"}]},
           "status":{"containerStatuses":[
             {"name":"app","image":"a","imageID":"","ready":true,"restartCount":0},
             {"name":"sidecar","image":"s","imageID":"","ready":false,"restartCount":3}]}},
          {"metadata":{"name":"web-1","annotations":{"kubectl.kubernetes.io/default-container":"app"}},
           "spec":{"containers":[{"name":"app"},{"name":"sidecar"}]}},
          {"metadata":{"name":"bare"},"spec":{"containers":[{"name":"only"}]}}]}"#,
        );
        assert_eq!(
            controller_of(&pods[0].metadata).map(|o| o.name.as_str()),
            Some("web")
        );
        assert_eq!(
            pod_state(&pods[0], "ns").owner.as_deref(),
            Some("StatefulSet/web")
        );
        assert_eq!(pod_state(&pods[2], "ns").owner, None);
        assert_eq!(log_container(&pods[0]).as_deref(), Some("sidecar"));
        assert_eq!(log_container(&pods[1]).as_deref(), Some("app"));
        assert_eq!(log_container(&pods[2]).as_deref(), Some("only"));
        let refs: Vec<&Pod> = pods.iter().collect();
        assert_eq!(pod_name(rank_pods(&refs)[0]), "web-0");
    }
}
