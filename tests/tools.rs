//! The embedded MCP tools end to end: every tool called through the real [`Toolbox`] (rmcp
//! client ↔ server over an in-memory duplex pipe) against fixture files in the real wire formats.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use sre_agent::evidence::{Observation, ToolCall, ToolOutcome, ToolOutput};
use sre_agent::tools::fixture::{FixtureStore, fixture_backends};
use sre_agent::tools::{BackendError, Backends, SignozBackend, TOOL_NAMES, Toolbox};

const TIMEOUT: Duration = Duration::from_secs(5);

fn write(dir: &Path, rel: &str, content: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, content).expect("write fixture");
}

fn call(tool: &str, args: Value) -> ToolCall {
    let Value::Object(args) = args else {
        panic!("args must be an object");
    };
    ToolCall {
        tool: tool.to_owned(),
        args,
    }
}

async fn run(toolbox: &Toolbox, tool: &str, args: Value) -> ToolOutput {
    toolbox.call(call(tool, args), TIMEOUT).await
}

fn observation(out: ToolOutput) -> Observation {
    match out.outcome {
        ToolOutcome::Data { observation } => observation,
        other => panic!("{}: expected data, got {other:?}", out.call.tool),
    }
}

const LOGS: &str = r#"{"status":"success","data":{"type":"raw","meta":{"rowsScanned":3},"data":{"results":[
  {"queryName":"A","nextCursor":"","rows":[
    {"timestamp":"2026-11-24T10:01:00Z","data":{"body":"MongoWaitQueueTimeoutError: timed out waiting for a connection from the pool",
      "severity_text":"ERROR","severity_number":17,"trace_id":"t1","timestamp":1795860060000000000,
      "attributes_string":{"db.system":"mongodb"},"attributes_number":{},"attributes_bool":{},
      "resources_string":{"service.name":"accounts","k8s.pod.name":"accounts-5d8f-x1"}}},
    {"timestamp":"2026-11-24T10:00:00Z","data":{"body":"slow query: 1920ms","severity_text":"WARN","severity_number":13,
      "resources_string":{"service.name":"accounts"}}}
  ]}]}}}"#;

const METRICS: &str = r#"{"status":"success","data":{"type":"time_series","data":{"results":[
  {"queryName":"mongodb_pool_in_use","aggregations":[{"index":0,"alias":"","meta":{},"series":[
    {"labels":[{"key":{"name":"service.name"},"value":"accounts"}],
     "values":[{"timestamp":1764036600000,"value":40},{"timestamp":1764036900000,"value":100}]}]}]},
  {"queryName":"mongodb_pool_max","aggregations":[{"index":0,"alias":"","meta":{},"series":[
    {"labels":[],"values":[{"timestamp":1764036600000,"value":100}]}]}]},
  {"queryName":"http_server_request_rate","aggregations":[{"index":0,"series":[
    {"labels":[],"values":[{"timestamp":1764036600000,"value":430.5}]}]}]}
]}}}"#;

const TRACES: &str = r#"{"status":"success","data":{"type":"raw","data":{"results":[{"queryName":"A","rows":[
  {"timestamp":"2026-11-24T10:01:00Z","data":{"timestamp":"2026-11-24T10:01:00Z","trace_id":"t1","span_id":"s1",
    "service.name":"accounts","name":"mongodb.aggregate users","duration_nano":1920000000,"kind_string":"Client",
    "has_error":true,"response_status_code":"","status_code_string":"Error","db_system":"mongodb"}}
]}]}}}"#;

const PODS: &str = r#"{"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"1"},"items":[
  {"apiVersion":"v1","kind":"Pod","metadata":{"name":"accounts-5d8f-x1","namespace":"prod","labels":{"app":"accounts"}},
   "spec":{"nodeName":"node-1","containers":[{"name":"app","image":"accounts:3.18.0","resources":{"limits":{"memory":"512Mi"}}}]},
   "status":{"phase":"Running","conditions":[{"type":"Ready","status":"False","reason":"ContainersNotReady"}],
     "containerStatuses":[{"name":"app","image":"accounts:3.18.0","imageID":"","ready":false,"restartCount":4,
       "state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 2m40s"}},
       "lastState":{"terminated":{"exitCode":137,"reason":"OOMKilled","finishedAt":"2026-11-24T09:59:00Z"}}}]}},
  {"metadata":{"name":"accounts-5d8f-x2","namespace":"prod","labels":{"app":"accounts"}},
   "spec":{"containers":[{"name":"app","image":"accounts:3.18.0"}]},
   "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}],
     "containerStatuses":[{"name":"app","image":"accounts:3.18.0","imageID":"","ready":true,"restartCount":0,"state":{"running":{}}}]}},
  {"metadata":{"name":"other-1","namespace":"staging","labels":{"app":"accounts"}},
   "spec":{"containers":[{"name":"app","image":"accounts:3.19.0"}]},"status":{"phase":"Running"}}
]}"#;

const EVENTS: &str = r#"{"apiVersion":"v1","kind":"EventList","metadata":{},"items":[
  {"metadata":{"name":"a.1","namespace":"prod"},"involvedObject":{"kind":"Pod","name":"accounts-5d8f-x1"},
   "reason":"BackOff","message":"Back-off restarting failed container app","type":"Warning","count":9,
   "lastTimestamp":"2026-11-24T09:59:30Z"},
  {"metadata":{"name":"a.2","namespace":"prod"},"involvedObject":{"kind":"Deployment","name":"accounts"},
   "reason":"ScalingReplicaSet","message":"Scaled up replica set accounts-5d8f to 2","type":"Normal",
   "lastTimestamp":"2026-11-24T09:40:00Z"},
  {"metadata":{"name":"a.3","namespace":"prod"},"involvedObject":{"kind":"Pod","name":"accounts-5d8f-x2"},
   "reason":"Started","message":"Started container app","type":"Normal","lastTimestamp":"2026-11-24T09:41:00Z"}
]}"#;

const SERVICES: &str = r#"{"apiVersion":"v1","kind":"ServiceList","items":[
  {"metadata":{"name":"accounts","namespace":"prod"},"spec":{"selector":{"app":"accounts"},"ports":[{"port":80}]}}]}"#;

const ENDPOINTS: &str = r#"{"apiVersion":"v1","kind":"EndpointsList","items":[
  {"metadata":{"name":"accounts","namespace":"prod"},"subsets":[
    {"addresses":[{"ip":"10.0.0.2"}],"notReadyAddresses":[{"ip":"10.0.0.3"}],"ports":[{"port":8080}]}]}]}"#;

const DEPLOYMENTS: &str = r#"{"apiVersion":"apps/v1","kind":"DeploymentList","items":[
  {"metadata":{"name":"accounts","namespace":"prod","annotations":{"deployment.kubernetes.io/revision":"12"}},
   "spec":{"replicas":2,"selector":{"matchLabels":{"app":"accounts"}},
     "template":{"metadata":{"labels":{"app":"accounts"}},"spec":{"containers":[{"name":"app","image":"accounts:3.18.0"}]}}},
   "status":{"replicas":2,"readyReplicas":1,"updatedReplicas":2,"unavailableReplicas":1,
     "conditions":[{"type":"Available","status":"True","reason":"MinimumReplicasAvailable"},
                   {"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded","message":"timed out"}]}}]}"#;

const POD_LOG: &str = "2026-11-24T09:58:59.000000000Z {\"level\":\"info\",\"msg\":\"starting accounts\"}\n\
2026-11-24T09:59:00.000000000Z {\"level\":\"fatal\",\"msg\":\"heap out of memory\"}\n";

const REPLIES: &str = r#"{"ok":true,"has_more":false,"messages":[
  {"type":"message","subtype":"bot_message","bot_id":"B1","ts":"1764036000.000100","text":"",
   "attachments":[{"title":"[FIRING:1] MongoDBConnectionPoolExhausted","text":"accounts pool 100/100"}]},
  {"type":"message","user":"U1","ts":"1764036060.000200","thread_ts":"1764036000.000100","text":"on it"}]}"#;

const CHANNEL: &str = r#"{"ok":true,"channel":{"id":"C0ALERTS","name":"prod-alerts","is_private":false,
  "topic":{"value":"Production alerts","creator":"U1","last_set":1},"purpose":{"value":"alerts"}}}"#;

const TLS: &str = r#"{"host":"shop.example.com","port":443,"subject":"CN=shop.example.com","issuer":"CN=R11,O=Let's Encrypt,C=US",
  "sans":["shop.example.com"],"not_before":"2026-08-29T01:02:00Z","not_after":"2026-11-27T01:02:00Z",
  "chain_verified":true,"verify_error":null}"#;

const DNS_NX: &str =
    r#"{"name":"ledger.prod.svc.cluster.local","record_type":"A","answers":[],"error":"NXDOMAIN"}"#;

fn scenario() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    write(d, "signoz/logs.json", LOGS);
    write(d, "signoz/metrics.json", METRICS);
    write(d, "signoz/traces.json", TRACES);
    write(d, "kubernetes/pods.json", PODS);
    write(d, "kubernetes/events.json", EVENTS);
    write(d, "kubernetes/services.json", SERVICES);
    write(d, "kubernetes/endpoints.json", ENDPOINTS);
    write(d, "kubernetes/deployments.json", DEPLOYMENTS);
    write(d, "kubernetes/logs/accounts-5d8f-x1.log", POD_LOG);
    write(d, "slack/replies.json", REPLIES);
    write(d, "slack/channel.json", CHANNEL);
    write(d, "network/tls/shop.example.com.json", TLS);
    write(d, "network/dns/ledger.prod.svc.cluster.local.json", DNS_NX);
    tmp
}

/// The toolbox is shared between tasks and its calls can be spawned.
#[allow(dead_code)]
fn toolbox_is_shareable(toolbox: Arc<Toolbox>) {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: T) {}
    send_sync(&toolbox);
    send(async move {
        toolbox
            .call(call("resolve_dns", json!({"name": "x"})), TIMEOUT)
            .await
    });
}

#[tokio::test]
async fn lists_every_tool_with_a_json_schema() {
    let toolbox = Toolbox::start(fixture_backends(None).expect("backends"))
        .await
        .expect("toolbox");
    let names: Vec<&str> = toolbox
        .descriptors()
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names, TOOL_NAMES, "every tool, in TOOL_NAMES order");
    for d in toolbox.descriptors() {
        assert!(!d.description.is_empty(), "{} has a description", d.name);
        assert_eq!(d.input_schema["type"], "object", "{}", d.name);
        assert!(d.input_schema["properties"].is_object(), "{}", d.name);
    }
    let logs = &toolbox.descriptors()[0];
    assert_eq!(logs.input_schema["required"], json!(["service"]));
    assert!(logs.input_schema["properties"]["severity"].is_object());
    let metrics = toolbox
        .descriptors()
        .iter()
        .find(|d| d.name == "query_metrics")
        .expect("query_metrics");
    assert_eq!(
        metrics.input_schema["properties"]["metrics"]["type"],
        "array"
    );
}

#[tokio::test]
async fn every_tool_answers_from_fixtures() {
    let tmp = scenario();
    let toolbox = Toolbox::start(fixture_backends(Some(tmp.path())).expect("backends"))
        .await
        .expect("toolbox");

    // SigNoz.
    let Observation::Logs { records } = observation(
        run(
            &toolbox,
            "query_logs",
            json!({"service": "accounts", "severity": "WARN"}),
        )
        .await,
    ) else {
        panic!("logs expected");
    };
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].severity.as_deref(), Some("ERROR"));
    assert_eq!(records[0].pod.as_deref(), Some("accounts-5d8f-x1"));
    assert_eq!(records[0].service.as_deref(), Some("accounts"));

    let Observation::Metrics { series } = observation(
        run(
            &toolbox,
            "query_metrics",
            json!({"service": "accounts", "metrics": ["mongodb_pool_in_use", "mongodb_pool_max", "mongodb_replication_lag"]}),
        )
        .await,
    ) else {
        panic!("metrics expected");
    };
    let names: Vec<&str> = series.iter().map(|s| s.metric.as_str()).collect();
    assert_eq!(
        names,
        vec!["mongodb_pool_in_use", "mongodb_pool_max"],
        "only what was asked"
    );
    assert_eq!(series[0].last(), Some(100.0));

    let Observation::Traces { spans } = observation(
        run(
            &toolbox,
            "query_traces",
            json!({"service": "accounts", "only_errors": true}),
        )
        .await,
    ) else {
        panic!("traces expected");
    };
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].duration_ms, 1920.0);
    assert!(spans[0].has_error);
    assert_eq!(spans[0].peer.as_deref(), Some("mongodb"));

    // Kubernetes.
    let Observation::Pods { pods } = observation(
        run(
            &toolbox,
            "get_pod_status",
            json!({"namespace": "prod", "service": "accounts"}),
        )
        .await,
    ) else {
        panic!("pods expected");
    };
    assert_eq!(
        pods.len(),
        2,
        "the staging pod is filtered out by namespace"
    );
    assert_eq!(
        pods[0].containers[0].reason.as_deref(),
        Some("CrashLoopBackOff")
    );
    assert_eq!(
        pods[0].containers[0].last_termination_reason.as_deref(),
        Some("OOMKilled")
    );

    let Observation::ServiceHealth { services } = observation(
        run(
            &toolbox,
            "get_service_health",
            json!({"namespace": "prod", "service": "accounts"}),
        )
        .await,
    ) else {
        panic!("service health expected");
    };
    assert_eq!(
        (services[0].ready_endpoints, services[0].not_ready_endpoints),
        (1, 1)
    );
    let deployment = services[0].deployment.as_ref().expect("deployment");
    assert_eq!(deployment.revision.as_deref(), Some("12"));
    assert_eq!(
        deployment.conditions,
        vec!["Progressing=False: ProgressDeadlineExceeded timed out"]
    );

    let Observation::Events { events } =
        observation(run(&toolbox, "get_events", json!({"namespace": "prod"})).await)
    else {
        panic!("events expected");
    };
    let reasons: Vec<&str> = events.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        reasons,
        vec!["ScalingReplicaSet", "BackOff"],
        "warnings and rollouts, oldest first"
    );
    let Observation::Events { events } = observation(
        run(
            &toolbox,
            "get_events",
            json!({"namespace": "prod", "object": "accounts-5d8f-x2"}),
        )
        .await,
    ) else {
        panic!("events expected");
    };
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].reason, "Started");

    let Observation::PodLogs { pod, records, .. } = observation(
        run(
            &toolbox,
            "get_pod_logs",
            json!({"namespace": "prod", "service": "accounts", "tail_lines": 50, "previous": true}),
        )
        .await,
    ) else {
        panic!("pod logs expected");
    };
    assert_eq!(pod, "accounts-5d8f-x1", "the pod with the most restarts");
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].severity.as_deref(), Some("FATAL"));
    assert_eq!(records[1].body, "heap out of memory");

    // Slack.
    let Observation::Thread { thread } = observation(
        run(
            &toolbox,
            "get_thread_info",
            json!({"channel": "C0ALERTS", "ts": "1764036000.000100"}),
        )
        .await,
    ) else {
        panic!("thread expected");
    };
    assert_eq!(thread.messages.len(), 2);
    assert!(
        thread.messages[0]
            .text
            .contains("MongoDBConnectionPoolExhausted")
    );
    let Observation::Channel { channel } =
        observation(run(&toolbox, "get_channel_info", json!({"channel": "C0ALERTS"})).await)
    else {
        panic!("channel expected");
    };
    assert_eq!(channel.name.as_deref(), Some("prod-alerts"));

    // Network.
    let Observation::Certificate { cert } = observation(
        run(
            &toolbox,
            "check_tls_certificate",
            json!({"host": "https://shop.example.com/", "port": "443"}),
        )
        .await,
    ) else {
        panic!("certificate expected");
    };
    assert_eq!(cert.host, "shop.example.com");
    let Observation::Dns { result } = observation(
        run(
            &toolbox,
            "resolve_dns",
            json!({"name": "ledger.prod.svc.cluster.local"}),
        )
        .await,
    ) else {
        panic!("dns expected");
    };
    assert_eq!(
        result.error.as_deref(),
        Some("NXDOMAIN"),
        "NXDOMAIN is data"
    );
}

#[tokio::test]
async fn posting_is_recorded() {
    let tmp = scenario();
    let store = Arc::new(FixtureStore::load(tmp.path()).expect("store"));
    let toolbox = Toolbox::start(store.clone().backends())
        .await
        .expect("toolbox");
    let out = run(
        &toolbox,
        "post_thread_reply",
        json!({"channel": "C0ALERTS", "thread_ts": "1764036000.000100", "text": "RCA: pool exhausted"}),
    )
    .await;
    let Observation::Posted { channel, ts } = observation(out) else {
        panic!("posted expected");
    };
    assert_eq!(channel, "C0ALERTS");
    let posted = store.posted();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].ts, ts);
    assert_eq!(posted[0].text, "RCA: pool exhausted");
    assert_eq!(posted[0].thread_ts, "1764036000.000100");
}

#[tokio::test]
async fn missing_data_is_no_data() {
    let toolbox = Toolbox::start(fixture_backends(None).expect("backends"))
        .await
        .expect("toolbox");
    let calls = [
        ("query_logs", json!({"service": "a"})),
        (
            "query_metrics",
            json!({"service": "a", "metrics": ["http_server_error_ratio"]}),
        ),
        ("query_traces", json!({"service": "a"})),
        (
            "get_pod_status",
            json!({"namespace": "default", "service": "a"}),
        ),
        (
            "get_service_health",
            json!({"namespace": "default", "service": "a"}),
        ),
        ("get_events", json!({"namespace": "default"})),
        (
            "get_pod_logs",
            json!({"namespace": "default", "service": "a"}),
        ),
        (
            "get_pod_logs",
            json!({"namespace": "default", "pod": "a-1"}),
        ),
        ("get_thread_info", json!({"channel": "C1", "ts": "1.2"})),
        ("get_channel_info", json!({"channel": "C1"})),
        ("check_tls_certificate", json!({"host": "a.example.com"})),
        ("resolve_dns", json!({"name": "a.example.com"})),
    ];
    for (tool, args) in calls {
        let out = run(&toolbox, tool, args).await;
        assert!(
            matches!(out.outcome, ToolOutcome::NoData { .. }),
            "{tool}: {:?}",
            out.outcome
        );
    }

    // A scenario with files, but none about this service/metric.
    let tmp = scenario();
    let toolbox = Toolbox::start(fixture_backends(Some(tmp.path())).expect("backends"))
        .await
        .expect("toolbox");
    for (tool, args) in [
        (
            "query_metrics",
            json!({"service": "accounts", "metrics": ["dns_lookup_errors"]}),
        ),
        (
            "get_pod_status",
            json!({"namespace": "prod", "service": "ledger"}),
        ),
        (
            "get_service_health",
            json!({"namespace": "prod", "service": "ledger"}),
        ),
        (
            "check_tls_certificate",
            json!({"host": "other.example.com"}),
        ),
    ] {
        let out = run(&toolbox, tool, args).await;
        assert!(
            matches!(out.outcome, ToolOutcome::NoData { .. }),
            "{tool}: {:?}",
            out.outcome
        );
    }
}

#[tokio::test]
async fn malformed_file_fails_naming_it() {
    let tmp = scenario();
    write(
        tmp.path(),
        "kubernetes/pods.json",
        r#"{"kind":"PodList","items":[{"metadata":{"name":7}}]}"#,
    );
    write(
        tmp.path(),
        "signoz/metrics.json",
        "{\"status\": \"success\", \"data\": ",
    );
    write(
        tmp.path(),
        "network/dns/broken.example.com.json",
        "{\"name\": 1}",
    );
    write(
        tmp.path(),
        "signoz/traces.json",
        r#"{"status":"success","data":{"type":"raw","data":{"results":{"rows":[]}}}}"#,
    );
    let toolbox = Toolbox::start(
        fixture_backends(Some(tmp.path())).expect("one bad file does not fail the store"),
    )
    .await
    .expect("toolbox");
    for (tool, args, file) in [
        ("get_pod_status", json!({"namespace": "prod"}), "pods.json"),
        (
            "query_metrics",
            json!({"service": "a", "metrics": ["x"]}),
            "metrics.json",
        ),
        (
            "resolve_dns",
            json!({"name": "broken.example.com"}),
            "broken.example.com.json",
        ),
    ] {
        match run(&toolbox, tool, args).await.outcome {
            ToolOutcome::Failed { error } => assert!(error.contains(file), "{tool}: {error}"),
            other => panic!("{tool}: expected a failure, got {other:?}"),
        }
    }
    match run(&toolbox, "query_traces", json!({"service": "a"}))
        .await
        .outcome
    {
        ToolOutcome::Failed { error } => assert!(error.contains("results"), "{error}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    // The other tools still answer.
    assert!(matches!(
        run(&toolbox, "query_logs", json!({"service": "accounts"}))
            .await
            .outcome,
        ToolOutcome::Data { .. }
    ));
}

#[tokio::test]
async fn bad_calls_fail() {
    let toolbox = Toolbox::start(fixture_backends(None).expect("backends"))
        .await
        .expect("toolbox");
    let out = run(&toolbox, "no_such_tool", json!({})).await;
    assert!(
        matches!(out.outcome, ToolOutcome::Failed { .. }),
        "{:?}",
        out.outcome
    );
    let out = run(&toolbox, "query_logs", json!({"namespace": "x"})).await;
    match out.outcome {
        ToolOutcome::Failed { error } => assert!(error.contains("service"), "{error}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    let out = run(
        &toolbox,
        "query_logs",
        json!({"service": "a", "severity": "LOUD"}),
    )
    .await;
    assert!(
        matches!(out.outcome, ToolOutcome::Failed { .. }),
        "{:?}",
        out.outcome
    );
    let out = run(&toolbox, "get_pod_logs", json!({"namespace": "x"})).await;
    assert!(
        matches!(out.outcome, ToolOutcome::Failed { .. }),
        "{:?}",
        out.outcome
    );
}

/// A SigNoz that takes its time.
struct SlowSignoz(Duration);

impl SignozBackend for SlowSignoz {
    fn query_range(&self, _body: Value) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        let delay = self.0;
        async move {
            tokio::time::sleep(delay).await;
            Ok(None)
        }
        .boxed()
    }
}

/// A SigNoz that is down.
struct DownSignoz;

impl SignozBackend for DownSignoz {
    fn query_range(&self, _body: Value) -> BoxFuture<'_, Result<Option<Value>, BackendError>> {
        std::future::ready(Err(BackendError::Request("connection refused".into()))).boxed()
    }
}

fn with_signoz(signoz: Arc<dyn SignozBackend>) -> Backends {
    let mut backends = fixture_backends(None).expect("backends");
    backends.signoz = signoz;
    backends
}

#[tokio::test]
async fn slow_backend_times_out_and_the_toolbox_keeps_working() {
    let toolbox = Toolbox::start(with_signoz(Arc::new(SlowSignoz(Duration::from_secs(30)))))
        .await
        .expect("toolbox");
    let started = Instant::now();
    let out = toolbox
        .call(
            call("query_logs", json!({"service": "a"})),
            Duration::from_millis(100),
        )
        .await;
    assert_eq!(out.outcome, ToolOutcome::TimedOut { after_ms: 100 });
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(out.elapsed_ms >= 100.0);
    // Other servers are unaffected, and the same server still answers other calls.
    let out = run(&toolbox, "get_events", json!({"namespace": "default"})).await;
    assert!(
        matches!(out.outcome, ToolOutcome::NoData { .. }),
        "{:?}",
        out.outcome
    );
    toolbox.shutdown().await;
}

#[tokio::test]
async fn backend_errors_fail() {
    let toolbox = Toolbox::start(with_signoz(Arc::new(DownSignoz)))
        .await
        .expect("toolbox");
    match run(&toolbox, "query_traces", json!({"service": "a"}))
        .await
        .outcome
    {
        ToolOutcome::Failed { error } => assert!(error.contains("connection refused"), "{error}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn concurrent_calls() {
    let tmp = scenario();
    let toolbox = Arc::new(
        Toolbox::start(fixture_backends(Some(tmp.path())).expect("backends"))
            .await
            .expect("toolbox"),
    );
    let calls = (0..64).map(|i| {
        let toolbox = toolbox.clone();
        async move {
            let (tool, args) = if i % 2 == 0 {
                ("query_logs", json!({"service": "accounts"}))
            } else {
                ("get_pod_status", json!({"namespace": "prod"}))
            };
            run(&toolbox, tool, args).await
        }
    });
    for out in futures::future::join_all(calls).await {
        assert!(
            matches!(out.outcome, ToolOutcome::Data { .. }),
            "{:?}",
            out.outcome
        );
    }
}

/// Every scenario under `fixtures/scenarios` (when present): no tool may fail to decode its
/// files.
#[tokio::test]
async fn scenario_fixtures_decode() {
    let root = std::env::var_os("SRE_AGENT_SCENARIOS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios"));
    let Ok(entries) = std::fs::read_dir(&root) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        let store = Arc::new(FixtureStore::load(&dir).expect("load"));
        let toolbox = Toolbox::start(store.backends()).await.expect("toolbox");
        let mut calls = vec![
            ("query_logs", json!({"service": "x"})),
            (
                "query_metrics",
                json!({"service": "x", "metrics": ["http_server_request_rate", "http_server_error_ratio"]}),
            ),
            ("query_traces", json!({"service": "x"})),
            ("get_pod_status", json!({"namespace": "prod"})),
            (
                "get_service_health",
                json!({"namespace": "prod", "service": "x"}),
            ),
            ("get_events", json!({"namespace": "prod"})),
            ("get_thread_info", json!({"channel": "C", "ts": "1"})),
            ("get_channel_info", json!({"channel": "C"})),
        ];
        let list = |sub: &str| -> Vec<String> {
            std::fs::read_dir(dir.join(sub))
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        for f in list("kubernetes/logs") {
            let pod = f.trim_end_matches(".log").to_owned();
            calls.push(("get_pod_logs", json!({"namespace": "prod", "pod": pod})));
        }
        for f in list("network/tls") {
            calls.push((
                "check_tls_certificate",
                json!({"host": f.trim_end_matches(".json")}),
            ));
        }
        for f in list("network/dns") {
            calls.push(("resolve_dns", json!({"name": f.trim_end_matches(".json")})));
        }
        for (tool, args) in calls {
            let out = run(&toolbox, tool, args).await;
            assert!(
                !matches!(
                    out.outcome,
                    ToolOutcome::Failed { .. } | ToolOutcome::TimedOut { .. }
                ),
                "{}: {tool}: {:?}",
                dir.display(),
                out.outcome
            );
        }
    }
}
