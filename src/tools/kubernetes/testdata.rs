//! Shared test data of the Kubernetes tool modules: real API list JSON.

use serde::Deserialize;

#[derive(Deserialize)]
struct List<T> {
    items: Vec<T>,
}

/// The `items` of a list JSON.
pub fn list<T: serde::de::DeserializeOwned>(json: &str) -> Vec<T> {
    serde_json::from_str::<List<T>>(json).expect("list").items
}

pub const PODS: &str = r#"{"apiVersion":"v1","kind":"PodList","metadata":{},"items":[
      {"metadata":{"name":"checkout-7c9d-abcde","namespace":"shop","labels":{"app":"checkout"},
                   "creationTimestamp":"2026-11-24T09:00:00Z"},
       "spec":{"nodeName":"node-a","containers":[{"name":"app","image":"shop/checkout:1.4.2",
              "resources":{"limits":{"memory":"256Mi","cpu":"500m"}}}]},
       "status":{"phase":"Running",
         "conditions":[{"type":"Ready","status":"False","reason":"ContainersNotReady","message":"containers with unready status: [app]"},
                       {"type":"PodScheduled","status":"True"}],
         "containerStatuses":[{"name":"app","image":"shop/checkout:1.4.2","imageID":"","ready":false,"restartCount":7,
           "state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 5m0s restarting failed container"}},
           "lastState":{"terminated":{"exitCode":137,"reason":"OOMKilled","finishedAt":"2026-11-24T09:58:00Z"}}}]}},
      {"metadata":{"name":"checkout-7c9d-fghij","namespace":"shop","labels":{"app":"checkout"}},
       "spec":{"containers":[{"name":"app","image":"shop/checkout:1.4.3"}]},
       "status":{"phase":"Pending",
         "conditions":[{"type":"Ready","status":"False"}],
         "containerStatuses":[{"name":"app","image":"shop/checkout:1.4.3","imageID":"","ready":false,"restartCount":0,
           "state":{"waiting":{"reason":"ImagePullBackOff","message":"Back-off pulling image \"shop/checkout:1.4.3\""}}}]}},
      {"metadata":{"name":"web-1","namespace":"shop","labels":{"app.kubernetes.io/name":"web"}},
       "spec":{"containers":[{"name":"web","image":"nginx"}]},
       "status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable",
          "message":"0/3 nodes are available: 3 Insufficient cpu."}]}}
    ]}"#;
