//! Nodes as the reasoners see them: [`NodeState`] from a core/v1 `Node` (readiness, pressure
//! conditions, cordon and taints, allocatable and capacity), unhealthy nodes first.

use k8s_openapi::api::core::v1::Node;

use crate::evidence::NodeState;
use crate::tools::kubernetes::pods::condition_note;

/// Most nodes one call returns.
pub const MAX_NODES: usize = 50;

/// Conditions that are healthy when False.
const PRESSURE: &[&str] = &[
    "MemoryPressure",
    "DiskPressure",
    "PIDPressure",
    "NetworkUnavailable",
];

/// A node as the reasoners see it.
pub fn node_state(node: &Node) -> NodeState {
    let status = node.status.as_ref();
    let spec = node.spec.as_ref();
    let conditions = status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let ready = conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .is_some_and(|c| c.status == "True");
    let pressure = conditions
        .iter()
        .filter(|c| PRESSURE.contains(&c.type_.as_str()) && c.status == "True")
        .map(|c| c.type_.clone())
        .collect();
    let notes = conditions
        .iter()
        .filter(|c| {
            if PRESSURE.contains(&c.type_.as_str()) {
                c.status == "True"
            } else {
                c.type_ == "Ready" && c.status != "True"
            }
        })
        .map(|c| {
            condition_note(
                &c.type_,
                &c.status,
                c.reason.as_deref(),
                c.message.as_deref(),
            )
        })
        .collect();
    let quantities = |m: Option<
        &std::collections::BTreeMap<
            String,
            k8s_openapi::apimachinery::pkg::api::resource::Quantity,
        >,
    >| {
        m.map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    matches!(k.as_str(), "cpu" | "memory" | "ephemeral-storage" | "pods")
                })
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect()
        })
        .unwrap_or_default()
    };
    NodeState {
        name: node.metadata.name.clone().unwrap_or_default(),
        ready,
        pressure,
        conditions: notes,
        unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
        taints: spec
            .and_then(|s| s.taints.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|t| match &t.value {
                Some(v) if !v.is_empty() => format!("{}={v}:{}", t.key, t.effect),
                _ => format!("{}:{}", t.key, t.effect),
            })
            .collect(),
        allocatable: quantities(status.and_then(|s| s.allocatable.as_ref())),
        capacity: quantities(status.and_then(|s| s.capacity.as_ref())),
        kubelet_version: status
            .and_then(|s| s.node_info.as_ref())
            .map(|i| i.kubelet_version.clone()),
        addresses: status
            .and_then(|s| s.addresses.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|a| a.address.clone())
            .collect(),
        pods: Vec::new(),
    }
}

/// Unhealthy nodes (not ready, under pressure, cordoned) first, then by name; at most
/// [`MAX_NODES`].
pub fn node_states(nodes: &[Node]) -> Vec<NodeState> {
    let mut out: Vec<NodeState> = nodes.iter().map(node_state).collect();
    out.sort_by(|a, b| {
        let healthy = |n: &NodeState| n.ready && n.pressure.is_empty() && !n.unschedulable;
        healthy(a).cmp(&healthy(b)).then(a.name.cmp(&b.name))
    });
    out.truncate(MAX_NODES);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::kubernetes::testdata::list;

    const NODES: &str = r#"{"kind":"NodeList","apiVersion":"v1","items":[
      {"metadata":{"name":"node-a"},"spec":{},
       "status":{"conditions":[
          {"type":"MemoryPressure","status":"False","reason":"KubeletHasSufficientMemory"},
          {"type":"DiskPressure","status":"False"},{"type":"PIDPressure","status":"False"},
          {"type":"Ready","status":"True","reason":"KubeletReady"}],
         "allocatable":{"cpu":"3920m","memory":"15Gi","pods":"110","hugepages-2Mi":"0"},
         "capacity":{"cpu":"4","memory":"16Gi","pods":"110"},
         "nodeInfo":{"kubeletVersion":"v1.33.2","architecture":"amd64","bootID":"","containerRuntimeVersion":"","kernelVersion":"","kubeProxyVersion":"","machineID":"","operatingSystem":"linux","osImage":"","systemUUID":""}}},
      {"metadata":{"name":"node-b"},
       "spec":{"unschedulable":true,"taints":[{"key":"node.kubernetes.io/memory-pressure","effect":"NoSchedule"},
                                               {"key":"dedicated","value":"db","effect":"NoExecute"}]},
       "status":{"conditions":[
          {"type":"MemoryPressure","status":"True","reason":"KubeletHasInsufficientMemory","message":"kubelet has insufficient memory available"},
          {"type":"Ready","status":"False","reason":"KubeletNotReady","message":"PLEG is not healthy"}],
         "allocatable":{"cpu":"2","memory":"7Gi"}}}
    ]}"#;

    #[test]
    fn node_conditions_and_allocatable() {
        let nodes: Vec<Node> = list(NODES);
        let states = node_states(&nodes);
        assert_eq!(states[0].name, "node-b", "unhealthy first");
        let b = &states[0];
        assert!(!b.ready);
        assert!(b.unschedulable);
        assert_eq!(b.pressure, vec!["MemoryPressure"]);
        assert_eq!(
            b.conditions,
            vec![
                "MemoryPressure=True: KubeletHasInsufficientMemory kubelet has insufficient memory available",
                "Ready=False: KubeletNotReady PLEG is not healthy"
            ]
        );
        assert_eq!(
            b.taints,
            vec![
                "node.kubernetes.io/memory-pressure:NoSchedule",
                "dedicated=db:NoExecute"
            ]
        );
        let a = &states[1];
        assert!(a.ready && a.pressure.is_empty() && a.conditions.is_empty());
        assert_eq!(a.allocatable.get("cpu").map(String::as_str), Some("3920m"));
        assert!(!a.allocatable.contains_key("hugepages-2Mi"));
        assert_eq!(a.capacity.get("memory").map(String::as_str), Some("16Gi"));
        assert_eq!(a.kubelet_version.as_deref(), Some("v1.33.2"));
    }
}
