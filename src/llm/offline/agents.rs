//! Which detectors each agent runs, in order. The detectors themselves are organised by cause
//! class in [`super::causes`]; an agent's list says which of them it owns (scored in full) —
//! the other agents' detectors still run at a discount (see [`super::analyze_for`]).

use super::causes::auth::auth_failure;
use super::causes::certificate::cert_expiry;
use super::causes::cpu::{cpu_throttling, cpu_traffic, node_cpu_saturation};
use super::causes::crashloop::crashloop;
use super::causes::disk::disk_full;
use super::causes::dns::dns_failure;
use super::causes::memory::oom;
use super::causes::nodes::{detect_node_not_ready, node_memory_pressure};
use super::causes::pool::{pool_exhausted, pool_traffic};
use super::causes::pull::detect_image_pull;
use super::causes::reachability::db_network;
use super::causes::replication::{replication_lag, slow_primary};
use super::causes::rollout::{replicas_unavailable_hint, rollout_stuck};
use super::causes::scheduling::detect_unschedulable;
use super::causes::slow_query::{missing_index, pool_slow_query};
use super::causes::tls_chain::tls_chain;
use super::causes::traffic::{own_regression, traffic_latency};
use super::causes::upstream::{no_ready_endpoints, upstream_timeout};
use super::common::Detector;

/// Network: certificate expiry (and failing renewal), incomplete TLS chain, DNS failure,
/// upstream with no ready endpoints, upstream timeouts; traffic/latency and own regression.
pub(crate) const NETWORK: &[Detector] = &[
    cert_expiry,
    tls_chain,
    dns_failure,
    no_ready_endpoints,
    upstream_timeout,
    traffic_latency,
    own_regression,
];

/// Database (MongoDB): pool exhausted and why (slow query after a deploy, traffic spike,
/// unexplained), missing index, replication lag, auth failure, unreachable, slow primary; OOM and
/// crash loop.
pub(crate) const DATABASE: &[Detector] = &[
    pool_slow_query,
    pool_traffic,
    pool_exhausted,
    missing_index,
    replication_lag,
    auth_failure,
    db_network,
    slow_primary,
    oom,
    crashloop,
];

/// Kubernetes: replicas unavailable (alert only), crash loop, image pull, unschedulable, rollout
/// stuck, node NotReady; OOM.
pub(crate) const KUBERNETES: &[Detector] = &[
    replicas_unavailable_hint,
    crashloop,
    detect_image_pull,
    detect_unschedulable,
    rollout_stuck,
    detect_node_not_ready,
    oom,
];

/// Resource: OOM / memory leak, CPU throttling, node CPU saturation, disk full, CPU from a traffic
/// surge, node memory pressure.
pub(crate) const RESOURCE: &[Detector] = &[
    oom,
    cpu_throttling,
    node_cpu_saturation,
    disk_full,
    cpu_traffic,
    node_memory_pressure,
];
