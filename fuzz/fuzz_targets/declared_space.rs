//! Declared-space TOML (`DeclaredSpace::from_toml_str`) and the space methods run on what parses; see `nasbo_fuzz::core_parsers::declared_space`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = nasbo_fuzz::core_parsers::declared_space(text);
    }
});
