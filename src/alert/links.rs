//! Links in an alert, and what each points at.
//!
//! A link's kind comes from the words just before it on its line (`Runbook:`, `Silence:`,
//! `Dashboard:`, `*RelatedLogs:* View in logs explorer`, ` - runbook_url = …`, a
//! `• *ruleSource:*` bullet), else from the URL itself (`/silence/`, `/d/…`, `#/alerts`,
//! `/monitors/`, …). Links stay links: [`hosts`] gives their host names so that nothing reads a
//! link's host as the host the alert is about.

use super::{Link, LinkKind};

/// Longest stretch of text before a URL looked at for its kind.
const MAX_CONTEXT: usize = 120;

/// Every URL as a [`Link`], classified by where `body` shows it.
pub fn classify_all(urls: &[String], body: &str) -> Vec<Link> {
    urls.iter()
        .map(|url| Link {
            kind: classify(url, &context(url, body)),
            url: url.clone(),
        })
        .collect()
}

/// The kind of `url`, given the text just before it.
pub fn classify(url: &str, context: &str) -> LinkKind {
    by_words(&context.to_lowercase()).unwrap_or_else(|| by_url(&url.to_lowercase()))
}

/// The host names of `links`, lower-cased.
pub fn hosts(links: &[Link]) -> Vec<String> {
    links
        .iter()
        .filter_map(|l| url::Url::parse(&l.url).ok())
        .filter_map(|u| u.host_str().map(str::to_lowercase))
        .collect()
}

/// The text between the previous URL on the line (or the line start) and `url`.
fn context(url: &str, body: &str) -> String {
    let Some(line) = body.lines().find(|l| l.contains(url)) else {
        return String::new();
    };
    let before = line.split(url).next().unwrap_or_default();
    let start = ["http://", "https://"]
        .iter()
        .filter_map(|s| before.rfind(s))
        .max()
        .map_or(0, |i| {
            before
                .get(i..)
                .and_then(|rest| rest.find(char::is_whitespace))
                .map_or(before.len(), |end| i + end)
        });
    let ctx = before.get(start..).unwrap_or_default();
    let mut from = ctx.len().saturating_sub(MAX_CONTEXT);
    while from > 0 && !ctx.is_char_boundary(from) {
        from -= 1;
    }
    ctx.get(from..).unwrap_or_default().to_string()
}

/// The kind the words before a link name, if they name one.
fn by_words(ctx: &str) -> Option<LinkKind> {
    const WORDS: &[(&[&str], LinkKind)] = &[
        (&["runbook", "playbook"], LinkKind::Runbook),
        (&["silence"], LinkKind::Silence),
        (&["logs", "log explorer", "related_logs"], LinkKind::Logs),
        (&["trace"], LinkKind::Traces),
        (&["dashboard", "panel", "grafana_url"], LinkKind::Dashboard),
        (
            &[
                "source",
                "generator",
                "rule",
                "monitor",
                "incident",
                "alert",
            ],
            LinkKind::Source,
        ),
    ];
    WORDS
        .iter()
        .find(|(words, _)| words.iter().any(|w| ctx.contains(w)))
        .map(|(_, kind)| *kind)
}

/// The kind a URL's own shape suggests.
fn by_url(url: &str) -> LinkKind {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let has = |needles: &[&str]| needles.iter().any(|n| path.contains(n));
    if has(&["runbook", "playbook"]) {
        LinkKind::Runbook
    } else if has(&["/silence", "#/silences"]) {
        LinkKind::Silence
    } else if has(&["/d/", "/dashboard", "viewpanel="]) {
        LinkKind::Dashboard
    } else if has(&["/logs", "logs-explorer", "/explore?"]) {
        LinkKind::Logs
    } else if has(&["/trace"]) {
        LinkKind::Traces
    } else if has(&[
        "#/alerts",
        "/alerting/",
        "/alerts",
        "/monitors",
        "/incidents/",
        "/alert/",
        "/event/",
        "/graph?g0.expr",
    ]) {
        LinkKind::Source
    } else {
        LinkKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_words_then_url() {
        let body = "Source: https://g/alerting/grafana/x/view\nSilence: https://g/alerting/silence/new?a=1\n\
                    Dashboard: https://g/d/abc\n *RelatedLogs:* View in logs explorer (https://s/logs/logs-explorer?x)\n\
                    *Runbook:* https://wiki.example.com/page\n - runbook_url = https://r.example.com/x";
        let urls: Vec<String> = [
            "https://g/alerting/grafana/x/view",
            "https://g/alerting/silence/new?a=1",
            "https://g/d/abc",
            "https://s/logs/logs-explorer?x",
            "https://wiki.example.com/page",
            "https://r.example.com/x",
            "http://am:9093/#/alerts?receiver=slack",
            "https://s/traces-explorer?x",
            "https://example.com/",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let kinds: Vec<LinkKind> = classify_all(&urls, body).iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            [
                LinkKind::Source,
                LinkKind::Silence,
                LinkKind::Dashboard,
                LinkKind::Logs,
                LinkKind::Runbook,
                LinkKind::Runbook,
                LinkKind::Source,
                LinkKind::Traces,
                LinkKind::Other,
            ]
        );
    }

    #[test]
    fn two_links_on_a_line_each_get_their_own_words() {
        let body = "Runbook: https://a.example/x | Dashboard: https://b.example/y";
        assert_eq!(
            classify("https://b.example/y", &context("https://b.example/y", body)),
            LinkKind::Dashboard
        );
        assert_eq!(
            hosts(&[Link {
                kind: LinkKind::Other,
                url: "https://Runbooks.Example.com/x".into()
            }]),
            vec!["runbooks.example.com"]
        );
    }
}
