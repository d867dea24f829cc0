//! Label and field selectors: built from API objects for server-side filtering, and parsed and
//! matched where no API server does it (the fixture store).
//!
//! Label selectors follow the API's syntax: equality (`k=v`, `k==v`, `k!=v`), set-based
//! (`k in (a,b)`, `k notin (a,b)`), existence (`k`, `!k`), comma-separated (AND). Field
//! selectors are `path=value`, `path==value` or `path!=value` over dotted JSON paths
//! (`involvedObject.name`, `spec.nodeName`); a missing field compares as the empty string, as
//! the API server does.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

/// Label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// `k=v,k2=v2` from a map selector (a Service's `spec.selector`); `None` when empty, since an
/// empty Service selector selects nothing.
pub fn from_map(map: &BTreeMap<String, String>) -> Option<String> {
    (!map.is_empty()).then(|| {
        map.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// The selector string of a workload's `spec.selector`; `None` when it has no requirement.
pub fn from_label_selector(selector: &LabelSelector) -> Option<String> {
    let mut terms: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for req in selector.match_expressions.iter().flatten() {
        let values = req.values.clone().unwrap_or_default().join(",");
        terms.push(match req.operator.as_str() {
            "In" => format!("{} in ({values})", req.key),
            "NotIn" => format!("{} notin ({values})", req.key),
            "Exists" => req.key.clone(),
            "DoesNotExist" => format!("!{}", req.key),
            // An operator this code does not know: keep the object selectable rather than
            // filtering wrongly; the API server would reject it anyway.
            _ => continue,
        });
    }
    (!terms.is_empty()).then(|| terms.join(","))
}

/// Events about one object: `involvedObject.name=…[,involvedObject.kind=…]`.
pub fn involved_object(kind: Option<&str>, name: &str) -> String {
    match kind {
        Some(kind) => format!("involvedObject.name={name},involvedObject.kind={kind}"),
        None => format!("involvedObject.name={name}"),
    }
}

/// The pods scheduled on a node: `spec.nodeName=…`.
pub fn on_node(node: &str) -> String {
    format!("spec.nodeName={node}")
}

/// One object by name: `metadata.name=…`.
pub fn named(name: &str) -> String {
    format!("metadata.name={name}")
}

/// The EndpointSlices of a Service.
pub fn slices_of(service: &str) -> String {
    format!("{SERVICE_NAME_LABEL}={service}")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid selector {selector:?}: {reason}")]
pub struct SelectorError {
    pub selector: String,
    pub reason: String,
}

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

impl Requirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            // As in the API: `k!=v` also selects objects without `k`.
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|x| vs.contains(x)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|x| !vs.contains(x)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        }
    }
}

/// A parsed label selector (all requirements must hold; none selects everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector(pub Vec<Requirement>);

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let err = |reason: &str| SelectorError {
            selector: text.to_owned(),
            reason: reason.to_owned(),
        };
        let mut out = Vec::new();
        for term in split_top_level(text).map_err(|r| err(&r))? {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            out.push(parse_requirement(term).map_err(|r| err(&r))?);
        }
        Ok(Selector(out))
    }

    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let empty = BTreeMap::new();
        let labels = labels.unwrap_or(&empty);
        self.0.iter().all(|r| r.matches(labels))
    }
}

/// Split on commas outside parentheses.
fn split_top_level(text: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced parentheses".into());
                }
            }
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced parentheses".into());
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn valid_key(key: &str) -> Result<String, String> {
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(format!("bad label key {key:?}"));
    }
    Ok(key.to_owned())
}

fn parse_requirement(term: &str) -> Result<Requirement, String> {
    if let Some(open) = term.find('(') {
        let close = term.rfind(')').filter(|c| *c > open).ok_or("missing `)`")?;
        let head: Vec<&str> = term[..open].split_whitespace().collect();
        let values: Vec<String> = term[open + 1..close]
            .split(',')
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect();
        return match head.as_slice() {
            [key, "in"] => Ok(Requirement::In(valid_key(key)?, values)),
            [key, "notin"] => Ok(Requirement::NotIn(valid_key(key)?, values)),
            _ => Err(format!(
                "expected `key in (…)` or `key notin (…)`, got {term:?}"
            )),
        };
    }
    if let Some(key) = term.strip_prefix('!') {
        return Ok(Requirement::DoesNotExist(valid_key(key)?));
    }
    if let Some((k, v)) = term.split_once("!=") {
        return Ok(Requirement::NotEquals(valid_key(k)?, v.trim().to_owned()));
    }
    if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Ok(Requirement::Equals(valid_key(k)?, v.trim().to_owned()));
    }
    Ok(Requirement::Exists(valid_key(term)?))
}

/// One term of a field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTerm {
    pub path: String,
    pub value: String,
    pub negated: bool,
}

/// A parsed field selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(pub Vec<FieldTerm>);

impl FieldSelector {
    pub fn parse(text: &str) -> Result<FieldSelector, SelectorError> {
        let mut terms = Vec::new();
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (path, value, negated) = if let Some((p, v)) = term.split_once("!=") {
                (p, v, true)
            } else if let Some((p, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (p, v, false)
            } else {
                return Err(SelectorError {
                    selector: text.to_owned(),
                    reason: format!("{term:?} is not `field=value`"),
                });
            };
            terms.push(FieldTerm {
                path: path.trim().to_owned(),
                value: value.trim().to_owned(),
                negated,
            });
        }
        Ok(FieldSelector(terms))
    }

    /// Whether `object` (an API object as JSON) matches.
    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|t| {
            let actual = field(object, &t.path);
            (actual == t.value) != t.negated
        })
    }
}

/// The string value at a dotted path (`""` when missing).
fn field(object: &Value, path: &str) -> String {
    let mut v = object;
    for part in path.split('.') {
        match v.get(part) {
            Some(next) => v = next,
            None => return String::new(),
        }
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn builds_selectors_from_objects() {
        assert_eq!(
            from_map(&labels(&[("tier", "web"), ("app", "cart")])).as_deref(),
            Some("app=cart,tier=web")
        );
        assert_eq!(from_map(&BTreeMap::new()), None);
        let sel = LabelSelector {
            match_labels: Some(labels(&[("app", "cart")])),
            match_expressions: Some(vec![
                LabelSelectorRequirement {
                    key: "track".into(),
                    operator: "In".into(),
                    values: Some(vec!["stable".into(), "canary".into()]),
                },
                LabelSelectorRequirement {
                    key: "legacy".into(),
                    operator: "DoesNotExist".into(),
                    values: None,
                },
                LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "NotIn".into(),
                    values: Some(vec!["db".into()]),
                },
                LabelSelectorRequirement {
                    key: "zone".into(),
                    operator: "Exists".into(),
                    values: None,
                },
            ]),
        };
        let text = from_label_selector(&sel).expect("selector");
        assert_eq!(
            text,
            "app=cart,track in (stable,canary),!legacy,tier notin (db),zone"
        );
        // What we build, we parse back to the same meaning.
        let parsed = Selector::parse(&text).expect("parse");
        assert!(parsed.matches(Some(&labels(&[
            ("app", "cart"),
            ("track", "canary"),
            ("zone", "a")
        ]))));
        assert!(!parsed.matches(Some(&labels(&[
            ("app", "cart"),
            ("track", "canary"),
            ("zone", "a"),
            ("legacy", "1")
        ]))));
        assert_eq!(from_label_selector(&LabelSelector::default()), None);
        assert_eq!(
            involved_object(Some("Pod"), "cart-1"),
            "involvedObject.name=cart-1,involvedObject.kind=Pod"
        );
        assert_eq!(slices_of("cart"), "kubernetes.io/service-name=cart");
    }

    #[test]
    fn label_selectors_match_like_the_api() {
        let l = labels(&[("app", "web"), ("env", "prod")]);
        let m = |s: &str| Selector::parse(s).expect(s).matches(Some(&l));
        assert!(m("app=web"));
        assert!(m("app==web"));
        assert!(!m("app=api"));
        assert!(m("app!=api"));
        assert!(m("missing!=x"), "!= selects objects without the key");
        assert!(m("env in (prod, staging)"));
        assert!(!m("env notin (prod)"));
        assert!(m("app"));
        assert!(!m("!app"));
        assert!(m("!missing"));
        assert!(m("app=web, env in (prod)"));
        assert!(m(""));
        assert!(!Selector::parse("app=web").expect("p").matches(None));
        assert!(Selector::parse("env in (prod").is_err());
        assert!(Selector::parse("env within (prod)").is_err());
        assert!(Selector::parse("a b=c").is_err());
    }

    #[test]
    fn field_selectors_match_json_paths() {
        let ev = json!({"metadata": {"name": "e1"},
            "involvedObject": {"kind": "Pod", "name": "cart-1"}, "type": "Warning"});
        let m = |s: &str| FieldSelector::parse(s).expect(s).matches(&ev);
        assert!(m("involvedObject.name=cart-1,involvedObject.kind=Pod"));
        assert!(!m(
            "involvedObject.name=cart-1,involvedObject.kind=Deployment"
        ));
        assert!(m("metadata.name==e1"));
        assert!(m("type!=Normal"));
        assert!(m("involvedObject.namespace="), "missing compares as empty");
        assert!(FieldSelector::parse("nonsense").is_err());
    }
}
