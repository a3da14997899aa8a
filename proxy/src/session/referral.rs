//! Mailbox referrals (RFC 2193): a client that asked for them is sent to a remote mailbox's
//! backend rather than served through the proxy.
//!
//! Off unless the proxy is configured with `referrals = true`. Then CAPABILITY carries
//! `MAILBOX-REFERRALS`, RLIST and RLSUB are answered from the table like LIST and LSUB, and
//! once the client has used one of them (RFC 2193 §3: only a client that asks for referrals
//! understands them) a SELECT or EXAMINE of a mailbox on another backend than the user's
//! INBOX's, whose backend has a public `referral_host`, is answered
//! `NO [REFERRAL imap://user;AUTH=*@host/mailbox]`. Every other command, and every mailbox of a
//! backend without a public address, is served through the proxy as usual.

use super::*;

impl Session {
    /// RLIST and RLSUB, when referrals are on: the session now refers SELECT and EXAMINE.
    pub(super) fn referral_list(
        &mut self,
        head: &CommandHead<'_>,
        bytes: &[u8],
        table: &MailboxTable,
    ) {
        self.referrals_asked = true;
        self.list(head, bytes, table);
    }

    /// The answer to a SELECT or EXAMINE of a mailbox on `server` when the client asked for
    /// referrals and `server` may be referred to: `tag NO [REFERRAL url] Remote mailbox`.
    pub(super) fn referral(
        &self,
        head: &CommandHead<'_>,
        view: &View<'_>,
        server: &str,
    ) -> Option<Vec<u8>> {
        let (true, CommandKind::Select | CommandKind::Examine, Args::Mailbox(name)) =
            (self.referrals_asked, head.kind, head.args)
        else {
            return None;
        };
        let profile = self.profile(server);
        let host = profile.referral_host.as_deref()?;
        if view
            .inbox_server()
            .is_ok_and(|inbox| inbox == server.as_bytes())
        {
            return None;
        }
        let name = name.to_vec();
        let name = naming::to_backend(view, profile, &name).unwrap_or(name);
        let url = url(view.viewer.userid(), host, &name);
        let code = Code::Referral(url.as_bytes());
        let mut answer = Vec::new();
        ResponseWriter::new(&mut answer, false)
            .status(
                Some(head.tag),
                StatusKind::No,
                Some(&code),
                b"Remote mailbox",
            )
            .ok()?;
        Some(answer)
    }
}

/// The IMAP URL (RFC 5092) of `mailbox` on `host` for `user`, any SASL mechanism:
/// `imap://user;AUTH=*@host/mailbox`, the user and mailbox percent-encoded.
fn url(user: &str, host: &str, mailbox: &[u8]) -> String {
    let mut url = String::from("imap://");
    encode(&mut url, user.as_bytes(), b"");
    url.push_str(";AUTH=*@");
    url.push_str(host);
    url.push('/');
    encode(&mut url, mailbox, b":@/");
    url
}

/// Appends `bytes` percent-encoded but for RFC 5092's `achar` and the bytes of `also`.
fn encode(out: &mut String, bytes: &[u8], also: &[u8]) {
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~!$'()*+,&=".contains(&b) || also.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::url;

    #[test]
    fn urls_encode_what_rfc_5092_asks() {
        assert_eq!(
            url("john", "be2.example.net", b"Other Users/jane/Sent"),
            "imap://john;AUTH=*@be2.example.net/Other%20Users/jane/Sent"
        );
        assert_eq!(
            url("j@x;y", "be2:1143", b"caf&AOk-?#%"),
            "imap://j%40x%3By;AUTH=*@be2:1143/caf&AOk-%3F%23%25"
        );
    }
}
