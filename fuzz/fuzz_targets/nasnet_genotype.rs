//! NASNet genotype strings (`Genotype::from_str`); see `nasbo_fuzz::core_parsers::nasnet_genotype`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = nasbo_fuzz::core_parsers::nasnet_genotype(text);
    }
});
