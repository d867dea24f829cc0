//! Fuzz target: any bytes given as `agents.yaml`: loaded or refused with a message, never a panic.
//! The property lives in `tests/support/properties.rs`, shared with `tests/properties.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| {
    properties::config(data);
});
