//! Fuzz body for mailbox names: modified UTF-7, external <-> internal conversion, dbname order.
//!
//! Input layout for [`fuzz_mailbox_names`]: the first byte picks the namespace (bit 0: `.`
//! instead of `/` as separator, bit 1: virtual domains); the bytes up to the first LF are the
//! userid; the rest is the name, tried both as an external and as an internal name. The whole
//! input is also run through the modified UTF-7 codec and the dbname order.

use crate::mailbox::{
    DbName, Namespace, NamespaceConfig, Separator, dbname_cmp, in_subtree, is_inbox, mutf7,
    owner_of, subtree_range, to_dbname_key,
};

/// Runs the mailbox-name code on arbitrary bytes and asserts its round trips and bounds.
pub fn fuzz_mailbox_names(data: &[u8]) {
    check_mutf7(data);
    check_dbname(data);
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (userid, name) = match rest.iter().position(|&b| b == b'\n') {
        Some(end) => (&rest[..end], &rest[end + 1..]),
        None => (&rest[..0], rest),
    };
    check_names(selector, userid, name);
}

fn check_mutf7(data: &[u8]) {
    let decoded = mutf7::decode(data);
    assert_eq!(mutf7::validate(data).is_ok(), decoded.is_ok());
    if let Ok(text) = decoded {
        assert!(text.len() <= 2 * data.len());
        assert_eq!(mutf7::encode(&text).as_bytes(), data);
    }
    let text = String::from_utf8_lossy(data);
    let wire = mutf7::encode(&text);
    // The worst case is a lone character outside printable ASCII between printable ones: one
    // byte of UTF-8 becomes `&` + 3 base64 characters + `-` (a control character, `&AAg-`).
    assert!(wire.len() <= 5 * text.len());
    assert_eq!(mutf7::decode(wire.as_bytes()).as_deref(), Ok(&*text));
}

fn check_dbname(data: &[u8]) {
    let (a, b) = data.split_at(data.len() / 2);
    assert_eq!(dbname_cmp(a, b), dbname_cmp(b, a).reverse());
    assert_eq!(dbname_cmp(a, b).is_eq(), a == b);
    assert_eq!(to_dbname_key(data).len(), data.len());
    assert!(in_subtree(data, data));
    assert!(subtree_range(data).contains(&DbName::new(data)));
}

fn check_names(selector: u8, userid: &[u8], name: &[u8]) {
    let ns = Namespace::new(NamespaceConfig {
        separator: if selector & 1 == 0 {
            Separator::Slash
        } else {
            Separator::Dot
        },
        virtual_domains: selector & 2 != 0,
        ..NamespaceConfig::default()
    })
    .expect("the default prefixes are valid");
    let Some(user) = std::str::from_utf8(userid)
        .ok()
        .and_then(|u| ns.user(u).ok())
    else {
        return;
    };
    // External -> internal -> external: the result is canonical and names the same mailbox.
    if let Ok(internal) = ns.to_internal(&user, name) {
        assert!(internal.len() <= name.len() + userid.len() + 8);
        let external = ns
            .to_external(&user, internal.as_bytes())
            .expect("accepted names map back");
        assert_eq!(
            ns.to_internal(&user, external.as_bytes()).as_ref(),
            Ok(&internal)
        );
        if is_inbox(internal.as_bytes()) && owner_of(internal.as_bytes()).as_ref() == Some(&user) {
            assert_eq!(external, "INBOX");
        }
    }
    // Internal -> external -> internal is the identity.
    if let Ok(external) = ns.to_external(&user, name) {
        assert!(external.len() <= name.len() + 16);
        assert_eq!(
            ns.to_internal(&user, external.as_bytes())
                .as_deref()
                .map(str::as_bytes),
            Ok(name)
        );
    }
}
