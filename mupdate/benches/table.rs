//! The mailbox table at 1,000,000 mailboxes: lookups, a user's LIST range, rebuild.
//!
//! Run briefly on the shared machine:
//! `cargo bench -p corvid-mupdate --bench table -- --warm-up-time 1 --measurement-time 3`.
//!
//! Lookups walk a list of 65,536 names drawn at random from the whole table, so each probe
//! touches cold parts of the 1M-entry index and records (the probe list itself is read in
//! order). "overlay" tables carry 10,000 changes on top of the base (see `common`).

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use corvid_mupdate::table::MailboxTable;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

const PROBES: usize = 1 << 16;

fn table(c: &mut Criterion) {
    let started = Instant::now();
    let entries = common::murder();
    let generated = started.elapsed();
    let base = Arc::new(common::base(&entries));
    let built = started.elapsed() - generated;
    let changes = common::changes(&entries);
    let overlaid = common::with_overlay(base.clone(), &changes);
    eprintln!(
        "table: {} entries generated in {generated:?}, base built in {built:?}; overlay {} names",
        base.len(),
        overlaid.overlay_len()
    );
    let plain = MailboxTable::new(base.clone());
    let hits = common::hits(&entries, PROBES);
    let misses = common::misses(PROBES);
    // Names the overlay holds (changed, created or deleted since the base).
    let in_overlay: Vec<Vec<u8>> = changes.iter().map(|c| c.name().to_vec()).collect();
    for name in &hits {
        assert!(plain.get(name).is_some());
    }
    for name in &misses {
        assert!(plain.get(name).is_none() && overlaid.get(name).is_none());
    }

    let mut group = c.benchmark_group("lookup");
    group.bench_function("base/hit", |b| b.iter(probe(&hits, &plain)));
    // The same lookups over 1,024 names only: table parts they touch stay in the CPU caches.
    group.bench_function("base/hit_cached", |b| b.iter(probe(&hits[..1024], &plain)));
    group.bench_function("base/miss", |b| b.iter(probe(&misses, &plain)));
    group.bench_function("overlay/hit_in_base", |b| b.iter(probe(&hits, &overlaid)));
    group.bench_function("overlay/hit_in_overlay", |b| {
        b.iter(probe(&in_overlay, &overlaid))
    });
    group.bench_function("overlay/miss", |b| b.iter(probe(&misses, &overlaid)));
    group.finish();

    let mut group = c.benchmark_group("subtree");
    let root = b"user.u012345";
    assert_eq!(plain.subtree(root).count(), 10);
    let users: Vec<Vec<u8>> = {
        let mut rng = common::Rng::new(7);
        (0..1024)
            .map(|_| common::user(rng.below(u64::from(common::USERS)) as u32).into_bytes())
            .collect()
    };
    group.bench_function("base/u012345", |b| {
        b.iter(|| plain.subtree(black_box(root)).collect::<Vec<_>>())
    });
    group.bench_function("base/random_user", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 1023;
            plain.subtree(black_box(&users[i])).collect::<Vec<_>>()
        })
    });
    group.bench_function("overlay/random_user", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) & 1023;
            overlaid.subtree(black_box(&users[i])).collect::<Vec<_>>()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("rebuild");
    group.sample_size(10);
    group.bench_function("1M+10k_overlay", |b| {
        b.iter(|| overlaid.rebuild().expect("rebuild"))
    });
    group.bench_function("apply_10k_changes", |b| {
        b.iter_batched(
            || changes.clone(),
            |changes| {
                let mut table = MailboxTable::new(base.clone());
                for (i, change) in changes.into_iter().enumerate() {
                    table.apply(base.seq() + 1 + i as u64, change);
                }
                table
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// A routine that looks up the next name of `names` on each call (cycling through them).
fn probe<'a>(names: &'a [Vec<u8>], table: &'a MailboxTable) -> impl FnMut() -> bool + 'a {
    let mut i = 0;
    move || {
        i = (i + 1) & (PROBES - 1);
        table.get(black_box(&names[i % names.len()])).is_some()
    }
}

criterion_group!(benches, table);
criterion_main!(benches);
