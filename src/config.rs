//! Configuration: defaults < `agents.yaml` < `SRE_AGENT_*` environment variables (figment).
//!
//! `agents.yaml` holds the agents, the tunables (`pipeline:`, `slack:`, `backends:`, `llm:`) and the
//! metric catalogue (`metrics:`, [`MetricCatalogue`]); any tunable can be
//! overridden from the environment with `__` as the separator, e.g.
//! `SRE_AGENT_PIPELINE__WORKERS=8`. Secrets (Slack tokens, API keys) are never read from the
//! file: they come from their own environment variables and live in [`Secret`], whose `Debug`
//! and `Display` print `***`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Yaml};
use serde::{Deserialize, Serialize};

use crate::agent::AgentSpec;
use crate::alert::{SourceMap, SourceRule};
use crate::tools::signoz::catalogue::MetricCatalogue;

/// The `agents.yaml` shipped in the binary, used when no file is given and none is in the
/// working directory.
pub const EMBEDDED_AGENTS_YAML: &str = include_str!("../agents.yaml");

/// Prompt files shipped in the binary, by their path in `agents.yaml`.
pub const EMBEDDED_PROMPTS: &[(&str, &str)] = &[
    ("prompts/network.md", include_str!("../prompts/network.md")),
    (
        "prompts/database.md",
        include_str!("../prompts/database.md"),
    ),
    (
        "prompts/kubernetes.md",
        include_str!("../prompts/kubernetes.md"),
    ),
    (
        "prompts/resource.md",
        include_str!("../prompts/resource.md"),
    ),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The agent used when no rule matches.
    pub default_agent: String,
    pub agents: Vec<AgentSpec>,
    #[serde(default)]
    pub pipeline: PipelineConfig,
    #[serde(default)]
    pub slack: SlackConfig,
    /// Where the live tools read from (`backends:`); see [`crate::tools::live`].
    #[serde(default)]
    pub backends: crate::tools::live::BackendsConfig,
    /// External MCP servers whose tools join the toolbox under their prefix.
    #[serde(default)]
    pub mcp_servers: Vec<crate::tools::external::McpServerSpec>,
    /// The metric catalogue (`metrics:`): metric names → how SigNoz gives them. Entries replace
    /// the built-in entry of the same key; see [`MetricCatalogue`].
    #[serde(default)]
    pub metrics: MetricCatalogue,
    /// The LLM reasoner's tunables and price table (`llm:`); the endpoint and key come from the
    /// environment only (see [`crate::llm::openai::provider`]).
    #[serde(default)]
    pub llm: crate::llm::openai::LlmSettings,
    /// Which integration posted an alert, by its Slack identity (`sources:`): `bot_id`, `app_id`
    /// or `username` → source. A mapped sender's messages are read as that source without
    /// looking at their wording; see [`crate::alert::identity`].
    #[serde(default)]
    pub sources: Vec<SourceRule>,
}

impl Config {
    /// The compiled `sources:` mapping. A configuration that passed [`validate`] always
    /// compiles; an invalid one gives the empty mapping.
    pub fn source_map(&self) -> SourceMap {
        SourceMap::new(&self.sources).unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// Agent runs at once.
    pub workers: usize,
    /// Alerts waiting for a worker; beyond this, new alerts are refused with a visible notice.
    pub queue_capacity: usize,
    /// A re-fired alert with the same fingerprint within this window is a duplicate.
    pub dedup_window_secs: u64,
    /// Most keys the dedup cache holds.
    pub dedup_capacity: u64,
    /// Deadline for one whole agent run (tools + reasoning).
    pub run_deadline_secs: u64,
    /// Deadline for one tool call.
    pub tool_timeout_ms: u64,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            workers: 4,
            queue_capacity: 256,
            dedup_window_secs: 600,
            dedup_capacity: 100_000,
            run_deadline_secs: 120,
            tool_timeout_ms: 5_000,
        }
    }
}

impl PipelineConfig {
    pub fn dedup_window(&self) -> Duration {
        Duration::from_secs(self.dedup_window_secs)
    }
    pub fn run_deadline(&self) -> Duration {
        Duration::from_secs(self.run_deadline_secs)
    }
    pub fn tool_timeout(&self) -> Duration {
        Duration::from_millis(self.tool_timeout_ms)
    }
}

/// What to do when an alert re-fires within the dedup window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateNotice {
    /// A one-line thread reply linking the earlier analysis.
    Link,
    /// Nothing.
    Silent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackConfig {
    /// Channel ids to watch; empty means every channel the bot is in.
    pub channels: Vec<String>,
    /// On start, analyse unanswered alerts from this many minutes of history.
    pub catch_up_minutes: u64,
    pub duplicate_notice: DuplicateNotice,
    /// Port for `/healthz`, `/readyz` and `/metrics`.
    pub metrics_port: u16,
    /// Seconds to finish in-flight runs after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Byte budget of the analysis records the bot keeps (the alert behind each thread, for
    /// duplicate links, resolved notes and Re-run); the least used go first beyond it.
    pub records_max_bytes: u64,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            channels: Vec::new(),
            catch_up_minutes: 30,
            duplicate_notice: DuplicateNotice::Link,
            metrics_port: 9090,
            shutdown_grace_secs: 20,
            records_max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Where the configuration came from; prompts are resolved against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOrigin {
    File(PathBuf),
    Embedded,
}

/// A loaded, validated configuration with its prompts read.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    pub origin: ConfigOrigin,
    /// Prompt text by agent name.
    pub prompts: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration: {0}")]
    Figment(#[from] Box<figment::Error>),
    #[error("{} problem(s) in the configuration:\n  - {}", .0.len(), .0.join("\n  - "))]
    Invalid(Vec<String>),
}

/// A secret value (token, API key). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl LoadedConfig {
    /// Load `path` if given; else `./agents.yaml` if present; else the embedded default. Then
    /// apply `SRE_AGENT_*` overrides, validate against the known tool names and read prompts.
    pub fn load(path: Option<&Path>, known_tools: &[&str]) -> Result<LoadedConfig, ConfigError> {
        let chosen = match path {
            Some(p) => Some(p.to_path_buf()),
            None => {
                let local = PathBuf::from("agents.yaml");
                local.exists().then_some(local)
            }
        };
        let base = Figment::new()
            .merge(Serialized::default("pipeline", PipelineConfig::default()))
            .merge(Serialized::default("slack", SlackConfig::default()));
        let (figment, origin) = match &chosen {
            Some(p) => {
                if !p.exists() {
                    return Err(ConfigError::Invalid(vec![format!(
                        "configuration file {} does not exist",
                        p.display()
                    )]));
                }
                (base.merge(Yaml::file(p)), ConfigOrigin::File(p.clone()))
            }
            None => (
                base.merge(Yaml::string(EMBEDDED_AGENTS_YAML)),
                ConfigOrigin::Embedded,
            ),
        };
        let figment = figment.merge(tunables_from_env());
        let config: Config = figment.extract().map_err(Box::new)?;
        Self::from_config(config, origin, known_tools)
    }

    /// Parse YAML text (no environment), for tests and `config check` of a string.
    pub fn from_yaml_str(
        yaml: &str,
        origin: ConfigOrigin,
        known_tools: &[&str],
    ) -> Result<LoadedConfig, ConfigError> {
        let config: Config = Figment::new()
            .merge(Serialized::default("pipeline", PipelineConfig::default()))
            .merge(Serialized::default("slack", SlackConfig::default()))
            .merge(Yaml::string(yaml))
            .extract()
            .map_err(Box::new)?;
        Self::from_config(config, origin, known_tools)
    }

    fn from_config(
        config: Config,
        origin: ConfigOrigin,
        known_tools: &[&str],
    ) -> Result<LoadedConfig, ConfigError> {
        let mut problems = validate(&config, known_tools);
        let mut prompts = BTreeMap::new();
        for agent in &config.agents {
            match read_prompt(&origin, &agent.prompt) {
                Ok(text) => {
                    prompts.insert(agent.name.clone(), text);
                }
                Err(e) => problems.push(format!("agent `{}`: {e}", agent.name)),
            }
        }
        if problems.is_empty() {
            Ok(LoadedConfig {
                config,
                origin,
                prompts,
            })
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}

/// `SRE_AGENT_PIPELINE__*`, `SRE_AGENT_SLACK__*`, `SRE_AGENT_BACKENDS__*` and `SRE_AGENT_LLM__*` only: other
/// `SRE_AGENT_*` variables (`SRE_AGENT_CONFIG`, `SRE_AGENT_LOG_FORMAT`, …) are the CLI's and must
/// not reach the config.
fn tunables_from_env() -> Env {
    Env::prefixed("SRE_AGENT_")
        .filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            key.starts_with("pipeline__")
                || key.starts_with("slack__")
                || key.starts_with("backends__")
                || key.starts_with("llm__")
        })
        .split("__")
}

fn read_prompt(origin: &ConfigOrigin, prompt: &Path) -> Result<String, String> {
    match origin {
        ConfigOrigin::Embedded => {
            let key = prompt.to_string_lossy().replace('\\', "/");
            EMBEDDED_PROMPTS
                .iter()
                .find(|(p, _)| *p == key)
                .map(|(_, text)| text.to_string())
                .ok_or_else(|| format!("prompt file {} is not embedded", prompt.display()))
        }
        ConfigOrigin::File(file) => {
            let dir = file.parent().unwrap_or_else(|| Path::new("."));
            let path = dir.join(prompt);
            std::fs::read_to_string(&path)
                .map_err(|e| format!("prompt file {} cannot be read: {e}", path.display()))
        }
    }
}

const MAX_WORKERS: usize = 1_024;
const MAX_QUEUE: usize = 1_000_000;
const MAX_WINDOW_SECS: u64 = 30 * 24 * 3600;

/// Every problem in the configuration, each a sentence naming the agent and the field.
pub fn validate(config: &Config, known_tools: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut names = BTreeSet::new();
    if config.agents.is_empty() {
        problems.push("no agents are defined".to_string());
    }
    for agent in &config.agents {
        let who = format!("agent `{}`", agent.name);
        if agent.name.trim().is_empty() {
            problems.push("an agent has an empty name".to_string());
        }
        if !names.insert(agent.name.as_str()) {
            problems.push(format!("{who} is defined twice"));
        }
        for (kw, w) in &agent.rules.keywords {
            if kw.trim().is_empty() {
                problems.push(format!("{who}: empty keyword"));
            }
            if !w.is_finite() {
                problems.push(format!(
                    "{who}: keyword `{kw}` has a weight that is not a number"
                ));
            }
        }
        for r in &agent.rules.regex {
            if let Err(e) = regex::Regex::new(&r.pattern) {
                problems.push(format!("{who}: bad regex `{}`: {e}", r.pattern));
            }
        }
        for l in &agent.rules.labels {
            // Checked as the router compiles it: anchored to the whole value.
            if let Err(e) = regex::Regex::new(&format!("^(?:{})$", l.value)) {
                problems.push(format!(
                    "{who}: bad regex `{}` for label `{}`: {e}",
                    l.value, l.key
                ));
            }
        }
        // A tool of an external server is known by its prefix only until the server starts.
        let external = |name: &str| {
            config
                .mcp_servers
                .iter()
                .any(|s| name.starts_with(&s.prefix) && name.len() > s.prefix.len())
        };
        for pattern in &agent.tools {
            if !known_tools.iter().any(|t| glob_match(pattern, t)) && !external(pattern) {
                problems.push(format!(
                    "{who}: unknown tool `{pattern}` (known: {}{})",
                    known_tools.join(", "),
                    config
                        .mcp_servers
                        .iter()
                        .map(|s| format!(", {}*", s.prefix))
                        .collect::<String>()
                ));
            }
        }
        for call in &agent.collect {
            if !known_tools.contains(&call.tool.as_str()) && !external(&call.tool) {
                problems.push(format!("{who}: collect calls unknown tool `{}`", call.tool));
            } else if !agent.tools.iter().any(|p| glob_match(p, &call.tool)) {
                problems.push(format!(
                    "{who}: collect calls `{}`, which is not in its `tools` list",
                    call.tool
                ));
            }
        }
    }
    if !config.agents.iter().any(|a| a.name == config.default_agent) {
        problems.push(format!(
            "default_agent `{}` is not one of the agents",
            config.default_agent
        ));
    }
    let p = &config.pipeline;
    if p.workers == 0 {
        problems.push("pipeline.workers must be at least 1".into());
    }
    if p.queue_capacity == 0 {
        problems.push("pipeline.queue_capacity must be at least 1".into());
    }
    if p.tool_timeout_ms == 0 || p.run_deadline_secs == 0 {
        problems.push("pipeline timeouts must be greater than 0".into());
    }
    if p.workers > MAX_WORKERS {
        problems.push(format!("pipeline.workers must be at most {MAX_WORKERS}"));
    }
    if p.queue_capacity > MAX_QUEUE {
        problems.push(format!(
            "pipeline.queue_capacity must be at most {MAX_QUEUE}"
        ));
    }
    if p.dedup_capacity == 0 {
        problems.push("pipeline.dedup_capacity must be at least 1".into());
    }
    if p.dedup_window_secs > MAX_WINDOW_SECS {
        problems.push(format!(
            "pipeline.dedup_window_secs must be at most {MAX_WINDOW_SECS} (30 days)"
        ));
    }
    if p.run_deadline_secs > MAX_WINDOW_SECS || p.tool_timeout_ms / 1000 > MAX_WINDOW_SECS {
        problems.push("pipeline timeouts must be at most 30 days".into());
    }
    if p.tool_timeout_ms / 1000 >= p.run_deadline_secs && p.run_deadline_secs > 0 {
        problems.push(
            "pipeline.tool_timeout_ms must be shorter than pipeline.run_deadline_secs".into(),
        );
    }
    let mut server_names = BTreeSet::new();
    for server in &config.mcp_servers {
        if !server_names.insert(server.name.as_str()) {
            problems.push(format!("mcp server `{}` is defined twice", server.name));
        }
        if known_tools.iter().any(|t| t.starts_with(&server.prefix)) {
            problems.push(format!(
                "mcp server `{}`: prefix `{}` would shadow embedded tools; pick another",
                server.name, server.prefix
            ));
        }
    }
    if config.slack.catch_up_minutes > MAX_WINDOW_SECS / 60 {
        problems.push("slack.catch_up_minutes must be at most 30 days".into());
    }
    problems.extend(config.backends.signoz.validate());
    problems.extend(config.metrics.validate());
    problems.extend(config.llm.validate());
    if let Err(source_problems) = SourceMap::new(&config.sources) {
        problems.extend(source_problems);
    }
    problems
}

/// `*` matches any run of characters; everything else literally.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::TOOL_NAMES;

    #[test]
    fn embedded_config_is_valid_and_complete() {
        let loaded =
            LoadedConfig::from_yaml_str(EMBEDDED_AGENTS_YAML, ConfigOrigin::Embedded, TOOL_NAMES)
                .expect("embedded config is valid");
        let names: Vec<&str> = loaded
            .config
            .agents
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["network", "database", "kubernetes", "resource"]);
        assert_eq!(loaded.prompts.len(), 4);
        assert!(loaded.prompts.values().all(|p| p.contains("{evidence}")));
    }

    #[test]
    fn glob_matching() {
        assert!(glob_match("query_*", "query_logs"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("get_*_status", "get_pod_status"));
        assert!(!glob_match("get_*_status", "get_pod_logs"));
        assert!(glob_match("resolve_dns", "resolve_dns"));
        assert!(!glob_match("resolve_dns", "resolve_dns2"));
    }

    #[test]
    fn every_problem_is_reported() {
        let yaml = r#"
default_agent: ghost
pipeline: {workers: 0, dedup_window_secs: 99999999999999}
agents:
  - name: a
    description: a
    prompt: prompts/network.md
    match:
      keywords: {"": 1}
      regex: [{pattern: "([", weight: 1}]
      labels: [{key: alertname, value: "*bad", weight: 1}]
    tools: [nope_*]
    collect: [{tool: get_events}]
  - name: a
    description: duplicate
    prompt: prompts/nowhere.md
"#;
        let err = LoadedConfig::from_yaml_str(yaml, ConfigOrigin::Embedded, TOOL_NAMES)
            .expect_err("invalid");
        let msg = err.to_string();
        for needle in [
            "empty keyword",
            "bad regex `([`",
            "bad regex `*bad` for label `alertname`",
            "unknown tool `nope_*`",
            "collect calls `get_events`, which is not in its `tools` list",
            "agent `a` is defined twice",
            "default_agent `ghost`",
            "pipeline.workers must be at least 1",
            "prompts/nowhere.md is not embedded",
            "pipeline.dedup_window_secs must be at most",
        ] {
            assert!(msg.contains(needle), "missing `{needle}` in:\n{msg}");
        }
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let yaml = "default_agent: a\nagents: []\nsurprise: 1\n";
        let err = LoadedConfig::from_yaml_str(yaml, ConfigOrigin::Embedded, TOOL_NAMES)
            .expect_err("unknown field");
        assert!(err.to_string().contains("surprise"), "{err}");
    }

    #[test]
    fn external_tools_are_known_by_their_prefix() {
        let yaml = r#"
default_agent: a
mcp_servers:
  - {name: k8s, command: sre-agent, args: [mcp, kubernetes]}
  - {name: query, command: x}
  - {name: k8s, url: "http://127.0.0.1:1/mcp"}
agents:
  - name: a
    description: a
    prompt: prompts/network.md
    tools: [get_events, k8s_*, other_*]
    collect: [{tool: k8s_get_pod_status, args: {namespace: prod}}]
"#;
        let err = LoadedConfig::from_yaml_str(yaml, ConfigOrigin::Embedded, TOOL_NAMES)
            .expect_err("invalid");
        let msg = err.to_string();
        assert!(msg.contains("unknown tool `other_*`"), "{msg}");
        assert!(
            msg.contains("k8s_*"),
            "the known prefixes are listed: {msg}"
        );
        assert!(!msg.contains("`k8s_*`"), "k8s_* is known: {msg}");
        assert!(!msg.contains("k8s_get_pod_status"), "{msg}");
        assert!(msg.contains("mcp server `k8s` is defined twice"), "{msg}");
        assert!(msg.contains("prefix `query_` would shadow"), "{msg}");
    }

    #[test]
    fn sources_are_read_and_checked() {
        let base =
            "default_agent: a\nagents: [{name: a, description: a, prompt: prompts/network.md}]\n";
        let good = format!(
            "{base}sources:\n  - {{bot_id: B07AMGR0P1X, source: alertmanager}}\n  - {{app_id: A07GRFN1V3C, source: grafana}}\n  - {{username: prom-alerts, source: signoz}}\n"
        );
        let loaded = LoadedConfig::from_yaml_str(&good, ConfigOrigin::Embedded, TOOL_NAMES)
            .expect("valid sources");
        assert_eq!(loaded.config.sources.len(), 3);
        let map = loaded.config.source_map();
        let sender = crate::alert::identity::Sender {
            app_id: Some("A07GRFN1V3C".into()),
            ..Default::default()
        };
        assert_eq!(
            map.lookup(&sender),
            Some(crate::alert::AlertSource::Grafana)
        );

        let bad = format!(
            "{base}sources:\n  - {{bot_id: B1, app_id: A1, source: grafana}}\n  - {{bot_id: x, source: grafana}}\n"
        );
        let err = LoadedConfig::from_yaml_str(&bad, ConfigOrigin::Embedded, TOOL_NAMES)
            .expect_err("invalid sources");
        let msg = err.to_string();
        assert!(msg.contains("sources[0]: give exactly one of"), "{msg}");
        assert!(
            msg.contains("sources[1]: bot_id `x` is not a Slack bot id"),
            "{msg}"
        );
        let unknown = format!("{base}sources:\n  - {{bot_id: B1, source: nagios}}\n");
        let err = LoadedConfig::from_yaml_str(&unknown, ConfigOrigin::Embedded, TOOL_NAMES)
            .expect_err("unknown source");
        assert!(err.to_string().contains("nagios"), "{err}");
        let extra = format!("{base}sources:\n  - {{bot_id: B1, source: grafana, team: x}}\n");
        assert!(LoadedConfig::from_yaml_str(&extra, ConfigOrigin::Embedded, TOOL_NAMES).is_err());
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("xoxb-123-secret");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "xoxb-123-secret");
    }

    #[test]
    fn the_metric_catalogue_defaults_to_the_built_in_one_and_is_validated() {
        let loaded =
            LoadedConfig::from_yaml_str(EMBEDDED_AGENTS_YAML, ConfigOrigin::Embedded, TOOL_NAMES)
                .expect("valid");
        assert_eq!(&loaded.config.metrics, MetricCatalogue::builtin());
        // Every metric an agent collects is in the catalogue.
        for agent in &loaded.config.agents {
            for call in agent.collect.iter().filter(|c| c.tool == "query_metrics") {
                for m in call.args["metrics"].as_array().expect("metrics list") {
                    let m = m.as_str().expect("name");
                    assert!(
                        loaded.config.metrics.key_of(m).is_some(),
                        "agent `{}` collects `{m}`, which the catalogue lacks",
                        agent.name
                    );
                }
            }
        }
        let without =
            "default_agent: a\nagents: [{name: a, description: a, prompt: prompts/network.md}]\n";
        let loaded = LoadedConfig::from_yaml_str(without, ConfigOrigin::Embedded, TOOL_NAMES)
            .expect("valid without metrics:");
        assert_eq!(&loaded.config.metrics, MetricCatalogue::builtin());
        let custom = format!(
            "{without}metrics:\n  queue_depth: {{unit: msgs, metric: rabbitmq.message.current, aggregation: avg/sum}}\n  http_server_error_ratio: {{unit: ratio, formula: a / b, queries: {{a: {{metric: x, aggregation: rate/sum}}}}}}\n"
        );
        let err = LoadedConfig::from_yaml_str(&custom, ConfigOrigin::Embedded, TOOL_NAMES)
            .expect_err("formula uses an unknown query");
        assert!(
            err.to_string()
                .contains("metrics.http_server_error_ratio: formula `a / b` uses `b`"),
            "{err}"
        );
        let bad_agg =
            format!("{without}metrics:\n  q: {{unit: x, metric: m, aggregation: often/sum}}\n");
        let err = LoadedConfig::from_yaml_str(&bad_agg, ConfigOrigin::Embedded, TOOL_NAMES)
            .expect_err("bad aggregation");
        assert!(
            err.to_string().contains("unknown time aggregation `often`"),
            "{err}"
        );
    }
}
