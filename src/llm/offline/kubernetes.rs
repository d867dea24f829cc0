//! The Kubernetes agent's detectors, in order: crash loop (and the missing config its logs
//! name), image pull failure, unschedulable pods, stuck rollout (readiness probe / progress
//! deadline) and node NotReady; plus the cross-agent OOM check. Each lives in [`super::causes`]
//! with its class.

use super::causes::crashloop::crashloop;
use super::causes::nodes::detect_node_not_ready;
use super::causes::pull::detect_image_pull;
use super::causes::rollout::{replicas_unavailable_hint, rollout_stuck};
use super::causes::scheduling::detect_unschedulable;
use super::common::Detector;
use super::resource;

pub(crate) const DETECTORS: &[Detector] = &[
    replicas_unavailable_hint,
    crashloop,
    detect_image_pull,
    detect_unschedulable,
    rollout_stuck,
    detect_node_not_ready,
    resource::oom,
];
