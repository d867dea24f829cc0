//! Fuzz target: any `Rca` (built from the bytes) rendered as Block Kit: within Slack's limits, no ping.
//! The property lives in `tests/support/properties.rs`, shared with `tests/properties.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| {
    let rca = properties::rca_from_bytes(data);
    let title = String::from_utf8_lossy(data.get(..data.len().min(300)).unwrap_or_default());
    properties::rendered(&rca, &title, Some("svc"), None);
});
