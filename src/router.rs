//! The router: picks the agent for an alert by scoring every agent's rules from `agents.yaml`.
//!
//! Unlike the seed's first-match keyword router (which sent "Database connection pool exhausted"
//! to the network agent because it says "connection"), every agent is scored and the best wins:
//!
//! - **Keywords** are found in one pass over the text (Aho-Corasick over every agent's keywords)
//!   and kept leftmost-longest among the matches on word boundaries. A phrase hides the shorter keywords inside it, so
//!   "connection pool" (database) is one match and the bare "connection" (network) does not
//!   count. A keyword ending in `*` matches as a prefix (`expir*` finds "expires", "expiry").
//!   Each keyword counts once; one found in the title counts 1.5×.
//! - **Regexes** add their weight once when they match title + body.
//! - **Label matchers** add their weight when a label (or `source`, `service`, `namespace`,
//!   `severity`) matches.
//!
//! Ties go to the agent listed first; no match at all goes to the default agent. The route keeps
//! every reason it scored (`why`) so a wrong route can be explained and fixed in YAML.

use std::collections::BTreeMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::agent::AgentSpec;
use crate::alert::Alert;

/// Weight multiplier for a keyword found in the alert's title.
const TITLE_BONUS: f64 = 1.5;

/// The router's decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub agent: String,
    pub score: f64,
    pub why: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("agent `{agent}`: bad regex `{pattern}`: {source}")]
    BadRegex {
        agent: String,
        pattern: String,
        source: regex::Error,
    },
    #[error("default agent `{0}` is not defined")]
    UnknownDefault(String),
    #[error("keyword automaton: {0}")]
    Keywords(#[from] aho_corasick::BuildError),
}

struct KeywordTarget {
    agent: usize,
    weight: f64,
}

struct Keyword {
    term: String,
    prefix: bool,
    targets: Vec<KeywordTarget>,
}

struct CompiledAgent {
    name: String,
    regexes: Vec<(Regex, f64)>,
    labels: Vec<(String, Regex, f64)>,
}

/// Compiled routing rules for all agents.
pub struct Router {
    agents: Vec<CompiledAgent>,
    keywords: Vec<Keyword>,
    automaton: AhoCorasick,
    default_agent: usize,
}

impl Router {
    pub fn new(agents: &[AgentSpec], default_agent: &str) -> Result<Router, RouterError> {
        let default_idx = agents
            .iter()
            .position(|a| a.name == default_agent)
            .ok_or_else(|| RouterError::UnknownDefault(default_agent.to_string()))?;
        let mut keywords: Vec<Keyword> = Vec::new();
        let mut by_term: BTreeMap<(String, bool), usize> = BTreeMap::new();
        let mut compiled = Vec::with_capacity(agents.len());
        for (i, spec) in agents.iter().enumerate() {
            for (raw, weight) in &spec.rules.keywords {
                let raw = raw.trim().to_lowercase();
                let (term, prefix) = match raw.strip_suffix('*') {
                    Some(t) => (t.to_string(), true),
                    None => (raw, false),
                };
                if term.is_empty() {
                    continue;
                }
                let idx = *by_term.entry((term.clone(), prefix)).or_insert_with(|| {
                    keywords.push(Keyword {
                        term,
                        prefix,
                        targets: Vec::new(),
                    });
                    keywords.len() - 1
                });
                keywords[idx].targets.push(KeywordTarget {
                    agent: i,
                    weight: *weight,
                });
            }
            let bad = |pattern: &str, source| RouterError::BadRegex {
                agent: spec.name.clone(),
                pattern: pattern.to_string(),
                source,
            };
            let regexes = spec
                .rules
                .regex
                .iter()
                .map(|r| {
                    Regex::new(&r.pattern)
                        .map(|re| (re, r.weight))
                        .map_err(|e| bad(&r.pattern, e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let labels = spec
                .rules
                .labels
                .iter()
                .map(|l| {
                    Regex::new(&format!("^(?:{})$", l.value))
                        .map(|re| (l.key.clone(), re, l.weight))
                        .map_err(|e| bad(&l.value, e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            compiled.push(CompiledAgent {
                name: spec.name.clone(),
                regexes,
                labels,
            });
        }
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(true)
            .build(keywords.iter().map(|k| k.term.as_str()))?;
        Ok(Router {
            agents: compiled,
            keywords,
            automaton,
            default_agent: default_idx,
        })
    }

    /// Keywords found in `text`, leftmost-longest among the matches that sit on word boundaries:
    /// every overlapping match is found, those that cut a word are dropped, and of the rest the
    /// earliest (then the longest) wins and hides whatever it overlaps. So a phrase that fails
    /// its boundary check ("connection pools") still lets the shorter keyword inside it count.
    fn keyword_matches(&self, text: &str) -> Vec<usize> {
        let mut found: Vec<(usize, usize, usize)> = self
            .automaton
            .find_overlapping_iter(text)
            .filter(|m| {
                let kw = &self.keywords[m.pattern().as_usize()];
                on_word_boundary(text, m.start(), m.end(), kw.prefix)
            })
            .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut taken = Vec::new();
        let mut end = 0;
        for (start, stop, idx) in found {
            if start >= end {
                taken.push(idx);
                end = stop;
            }
        }
        taken
    }

    /// Score every agent for `alert` and pick the best.
    pub fn route(&self, alert: &Alert) -> Route {
        let mut scores = vec![0.0_f64; self.agents.len()];
        let mut why: Vec<Vec<String>> = vec![Vec::new(); self.agents.len()];

        // Keywords: each counts once; title occurrences get the bonus.
        let mut seen: BTreeMap<usize, bool> = BTreeMap::new();
        for (text, in_title) in [(alert.title.as_str(), true), (alert.text.as_str(), false)] {
            for idx in self.keyword_matches(text) {
                seen.entry(idx).or_insert(in_title);
            }
        }
        for (idx, in_title) in seen {
            let kw = &self.keywords[idx];
            for t in &kw.targets {
                let w = if in_title {
                    t.weight * TITLE_BONUS
                } else {
                    t.weight
                };
                scores[t.agent] += w;
                why[t.agent].push(format!(
                    "keyword \"{}{}\" in {} (+{})",
                    kw.term,
                    if kw.prefix { "*" } else { "" },
                    if in_title { "title" } else { "body" },
                    fmt_weight(w)
                ));
            }
        }

        // Regexes and label matchers.
        let whole = format!("{}\n{}", alert.title, alert.text);
        let facts = label_facts(alert);
        for (i, agent) in self.agents.iter().enumerate() {
            for (re, w) in &agent.regexes {
                if re.is_match(&whole) {
                    scores[i] += w;
                    why[i].push(format!("regex /{}/ (+{})", re.as_str(), fmt_weight(*w)));
                }
            }
            for (key, re, w) in &agent.labels {
                if let Some(value) = facts.get(key.as_str())
                    && re.is_match(value)
                {
                    scores[i] += w;
                    why[i].push(format!("label {key}={value} (+{})", fmt_weight(*w)));
                }
            }
        }

        let mut best = self.default_agent;
        let mut best_score = 0.0;
        for (i, s) in scores.iter().enumerate() {
            if *s > best_score {
                best = i;
                best_score = *s;
            }
        }
        let mut reasons = std::mem::take(&mut why[best]);
        if best_score <= 0.0 {
            reasons.push(format!(
                "no rule matched; default agent `{}`",
                self.agents[best].name
            ));
        } else {
            let others: Vec<String> = self
                .agents
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != best && scores[*i] > 0.0)
                .map(|(i, a)| format!("{} {}", a.name, fmt_weight(scores[i])))
                .collect();
            if !others.is_empty() {
                reasons.push(format!("other scores: {}", others.join(", ")));
            }
        }
        Route {
            agent: self.agents[best].name.clone(),
            score: (best_score * 100.0).round() / 100.0,
            why: reasons,
        }
    }
}

fn fmt_weight(w: f64) -> String {
    let r = (w * 100.0).round() / 100.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r}")
    }
}

/// A match counts only on word boundaries (a prefix keyword only needs the left one).
fn on_word_boundary(text: &str, start: usize, end: usize, prefix: bool) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let left_ok = text[..start]
        .chars()
        .next_back()
        .is_none_or(|c| !is_word(c));
    let right_ok = prefix || text[end..].chars().next().is_none_or(|c| !is_word(c));
    left_ok && right_ok
}

/// Labels plus the alert's own fields, for label matchers.
fn label_facts(alert: &Alert) -> BTreeMap<&str, String> {
    let mut facts: BTreeMap<&str, String> = alert
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    facts.insert("source", alert.source.to_string());
    if let Some(s) = &alert.service {
        facts.entry("service").or_insert_with(|| s.clone());
    }
    if let Some(n) = &alert.namespace {
        facts.entry("namespace").or_insert_with(|| n.clone());
    }
    if let Some(s) = &alert.severity {
        facts.entry("severity").or_insert_with(|| s.clone());
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sources::text_alert;
    use crate::config::{EMBEDDED_AGENTS_YAML, LoadedConfig};

    fn shipped_router() -> Router {
        let cfg: crate::config::Config = serde_yaml::from_str(EMBEDDED_AGENTS_YAML).unwrap();
        Router::new(&cfg.agents, &cfg.default_agent).unwrap()
    }

    fn route(text: &str) -> Route {
        shipped_router().route(&text_alert(text))
    }

    #[test]
    fn seed_pool_alert_goes_to_database_not_network() {
        let r = route("Database connection pool exhausted for user-service");
        assert_eq!(r.agent, "database", "{:?}", r.why);
        assert!(
            r.why.iter().any(|w| w.contains("connection pool")),
            "{:?}",
            r.why
        );
        // The bare "connection" is hidden by the phrase: network must not score on it.
        assert!(!r.why.iter().any(|w| w.contains("\"connection\"")));
    }

    #[test]
    fn seed_ssl_alert_goes_to_network() {
        let r = route("SSL certificate for api.example.com expires in 24 hours");
        assert_eq!(r.agent, "network", "{:?}", r.why);
    }

    #[test]
    fn each_agent_gets_its_alerts() {
        for (text, agent) in [
            ("DNS lookup NXDOMAIN for ledger.payments.svc", "network"),
            (
                "Connection refused to upstream inventory:8080, 502 Bad Gateway",
                "network",
            ),
            (
                "MongoDB slow queries: p99 4s on orders collection",
                "database",
            ),
            ("Replication lag on mongo-secondary-2 is 300s", "database"),
            ("Pod checkout-7d9f is in CrashLoopBackOff", "kubernetes"),
            ("ImagePullBackOff for payments:v2.3.1", "kubernetes"),
            (
                "Container api OOMKilled: memory usage above limit",
                "resource",
            ),
            ("Disk usage on node-3 at 97%", "resource"),
            ("CPU throttling above 50% for search", "resource"),
        ] {
            let r = route(text);
            assert_eq!(r.agent, agent, "{text}: {:?}", r.why);
        }
    }

    #[test]
    fn unknown_text_goes_to_default_with_reason() {
        let r = route("something odd happened");
        assert_eq!(r.score, 0.0);
        assert!(r.why.iter().any(|w| w.contains("default agent")));
    }

    #[test]
    fn keywords_need_word_boundaries_and_prefix_star_works() {
        // "podcast" must not match "pod"; "expires" matches "expir*".
        let yaml = r#"
default_agent: a
agents:
  - name: a
    description: a
    prompt: prompts/network.md
    match: {keywords: {"pod": 5}}
  - name: b
    description: b
    prompt: prompts/network.md
    match: {keywords: {"expir*": 1}}
"#;
        let cfg = LoadedConfig::from_yaml_str(
            yaml,
            crate::config::ConfigOrigin::Embedded,
            crate::tools::TOOL_NAMES,
        )
        .unwrap();
        let router = Router::new(&cfg.config.agents, "a").unwrap();
        let r = router.route(&text_alert("podcast certificate expires soon"));
        assert_eq!(r.agent, "b", "{:?}", r.why);
    }

    #[test]
    fn a_phrase_cut_by_a_word_boundary_does_not_hide_its_words() {
        // "connection pools": the phrase "connection pool" fails the boundary check, so the
        // words inside it still count on their own.
        let r = route("Replication lagging on shard rs0");
        assert_eq!(r.agent, "database", "{:?}", r.why);
        let r = route("MongoDB connection pools saturated on orders");
        assert_eq!(r.agent, "database", "{:?}", r.why);
    }

    #[test]
    fn labels_and_title_bonus_score() {
        let mut alert = text_alert("High latency");
        alert
            .labels
            .insert("alertname".into(), "MongodbReplicationLag".into());
        let r = shipped_router().route(&alert);
        assert_eq!(r.agent, "database", "{:?}", r.why);
        assert!(r.why.iter().any(|w| w.starts_with("label alertname=")));
    }
}
