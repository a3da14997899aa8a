//! Replays the committed fuzz corpus (proto/fuzz/corpus/TARGET/*) through the fuzz bodies on
//! stable, so every input that ever found a bug, and every seed, stays a regression test.

use std::path::PathBuf;

use corvid_proto::fuzzing;

/// A fuzz body: arbitrary bytes in, panics on a broken invariant.
type Body = fn(&[u8]);

/// Each cargo-fuzz target and the body it calls (proto/fuzz/fuzz_targets/TARGET.rs).
const TARGETS: &[(&str, Body)] = &[
    ("fuzz_framer", fuzzing::framer::fuzz_framer),
    ("fuzz_command_head", fuzzing::command::fuzz_command_head),
    ("fuzz_request", fuzzing::request::fuzz_request),
    ("fuzz_response", fuzzing::response::fuzz_response),
    ("fuzz_writer", fuzzing::response::fuzz_writer),
    ("fuzz_mailbox_names", fuzzing::mailbox::fuzz_mailbox_names),
    ("fuzz_acl", fuzzing::acl::fuzz_acl),
    ("fuzz_mupdate_server", fuzzing::mupdate::fuzz_mupdate_server),
    ("fuzz_mupdate_client", fuzzing::mupdate::fuzz_mupdate_client),
];

#[test]
fn corpus_replays_without_panic() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, body) in TARGETS {
        let dir = root.join(target);
        let mut inputs = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("corpus entry").path();
            if path.is_file() {
                body(&std::fs::read(&path).expect("corpus file"));
                inputs += 1;
            }
        }
        assert!(inputs > 0, "{target}: the corpus is empty");
    }
}

#[test]
fn every_fuzz_target_is_replayed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    for entry in std::fs::read_dir(&dir).expect("fuzz_targets") {
        let name = entry.expect("entry").path();
        let stem = name
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("target name");
        assert!(
            TARGETS.iter().any(|(t, _)| *t == stem),
            "fuzz target {stem} has no replay entry"
        );
    }
}
