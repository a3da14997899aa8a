#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| corvid_proto::fuzzing::response::fuzz_response(data));
