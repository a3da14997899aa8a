//! RFC 4314 rights as a small bitset, read from and written to Cyrus's rights strings.
//!
//! A right is one letter: RFC 4314's `l r s w i p k x t e a n` and Cyrus's user-defined digits
//! `0`-`9`, one bit each. The obsolete RFC 2086 letters `c` and `d` are not rights of their own
//! but *macros* over them (RFC 4314 §2.1.1). Cyrus, with its default `deleteright: c`, reads
//! and writes them so, and corvid follows Cyrus exactly because frontends must agree with the
//! backends:
//!
//! * `c` stands for `k` and `x`, `d` for `t` and `e` (the first of the two mappings RFC 4314
//!   §2.1.1 allows: `c` controls DELETE).
//! * Reading: a macro adds its members only when the string names **none** of them. So `c`
//!   reads as `kx`, but `kc` reads as `k` alone. RFC 4314 says "every member"; Cyrus does not,
//!   and it must not here: Cyrus *writes* `c` whenever any member is present (`lrsk` is written
//!   `lrskc`), so expanding `c` fully would grant `x` to everyone who only had `k`.
//! * Writing: the letters in the order `l r s w i p k x t e`, then `c` if `k` or `x` is present,
//!   `d` if `t` or `e` is, then `a n 0`-`9`: `lrswipkxtecdan` for every right but the digits.
//!
//! So writing then reading gives back the same set, and reading then writing gives Cyrus's
//! canonical string.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Sub, SubAssign};

use super::AclError;

/// The letters that own a bit, bit 0 first; `c` and `d` are written after `e` (index 9).
const LETTERS: &[u8; 22] = b"lrswipkxtean0123456789";

/// How many of [`LETTERS`] come before the legacy `c` and `d` in the written form.
const BEFORE_LEGACY: usize = 10;

/// The bit of a right letter, or 0 when the letter owns none.
const fn bit(letter: u8) -> u32 {
    let mut i = 0;
    while i < LETTERS.len() {
        if LETTERS[i] == letter {
            return 1 << i;
        }
        i += 1;
    }
    0
}

/// A set of rights.
///
/// `Display` and [`Rights::write`] give Cyrus's form (`lrswipkxtecdan`); [`Rights::parse`]
/// reads any rights string. The set operations are the `|`, `&` and `-` operators.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rights(u32);

impl Rights {
    /// No right at all.
    pub const NONE: Rights = Rights(0);
    /// `l`: see the mailbox in LIST.
    pub const LOOKUP: Rights = Rights(bit(b'l'));
    /// `r`: SELECT, EXAMINE, STATUS, FETCH, SEARCH, COPY from.
    pub const READ: Rights = Rights(bit(b'r'));
    /// `s`: keep `\Seen` across sessions.
    pub const SEEN: Rights = Rights(bit(b's'));
    /// `w`: set flags other than `\Seen` and `\Deleted`.
    pub const WRITE: Rights = Rights(bit(b'w'));
    /// `i`: APPEND and COPY into.
    pub const INSERT: Rights = Rights(bit(b'i'));
    /// `p`: post to the mailbox's submission address.
    pub const POST: Rights = Rights(bit(b'p'));
    /// `k`: create child mailboxes.
    pub const CREATE: Rights = Rights(bit(b'k'));
    /// `x`: delete or rename the mailbox.
    pub const DELETE_MAILBOX: Rights = Rights(bit(b'x'));
    /// `t`: set or clear `\Deleted`.
    pub const DELETE_MESSAGES: Rights = Rights(bit(b't'));
    /// `e`: EXPUNGE.
    pub const EXPUNGE: Rights = Rights(bit(b'e'));
    /// `a`: administer (SETACL, DELETEACL, GETACL, LISTRIGHTS).
    pub const ADMIN: Rights = Rights(bit(b'a'));
    /// `n`: write shared annotations.
    pub const ANNOTATE: Rights = Rights(bit(b'n'));
    /// Every right, the user rights `0`-`9` included.
    pub const ALL: Rights = Rights((1 << LETTERS.len()) - 1);
    /// The rights that let a user learn a mailbox exists: Cyrus answers MYRIGHTS as if the
    /// mailbox did not exist unless the user holds one of `l r i k x a`.
    pub const REVEAL_EXISTENCE: Rights =
        Rights(bit(b'l') | bit(b'r') | bit(b'i') | bit(b'k') | bit(b'x') | bit(b'a'));
    /// What the legacy `c` stands for: `k` and `x`.
    pub const LEGACY_CREATE: Rights = Rights(bit(b'k') | bit(b'x'));
    /// What the legacy `d` stands for: `t` and `e`.
    pub const LEGACY_DELETE: Rights = Rights(bit(b't') | bit(b'e'));

    /// The right one letter names: `l`...`n` or a digit; `None` for `c`, `d` (macros, see
    /// [`Rights::parse`]) and anything else.
    pub const fn from_letter(letter: u8) -> Option<Rights> {
        match bit(letter) {
            0 => None,
            b => Some(Rights(b)),
        }
    }

    /// Reads a rights string the way Cyrus does (see the module doc for `c` and `d`).
    ///
    /// Any byte that is not a right is an [`AclError::UnknownRight`] at its offset: RFC 4314
    /// §3.1 forbids ignoring an unknown right.
    pub fn parse(text: &[u8]) -> Result<Rights, AclError> {
        let mut rights = Rights::NONE;
        let mut macros = Rights::NONE;
        for (at, &letter) in text.iter().enumerate() {
            match letter {
                b'c' => macros |= Rights::LEGACY_CREATE,
                b'd' => macros |= Rights::LEGACY_DELETE,
                _ => match Rights::from_letter(letter) {
                    Some(right) => rights |= right,
                    None => return Err(AclError::UnknownRight { at, right: letter }),
                },
            }
        }
        for members in [Rights::LEGACY_CREATE, Rights::LEGACY_DELETE] {
            if macros.contains(members) && !rights.intersects(members) {
                rights |= members;
            }
        }
        Ok(rights)
    }

    /// The letters of Cyrus's written form, in order.
    pub fn letters(self) -> impl Iterator<Item = u8> {
        let has = move |letter: &u8| self.0 & bit(*letter) != 0;
        let (first, last) = LETTERS.split_at(BEFORE_LEGACY);
        let legacy = [(b'c', Rights::LEGACY_CREATE), (b'd', Rights::LEGACY_DELETE)];
        first
            .iter()
            .copied()
            .filter(has)
            .chain(
                legacy
                    .into_iter()
                    .filter(move |(_, members)| self.intersects(*members))
                    .map(|(letter, _)| letter),
            )
            .chain(last.iter().copied().filter(has))
    }

    /// Appends Cyrus's written form (nothing for no rights).
    pub fn write(self, out: &mut Vec<u8>) {
        out.extend(self.letters());
    }

    /// The rights of either set (`|`, usable in constants).
    pub const fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    /// Is no right present?
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Are all of `other`'s rights present?
    pub const fn contains(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }

    /// Is any of `other`'s rights present?
    pub const fn intersects(self, other: Rights) -> bool {
        self.0 & other.0 != 0
    }
}

impl BitOr for Rights {
    type Output = Rights;

    fn bitor(self, other: Rights) -> Rights {
        self.union(other)
    }
}

impl BitOrAssign for Rights {
    fn bitor_assign(&mut self, other: Rights) {
        self.0 |= other.0;
    }
}

impl BitAnd for Rights {
    type Output = Rights;

    fn bitand(self, other: Rights) -> Rights {
        Rights(self.0 & other.0)
    }
}

impl Sub for Rights {
    type Output = Rights;

    /// The rights of `self` that `other` lacks.
    fn sub(self, other: Rights) -> Rights {
        Rights(self.0 & !other.0)
    }
}

impl SubAssign for Rights {
    fn sub_assign(&mut self, other: Rights) {
        self.0 &= !other.0;
    }
}

impl fmt::Display for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.letters()
            .try_for_each(|letter| fmt::Write::write_char(f, char::from(letter)))
    }
}

impl fmt::Debug for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rights(\"{self}\")")
    }
}

/// The rights argument of SETACL (RFC 4314 §3.1): replace, add (`+`) or remove (`-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RightsChange {
    /// `lrs`: the identifier gets exactly these rights (none: its entry goes).
    Replace(Rights),
    /// `+lrs`: these rights are added to the identifier's.
    Add(Rights),
    /// `-lrs`: these rights are taken from the identifier's.
    Remove(Rights),
}

impl RightsChange {
    /// Reads a SETACL rights argument (its string value, already unquoted).
    ///
    /// An unknown letter is an [`AclError::UnknownRight`] whose offset counts the sign.
    pub fn parse(arg: &[u8]) -> Result<RightsChange, AclError> {
        let (change, letters, sign): (fn(Rights) -> RightsChange, _, _) = match arg.split_first() {
            Some((b'+', letters)) => (RightsChange::Add, letters, 1),
            Some((b'-', letters)) => (RightsChange::Remove, letters, 1),
            _ => (RightsChange::Replace, arg, 0),
        };
        Rights::parse(letters)
            .map(change)
            .map_err(|e| e.shifted(sign))
    }

    /// The rights an identifier holding `current` has after the change.
    pub fn apply(self, current: Rights) -> Rights {
        match self {
            RightsChange::Replace(rights) => rights,
            RightsChange::Add(rights) => current | rights,
            RightsChange::Remove(rights) => current - rights,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Rights {
        Rights::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn cyrus_full_rights_round_trip() {
        let all = parse("lrswipkxtecdan");
        assert_eq!(all.to_string(), "lrswipkxtecdan");
        assert_eq!(parse("lrswipkxtean"), all);
        assert_eq!(Rights::ALL.to_string(), "lrswipkxtecdan0123456789");
        assert_eq!(parse("9876543210nadcetxkpiwsrl"), Rights::ALL);
    }

    #[test]
    fn legacy_macros_expand_only_without_members() {
        assert_eq!(parse("c"), Rights::LEGACY_CREATE);
        assert_eq!(parse("d"), Rights::LEGACY_DELETE);
        assert_eq!(
            parse("lrc"),
            Rights::LOOKUP | Rights::READ | Rights::LEGACY_CREATE
        );
        // Cyrus writes `c` beside `k` alone; reading it back must not grant `x`.
        assert_eq!(parse("kc"), Rights::CREATE);
        assert_eq!(parse("xc"), Rights::DELETE_MAILBOX);
        assert_eq!(parse("td"), Rights::DELETE_MESSAGES);
        assert_eq!(parse("cd"), Rights::LEGACY_CREATE | Rights::LEGACY_DELETE);
    }

    #[test]
    fn legacy_macros_are_written_for_any_member() {
        assert_eq!(Rights::CREATE.to_string(), "kc");
        assert_eq!(Rights::DELETE_MAILBOX.to_string(), "xc");
        assert_eq!(Rights::EXPUNGE.to_string(), "ed");
        assert_eq!(parse("lrsd").to_string(), "lrsted");
        assert_eq!(parse("lrsc").to_string(), "lrskxc");
        assert_eq!((Rights::LOOKUP | Rights::POST).to_string(), "lp");
        assert_eq!(Rights::REVEAL_EXISTENCE.to_string(), "lrikxca");
    }

    #[test]
    fn unknown_letters_are_refused_with_offset() {
        assert_eq!(
            Rights::parse(b"lrz"),
            Err(AclError::UnknownRight { at: 2, right: b'z' })
        );
        assert_eq!(
            Rights::parse(b"L"),
            Err(AclError::UnknownRight { at: 0, right: b'L' })
        );
        assert_eq!(Rights::parse(b""), Ok(Rights::NONE));
        assert_eq!(Rights::from_letter(b'c'), None);
        assert_eq!(
            Rights::from_letter(b'7').map(|r| r.to_string()),
            Some("7".into())
        );
    }

    #[test]
    fn set_operations() {
        let lrs = parse("lrs");
        let rw = parse("rw");
        assert_eq!(lrs | rw, parse("lrsw"));
        assert_eq!(lrs & rw, Rights::READ);
        assert_eq!(lrs - rw, parse("ls"));
        assert!(lrs.contains(Rights::LOOKUP | Rights::SEEN));
        assert!(!lrs.contains(rw));
        assert!(lrs.intersects(rw));
        assert!(Rights::NONE.is_empty() && !lrs.is_empty());
        assert_eq!(format!("{lrs:?}"), "Rights(\"lrs\")");
        let mut out = b"x ".to_vec();
        lrs.write(&mut out);
        assert_eq!(out, b"x lrs");
    }

    #[test]
    fn setacl_arguments() {
        assert_eq!(
            RightsChange::parse(b"lr"),
            Ok(RightsChange::Replace(parse("lr")))
        );
        assert_eq!(
            RightsChange::parse(b"+w"),
            Ok(RightsChange::Add(Rights::WRITE))
        );
        assert_eq!(
            RightsChange::parse(b"-c"),
            Ok(RightsChange::Remove(Rights::LEGACY_CREATE))
        );
        assert_eq!(
            RightsChange::parse(b""),
            Ok(RightsChange::Replace(Rights::NONE))
        );
        assert_eq!(
            RightsChange::parse(b"+"),
            Ok(RightsChange::Add(Rights::NONE))
        );
        assert_eq!(
            RightsChange::parse(b"+l+"),
            Err(AclError::UnknownRight { at: 2, right: b'+' })
        );
        let lrs = parse("lrs");
        assert_eq!(RightsChange::Add(Rights::WRITE).apply(lrs), parse("lrsw"));
        assert_eq!(RightsChange::Remove(Rights::READ).apply(lrs), parse("ls"));
        assert_eq!(RightsChange::Replace(Rights::POST).apply(lrs), Rights::POST);
    }
}
