#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| corvid_proto::fuzzing::request::fuzz_request(data));
