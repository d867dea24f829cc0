//! Names and namespaces in an alert's words: `deployment/checkout`, `statefulset kafka`,
//! `the invoice-sync pods`, `pod api-7d9f8c6b5d-x2kqz`, `in namespace billing-3`,
//! `in the shop namespace`, `-n prod`, `prod/checkout`.

use std::sync::LazyLock;

use regex::Regex;

use crate::target::TargetKind;
use crate::target::names::{PodShape, is_plausible_name, workload_of_pod};
use crate::target::rules::is_monitoring_value;

const NAME: &str = r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?";

#[allow(clippy::expect_used)] // constant patterns, checked by the tests
fn re(pattern: &str) -> Regex {
    Regex::new(&pattern.replace("NAME", NAME)).expect("constant regex")
}

static NS_PHRASES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    vec![
        re(r"(?i)\bin\s+(?:the\s+)?namespace[\s:=]+`?(NAME)`?"),
        re(r"(?i)\bin\s+(?:the\s+)?`?(NAME)`?\s+namespace\b"),
        re(
            r"(?i)\b(?:pods?|workers?|jobs?|services?|deployments?|containers?|apps?|replicas)\s+in\s+`?(NAME)`?(?:$|[\s,.;:?!])",
        ),
        re(r"(?:^|\s)(?:-n|--namespace)[\s=]+(NAME)\b"),
        re(r"(?i)\bnamespace[\s]*[:=][\s]*[`']?(NAME)"),
        re(r"(?i)\bkube_namespace:(NAME)"),
    ]
});

/// `prod/checkout`: a namespace and a name, not a URL path or a `kind/name`.
static NS_SLASH: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|[\s(`'])(NAME)/(NAME)(?:$|[\s).,;:`'])"));

static KIND_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(deployments?|deploy|statefulsets?|sts|daemonsets?|ds|cronjobs?|cj|jobs?|pods?|po|nodes?|pvc|persistentvolumeclaims?|ingress(?:es)?|ing|services?|svc)(?:/|\s+)`?(?:(NAME)/)?(NAME)`?",
    )
});

/// The subject of a person's question: `checkout is slow`, `why is payments-api failing`.
static SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^\s*(?:why\s+(?:is|are|does|do)\s+)?(?:the\s+)?`?(NAME)`?\s+(?:is|are|keeps?|has|have|returns?|throws?|gives?|seems?|slow|down|failing|erroring|crashing|restarting|timing|\d{3}s?)\b",
    )
});

static NAME_PODS: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\b(?:the\s+)?`?(NAME)`?\s+pods?\b"));

fn kind_of(word: &str) -> Option<TargetKind> {
    let w = word.to_ascii_lowercase();
    let w = w.trim_end_matches("es").trim_end_matches('s');
    Some(match w {
        "deployment" | "deploy" => TargetKind::Deployment,
        "statefulset" | "st" => TargetKind::StatefulSet,
        "daemonset" | "d" => TargetKind::DaemonSet,
        "cronjob" | "cj" => TargetKind::CronJob,
        "job" => TargetKind::Job,
        "pod" | "po" => TargetKind::Pod,
        "node" => TargetKind::Node,
        "pvc" | "persistentvolumeclaim" => TargetKind::PersistentVolumeClaim,
        "ingr" | "ing" | "ingress" => TargetKind::Ingress,
        "service" | "svc" => TargetKind::Service,
        _ => return None,
    })
}

/// The namespace the text names, and the phrase that named it.
pub fn namespace_phrase(title: &str, text: &str) -> Option<(String, String)> {
    for hay in [title, text] {
        for r in NS_PHRASES.iter() {
            if let Some(c) = r.captures(hay)
                && let Some(ns) = c.get(1).map(|m| m.as_str().to_ascii_lowercase())
                && is_plausible_name(&ns)
            {
                return Some((ns, c[0].trim().to_string()));
            }
        }
        if let Some((ns, _, phrase)) = ns_slash(hay) {
            return Some((ns, phrase));
        }
    }
    None
}

fn ns_slash(hay: &str) -> Option<(String, String, String)> {
    NS_SLASH.captures_iter(hay).find_map(|c| {
        let (ns, name) = (c[1].to_string(), c[2].to_string());
        let is_kind = kind_of(&ns).is_some();
        let looks_like_path = ns.contains('.') || hay.contains(&format!("://{ns}"));
        // `monitoring/kube-prometheus-stack-prometheus` is the `prometheus` label; `x/x` a
        // scrape job's `job/service`.
        let not_an_object = is_monitoring_value(&name) || ns == name;
        (!is_kind
            && !looks_like_path
            && !not_an_object
            && is_plausible_name(&ns)
            && is_plausible_name(&name))
        .then(|| (ns.clone(), name.clone(), format!("{ns}/{name}")))
    })
}

/// An object the text names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub kind: TargetKind,
    pub name: String,
    /// The namespace of a `Kind ns/name` phrase.
    pub namespace: Option<String>,
    pub phrase: String,
}

/// `Kind name` or `Kind ns/name` phrases, a `ns/name` phrase first (it is the most specific).
pub fn kind_phrase(title: &str, text: &str) -> Option<Named> {
    let mut found: Vec<Named> = Vec::new();
    for hay in [title, text] {
        for c in KIND_NAME.captures_iter(hay) {
            let (Some(kind), name) = (kind_of(&c[1]), c[3].to_string()) else {
                continue;
            };
            let namespace = c.get(2).map(|m| m.as_str().to_string());
            if is_plausible_name(&name)
                && kind_of(&name).is_none()
                && namespace
                    .as_deref()
                    .is_none_or(|ns| is_plausible_name(ns) && !ns.contains('.'))
            {
                found.push(Named {
                    kind,
                    name,
                    namespace,
                    phrase: c[0].trim().to_string(),
                });
            }
        }
    }
    let i = found
        .iter()
        .position(|n| n.namespace.is_some())
        .unwrap_or(0);
    (i < found.len()).then(|| found.swap_remove(i))
}

/// The object the text names without saying its kind: a token shaped like a Deployment's or a
/// CronJob's pod, `the X pods`, `ns/name`.
pub fn object_phrase(title: &str, text: &str) -> Option<(TargetKind, String, String)> {
    for hay in [title, text] {
        // A token shaped like a Deployment's or a CronJob's pod.
        for token in hay.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            if let Some((PodShape::ReplicaSet | PodShape::CronJob, _)) = workload_of_pod(token)
                && is_plausible_name(token)
                && !is_monitoring_value(token)
            {
                return Some((TargetKind::Pod, token.to_string(), token.to_string()));
            }
        }
        for c in NAME_PODS.captures_iter(hay) {
            let name = c[1].to_ascii_lowercase();
            if is_plausible_name(&name) && kind_of(&name).is_none() {
                return Some((TargetKind::App, name, c[0].trim().to_string()));
            }
        }
        if let Some((_, name, phrase)) = ns_slash(hay) {
            return Some((TargetKind::App, name, phrase));
        }
    }
    None
}

/// The subject of a person's question (`checkout is slow since 10:40`), a guess.
pub fn question_subject(title: &str) -> Option<(String, String)> {
    let c = SUBJECT.captures(title)?;
    let name = c[1].to_ascii_lowercase();
    (is_plausible_name(&name) && kind_of(&name).is_none() && !is_monitoring_value(&name))
        .then(|| (name, c[0].trim().to_string()))
}

/// The values an Alertmanager default title lists before its parenthesis (the group's labels:
/// `cx-tools (KubePodCrashLooping …)`, `KubePersistentVolumeFillingUp commerce-data (…)`), when
/// there are at most two; names only. A long title may be cut before its closing parenthesis.
pub fn group_values(title: &str) -> Vec<String> {
    let title = title.trim();
    let Some((head, _)) = title.split_once(" (") else {
        return Vec::new();
    };
    let words: Vec<&str> = head.split_whitespace().collect();
    if words.is_empty() || words.len() > 2 {
        return Vec::new();
    }
    words
        .into_iter()
        .filter(|w| is_plausible_name(w) && !is_monitoring_value(w))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_in_words() {
        let ns = |t: &str| namespace_phrase(t, "").map(|(n, _)| n);
        assert_eq!(
            ns("why are the invoice-sync pods restarting in namespace billing-3"),
            Some("billing-3".into())
        );
        assert_eq!(
            ns("checkout errors in the shop namespace"),
            Some("shop".into())
        );
        assert_eq!(ns("kubectl get pods -n prod"), Some("prod".into()));
        assert_eq!(ns("prod/checkout is slow"), Some("prod".into()));
        assert_eq!(ns("see https://grafana.example.com/d/abc"), None);
        assert_eq!(
            ns("deploy/checkout is slow"),
            None,
            "a kind, not a namespace"
        );
        assert_eq!(ns("Namespace: payments"), Some("payments".into()));
    }

    #[test]
    fn kinds_and_namespaces_in_phrases() {
        let named = |t: &str| kind_phrase(t, "").map(|n| (n.kind, n.name, n.namespace));
        assert_eq!(
            named(
                "DaemonSet rollout is stuck. DaemonSet observability/log-shipper has not finished"
            ),
            Some((
                TargetKind::DaemonSet,
                "log-shipper".into(),
                Some("observability".into())
            )),
            "the ns/name phrase wins over a free word"
        );
        assert_eq!(named("StatefulSet has not matched"), None);
        assert_eq!(
            named("rollout of deployment/checkout is stuck"),
            Some((TargetKind::Deployment, "checkout".into(), None))
        );
    }

    #[test]
    fn the_prometheus_label_and_job_service_pairs_are_no_namespace() {
        let ns = |t: &str| namespace_phrase(t, "").map(|(n, _)| n);
        assert_eq!(
            ns("x (monitoring/kube-prometheus-stack-prometheus warning)"),
            None
        );
        assert_eq!(
            ns(
                "100% of the billing-exporter/billing-exporter targets in finance-ops namespace are down"
            ),
            Some("finance-ops".into())
        );
        assert_eq!(
            ns("celery workers in etl-7 keep failing tasks"),
            Some("etl-7".into())
        );
    }

    #[test]
    fn subjects_and_group_values() {
        assert_eq!(
            question_subject("checkout is slow since 10:40").map(|(n, _)| n),
            Some("checkout".into())
        );
        assert_eq!(
            question_subject("payments-api 502s after deploy?").map(|(n, _)| n),
            Some("payments-api".into())
        );
        assert_eq!(
            question_subject("celery workers in etl-7 keep failing"),
            None
        );
        assert_eq!(question_subject("is the latency high?"), None);
        assert_eq!(
            group_values("cx-tools (KubePodCrashLooping api http warning)"),
            ["cx-tools"]
        );
        assert_eq!(
            group_values("KubePersistentVolumeFillingUp commerce-data (https-metrics kubelet)"),
            ["commerce-data"]
        );
        assert!(group_values("Claims processing error rate Claims (claims critical)").is_empty());
        assert!(group_values("checkout slow").is_empty());
    }

    #[test]
    fn objects_in_words() {
        let obj = |t: &str| {
            kind_phrase(t, "")
                .map(|n| (n.kind, n.name))
                .or_else(|| object_phrase(t, "").map(|(k, n, _)| (k, n)))
        };
        assert_eq!(
            obj("rollout of deployment/checkout is stuck"),
            Some((TargetKind::Deployment, "checkout".into()))
        );
        assert_eq!(
            obj("statefulset kafka has 2/3 ready"),
            Some((TargetKind::StatefulSet, "kafka".into()))
        );
        assert_eq!(
            obj("why are the invoice-sync pods restarting"),
            Some((TargetKind::App, "invoice-sync".into()))
        );
        assert_eq!(
            obj("checkout-7d9f8c6b5d-x2kqz keeps crashing"),
            Some((TargetKind::Pod, "checkout-7d9f8c6b5d-x2kqz".into()))
        );
        assert_eq!(
            obj("node ip-10-0-3-17.ec2.internal is NotReady"),
            Some((TargetKind::Node, "ip-10-0-3-17.ec2.internal".into()))
        );
        assert_eq!(
            obj("the pods are restarting for longer than usual"),
            None,
            "free words are no names"
        );
        assert_eq!(obj("latency is high"), None);
    }
}
