//! Every text form at once: what parses must print back to the same value; see `nasbo_fuzz::core_parsers::roundtrip`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        nasbo_fuzz::core_parsers::roundtrip(text);
    }
});
