//! The Kubernetes tools' bodies: which backend calls each tool makes, and what it answers.
//!
//! A list that comes back empty and one that has no data at all (`None`) answer alike, so a
//! live cluster and a scenario without that file say the same thing. An RBAC refusal or an
//! allow-list refusal is an evidence gap ("no data" saying what was refused), never a failure.

use std::collections::BTreeMap;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod};
use rmcp::model::CallToolResult;

use crate::evidence::Observation;
use crate::tools::kube_api::{ListQuery, Workload, WorkloadKind};
use crate::tools::kubernetes::args::{
    EventsArgs, NodeStatusArgs, PodStatusArgs, ServiceHealthArgs, Target, WorkloadArgs,
};
use crate::tools::kubernetes::gaps::{answer_error, gap_text};
use crate::tools::kubernetes::pods::{pod_name, pod_state, rank_pods};
use crate::tools::kubernetes::resolve::{
    children, find_workload, owner_chain, pods_of_target, pods_of_workload,
};
use crate::tools::kubernetes::services::{ServiceSources, service_health_from};
use crate::tools::kubernetes::workloads::{MAX_REVISIONS, workload_state};
use crate::tools::kubernetes::{events, nodes, selector};
use crate::tools::{BackendError, KubeBackend, wire};

/// Pods of a workload whose events `get_events` reads (worst first).
const MAX_EVENT_PODS: usize = 10;

pub async fn pod_status(backend: &dyn KubeBackend, args: &PodStatusArgs) -> CallToolResult {
    let ns = args.namespace.trim();
    if let Some(node) = args
        .node
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        return match backend
            .list_pods(ns, &ListQuery::fields(selector::on_node(node)))
            .await
        {
            Ok(pods) => {
                let pods = pods.unwrap_or_default();
                if pods.is_empty() {
                    wire::no_data(format!("no pods on node {node}{}", in_ns(ns)))
                } else {
                    wire::data(&Observation::Pods {
                        pods: pods
                            .iter()
                            .map(|p| pod_state(p, p.metadata.namespace.as_deref().unwrap_or(ns)))
                            .collect(),
                    })
                }
            }
            Err(e) => answer_error(&e),
        };
    }
    if ns.is_empty() {
        return match given_name(args) {
            Some(app) => pods_by_app_label(backend, app).await,
            None => wire::no_data("no namespace given (name the pods' namespace, or a node)"),
        };
    }
    let target = match Target::from_args(&args.pod, &args.kind, &args.name, &args.service) {
        Ok(t) => t,
        Err(e) => return wire::failed(e),
    };
    let pods = match pods_of_target(backend, ns, &target).await {
        Ok(pods) => pods,
        Err(e) => return answer_error(&e),
    };
    if pods.is_empty() {
        return wire::no_data(format!("no pods{} in {ns}", target.describe()));
    }
    wire::data(&Observation::Pods {
        pods: pods.iter().map(|p| pod_state(p, ns)).collect(),
    })
}

/// The items of a list answer; a refusal becomes a gap and no items.
fn or_gap<T>(
    answer: Result<Option<Vec<T>>, BackendError>,
    gaps: &mut Vec<String>,
) -> Result<Vec<T>, BackendError> {
    match answer {
        Ok(items) => Ok(items.unwrap_or_default()),
        Err(e) => match gap_text(&e) {
            Some(gap) => {
                gaps.push(gap);
                Ok(Vec::new())
            }
            None => Err(e),
        },
    }
}

pub async fn service_health(backend: &dyn KubeBackend, args: &ServiceHealthArgs) -> CallToolResult {
    let ns = args.namespace.as_str();
    let service = args.service.as_str();
    let slices_query = ListQuery::labels(selector::slices_of(service));
    let (services, endpoints, deployments, slices) = tokio::join!(
        backend.list_services(ns),
        backend.list_endpoints(ns),
        backend.list_workloads(ns, WorkloadKind::Deployment, &ListQuery::all()),
        backend.list_endpoint_slices(ns, &slices_query),
    );
    let mut gaps = Vec::new();
    let (services, endpoints, deployments) = match (
        or_gap(services, &mut gaps),
        or_gap(endpoints, &mut gaps),
        or_gap(deployments, &mut gaps),
    ) {
        (Ok(s), Ok(e), Ok(d)) => (s, e, d),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return wire::backend_failed("kubernetes", &e);
        }
    };
    let slices = match slices {
        Ok(items) => items.unwrap_or_default(),
        Err(e) => {
            // Endpoints still count; say why the slices are missing.
            gaps.push(gap_text(&e).unwrap_or_else(|| format!("kubernetes: EndpointSlices: {e}")));
            Vec::new()
        }
    };
    let deployments: Vec<Deployment> = deployments
        .into_iter()
        .filter_map(|w| match w {
            Workload::Deployment(d) => Some(*d),
            _ => None,
        })
        .collect();
    // Without an Endpoints object or slices, count what the endpoints controller would: the
    // pods.
    let has_endpoints = endpoints
        .iter()
        .any(|e| e.metadata.name.as_deref() == Some(service))
        || !slices.is_empty();
    let pods = if has_endpoints {
        None
    } else {
        backend
            .list_pods(ns, &ListQuery::all())
            .await
            .ok()
            .flatten()
    };
    let sources = ServiceSources {
        services: &services,
        endpoints: &endpoints,
        slices: &slices,
        deployments: &deployments,
        pods: pods.as_deref(),
    };
    let mut health = service_health_from(ns, service, &sources);
    // No endpoint at all behind a selector: read the pods, to show those the selector misses.
    if pods.is_none()
        && let Some(h) = &health
        && h.ready_endpoints == 0
        && h.not_ready_endpoints == 0
        && h.selector.is_some()
        && let Ok(Some(all)) = backend.list_pods(ns, &ListQuery::all()).await
    {
        health = service_health_from(
            ns,
            service,
            &ServiceSources {
                pods: Some(&all),
                ..sources
            },
        );
    }
    match health {
        Some(mut health) => {
            health.gaps = gaps;
            wire::data(&Observation::ServiceHealth {
                services: vec![health],
            })
        }
        None if !gaps.is_empty() => wire::no_data(gaps.join("; ")),
        None => wire::no_data(format!(
            "no service, endpoints or deployment named {service} in {ns}"
        )),
    }
}

/// `(kind, name)` of every object whose events tell a workload's story: itself, its newest
/// ReplicaSets / Jobs, and its worst pods.
async fn objects_of_workload(
    backend: &dyn KubeBackend,
    ns: &str,
    kinds: &[WorkloadKind],
    name: &str,
) -> Result<Vec<(Option<String>, String)>, BackendError> {
    let Some(w) = find_workload(backend, ns, kinds, name).await? else {
        // Gone (or never existed): its events may outlive it.
        let kind = (kinds.len() == 1).then(|| kinds[0].kind().to_owned());
        return Ok(vec![(kind, name.to_owned())]);
    };
    let mut objects = vec![(Some(w.kind().kind().to_owned()), w.name().to_owned())];
    for child in children(backend, ns, &w).await?.iter().take(MAX_REVISIONS) {
        objects.push((
            Some(child.kind().kind().to_owned()),
            child.name().to_owned(),
        ));
    }
    let pods = pods_of_workload(backend, ns, &w).await?;
    let refs: Vec<&Pod> = pods.iter().collect();
    for pod in rank_pods(&refs).into_iter().take(MAX_EVENT_PODS) {
        objects.push((Some("Pod".to_owned()), pod_name(pod).to_owned()));
    }
    Ok(objects)
}

/// The app a call names by `service` or `name` (not a pod).
fn given_name(args: &PodStatusArgs) -> Option<&str> {
    [&args.service, &args.name]
        .into_iter()
        .filter_map(|v| v.as_deref().map(str::trim))
        .find(|v| !v.is_empty())
}

/// No namespace given: the pods labelled with the app's name (`app`, `app.kubernetes.io/name`,
/// `k8s-app`) in every namespace, as `kubectl get pods -A -l app=…` finds them.
async fn pods_by_app_label(backend: &dyn KubeBackend, app: &str) -> CallToolResult {
    for key in ["app", "app.kubernetes.io/name", "k8s-app"] {
        match backend
            .list_pods("", &ListQuery::labels(format!("{key}={app}")))
            .await
        {
            Ok(Some(pods)) if !pods.is_empty() => {
                return wire::data(&Observation::Pods {
                    pods: pods
                        .iter()
                        .map(|p| pod_state(p, p.metadata.namespace.as_deref().unwrap_or_default()))
                        .collect(),
                });
            }
            Ok(_) => {}
            Err(e) => return answer_error(&e),
        }
    }
    wire::no_data(format!(
        "no namespace given, and no pods labelled app={app} in any namespace"
    ))
}

/// ` in <ns>`, or nothing for every namespace.
fn in_ns(ns: &str) -> String {
    if ns.is_empty() {
        String::new()
    } else {
        format!(" in {ns}")
    }
}

/// Events about a node and about the pods scheduled on it, oldest first.
async fn node_events(
    backend: &dyn KubeBackend,
    ns: &str,
    node: &str,
    warnings_only: bool,
) -> CallToolResult {
    let pods = match backend
        .list_pods(ns, &ListQuery::fields(selector::on_node(node)))
        .await
    {
        Ok(pods) => pods.unwrap_or_default(),
        Err(e) => return answer_error(&e),
    };
    let mut objects: Vec<(String, Option<&str>, String)> =
        vec![(String::new(), Some("Node"), node.to_owned())];
    objects.extend(pods.iter().map(|p| {
        (
            p.metadata.namespace.clone().unwrap_or_default(),
            Some("Pod"),
            pod_name(p).to_owned(),
        )
    }));
    let answers = join_all(objects.iter().map(|(pod_ns, kind, name)| {
        let query = ListQuery::fields(selector::involved_object(*kind, name));
        let ns = if pod_ns.is_empty() {
            ns
        } else {
            pod_ns.as_str()
        };
        async move { backend.list_events(ns, &query).await }
    }))
    .await;
    let mut all: Vec<Event> = Vec::new();
    for answer in answers {
        match answer {
            Ok(evs) => all.extend(evs.unwrap_or_default()),
            Err(e) => return answer_error(&e),
        }
    }
    let selected = events::all_events(&all, warnings_only);
    if selected.is_empty() {
        return wire::no_data(format!(
            "no events for node {node} or its pods{}",
            in_ns(ns)
        ));
    }
    wire::data(&Observation::Events { events: selected })
}

pub async fn events(backend: &dyn KubeBackend, args: &EventsArgs) -> CallToolResult {
    let ns = args.namespace.trim();
    if let Some(node) = args
        .node
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        return node_events(backend, ns, node, args.warnings_only.unwrap_or(false)).await;
    }
    if ns.is_empty() {
        return wire::no_data("no namespace given (name the namespace, or a node)");
    }
    let warnings_only = args.warnings_only.unwrap_or(false);
    let object = args.object.as_deref().filter(|s| !s.trim().is_empty());
    let target = match Target::from_args(&args.pod, &args.kind, &args.name, &None) {
        Ok(t) => t,
        Err(e) => return wire::failed(e),
    };
    let objects = match &target {
        Target::Pod(pod) => vec![(Some("Pod".to_owned()), pod.clone())],
        Target::Workload(kinds, name) => {
            match objects_of_workload(backend, ns, kinds, name).await {
                Ok(objects) => objects,
                Err(e) => return answer_error(&e),
            }
        }
        Target::Service(_) | Target::Namespace => Vec::new(),
    };
    let selected = if objects.is_empty() {
        // The namespace's events, filtered here (a name prefix is no field selector).
        match backend.list_events(ns, &ListQuery::all()).await {
            Ok(evs) => events::select_events(&evs.unwrap_or_default(), object, warnings_only),
            Err(e) => return answer_error(&e),
        }
    } else {
        let answers = join_all(objects.iter().map(|(kind, name)| {
            let query = ListQuery::fields(selector::involved_object(kind.as_deref(), name));
            async move { backend.list_events(ns, &query).await }
        }))
        .await;
        let mut all: Vec<Event> = Vec::new();
        for answer in answers {
            match answer {
                Ok(evs) => all.extend(evs.unwrap_or_default()),
                Err(e) => return answer_error(&e),
            }
        }
        events::all_events(&all, warnings_only)
    };
    if !selected.is_empty() {
        return wire::data(&Observation::Events { events: selected });
    }
    let about = match (&target, object) {
        (Target::Pod(pod), _) => format!(" for pod {pod}"),
        (Target::Workload(_, name), _) => format!(" for {name}"),
        (_, Some(o)) => format!(" for {o}"),
        _ => String::new(),
    };
    let warning = if warnings_only || (object.is_none() && objects.is_empty()) {
        "warning "
    } else {
        ""
    };
    wire::no_data(format!("no {warning}events{about} in {ns}"))
}

pub async fn workload(backend: &dyn KubeBackend, args: &WorkloadArgs) -> CallToolResult {
    let ns = args.namespace.as_str();
    let target = match Target::from_args(&args.pod, &args.kind, &args.name, &None) {
        Ok(t) => t,
        Err(e) => return wire::failed(e),
    };
    let (found, chain) = match &target {
        Target::Pod(pod) => {
            let object = match backend.get_pod(ns, pod).await {
                Ok(Some(object)) => object,
                Ok(None) => return wire::no_data(format!("no pod named {pod} in {ns}")),
                Err(e) => return answer_error(&e),
            };
            let chain = match owner_chain(backend, ns, &object).await {
                Ok(chain) => chain,
                Err(e) => return answer_error(&e),
            };
            match chain.top.clone() {
                Some(top) => (top, Some(chain)),
                None if !chain.gaps.is_empty() => return wire::no_data(chain.gaps.join("; ")),
                None => {
                    let mut why = format!(
                        "pod {pod} has no workload controller: a bare pod, not managed by a \
                         Deployment, StatefulSet, DaemonSet or Job"
                    );
                    for note in &chain.notes {
                        why.push_str(&format!("; {note}"));
                    }
                    return wire::no_data(why);
                }
            }
        }
        Target::Workload(kinds, name) => match find_workload(backend, ns, kinds, name).await {
            Ok(Some(w)) => (w, None),
            Ok(None) => return wire::no_data(format!("no workload{} in {ns}", target.describe())),
            Err(e) => return answer_error(&e),
        },
        Target::Service(_) | Target::Namespace => {
            return wire::failed("get_workload needs `kind` + `name`, `name` or `pod`");
        }
    };
    let mut gaps = Vec::new();
    let owned = match children(backend, ns, &found).await {
        Ok(owned) => owned,
        Err(e) => {
            gaps.push(gap_text(&e).unwrap_or_else(|| format!("kubernetes: {e}")));
            Vec::new()
        }
    };
    let mut state = workload_state(&found, ns, &owned);
    if let Some(chain) = chain {
        state.owner_chain = chain.links;
        state.notes.extend(chain.notes);
        gaps.extend(chain.gaps);
    }
    state.gaps = gaps;
    wire::data(&Observation::Workload {
        workload: Box::new(state),
    })
}

pub async fn node_status(backend: &dyn KubeBackend, args: &NodeStatusArgs) -> CallToolResult {
    if let Some(node) = args.node.as_deref().filter(|n| !n.trim().is_empty()) {
        return match backend.get_node(node).await {
            Ok(Some(n)) => wire::data(&Observation::Nodes {
                nodes: vec![nodes::node_state(&n)],
            }),
            // An exporter's `instance` is the node's address, not its name.
            Ok(None) if node.parse::<std::net::IpAddr>().is_ok() => {
                match backend.list_nodes(&ListQuery::all()).await {
                    Ok(list) => {
                        let found: Vec<_> = list
                            .unwrap_or_default()
                            .iter()
                            .map(nodes::node_state)
                            .filter(|n| n.addresses.iter().any(|a| a == node))
                            .collect();
                        if found.is_empty() {
                            wire::no_data(format!("no node named {node} or with that address"))
                        } else {
                            wire::data(&Observation::Nodes { nodes: found })
                        }
                    }
                    Err(e) => answer_error(&e),
                }
            }
            Ok(None) => wire::no_data(format!("no node named {node}")),
            Err(e) => answer_error(&e),
        };
    }
    let Some(ns) = args.namespace.as_deref().filter(|n| !n.trim().is_empty()) else {
        return match backend.list_nodes(&ListQuery::all()).await {
            Ok(list) => {
                let list = list.unwrap_or_default();
                if list.is_empty() {
                    wire::no_data("no nodes")
                } else {
                    wire::data(&Observation::Nodes {
                        nodes: nodes::node_states(&list),
                    })
                }
            }
            Err(e) => answer_error(&e),
        };
    };
    let target = match Target::from_args(&args.pod, &args.kind, &args.name, &args.service) {
        Ok(t) => t,
        Err(e) => return wire::failed(e),
    };
    let pods = match pods_of_target(backend, ns, &target).await {
        Ok(pods) => pods,
        Err(e) => return answer_error(&e),
    };
    // Node → the pods asked about on it, in first-seen order.
    let mut on_node: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut order = Vec::new();
    for pod in &pods {
        if let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.clone()) {
            if !on_node.contains_key(&node) {
                order.push(node.clone());
            }
            on_node
                .entry(node)
                .or_default()
                .push(pod_name(pod).to_owned());
        }
    }
    order.truncate(nodes::MAX_NODES);
    if order.is_empty() {
        return wire::no_data(format!(
            "no scheduled pods{} in {ns}, so no nodes",
            target.describe()
        ));
    }
    let answers = join_all(order.iter().map(|n| backend.get_node(n))).await;
    let mut states = Vec::new();
    for (name, answer) in order.iter().zip(answers) {
        match answer {
            Ok(Some(node)) => {
                let mut state = nodes::node_state(&node);
                state.pods = on_node.remove(name).unwrap_or_default();
                states.push(state);
            }
            Ok(None) => {}
            Err(e) => return answer_error(&e),
        }
    }
    if states.is_empty() {
        return wire::no_data(format!(
            "the nodes of the pods{} are gone",
            target.describe()
        ));
    }
    wire::data(&Observation::Nodes { nodes: states })
}
