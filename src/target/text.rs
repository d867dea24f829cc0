//! Names and namespaces in an alert's words: `deployment/checkout`, `statefulset kafka`,
//! `the invoice-sync pods`, `pod api-7d9f8c6b5d-x2kqz`, `in namespace billing-3`,
//! `in the shop namespace`, `-n prod`, `prod/checkout`.

use std::sync::LazyLock;

use regex::Regex;

use crate::target::TargetKind;
use crate::target::names::{PodShape, is_plausible_name, workload_of_pod};

const NAME: &str = r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?";

#[allow(clippy::expect_used)] // constant patterns, checked by the tests
fn re(pattern: &str) -> Regex {
    Regex::new(&pattern.replace("NAME", NAME)).expect("constant regex")
}

static NS_PHRASES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    vec![
        re(r"(?i)\bin\s+(?:the\s+)?namespace[\s:=]+`?(NAME)`?"),
        re(r"(?i)\bin\s+the\s+`?(NAME)`?\s+namespace\b"),
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
        r"(?i)\b(deployments?|deploy|statefulsets?|sts|daemonsets?|ds|cronjobs?|cj|jobs?|pods?|po|nodes?|pvc|persistentvolumeclaims?|ingress(?:es)?|ing|services?|svc)(?:/|\s+)`?(NAME)`?",
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
        (!is_kind && !looks_like_path && is_plausible_name(&ns) && is_plausible_name(&name))
            .then(|| (ns.clone(), name.clone(), format!("{ns}/{name}")))
    })
}

/// The object the text names, with its kind and the phrase.
pub fn object_phrase(title: &str, text: &str) -> Option<(TargetKind, String, String)> {
    for hay in [title, text] {
        for c in KIND_NAME.captures_iter(hay) {
            let (Some(kind), name) = (kind_of(&c[1]), c[2].to_string()) else {
                continue;
            };
            if is_plausible_name(&name) && kind_of(&name).is_none() {
                return Some((kind, name, c[0].trim().to_string()));
            }
        }
    }
    for hay in [title, text] {
        // A token shaped like a Deployment's or a CronJob's pod.
        for token in hay.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            if let Some((PodShape::ReplicaSet | PodShape::CronJob, _)) = workload_of_pod(token)
                && is_plausible_name(token)
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
    fn objects_in_words() {
        let obj = |t: &str| object_phrase(t, "").map(|(k, n, _)| (k, n));
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
