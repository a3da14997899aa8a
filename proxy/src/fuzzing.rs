//! The fuzz body for the session: arbitrary bytes from a client and from backends, in any
//! order and split anywhere, never panic the [`Session`] nor grow its output without bound.
//! Replayed by `cargo test` (see the session tests) with generated inputs.

use std::rc::Rc;
use std::time::{Duration, Instant};

use corvid_mupdate::table::{Change, MailboxTable, State};
use corvid_proto::imap::framer::FramerLimits;
use corvid_proto::mailbox::name::Namespace;

use crate::placement::Placement;
use crate::session::{Action, BackendLogin, Session, SessionConfig, Verify};

/// The table the fuzzed session (and the session's tests) route with: alice on two backends.
pub(crate) fn table() -> MailboxTable {
    let mut table = MailboxTable::default();
    for (seq, (name, location)) in [
        ("user.alice", "be1!p"),
        ("user.alice.Archive", "be2!p"),
        ("user.alice.Drafts", "be1!p"),
    ]
    .into_iter()
    .enumerate()
    {
        table.apply(
            seq as u64 + 1,
            Change::Upsert {
                name: name.as_bytes().into(),
                location: location.as_bytes().into(),
                acl: b"alice\tlrswipkxtecda\t".as_slice().into(),
                state: State::Active,
            },
        );
    }
    table
}

/// Runs one session on `data`: each chunk starts with a byte that says who sends it (client,
/// link 0, link 1, a link failure, the timer, a password verdict) and how long it is.
pub fn fuzz_session(data: &[u8]) {
    let config = Rc::new(SessionConfig {
        namespace: Namespace::default(),
        starttls_offered: true,
        plaintext_auth: data.first().is_some_and(|b| b & 1 == 0),
        verify: if data.first().is_some_and(|b| b & 2 == 0) {
            Verify::InboxBackend
        } else {
            Verify::PasswordFile
        },
        backend_login: BackendLogin::Proxy {
            user: "proxy".into(),
            password: "pw".into(),
        },
        limits: FramerLimits {
            max_line: 256,
            max_literal: 4096,
        },
        failed_login_delay: Duration::from_millis(1),
        product: "corvid".into(),
        servers: vec!["be1".into(), "be2".into()],
        proxy_registers: vec!["be2".into()],
        placement: Placement::default(),
        admins: vec!["alice".into()],
        // be2 spells other users' INBOXes as Dovecot does, and may be referred to.
        backends: [(
            "be2".into(),
            crate::session::BackendProfile {
                other_users_inbox_folder: true,
                referral_host: Some("be2.example.net".into()),
            },
        )]
        .into_iter()
        .collect(),
        referrals: data.first().is_some_and(|b| b & 4 == 0),
    });
    let table = table();
    let mut now = Instant::now();
    let mut session = Session::new(config, false);
    let mut client_pending = Vec::new();
    let mut link_pending: Vec<Vec<u8>> = Vec::new();
    let mut fed = 0usize;
    let mut rest = data.get(1..).unwrap_or_default();
    while let Some((&control, tail)) = rest.split_first() {
        let len = usize::from(control >> 3).min(tail.len());
        let (chunk, after) = tail.split_at(len);
        rest = after;
        fed += chunk.len();
        match control & 7 {
            0..=2 => {
                client_pending.extend_from_slice(chunk);
                let used = session.client_input(&client_pending, &table, now);
                client_pending.drain(..used);
            }
            3 | 4 => {
                let link = usize::from(control & 7) - 3;
                if link_pending.len() <= link {
                    link_pending.resize(link + 1, Vec::new());
                }
                if link < session.links().len() {
                    link_pending[link].extend_from_slice(chunk);
                    let used = session.link_input(link, &link_pending[link], &table, now);
                    link_pending[link].drain(..used);
                }
            }
            5 => {
                let link = usize::from(chunk.first().copied().unwrap_or(0) & 1);
                session.link_failed(link, "fuzzed failure", now);
            }
            6 => {
                now += Duration::from_millis(5);
                session.on_timer(now);
            }
            _ => session.password_checked(chunk.first().is_some_and(|b| b & 1 == 1), now),
        }
        while let Some(action) = session.next_action() {
            match action {
                Action::Connect { link, .. } => session.link_connected(link),
                Action::Master(_) => session.master_answered(Ok(()), now),
                Action::AwaitTable(_) => session.table_caught_up(),
                Action::Journal(_) => session.journal_done(Ok(None), now),
                _ => {}
            }
        }
        for link in 0..session.links().len() {
            if let Some(output) = session.link_output(link) {
                assert!(
                    output.len() <= 2 * fed + 4096,
                    "link output grows without bound"
                );
                output.clear();
            }
        }
        let output = session.client_output();
        assert!(
            output.len() <= 4 * fed + 8192,
            "client output grows without bound"
        );
        output.clear();
        assert!(
            client_pending.len() <= 256 + 4096 + 255,
            "client input held without bound"
        );
        if session.is_closed() {
            break;
        }
    }
}
