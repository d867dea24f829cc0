//! External MCP servers from `mcp_servers:` in `agents.yaml`: their tools join the toolbox.
//!
//! A server is either a **stdio** command (spawned as a child process with a clean environment:
//! only `PATH`, `HOME`, the `env` values written in the config and the variables named in
//! `env_from` are passed, so the bot's own tokens never reach it) or a **streamable-HTTP** URL,
//! optionally with a bearer token read from the environment variable `bearer_token_env`.
//!
//! Every tool a server lists is offered under `<prefix><tool>` (the prefix defaults to
//! `<name>_`), and agents reach it through their `tools:` patterns (`grafana_*`). A server that
//! fails to start is reported once, in the log and in [`super::Toolbox::unavailable_servers`],
//! and skipped: the other tools keep working.

use std::collections::BTreeMap;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// How long a server may take to start and answer the MCP handshake.
pub const START_TIMEOUT: Duration = Duration::from_secs(15);

/// An external MCP server: a name, the prefix its tools get, and how to reach it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawMcpServer", into = "RawMcpServer")]
pub struct McpServerSpec {
    pub name: String,
    /// Prepended to every tool name the server lists (`grafana_` → `grafana_search_dashboards`).
    pub prefix: String,
    pub transport: McpTransport,
}

/// How an external server is reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum McpTransport {
    /// A child process speaking MCP on stdin/stdout.
    Stdio {
        command: String,
        args: Vec<String>,
        /// Values written in the config (not secrets).
        env: BTreeMap<String, String>,
        /// Variables passed through from the bot's environment (secrets belong here).
        env_from: Vec<String>,
    },
    /// A streamable-HTTP endpoint.
    Http {
        url: url::Url,
        /// Environment variable holding the bearer token, if the server needs one.
        bearer_token_env: Option<String>,
    },
}

/// One entry of `mcp_servers:` as written in YAML (flat); checked into an [`McpServerSpec`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMcpServer {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    command: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    args: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    env_from: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bearer_token_env: Option<String>,
}

impl TryFrom<RawMcpServer> for McpServerSpec {
    type Error = String;

    fn try_from(raw: RawMcpServer) -> Result<Self, Self::Error> {
        McpServerSpec::check(raw)
    }
}

impl From<McpServerSpec> for RawMcpServer {
    fn from(spec: McpServerSpec) -> Self {
        let mut raw = RawMcpServer {
            name: spec.name,
            prefix: Some(spec.prefix),
            ..Default::default()
        };
        match spec.transport {
            McpTransport::Stdio {
                command,
                args,
                env,
                env_from,
            } => {
                raw.command = Some(command);
                raw.args = args;
                raw.env = env;
                raw.env_from = env_from;
            }
            McpTransport::Http {
                url,
                bearer_token_env,
            } => {
                raw.url = Some(url.to_string());
                raw.bearer_token_env = bearer_token_env;
            }
        }
        raw
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl McpServerSpec {
    fn check(raw: RawMcpServer) -> Result<McpServerSpec, String> {
        let who = format!("mcp server `{}`", raw.name);
        if !valid_name(&raw.name) {
            return Err(format!(
                "{who}: the name must be 1-32 letters, digits, `_` or `-`"
            ));
        }
        let prefix = raw.prefix.unwrap_or_else(|| format!("{}_", raw.name));
        if prefix.is_empty()
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "{who}: the prefix must be letters, digits, `_` or `-` (tool names must stay valid function names)"
            ));
        }
        let transport = match (raw.command, raw.url) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "{who}: give either `command` (stdio) or `url` (HTTP), not both"
                ));
            }
            (None, None) => {
                return Err(format!(
                    "{who}: give `command` (stdio) or `url` (streamable HTTP)"
                ));
            }
            (Some(command), None) => {
                if command.trim().is_empty() {
                    return Err(format!("{who}: `command` is empty"));
                }
                if raw.bearer_token_env.is_some() {
                    return Err(format!(
                        "{who}: `bearer_token_env` only applies to `url` servers"
                    ));
                }
                McpTransport::Stdio {
                    command,
                    args: raw.args,
                    env: raw.env,
                    env_from: raw.env_from,
                }
            }
            (None, Some(url)) => {
                if !raw.args.is_empty() || !raw.env.is_empty() || !raw.env_from.is_empty() {
                    return Err(format!(
                        "{who}: `args`, `env` and `env_from` only apply to `command` servers"
                    ));
                }
                let url = url::Url::parse(&url)
                    .map_err(|e| format!("{who}: `url` {url:?} is not a URL: {e}"))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(format!("{who}: `url` must be http:// or https://"));
                }
                McpTransport::Http {
                    url,
                    bearer_token_env: raw.bearer_token_env,
                }
            }
        };
        Ok(McpServerSpec {
            name: raw.name,
            prefix,
            transport,
        })
    }
}

/// A connected external server.
pub type ExternalClient = RunningService<RoleClient, ()>;

/// Why an external server could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MCP server `{server}`: {reason}")]
pub struct ExternalError {
    pub server: String,
    pub reason: String,
}

/// Start (stdio) or reach (HTTP) one server and complete the MCP handshake, within
/// [`START_TIMEOUT`]. `lookup` reads the environment (a closure, so tests need not touch the
/// process environment).
pub async fn connect(
    spec: &McpServerSpec,
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
    http: &reqwest::Client,
) -> Result<ExternalClient, ExternalError> {
    let fail = |reason: String| ExternalError {
        server: spec.name.clone(),
        reason,
    };
    let started = async {
        match &spec.transport {
            McpTransport::Stdio {
                command,
                args,
                env,
                env_from,
            } => {
                let mut vars: BTreeMap<String, String> = BTreeMap::new();
                for key in ["PATH", "HOME"] {
                    if let Some(v) = lookup(key) {
                        vars.insert(key.to_string(), v);
                    }
                }
                for key in env_from {
                    match lookup(key) {
                        Some(v) => {
                            vars.insert(key.clone(), v);
                        }
                        None => {
                            return Err(fail(format!(
                                "environment variable {key} (named in env_from) is not set"
                            )));
                        }
                    }
                }
                vars.extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
                let cmd = tokio::process::Command::new(command).configure(|c| {
                    c.args(args).env_clear().envs(&vars).kill_on_drop(true);
                });
                let transport = TokioChildProcess::new(cmd)
                    .map_err(|e| fail(format!("cannot start {command:?}: {e}")))?;
                ().serve(transport)
                    .await
                    .map_err(|e| fail(format!("MCP handshake failed: {e}")))
            }
            McpTransport::Http {
                url,
                bearer_token_env,
            } => {
                let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
                if let Some(var) = bearer_token_env {
                    let token = lookup(var).map(Secret::new).ok_or_else(|| {
                        fail(format!(
                            "environment variable {var} (bearer_token_env) is not set"
                        ))
                    })?;
                    config = config.auth_header(token.expose());
                }
                let transport = StreamableHttpClientTransport::with_client(http.clone(), config);
                ().serve(transport)
                    .await
                    .map_err(|e| fail(format!("MCP handshake with {url} failed: {e}")))
            }
        }
    };
    match tokio::time::timeout(START_TIMEOUT, started).await {
        Ok(result) => result,
        Err(_) => Err(fail(format!(
            "did not answer the MCP handshake within {} s",
            START_TIMEOUT.as_secs()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<McpServerSpec, String> {
        serde_yaml::from_str::<McpServerSpec>(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn stdio_and_http_servers_parse() {
        let s =
            parse("name: k8s\ncommand: sre-agent\nargs: [mcp, kubernetes]\nenv_from: [KUBECONFIG]")
                .unwrap();
        assert_eq!(s.prefix, "k8s_");
        assert!(
            matches!(s.transport, McpTransport::Stdio { ref args, .. } if args == &["mcp", "kubernetes"])
        );
        let h = parse("name: remote\nprefix: r_\nurl: https://mcp.example.com/mcp\nbearer_token_env: REMOTE_TOKEN").unwrap();
        assert_eq!(h.prefix, "r_");
        assert!(
            matches!(h.transport, McpTransport::Http { ref bearer_token_env, .. } if bearer_token_env.as_deref() == Some("REMOTE_TOKEN"))
        );
        // Round trip through the flat YAML shape.
        let back: McpServerSpec =
            serde_yaml::from_str(&serde_yaml::to_string(&h).unwrap()).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn wrong_shapes_are_named() {
        for (yaml, needle) in [
            ("name: a\ncommand: x\nurl: http://h/", "not both"),
            ("name: a", "give `command`"),
            ("name: a\nurl: ftp://h/", "http:// or https://"),
            ("name: a\nurl: nope", "is not a URL"),
            (
                "name: a\nurl: http://h/\nargs: [x]",
                "only apply to `command`",
            ),
            (
                "name: a\ncommand: x\nbearer_token_env: T",
                "only applies to `url`",
            ),
            ("name: 'a b'\ncommand: x", "the name must be"),
            ("name: a\nprefix: 'a.'\ncommand: x", "the prefix must be"),
            ("name: a\ncommand: x\nsurprise: 1", "surprise"),
        ] {
            let err = parse(yaml).expect_err(yaml);
            assert!(err.contains(needle), "{yaml:?}: {err}");
        }
    }

    #[tokio::test]
    async fn a_missing_command_or_secret_is_an_error_not_a_panic() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let none = |_: &str| None;
        let spec = parse("name: ghost\ncommand: /nonexistent/mcp-server").unwrap();
        let err = connect(&spec, &none, &http)
            .await
            .expect_err("no such command");
        assert!(err.to_string().contains("cannot start"), "{err}");
        let spec = parse("name: s\ncommand: /bin/true\nenv_from: [SOME_TOKEN]").unwrap();
        let err = connect(&spec, &none, &http).await.expect_err("missing env");
        assert!(err.to_string().contains("SOME_TOKEN"), "{err}");
        let spec = parse("name: h\nurl: http://127.0.0.1:9/mcp\nbearer_token_env: T").unwrap();
        let err = connect(&spec, &none, &http)
            .await
            .expect_err("missing token");
        assert!(err.to_string().contains("bearer_token_env"), "{err}");
    }
}
