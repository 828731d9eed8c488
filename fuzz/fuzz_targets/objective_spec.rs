//! Objective and constraint specs (`Objective::from_str`, `Constraint::from_str`); see `nasbo_fuzz::core_parsers::objective_spec`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = nasbo_fuzz::core_parsers::objective_spec(text);
    }
});
