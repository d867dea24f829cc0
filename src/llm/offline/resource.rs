//! The resource agent's detectors, in order: OOM kills / memory leak, CPU throttling by a
//! too-low limit, node CPU saturation, disk full (unrotated logs), CPU saturation from a traffic
//! surge (HPA at max) and node memory pressure evictions. Each lives in [`super::causes`] with its
//! class.

use super::causes::cpu::{cpu_throttling, cpu_traffic, node_cpu_saturation};
use super::causes::disk::disk_full;
use super::causes::nodes::node_memory_pressure;
use super::common::Detector;

pub(crate) use super::causes::memory::oom;

pub(crate) const DETECTORS: &[Detector] = &[
    oom,
    cpu_throttling,
    node_cpu_saturation,
    disk_full,
    cpu_traffic,
    node_memory_pressure,
];
