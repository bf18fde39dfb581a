#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| envshim::fuzzing::recipients(data));
