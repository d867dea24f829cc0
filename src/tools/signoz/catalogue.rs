//! The metric catalogue: the metric names the agents, the scenarios and the offline analyzer use
//! (the *keys*, e.g. `http_server_error_ratio`), and how each is read from a real SigNoz.
//!
//! It is data: the `metrics:` section of `agents.yaml`. An entry says which real metric(s) to
//! query (`metric` + `aggregation`, or a `formula` over named sub-`queries`), the filter clauses
//! (with `{service}` / `{namespace}` placeholders), the `group_by` labels, an optional `traces`
//! source (a v5 traces aggregation used when the metrics answer has nothing for the key, e.g. a
//! SigNoz without span metrics), and `aliases` (other names, old or real, that mean this key).
//!
//! The built-in catalogue is the `metrics:` section of the `agents.yaml` embedded in the binary;
//! a configuration's `metrics:` entries replace the built-in entry of the same key, and keys it
//! does not name keep the built-in mapping. [`MetricCatalogue::validate`] lists every problem.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The placeholders a filter clause may use.
pub const PLACEHOLDERS: &[&str] = &["service", "namespace"];

pub use super::aggregation::{Aggregation, SpaceAggregation, TimeAggregation};

/// Filter used when an entry or a sub-query gives none.
pub const DEFAULT_FILTER: &str = "service.name = '{service}'";

/// Filter clauses, ANDed. A clause whose placeholder has no value (no namespace known) is left
/// out. YAML may give one string or a list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter(pub Vec<String>);

impl Filter {
    pub fn default_service() -> Filter {
        Filter(vec![DEFAULT_FILTER.to_owned()])
    }
}

impl Serialize for Filter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Filter, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(Filter(match OneOrMany::deserialize(d)? {
            OneOrMany::One(s) if s.trim().is_empty() => Vec::new(),
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }))
    }
}

/// One metrics builder query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricQuery {
    /// The metric as SigNoz stores it (dotted names are kept as is).
    pub metric: String,
    pub aggregation: Aggregation,
    #[serde(default = "Filter::default_service")]
    pub filter: Filter,
}

/// One traces aggregation (`count()`, `rate()`, `p99(duration_nano)`, `countIf(…)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceQuery {
    pub expression: String,
    #[serde(default = "Filter::default_service")]
    pub filter: Filter,
}

/// Where a key's values come from: one query named by the key, or a `builder_formula` named by
/// the key over sub-queries (sent disabled, named `<key>__<sub>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source<Q> {
    Single(Q),
    Formula {
        expression: String,
        queries: BTreeMap<String, Q>,
    },
}

/// One catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawEntry", into = "RawEntry")]
pub struct MetricEntry {
    pub description: String,
    pub unit: String,
    /// From the metrics signal; `None` for keys only traces can give.
    pub metrics: Option<Source<MetricQuery>>,
    /// From a traces aggregation, when the metrics answer has nothing for the key.
    pub traces: Option<Source<TraceQuery>>,
    pub group_by: Vec<String>,
    pub aliases: Vec<String>,
}

/// The YAML shape of an entry (and of its `traces:` part).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(default)]
    unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aggregation: Option<Aggregation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    filter: Option<Filter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    formula: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    queries: BTreeMap<String, MetricQuery>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    traces: Option<RawTraces>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    group_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTraces {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    filter: Option<Filter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    formula: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    queries: BTreeMap<String, TraceQuery>,
}

impl TryFrom<RawEntry> for MetricEntry {
    type Error = String;

    fn try_from(raw: RawEntry) -> Result<MetricEntry, String> {
        let metrics = match (raw.metric, raw.formula) {
            (Some(_), Some(_)) => {
                return Err("give either `metric` or `formula`, not both".to_owned());
            }
            (Some(metric), None) => {
                if !raw.queries.is_empty() {
                    return Err("`queries` go with `formula`, not with `metric`".to_owned());
                }
                let aggregation = raw
                    .aggregation
                    .ok_or_else(|| format!("`metric: {metric}` needs an `aggregation`"))?;
                Some(Source::Single(MetricQuery {
                    metric,
                    aggregation,
                    filter: raw.filter.unwrap_or_else(Filter::default_service),
                }))
            }
            (None, Some(expression)) => {
                if raw.aggregation.is_some() || raw.filter.is_some() {
                    return Err(
                        "with `formula`, `aggregation` and `filter` belong to each of its `queries`"
                            .to_owned(),
                    );
                }
                Some(Source::Formula {
                    expression,
                    queries: raw.queries,
                })
            }
            (None, None) => {
                if raw.aggregation.is_some() || raw.filter.is_some() || !raw.queries.is_empty() {
                    return Err(
                        "`aggregation`, `filter` and `queries` need a `metric` or a `formula`"
                            .to_owned(),
                    );
                }
                None
            }
        };
        let traces = match raw.traces {
            None => None,
            Some(t) => Some(match (t.expression, t.formula) {
                (Some(_), Some(_)) => {
                    return Err(
                        "`traces`: give either `expression` or `formula`, not both".to_owned()
                    );
                }
                (Some(expression), None) => {
                    if !t.queries.is_empty() {
                        return Err("`traces`: `queries` go with `formula`".to_owned());
                    }
                    Source::Single(TraceQuery {
                        expression,
                        filter: t.filter.unwrap_or_else(Filter::default_service),
                    })
                }
                (None, Some(expression)) => {
                    if t.filter.is_some() {
                        return Err(
                            "`traces`: with `formula`, `filter` belongs to each of its `queries`"
                                .to_owned(),
                        );
                    }
                    Source::Formula {
                        expression,
                        queries: t.queries,
                    }
                }
                (None, None) => {
                    return Err("`traces` needs an `expression` or a `formula`".to_owned());
                }
            }),
        };
        if metrics.is_none() && traces.is_none() {
            return Err("needs a `metric`, a `formula` or a `traces` source".to_owned());
        }
        Ok(MetricEntry {
            description: raw.description,
            unit: raw.unit,
            metrics,
            traces,
            group_by: raw.group_by,
            aliases: raw.aliases,
        })
    }
}

impl From<MetricEntry> for RawEntry {
    fn from(e: MetricEntry) -> RawEntry {
        let mut raw = RawEntry {
            description: e.description,
            unit: e.unit,
            group_by: e.group_by,
            aliases: e.aliases,
            ..RawEntry::default()
        };
        match e.metrics {
            Some(Source::Single(q)) => {
                raw.metric = Some(q.metric);
                raw.aggregation = Some(q.aggregation);
                raw.filter = Some(q.filter);
            }
            Some(Source::Formula {
                expression,
                queries,
            }) => {
                raw.formula = Some(expression);
                raw.queries = queries;
            }
            None => {}
        }
        raw.traces = e.traces.map(|t| match t {
            Source::Single(q) => RawTraces {
                expression: Some(q.expression),
                filter: Some(q.filter),
                ..RawTraces::default()
            },
            Source::Formula {
                expression,
                queries,
            } => RawTraces {
                formula: Some(expression),
                queries,
                ..RawTraces::default()
            },
        });
        raw
    }
}

/// Every entry by key. Deserialising a `metrics:` section overlays it on the built-in catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricCatalogue {
    entries: BTreeMap<String, MetricEntry>,
}

/// The `metrics:` section of the embedded `agents.yaml`.
static BUILTIN: LazyLock<MetricCatalogue> = LazyLock::new(|| {
    let entries = serde_yaml::from_str::<serde_yaml::Value>(crate::config::EMBEDDED_AGENTS_YAML)
        .and_then(|whole| match whole.get("metrics") {
            Some(section) => serde_yaml::from_value(section.clone()),
            None => Ok(BTreeMap::new()),
        })
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "the embedded metric catalogue does not parse");
            BTreeMap::new()
        });
    MetricCatalogue { entries }
});

impl Default for MetricCatalogue {
    fn default() -> Self {
        MetricCatalogue::builtin().clone()
    }
}

impl Serialize for MetricCatalogue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.entries.serialize(s)
    }
}

impl<'de> Deserialize<'de> for MetricCatalogue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MetricCatalogue, D::Error> {
        let overrides = Option::<BTreeMap<String, MetricEntry>>::deserialize(d)?;
        Ok(MetricCatalogue::builtin().overlaid(overrides.unwrap_or_default()))
    }
}

/// Where a requested metric name leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved<'a> {
    /// A catalogue key (asked by its key or one of its aliases).
    Entry(&'a str, &'a MetricEntry),
    /// Not in the catalogue: queried as a real metric name.
    Raw(&'a str),
}

impl MetricCatalogue {
    /// The built-in catalogue (the `metrics:` section of the embedded `agents.yaml`).
    pub fn builtin() -> &'static MetricCatalogue {
        &BUILTIN
    }

    /// A catalogue of exactly these entries (no built-ins).
    pub fn from_entries(entries: BTreeMap<String, MetricEntry>) -> MetricCatalogue {
        MetricCatalogue { entries }
    }

    /// This catalogue with `overrides` replacing entries of the same key.
    pub fn overlaid(&self, overrides: BTreeMap<String, MetricEntry>) -> MetricCatalogue {
        let mut entries = self.entries.clone();
        entries.extend(overrides);
        MetricCatalogue { entries }
    }

    pub fn entries(&self) -> impl Iterator<Item = (&str, &MetricEntry)> {
        self.entries.iter().map(|(k, e)| (k.as_str(), e))
    }

    pub fn get(&self, key: &str) -> Option<&MetricEntry> {
        self.entries.get(key)
    }

    /// The key a name means: the key itself or the key it is an alias of.
    pub fn key_of<'a>(&'a self, name: &str) -> Option<&'a str> {
        if let Some((k, _)) = self.entries.get_key_value(name) {
            return Some(k.as_str());
        }
        self.entries
            .iter()
            .find(|(_, e)| e.aliases.iter().any(|a| a == name))
            .map(|(k, _)| k.as_str())
    }

    /// What a requested name leads to.
    pub fn resolve<'a>(&'a self, name: &'a str) -> Resolved<'a> {
        match self.key_of(name) {
            Some(key) => match self.entries.get(key) {
                Some(entry) => Resolved::Entry(key, entry),
                None => Resolved::Raw(name),
            },
            None => Resolved::Raw(name),
        }
    }

    /// Every problem, each a sentence naming the key.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut alias_owner: BTreeMap<&str, &str> = BTreeMap::new();
        for (key, entry) in &self.entries {
            let who = format!("metrics.{key}");
            if !is_identifier(key) {
                problems.push(format!(
                    "{who}: a key must be letters, digits and `_` (it names the SigNoz query)"
                ));
            }
            if entry.unit.trim().is_empty() {
                problems.push(format!("{who}: `unit` is missing"));
            }
            for g in &entry.group_by {
                if g.trim().is_empty() {
                    problems.push(format!("{who}: empty `group_by` label"));
                }
            }
            match &entry.metrics {
                Some(Source::Single(q)) => check_metric_query(&who, q, &mut problems),
                Some(Source::Formula {
                    expression,
                    queries,
                }) => {
                    check_formula(&who, expression, queries.keys(), &mut problems);
                    for (name, q) in queries {
                        check_metric_query(&format!("{who}.queries.{name}"), q, &mut problems);
                    }
                }
                None => {}
            }
            match &entry.traces {
                Some(Source::Single(q)) => {
                    check_trace_query(&format!("{who}.traces"), q, &mut problems)
                }
                Some(Source::Formula {
                    expression,
                    queries,
                }) => {
                    let who = format!("{who}.traces");
                    check_formula(&who, expression, queries.keys(), &mut problems);
                    for (name, q) in queries {
                        check_trace_query(&format!("{who}.queries.{name}"), q, &mut problems);
                    }
                }
                None => {}
            }
            for alias in &entry.aliases {
                if alias.trim().is_empty() {
                    problems.push(format!("{who}: empty alias"));
                } else if alias == key {
                    problems.push(format!("{who}: alias `{alias}` is the key itself"));
                } else if self.entries.contains_key(alias) {
                    problems.push(format!(
                        "{who}: alias `{alias}` is also a metric key; one name, one meaning"
                    ));
                } else if let Some(other) = alias_owner.insert(alias, key) {
                    problems.push(format!(
                        "{who}: alias `{alias}` is also an alias of `{other}`"
                    ));
                }
            }
        }
        problems
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_metric_query(who: &str, q: &MetricQuery, problems: &mut Vec<String>) {
    if q.metric.trim().is_empty() {
        problems.push(format!("{who}: empty `metric`"));
    }
    check_filter(who, &q.filter, problems);
}

fn check_trace_query(who: &str, q: &TraceQuery, problems: &mut Vec<String>) {
    let e = q.expression.trim();
    if e.is_empty() || !e.contains('(') || !e.ends_with(')') {
        problems.push(format!(
            "{who}: `expression` must be an aggregation such as `count()` or `p99(duration_nano)`, not `{e}`"
        ));
    }
    if e.to_ascii_lowercase().contains(" as ") {
        problems.push(format!(
            "{who}: SigNoz does not allow `as` in an aggregation"
        ));
    }
    check_filter(who, &q.filter, problems);
}

fn check_filter(who: &str, filter: &Filter, problems: &mut Vec<String>) {
    for clause in &filter.0 {
        if clause.trim().is_empty() {
            problems.push(format!("{who}: empty filter clause"));
            continue;
        }
        match placeholders(clause) {
            Ok(found) => {
                for p in found {
                    if !PLACEHOLDERS.contains(&p) {
                        problems.push(format!(
                            "{who}: unknown placeholder `{{{p}}}` in `{clause}` (known: {{service}}, {{namespace}})"
                        ));
                    }
                }
            }
            Err(e) => problems.push(format!("{who}: {e} in `{clause}`")),
        }
    }
}

fn check_formula<'a>(
    who: &str,
    expression: &str,
    queries: impl Iterator<Item = &'a String>,
    problems: &mut Vec<String>,
) {
    let names: BTreeSet<&str> = queries.map(String::as_str).collect();
    if names.is_empty() {
        problems.push(format!("{who}: `formula` needs `queries`"));
    }
    for name in &names {
        if !is_identifier(name) {
            problems.push(format!(
                "{who}: sub-query name `{name}` must be letters, digits and `_`"
            ));
        }
    }
    let used: BTreeSet<&str> = formula_variables(expression).into_iter().collect();
    if expression.trim().is_empty() {
        problems.push(format!("{who}: empty `formula`"));
    }
    for v in &used {
        if !names.contains(v) {
            problems.push(format!(
                "{who}: formula `{expression}` uses `{v}`, which is not one of its queries"
            ));
        }
    }
    for name in &names {
        if !used.contains(name) {
            problems.push(format!(
                "{who}: query `{name}` is not used by formula `{expression}`"
            ));
        }
    }
}

/// Placeholder names in a clause (`{service}` → `service`); an unclosed `{` is an error.
pub fn placeholders(clause: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = clause;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err("unclosed `{`".to_owned());
        };
        out.push(after[..close].trim());
        rest = &after[close + 1..];
    }
    Ok(out)
}

/// Identifiers of a formula that name queries (not functions, not numbers).
pub fn formula_variables(expression: &str) -> Vec<&str> {
    formula_tokens(expression)
        .into_iter()
        .filter_map(|t| match t {
            FormulaToken::Variable(v) => Some(v),
            FormulaToken::Other(_) => None,
        })
        .collect()
}

/// A formula split into query references and everything else, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormulaToken<'a> {
    Variable(&'a str),
    Other(&'a str),
}

pub fn formula_tokens(expression: &str) -> Vec<FormulaToken<'_>> {
    let bytes = expression.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut other_start = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let starts_ident = (c.is_ascii_alphabetic() || c == b'_')
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.'));
        if !starts_ident {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        let next = expression[i..].trim_start().chars().next();
        if next == Some('(') {
            continue; // a function name
        }
        if other_start < start {
            out.push(FormulaToken::Other(&expression[other_start..start]));
        }
        out.push(FormulaToken::Variable(&expression[start..i]));
        other_start = i;
    }
    if other_start < expression.len() {
        out.push(FormulaToken::Other(&expression[other_start..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<BTreeMap<String, MetricEntry>, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn builtin_catalogue_is_valid_and_covers_the_vocabulary() {
        let c = MetricCatalogue::builtin();
        assert_eq!(c.validate(), Vec::<String>::new());
        for key in [
            "http_server_request_rate",
            "http_server_error_ratio",
            "http_server_duration_p99",
            "upstream_connect_errors",
            "tls_handshake_errors",
            "dns_lookup_errors",
            "mongodb_pool_in_use",
            "mongodb_pool_max",
            "mongodb_pool_wait_queue",
            "mongodb_op_duration_p99",
            "mongodb_slow_queries",
            "mongodb_replication_lag",
            "mongodb_auth_failures",
            "container_cpu_usage_ratio",
            "container_cpu_throttled_ratio",
            "container_memory_working_set_bytes",
            "container_memory_limit_bytes",
            "node_filesystem_used_ratio",
            "node_memory_used_ratio",
            "node_cpu_used_ratio",
        ] {
            assert!(c.get(key).is_some(), "built-in catalogue lacks {key}");
        }
        // The RED keys can be derived from traces.
        for key in [
            "http_server_request_rate",
            "http_server_error_ratio",
            "http_server_duration_p99",
        ] {
            assert!(
                c.get(key).and_then(|e| e.traces.as_ref()).is_some(),
                "{key}"
            );
        }
    }

    #[test]
    fn aliases_and_keys_resolve() {
        let c = MetricCatalogue::builtin();
        assert_eq!(
            c.key_of("signoz_calls_total"),
            Some("http_server_request_rate")
        );
        assert_eq!(
            c.key_of("http_server_error_ratio"),
            Some("http_server_error_ratio")
        );
        assert_eq!(c.key_of("no_such_metric"), None);
        assert!(matches!(
            c.resolve("k8s.pod.phase"),
            Resolved::Raw("k8s.pod.phase")
        ));
    }

    #[test]
    fn entry_shapes_are_checked_when_parsed() {
        let both = parse("k: {unit: x, metric: m, aggregation: avg/sum, formula: a}");
        assert!(
            both.expect_err("both")
                .contains("either `metric` or `formula`")
        );
        let no_agg = parse("k: {unit: x, metric: m}");
        assert!(
            no_agg
                .expect_err("no aggregation")
                .contains("needs an `aggregation`")
        );
        let nothing = parse("k: {unit: x}");
        assert!(nothing.expect_err("empty").contains("needs a `metric`"));
        let unknown = parse("k: {unit: x, metric: m, aggregation: avg/sum, colour: red}");
        assert!(unknown.expect_err("unknown field").contains("colour"));
        let traces_only = parse("k: {unit: /min, traces: {expression: count()}}").expect("ok");
        let entry = &traces_only["k"];
        assert!(entry.metrics.is_none());
        assert_eq!(
            entry.traces,
            Some(Source::Single(TraceQuery {
                expression: "count()".into(),
                filter: Filter::default_service(),
            }))
        );
        // One string or a list; the default filter is the service's.
        let one = parse("k: {unit: x, metric: m, aggregation: avg/sum, filter: \"a = 'b'\"}")
            .expect("ok");
        match &one["k"].metrics {
            Some(Source::Single(q)) => assert_eq!(q.filter.0, vec!["a = 'b'".to_owned()]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn validation_reports_every_problem() {
        let entries = parse(
            r#"
bad-key: {unit: x, metric: m, aggregation: avg/sum}
no_unit: {metric: m, aggregation: avg/sum, filter: ["k = '{pod}'", "", "x = '{service"]}
ratio:
  unit: ratio
  formula: errors / total
  queries:
    errors: {metric: a, aggregation: rate/sum}
    calls: {metric: b, aggregation: rate/sum}
traced:
  unit: ms
  traces: {expression: "duration_nano", filter: []}
  aliases: [ratio, shared, traced]
other:
  unit: x
  metric: y
  aggregation: latest/max
  aliases: [shared]
"#,
        )
        .expect("parses");
        let problems = MetricCatalogue::from_entries(entries).validate().join("\n");
        for needle in [
            "metrics.bad-key: a key must be letters",
            "metrics.no_unit: `unit` is missing",
            "unknown placeholder `{pod}`",
            "metrics.no_unit: empty filter clause",
            "unclosed `{`",
            "formula `errors / total` uses `total`, which is not one of its queries",
            "query `calls` is not used by formula",
            "metrics.traced.traces: `expression` must be an aggregation",
            "alias `ratio` is also a metric key",
            "alias `traced` is the key itself",
            "alias `shared` is also an alias of",
        ] {
            assert!(
                problems.contains(needle),
                "missing `{needle}` in:\n{problems}"
            );
        }
    }

    #[test]
    fn overrides_replace_whole_entries_and_keep_the_rest() {
        let overrides = parse(
            "http_server_error_ratio: {unit: ratio, metric: my_errors, aggregation: avg/max}",
        )
        .expect("parses");
        let c = MetricCatalogue::builtin().overlaid(overrides);
        let e = c.get("http_server_error_ratio").expect("entry");
        assert!(matches!(&e.metrics, Some(Source::Single(q)) if q.metric == "my_errors"));
        assert!(e.traces.is_none(), "the override replaces the whole entry");
        assert!(
            c.get("http_server_request_rate").is_some(),
            "built-ins kept"
        );
        // And through the Deserialize impl, as `Config` uses it.
        let c: MetricCatalogue = serde_yaml::from_str(
            "my_queue_depth: {unit: msgs, metric: queue.depth, aggregation: latest/sum}",
        )
        .expect("parses");
        assert!(c.get("my_queue_depth").is_some());
        assert!(c.get("node_cpu_used_ratio").is_some());
    }

    #[test]
    fn entries_round_trip_through_yaml() {
        let c = MetricCatalogue::builtin();
        let yaml = serde_yaml::to_string(c).expect("serialise");
        let back: BTreeMap<String, MetricEntry> = serde_yaml::from_str(&yaml).expect("parse back");
        assert_eq!(&MetricCatalogue::from_entries(back), c);
    }

    #[test]
    fn formula_tokenizer() {
        assert_eq!(formula_variables("errors / calls"), vec!["errors", "calls"]);
        assert_eq!(formula_variables("abs(a) * 1000 + b.0"), vec!["a", "b"]);
        assert_eq!(
            formula_variables("ws / (ws + avail)"),
            vec!["ws", "ws", "avail"]
        );
        assert_eq!(
            placeholders("a = '{service}' AND b = '{ namespace }'"),
            Ok(vec!["service", "namespace"])
        );
    }
}
