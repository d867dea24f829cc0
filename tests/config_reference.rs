//! README's configuration reference cannot drift: every key of the configuration types (as the
//! embedded `agents.yaml` loads them, defaults included) appears in README.md, with its
//! environment override where one exists.

use serde_json::Value;
use sre_agent::config::{ConfigOrigin, EMBEDDED_AGENTS_YAML, LoadedConfig};
use sre_agent::tools::TOOL_NAMES;

/// Dotted keys of the tunable sections, down to the leaves (maps keyed by the user, such as
/// `connect_to`, `llm.prices` or `metrics`, are leaves).
fn keys(prefix: &str, v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) if !matches!(prefix, "backends.network.connect_to" | "llm.prices") => {
            for (k, child) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                keys(&key, child, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

#[test]
fn every_setting_is_in_the_readme() {
    let loaded =
        LoadedConfig::from_yaml_str(EMBEDDED_AGENTS_YAML, ConfigOrigin::Embedded, TOOL_NAMES)
            .expect("embedded config");
    let v = serde_json::to_value(&loaded.config).expect("serialise");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let mut missing = Vec::new();
    for section in ["pipeline", "slack", "backends", "llm"] {
        let mut found = Vec::new();
        keys(section, &v[section], &mut found);
        for key in found {
            if !readme.contains(&format!("`{key}`")) {
                missing.push(key.clone());
            }
            // Scalars can be overridden from the environment; the README says how.
            let env = format!("SRE_AGENT_{}", key.to_ascii_uppercase().replace('.', "__"));
            let scalar = key
                .split('.')
                .try_fold(&v, |node, k| node.get(k))
                .is_some_and(|x| !x.is_object() && !x.is_array());
            if scalar && !readme.contains(&env) && !readme.contains(&format!("`{key}` | none")) {
                missing.push(format!("{key} (env {env})"));
            }
        }
    }
    for top in v.as_object().expect("object").keys() {
        if !readme.contains(&format!("`{top}`")) && !readme.contains(&format!("`{top}:`")) {
            missing.push(top.clone());
        }
    }
    assert!(missing.is_empty(), "README lacks: {missing:#?}");
}
