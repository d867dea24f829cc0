//! Node conditions as the kubelet reports them: `Ready=False`, and the pressure conditions
//! (`MemoryPressure`, `DiskPressure`, `PIDPressure`) under which it evicts pods and refuses new
//! ones; a cordoned node.

use crate::evidence::Evidence;
use crate::findings::{Finding, FindingKind, Strength};

/// Findings of every node seen.
pub fn node_findings(evidence: &Evidence) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for node in evidence.nodes() {
        if !seen.insert(node.name.clone()) {
            continue;
        }
        let subject = format!("Node/{}", node.name);
        let pods = if node.pods.is_empty() {
            String::new()
        } else {
            format!(" (runs {})", node.pods.join(", "))
        };
        if !node.ready {
            let cond = node
                .conditions
                .iter()
                .find(|c| c.starts_with("Ready"))
                .cloned()
                .unwrap_or_else(|| "Ready=False".into());
            out.push(
                Finding::new(
                    FindingKind::NodeCondition,
                    "node_not_ready",
                    subject.clone(),
                    format!("node {} is NotReady{pods}", node.name),
                    Strength::Strong,
                )
                .cite(cond),
            );
        }
        for p in &node.pressure {
            let fact = match p.as_str() {
                "MemoryPressure" => "node_memory_pressure",
                "DiskPressure" => "node_disk_pressure",
                "PIDPressure" => "node_pid_pressure",
                "NetworkUnavailable" => "node_network_unavailable",
                _ => continue,
            };
            out.push(
                Finding::new(
                    FindingKind::NodeCondition,
                    fact,
                    subject.clone(),
                    format!("node {} reports {p}{pods}", node.name),
                    Strength::Strong,
                )
                .cite(format!("{p}=True")),
            );
        }
        if node.unschedulable {
            out.push(
                Finding::new(
                    FindingKind::NodeCondition,
                    "node_cordoned",
                    subject,
                    format!("node {} is cordoned (unschedulable)", node.name),
                    Strength::Weak,
                )
                .cite("spec.unschedulable: true"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{NodeState, Observation, ToolCall, ToolOutcome, ToolOutput};

    #[test]
    fn pressure_and_readiness() {
        let node = NodeState {
            name: "ip-10-0-3-17".into(),
            ready: false,
            pressure: vec!["DiskPressure".into()],
            conditions: vec!["Ready=False: KubeletNotReady PLEG is not healthy".into()],
            unschedulable: false,
            taints: vec![],
            allocatable: Default::default(),
            capacity: Default::default(),
            kubelet_version: None,
            pods: vec!["cart-1".into()],
        };
        let ev = Evidence {
            outputs: vec![ToolOutput {
                call: ToolCall {
                    tool: "get_node_status".into(),
                    args: Default::default(),
                },
                outcome: ToolOutcome::Data {
                    observation: Observation::Nodes { nodes: vec![node] },
                },
                elapsed_ms: 0.0,
                truncated: None,
            }],
        };
        let f = node_findings(&ev);
        let facts: Vec<&str> = f.iter().map(|x| x.fact.as_str()).collect();
        assert_eq!(facts, ["node_not_ready", "node_disk_pressure"]);
        assert!(f[0].cites[0].contains("PLEG"));
        assert!(f[1].detail.contains("runs cart-1"));
    }
}
