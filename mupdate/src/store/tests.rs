//! Recovery of the store: replay, torn tails, snapshots, rotation and pruning.

use super::*;
use crate::table::{Change, State};

fn upsert(name: &str, location: &str) -> Change {
    Change::Upsert {
        name: name.as_bytes().into(),
        location: location.as_bytes().into(),
        acl: b"alice\tlrswipkxtecdan\t".as_slice().into(),
        state: State::Active,
    }
}

/// Appends changes `first..first+count` as one group commit, applying them to `table` too.
fn commit(store: &mut Store, table: &mut MailboxTable, first: u64, count: u64) {
    let mut batch = Vec::new();
    for seq in first..first + count {
        let change = upsert(
            &format!("user.u{}", seq % 50),
            &format!("be{}!default", seq % 3),
        );
        wal::encode(seq, &change, &mut batch);
        table.apply(seq, change);
    }
    store.append(&batch).unwrap();
}

fn same(a: &MailboxTable, b: &MailboxTable) {
    let list = |t: &MailboxTable| {
        t.iter()
            .map(|e| {
                (
                    e.name.to_vec(),
                    e.location.to_vec(),
                    e.acl.to_vec(),
                    e.state,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(list(a), list(b));
    assert_eq!(a.seq(), b.seq());
}

#[test]
fn reopening_replays_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, mut table, recovery) = Store::open(dir.path()).unwrap();
    assert_eq!((recovery.replayed, table.len()), (0, 0));
    commit(&mut store, &mut table, 1, 10);
    commit(&mut store, &mut table, 11, 100);
    drop(store);
    let epoch = recovery.epoch;
    let (_, reopened, recovery) = Store::open(dir.path()).unwrap();
    assert_eq!(recovery.replayed, 110);
    assert_eq!(recovery.epoch, epoch, "the epoch lasts");
    same(&table, &reopened);
    let other = tempfile::tempdir().unwrap();
    assert_ne!(Store::open(other.path()).unwrap().2.epoch, epoch);
}

#[test]
fn a_torn_tail_is_cut_and_appending_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, mut table, _) = Store::open(dir.path()).unwrap();
    commit(&mut store, &mut table, 1, 5);
    let path = store.segment.path().to_path_buf();
    drop(store);
    let mut torn = Vec::new();
    wal::encode(6, &upsert("user.torn", "be1!default"), &mut torn);
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(&torn[..torn.len() - 3]);
    fs::write(&path, &bytes).unwrap();

    let (mut store, mut reopened, recovery) = Store::open(dir.path()).unwrap();
    assert_eq!(recovery.torn_bytes, (torn.len() - 3) as u64);
    assert!(reopened.get(b"user.torn").is_none());
    same(&table, &reopened);
    commit(&mut store, &mut reopened, 6, 5);
    commit(&mut store, &mut table, 6, 5);
    drop(store);
    let (_, again, recovery) = Store::open(dir.path()).unwrap();
    assert_eq!(recovery.torn_bytes, 0);
    same(&table, &again);
}

#[test]
fn snapshots_rotate_and_prune() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, mut table, _) = Store::open(dir.path()).unwrap();
    let mut seq = 1;
    for _ in 0..4 {
        commit(&mut store, &mut table, seq, 20);
        seq += 20;
        let base = table.rebuild().unwrap();
        write_snapshot(dir.path(), &base).unwrap();
        // Changes made while the snapshot was written land in the old segment.
        commit(&mut store, &mut table, seq, 3);
        seq += 3;
        store.rotate(seq).unwrap();
    }
    commit(&mut store, &mut table, seq, 7);
    drop(store);
    let files = Files::list(dir.path()).unwrap();
    assert_eq!(files.snapshots.len(), SNAPSHOTS_KEPT);
    assert!(files.segments.len() <= 3, "{:?}", files.segments);
    let (_, reopened, recovery) = Store::open(dir.path()).unwrap();
    assert_eq!(recovery.snapshot_seq, files.snapshots[1]);
    same(&table, &reopened);

    // The newest snapshot damaged: the older one and the log still give the whole table.
    let newest = snapshot_path(dir.path(), files.snapshots[1]);
    let mut bytes = fs::read(&newest).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    bytes.truncate(bytes.len() - 1);
    fs::write(&newest, &bytes).unwrap();
    let (_, fallback, recovery) = Store::open(dir.path()).unwrap();
    assert_eq!(recovery.damaged_snapshots, vec![newest]);
    assert_eq!(recovery.snapshot_seq, files.snapshots[0]);
    same(&table, &fallback);
}

#[test]
fn a_missing_start_of_the_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(segment_path(dir.path(), 50), b"").unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::NoSnapshot { first: 50 })
    ));
}

#[test]
fn base_files_are_checksummed() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = MailboxTable::default();
    for seq in 1..=20 {
        table.apply(seq, upsert(&format!("user.u{seq}"), "be1!default"));
    }
    let base = table.rebuild().unwrap();
    let path = dir.path().join("base.rkyv");
    write_base(&path, &base).unwrap();
    let read = read_base(&path).unwrap();
    assert_eq!(read.as_bytes(), base.as_bytes());
    let good = fs::read(&path).unwrap();
    // Any flipped byte is caught: in the archive by the checksum, in the trailer by either.
    for at in (0..good.len()).step_by(7).chain([good.len() - 1]) {
        let mut bytes = good.clone();
        bytes[at] ^= 0x10;
        fs::write(&path, &bytes).unwrap();
        assert!(read_base(&path).is_err(), "flipped byte {at}");
    }
    fs::write(&path, &good[..good.len() - 8]).unwrap();
    assert!(
        read_base(&path)
            .unwrap_err()
            .to_string()
            .contains("trailer")
    );
    fs::write(&path, b"tiny").unwrap();
    assert!(read_base(&path).is_err());
}
