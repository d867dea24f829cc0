//! Which tool wrote a message: identity first, then each tool's own markers.
//!
//! 1. The `sources:` mapping (bot id, app id, username) is final.
//! 2. A sender name that names a tool is final, except "Alertmanager": SigNoz's embedded
//!    Alertmanager posts under that default name too, so SigNoz's own markers
//!    (`*RelatedLogs:*`, `*RelatedTraces:*`, `ruleId` bullets) still make it SigNoz.
//! 3. Without an identity, the markers decide, most specific first: SigNoz, Grafana, Datadog,
//!    PagerDuty, Opsgenie, Alertmanager (its status prefix, `#/alerts` link, or the community
//!    template's `*Alert:*` … `*Details:*` sections); else plain text.

use super::{MessageParts, alertmanager, datadog, first_line, forwarded, grafana, signoz};
use crate::alert::AlertSource;
use crate::alert::identity::{SourceMap, named_source};

/// Recognise the tool that wrote the message.
pub fn detect(parts: &MessageParts, sources: &SourceMap) -> AlertSource {
    if let Some(source) = sources.lookup(&parts.sender) {
        return source;
    }
    match parts.sender.name().and_then(named_source) {
        Some(AlertSource::Alertmanager) if signoz::looks_like(&parts.body) => AlertSource::Signoz,
        Some(source) => source,
        None => by_markers(parts),
    }
}

/// The source the message's own markers point at.
fn by_markers(parts: &MessageParts) -> AlertSource {
    let headline = parts
        .headline
        .as_deref()
        .unwrap_or_else(|| first_line(&parts.body));
    let link = parts.title_link.as_deref().unwrap_or_default();
    let footer = parts.footer.as_deref().unwrap_or_default();
    let any_link = |test: fn(&str) -> bool| test(link) || parts.links.iter().any(|l| test(l));
    if signoz::looks_like(&parts.body) {
        AlertSource::Signoz
    } else if grafana::looks_like(&parts.body, footer, link) {
        AlertSource::Grafana
    } else if datadog::looks_like(headline, link) {
        AlertSource::Datadog
    } else if any_link(forwarded::is_pagerduty_link) {
        AlertSource::Pagerduty
    } else if any_link(forwarded::is_opsgenie_link) {
        AlertSource::Opsgenie
    } else if alertmanager::looks_like(headline, link, &parts.body) {
        AlertSource::Alertmanager
    } else {
        AlertSource::Text
    }
}
