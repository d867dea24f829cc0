//! Checkable claims in an answer's text: numbers (with their unit), resource names, times and
//! the targets of commands.
//!
//! Extraction is deliberately narrow, so that ordinary prose is not mistaken for a claim: a
//! resource name is a `kind/name`, a name after a kind word (`pod cart-7f9c-x1`), a name in
//! backticks, or a token shaped like a Deployment's pod (`name-<hash>-<5>`) — and a name outside
//! a command must hold a `-` or a digit; small bare integers (counts) and derived ratios (`3x`)
//! are not checked.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveTime, Utc};
use regex::Regex;

/// A claim found in the text, before it is checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// A number as written, its value, its decimals and its unit (lower-cased, may be empty).
    Number {
        text: String,
        value: f64,
        decimals: i32,
        unit: String,
    },
    /// A Kubernetes object, host or other name, with what it was (`pod`, `deploy`, `host`…).
    Name { kind: String, name: String },
    /// A full timestamp.
    Timestamp { text: String, at: DateTime<Utc> },
    /// A time of day (`14:32`, `14:32:05 UTC`).
    TimeOfDay { text: String, at: NaiveTime },
}

impl Claim {
    /// How the claim is listed when the evidence does not support it.
    pub fn label(&self) -> String {
        match self {
            Claim::Number { text, .. } => format!("value `{text}`"),
            Claim::Name { kind, name } => format!("{kind} `{name}`"),
            Claim::Timestamp { text, .. } | Claim::TimeOfDay { text, .. } => {
                format!("time `{text}`")
            }
        }
    }
}

fn re(pattern: &str) -> Regex {
    // Literal patterns of this module, exercised by its tests.
    Regex::new(pattern).unwrap_or_else(|e| panic!("grounding pattern: {e}"))
}

const KINDS: &str = "pods?|po|deploy(?:ments?)?|svc|services?|statefulsets?|sts|daemonsets?|ds|replicasets?|rs|jobs?|cronjobs?|cj|nodes?|configmaps?|cm|secrets?|ingress(?:es)?|ing|pvc|persistentvolumeclaims?|hpa|endpoints|namespaces?|ns";

static KIND_SLASH: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?i)\b({KINDS})/([a-z0-9][-a-z0-9.]*[a-z0-9])")));
static KIND_WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)\b(pod|deployment|statefulset|daemonset|replicaset|service|node|namespace|job|cronjob|container|configmap)\s+[`'"]?([a-z0-9][-a-z0-9.]*[a-z0-9])[`'"]?"#,
    )
});
static BACKTICKED: LazyLock<Regex> = LazyLock::new(|| re(r"`([a-z0-9][-a-z0-9.]*[a-z0-9])`"));
static POD_SHAPED: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b[a-z0-9]+(?:-[a-z0-9]+)*-[a-z0-9]{6,10}-[a-z0-9]{5}\b"));
static ISO_TIME: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}|\s?UTC)?")
});
static TIME_OF_DAY: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s?UTC|Z)?\b"));
static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(\s?(?:%|ms|µs|us|ns|seconds?|secs?|s|minutes?|mins?|m|hours?|h|days?|d|mib|gib|kib|mi|gi|ki|mb|gb|kb|tb|bytes|b|millicores|cores?|rps|req/s|qps|x|×|connections|conns|restarts|replicas|pods)\b|%)?",
    )
});
static HOST: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b([a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\.[a-z]{2,})\b",
    )
});

/// A name worth checking outside a command: it holds a `-` or a digit.
fn specific(name: &str) -> bool {
    name.contains('-') || name.chars().any(|c| c.is_ascii_digit())
}

fn kind_of(word: &str) -> String {
    let w = word.to_ascii_lowercase();
    let k = match w.as_str() {
        "po" | "pod" | "pods" => "pod",
        "deploy" | "deployment" | "deployments" => "deployment",
        "svc" | "service" | "services" => "service",
        "sts" | "statefulset" | "statefulsets" => "statefulset",
        "ds" | "daemonset" | "daemonsets" => "daemonset",
        "rs" | "replicaset" | "replicasets" => "replicaset",
        "ns" | "namespace" | "namespaces" => "namespace",
        "cm" | "configmap" | "configmaps" => "configmap",
        "no" | "node" | "nodes" => "node",
        _ => return w,
    };
    k.to_string()
}

/// Names claimed in prose.
pub fn names(text: &str) -> Vec<Claim> {
    let mut out = Vec::new();
    let mut push = |kind: String, name: &str| {
        let claim = Claim::Name {
            kind,
            name: name.to_ascii_lowercase(),
        };
        if !out.contains(&claim) {
            out.push(claim);
        }
    };
    for c in KIND_SLASH.captures_iter(text) {
        push(kind_of(&c[1]), &c[2]);
    }
    for c in KIND_WORD.captures_iter(text) {
        if specific(&c[2]) {
            push(kind_of(&c[1]), &c[2]);
        }
    }
    for c in BACKTICKED.captures_iter(text) {
        if specific(&c[1]) && !c[1].contains('/') {
            push("name".into(), &c[1]);
        }
    }
    for m in POD_SHAPED.find_iter(text) {
        push("pod".into(), m.as_str());
    }
    // The same name found as `pod x` and as a bare pod-shaped `x` is one claim.
    let mut seen = Vec::new();
    out.retain(|c| match c {
        Claim::Name { name, .. } => {
            let fresh = !seen.contains(name);
            seen.push(name.clone());
            fresh
        }
        _ => true,
    });
    out
}

/// Timestamps and times of day.
pub fn times(text: &str) -> Vec<Claim> {
    let mut out = Vec::new();
    let mut covered = Vec::new();
    for m in ISO_TIME.find_iter(text) {
        covered.push(m.range());
        if let Some(at) = parse_time(m.as_str()) {
            out.push(Claim::Timestamp {
                text: m.as_str().to_string(),
                at,
            });
        }
    }
    for c in TIME_OF_DAY.captures_iter(text) {
        let Some(m) = c.get(0) else { continue };
        if covered.iter().any(|r| r.contains(&m.start())) {
            continue;
        }
        let h: u32 = c[1].parse().unwrap_or(99);
        let min: u32 = c[2].parse().unwrap_or(99);
        let sec: u32 = c.get(3).and_then(|s| s.as_str().parse().ok()).unwrap_or(0);
        if let Some(at) = NaiveTime::from_hms_opt(h, min, sec) {
            out.push(Claim::TimeOfDay {
                text: m.as_str().to_string(),
                at,
            });
        }
    }
    out
}

/// An RFC 3339 timestamp, or `YYYY-MM-DD HH:MM[:SS][ UTC]` taken as UTC.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let plain = text
        .trim_end_matches("UTC")
        .trim_end_matches('Z')
        .trim()
        .replace(' ', "T");
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(&plain, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

/// Numbers claimed in prose (not inside names, versions, times or dates).
pub fn numbers(text: &str) -> Vec<Claim> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for c in NUMBER.captures_iter(text) {
        let (Some(whole), Some(num)) = (c.get(0), c.get(1)) else {
            continue;
        };
        let before = text[..whole.start()].chars().next_back();
        let after = bytes.get(num.end()).copied();
        let after2 = bytes.get(num.end() + 1).copied();
        // Part of a name, a version, an address, a time or a date.
        if before.is_some_and(|b| b.is_alphanumeric() || "-_./:#$@".contains(b))
            || matches!(after, Some(b':' | b'-' | b'/' | b'_'))
            || (after == Some(b'.') && after2.is_some_and(|b| b.is_ascii_digit()))
            || (whole.end() == num.end()
                && bytes.get(num.end()).is_some_and(u8::is_ascii_alphabetic))
        {
            continue;
        }
        let unit = c
            .get(2)
            .map(|u| u.as_str().trim().to_lowercase())
            .unwrap_or_default();
        if matches!(unit.as_str(), "x" | "×") {
            continue; // a derived ratio
        }
        let Ok(value) = num.as_str().replace(',', "").parse::<f64>() else {
            continue;
        };
        let decimals = num
            .as_str()
            .split_once('.')
            .map_or(0, |(_, d)| d.len() as i32);
        let counted = matches!(
            unit.as_str(),
            "" | "connections" | "conns" | "restarts" | "replicas" | "pods"
        );
        // Small counts ("3 replicas", "step 2") and years are not checked.
        if counted && decimals == 0 && value <= 10.0 {
            continue;
        }
        if unit.is_empty() && decimals == 0 && (1900.0..=2100.0).contains(&value) {
            continue;
        }
        out.push(Claim::Number {
            text: whole.as_str().trim().to_string(),
            value,
            decimals,
            unit,
        });
    }
    out
}

/// What a shell command acts on: `kind/name`, the name after a kind, the pod of `logs`/`exec`,
/// the namespace of `-n`, hosts. Placeholders (`<pod>`, `$POD`, `POD_NAME`) are skipped.
pub fn command_targets(command: &str) -> Vec<Claim> {
    let placeholder = |t: &str| {
        t.contains(['<', '>', '$', '{', '}', '*'])
            || t.contains("...")
            || t.chars().any(|c| c.is_ascii_uppercase())
    };
    let mut out = Vec::new();
    let mut push = |kind: String, name: &str| {
        if placeholder(name) || name.is_empty() {
            return;
        }
        let claim = Claim::Name {
            kind,
            name: name.to_ascii_lowercase(),
        };
        if !out.contains(&claim) {
            out.push(claim);
        }
    };
    let kind_word = |t: &str| {
        matches!(
            t.to_ascii_lowercase().as_str(),
            "pod"
                | "pods"
                | "po"
                | "deploy"
                | "deployment"
                | "deployments"
                | "statefulset"
                | "sts"
                | "daemonset"
                | "ds"
                | "svc"
                | "service"
                | "node"
                | "nodes"
                | "job"
                | "cronjob"
                | "configmap"
                | "cm"
                | "secret"
                | "replicaset"
                | "rs"
                | "hpa"
                | "ingress"
                | "pvc"
        )
    };
    // A pipe or a list ends a command's arguments: `kubectl describe node x | grep Taints`
    // acts on node x, not on a node named `grep`.
    for segment in command.split(['|', ';', '&']) {
        let tokens: Vec<&str> = segment
            .split_whitespace()
            .map(|t| t.trim_matches(|c| c == '"' || c == '\'' || c == '`'))
            .filter(|t| !t.is_empty())
            .collect();
        let is_kubectl = tokens.iter().any(|t| *t == "kubectl" || *t == "oc");
        let mut i = 0;
        while i < tokens.len() {
            let t = tokens[i];
            let next = tokens.get(i + 1).copied();
            if let Some(ns) = t.strip_prefix("--namespace=") {
                push("namespace".into(), ns);
            } else if (t == "-n" || t == "--namespace") && is_kubectl {
                if let Some(ns) = next {
                    push("namespace".into(), ns);
                    i += 1;
                }
            } else if let Some((kind, name)) = t.split_once('/')
                && is_kubectl
                && kind_word(kind)
            {
                push(kind_of(kind), name);
            } else if is_kubectl && kind_word(t) {
                if let Some(name) = next.filter(|n| !n.starts_with('-') && !n.contains('/')) {
                    push(kind_of(t), name);
                    i += 1;
                }
            } else if is_kubectl && matches!(t, "logs" | "exec" | "attach" | "port-forward") {
                if let Some(name) = next.filter(|n| !n.starts_with('-') && !n.contains('/')) {
                    push("pod".into(), name);
                    i += 1;
                }
            } else if let Some(host) = t
                .contains("://")
                .then(|| url::Url::parse(t).ok())
                .flatten()
                .and_then(|u| u.domain().map(str::to_string))
            {
                push("host".into(), &host);
            } else if !t.starts_with('-') && !t.contains(['{', '}', '(', ')', '=', '[', ']']) {
                // Not hosts: JSONPath and custom columns (`{.spec.template.spec.containers}`,
                // `NAME:.metadata.name`), selectors (`status.phase=Failed`), calls (`rs.status()`).
                for c in HOST.captures_iter(t) {
                    let host = &c[1];
                    // File names (`values.yaml`, `app.log`) are not hosts.
                    let tld = host.rsplit('.').next().unwrap_or("");
                    if !matches!(
                        tld,
                        "yaml"
                            | "yml"
                            | "json"
                            | "log"
                            | "txt"
                            | "conf"
                            | "sh"
                            | "py"
                            | "pem"
                            | "crt"
                            | "key"
                            | "sql"
                            | "md"
                    ) {
                        push("host".into(), host);
                    }
                }
            }
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(claims: &[Claim]) -> Vec<String> {
        claims.iter().map(Claim::label).collect()
    }

    #[test]
    fn names_in_prose() {
        let c = names(
            "Pod user-service-7d9f8b6c5d-x2k4p was OOMKilled; deploy/user-service in `prod-eu` and the node is fine; service checkout too",
        );
        assert_eq!(
            labels(&c),
            [
                "deployment `user-service`",
                "pod `user-service-7d9f8b6c5d-x2k4p`",
                "name `prod-eu`"
            ]
        );
    }

    #[test]
    fn numbers_with_units_skip_counts_names_and_times() {
        let c = numbers(
            "p99 rose to 4500 ms (error ratio 0.12, 98%) on 3 replicas of cart-7f9c at 14:02, v1.2.3, 3x more, 2026, then 1,954 ms",
        );
        assert_eq!(
            labels(&c),
            [
                "value `4500 ms`",
                "value `0.12`",
                "value `98%`",
                "value `1,954 ms`"
            ]
        );
        assert!(matches!(c[3], Claim::Number { value, .. } if value == 1954.0));
    }

    #[test]
    fn times_and_timestamps() {
        let c = times("began 2026-11-24T10:02:00Z, peaked 10:05 UTC");
        assert_eq!(
            labels(&c),
            ["time `2026-11-24T10:02:00Z`", "time `10:05 UTC`"]
        );
    }

    #[test]
    fn command_targets_are_found_and_placeholders_skipped() {
        let c = command_targets(
            "kubectl -n prod rollout undo deploy/user-service && kubectl logs <pod> -n prod && kubectl describe pod cart-1 --namespace=shop",
        );
        assert_eq!(
            labels(&c),
            [
                "namespace `prod`",
                "deployment `user-service`",
                "pod `cart-1`",
                "namespace `shop`"
            ]
        );
        let c = command_targets(
            "openssl s_client -connect api.example.com:443 -servername api.example.com < /dev/null | openssl x509 -noout -dates -in cert.pem",
        );
        assert_eq!(labels(&c), ["host `api.example.com`"]);
    }

    #[test]
    fn pipes_field_paths_and_calls_are_not_targets() {
        let cases: [(&str, &[&str]); 6] = [
            (
                "kubectl describe node ip-10-0-1-5 | grep -A5 Taints",
                &["node `ip-10-0-1-5`"],
            ),
            ("kubectl describe nodes | grep -i pressure", &[]),
            (
                "kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints",
                &[],
            ),
            (
                "kubectl -n shop get deploy cart -o jsonpath='{.spec.template.spec.containers[*].resources}'",
                &["namespace `shop`", "deployment `cart`"],
            ),
            ("mongosh --quiet --eval 'rs.status()'", &[]),
            (
                "curl -sv https://api.example.com/healthz?verbose=1",
                &["host `api.example.com`"],
            ),
        ];
        for (command, want) in cases {
            assert_eq!(labels(&command_targets(command)), want, "{command}");
        }
    }
}
