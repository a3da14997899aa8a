//! LIST and resolve() for one user in a murder of 1,000,000 mailboxes: the user's LIST reads
//! their own tree and the shared index, so its cost does not grow with the murder.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;

use corvid_mupdate::table::{Base, EntryRef, MailboxTable, State};
use corvid_mupdate::view::{View, Viewer};
use corvid_proto::imap::command::{Args, parse_head};
use corvid_proto::mailbox::dbname::dbname_cmp;
use corvid_proto::mailbox::name::Namespace;
use criterion::{Criterion, criterion_group, criterion_main};

/// 20,000 users of 50 mailboxes each (private), plus john's 50 and 20 shared folders
/// (top-level names, as Cyrus makes them).
fn murder() -> MailboxTable {
    let mut names: Vec<(String, String)> = Vec::with_capacity(1_000_100);
    for user in (0..20_000)
        .map(|u| format!("u{u:05}"))
        .chain(["john".to_string()])
    {
        let acl = format!("{user}\tlrswipkxtecdan\t");
        names.push((format!("user.{user}"), acl.clone()));
        for folder in 1..50 {
            names.push((format!("user.{user}.Folder{folder:02}"), acl.clone()));
        }
    }
    for folder in 0..20 {
        names.push((format!("list{folder}"), "anyone\tlr\t".into()));
    }
    names.sort_by(|a, b| dbname_cmp(a.0.as_bytes(), b.0.as_bytes()));
    let entries = names.iter().map(|(name, acl)| EntryRef {
        name: name.as_bytes(),
        location: b"be1!default",
        acl: acl.as_bytes(),
        state: State::Active,
    });
    MailboxTable::new(Arc::new(Base::build(entries, 1).unwrap()))
}

fn bench(c: &mut Criterion) {
    let table = murder();
    let ns = Namespace::default();
    let john = Viewer::new(&ns, "john", Vec::new(), false).unwrap();
    let view = View {
        table: &table,
        ns: &ns,
        viewer: &john,
        utf8: false,
    };
    let line = b"a LIST \"\" \"*\"\r\n";
    let Args::List(args) = parse_head(line).unwrap().args else {
        unreachable!()
    };
    let mut out = Vec::with_capacity(8192);
    c.bench_function("list_star_50_of_1m", |b| {
        b.iter(|| {
            out.clear();
            black_box(view.list(&args, None, &mut out).unwrap())
        })
    });
    c.bench_function("resolve_1m", |b| {
        b.iter(|| black_box(view.resolve(black_box(b"Folder42")).unwrap().rights))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
