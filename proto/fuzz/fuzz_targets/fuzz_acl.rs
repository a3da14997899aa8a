#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| corvid_proto::fuzzing::acl::fuzz_acl(data));
