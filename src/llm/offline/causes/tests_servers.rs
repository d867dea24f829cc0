//! Tests of the causes about servers and the alerting pipeline (heartbeat alerts, Service
//! selectors, database connection slots, retained WAL), on evidence shaped as Alertmanager,
//! the Kubernetes API, PostgreSQL's log and postgres_exporter write it.

use chrono::{TimeZone, Utc};

use super::tests::{POD, deploy, evidence, log, run, target};
use super::*;
use crate::alert::sources::text_alert;
use crate::evidence::{MetricPoint, MetricSeries, Observation, ServiceHealth};
use crate::llm::offline::common::Ctx;
use crate::target::TargetKind;

#[test]
fn watchdog_is_a_heartbeat_not_a_fault() {
    let mut alert = text_alert("[FIRING:1] (Watchdog monitoring/prometheus none)");
    alert.labels.insert("alertname".into(), "Watchdog".into());
    let ev = evidence(vec![]);
    let t = target(TargetKind::App, "example", "monitoring");
    let ctx = Ctx::new(&alert, &ev).with_target(&t);
    let facts = Facts::new(&ctx, &t, find_all(&ev, ctx.now));
    let found = alerting::heartbeat_alert(&facts);
    let c = found.first().expect("a heartbeat cause");
    assert!(c.root_cause.contains("heartbeat"), "{}", c.root_cause);
    assert!(
        c.root_cause.contains("Nothing is broken"),
        "{}",
        c.root_cause
    );
    assert!(c.actions.iter().any(|a| {
        a.command
            .as_deref()
            .is_some_and(|x| x.contains("amtool config routes test"))
    }));
    // Any other alert name: nothing.
    let mut other = text_alert("[FIRING:1] KubePodCrashLooping");
    other
        .labels
        .insert("alertname".into(), "KubePodCrashLooping".into());
    let ctx = Ctx::new(&other, &ev).with_target(&t);
    let facts = Facts::new(&ctx, &t, find_all(&ev, ctx.now));
    assert!(alerting::heartbeat_alert(&facts).is_empty());
}

fn service(unselected: Vec<&str>) -> ServiceHealth {
    ServiceHealth {
        name: "search-gateway".into(),
        namespace: "discovery".into(),
        selector: Some("app=search-gateway".into()),
        unselected_pods: unselected.into_iter().map(Into::into).collect(),
        ..ServiceHealth::default()
    }
}

#[test]
fn a_selector_that_matches_no_pod_is_named_with_the_pods_labels() {
    let ev = evidence(vec![Observation::ServiceHealth {
        services: vec![service(vec![
            "search-gateway-7c9-b9dvn (app.kubernetes.io/instance=search-gateway,app.kubernetes.io/name=search-gateway)",
        ])],
    }]);
    let t = target(TargetKind::Service, "search-gateway", "discovery");
    let found = run(endpoints::selector_matches_no_pod, &ev, &t);
    let c = found.first().expect("a selector cause");
    assert!(c.score >= 0.9, "{}", c.score);
    assert!(
        c.root_cause.contains("selector app=search-gateway"),
        "{}",
        c.root_cause
    );
    assert!(
        c.root_cause
            .contains("app.kubernetes.io/name=search-gateway")
    );
    let cmds: Vec<_> = c.actions.iter().filter_map(|a| a.command.clone()).collect();
    assert!(cmds.iter().all(|c| c.contains("-n discovery")), "{cmds:?}");
    // No pod left out by the selector (a Service with no endpoints for another reason): nothing.
    let ev = evidence(vec![Observation::ServiceHealth {
        services: vec![service(vec![])],
    }]);
    assert!(run(endpoints::selector_matches_no_pod, &ev, &t).is_empty());
}

const REFUSED: &str = "POST /v1/orders 500: failed to connect to `user=orders database=orders`: 10.42.3.88:5432 (pg-orders.orders.svc): server error: FATAL: sorry, too many clients already (SQLSTATE 53300)";

fn authorized(app: &str) -> String {
    format!(
        "2026-04-28 01:00:09.037 GMT [88101] LOG:  connection authorized: user=app database=orders application_name={app} SSL enabled (protocol=TLSv1.3)"
    )
}

#[test]
fn the_client_holding_most_connection_slots_is_named() {
    let mut records = vec![log(POD, REFUSED), log(POD, REFUSED), log(POD, REFUSED)];
    records.push(log("pg-orders-0", &authorized("orders-api")));
    for _ in 0..6 {
        records.push(log("pg-orders-0", &authorized("reporting-batch")));
    }
    let ev = evidence(vec![Observation::Logs { records }]);
    let found = run(database::connection_limit_holder, &ev, &deploy());
    let c = found.first().expect("a connection holder");
    assert!(c.root_cause.contains("reporting-batch"), "{}", c.root_cause);
    assert!(c.root_cause.contains("max_connections"), "{}", c.root_cause);
    // Clients in equal shares: nobody is named.
    let mut records = vec![log(POD, REFUSED)];
    records.push(log("pg-orders-0", &authorized("orders-api")));
    records.push(log("pg-orders-0", &authorized("reporting-batch")));
    records.push(log("pg-orders-0", &authorized("billing")));
    let ev = evidence(vec![Observation::Logs { records }]);
    assert!(run(database::connection_limit_holder, &ev, &deploy()).is_empty());
}

#[test]
fn postgres_exporter_activity_by_application_names_the_holder() {
    let at = Utc.with_ymd_and_hms(2026, 4, 28, 1, 5, 0).unwrap();
    let series = |app: &str, v: f64| MetricSeries {
        metric: "pg_stat_activity_count".into(),
        labels: [
            ("application_name".to_string(), app.to_string()),
            ("datname".to_string(), "orders".to_string()),
        ]
        .into_iter()
        .collect(),
        points: vec![MetricPoint {
            timestamp: at,
            value: v,
        }],
    };
    let ev = evidence(vec![
        Observation::Logs {
            records: vec![log(POD, REFUSED)],
        },
        Observation::Metrics {
            series: vec![series("orders-api", 20.0), series("etl-loader", 170.0)],
        },
    ]);
    let found = run(database::connection_limit_holder, &ev, &deploy());
    let c = found.first().expect("a connection holder");
    assert!(c.root_cause.contains("etl-loader"), "{}", c.root_cause);
    assert!(
        c.root_cause.contains("pg_stat_activity_count"),
        "{}",
        c.root_cause
    );
}

fn checkpoint(added: u32, removed: u32, recycled: u32) -> String {
    format!(
        "2026-05-19 18:01:37.368 GMT [1187] LOG:  checkpoint complete: wrote 31713 buffers (23.1%); {added} WAL file(s) added, {removed} removed, {recycled} recycled; write=88.102 s, sync=1.114 s, total=94.011 s"
    )
}

#[test]
fn checkpoints_that_remove_no_wal_point_at_a_replication_slot() {
    let pg = "pg-main-0";
    let records = vec![
        log(
            pg,
            "2026-05-17 21:05:04.060 GMT [51230] LOG:  unexpected EOF on standby connection",
        ),
        log(
            pg,
            "2026-05-17 21:05:04.097 GMT [51230] STATEMENT:  START_REPLICATION SLOT \"cdc_slot\" LOGICAL 3A/5C0012D8",
        ),
        log(pg, &checkpoint(64, 0, 0)),
        log(pg, &checkpoint(65, 0, 0)),
        log(pg, &checkpoint(66, 0, 0)),
    ];
    let ev = evidence(vec![Observation::Logs { records }]);
    let t = target(
        TargetKind::PersistentVolumeClaim,
        "data-pg-main-0",
        "billing-3",
    );
    let found = run(database::wal_retained, &ev, &t);
    let c = found.first().expect("a WAL cause");
    assert!(
        c.root_cause.contains("replication slot cdc_slot"),
        "{}",
        c.root_cause
    );
    assert!(c.score >= 0.85, "{}", c.score);
    // Checkpoints that recycle segments: the WAL is not pinned.
    let records = vec![log(pg, &checkpoint(0, 0, 2)), log(pg, &checkpoint(1, 3, 0))];
    let ev = evidence(vec![Observation::Logs { records }]);
    assert!(run(database::wal_retained, &ev, &t).is_empty());
}
