//! Evidence gaps: a call RBAC forbade or the namespace allow-list refused is not a failure of
//! the run but a hole in the evidence, said in a sentence that names what was refused and, for
//! RBAC, the rule that would grant it.

use rmcp::model::CallToolResult;

use crate::tools::{BackendError, wire};

/// `resource.group` (as `BackendError::Forbidden` carries it) → (resource, API group).
fn split_group(resource: &str) -> (&str, &str) {
    match resource.split_once('.') {
        Some((r, g)) => (r, g),
        None => (resource, ""),
    }
}

/// The RBAC rule that grants `verb` on `resource` (`pods`, `pods/log`, `deployments.apps`…).
pub fn rbac_rule(verb: &str, resource: &str) -> String {
    let (resource, group) = split_group(resource);
    format!("{{apiGroups: [\"{group}\"], resources: [\"{resource}\"], verbs: [\"{verb}\"]}}")
}

/// The sentence of an evidence gap, or `None` for an error that is a real failure.
pub fn gap_text(error: &BackendError) -> Option<String> {
    match error {
        BackendError::Forbidden {
            verb,
            resource,
            namespace,
        } => {
            let rule = rbac_rule(verb, resource);
            let (shown, _) = split_group(resource);
            Some(match namespace {
                Some(ns) => format!(
                    "kubernetes: RBAC forbids `{verb}` on {shown} in namespace {ns}; a Role in {ns} \
                     with the rule {rule}, bound to the agent's service account, would grant it"
                ),
                None => format!(
                    "kubernetes: RBAC forbids `{verb}` on {shown} at the cluster scope; a \
                     ClusterRole with the rule {rule}, bound to the agent's service account, \
                     would grant it"
                ),
            })
        }
        BackendError::Refused(why) => Some(format!("kubernetes: {why}")),
        _ => None,
    }
}

/// The tool answer for a backend error: "no data" naming the gap, or a failure.
pub fn answer_error(error: &BackendError) -> CallToolResult {
    match gap_text(error) {
        Some(gap) => wire::no_data(gap),
        None => wire::backend_failed("kubernetes", error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_names_verb_resource_namespace_and_rule() {
        let gap = gap_text(&BackendError::Forbidden {
            verb: "list".into(),
            resource: "events".into(),
            namespace: Some("kube-system".into()),
        })
        .expect("gap");
        assert_eq!(
            gap,
            "kubernetes: RBAC forbids `list` on events in namespace kube-system; a Role in \
             kube-system with the rule {apiGroups: [\"\"], resources: [\"events\"], verbs: \
             [\"list\"]}, bound to the agent's service account, would grant it"
        );
        let gap = gap_text(&BackendError::Forbidden {
            verb: "get".into(),
            resource: "deployments.apps".into(),
            namespace: None,
        })
        .expect("gap");
        assert!(gap.contains("at the cluster scope"), "{gap}");
        assert!(gap.contains("ClusterRole"), "{gap}");
        assert!(
            gap.contains("apiGroups: [\"apps\"], resources: [\"deployments\"]"),
            "{gap}"
        );
        assert_eq!(
            rbac_rule("list", "endpointslices.discovery.k8s.io"),
            "{apiGroups: [\"discovery.k8s.io\"], resources: [\"endpointslices\"], verbs: [\"list\"]}"
        );
        assert_eq!(
            rbac_rule("get", "pods/log"),
            "{apiGroups: [\"\"], resources: [\"pods/log\"], verbs: [\"get\"]}"
        );
        assert!(gap_text(&BackendError::Request("boom".into())).is_none());
        assert!(
            gap_text(&BackendError::Refused("namespace x is not allowed".into()))
                .is_some_and(|g| g.contains("namespace x"))
        );
    }
}
