//! The master's store at 1,000,000 mailboxes: snapshot load and write, and the durable group
//! commit rate of the write-ahead log.
//!
//! Run briefly on the shared machine:
//! `cargo bench -p corvid-mupdate --bench store -- --warm-up-time 1 --measurement-time 3`.
//!
//! Files go under `target/tmp/mupdate-bench/` (the machine's disk, not a tmpfs). Snapshot reads
//! are from the page cache (the file was just written); writes include `fsync` of the file and
//! the directory. Each WAL sample writes and `fdatasync`s one batch, as a group commit does.

mod common;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use corvid_mupdate::store::{Store, read_snapshot, wal, write_snapshot};
use corvid_mupdate::table::{Base, Change, State};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rkyv::util::AlignedVec;

fn work_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("mupdate-bench")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench directory");
    dir
}

fn snapshots(c: &mut Criterion) {
    let entries = common::murder();
    let base = common::base(&entries);
    drop(entries);
    let dir = work_dir("snapshot");
    let path = write_snapshot(&dir, &base).expect("snapshot written");
    let size = base.as_bytes().len();
    eprintln!(
        "snapshot: {} entries, {size} bytes ({:.1} bytes a mailbox)",
        base.len(),
        size as f64 / base.len() as f64
    );

    let mut group = c.benchmark_group("snapshot");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(size as u64));
    group.bench_function("read_snapshot", |b| {
        b.iter(|| read_snapshot(black_box(&path)).expect("snapshot reads"))
    });
    group.bench_function("read_file_only", |b| {
        b.iter(|| {
            let mut file = std::fs::File::open(&path).expect("open");
            let mut bytes = AlignedVec::<16>::with_capacity(size);
            bytes.extend_from_reader(&mut file).expect("read");
            bytes
        })
    });
    group.bench_function("from_archive", |b| {
        b.iter_batched(
            || {
                let mut bytes = AlignedVec::<16>::with_capacity(size);
                bytes.extend_from_slice(base.as_bytes());
                bytes
            },
            |bytes| Base::from_archive(bytes).expect("valid"),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("verify", |b| b.iter(|| base.verify().expect("verifies")));
    group.bench_function("write_snapshot", |b| {
        b.iter(|| write_snapshot(black_box(&dir), &base).expect("snapshot written"))
    });
    group.finish();
}

fn group_commit(c: &mut Criterion) {
    let dir = work_dir("wal");
    let (mut store, _, _) = Store::open(&dir).expect("store opens");
    let mut group = c.benchmark_group("wal_append");
    let mut seq = 0u64;
    for batch in [1usize, 16, 128] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("batch_{batch}"), |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                let mut bytes = Vec::new();
                for _ in 0..iters {
                    bytes.clear();
                    for _ in 0..batch {
                        seq += 1;
                        let u = seq % u64::from(common::USERS);
                        // An ACTIVATE of a new mailbox: what a CREATE costs the master.
                        let change = Change::Upsert {
                            name: format!("user.u{u:06}.New-{seq}").into_bytes().into(),
                            location: format!("be{}!default", u % 8).into_bytes().into(),
                            acl: format!("u{u:06}\tlrswipkxtecdan\t").into_bytes().into(),
                            state: State::Active,
                        };
                        wal::encode(seq, &change, &mut bytes);
                    }
                    let started = Instant::now();
                    store.append(&bytes).expect("append");
                    elapsed += started.elapsed();
                }
                elapsed
            })
        });
    }
    group.finish();
}

criterion_group!(benches, snapshots, group_commit);
criterion_main!(benches);
