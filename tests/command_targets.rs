//! Every object a shipped scenario's reply names — in its commands (`kind/name`, `-n`, hosts)
//! and in its prose (pods, deployments, nodes) — is found in the alert or in the evidence: the
//! same grounding check the LLM's answers go through, applied to the offline analyzer on all
//! scenarios (`fixtures/scenarios` and `fixtures/scenarios-general`). Numbers the analyzer
//! derives (a percentage, days left) are not checked here; names must not be invented.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use sre_agent::agent::Engine;
use sre_agent::alert::Intake;
use sre_agent::config::{ConfigOrigin, EMBEDDED_AGENTS_YAML, LoadedConfig};
use sre_agent::llm::grounding::{Haystack, check};
use sre_agent::llm::offline::OfflineReasoner;
use sre_agent::scenario::Scenario;
use sre_agent::tools::TOOL_NAMES;

#[tokio::test]
async fn replies_name_only_objects_the_alert_or_the_evidence_shows() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut checked = 0;
    let mut invented = Vec::new();
    for dir in ["fixtures/scenarios", "fixtures/scenarios-general"] {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for sc in Scenario::all_in(&root).expect("scenarios") {
            let Ok(Intake::Alert(alert)) = sc.intake() else {
                continue;
            };
            let config = LoadedConfig::from_yaml_str(
                EMBEDDED_AGENTS_YAML,
                ConfigOrigin::Embedded,
                TOOL_NAMES,
            )
            .expect("config");
            let toolbox = sc.toolbox().await.expect("toolbox");
            let engine = Engine::new(
                Arc::new(config),
                Arc::new(toolbox),
                Arc::new(OfflineReasoner),
            )
            .expect("engine");
            let a = engine.analyze(&alert, Instant::now()).await;
            let hay = Haystack::new(&alert, a.evidence.outputs.iter());
            let names: Vec<String> = check(&a.rca, &hay)
                .unsupported
                .into_iter()
                .filter(|claim| !claim.starts_with("value "))
                .collect();
            if !names.is_empty() {
                invented.push(format!("{}: {names:?}", sc.name));
            }
            checked += 1;
        }
    }
    assert!(checked >= 55, "{checked} scenarios");
    assert!(
        invented.is_empty(),
        "replies name objects nothing shows:\n{}",
        invented.join("\n")
    );
}
