//! Config files (`StudySpec`, what `nasbo search --config` reads), laid under the flags,
//! validated and recorded; see `nasbo_fuzz::experiment_inputs::config`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = nasbo_fuzz::experiment_inputs::config(text);
    }
});
