//! The hot-path cost of the per-core statistics: a counter increment, a command count and a
//! latency record through a core's recorder, beside a locked `fetch_add` for comparison.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use corvid_proto::imap::command::CommandKind;
use corvid_proxy::stats::{Counter, Latency, Stats};
use criterion::{Criterion, criterion_group, criterion_main};

fn recording(c: &mut Criterion) {
    let stats = Stats::new(1);
    let recorder = stats.recorder(0).unwrap();
    let mut group = c.benchmark_group("stats");
    group.bench_function("counter_add", |b| {
        b.iter(|| recorder.add(black_box(Counter::ClientReadBytes), black_box(512)))
    });
    group.bench_function("command_count", |b| {
        b.iter(|| recorder.command(black_box(CommandKind::Fetch)))
    });
    let mut micros = 0u64;
    group.bench_function("latency_record", |b| {
        b.iter(|| {
            // Vary the bucket as real times do.
            micros = (micros + 37) % 50_000;
            recorder.record(
                black_box(Latency::CommandRelay),
                Duration::from_micros(micros),
            )
        })
    });
    let shared = AtomicU64::new(0);
    group.bench_function("baseline_fetch_add", |b| {
        b.iter(|| shared.fetch_add(black_box(512), Ordering::Relaxed))
    });
    group.finish();
}

criterion_group!(benches, recording);
criterion_main!(benches);
