//! What a failed Kubernetes API call means for the tools: a 404 is "no such object", a 403 is an
//! RBAC refusal naming the verb, resource and namespace (read from the API's `Status` message,
//! else from the call itself), a 400 for a previous container that never existed is "no log";
//! anything else is a request error that names the call, never a credential.

use std::sync::LazyLock;

use regex::Regex;

use crate::tools::BackendError;

/// One API call, for error messages and RBAC gaps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `list` or `get`.
    pub verb: &'static str,
    /// `pods`, `pods/log`, `deployments.apps`, `endpointslices.discovery.k8s.io`…
    pub resource: String,
    /// `None` for cluster-scoped resources.
    pub namespace: Option<String>,
}

impl Call {
    pub fn new(verb: &'static str, plural: &str, group: &str, namespace: Option<&str>) -> Call {
        Call {
            verb,
            resource: if group.is_empty() {
                plural.to_owned()
            } else {
                format!("{plural}.{group}")
            },
            namespace: namespace.map(str::to_owned),
        }
    }

    fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {} in {ns}", self.verb, self.resource),
            None => format!("{} {}", self.verb, self.resource),
        }
    }

    /// The call ran out of time.
    pub fn timed_out(&self, after_ms: u64) -> BackendError {
        BackendError::Request(format!(
            "kubernetes API: {} timed out after {after_ms} ms",
            self.describe()
        ))
    }
}

/// A failed call: nothing there, or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 404, or no previous container / a container that has not started (for logs).
    Absent,
    Error(BackendError),
}

static FORBIDDEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"cannot (\w+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)")?"#,
    )
    .expect("static regex")
});

/// Verb, resource (`plural[.group]`) and namespace from the message of a 403 `Status`, e.g.
/// `events is forbidden: User "system:serviceaccount:sre:sre-agent" cannot list resource
/// "events" in API group "" in the namespace "kube-system"`.
pub fn parse_forbidden(message: &str) -> Option<BackendError> {
    let caps = FORBIDDEN.captures(message)?;
    let verb = caps.get(1)?.as_str().to_owned();
    let plural = caps.get(2)?.as_str();
    let group = caps.get(3).map_or("", |g| g.as_str());
    let resource = if group.is_empty() {
        plural.to_owned()
    } else {
        format!("{plural}.{group}")
    };
    Some(BackendError::Forbidden {
        verb,
        resource,
        namespace: caps.get(4).map(|m| m.as_str().to_owned()),
    })
}

/// Whether a 400 on a log read means "there is no such log" rather than a bad request.
fn no_log(message: &str) -> bool {
    (message.contains("previous terminated container") && message.contains("not found"))
        || message.contains("is waiting to start")
        || message.contains("ContainerCreating")
}

/// What a `kube` error means for `call`.
pub fn classify(error: kube::Error, call: &Call) -> Failure {
    match error {
        kube::Error::Api(status) => match status.code {
            404 => Failure::Absent,
            400 if call.resource == "pods/log" && no_log(&status.message) => Failure::Absent,
            403 => Failure::Error(parse_forbidden(&status.message).unwrap_or_else(|| {
                BackendError::Forbidden {
                    verb: call.verb.to_owned(),
                    resource: call.resource.clone(),
                    namespace: call.namespace.clone(),
                }
            })),
            401 => Failure::Error(BackendError::Request(format!(
                "kubernetes API: {}: 401 Unauthorized (the credentials were rejected)",
                call.describe()
            ))),
            code => Failure::Error(BackendError::Request(format!(
                "kubernetes API: {}: {code} {}",
                call.describe(),
                status.message.trim()
            ))),
        },
        kube::Error::SerdeError(e) => Failure::Error(BackendError::Decode(format!(
            "kubernetes API: {}: {e}",
            call.describe()
        ))),
        other => Failure::Error(BackendError::Request(format!(
            "kubernetes API: {}: {other}",
            call.describe()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: &str) -> kube::Error {
        kube::Error::Api(Box::new(serde_json::from_str(json).expect("status")))
    }

    #[test]
    fn forbidden_status_names_what_was_refused() {
        let call = Call::new("list", "events", "", Some("kube-system"));
        let e = status(
            r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,
            "message":"events is forbidden: User \"system:serviceaccount:sre:sre-agent\" cannot list resource \"events\" in API group \"\" in the namespace \"kube-system\""}"#,
        );
        assert_eq!(
            classify(e, &call),
            Failure::Error(BackendError::Forbidden {
                verb: "list".into(),
                resource: "events".into(),
                namespace: Some("kube-system".into()),
            })
        );
        assert_eq!(
            parse_forbidden(
                "nodes is forbidden: User \"u\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
            ),
            Some(BackendError::Forbidden {
                verb: "list".into(),
                resource: "nodes".into(),
                namespace: None,
            })
        );
        assert_eq!(
            parse_forbidden(
                "deployments.apps \"cart\" is forbidden: User \"u\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"prod\""
            ),
            Some(BackendError::Forbidden {
                verb: "get".into(),
                resource: "deployments.apps".into(),
                namespace: Some("prod".into()),
            })
        );
        // A 403 without the usual message: the call itself says what was refused.
        let call = Call::new("get", "pods/log", "", Some("prod"));
        let e = status(r#"{"status":"Failure","code":403,"message":"denied by webhook"}"#);
        assert_eq!(
            classify(e, &call),
            Failure::Error(BackendError::Forbidden {
                verb: "get".into(),
                resource: "pods/log".into(),
                namespace: Some("prod".into()),
            })
        );
    }

    #[test]
    fn not_found_and_missing_logs_are_absent() {
        let call = Call::new("get", "pods", "", Some("prod"));
        let e = status(
            r#"{"status":"Failure","reason":"NotFound","code":404,"message":"pods \"x\" not found"}"#,
        );
        assert_eq!(classify(e, &call), Failure::Absent);
        let logs = Call::new("get", "pods/log", "", Some("prod"));
        let e = status(
            r#"{"status":"Failure","reason":"BadRequest","code":400,"message":"previous terminated container \"app\" in pod \"x\" not found"}"#,
        );
        assert_eq!(classify(e, &logs), Failure::Absent);
        let e = status(
            r#"{"status":"Failure","reason":"BadRequest","code":400,"message":"a container name must be specified for pod x, choose one of: [a b]"}"#,
        );
        match classify(e, &logs) {
            Failure::Error(BackendError::Request(m)) => {
                assert!(
                    m.contains("get pods/log in prod: 400 a container name"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
        let e = status(r#"{"status":"Failure","code":503,"message":"etcd leader changed"}"#);
        match classify(e, &call) {
            Failure::Error(BackendError::Request(m)) => {
                assert_eq!(
                    m,
                    "kubernetes API: get pods in prod: 503 etcd leader changed"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            Call::new("list", "endpointslices", "discovery.k8s.io", None).resource,
            "endpointslices.discovery.k8s.io"
        );
    }
}
