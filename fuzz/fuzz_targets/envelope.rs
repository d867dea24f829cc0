//! Fuzz target: a Socket Mode frame as the bot receives it: decoded, classified, and parsed when it carries an alert.
//! The property lives in `tests/support/properties.rs`, shared with `tests/properties.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| {
    properties::envelope(data);
});
