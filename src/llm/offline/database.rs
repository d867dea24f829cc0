//! The database agent's detectors, in order: connection pool exhausted and *why* (slow query
//! after a deploy, traffic spike, or unexplained), missing index (COLLSCAN), replication lag,
//! authentication failure after a Secret rotation, network reachability and slow primary; plus
//! the cross-agent OOM and crash-loop checks. Each lives in [`super::causes`] with its class.

use super::causes::auth::auth_failure;
use super::causes::crashloop::crashloop;
use super::causes::pool::{pool_exhausted, pool_traffic};
use super::causes::reachability::db_network;
use super::causes::replication::{replication_lag, slow_primary};
use super::causes::slow_query::{missing_index, pool_slow_query};
use super::common::Detector;
use super::resource;

pub(crate) const DETECTORS: &[Detector] = &[
    pool_slow_query,
    pool_traffic,
    pool_exhausted,
    missing_index,
    replication_lag,
    auth_failure,
    db_network,
    slow_primary,
    resource::oom,
    crashloop,
];
