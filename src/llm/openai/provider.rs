//! Which LLM endpoint to use, from the environment alone, and the async-openai client for it.
//!
//! - **Azure OpenAI** when `AZURE_OPENAI_API_KEY` is set: `AZURE_OPENAI_ENDPOINT`
//!   (`https://RESOURCE.openai.azure.com`) and `AZURE_OPENAI_DEPLOYMENT` are required,
//!   `AZURE_OPENAI_API_VERSION` defaults to [`DEFAULT_AZURE_API_VERSION`]. Requests go to
//!   `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=…` with an
//!   `api-key` header.
//! - **OpenAI or any OpenAI-compatible server** when `OPENAI_API_KEY` is set: `OPENAI_MODEL`
//!   (default [`DEFAULT_OPENAI_MODEL`]) and `OPENAI_BASE_URL` (default
//!   `https://api.openai.com/v1`; e.g. `http://localhost:11434/v1` for Ollama, vLLM, LM Studio
//!   or a LiteLLM proxy), with `Authorization: Bearer`.
//! - Neither: no LLM, the offline analyzer answers.
//!
//! Keys are set on the client explicitly (async-openai's `new()` would read the environment
//! itself) and live in [`Secret`]s, never printed.

use async_openai::Client;
use async_openai::config::{AzureConfig, OpenAIConfig};
use async_openai::error::OpenAIError;
use async_openai::types::chat::{CreateChatCompletionRequest, CreateChatCompletionResponse};

use super::transport::Transport;
use crate::config::Secret;

pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";
pub const DEFAULT_OPENAI_BASE: &str = "https://api.openai.com/v1";
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";

/// Where the model is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// OpenAI itself, or a compatible server at `base_url`.
    OpenAi { base_url: String, model: String },
    Azure {
        endpoint: String,
        deployment: String,
        api_version: String,
    },
}

/// The LLM the environment configures.
#[derive(Debug, Clone)]
pub struct LlmEnv {
    pub provider: Provider,
    pub api_key: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmEnvError {
    #[error("{0} is set but {1} is not")]
    Missing(&'static str, &'static str),
    #[error("{0} must be an http:// or https:// URL")]
    BadUrl(&'static str),
    #[error("{0} holds characters an HTTP header cannot carry")]
    BadKey(&'static str),
}

fn non_empty(lookup: &dyn Fn(&str) -> Option<String>, key: &str) -> Option<String> {
    lookup(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn url(value: String, var: &'static str) -> Result<String, LlmEnvError> {
    match url::Url::parse(&value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(value.trim_end_matches('/').to_string())
        }
        _ => Err(LlmEnvError::BadUrl(var)),
    }
}

fn key(value: String, var: &'static str) -> Result<Secret, LlmEnvError> {
    if value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(Secret::new(value))
    } else {
        Err(LlmEnvError::BadKey(var))
    }
}

impl LlmEnv {
    /// The configured LLM, `Ok(None)` when no key is set.
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<LlmEnv>, LlmEnvError> {
        if let Some(k) = non_empty(lookup, "AZURE_OPENAI_API_KEY") {
            let endpoint = non_empty(lookup, "AZURE_OPENAI_ENDPOINT").ok_or(
                LlmEnvError::Missing("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT"),
            )?;
            let deployment = non_empty(lookup, "AZURE_OPENAI_DEPLOYMENT").ok_or(
                LlmEnvError::Missing("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_DEPLOYMENT"),
            )?;
            return Ok(Some(LlmEnv {
                provider: Provider::Azure {
                    endpoint: url(endpoint, "AZURE_OPENAI_ENDPOINT")?,
                    deployment,
                    api_version: non_empty(lookup, "AZURE_OPENAI_API_VERSION")
                        .unwrap_or_else(|| DEFAULT_AZURE_API_VERSION.to_string()),
                },
                api_key: key(k, "AZURE_OPENAI_API_KEY")?,
            }));
        }
        let Some(k) = non_empty(lookup, "OPENAI_API_KEY") else {
            return Ok(None);
        };
        let base_url = match non_empty(lookup, "OPENAI_BASE_URL") {
            Some(u) => url(u, "OPENAI_BASE_URL")?,
            None => DEFAULT_OPENAI_BASE.to_string(),
        };
        Ok(Some(LlmEnv {
            provider: Provider::OpenAi {
                base_url,
                model: non_empty(lookup, "OPENAI_MODEL")
                    .unwrap_or_else(|| DEFAULT_OPENAI_MODEL.to_string()),
            },
            api_key: key(k, "OPENAI_API_KEY")?,
        }))
    }

    /// The model (OpenAI) or deployment (Azure): what the footer and the price table name.
    pub fn model(&self) -> &str {
        match &self.provider {
            Provider::OpenAi { model, .. } => model,
            Provider::Azure { deployment, .. } => deployment,
        }
    }

    /// `OpenAI at https://api.openai.com/v1`, `Azure OpenAI deployment gpt4 at https://…`.
    pub fn describe(&self) -> String {
        match &self.provider {
            Provider::OpenAi { base_url, model } if base_url == DEFAULT_OPENAI_BASE => {
                format!("OpenAI model {model}")
            }
            Provider::OpenAi { base_url, model } => {
                format!("OpenAI-compatible model {model} at {base_url}")
            }
            Provider::Azure {
                endpoint,
                deployment,
                api_version,
            } => format!(
                "Azure OpenAI deployment {deployment} at {endpoint} (api-version {api_version})"
            ),
        }
    }

    /// Whether this is api.openai.com (which wants `max_completion_tokens`) or Azure.
    pub fn is_openai_proper(&self) -> bool {
        match &self.provider {
            Provider::OpenAi { base_url, .. } => base_url == DEFAULT_OPENAI_BASE,
            Provider::Azure { .. } => true,
        }
    }
}

/// An async-openai client for either provider, over [`Transport`] (no hidden retries).
#[derive(Clone)]
pub enum ChatClient {
    OpenAi(Client<OpenAIConfig>),
    Azure(Client<AzureConfig>),
}

impl ChatClient {
    /// Built over the process's reqwest client.
    pub fn new(env: &LlmEnv, http: reqwest::Client) -> ChatClient {
        let transport = Transport::new(http.clone());
        match &env.provider {
            Provider::OpenAi { base_url, .. } => {
                let cfg = OpenAIConfig::new()
                    .with_api_base(base_url.clone())
                    .with_api_key(env.api_key.expose());
                ChatClient::OpenAi(Client::build(http, cfg).with_http_service(transport))
            }
            Provider::Azure {
                endpoint,
                deployment,
                api_version,
            } => {
                let cfg = AzureConfig::new()
                    .with_api_base(endpoint.clone())
                    .with_deployment_id(deployment.clone())
                    .with_api_version(api_version.clone())
                    .with_api_key(env.api_key.expose());
                ChatClient::Azure(Client::build(http, cfg).with_http_service(transport))
            }
        }
    }

    /// `POST …/chat/completions`, once.
    pub async fn create(
        &self,
        request: CreateChatCompletionRequest,
    ) -> Result<CreateChatCompletionResponse, OpenAIError> {
        match self {
            ChatClient::OpenAi(c) => c.chat().create(request).await,
            ChatClient::Azure(c) => c.chat().create(request).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Result<Option<LlmEnv>, LlmEnvError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LlmEnv::from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn no_key_means_no_llm() {
        assert!(env(&[]).expect("ok").is_none());
        assert!(
            env(&[("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")])
                .expect("ok")
                .is_none()
        );
    }

    #[test]
    fn openai_and_compatible_servers() {
        let e = env(&[("OPENAI_API_KEY", "sk-test")])
            .expect("ok")
            .expect("llm");
        assert_eq!(e.model(), DEFAULT_OPENAI_MODEL);
        assert!(e.is_openai_proper());
        let e = env(&[
            ("OPENAI_API_KEY", "ollama"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1/"),
            ("OPENAI_MODEL", "llama3.1"),
        ])
        .expect("ok")
        .expect("llm");
        assert_eq!(
            e.describe(),
            "OpenAI-compatible model llama3.1 at http://127.0.0.1:11434/v1"
        );
        assert!(!format!("{e:?}").contains("ollama\""), "{e:?}");
    }

    #[test]
    fn azure_needs_endpoint_and_deployment() {
        assert_eq!(
            env(&[("AZURE_OPENAI_API_KEY", "k")]).err(),
            Some(LlmEnvError::Missing(
                "AZURE_OPENAI_API_KEY",
                "AZURE_OPENAI_ENDPOINT"
            ))
        );
        let e = env(&[
            ("AZURE_OPENAI_API_KEY", "k"),
            ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/"),
            ("AZURE_OPENAI_DEPLOYMENT", "gpt4o"),
            ("OPENAI_API_KEY", "ignored"),
        ])
        .expect("ok")
        .expect("llm");
        assert_eq!(e.model(), "gpt4o");
        assert!(e.describe().contains("api-version 2024-10-21"));
        assert_eq!(
            env(&[("OPENAI_API_KEY", "a b")]).err(),
            Some(LlmEnvError::BadKey("OPENAI_API_KEY"))
        );
    }
}
