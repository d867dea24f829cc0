//! Which hosts the network probes may reach for one alert.
//!
//! A TLS handshake or a DNS lookup goes out only to a host the alert itself names (its `host`,
//! a label value, a word of its title or text) or one that `backends.network.allow_hosts`
//! allows. Links the alert carries (runbook, dashboard, silence) are not hosts to probe. The
//! same rule holds for the up-front calls and, later, for any tool call a model asks for, so a
//! crafted alert or log line cannot point the bot at an arbitrary address; the address guard
//! of the live probe (link-local and metadata addresses) applies after resolution on top.

use crate::alert::Alert;
use crate::evidence::ToolCall;
use crate::tools::live::network::{NetworkSettings, host_allowed};

/// The tools that reach out to a host, and the argument that names it.
const PROBES: &[(&str, &str)] = &[("check_tls_certificate", "host"), ("resolve_dns", "name")];

/// `Err(reason)` when `call` would probe a host neither the alert nor the config names.
pub fn check(call: &ToolCall, alert: &Alert, settings: &NetworkSettings) -> Result<(), String> {
    let Some((_, arg)) = PROBES.iter().find(|(tool, _)| *tool == call.tool) else {
        return Ok(());
    };
    let Some(host) = call.args.get(*arg).and_then(|v| v.as_str()) else {
        return Ok(()); // the tool itself reports a missing argument
    };
    let named = alert_hosts(alert);
    let named: Vec<&str> = named.iter().map(String::as_str).collect();
    if host_allowed(settings, host, &named) {
        Ok(())
    } else {
        Err(format!(
            "not probed: {host} is not named by the alert nor allowed by backends.network.allow_hosts"
        ))
    }
}

/// Every word of the alert that could be a host: its `host`, label values, and the words of its
/// title and text (URLs among them), minus the links it carries.
pub fn alert_hosts(alert: &Alert) -> Vec<String> {
    let is_link = |word: &str| {
        alert
            .links
            .iter()
            .any(|l| l.url.trim_end_matches('/') == word.trim_end_matches('/'))
    };
    let mut out: Vec<String> = alert.host.iter().cloned().collect();
    out.extend(alert.labels.values().filter(|v| !is_link(v)).cloned());
    for word in alert
        .title
        .split(|c: char| c.is_whitespace() || "\"'`<>()[]{},;|".contains(c))
        .chain(
            alert
                .text
                .split(|c: char| c.is_whitespace() || "\"'`<>()[]{},;|".contains(c)),
        )
    {
        let word = word.trim_matches(|c: char| matches!(c, '.' | ':' | '*' | '_'));
        if word.contains('.') && !is_link(word) {
            out.push(word.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::sources::text_alert;
    use serde_json::json;

    fn probe(tool: &str, host: &str) -> ToolCall {
        let arg = if tool == "resolve_dns" {
            "name"
        } else {
            "host"
        };
        let mut args = serde_json::Map::new();
        args.insert(arg.into(), json!(host));
        ToolCall {
            tool: tool.into(),
            args,
        }
    }

    #[test]
    fn hosts_the_alert_names_may_be_probed() {
        let mut alert = text_alert("SSL certificate for api.example.com expires in 24 hours");
        alert.labels.insert(
            "instance".into(),
            "https://shop.example.com:8443/health".into(),
        );
        let none = NetworkSettings::default();
        assert_eq!(
            check(
                &probe("check_tls_certificate", "api.example.com"),
                &alert,
                &none
            ),
            Ok(())
        );
        assert_eq!(
            check(
                &probe("check_tls_certificate", "shop.example.com"),
                &alert,
                &none
            ),
            Ok(())
        );
        assert_eq!(
            check(&probe("resolve_dns", "api.example.com"), &alert, &none),
            Ok(())
        );
        let err = check(
            &probe("check_tls_certificate", "169.254.169.254"),
            &alert,
            &none,
        )
        .expect_err("not named");
        assert!(err.contains("not named by the alert"), "{err}");
        // Other tools are not probes.
        assert_eq!(
            check(&probe("query_logs", "anything"), &alert, &none),
            Ok(())
        );
    }

    #[test]
    fn config_allows_more_hosts_and_links_are_not_hosts() {
        let mut alert = text_alert("checkout 502s, runbook https://runbooks.example.com/checkout");
        alert.links.push(crate::alert::Link {
            kind: crate::alert::LinkKind::Runbook,
            url: "https://runbooks.example.com/checkout".into(),
        });
        let none = NetworkSettings::default();
        assert!(
            check(
                &probe("check_tls_certificate", "runbooks.example.com"),
                &alert,
                &none
            )
            .is_err()
        );
        let allow = NetworkSettings {
            allow_hosts: vec!["*.internal.example.com".into()],
            ..NetworkSettings::default()
        };
        assert_eq!(
            check(
                &probe("resolve_dns", "db.internal.example.com"),
                &alert,
                &allow
            ),
            Ok(())
        );
    }
}
