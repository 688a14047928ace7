#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hyojun_fuzz::harness::zip_container(data));
