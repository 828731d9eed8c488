//! CSV tables (`Table::from_reader`, what `Table::read` runs on a plain file) and the benchmarks built from them; see `nasbo_fuzz::bench_tables::table`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nasbo_fuzz::bench_tables::table(data);
});
