//! `config check --probe` for Kubernetes: one `list` with `limit=1` per resource the tools read,
//! in every allowed namespace (or across all namespaces when none are listed), and of nodes;
//! the answer is one line saying what is readable and what RBAC forbids.

use std::collections::BTreeMap;
use std::fmt::Debug;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Endpoints, Event, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Resource;
use kube::api::{Api, ListParams};
use serde::de::DeserializeOwned;

use super::KubeApi;
use crate::tools::BackendError;

/// One probed resource in one scope.
struct Probe {
    resource: String,
    /// `None`: cluster scope or all namespaces.
    namespace: Option<String>,
    result: Result<(), BackendError>,
}

impl KubeApi {
    /// A namespaced resource in `namespace`, or across all namespaces.
    fn scoped<K>(&self, namespace: Option<&str>) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    {
        match namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        }
    }

    async fn probe_one<K>(&self, api: Api<K>, namespace: Option<&str>) -> Probe
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    {
        let call = Self::call::<K>("list", namespace);
        let result = self
            .timed(&call, api.list(&ListParams::default().limit(1)))
            .await
            .map(|_| ());
        Probe {
            resource: K::plural(&()).into_owned(),
            namespace: namespace.map(str::to_owned),
            result,
        }
    }

    async fn probe_scope(&self, ns: Option<&str>) -> Vec<Probe> {
        vec![
            self.probe_one::<Pod>(self.scoped(ns), ns).await,
            self.probe_one::<Event>(self.scoped(ns), ns).await,
            self.probe_one::<Service>(self.scoped(ns), ns).await,
            self.probe_one::<Endpoints>(self.scoped(ns), ns).await,
            self.probe_one::<EndpointSlice>(self.scoped(ns), ns).await,
            self.probe_one::<Deployment>(self.scoped(ns), ns).await,
            self.probe_one::<ReplicaSet>(self.scoped(ns), ns).await,
            self.probe_one::<StatefulSet>(self.scoped(ns), ns).await,
            self.probe_one::<DaemonSet>(self.scoped(ns), ns).await,
            self.probe_one::<Job>(self.scoped(ns), ns).await,
            self.probe_one::<CronJob>(self.scoped(ns), ns).await,
        ]
    }

    /// What this client can read, in one line, e.g. `kubernetes: in-cluster, pods readable in
    /// 3 namespaces, events forbidden in kube-system, nodes readable`.
    pub async fn probe(&self) -> String {
        let scopes: Vec<Option<&str>> = if self.settings.namespaces.is_empty() {
            vec![None]
        } else {
            self.settings
                .namespaces
                .iter()
                .map(|n| Some(n.as_str()))
                .collect()
        };
        let mut probes: Vec<Probe> = join_all(scopes.iter().map(|ns| self.probe_scope(*ns)))
            .await
            .into_iter()
            .flatten()
            .collect();
        probes.push(
            self.probe_one::<Node>(Api::all(self.client.clone()), None)
                .await,
        );
        summary(&self.source, scopes.len(), &probes)
    }
}

fn scope_phrase(namespaces: &[&str]) -> String {
    if namespaces.iter().all(|n| n.is_empty()) {
        "across all namespaces".to_owned()
    } else {
        format!("in {}", namespaces.join(", "))
    }
}

fn summary(source: &str, scopes: usize, probes: &[Probe]) -> String {
    let mut parts = vec![format!("kubernetes: {source}")];
    if probes
        .iter()
        .all(|p| matches!(&p.result, Err(e) if !matches!(e, BackendError::Forbidden { .. })))
    {
        if let Some(Err(e)) = probes.first().map(|p| &p.result) {
            parts.push(format!("API server unreachable: {e}"));
        }
        return parts.join(", ");
    }
    let pods_ok = probes
        .iter()
        .filter(|p| p.resource == "pods" && p.result.is_ok())
        .count();
    parts.push(
        if scopes == 1
            && probes
                .iter()
                .any(|p| p.resource == "pods" && p.namespace.is_none())
        {
            if pods_ok == 1 {
                "pods readable in all namespaces".to_owned()
            } else {
                "pods not readable".to_owned()
            }
        } else {
            format!(
                "pods readable in {pods_ok} namespace{}",
                if pods_ok == 1 { "" } else { "s" }
            )
        },
    );
    // Problems by resource and kind of problem, in probe order.
    let mut forbidden: BTreeMap<(usize, String), Vec<&str>> = BTreeMap::new();
    let mut failed: Vec<String> = Vec::new();
    for (i, p) in probes.iter().enumerate() {
        let order = probes
            .iter()
            .position(|q| q.resource == p.resource)
            .unwrap_or(i);
        match &p.result {
            Ok(()) => {}
            Err(BackendError::Forbidden { .. }) => forbidden
                .entry((order, p.resource.clone()))
                .or_default()
                .push(p.namespace.as_deref().unwrap_or("")),
            Err(e) => failed.push(format!("{} unreadable: {e}", p.resource)),
        }
    }
    for ((_, resource), namespaces) in &forbidden {
        parts.push(if resource == "nodes" {
            "nodes forbidden (cluster scope)".to_owned()
        } else {
            format!("{resource} forbidden {}", scope_phrase(namespaces))
        });
    }
    if !forbidden.keys().any(|(_, r)| r == "nodes")
        && probes
            .iter()
            .any(|p| p.resource == "nodes" && p.result.is_ok())
    {
        parts.push("nodes readable".to_owned());
    }
    parts.extend(failed);
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(resource: &str, ns: Option<&str>, ok: bool) -> Probe {
        Probe {
            resource: resource.to_owned(),
            namespace: ns.map(str::to_owned),
            result: if ok {
                Ok(())
            } else {
                Err(BackendError::Forbidden {
                    verb: "list".into(),
                    resource: resource.into(),
                    namespace: ns.map(str::to_owned),
                })
            },
        }
    }

    #[test]
    fn one_line_summary() {
        let probes = vec![
            probe("pods", Some("prod"), true),
            probe("events", Some("prod"), true),
            probe("pods", Some("shop"), true),
            probe("events", Some("shop"), true),
            probe("pods", Some("kube-system"), true),
            probe("events", Some("kube-system"), false),
            probe("nodes", None, true),
        ];
        assert_eq!(
            summary("in-cluster", 3, &probes),
            "kubernetes: in-cluster, pods readable in 3 namespaces, events forbidden in \
             kube-system, nodes readable"
        );
        let probes = vec![probe("pods", None, true), probe("nodes", None, false)];
        assert_eq!(
            summary("kubeconfig context dev", 1, &probes),
            "kubernetes: kubeconfig context dev, pods readable in all namespaces, nodes \
             forbidden (cluster scope)"
        );
        let down = vec![Probe {
            resource: "pods".into(),
            namespace: None,
            result: Err(BackendError::Request("connection refused".into())),
        }];
        assert_eq!(
            summary("in-cluster", 1, &down),
            "kubernetes: in-cluster, API server unreachable: request failed: connection refused"
        );
    }
}
