//! Journal bytes (`journal::parse_journal`, what `read_journal` runs on a file); see `nasbo_fuzz::core_parsers::journal`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nasbo_fuzz::core_parsers::journal(data);
});
