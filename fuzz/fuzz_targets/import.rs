#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| plenum_core::fuzzing::import(data));
