//! Fuzz target: any bytes given to the alert parser (every source's parser is reached through detection).
//! The property lives in `tests/support/properties.rs`, shared with `tests/properties.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| {
    properties::alert_message(data);
});
