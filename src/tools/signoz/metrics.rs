//! `query_metrics` requests from the [`MetricCatalogue`]: which names are catalogue keys, the v5
//! `time_series` metrics request (one query per key, **named by the key**; a formula key is a
//! `builder_formula` named by the key over disabled sub-queries named `<key>__<sub>`), and the
//! traces aggregation asked for the keys the metrics answer left empty.
//!
//! Shapes (SigNoz/signoz v0.138 `pkg/types/querybuildertypes/querybuildertypesv5`): metric
//! aggregations `{metricName, timeAggregation, spaceAggregation}` (temporality and type are looked
//! up by SigNoz, `pkg/querier/querier.go` `resolveMetricMetadata`); a histogram percentile is
//! `{metricName: "<name>.bucket", spaceAggregation: "p99"}` (`pkg/apiserver/signozapiserver/
//! querier.go` example `metrics_histogram_time_series`); traces aggregations
//! `{expression: "count()" | "rate()" | "p99(duration_nano)"}` (`pkg/querybuilder/agg_funcs.go`);
//! formulas `{type: "builder_formula", spec: {name, expression}}` (`formula.go`), evaluated by
//! SigNoz over the named queries; disabled queries are left out of the answer
//! (`pkg/querier/postprocess.go` `filterDisabledQueries`).

use serde_json::{Value, json};

use super::catalogue::{
    Filter, FormulaToken, MetricCatalogue, MetricEntry, MetricQuery, Resolved, Source, TraceQuery,
    formula_tokens, placeholders,
};
use super::request::{envelope, escape};

/// Seconds per point.
pub const STEP_SECONDS: u32 = 60;
/// Most series one query returns.
const SERIES_LIMIT: u32 = 100;

/// What the filters are filled with.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub service: &'a str,
    pub namespace: Option<&'a str>,
}

impl Scope<'_> {
    fn value(&self, placeholder: &str) -> Option<&str> {
        match placeholder {
            "service" => Some(self.service),
            "namespace" => self.namespace.filter(|s| !s.trim().is_empty()),
            _ => None,
        }
    }
}

/// The filter expression: clauses with their placeholders filled (escaped), ANDed; a clause with
/// a placeholder that has no value is left out.
pub fn render_filter(filter: &Filter, scope: &Scope<'_>) -> String {
    let mut clauses = Vec::new();
    'clause: for clause in &filter.0 {
        let Ok(names) = placeholders(clause) else {
            continue;
        };
        let mut text = clause.clone();
        for name in names {
            let Some(value) = scope.value(name) else {
                continue 'clause;
            };
            text = text.replace(&format!("{{{name}}}"), &escape(value));
        }
        let text = text.trim().to_owned();
        if text.is_empty() {
            continue;
        }
        let needs_parens = filter.0.len() > 1 && text.to_ascii_uppercase().contains(" OR ");
        clauses.push(if needs_parens {
            format!("({text})")
        } else {
            text
        });
    }
    clauses.join(" AND ")
}

/// The names one `query_metrics` call asked for, resolved against the catalogue.
#[derive(Debug, Clone)]
pub struct MetricsPlan<'c> {
    catalogue: &'c MetricCatalogue,
    /// Output names (catalogue keys, or raw metric names), deduplicated, in the asked order.
    wanted: Vec<String>,
}

impl<'c> MetricsPlan<'c> {
    pub fn new(catalogue: &'c MetricCatalogue, asked: &[String]) -> MetricsPlan<'c> {
        let mut wanted: Vec<String> = Vec::new();
        for name in asked {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            let out = match catalogue.resolve(name) {
                Resolved::Entry(key, _) => key.to_owned(),
                Resolved::Raw(raw) => raw.to_owned(),
            };
            if !wanted.contains(&out) {
                wanted.push(out);
            }
        }
        MetricsPlan { catalogue, wanted }
    }

    /// The series names the answer is decoded into.
    pub fn wanted(&self) -> &[String] {
        &self.wanted
    }

    pub fn catalogue(&self) -> &'c MetricCatalogue {
        self.catalogue
    }

    /// The metrics `time_series` request, or `None` when every name comes from traces only.
    pub fn metrics_request(&self, scope: &Scope<'_>, start_ms: i64, end_ms: i64) -> Option<Value> {
        let mut queries = Vec::new();
        for name in &self.wanted {
            match self.catalogue.get(name) {
                Some(entry) => match &entry.metrics {
                    Some(Source::Single(q)) => {
                        queries.push(metric_query(name, q, entry, scope, false));
                    }
                    Some(Source::Formula {
                        expression,
                        queries: subs,
                    }) => {
                        for (sub, q) in subs {
                            queries.push(metric_query(&sub_name(name, sub), q, entry, scope, true));
                        }
                        queries.push(formula_query(name, expression, subs.keys()));
                    }
                    None => {}
                },
                None => queries.push(raw_metric_query(name, scope)),
            }
        }
        (!queries.is_empty()).then(|| envelope(start_ms, end_ms, "time_series", queries))
    }

    /// Keys that have a traces source, in the asked order.
    pub fn traces_capable(&self) -> Vec<&str> {
        self.wanted
            .iter()
            .filter(|k| self.catalogue.get(k).is_some_and(|e| e.traces.is_some()))
            .map(String::as_str)
            .collect()
    }

    /// One traces `time_series` request for `keys` (those with a traces source).
    pub fn traces_request(
        &self,
        keys: &[&str],
        scope: &Scope<'_>,
        start_ms: i64,
        end_ms: i64,
    ) -> Option<Value> {
        let mut queries = Vec::new();
        for key in keys {
            let Some(entry) = self.catalogue.get(key) else {
                continue;
            };
            match &entry.traces {
                Some(Source::Single(q)) => queries.push(trace_query(key, q, entry, scope, false)),
                Some(Source::Formula {
                    expression,
                    queries: subs,
                }) => {
                    for (sub, q) in subs {
                        queries.push(trace_query(&sub_name(key, sub), q, entry, scope, true));
                    }
                    queries.push(formula_query(key, expression, subs.keys()));
                }
                None => {}
            }
        }
        (!queries.is_empty()).then(|| envelope(start_ms, end_ms, "time_series", queries))
    }
}

/// The request name of a formula's sub-query.
pub fn sub_name(key: &str, sub: &str) -> String {
    format!("{key}__{sub}")
}

fn group_by(entry: &MetricEntry) -> Vec<Value> {
    entry.group_by.iter().map(|g| json!({"name": g})).collect()
}

fn metric_query(
    name: &str,
    q: &MetricQuery,
    entry: &MetricEntry,
    scope: &Scope<'_>,
    disabled: bool,
) -> Value {
    let mut aggregation = json!({
        "metricName": q.metric,
        "spaceAggregation": q.aggregation.space.as_str(),
    });
    if let Some(time) = q.aggregation.time {
        aggregation["timeAggregation"] = json!(time.as_str());
    }
    json!({
        "type": "builder_query",
        "spec": {
            "name": name,
            "signal": "metrics",
            "disabled": disabled,
            "stepInterval": STEP_SECONDS,
            "aggregations": [aggregation],
            "filter": {"expression": render_filter(&q.filter, scope)},
            "groupBy": group_by(entry),
            "having": {"expression": ""},
            "limit": SERIES_LIMIT,
            "order": [{"key": {"name": "__result"}, "direction": "desc"}],
        }
    })
}

fn trace_query(
    name: &str,
    q: &TraceQuery,
    entry: &MetricEntry,
    scope: &Scope<'_>,
    disabled: bool,
) -> Value {
    json!({
        "type": "builder_query",
        "spec": {
            "name": name,
            "signal": "traces",
            "disabled": disabled,
            "stepInterval": STEP_SECONDS,
            "aggregations": [{"expression": q.expression}],
            "filter": {"expression": render_filter(&q.filter, scope)},
            "groupBy": group_by(entry),
            "having": {"expression": ""},
            "limit": SERIES_LIMIT,
        }
    })
}

fn formula_query<'a>(key: &str, expression: &str, subs: impl Iterator<Item = &'a String>) -> Value {
    let subs: Vec<&String> = subs.collect();
    let rewritten: String = formula_tokens(expression)
        .into_iter()
        .map(|t| match t {
            FormulaToken::Variable(v) if subs.iter().any(|s| s.as_str() == v) => sub_name(key, v),
            FormulaToken::Variable(v) | FormulaToken::Other(v) => v.to_owned(),
        })
        .collect();
    json!({
        "type": "builder_formula",
        "spec": {"name": key, "expression": rewritten, "disabled": false}
    })
}

/// A metric not in the catalogue: queried by its real name, aggregated by a guess on its name
/// (counters as rates, gauges as averages), filtered to the service.
fn raw_metric_query(name: &str, scope: &Scope<'_>) -> Value {
    let (time, space) = if name.ends_with("_total") || name.ends_with("_count") {
        ("rate", "sum")
    } else if name.ends_with(".bucket") || name.ends_with("_bucket") {
        ("rate", "p99")
    } else if name.ends_with("_max") || name.ends_with("limit") {
        ("max", "max")
    } else {
        ("avg", "avg")
    };
    json!({
        "type": "builder_query",
        "spec": {
            "name": name,
            "signal": "metrics",
            "disabled": false,
            "stepInterval": STEP_SECONDS,
            "aggregations": [{"metricName": name, "timeAggregation": time, "spaceAggregation": space}],
            "filter": {"expression": render_filter(&Filter::default_service(), scope)},
            "groupBy": [],
            "having": {"expression": ""},
            "limit": SERIES_LIMIT,
            "order": [{"key": {"name": "__result"}, "direction": "desc"}],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: i64 = 1_000_000_000_000;
    const END: i64 = START + 3_600_000;

    fn scope() -> Scope<'static> {
        Scope {
            service: "o'brien",
            namespace: None,
        }
    }

    fn queries(body: &Value) -> &Vec<Value> {
        body["compositeQuery"]["queries"]
            .as_array()
            .expect("queries")
    }

    fn by_name<'a>(body: &'a Value, name: &str) -> &'a Value {
        queries(body)
            .iter()
            .find(|q| q["spec"]["name"] == name)
            .unwrap_or_else(|| panic!("no query {name} in {body}"))
    }

    fn plan(names: &[&str]) -> MetricsPlan<'static> {
        let asked: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        MetricsPlan::new(MetricCatalogue::builtin(), &asked)
    }

    #[test]
    fn filters_fill_placeholders_and_drop_clauses_without_a_value() {
        let f = Filter(vec![
            "k8s.deployment.name = '{service}'".into(),
            "k8s.namespace.name = '{namespace}'".into(),
            "a = 1 OR b = 2".into(),
        ]);
        assert_eq!(
            render_filter(&f, &scope()),
            "k8s.deployment.name = 'o\\'brien' AND (a = 1 OR b = 2)"
        );
        let with_ns = Scope {
            service: "api",
            namespace: Some("prod"),
        };
        assert_eq!(
            render_filter(&f, &with_ns),
            "k8s.deployment.name = 'api' AND k8s.namespace.name = 'prod' AND (a = 1 OR b = 2)"
        );
        assert_eq!(render_filter(&Filter(vec![]), &scope()), "");
    }

    #[test]
    fn a_single_entry_is_one_query_named_by_its_key() {
        let body = plan(&["http_server_request_rate"])
            .metrics_request(&scope(), START, END)
            .expect("request");
        assert_eq!(body["requestType"], "time_series");
        assert_eq!(body["start"], START);
        let q = by_name(&body, "http_server_request_rate");
        assert_eq!(q["type"], "builder_query");
        let spec = &q["spec"];
        assert_eq!(spec["signal"], "metrics");
        assert_eq!(spec["aggregations"][0]["metricName"], "signoz_calls_total");
        assert_eq!(spec["aggregations"][0]["timeAggregation"], "rate");
        assert_eq!(spec["aggregations"][0]["spaceAggregation"], "sum");
        assert_eq!(
            spec["filter"]["expression"],
            "service.name = 'o\\'brien' AND span.kind = 'SPAN_KIND_SERVER'"
        );
        assert_eq!(spec["groupBy"][0]["name"], "service.name");
        assert_eq!(spec["disabled"], false);
    }

    #[test]
    fn a_histogram_percentile_has_no_time_aggregation() {
        let body = plan(&["http_server_duration_p99"])
            .metrics_request(&scope(), START, END)
            .expect("request");
        let agg = &by_name(&body, "http_server_duration_p99")["spec"]["aggregations"][0];
        assert_eq!(agg["metricName"], "signoz_latency.bucket");
        assert_eq!(agg["spaceAggregation"], "p99");
        assert!(agg.get("timeAggregation").is_none(), "{agg}");
    }

    #[test]
    fn a_formula_entry_is_a_formula_named_by_its_key_over_disabled_sub_queries() {
        let body = plan(&["http_server_error_ratio"])
            .metrics_request(&scope(), START, END)
            .expect("request");
        assert_eq!(queries(&body).len(), 3);
        let errors = by_name(&body, "http_server_error_ratio__errors");
        assert_eq!(errors["spec"]["disabled"], true);
        assert!(
            errors["spec"]["filter"]["expression"]
                .as_str()
                .expect("filter")
                .ends_with("status.code = 'STATUS_CODE_ERROR'")
        );
        assert_eq!(
            by_name(&body, "http_server_error_ratio__calls")["spec"]["aggregations"][0]["metricName"],
            "signoz_calls_total"
        );
        let formula = by_name(&body, "http_server_error_ratio");
        assert_eq!(formula["type"], "builder_formula");
        assert_eq!(
            formula["spec"]["expression"],
            "http_server_error_ratio__errors / http_server_error_ratio__calls"
        );
        // The formula comes after the queries it uses.
        assert_eq!(queries(&body).last(), Some(formula));
    }

    #[test]
    fn every_builtin_entry_builds_a_well_formed_request() {
        let c = MetricCatalogue::builtin();
        let scope = Scope {
            service: "api",
            namespace: Some("prod"),
        };
        for (key, entry) in c.entries() {
            let p = MetricsPlan::new(c, &[key.to_owned()]);
            let metrics = p.metrics_request(&scope, START, END);
            let traces = p.traces_request(&[key], &scope, START, END);
            assert_eq!(metrics.is_some(), entry.metrics.is_some(), "{key}");
            assert_eq!(traces.is_some(), entry.traces.is_some(), "{key}");
            for body in metrics.iter().chain(traces.iter()) {
                let qs = queries(body);
                let names: Vec<&str> = qs
                    .iter()
                    .filter_map(|q| q["spec"]["name"].as_str())
                    .collect();
                assert!(
                    names.contains(&key),
                    "{key}: the answer must be named by the key: {names:?}"
                );
                let enabled: Vec<&str> = qs
                    .iter()
                    .filter(|q| q["spec"]["disabled"] != true)
                    .filter_map(|q| q["spec"]["name"].as_str())
                    .collect();
                assert_eq!(enabled, vec![key], "{key}: only the key is returned");
                for q in qs.iter().filter(|q| q["type"] == "builder_query") {
                    let f = q["spec"]["filter"]["expression"].as_str().expect("filter");
                    assert!(!f.contains('{'), "{key}: unfilled placeholder in {f}");
                    assert!(q["spec"]["aggregations"][0].is_object(), "{key}");
                }
                for q in qs.iter().filter(|q| q["type"] == "builder_formula") {
                    let e = q["spec"]["expression"].as_str().expect("expression");
                    for v in super::super::catalogue::formula_variables(e) {
                        assert!(names.contains(&v), "{key}: formula uses unknown query {v}");
                    }
                }
            }
        }
    }

    #[test]
    fn aliases_and_raw_names() {
        let p = plan(&[
            "signoz_calls_total",
            "http_server_request_rate",
            "k8s.pod.phase",
        ]);
        assert_eq!(p.wanted(), ["http_server_request_rate", "k8s.pod.phase"]);
        let body = p.metrics_request(&scope(), START, END).expect("request");
        let raw = by_name(&body, "k8s.pod.phase");
        assert_eq!(
            raw["spec"]["aggregations"][0]["metricName"],
            "k8s.pod.phase"
        );
        assert_eq!(
            raw["spec"]["filter"]["expression"],
            "service.name = 'o\\'brien'"
        );
    }

    #[test]
    fn traces_only_keys_skip_the_metrics_request_and_red_keys_have_a_traces_request() {
        let p = plan(&["dns_lookup_errors"]);
        assert!(p.metrics_request(&scope(), START, END).is_none());
        assert_eq!(p.traces_capable(), vec!["dns_lookup_errors"]);
        let red = plan(&[
            "http_server_request_rate",
            "http_server_error_ratio",
            "http_server_duration_p99",
            "mongodb_pool_max",
        ]);
        let keys = red.traces_capable();
        assert_eq!(
            keys,
            vec![
                "http_server_request_rate",
                "http_server_error_ratio",
                "http_server_duration_p99"
            ]
        );
        let body = red
            .traces_request(&keys, &scope(), START, END)
            .expect("traces");
        assert_eq!(body["requestType"], "time_series");
        let rate = by_name(&body, "http_server_request_rate");
        assert_eq!(rate["spec"]["signal"], "traces");
        assert_eq!(rate["spec"]["aggregations"][0]["expression"], "rate()");
        assert_eq!(
            by_name(&body, "http_server_error_ratio__errors")["spec"]["filter"]["expression"],
            "service.name = 'o\\'brien' AND kind_string = 'Server' AND has_error = true"
        );
        assert_eq!(
            by_name(&body, "http_server_duration_p99")["spec"]["expression"],
            "http_server_duration_p99__p99 / 1000000"
        );
        assert_eq!(
            by_name(&body, "http_server_duration_p99__p99")["spec"]["aggregations"][0]["expression"],
            "p99(duration_nano)"
        );
    }
}
