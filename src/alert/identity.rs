//! Who posted a message, and which tool that makes it.
//!
//! Identity comes before any reading of the message's wording:
//!
//! 1. the `sources:` list of `agents.yaml` ([`SourceRule`], compiled into a [`SourceMap`]) maps a
//!    Slack `bot_id`, `app_id` or `username` to a source; a match is final;
//! 2. the sender's display name (`username`, else `bot_profile.name`) naming a tool
//!    ([`named_source`]): "Grafana", "Datadog", "PagerDuty", "Opsgenie", "SigNoz", or
//!    "Alertmanager". The last is the one weak name: SigNoz's embedded Alertmanager posts under
//!    Alertmanager's default name too, so [`super::sources`] still tells the two apart by
//!    SigNoz's own markers.
//!
//! ```yaml
//! sources:
//!   - {bot_id: B07AMGR0P1X, source: alertmanager}
//!   - {app_id: A07GRFN1V3C, source: grafana}
//!   - {username: "prom-alerts", source: alertmanager}
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::AlertSource;

/// One `sources:` entry: exactly one of `bot_id`, `app_id`, `username`, and the source it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub source: AlertSource,
}

/// The sender of a message, as the event gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sender {
    pub bot_id: Option<String>,
    pub app_id: Option<String>,
    /// `username`: the name an incoming webhook or `chat.postMessage` posted under.
    pub username: Option<String>,
    /// `bot_profile.name`: the app's bot name.
    pub bot_name: Option<String>,
}

impl Sender {
    /// The display name: `username`, else the bot profile's name.
    pub fn name(&self) -> Option<&str> {
        self.username.as_deref().or(self.bot_name.as_deref())
    }
}

/// The compiled `sources:` list. Empty by default: then only names and markers decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMap {
    by_bot: HashMap<String, AlertSource>,
    by_app: HashMap<String, AlertSource>,
    /// Keyed by the lower-cased name.
    by_username: HashMap<String, AlertSource>,
}

/// Which field of a rule identifies the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Bot,
    App,
    Username,
}

impl Key {
    fn name(self) -> &'static str {
        match self {
            Key::Bot => "bot_id",
            Key::App => "app_id",
            Key::Username => "username",
        }
    }
}

impl SourceMap {
    /// Compile and check the rules; every problem is reported, each naming the entry.
    pub fn new(rules: &[SourceRule]) -> Result<SourceMap, Vec<String>> {
        let mut map = SourceMap::default();
        let mut problems = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let who = format!("sources[{i}]");
            let given: Vec<(Key, &str)> = [
                (Key::Bot, rule.bot_id.as_deref()),
                (Key::App, rule.app_id.as_deref()),
                (Key::Username, rule.username.as_deref()),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
            let [(key, raw)] = given.as_slice() else {
                problems.push(format!(
                    "{who}: give exactly one of bot_id, app_id, username (found {})",
                    given.len()
                ));
                continue;
            };
            let value = raw.trim();
            if let Some(why) = bad_value(*key, value) {
                problems.push(format!("{who}: {} `{raw}` {why}", key.name()));
                continue;
            }
            let (table, lookup) = match key {
                Key::Bot => (&mut map.by_bot, value.to_string()),
                Key::App => (&mut map.by_app, value.to_string()),
                Key::Username => (&mut map.by_username, value.to_lowercase()),
            };
            match table.get(&lookup) {
                Some(earlier) if *earlier != rule.source => problems.push(format!(
                    "{who}: {} `{value}` is mapped to both {earlier} and {}",
                    key.name(),
                    rule.source
                )),
                Some(_) => {
                    problems.push(format!("{who}: {} `{value}` is listed twice", key.name()))
                }
                None => {
                    table.insert(lookup, rule.source);
                }
            }
        }
        if problems.is_empty() {
            Ok(map)
        } else {
            Err(problems)
        }
    }

    /// The configured source of this sender: by bot id, then app id, then username.
    pub fn lookup(&self, sender: &Sender) -> Option<AlertSource> {
        let by = |table: &HashMap<String, AlertSource>, v: &Option<String>| {
            v.as_deref().and_then(|v| table.get(v.trim()).copied())
        };
        by(&self.by_bot, &sender.bot_id)
            .or_else(|| by(&self.by_app, &sender.app_id))
            .or_else(|| {
                let name = sender.username.as_deref()?.trim().to_lowercase();
                self.by_username.get(&name).copied()
            })
    }

    pub fn is_empty(&self) -> bool {
        self.by_bot.is_empty() && self.by_app.is_empty() && self.by_username.is_empty()
    }
}

/// Why a rule's value cannot be a Slack id or name of its kind, if it cannot.
fn bad_value(key: Key, value: &str) -> Option<&'static str> {
    if value.is_empty() {
        return Some("is empty");
    }
    let id_shaped = |first: char| {
        value.starts_with(first)
            && value.len() >= 2
            && value
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    match key {
        Key::Bot if !id_shaped('B') => {
            Some("is not a Slack bot id (upper-case letters and digits, starting with B)")
        }
        Key::App if !id_shaped('A') => {
            Some("is not a Slack app id (upper-case letters and digits, starting with A)")
        }
        Key::Username if value.len() > 80 => Some("is longer than a Slack name can be"),
        _ => None,
    }
}

/// The source a sender's display name names, if any. `Alertmanager` is weak (see the module
/// doc); callers refine it with SigNoz's markers.
pub fn named_source(name: &str) -> Option<AlertSource> {
    let lower = name.to_lowercase();
    const NAMES: &[(&str, AlertSource)] = &[
        ("signoz", AlertSource::Signoz),
        ("grafana", AlertSource::Grafana),
        ("datadog", AlertSource::Datadog),
        ("pagerduty", AlertSource::Pagerduty),
        ("opsgenie", AlertSource::Opsgenie),
        ("alertmanager", AlertSource::Alertmanager),
        ("alert manager", AlertSource::Alertmanager),
        ("prometheus", AlertSource::Alertmanager),
    ];
    NAMES
        .iter()
        .find(|(word, _)| lower.contains(word))
        .map(|(_, source)| *source)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        bot: Option<&str>,
        app: Option<&str>,
        user: Option<&str>,
        s: AlertSource,
    ) -> SourceRule {
        SourceRule {
            bot_id: bot.map(str::to_string),
            app_id: app.map(str::to_string),
            username: user.map(str::to_string),
            source: s,
        }
    }

    #[test]
    fn lookup_by_bot_then_app_then_username() {
        let map = SourceMap::new(&[
            rule(Some("B1"), None, None, AlertSource::Signoz),
            rule(None, Some("A1"), None, AlertSource::Grafana),
            rule(None, None, Some("Prom Alerts"), AlertSource::Alertmanager),
        ])
        .expect("valid");
        let sender = |bot: Option<&str>, app: Option<&str>, user: Option<&str>| Sender {
            bot_id: bot.map(str::to_string),
            app_id: app.map(str::to_string),
            username: user.map(str::to_string),
            bot_name: None,
        };
        assert_eq!(
            map.lookup(&sender(Some("B1"), Some("A1"), None)),
            Some(AlertSource::Signoz)
        );
        assert_eq!(
            map.lookup(&sender(Some("B9"), Some("A1"), None)),
            Some(AlertSource::Grafana)
        );
        assert_eq!(
            map.lookup(&sender(None, None, Some("prom alerts"))),
            Some(AlertSource::Alertmanager)
        );
        assert_eq!(map.lookup(&sender(Some("B9"), None, Some("x"))), None);
        assert!(SourceMap::default().is_empty());
    }

    #[test]
    fn every_problem_is_named() {
        let err = SourceMap::new(&[
            rule(None, None, None, AlertSource::Grafana),
            rule(Some("B1"), Some("A1"), None, AlertSource::Grafana),
            rule(Some("b-lower"), None, None, AlertSource::Grafana),
            rule(None, Some("X1"), None, AlertSource::Grafana),
            rule(None, None, Some("  "), AlertSource::Grafana),
            rule(Some("B2"), None, None, AlertSource::Grafana),
            rule(Some("B2"), None, None, AlertSource::Datadog),
            rule(None, None, Some("Bot"), AlertSource::Datadog),
            rule(None, None, Some("bot"), AlertSource::Datadog),
        ])
        .expect_err("invalid");
        let all = err.join("\n");
        for needle in [
            "sources[0]: give exactly one of bot_id, app_id, username (found 0)",
            "sources[1]: give exactly one of bot_id, app_id, username (found 2)",
            "sources[2]: bot_id `b-lower` is not a Slack bot id",
            "sources[3]: app_id `X1` is not a Slack app id",
            "sources[4]: username `  ` is empty",
            "sources[6]: bot_id `B2` is mapped to both grafana and datadog",
            "sources[8]: username `bot` is listed twice",
        ] {
            assert!(all.contains(needle), "missing `{needle}` in:\n{all}");
        }
        assert_eq!(err.len(), 7, "{all}");
    }

    #[test]
    fn names_name_tools() {
        assert_eq!(named_source("Grafana"), Some(AlertSource::Grafana));
        assert_eq!(
            named_source("AlertManager"),
            Some(AlertSource::Alertmanager)
        );
        assert_eq!(named_source("PagerDuty"), Some(AlertSource::Pagerduty));
        assert_eq!(named_source("monitoring-webhook"), None);
    }
}
