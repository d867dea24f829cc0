//! Every input the fuzzer ever found a crash with stays a test: each file under
//! `tests/data/fuzz-regressions/<target>/` (copied there by `fuzz/run`) goes through that
//! target's property (`support::properties`) on every `cargo test`.
//!
//! The seed inputs in `tests/data/fuzz-regressions/seeds/` are hostile shapes written by hand
//! (nesting, huge fields, invalid UTF-8, markup) so the test has work even before a crash is
//! found.

mod support;

use std::path::Path;

use support::properties;

fn run(target: &str, data: &[u8]) {
    match target {
        "envelope" => properties::envelope(data),
        "alert_parser" => properties::alert_message(data),
        "block_kit" => {
            let rca = properties::rca_from_bytes(data);
            let title = String::from_utf8_lossy(&data[..data.len().min(300)]);
            properties::rendered(&rca, &title, Some("svc"), None);
        }
        "config" => properties::config(data),
        other => panic!("unknown fuzz target directory {other}"),
    }
}

#[test]
fn every_recorded_fuzz_input_keeps_its_property() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions");
    let mut replayed = 0;
    for target in std::fs::read_dir(&root).expect("regressions dir") {
        let target = target.expect("entry").path();
        if !target.is_dir() {
            continue;
        }
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        for input in std::fs::read_dir(&target).expect("target dir") {
            let input = input.expect("entry").path();
            let data = std::fs::read(&input).expect("input");
            if name == "seeds" {
                for t in ["envelope", "alert_parser", "block_kit", "config"] {
                    run(t, &data);
                }
            } else {
                run(&name, &data);
            }
            replayed += 1;
        }
    }
    assert!(replayed >= 5, "replayed {replayed} inputs");
}
