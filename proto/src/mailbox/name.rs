//! (being written)

/// Splits an internal name at its first `!` into the domain and the rest.
pub(crate) fn split_domain(name: &[u8]) -> (Option<&[u8]>, &[u8]) {
    match memchr::memchr(b'!', name) {
        Some(end) => (name.get(..end), name.get(end + 1..).unwrap_or_default()),
        None => (None, name),
    }
}
