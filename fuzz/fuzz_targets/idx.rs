//! IDX and CIFAR binary data files (`nasbo_train::data::parse_idx`, `parse_cifar`); see
//! `nasbo_fuzz::experiment_inputs::{idx, cifar}`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nasbo_fuzz::experiment_inputs::idx(data);
    let _ = nasbo_fuzz::experiment_inputs::cifar(data);
});
