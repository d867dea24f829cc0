//! Word lists: what can never be a service, what names an environment, and which values are
//! the monitoring system's own (its scrape jobs and ports), not the thing an alert is about.

use super::known_severity;

/// Words that follow "for"/"on"/"service", or stand in a title, without being a service.
const STOPWORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "all",
    "any",
    "more",
    "most",
    "less",
    "least",
    "over",
    "under",
    "above",
    "below",
    "than",
    "this",
    "that",
    "these",
    "those",
    "it",
    "its",
    "some",
    "each",
    "every",
    "several",
    "multiple",
    "many",
    "few",
    "other",
    "another",
    "same",
    "at",
    "in",
    "of",
    "to",
    "by",
    "with",
    "from",
    "into",
    "up",
    "down",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "you",
    "your",
    "our",
    "my",
    "me",
    "us",
    "them",
    "we",
    "host",
    "hosts",
    "node",
    "nodes",
    "pod",
    "pods",
    "service",
    "services",
    "cluster",
    "instance",
    "instances",
    "target",
    "targets",
    "minutes",
    "minute",
    "hours",
    "hour",
    "seconds",
    "second",
    "days",
    "day",
    "now",
    "time",
    "times",
    "call",
    "calls",
    "not",
    "no",
    "none",
    "and",
    "or",
    "too",
    "long",
    "longer",
    "short",
    "shorter",
    "high",
    "higher",
    "low",
    "lower",
    "default",
    "unknown",
    "null",
    "true",
    "false",
    "yes",
    "ok",
    "while",
    "since",
    "until",
    "about",
    "after",
    "before",
    "last",
    "next",
    "while",
    "again",
    "still",
    "only",
    "just",
    "also",
    "very",
    "much",
    "requests",
    "request",
    "errors",
    "error",
    "latency",
    "value",
    "values",
    "threshold",
    "period",
    "window",
    "rate",
    "limit",
    "limits",
    "usage",
    "memory",
    "cpu",
    "restart",
    "restarts",
    "image",
    "runtime",
    "database",
    "db",
    "disk",
    "disks",
    "server",
    "servers",
    "machine",
    "system",
    "network",
    "storage",
    "volume",
    "filesystem",
    "queue",
    "cache",
    "traffic",
    "load",
    "space",
];

/// Environment words: a cluster's namespaces are often named after them.
pub(super) const ENV_WORDS: &[&str] = &[
    "prod",
    "production",
    "staging",
    "stage",
    "dev",
    "development",
    "qa",
    "test",
];

/// Values that name the monitoring system (kube-prometheus scrape jobs, service ports), never
/// the affected workload.
const MONITORING_VALUES: &[&str] = &[
    "kube-state-metrics",
    "node-exporter",
    "prometheus-node-exporter",
    "blackbox",
    "blackbox-exporter",
    "prometheus",
    "prometheus-k8s",
    "alertmanager",
    "alertmanager-main",
    "kubelet",
    "cadvisor",
    "apiserver",
    "kube-apiserver",
    "http",
    "https",
    "http-metrics",
    "https-metrics",
    "https-main",
    "metrics",
    "web",
    "probe",
    "monitoring",
];

/// A stopword (lower-case input).
pub(super) fn is_stopword(lower: &str) -> bool {
    STOPWORDS.contains(&lower)
}

/// An environment word (lower-case input).
pub(super) fn is_env_word(lower: &str) -> bool {
    ENV_WORDS.contains(&lower)
}

/// A word that can never be a service: a stopword, an environment or a severity word.
pub(super) fn is_free_word(lower: &str) -> bool {
    is_stopword(lower) || is_env_word(lower) || known_severity(lower).is_some()
}

/// Parts that mark a Helm-release-prefixed monitoring component
/// (`prometheus-kube-state-metrics`, `kube-prometheus-stack-prometheus-node-exporter`).
const MONITORING_PARTS: &[&str] = &["kube-state-metrics", "node-exporter", "blackbox-exporter"];

/// A monitoring system's own job, service or port name (lower-case input).
pub(super) fn is_monitoring_value(lower: &str) -> bool {
    MONITORING_VALUES.contains(&lower) || is_monitoring_component(lower)
}

/// A monitoring component's name (`prometheus-node-exporter`), never a generic word like `web`
/// that prose uses for real services too (lower-case input).
pub(super) fn is_monitoring_component(lower: &str) -> bool {
    MONITORING_PARTS.iter().any(|p| lower.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_words() {
        for w in ["longer", "high", "default", "prod", "critical", "warning"] {
            assert!(is_free_word(w), "{w}");
        }
        for w in ["checkout", "web", "search", "api"] {
            assert!(!is_free_word(w), "{w}");
        }
        assert!(is_monitoring_value("kube-state-metrics"));
        assert!(is_monitoring_value("prometheus-kube-state-metrics"));
        assert!(!is_monitoring_value("checkout"));
    }
}
