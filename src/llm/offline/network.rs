//! The network agent's detectors, in order: certificate expiry (and failing renewal), incomplete
//! TLS chain, DNS failure, upstream with no ready endpoints, upstream timeouts; plus the shared
//! traffic/latency and own-regression checks that usually end up as rejected distractors. Each
//! lives in [`super::causes`] with its class.

use super::causes::certificate::cert_expiry;
use super::causes::dns::dns_failure;
use super::causes::tls_chain::tls_chain;
use super::causes::traffic;
use super::causes::upstream::{no_ready_endpoints, upstream_timeout};
use super::common::Detector;

pub(crate) const DETECTORS: &[Detector] = &[
    cert_expiry,
    tls_chain,
    dns_failure,
    no_ready_endpoints,
    upstream_timeout,
    traffic::traffic_latency,
    traffic::own_regression,
];
