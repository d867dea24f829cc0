//! Events as the reasoners see them: [`KubeEvent`] from a core/v1 `Event`, with the selection
//! rules of `get_events` (one object and its `<object>-…` children, or every Warning plus the
//! rollout events; oldest first, the newest [`MAX_EVENTS`] at most).

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Event;

use crate::evidence::KubeEvent;
use crate::tools::kubernetes::pods::{micro_time, name_has_prefix, time};

/// Most events one call returns (the newest).
pub const MAX_EVENTS: usize = 200;

/// Normal-type event reasons that belong to a rollout or a node problem (kept without an
/// object filter, beside every Warning).
const ROLLOUT_REASONS: &[&str] = &[
    "ScalingReplicaSet",
    "SuccessfulRescale",
    "DeploymentRollback",
    "DeploymentPaused",
    "DeploymentResumed",
    "NodeNotReady",
    "TaintManagerEviction",
    "Preempted",
];

fn event_time(ev: &Event) -> Option<DateTime<Utc>> {
    ev.last_timestamp
        .as_ref()
        .and_then(time)
        .or_else(|| {
            ev.series
                .as_ref()
                .and_then(|s| s.last_observed_time.as_ref())
                .and_then(micro_time)
        })
        .or_else(|| ev.event_time.as_ref().and_then(micro_time))
        .or_else(|| ev.first_timestamp.as_ref().and_then(time))
        .or_else(|| ev.metadata.creation_timestamp.as_ref().and_then(time))
}

/// An event as the reasoners see it.
pub fn kube_event(ev: &Event) -> KubeEvent {
    let obj = &ev.involved_object;
    KubeEvent {
        timestamp: event_time(ev),
        event_type: ev.type_.clone().unwrap_or_else(|| "Normal".to_owned()),
        reason: ev.reason.clone().unwrap_or_default(),
        object: format!(
            "{}/{}",
            obj.kind.as_deref().unwrap_or("Object"),
            obj.name.as_deref().unwrap_or_default()
        ),
        message: ev.message.clone().unwrap_or_default(),
        count: ev
            .count
            .or_else(|| ev.series.as_ref().and_then(|s| s.count))
            .unwrap_or(1)
            .max(1) as u32,
    }
}

/// Events about `object` (and `<object>-…`), or every Warning and rollout event; oldest first,
/// the newest [`MAX_EVENTS`] at most.
pub fn select_events(
    events: &[Event],
    object: Option<&str>,
    warnings_only: bool,
) -> Vec<KubeEvent> {
    let mut out: Vec<KubeEvent> = events
        .iter()
        .filter(|ev| {
            let warning = ev.type_.as_deref() == Some("Warning");
            if warnings_only && !warning {
                return false;
            }
            match object {
                Some(object) => {
                    let name = ev.involved_object.name.as_deref().unwrap_or_default();
                    name == object || name_has_prefix(name, object)
                }
                None => {
                    warning
                        || ev
                            .reason
                            .as_deref()
                            .is_some_and(|r| ROLLOUT_REASONS.contains(&r))
                }
            }
        })
        .map(kube_event)
        .collect();
    out.sort_by_key(|e| e.timestamp);
    if out.len() > MAX_EVENTS {
        out.drain(..out.len() - MAX_EVENTS);
    }
    out
}

/// Every event given (already about the right objects), Warnings only if asked; oldest first,
/// the newest [`MAX_EVENTS`] at most, each event once.
pub fn all_events(events: &[Event], warnings_only: bool) -> Vec<KubeEvent> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<KubeEvent> = events
        .iter()
        .filter(|ev| !warnings_only || ev.type_.as_deref() == Some("Warning"))
        .filter(|ev| {
            // The same event can come back from two object queries.
            let key = (
                ev.metadata.namespace.clone(),
                ev.metadata.name.clone(),
                ev.metadata.uid.clone(),
            );
            key.1.is_none() || seen.insert(key)
        })
        .map(kube_event)
        .collect();
    out.sort_by_key(|e| e.timestamp);
    if out.len() > MAX_EVENTS {
        out.drain(..out.len() - MAX_EVENTS);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::kubernetes::testdata::list;

    const EVENTS: &str = r#"{"kind":"EventList","apiVersion":"v1","items":[
      {"metadata":{"name":"e3"},"involvedObject":{"kind":"Pod","name":"checkout-7c9d-abcde"},
       "reason":"BackOff","message":"Back-off restarting failed container","type":"Warning","count":12,
       "lastTimestamp":"2026-11-24T09:59:00Z"},
      {"metadata":{"name":"e1"},"involvedObject":{"kind":"Deployment","name":"checkout"},
       "reason":"ScalingReplicaSet","message":"Scaled up replica set checkout-7c9d to 3","type":"Normal",
       "lastTimestamp":"2026-11-24T09:00:00Z"},
      {"metadata":{"name":"e2"},"involvedObject":{"kind":"Pod","name":"checkout-7c9d-abcde"},
       "reason":"Pulled","message":"Successfully pulled image","type":"Normal","eventTime":"2026-11-24T09:01:00.000000Z"},
      {"metadata":{"name":"e4"},"involvedObject":{"kind":"Pod","name":"cart-1"},
       "reason":"Unhealthy","message":"Readiness probe failed","type":"Warning","firstTimestamp":"2026-11-24T09:30:00Z"}
    ]}"#;

    #[test]
    fn event_list_selection() {
        let events: Vec<Event> = list(EVENTS);
        let all = select_events(&events, None, false);
        let reasons: Vec<&str> = all.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons, vec!["ScalingReplicaSet", "Unhealthy", "BackOff"]);
        assert_eq!(all[2].count, 12);
        assert_eq!(all[2].object, "Pod/checkout-7c9d-abcde");
        let svc = select_events(&events, Some("checkout"), false);
        let reasons: Vec<&str> = svc.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons, vec!["ScalingReplicaSet", "Pulled", "BackOff"]);
        let warn = select_events(&events, Some("checkout"), true);
        assert_eq!(warn.len(), 1);
    }

    #[test]
    fn all_events_dedupes_and_sorts() {
        let events: Vec<Event> = list(EVENTS);
        let twice: Vec<Event> = events.iter().chain(events.iter()).cloned().collect();
        let all = all_events(&twice, false);
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].reason, "ScalingReplicaSet");
        assert_eq!(all_events(&twice, true).len(), 2);
    }
}
