//! Logging in: LOGIN, AUTHENTICATE PLAIN (an authorization id for proxy users, as Cyrus
//! `proxyservers`), failed logins, and the user's INBOX made at their first login.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use corvid_mupdate::view::Viewer;
use corvid_proto::imap::response::{Code, StatusKind};

use super::{
    Action, Creation, MAX_FAILED_LOGINS, MasterChange, Session, Waiting, capability_code, no,
    tagged, untagged,
};
use crate::backend::store::Store;

impl Session {
    /// LOGIN: the password goes to the driver.
    pub(super) fn login(
        &mut self,
        tag: &[u8],
        user: &[u8],
        password: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        if self.login.is_some() {
            tagged(out, tag, StatusKind::Bad, None, b"Already logged in");
            return None;
        }
        let (Ok(user), Ok(password)) = (std::str::from_utf8(user), std::str::from_utf8(password))
        else {
            return self.login_failed(tag, out);
        };
        self.check_password(tag, user, user, password)
    }

    /// AUTHENTICATE: PLAIN only, with the initial response or after a `+`.
    pub(super) fn authenticate(
        &mut self,
        tag: &[u8],
        mechanism: &[u8],
        initial_response: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        if self.login.is_some() {
            tagged(out, tag, StatusKind::Bad, None, b"Already logged in");
            return None;
        }
        if !mechanism.eq_ignore_ascii_case(b"PLAIN") {
            no(out, tag, None, b"unsupported authentication mechanism");
            return None;
        }
        match initial_response {
            Some(response) => self.plain(tag, response, out),
            None => {
                out.extend_from_slice(b"+ \r\n");
                self.sasl = Some(tag.to_vec());
                None
            }
        }
    }

    /// The client's line after AUTHENTICATE's `+`: base64, or `*` to cancel.
    pub(super) fn sasl_response(
        &mut self,
        tag: Vec<u8>,
        line: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        let response = line.strip_suffix(b"\n").unwrap_or(line);
        let response = response.strip_suffix(b"\r").unwrap_or(response);
        if response == b"*" {
            tagged(
                out,
                &tag,
                StatusKind::Bad,
                None,
                b"authentication cancelled",
            );
            return None;
        }
        self.plain(&tag, response, out)
    }

    /// A SASL PLAIN message, base64 (`=` for empty): `authzid NUL authcid NUL password`.
    fn plain(&mut self, tag: &[u8], base64: &[u8], out: &mut Vec<u8>) -> Option<Action> {
        let decoded = match base64 {
            b"=" => Vec::new(),
            text => match BASE64.decode(text) {
                Ok(decoded) => decoded,
                Err(_) => {
                    tagged(out, tag, StatusKind::Bad, None, b"invalid base64");
                    return None;
                }
            },
        };
        let mut fields = decoded.split(|&b| b == 0).map(std::str::from_utf8);
        let (Some(Ok(authzid)), Some(Ok(authcid)), Some(Ok(password)), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return self.login_failed(tag, out);
        };
        let identity = if authzid.is_empty() { authcid } else { authzid };
        if identity != authcid && !self.config.proxy_users.iter().any(|p| p == authcid) {
            return self.login_failed(tag, out);
        }
        self.check_password(tag, authcid, identity, password)
    }

    /// Hands the password to the driver; the session then logs in as `identity`.
    fn check_password(
        &mut self,
        tag: &[u8],
        authcid: &str,
        identity: &str,
        password: &str,
    ) -> Option<Action> {
        self.waiting = Some(Waiting::Password {
            tag: tag.to_vec(),
            identity: identity.to_owned(),
            by_proxy: self.config.proxy_users.iter().any(|p| p == authcid),
        });
        Some(Action::Verify {
            authcid: authcid.to_owned(),
            password: password.to_owned(),
        })
    }

    /// The driver's answer: logged in (making the INBOX if it is missing), or refused.
    pub(super) fn password_checked(
        &mut self,
        store: &mut Store,
        tag: Vec<u8>,
        (identity, by_proxy): (String, bool),
        ok: bool,
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        let admin = self.config.admins.contains(&identity);
        self.local_commands = admin || by_proxy;
        let viewer = match Viewer::new(&self.config.namespace, &identity, Vec::new(), admin) {
            Ok(viewer) if ok => viewer,
            _ => return self.login_failed(&tag, out),
        };
        let inbox = viewer.inbox().to_owned();
        self.login = Some(viewer);
        // A proxy identity logged in as itself is a service (a frontend asking the server's
        // free space), not a user: it gets no INBOX.
        let service = self.config.proxy_users.contains(&identity);
        if self.config.autocreate_inbox && !service && store.mailbox(&inbox).is_none() {
            self.waiting = Some(Waiting::Reserved {
                tag,
                name: inbox.clone(),
                then: Creation::Inbox,
            });
            return Some(Action::Master(MasterChange::Reserve { name: inbox }));
        }
        logged_in(&tag, out);
        None
    }

    /// A refused login: `NO [AUTHENTICATIONFAILED]`, and the end after too many.
    fn login_failed(&mut self, tag: &[u8], out: &mut Vec<u8>) -> Option<Action> {
        self.failed_logins += 1;
        let code = Code::Other {
            atom: b"AUTHENTICATIONFAILED",
            argument: None,
        };
        no(out, tag, Some(code), b"Authentication failed");
        if self.failed_logins >= MAX_FAILED_LOGINS {
            untagged(out, StatusKind::Bye, None, b"too many failed logins");
            self.closing = true;
            return Some(Action::Close);
        }
        None
    }
}

/// `tag OK [CAPABILITY ...] Logged in`.
pub(super) fn logged_in(tag: &[u8], out: &mut Vec<u8>) {
    tagged(
        out,
        tag,
        StatusKind::Ok,
        Some(&capability_code()),
        b"Logged in",
    );
}
