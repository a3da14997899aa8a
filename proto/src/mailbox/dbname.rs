//! Cyrus *dbname* order: the order MUPDATE's LIST and UPDATE must send internal names in.
//!
//! Cyrus ≥ 3.6 keys mailboxes.db by the *dbname* of each internal name, and iterates it in byte
//! order; `ctl_mboxlist -m` merges the master's LIST against that iteration, so our master must
//! use the same order (reference/murder.md §3). The dbname of an internal name is:
//!
//! * the domain (everything before the first `!`) verbatim, its dots kept, then 0x1D;
//! * the rest with every `.` (the hierarchy separator) as 0x1F and every `^` (an escaped dot
//!   inside a component) as `.`.
//!
//! So `user.john` < `user.john.Sent` < `user.john.Sent.x` < `user.john.Sent-Items`, because 0x1F
//! sorts before every printable byte, while plain byte order would put `Sent-Items` before
//! `Sent.x`. Delayed-delete tombstones (`DELETED.user.john.Trash.65E33B49`) need no special case:
//! their dbname is the same mapping of their internal name.
//!
//! [`dbname_cmp`] compares without allocating; [`DbName`] is an owned name whose `Ord` is this
//! order, for ordered maps; [`subtree_range`] is the range of a map that holds a mailbox and all
//! its descendants.
//!
//! The mapping is one-to-one on valid internal names (printable US-ASCII). For arbitrary bytes
//! it is not (a raw 0x1D or 0x1F could pose as a separator), so [`dbname_cmp`] breaks ties by
//! the raw bytes and stays a total order on every input.

use std::cmp::Ordering;
use std::ops::Range;

use super::name::split_domain;

/// What the first `!` (the end of the domain) becomes in a dbname.
const DOMAIN_SEP: u8 = 0x1D;
/// What each `.` after the domain becomes in a dbname.
const HIER_SEP: u8 = 0x1F;

/// The dbname byte for byte `b` at index `i` of a name whose domain ends at `domain_end`.
#[inline]
fn dbname_byte(b: u8, i: usize, domain_end: Option<usize>) -> u8 {
    match domain_end {
        Some(end) if i < end => b,
        Some(end) if i == end => DOMAIN_SEP,
        _ => match b {
            b'.' => HIER_SEP,
            b'^' => b'.',
            _ => b,
        },
    }
}

/// The dbname bytes of an internal name from index `from` on, produced lazily.
fn dbname_bytes_from(
    name: &[u8],
    domain_end: Option<usize>,
    from: usize,
) -> impl Iterator<Item = u8> + '_ {
    name.get(from..)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(move |(i, &b)| dbname_byte(b, from + i, domain_end))
}

/// The dbname bytes of an internal name, produced lazily.
fn dbname_bytes(name: &[u8]) -> impl Iterator<Item = u8> + '_ {
    dbname_bytes_from(name, find_bang(name), 0)
}

/// Compares two internal names in Cyrus dbname order, without allocating.
///
/// Equal only for equal names; otherwise the order of [`to_dbname_key`]'s keys.
pub fn dbname_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let same = common_prefix(a, b);
    // The domain ends at the first `!`. A `!` in the shared prefix is the first of both names;
    // otherwise each name's is after the prefix, if it has one.
    let (domain_a, domain_b) = match find_bang(&a[..same]) {
        Some(at) => (Some(at), Some(at)),
        None => {
            let after = |name: &[u8]| find_bang(&name[same..]).map(|at| same + at);
            (after(a), after(b))
        }
    };
    // Where both domains end at the same index (or neither name has one, the usual case),
    // equal raw bytes map to equal dbname bytes: the mapped walk can start at the first raw
    // difference. Otherwise a shared prefix may map differently (`a.b!x` against `a.b.c`), and
    // the walk starts at the beginning.
    let mut at = if domain_a == domain_b { same } else { 0 };
    loop {
        match (a.get(at), b.get(at)) {
            (Some(&x), Some(&y)) => {
                let (x, y) = (dbname_byte(x, at, domain_a), dbname_byte(y, at, domain_b));
                if x != y {
                    return x.cmp(&y);
                }
            }
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
        }
        at += 1;
    }
}

/// Eight bytes of a name as a word (the first byte lowest).
#[inline]
fn word(chunk: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(chunk);
    u64::from_le_bytes(bytes)
}

/// How many leading bytes `a` and `b` share, compared eight at a time.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut same = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let differ = word(x) ^ word(y);
        if differ != 0 {
            return same + (differ.trailing_zeros() / 8) as usize;
        }
        same += 8;
    }
    same + a[same..]
        .iter()
        .zip(&b[same..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// The index of the first `!` in `name`, eight bytes at a time (names are short: a vectorised
/// search costs more to set up than this takes).
#[inline]
fn find_bang(name: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    for chunk in name.chunks_exact(8) {
        let x = word(chunk) ^ (ONES * u64::from(b'!'));
        // The lowest flagged byte is the first zero byte of x (flags above it may be false).
        let zero = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    name[at..].iter().position(|&c| c == b'!').map(|i| at + i)
}

/// The reference definition of [`dbname_cmp`]: the mapped names compared from their start.
#[cfg(test)]
fn dbname_cmp_reference(a: &[u8], b: &[u8]) -> Ordering {
    dbname_bytes(a).cmp(dbname_bytes(b)).then_with(|| a.cmp(b))
}

/// The Cyrus dbname of an internal name: `example.com!user.john.my^box` ->
/// `example.com` 0x1D `user` 0x1F `john` 0x1F `my.box`.
pub fn to_dbname_key(name: &[u8]) -> Vec<u8> {
    dbname_bytes(name).collect()
}

/// An internal mailbox name ordered in Cyrus dbname order, for use as an ordered-map key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DbName(Box<[u8]>);

impl DbName {
    /// Wraps an internal name.
    pub fn new(name: impl Into<Box<[u8]>>) -> Self {
        DbName(name.into())
    }

    /// The internal name.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for DbName {
    fn from(name: &str) -> Self {
        DbName::new(name.as_bytes())
    }
}

impl Ord for DbName {
    fn cmp(&self, other: &Self) -> Ordering {
        dbname_cmp(&self.0, &other.0)
    }
}

impl PartialOrd for DbName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The range of [`DbName`]s that holds `name` and all its descendants (`name.*`).
///
/// It runs from `name` up to, not including, `name` followed by a space: a descendant's dbname
/// continues `name`'s with 0x1F, below every printable byte. For a `user.john` this is exactly
/// the user's tree; `user.john-x`, `user.johnny` and other domains fall outside.
///
/// One case is wider than the tree, forced by Cyrus's order: for a name with neither a domain
/// nor a dot (a top-level name such as `lists` or `example^com`), the range also holds every
/// mailbox of the domain whose name is that dbname (`lists!…`, `example.com!…`), since 0x1D sorts
/// between the name and its children. Filter with [`in_subtree`] when that matters.
pub fn subtree_range(name: &[u8]) -> Range<DbName> {
    let mut end = Vec::with_capacity(name.len() + 1);
    end.extend_from_slice(name);
    end.push(b' ');
    DbName::new(name)..DbName::new(end)
}

/// Whether internal name `name` is `root` or one of its descendants (same domain, and `root`'s
/// components followed by zero or more others), without allocating.
pub fn in_subtree(name: &[u8], root: &[u8]) -> bool {
    let (name_domain, name) = split_domain(name);
    let (root_domain, root) = split_domain(root);
    name_domain == root_domain
        && name
            .strip_prefix(root)
            .is_some_and(|rest| rest.is_empty() || rest.first() == Some(&b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn dbname_key_maps_domain_and_separators() {
        assert_eq!(
            to_dbname_key(b"user.john.my^box"),
            b"user\x1fjohn\x1fmy.box"
        );
        assert_eq!(
            to_dbname_key(b"example.com!user.john.Sent"),
            b"example.com\x1duser\x1fjohn\x1fSent"
        );
        assert_eq!(
            to_dbname_key(b"example.com!DELETED.user.john.Trash.65E33B49"),
            b"example.com\x1dDELETED\x1fuser\x1fjohn\x1fTrash\x1f65E33B49"
        );
        // Only the first `!` ends the domain.
        assert_eq!(to_dbname_key(b"a!b!c.d"), b"a\x1db!c\x1fd");
    }

    #[test]
    fn cyrus_order_of_the_reference() {
        let mut names = vec![
            "user.johnny",
            "user.john.Sent-Items",
            "user.john-x",
            "user.john.Sent.x",
            "user.john",
            "user.john.Sent",
            "shared.lists",
            "example.com!user.john",
            "DELETED.user.john.Trash.65E33B49",
        ];
        names.sort_by(|a, b| dbname_cmp(a.as_bytes(), b.as_bytes()));
        assert_eq!(
            names,
            [
                "DELETED.user.john.Trash.65E33B49",
                "example.com!user.john",
                "shared.lists",
                "user.john",
                "user.john.Sent",
                "user.john.Sent.x",
                "user.john.Sent-Items",
                "user.john-x",
                "user.johnny",
            ]
        );
    }

    #[test]
    fn cmp_skips_shared_prefixes_only_where_they_map_alike() {
        // A domain against no domain: the shared raw prefix `a.b` maps differently.
        let pairs: &[(&[u8], &[u8])] = &[
            (b"a.b!x", b"a.b.c"),
            (b"a.b!x", b"a.b"),
            (b"ex.com!user.a", b"ex.com.user.a"),
            (b"user.a^b", b"user.a.b"),
            (b"user.a\x1fb", b"user.a.b"),
            (b"x!user.a.b", b"x!user.a^b"),
            (b"user.john.Sent", b"user.john.Sent-Items"),
            (b"", b"user"),
        ];
        for &(a, b) in pairs {
            assert_eq!(dbname_cmp(a, b), dbname_cmp_reference(a, b), "{a:?} {b:?}");
            assert_eq!(dbname_cmp(b, a), dbname_cmp_reference(b, a), "{b:?} {a:?}");
            if a.iter().chain(b).all(u8::is_ascii_graphic) {
                assert_eq!(dbname_cmp(a, b), to_dbname_key(a).cmp(&to_dbname_key(b)));
            }
        }
    }

    #[test]
    fn user_tree_is_one_range() {
        let set: BTreeSet<DbName> = [
            "user.john",
            "user.john.Sent",
            "user.john.Sent.x",
            "user.john.Sent-Items",
            "user.john-x",
            "user.johnny",
            "user.jo",
            "example.com!user.john",
            "example.com!user.john.Sent",
            "user.john^doe",
        ]
        .into_iter()
        .map(DbName::from)
        .collect();
        let in_range = |root: &str| -> Vec<&str> {
            set.range(subtree_range(root.as_bytes()))
                .map(|n| std::str::from_utf8(n.as_bytes()).unwrap())
                .collect()
        };
        assert_eq!(
            in_range("user.john"),
            [
                "user.john",
                "user.john.Sent",
                "user.john.Sent.x",
                "user.john.Sent-Items"
            ]
        );
        assert_eq!(
            in_range("user.john.Sent"),
            ["user.john.Sent", "user.john.Sent.x"]
        );
        assert_eq!(
            in_range("example.com!user.john"),
            ["example.com!user.john", "example.com!user.john.Sent"]
        );
        assert_eq!(in_range("user.john^doe"), ["user.john^doe"]);
    }

    #[test]
    fn dotless_top_level_range_also_holds_its_namesake_domain() {
        let set: BTreeSet<DbName> = ["lists", "lists!user.a", "lists.x", "listsx"]
            .into_iter()
            .map(DbName::from)
            .collect();
        let got: Vec<_> = set
            .range(subtree_range(b"lists"))
            .map(DbName::as_bytes)
            .collect();
        assert_eq!(got, [&b"lists"[..], b"lists!user.a", b"lists.x"]);
        assert!(!in_subtree(b"lists!user.a", b"lists"));
        assert!(in_subtree(b"lists.x", b"lists"));
    }

    /// Printable names built from the characters that matter to the order.
    fn name() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(b'a'),
                Just(b'b'),
                Just(b'.'),
                Just(b'-'),
                Just(b'^'),
                Just(b'!'),
                Just(b' ')
            ],
            0..8,
        )
    }

    proptest! {
        #[test]
        fn cmp_is_a_total_order_matching_the_keys(a in name(), b in name(), c in name()) {
            let ab = dbname_cmp(&a, &b);
            prop_assert_eq!(ab, dbname_cmp(&b, &a).reverse());
            prop_assert_eq!(ab == Ordering::Equal, a == b);
            // Keys are one-to-one on printable names, so the order is exactly the keys' order.
            prop_assert_eq!(ab, to_dbname_key(&a).cmp(&to_dbname_key(&b)));
            if ab != Ordering::Greater && dbname_cmp(&b, &c) != Ordering::Greater {
                prop_assert_ne!(dbname_cmp(&a, &c), Ordering::Greater);
            }
        }

        #[test]
        fn cmp_matches_the_reference_walk(a in name(), b in name(), prefix in name(), more in name()) {
            // A shared prefix exercises the skip to the first difference; the repeats make
            // names longer than a word.
            let a = [prefix.as_slice(), &more, &prefix, &a].concat();
            let b = [prefix.as_slice(), &more, &prefix, &b].concat();
            prop_assert_eq!(find_bang(&a), memchr::memchr(b'!', &a));
            prop_assert_eq!(common_prefix(&a, &b), a.iter().zip(&b).take_while(|(x, y)| x == y).count());
            prop_assert_eq!(dbname_cmp(&a, &b), dbname_cmp_reference(&a, &b));
            prop_assert_eq!(dbname_cmp(&a, &a), Ordering::Equal);
        }

        #[test]
        fn subtree_range_holds_exactly_the_subtree(root in name(), names in proptest::collection::vec(name(), 0..16)) {
            let set: BTreeSet<DbName> = names.iter().map(|n| DbName::new(n.as_slice())).collect();
            let got: BTreeSet<&[u8]> = set.range(subtree_range(&root)).map(DbName::as_bytes).collect();
            let root_key = to_dbname_key(&root);
            let expected: BTreeSet<&[u8]> = names
                .iter()
                .map(Vec::as_slice)
                .filter(|n| {
                    let namesake_domain = !root.contains(&b'!')
                        && memchr::memchr(b'!', n).is_some_and(|d| n[..d] == root_key[..]);
                    in_subtree(n, &root) || namesake_domain
                })
                .collect();
            prop_assert_eq!(got, expected);
        }
    }
}
