//! Live SigNoz backend: `POST {url}/api/v5/query_range` and `POST {url}/api/v1/services` with
//! header `SIGNOZ-API-KEY`, over the process's shared `reqwest::Client`.
//!
//! Endpoints as SigNoz serves them (SigNoz/signoz v0.138 `pkg/query-service/app/http_handler.go`,
//! and SigNoz/signoz-mcp-server v0.13 `internal/client/client.go`):
//! - `POST /api/v5/query_range`, JSON body, JSON answer (decoded by the tool server);
//! - `POST /api/v1/services` with `{"start": "<ns>", "end": "<ns>"}` (strings, nanoseconds),
//!   answering a bare array `[{"serviceName": …, "p99": …, …}]` (`model.ServiceItem`); where
//!   that is missing (404/405), `GET /api/v1/services/list` (an array of names, last day).
//!
//! The service list is cached for `services_ttl_secs`. Failures become [`BackendError`]s that
//! name the status and the path, never the key: 401/403 say "SigNoz refused the API key", 404
//! names the path, 5xx carries SigNoz's message; a body that is not JSON is a `Decode` error.

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use reqwest::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use crate::config::Secret;
use crate::tools::{BackendError, SignozBackend};

/// The header SigNoz reads the API key from.
pub const API_KEY_HEADER: &str = "SIGNOZ-API-KEY";
/// Environment variables read by [`SignozHttp::from_env`].
pub const URL_ENV: &str = "SIGNOZ_URL";
pub const API_KEY_ENV: &str = "SIGNOZ_API_KEY";
/// Largest answer read (bytes).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// `backends.signoz`: the URL may also come from `SIGNOZ_URL`; the key only from `SIGNOZ_API_KEY`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignozSettings {
    /// Base URL of SigNoz (e.g. `http://signoz-query-service:8080`); `SIGNOZ_URL` overrides it.
    pub url: Option<String>,
    /// Deadline of one HTTP call.
    pub timeout_ms: u64,
    /// How long the list of service names is reused.
    pub services_ttl_secs: u64,
    /// How far back the service list looks.
    pub services_lookback_hours: u64,
}

impl Default for SignozSettings {
    fn default() -> Self {
        SignozSettings {
            url: None,
            timeout_ms: 10_000,
            services_ttl_secs: 300,
            services_lookback_hours: 24,
        }
    }
}

impl SignozSettings {
    /// Problems with these settings, each a sentence naming the field.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(url) = self.url.as_deref().filter(|u| !u.trim().is_empty())
            && let Err(e) = base_url(url)
        {
            problems.push(format!("backends.signoz.url: {e}"));
        }
        if self.timeout_ms == 0 || self.timeout_ms > 600_000 {
            problems.push("backends.signoz.timeout_ms must be between 1 and 600000".into());
        }
        if self.services_lookback_hours == 0 || self.services_lookback_hours > 24 * 30 {
            problems
                .push("backends.signoz.services_lookback_hours must be between 1 and 720".into());
        }
        if self.services_ttl_secs > 24 * 3600 {
            problems.push("backends.signoz.services_ttl_secs must be at most 86400".into());
        }
        problems
    }
}

/// `url` as a base for joining API paths (http or https, path ending in `/`).
fn base_url(url: &str) -> Result<Url, String> {
    let mut url = Url::parse(url.trim()).map_err(|e| format!("not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("must be http or https, not {}", url.scheme()));
    }
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err("must name a host".to_owned());
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// The URL for people: no credentials.
fn shown(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.to_string()
}

/// A failed call, with the HTTP status when there was one.
struct CallError {
    status: Option<u16>,
    error: BackendError,
}

impl From<CallError> for BackendError {
    fn from(e: CallError) -> BackendError {
        e.error
    }
}

/// SigNoz over HTTP. Cheap to share (`Arc`); the client is the process's.
pub struct SignozHttp {
    client: reqwest::Client,
    base: Url,
    api_key: Option<Secret>,
    timeout: Duration,
    lookback: Duration,
    services: Option<moka::future::Cache<(), Arc<Vec<String>>>>,
}

impl std::fmt::Debug for SignozHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignozHttp")
            .field("base", &shown(&self.base))
            .field("api_key", &self.api_key)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SignozHttp {
    /// A backend for SigNoz at `url` (the settings' `url` is not read here: the caller resolved
    /// it, e.g. through [`SignozHttp::from_env`]).
    pub fn new(
        client: reqwest::Client,
        settings: &SignozSettings,
        url: Url,
        api_key: Option<Secret>,
    ) -> Result<SignozHttp, BackendError> {
        let base = base_url(url.as_str())
            .map_err(|e| BackendError::Request(format!("SigNoz URL {}: {e}", shown(&url))))?;
        if let Some(key) = &api_key
            && HeaderValue::from_str(key.expose()).is_err()
        {
            return Err(BackendError::Request(format!(
                "{API_KEY_ENV} is not a valid HTTP header value"
            )));
        }
        let ttl = Duration::from_secs(settings.services_ttl_secs);
        let services = (!ttl.is_zero()).then(|| {
            moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(ttl)
                .build()
        });
        Ok(SignozHttp {
            client,
            base,
            api_key: api_key.filter(|k| !k.expose().is_empty()),
            timeout: Duration::from_millis(settings.timeout_ms.max(1)),
            lookback: Duration::from_secs(settings.services_lookback_hours.max(1) * 3600),
            services,
        })
    }

    /// The backend the environment configures: `SIGNOZ_URL` (else `settings.url`) and
    /// `SIGNOZ_API_KEY`, read through `lookup`. `Ok(None)` when no URL is configured.
    pub fn from_env(
        client: reqwest::Client,
        settings: &SignozSettings,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<SignozHttp>, BackendError> {
        let url = lookup(URL_ENV)
            .filter(|u| !u.trim().is_empty())
            .or_else(|| settings.url.clone().filter(|u| !u.trim().is_empty()));
        let Some(url) = url else {
            return Ok(None);
        };
        let url = base_url(&url)
            .map_err(|e| BackendError::Request(format!("{URL_ENV} / backends.signoz.url: {e}")))?;
        let api_key = lookup(API_KEY_ENV)
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .map(Secret::new);
        SignozHttp::new(client, settings, url, api_key).map(Some)
    }

    /// Where this backend reads from, for people (no credentials).
    pub fn describe(&self) -> String {
        format!(
            "{} ({})",
            shown(&self.base),
            if self.api_key.is_some() {
                "with API key"
            } else {
                "no API key"
            }
        )
    }

    /// A live check for `config check --probe`: lists the services, e.g. `ok, 41 services`.
    pub async fn probe(&self) -> Result<String, BackendError> {
        let names = self.fetch_services().await?;
        Ok(format!(
            "ok, {} service{} at {}",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            shown(&self.base)
        ))
    }

    fn url(&self, path: &str) -> Result<Url, CallError> {
        self.base.join(path).map_err(|e| CallError {
            status: None,
            error: BackendError::Request(format!("bad SigNoz path {path}: {e}")),
        })
    }

    fn with_key(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(key) => match HeaderValue::from_str(key.expose()) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    req.header(HeaderName::from_static("signoz-api-key"), value)
                }
                Err(_) => req,
            },
            None => req,
        }
    }

    /// Send one request and read its JSON answer.
    async fn call(&self, req: reqwest::RequestBuilder, path: &str) -> Result<Value, CallError> {
        let fail = |status: Option<u16>, error: BackendError| CallError { status, error };
        let ms = self.timeout.as_millis();
        let mut resp = self
            .with_key(req)
            .timeout(self.timeout)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| fail(None, self.transport_error(e, path)))?;
        let status = resp.status();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no content type")
            .to_owned();
        let mut body: Vec<u8> = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY {
                        return Err(fail(
                            Some(status.as_u16()),
                            BackendError::Decode(format!(
                                "SigNoz's answer to {path} is larger than {} MiB",
                                MAX_BODY / (1024 * 1024)
                            )),
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => {
                    return Err(fail(
                        Some(status.as_u16()),
                        BackendError::Request(format!(
                            "SigNoz did not finish answering {path} within {ms} ms"
                        )),
                    ));
                }
                Err(e) => {
                    return Err(fail(
                        Some(status.as_u16()),
                        BackendError::Request(format!(
                            "reading SigNoz's answer to {path} failed: {}",
                            self.scrub(&e.without_url().to_string())
                        )),
                    ));
                }
            }
        }
        if !status.is_success() {
            return Err(fail(
                Some(status.as_u16()),
                self.status_error(status.as_u16(), path, &body),
            ));
        }
        serde_json::from_slice(&body).map_err(|e| {
            fail(
                Some(status.as_u16()),
                BackendError::Decode(format!(
                    "SigNoz answered {path} with something that is not JSON ({content_type}, {e}): {}",
                    self.scrub(&snippet(&body))
                )),
            )
        })
    }

    fn transport_error(&self, e: reqwest::Error, path: &str) -> BackendError {
        let ms = self.timeout.as_millis();
        if e.is_timeout() {
            BackendError::Request(format!("SigNoz did not answer {path} within {ms} ms"))
        } else if e.is_connect() {
            BackendError::Request(format!(
                "cannot connect to SigNoz at {}: {}",
                shown(&self.base),
                self.scrub(&error_chain(&e.without_url()))
            ))
        } else {
            BackendError::Request(format!(
                "calling SigNoz {path} failed: {}",
                self.scrub(&error_chain(&e.without_url()))
            ))
        }
    }

    fn status_error(&self, status: u16, path: &str, body: &[u8]) -> BackendError {
        match status {
            401 | 403 => BackendError::Request(format!(
                "SigNoz refused the API key (HTTP {status} on {path}){}",
                if self.api_key.is_none() {
                    format!("; no {API_KEY_ENV} is set")
                } else {
                    format!("; check {API_KEY_ENV}")
                }
            )),
            404 => BackendError::Request(format!(
                "SigNoz has no {path} (HTTP 404): is {} the SigNoz query service, and is it recent enough?",
                shown(&self.base)
            )),
            _ => {
                let what = match status {
                    400 | 422 => "SigNoz rejected the request",
                    429 => "SigNoz is rate limiting",
                    500..=599 => "SigNoz failed",
                    _ => "SigNoz answered an error",
                };
                BackendError::Request(format!(
                    "{what} (HTTP {status} on {path}): {}",
                    self.scrub(&error_message(body))
                ))
            }
        }
    }

    /// Never let the key through, whatever a server or proxy echoes.
    fn scrub(&self, text: &str) -> String {
        match &self.api_key {
            Some(key) if !key.expose().is_empty() => text.replace(key.expose(), "***"),
            _ => text.to_owned(),
        }
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, CallError> {
        let url = self.url(path)?;
        self.call(self.client.post(url).json(body), path).await
    }

    async fn get(&self, path: &str) -> Result<Value, CallError> {
        let url = self.url(path)?;
        self.call(self.client.get(url), path).await
    }

    /// The service names, from SigNoz (not cached).
    async fn fetch_services(&self) -> Result<Vec<String>, BackendError> {
        let end = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
        let lookback = i64::try_from(self.lookback.as_nanos()).unwrap_or(i64::MAX);
        let start = end.saturating_sub(lookback);
        let body = json!({"start": start.to_string(), "end": end.to_string()});
        let answer = match self.post("api/v1/services", &body).await {
            Ok(answer) => answer,
            Err(CallError {
                status: Some(404 | 405),
                ..
            }) => self.get("api/v1/services/list").await?,
            Err(e) => return Err(e.error),
        };
        service_names(&answer)
    }

    async fn cached_services(&self) -> Result<Vec<String>, BackendError> {
        match &self.services {
            None => self.fetch_services().await,
            Some(cache) => cache
                .try_get_with((), async { self.fetch_services().await.map(Arc::new) })
                .await
                .map(|names| names.as_ref().clone())
                .map_err(|e| (*e).clone()),
        }
    }
}

/// Names from `/api/v1/services` (`[{serviceName}]`), `/api/v1/services/list` (`["name"]`),
/// either inside a `{"data": …}` envelope, or `null` (none).
fn service_names(answer: &Value) -> Result<Vec<String>, BackendError> {
    let items = match answer {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        Value::Object(obj) => match obj.get("data") {
            Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            _ => {
                return Err(BackendError::Decode(
                    "SigNoz's service list is neither an array nor {\"data\": [...]}".to_owned(),
                ));
            }
        },
        _ => {
            return Err(BackendError::Decode(
                "SigNoz's service list is not an array".to_owned(),
            ));
        }
    };
    let mut names: Vec<String> = items
        .iter()
        .filter_map(|item| match item {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o
                .get("serviceName")
                .or_else(|| o.get("service.name"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        })
        .filter(|s| !s.trim().is_empty())
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// SigNoz's error message from an error body (`{"status":"error","error":{"message"}}`,
/// `{"error": "…"}`), else the start of the body.
fn error_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let candidates = [
            v.pointer("/error/message"),
            v.get("error").filter(|e| e.is_string()),
            v.get("message"),
        ];
        if let Some(msg) = candidates.into_iter().flatten().find_map(Value::as_str) {
            return msg.to_owned();
        }
    }
    let s = snippet(body);
    if s.is_empty() {
        "no details".to_owned()
    } else {
        s
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl SignozBackend for SignozHttp {
    fn query_range(&self, body: Value) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        async move {
            self.post("api/v5/query_range", &body)
                .await
                .map(Some)
                .map_err(BackendError::from)
        }
        .boxed()
    }

    fn services(&self) -> BoxFuture<'_, Result<Option<Vec<String>>, BackendError>> {
        async move { self.cached_services().await.map(Some) }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn from_env_prefers_the_environment_and_needs_a_url() {
        let settings = SignozSettings::default();
        assert!(
            SignozHttp::from_env(client(), &settings, env(&[]))
                .expect("ok")
                .is_none()
        );
        let with_file = SignozSettings {
            url: Some("http://from-file:8080".into()),
            ..SignozSettings::default()
        };
        let b = SignozHttp::from_env(client(), &with_file, env(&[]))
            .expect("ok")
            .expect("configured");
        assert_eq!(b.describe(), "http://from-file:8080/ (no API key)");
        let b = SignozHttp::from_env(
            client(),
            &with_file,
            env(&[
                (URL_ENV, "https://signoz.example/base"),
                (API_KEY_ENV, "k-123"),
            ]),
        )
        .expect("ok")
        .expect("configured");
        assert_eq!(b.base.as_str(), "https://signoz.example/base/");
        assert_eq!(b.describe(), "https://signoz.example/base/ (with API key)");
        assert!(!format!("{b:?}").contains("k-123"), "{b:?}");
        let bad = SignozHttp::from_env(client(), &settings, env(&[(URL_ENV, "ftp://x")]));
        assert!(matches!(bad, Err(BackendError::Request(m)) if m.contains("http or https")));
        let bad_key = SignozHttp::from_env(
            client(),
            &settings,
            env(&[(URL_ENV, "http://x"), (API_KEY_ENV, "bad\nkey")]),
        );
        match bad_key {
            Err(BackendError::Request(m)) => {
                assert!(m.contains("not a valid HTTP header value"), "{m}");
                assert!(!m.contains("bad"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn settings_are_validated() {
        assert!(SignozSettings::default().validate().is_empty());
        let bad = SignozSettings {
            url: Some("not a url".into()),
            timeout_ms: 0,
            services_ttl_secs: 1_000_000,
            services_lookback_hours: 0,
        };
        let problems = bad.validate().join("\n");
        for needle in [
            "backends.signoz.url",
            "timeout_ms",
            "services_ttl_secs",
            "lookback",
        ] {
            assert!(problems.contains(needle), "{needle} in {problems}");
        }
    }

    #[test]
    fn service_lists_in_every_shape() {
        let v1 = json!([{"serviceName": "users", "p99": 1.0}, {"serviceName": "api"}]);
        assert_eq!(service_names(&v1).expect("v1"), vec!["api", "users"]);
        let list = json!(["b", "a", "a"]);
        assert_eq!(service_names(&list).expect("list"), vec!["a", "b"]);
        let wrapped = json!({"data": [{"serviceName": "x"}]});
        assert_eq!(service_names(&wrapped).expect("data"), vec!["x"]);
        assert!(service_names(&Value::Null).expect("null").is_empty());
        assert!(service_names(&json!(42)).is_err());
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            error_message(
                br#"{"status":"error","error":{"code":"bad","message":"invalid filter"}}"#
            ),
            "invalid filter"
        );
        assert_eq!(error_message(br#"{"error":"boom"}"#), "boom");
        assert_eq!(error_message(b"<html>oops</html>"), "<html>oops</html>");
        assert_eq!(error_message(b""), "no details");
    }
}
