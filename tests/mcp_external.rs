//! External MCP servers join the toolbox: `sre-agent mcp kubernetes` itself over stdio (a real
//! child process speaking MCP on its stdin/stdout), and an rmcp streamable-HTTP server on
//! 127.0.0.1 behind a bearer token. An agent reaches their tools through its `tools:` patterns.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sre_agent::agent::Engine;
use sre_agent::alert::{Intake, parse_slack_json};
use sre_agent::config::{ConfigOrigin, LoadedConfig};
use sre_agent::evidence::{Observation, ToolCall, ToolOutcome};
use sre_agent::llm::offline::OfflineReasoner;
use sre_agent::tools::fixture::fixture_backends;
use sre_agent::tools::kubernetes::KubernetesServer;
use sre_agent::tools::{ExternalServers, SourceMode, TOOL_NAMES, Toolbox};

const SCENARIO: &str = "fixtures/scenarios/k8s-image-pull";

fn scenario_dir() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(SCENARIO)
        .display()
        .to_string()
}

fn lookup(key: &str) -> Option<String> {
    match key {
        "PATH" => std::env::var("PATH").ok(),
        "REMOTE_MCP_TOKEN" => Some("s3cret-token".into()),
        _ => None,
    }
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A config whose `kubernetes` agent calls the external server's tool up front.
fn config_yaml(servers: &str) -> String {
    format!(
        r#"
default_agent: kubernetes
mcp_servers:
{servers}
agents:
  - name: kubernetes
    description: k8s through an external MCP server
    prompt: prompts/kubernetes.md
    match: {{keywords: {{pods: 3}}}}
    tools: [get_events, ext_*]
    collect:
      - tool: ext_get_pod_status
        args: {{namespace: "{{namespace|default}}", service: "{{service}}"}}
      - tool: ext_get_events
        args: {{namespace: "{{namespace|default}}", object: "{{service}}"}}
"#
    )
}

fn stdio_server() -> String {
    format!(
        "  - {{name: ext, command: {:?}, args: [mcp, kubernetes, --fixtures, {:?}]}}",
        env!("CARGO_BIN_EXE_sre-agent"),
        scenario_dir()
    )
}

#[tokio::test]
async fn sre_agent_mcp_kubernetes_over_stdio_serves_an_agents_collect_calls() {
    let yaml = config_yaml(&stdio_server());
    let config = LoadedConfig::from_yaml_str(&yaml, ConfigOrigin::Embedded, TOOL_NAMES)
        .expect("config with an external server is valid");
    let http = http();
    let toolbox = Toolbox::start_with(
        fixture_backends(None).expect("backends"),
        None,
        Some(ExternalServers {
            specs: &config.config.mcp_servers,
            lookup: &lookup,
            http: &http,
        }),
    )
    .await
    .expect("toolbox");
    assert!(
        toolbox.has_tool("ext_get_pod_status"),
        "prefixed tool is routed"
    );
    assert!(toolbox.has_tool("get_pod_status"), "embedded tools stay");
    let ext = toolbox
        .sources()
        .iter()
        .find(|s| s.source == "mcp:ext")
        .expect("external source listed");
    assert_eq!(ext.mode, SourceMode::Live, "{ext:?}");

    // Through the engine, as the bot runs it: the agent's collect call crosses the process.
    let engine = Engine::new(
        Arc::new(config),
        Arc::new(toolbox),
        Arc::new(OfflineReasoner),
    )
    .expect("engine");
    let alert_json =
        std::fs::read_to_string(Path::new(&scenario_dir()).join("alert.json")).expect("alert");
    let Intake::Alert(alert) = parse_slack_json(&alert_json).expect("parse") else {
        panic!("the scenario holds an alert");
    };
    let analysis = engine.analyze(&alert, Instant::now()).await;
    let pods = analysis
        .evidence
        .outputs
        .iter()
        .find(|o| o.call.tool == "ext_get_pod_status")
        .expect("the collect call was made");
    let ToolOutcome::Data {
        observation: Observation::Pods { pods },
    } = &pods.outcome
    else {
        panic!(
            "expected pods from the child process, got {:?}",
            pods.outcome
        );
    };
    assert_eq!(pods.len(), 5);
    assert!(
        pods.iter().any(|p| p
            .containers
            .iter()
            .any(|c| c.reason.as_deref() == Some("ImagePullBackOff"))),
        "{pods:?}"
    );
    // The evidence from the external server reaches the analysis.
    assert!(
        analysis.rca.root_cause.to_lowercase().contains("image"),
        "{}",
        analysis.rca.root_cause
    );
}

#[tokio::test]
async fn a_server_that_cannot_start_is_reported_once_and_skipped() {
    let servers = format!(
        "{}\n  - {{name: ghost, command: /nonexistent/mcp-server}}",
        stdio_server()
    );
    let config =
        LoadedConfig::from_yaml_str(&config_yaml(&servers), ConfigOrigin::Embedded, TOOL_NAMES)
            .expect("config");
    let http = http();
    let toolbox = Toolbox::start_with(
        fixture_backends(None).expect("backends"),
        None,
        Some(ExternalServers {
            specs: &config.config.mcp_servers,
            lookup: &lookup,
            http: &http,
        }),
    )
    .await
    .expect("one bad server does not stop the toolbox");
    let ghost = toolbox
        .sources()
        .iter()
        .find(|s| s.source == "mcp:ghost")
        .expect("listed");
    assert_eq!(ghost.mode, SourceMode::Unavailable);
    assert!(ghost.detail.contains("cannot start"), "{ghost:?}");
    assert!(
        toolbox.has_tool("ext_get_events"),
        "the good server still serves"
    );
    let out = toolbox
        .call(
            ToolCall {
                tool: "ghost_anything".into(),
                args: Default::default(),
            },
            Duration::from_secs(5),
        )
        .await;
    assert!(matches!(out.outcome, ToolOutcome::Failed { .. }), "{out:?}");
}

/// An rmcp streamable-HTTP server (serving the embedded kubernetes tools over the scenario's
/// fixtures) behind a bearer-token check.
async fn http_server(token: &'static str) -> String {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    let backends = fixture_backends(Some(Path::new(&scenario_dir()))).expect("fixtures");
    let kube = backends.kube.clone();
    let service = StreamableHttpService::new(
        move || Ok(KubernetesServer::new(kube.clone())),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let auth = move |req: axum::extract::Request, next: axum::middleware::Next| async move {
        let expected = format!("Bearer {token}");
        let ok = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some(expected.as_str());
        if ok {
            next.run(req).await
        } else {
            axum::response::IntoResponse::into_response(axum::http::StatusCode::UNAUTHORIZED)
        }
    };
    let app = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn(auth));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/mcp")
}

#[tokio::test]
async fn a_streamable_http_server_with_a_bearer_token_joins_the_toolbox() {
    let url = http_server("s3cret-token").await;
    let servers = format!(
        "  - {{name: remote, prefix: ext_, url: {url:?}, bearer_token_env: REMOTE_MCP_TOKEN}}\n  - {{name: wrongkey, url: {url:?}, bearer_token_env: WRONG}}"
    );
    let config =
        LoadedConfig::from_yaml_str(&config_yaml(&servers), ConfigOrigin::Embedded, TOOL_NAMES)
            .expect("config");
    let http = http();
    let wrong = |k: &str| {
        (k == "WRONG")
            .then(|| "not-the-token".to_string())
            .or_else(|| lookup(k))
    };
    let toolbox = Toolbox::start_with(
        fixture_backends(None).expect("backends"),
        None,
        Some(ExternalServers {
            specs: &config.config.mcp_servers,
            lookup: &wrong,
            http: &http,
        }),
    )
    .await
    .expect("toolbox");
    let status = |name: &str| {
        toolbox
            .sources()
            .iter()
            .find(|s| s.source == name)
            .cloned()
            .expect("listed")
    };
    assert_eq!(
        status("mcp:remote").mode,
        SourceMode::Live,
        "{:?}",
        status("mcp:remote")
    );
    let refused = status("mcp:wrongkey");
    assert_eq!(refused.mode, SourceMode::Unavailable);
    assert!(
        !refused.detail.contains("not-the-token"),
        "no secret in the reason: {refused:?}"
    );

    let mut args = serde_json::Map::new();
    args.insert("namespace".into(), json!("prod"));
    args.insert("service".into(), json!("recommendations"));
    let out = toolbox
        .call(
            ToolCall {
                tool: "ext_get_pod_status".into(),
                args,
            },
            Duration::from_secs(10),
        )
        .await;
    let ToolOutcome::Data { observation } = out.outcome else {
        panic!("expected data over HTTP, got {:?}", out.outcome);
    };
    let v: Value = serde_json::to_value(observation).expect("json");
    assert_eq!(v["kind"], "pods");
    assert_eq!(v["pods"].as_array().map(Vec::len), Some(5));
}
