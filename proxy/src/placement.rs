//! Where a new user's mailboxes go: the backend an administrator's `CREATE` of a user's INBOX
//! (`Other Users/newuser`, internal `user.newuser`) is sent to, chosen by a policy.
//!
//! Every other CREATE has its place already (the parent's backend, else the creator's INBOX
//! backend: `session/route.rs`); only a new personal tree needs a choice. `least-mailboxes`
//! counts the table's entries per server and picks the emptiest configured backend (a scan of
//! the table, once per new user); `most-free` picks the backend that last reported the most
//! space free to the [`survey`](crate::survey) (as a Cyrus frontend's `serverlist_select_mode:
//! freespace-most`), and falls back to `least-mailboxes` while no backend has reported;
//! `fixed` takes the servers of a list in turn (per core).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use corvid_mupdate::table::MailboxTable;

use crate::survey::FreeSpace;

/// How the backend of a new user is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// The configured backend holding the fewest mailboxes in the table.
    LeastMailboxes,
    /// The configured backend with the most space free, as the survey last heard.
    MostFree,
    /// These servers, in turn.
    Fixed(Vec<Box<str>>),
}

/// A [`Policy`] and the state it needs (the turn of `fixed`).
#[derive(Debug)]
pub struct Placement {
    policy: Policy,
    turn: AtomicUsize,
    /// What the survey heard, for `most-free`.
    free_space: Option<Arc<FreeSpace>>,
}

impl Clone for Placement {
    fn clone(&self) -> Placement {
        Placement {
            policy: self.policy.clone(),
            turn: AtomicUsize::new(0),
            free_space: self.free_space.clone(),
        }
    }
}

impl Placement {
    /// Places new users by `policy` (`most-free` needs [`Placement::with_free_space`], else
    /// it places as `least-mailboxes`).
    pub fn new(policy: Policy) -> Placement {
        Placement {
            policy,
            turn: AtomicUsize::new(0),
            free_space: None,
        }
    }

    /// The free space `most-free` reads, kept current by a survey.
    pub fn with_free_space(mut self, free_space: Arc<FreeSpace>) -> Placement {
        self.free_space = Some(free_space);
        self
    }

    /// The free space this placement reads, if it has any.
    pub fn free_space(&self) -> Option<&Arc<FreeSpace>> {
        self.free_space.as_ref()
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
            Policy::MostFree
                if let Some(server) = self
                    .free_space
                    .as_ref()
                    .and_then(|free| free.most_free(servers)) =>
            {
                Some(server)
            }
            Policy::LeastMailboxes | Policy::MostFree => {
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
    fn most_free_picks_the_backend_with_the_most_space_and_falls_back_while_none_reported() {
        let table = table(&[("user.a", "be1!default"), ("user.b", "be2!default")]);
        let free = Arc::new(FreeSpace::new(servers(&["be1", "be2", "be3"])));
        let placement = Placement::new(Policy::MostFree).with_free_space(free.clone());
        let all = servers(&["be1", "be2", "be3"]);
        // Nothing heard yet: least-mailboxes (be3 holds none).
        assert_eq!(placement.choose(&table, &all).as_deref(), Some("be3"));
        free.set("be1", Some(5 << 30));
        free.set("be2", Some(9 << 30));
        assert_eq!(placement.choose(&table, &all).as_deref(), Some("be2"));
        // A backend that stopped answering is passed over; the clone on another core reads
        // the same survey.
        free.set("be2", None);
        assert_eq!(
            placement.clone().choose(&table, &all).as_deref(),
            Some("be1")
        );
        // Only the configured backends count.
        assert_eq!(
            placement.choose(&table, &servers(&["be3"])).as_deref(),
            Some("be3")
        );
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
