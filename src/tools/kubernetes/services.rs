//! Service health: ready / not-ready endpoints of a Service, from its `discovery.k8s.io/v1`
//! EndpointSlices or its core/v1 Endpoints (or, without either, the pods it selects), and the
//! Deployment behind it.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::evidence::{EndpointSource, ServiceHealth};
use crate::tools::kubernetes::pods::{pod_matches_service, pod_state};
use crate::tools::kubernetes::selector::{self, SERVICE_NAME_LABEL};
use crate::tools::kubernetes::workloads::deployment_state;

fn selects(selector: &BTreeMap<String, String>, labels: Option<&BTreeMap<String, String>>) -> bool {
    !selector.is_empty()
        && labels.is_some_and(|labels| selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// Endpoint counts of `service` and the deployment behind it; `None` when nothing by that name
/// exists. Without an Endpoints object the counts are those the endpoints controller would
/// publish: the ready / not-ready running pods the service selects (from `pods`), else the
/// deployment's ready / missing replicas.
pub fn service_health(
    namespace: &str,
    service: &str,
    services: &[Service],
    endpoints: &[Endpoints],
    deployments: &[Deployment],
    pods: Option<&[Pod]>,
) -> Option<ServiceHealth> {
    service_health_from(
        namespace,
        service,
        &ServiceSources {
            services,
            endpoints,
            slices: &[],
            deployments,
            pods,
        },
    )
}

/// Everything [`service_health_from`] reads: the namespace's objects as listed.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServiceSources<'a> {
    pub services: &'a [Service],
    pub endpoints: &'a [Endpoints],
    /// The service's EndpointSlices (other services' slices are ignored).
    pub slices: &'a [EndpointSlice],
    pub deployments: &'a [Deployment],
    pub pods: Option<&'a [Pod]>,
}

/// Endpoint counts of `service` (from its EndpointSlices, else its Endpoints object, else the
/// pods it selects, else its deployment's replicas) and the deployment behind it; `None` when
/// nothing by that name exists.
pub fn service_health_from(
    namespace: &str,
    service: &str,
    sources: &ServiceSources<'_>,
) -> Option<ServiceHealth> {
    let ServiceSources {
        services,
        endpoints,
        slices,
        deployments,
        pods,
    } = *sources;
    let slices: Vec<&EndpointSlice> = slices
        .iter()
        .filter(|s| {
            s.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SERVICE_NAME_LABEL))
                .map(String::as_str)
                == Some(service)
        })
        .collect();
    let svc = services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(service));
    let eps = endpoints
        .iter()
        .find(|e| e.metadata.name.as_deref() == Some(service));
    let selector = svc
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.selector.as_ref());
    let deployment = deployments
        .iter()
        .find(|d| d.metadata.name.as_deref() == Some(service))
        .or_else(|| {
            let selector = selector?;
            deployments.iter().find(|d| {
                selects(
                    selector,
                    d.spec
                        .as_ref()
                        .and_then(|s| s.template.metadata.as_ref())
                        .and_then(|m| m.labels.as_ref()),
                )
            })
        })
        .or_else(|| {
            deployments.iter().find(|d| {
                d.metadata.labels.as_ref().is_some_and(|l| {
                    ["app", "app.kubernetes.io/name"]
                        .iter()
                        .any(|k| l.get(*k).map(String::as_str) == Some(service))
                })
            })
        });
    let found = svc.is_some() || eps.is_some() || deployment.is_some() || !slices.is_empty();
    let deployment_template = deployment
        .and_then(|d| d.spec.as_ref())
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.as_ref());
    let deployment = deployment.map(deployment_state);
    let (mut ready, mut not_ready) = (0u32, 0u32);
    let mut not_ready_targets = Vec::new();
    let counted_from;
    if !slices.is_empty() {
        let counts = slice_counts(&slices);
        (ready, not_ready, not_ready_targets) = (counts.0, counts.1, counts.2);
        counted_from = Some(EndpointSource::EndpointSlices);
    } else if let Some(eps) = eps {
        for subset in eps.subsets.iter().flatten() {
            ready += subset.addresses.as_ref().map_or(0, |a| a.len() as u32);
            for a in subset.not_ready_addresses.iter().flatten() {
                not_ready += 1;
                not_ready_targets.push(
                    a.target_ref
                        .as_ref()
                        .and_then(|t| t.name.clone())
                        .unwrap_or_else(|| a.ip.clone()),
                );
            }
        }
        counted_from = Some(EndpointSource::Endpoints);
    } else {
        let selected: Vec<&Pod> = pods
            .unwrap_or_default()
            .iter()
            .filter(|p| match selector {
                Some(sel) if !sel.is_empty() => selects(sel, p.metadata.labels.as_ref()),
                _ => pod_matches_service(p, service),
            })
            .filter(|p| {
                p.metadata.deletion_timestamp.is_none()
                    && !matches!(
                        p.status.as_ref().and_then(|s| s.phase.as_deref()),
                        Some("Succeeded" | "Failed")
                    )
            })
            .collect();
        if !selected.is_empty() {
            for p in &selected {
                let state = pod_state(p, namespace);
                if state.ready {
                    ready += 1;
                } else {
                    not_ready += 1;
                    not_ready_targets.push(state.name);
                }
            }
            counted_from = Some(EndpointSource::Pods);
        } else if let Some(d) = &deployment {
            ready = d.ready;
            not_ready = d.desired.saturating_sub(d.ready);
            counted_from = Some(EndpointSource::Deployment);
        } else if !found {
            return None;
        } else {
            counted_from = None;
        }
    }
    let unselected_pods = if ready == 0 && not_ready == 0 {
        unselected(
            selector,
            service,
            deployment_template,
            pods.unwrap_or_default(),
        )
    } else {
        Vec::new()
    };
    Some(ServiceHealth {
        name: service.to_owned(),
        namespace: svc
            .and_then(|s| s.metadata.namespace.clone())
            .unwrap_or_else(|| namespace.to_owned()),
        ready_endpoints: ready,
        not_ready_endpoints: not_ready,
        deployment,
        counted_from,
        selector: selector.and_then(selector::from_map),
        not_ready_targets,
        unselected_pods,
        gaps: Vec::new(),
    })
}

/// Most pods [`unselected`] lists.
const MAX_UNSELECTED: usize = 5;

/// The running pods that look like the service's (its Deployment's pod template labels, the
/// `app`/`app.kubernetes.io/name`/`k8s-app` label or a `<service>-` name) but that `selector`
/// does not match, as `name (k=v,…)`: the evidence that a Service's selector matches no pod.
fn unselected(
    selector: Option<&BTreeMap<String, String>>,
    service: &str,
    template: Option<&BTreeMap<String, String>>,
    pods: &[Pod],
) -> Vec<String> {
    let Some(selector) = selector.filter(|s| !s.is_empty()) else {
        return Vec::new();
    };
    pods.iter()
        .filter(|p| {
            p.metadata.deletion_timestamp.is_none()
                && !matches!(
                    p.status.as_ref().and_then(|s| s.phase.as_deref()),
                    Some("Succeeded" | "Failed")
                )
        })
        .filter(|p| !selects(selector, p.metadata.labels.as_ref()))
        .filter(|p| {
            pod_matches_service(p, service)
                || template.is_some_and(|t| selects(t, p.metadata.labels.as_ref()))
        })
        .take(MAX_UNSELECTED)
        .map(|p| {
            let labels = p
                .metadata
                .labels
                .as_ref()
                .map(|l| {
                    l.iter()
                        .filter(|(k, _)| k.as_str() != "pod-template-hash")
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            format!(
                "{} ({labels})",
                p.metadata.name.as_deref().unwrap_or_default()
            )
        })
        .collect()
}

/// Ready and not-ready endpoints over a service's slices (one address family: IPv4 when
/// present, as kube-proxy counts them), each endpoint once, terminating ones left out as the
/// Endpoints controller does; and the targets of the not-ready ones.
fn slice_counts(slices: &[&EndpointSlice]) -> (u32, u32, Vec<String>) {
    let family = ["IPv4", "IPv6", "FQDN"]
        .into_iter()
        .find(|f| slices.iter().any(|s| s.address_type == *f))
        .unwrap_or("IPv4");
    let mut seen = std::collections::HashSet::new();
    let (mut ready, mut not_ready, mut targets) = (0u32, 0u32, Vec::new());
    for ep in slices
        .iter()
        .filter(|s| s.address_type == family)
        .flat_map(|s| s.endpoints.iter())
    {
        let target = ep
            .target_ref
            .as_ref()
            .and_then(|t| t.name.clone())
            .or_else(|| ep.addresses.first().cloned())
            .unwrap_or_default();
        if !seen.insert(target.clone()) {
            continue;
        }
        let conditions = ep.conditions.as_ref();
        if conditions.and_then(|c| c.terminating) == Some(true) {
            continue;
        }
        // A nil `ready` is "unknown", which consumers treat as ready.
        if conditions.and_then(|c| c.ready).unwrap_or(true) {
            ready += 1;
        } else {
            not_ready += 1;
            targets.push(target);
        }
    }
    (ready, not_ready, targets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::kubernetes::testdata::{PODS, list};

    const ENDPOINTS: &str = r#"{"kind":"EndpointsList","apiVersion":"v1","items":[
      {"metadata":{"name":"ledger","namespace":"payments"},"subsets":[
        {"addresses":[{"ip":"10.0.4.17"}],"notReadyAddresses":[{"ip":"10.0.4.18"},{"ip":"10.0.4.19"}],"ports":[{"port":8080}]},
        {"addresses":[{"ip":"10.0.5.2"}],"ports":[{"port":9090}]}]},
      {"metadata":{"name":"other"}}]}"#;
    const SERVICES: &str = r#"{"kind":"ServiceList","apiVersion":"v1","items":[
      {"metadata":{"name":"ledger","namespace":"payments"},"spec":{"selector":{"tier":"ledger"},"ports":[{"port":80}]}}]}"#;
    const DEPLOYMENTS: &str = r#"{"kind":"DeploymentList","apiVersion":"apps/v1","items":[
      {"metadata":{"name":"unrelated"},"spec":{"selector":{"matchLabels":{"app":"x"}},"template":{"metadata":{"labels":{"app":"x"}},"spec":{"containers":[{"name":"x","image":"x:1"}]}}}},
      {"metadata":{"name":"ledger-v2","annotations":{"deployment.kubernetes.io/revision":"5"}},
       "spec":{"replicas":3,"selector":{"matchLabels":{"tier":"ledger"}},
               "template":{"metadata":{"labels":{"tier":"ledger","version":"v2"}},"spec":{"containers":[{"name":"app","image":"ledger:2.0.1"}]}}},
       "status":{"replicas":4,"readyReplicas":1,"updatedReplicas":2,"unavailableReplicas":3,
         "conditions":[{"type":"Available","status":"False","reason":"MinimumReplicasUnavailable","message":"Deployment does not have minimum availability."},
                       {"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded","message":"ReplicaSet \"ledger-v2-5f6\" has timed out progressing."}]}}]}"#;

    #[test]
    fn service_health_counts_and_deployment() {
        let services: Vec<Service> = list(SERVICES);
        let endpoints: Vec<Endpoints> = list(ENDPOINTS);
        let deployments: Vec<Deployment> = list(DEPLOYMENTS);
        let h = service_health(
            "payments",
            "ledger",
            &services,
            &endpoints,
            &deployments,
            None,
        )
        .expect("health");
        assert_eq!((h.ready_endpoints, h.not_ready_endpoints), (2, 2));
        let d = h.deployment.expect("deployment by selector");
        assert_eq!(d.name, "ledger-v2");
        assert_eq!((d.desired, d.ready, d.updated, d.unavailable), (3, 1, 2, 3));
        assert_eq!(d.revision.as_deref(), Some("5"));
        assert_eq!(d.images, vec!["ledger:2.0.1"]);
        assert!(
            d.conditions
                .iter()
                .any(|c| c.starts_with("Progressing=False: ProgressDeadlineExceeded"))
        );
        assert!(
            d.conditions
                .iter()
                .any(|c| c.starts_with("Available=False"))
        );
        assert!(
            service_health(
                "payments",
                "nope",
                &services,
                &endpoints,
                &deployments,
                None
            )
            .is_none()
        );
        let bare = service_health("payments", "other", &[], &endpoints, &[], None)
            .expect("endpoints only");
        assert_eq!((bare.ready_endpoints, bare.not_ready_endpoints), (0, 0));
        // No Endpoints object: the deployment's replicas stand in.
        let h = service_health("payments", "ledger", &services, &[], &deployments, None)
            .expect("health");
        assert_eq!((h.ready_endpoints, h.not_ready_endpoints), (1, 2));
        // ... or the pods, when known.
        let pods: Vec<Pod> = list(PODS);
        let h = service_health("shop", "checkout", &[], &[], &[], Some(&pods)).expect("health");
        assert_eq!((h.ready_endpoints, h.not_ready_endpoints), (0, 2));
    }

    const SLICES: &str = r#"{"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1","items":[
      {"metadata":{"name":"ledger-abc","labels":{"kubernetes.io/service-name":"ledger"}},"addressType":"IPv4",
       "endpoints":[
         {"addresses":["10.0.4.17"],"conditions":{"ready":true},"targetRef":{"kind":"Pod","name":"ledger-1"}},
         {"addresses":["10.0.4.18"],"conditions":{"ready":false},"targetRef":{"kind":"Pod","name":"ledger-2"}},
         {"addresses":["10.0.4.19"],"conditions":{"ready":false,"terminating":true},"targetRef":{"kind":"Pod","name":"ledger-3"}},
         {"addresses":["10.0.4.20"],"targetRef":{"kind":"Pod","name":"ledger-4"}}]},
      {"metadata":{"name":"ledger-def","labels":{"kubernetes.io/service-name":"ledger"}},"addressType":"IPv4",
       "endpoints":[{"addresses":["10.0.4.18"],"conditions":{"ready":false},"targetRef":{"kind":"Pod","name":"ledger-2"}}]},
      {"metadata":{"name":"ledger-v6","labels":{"kubernetes.io/service-name":"ledger"}},"addressType":"IPv6",
       "endpoints":[{"addresses":["fd00::1"],"conditions":{"ready":true},"targetRef":{"kind":"Pod","name":"ledger-1"}}]},
      {"metadata":{"name":"other-x","labels":{"kubernetes.io/service-name":"other"}},"addressType":"IPv4",
       "endpoints":[{"addresses":["10.9.9.9"],"conditions":{"ready":true}}]}
    ]}"#;

    #[test]
    fn endpoint_slices_win_over_endpoints() {
        let services: Vec<Service> = list(SERVICES);
        let endpoints: Vec<Endpoints> = list(ENDPOINTS);
        let slices: Vec<EndpointSlice> = list(SLICES);
        let h = service_health_from(
            "payments",
            "ledger",
            &ServiceSources {
                services: &services,
                endpoints: &endpoints,
                slices: &slices,
                ..ServiceSources::default()
            },
        )
        .expect("health");
        assert_eq!(h.counted_from, Some(EndpointSource::EndpointSlices));
        assert_eq!(
            (h.ready_endpoints, h.not_ready_endpoints),
            (2, 1),
            "unknown readiness counts as ready, terminating and duplicates are left out"
        );
        assert_eq!(h.not_ready_targets, vec!["ledger-2"]);
        assert_eq!(h.selector.as_deref(), Some("tier=ledger"));
        // Only the Endpoints object: its counts and not-ready addresses.
        let h =
            service_health("payments", "ledger", &services, &endpoints, &[], None).expect("health");
        assert_eq!(h.counted_from, Some(EndpointSource::Endpoints));
        assert_eq!(h.not_ready_targets, vec!["10.0.4.18", "10.0.4.19"]);
        // Slices of a service nothing else knows still make it exist.
        let h = service_health_from(
            "payments",
            "other",
            &ServiceSources {
                slices: &slices,
                ..ServiceSources::default()
            },
        )
        .expect("health");
        assert_eq!((h.ready_endpoints, h.not_ready_endpoints), (1, 0));
    }

    #[test]
    fn pods_the_selector_misses_are_listed_when_there_is_no_endpoint() {
        let services: Vec<Service> = list(
            r#"{"kind":"ServiceList","apiVersion":"v1","items":[
          {"metadata":{"name":"search-gateway","namespace":"discovery"},"spec":{"selector":{"app":"search-gateway"}}}]}"#,
        );
        let endpoints: Vec<Endpoints> = list(
            r#"{"kind":"EndpointsList","apiVersion":"v1","items":[
          {"metadata":{"name":"search-gateway","namespace":"discovery"}}]}"#,
        );
        let pods: Vec<Pod> = list(
            r#"{"kind":"PodList","apiVersion":"v1","items":[
          {"metadata":{"name":"search-gateway-7c9-b9dvn","namespace":"discovery",
            "labels":{"app.kubernetes.io/name":"search-gateway","pod-template-hash":"7c9"}},
           "spec":{"containers":[{"name":"app","image":"sg:2"}]},"status":{"phase":"Running"}},
          {"metadata":{"name":"indexer-0","namespace":"discovery","labels":{"app":"indexer"}},
           "spec":{"containers":[{"name":"app","image":"ix:1"}]},"status":{"phase":"Running"}}]}"#,
        );
        let sources = ServiceSources {
            services: &services,
            endpoints: &endpoints,
            pods: Some(&pods),
            ..ServiceSources::default()
        };
        let h = service_health_from("discovery", "search-gateway", &sources).expect("health");
        assert_eq!((h.ready_endpoints, h.not_ready_endpoints), (0, 0));
        assert_eq!(
            h.unselected_pods,
            vec!["search-gateway-7c9-b9dvn (app.kubernetes.io/name=search-gateway)"]
        );
        // Without the pods, nothing is claimed.
        let sources = ServiceSources {
            pods: None,
            ..sources
        };
        let h = service_health_from("discovery", "search-gateway", &sources).expect("health");
        assert!(h.unselected_pods.is_empty());
    }
}
