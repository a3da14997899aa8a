//! Memory per mailbox: the archive's bytes per entry, and what the overlay costs per entry.
//!
//! `cargo bench -p corvid-mupdate --bench memory` prints the figures (no timing). Method:
//! * archive: its exact size divided by the entry count, and the resident-set (RSS) growth of
//!   loading it with `read_snapshot` (which should match: the base is the archive bytes);
//! * overlay: RSS growth of applying N changes to a table over the base, divided by the names
//!   the overlay then holds (N = 10,000 and 100,000; the allocations are small, so they come
//!   from the heap and stay resident), beside the sum of the bytes the changes carry.
//!
//! RSS is read from `/proc/self/statm` (Linux).

#![allow(clippy::print_stdout)] // printing the figures is the point

mod common;

use std::sync::Arc;

use corvid_mupdate::store::{read_snapshot, write_snapshot};
use corvid_mupdate::table::{Change, MailboxTable};

fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("resident pages");
    pages * 4096
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` and test harness probes: nothing to list
    }
    let entries = common::murder();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mupdate-bench/memory");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench directory");
    let path = {
        let base = common::base(&entries);
        write_snapshot(&dir, &base).expect("snapshot written")
    };

    let before = rss();
    let base = Arc::new(read_snapshot(&path).expect("snapshot reads"));
    let loaded = rss() - before;
    let size = base.as_bytes().len();
    let count = base.len();
    println!("base: {count} entries");
    println!(
        "  archive: {size} bytes = {:.1} bytes a mailbox",
        size as f64 / count as f64
    );
    println!(
        "  RSS growth loading it: {loaded} bytes = {:.1} bytes a mailbox",
        loaded as f64 / count as f64
    );
    let payload: usize = entries
        .iter()
        .map(|e| e.name.len() + e.location.len() + e.acl.len())
        .sum();
    println!(
        "  of which name+location+ACL bytes: {:.1} a mailbox",
        payload as f64 / count as f64
    );

    for n in [common::OVERLAY, 100_000] {
        let before = rss();
        let changes = common::changes_n(&entries, n);
        let carried: usize = changes
            .iter()
            .map(|c| match c {
                Change::Upsert {
                    name,
                    location,
                    acl,
                    ..
                } => name.len() + location.len() + acl.len(),
                Change::Delete { name } => name.len(),
            })
            .sum();
        let mut table = MailboxTable::new(base.clone());
        for (i, change) in changes.into_iter().enumerate() {
            table.apply(base.seq() + 1 + i as u64, change);
        }
        let grown = rss() - before;
        let names = table.overlay_len();
        println!("overlay: {n} changes -> {names} names");
        println!(
            "  RSS growth: {grown} bytes = {:.0} bytes a name (changes carry {:.0} bytes a name)",
            grown as f64 / names as f64,
            carried as f64 / names as f64
        );
        drop(table);
    }
}
