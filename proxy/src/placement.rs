//! Where a new user's mailboxes go: the backend an administrator's `CREATE` of a user's INBOX
//! (`Other Users/newuser`, internal `user.newuser`) is sent to, chosen by a policy.
//!
//! Every other CREATE has its place already (the parent's backend, else the creator's INBOX
//! backend: `session/route.rs`); only a new personal tree needs a choice. `least-mailboxes`
//! counts the table's entries per server and picks the emptiest configured backend (a scan of
//! the table, once per new user); `fixed` takes the servers of a list in turn (per core).

use std::sync::atomic::{AtomicUsize, Ordering};

use corvid_mupdate::table::MailboxTable;

/// How the backend of a new user is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// The configured backend holding the fewest mailboxes in the table.
    LeastMailboxes,
    /// These servers, in turn.
    Fixed(Vec<Box<str>>),
}

/// A [`Policy`] and the state it needs (the turn of `fixed`).
#[derive(Debug)]
pub struct Placement {
    policy: Policy,
    turn: AtomicUsize,
}

impl Clone for Placement {
    fn clone(&self) -> Placement {
        Placement::new(self.policy.clone())
    }
}

impl Placement {
    /// Places new users by `policy`.
    pub fn new(policy: Policy) -> Placement {
        Placement {
            policy,
            turn: AtomicUsize::new(0),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The server a new user goes to, among `servers` (the configured backends), by the
    /// mailboxes `table` places on each; `None` when there is none to choose.
    pub fn choose(&self, table: &MailboxTable, servers: &[Box<str>]) -> Option<Box<str>> {
        match &self.policy {
            Policy::Fixed(list) if !list.is_empty() => {
                let turn = self.turn.fetch_add(1, Ordering::Relaxed);
                list.get(turn % list.len()).cloned()
            }
            Policy::Fixed(_) => None,
            Policy::LeastMailboxes => {
                let mut counts = vec![0usize; servers.len()];
                for entry in table.iter() {
                    if let Some(at) = servers.iter().position(|s| s.as_bytes() == entry.server()) {
                        counts[at] += 1;
                    }
                }
                // The first of the emptiest, so that ties go the same way every time.
                let emptiest = counts.iter().enumerate().min_by_key(|&(at, n)| (*n, at))?;
                servers.get(emptiest.0).cloned()
            }
        }
    }
}

impl Default for Placement {
    /// `least-mailboxes`.
    fn default() -> Placement {
        Placement::new(Policy::LeastMailboxes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corvid_mupdate::table::{Change, EntryRef, State};

    fn table(entries: &[(&str, &str)]) -> MailboxTable {
        let mut table = MailboxTable::default();
        for (seq, (name, location)) in entries.iter().enumerate() {
            let entry = EntryRef {
                name: name.as_bytes(),
                state: State::Active,
                location: location.as_bytes(),
                acl: b"",
            };
            table.apply(seq as u64 + 1, Change::upsert(entry));
        }
        table
    }

    fn servers(names: &[&str]) -> Vec<Box<str>> {
        names.iter().map(|&name| name.into()).collect()
    }

    #[test]
    fn least_mailboxes_picks_the_emptiest_configured_backend() {
        let table = table(&[
            ("user.a", "be1!default"),
            ("user.a.Sent", "be1!default"),
            ("user.b", "be2!default"),
            ("user.c", "gone!default"),
        ]);
        let placement = Placement::new(Policy::LeastMailboxes);
        let chosen = placement.choose(&table, &servers(&["be1", "be2"]));
        assert_eq!(chosen.as_deref(), Some("be2"));
        // A backend with no mailbox at all is the emptiest; ties go to the first listed.
        let chosen = placement.choose(&table, &servers(&["be1", "be3", "be4"]));
        assert_eq!(chosen.as_deref(), Some("be3"));
        assert_eq!(placement.choose(&table, &[]), None);
    }

    #[test]
    fn fixed_takes_its_servers_in_turn() {
        let placement = Placement::new(Policy::Fixed(servers(&["be2", "be1"])));
        let table = MailboxTable::default();
        let chosen: Vec<_> = (0..3)
            .filter_map(|_| placement.choose(&table, &servers(&["be1"])))
            .collect();
        assert_eq!(chosen, servers(&["be2", "be1", "be2"]));
        assert_eq!(
            Placement::new(Policy::Fixed(Vec::new())).choose(&table, &servers(&["be1"])),
            None
        );
    }
}
