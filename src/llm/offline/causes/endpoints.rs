//! Services that route to nothing because their selector matches no pod.
//!
//! A Service's Endpoints/EndpointSlices list the pods its `spec.selector` matches. When the list
//! is empty (not even not-ready addresses) while pods of the same application run in the
//! namespace with other labels, the selector is wrong for those pods: typically the workload
//! moved to a Helm chart or a new label scheme (`app` → `app.kubernetes.io/name`) and the old
//! Service was left behind, or a label was edited on one side only. Ingress controllers then
//! answer 503 ("service does not have any active Endpoint"), clients get refused connections.

use super::{Facts, cite};
use crate::llm::offline::common::{Finding, quote};

/// A Service whose selector matches none of the pods that run for it.
pub(crate) fn selector_matches_no_pod(facts: &Facts<'_>) -> Vec<Finding> {
    facts
        .target_first(facts.with(&["selector_matches_no_pod"]))
        .into_iter()
        .take(1)
        .map(|f| {
            let service = f.subject.trim_start_matches("Service/");
            let health = facts.ctx.services.iter().find(|s| s.name == service);
            let selector = health
                .and_then(|s| s.selector.clone())
                .unwrap_or_else(|| "(none)".into());
            let pods = health
                .map(|s| s.unselected_pods.join("; "))
                .unwrap_or_default();
            let mut c = Finding::new(
                "general-selector",
                format!("Service {service}'s selector {selector} matches no pod"),
            );
            c.score = if facts.about_target(f) { 0.92 } else { 0.86 };
            cite(&mut c, f);
            c.root_cause = format!(
                "Service {service} has no endpoints at all because its selector {selector} matches no pod, while its pods run with other labels: {}. Requests routed to it (an Ingress, other services) find no backend and fail (503 / connection refused); the pods themselves are not the problem. Make the selector and the pod labels agree (fix the Service's selector, or relabel the pod template).",
                quote(&pods, 300)
            );
            c.summary = format!(
                "Service {service} routes to nothing: its selector {selector} matches none of its running pods."
            );
            let ns = health
                .map(|s| s.namespace.clone())
                .filter(|n| !n.is_empty())
                .or_else(|| facts.ns());
            let ns = ns.as_deref();
            c.cmd(
                "The Service's selector",
                facts.kubectl(
                    ns,
                    &format!("get svc {service} -o jsonpath='{{.spec.selector}}'"),
                ),
            );
            c.cmd(
                "The pods and their labels",
                facts.kubectl(ns, "get pods --show-labels"),
            );
            c.cmd(
                "The endpoints the Service has",
                facts.kubectl(
                    ns,
                    &format!("get endpointslices -l kubernetes.io/service-name={service}"),
                ),
            );
            c.prevent(
                "Render the Service and the workload from the same chart/labels, and alert on Services with zero endpoints (kube_endpoint_address_available == 0)",
            );
            c
        })
        .collect()
}
