//! Live SigNoz backend: `POST {SIGNOZ_URL}/api/v5/query_range` with header `SIGNOZ-API-KEY`.

use serde::{Deserialize, Serialize};

/// `backends.signoz`: the URL may also come from `SIGNOZ_URL`; the key only from `SIGNOZ_API_KEY`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignozSettings {
    /// Base URL of SigNoz (e.g. `http://signoz-query-service:8080`); `SIGNOZ_URL` overrides it.
    pub url: Option<String>,
}
