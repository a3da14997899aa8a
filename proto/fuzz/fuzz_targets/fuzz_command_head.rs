#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| corvid_proto::fuzzing::command::fuzz_command_head(data));
