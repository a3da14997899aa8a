//! The response texts of a Cyrus MUPDATE master, word for word.
//!
//! Cyrus clients show these texts and some scripts match them, so corvid's master answers with
//! exactly the words Cyrus uses (murder.md §1.3). Each [`Reason`] is one such text; the few that
//! Cyrus has no words for (limits it does not enforce) are marked as corvid's own.

use std::fmt;

/// A response text a MUPDATE master sends after `OK`, `NO`, `BAD` or `BYE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// `OK` to a successful AUTHENTICATE.
    Authenticated,
    /// `OK` to ACTIVATE, RESERVE, DEACTIVATE and DELETE.
    Done,
    /// `OK` closing a FIND.
    SearchCompleted,
    /// `OK` closing a LIST.
    ListComplete,
    /// `OK` closing an UPDATE's initial dump: the stream starts.
    StreamingStarts,
    /// `OK` to NOOP (in streaming, after every pending update).
    NoopDone,
    /// `OK` to LOGOUT, just before the server closes.
    ByeBye,
    /// `OK` to STARTTLS: the TLS handshake follows the line.
    BeginTls,
    /// `OK` to COMPRESS: compression starts after the line.
    DeflateActive,
    /// `BAD`: a command other than AUTHENTICATE, STARTTLS, COMPRESS or LOGOUT before login.
    PleaseLoginFirst,
    /// `BAD`: a write (ACTIVATE, RESERVE, DEACTIVATE, DELETE) sent to a slave.
    ReadOnlySession,
    /// `BAD`: a command other than NOOP or LOGOUT after UPDATE.
    NotLegalWhenStreaming,
    /// `BAD`: a second AUTHENTICATE after a successful one.
    AlreadyAuthenticated,
    /// `NO`: RESERVE of a name that exists at another location.
    MailboxAlreadyExists,
    /// `NO`: DEACTIVATE of a name that does not exist.
    MailboxDoesNotExist,
    /// `NO`: DEACTIVATE of a name that is only reserved.
    MailboxNotActive,
    /// `BAD`: a command name the server does not know.
    UnrecognizedCommand,
    /// `BAD`: fewer arguments than the command takes.
    MissingArguments,
    /// `BAD`: more arguments than the command takes.
    ExtraArguments,
    /// `BAD`: an argument that is not a valid string (or not valid for its place).
    BadlyFormedArguments,
    /// Untagged `BAD`: a line without a usable tag.
    NeedCommand,
    /// `BAD`: a tag with no command after it.
    NullCommand,
    /// Untagged `BYE`: the server is over its connection limit.
    ServerUnable,
    /// `BAD` (corvid's own words): a command longer than the line limit.
    LineTooLong,
    /// `BAD` (corvid's own words): literals larger than the literal limit.
    LiteralTooLarge,
    /// `NO` to AUTHENTICATE: wrong user or password (libsasl's words, as Cyrus relays them).
    AuthenticationFailure,
    /// `NO` to AUTHENTICATE: the user may not act as the authorization id asked for
    /// (libsasl's words).
    AuthorizationFailure,
    /// `NO` to AUTHENTICATE: a mechanism the server does not offer (libsasl's words).
    NoMechanism,
    /// `NO` (corvid's own words): a write that the session's role does not allow, such as a
    /// backend writing an entry that points at another server.
    PermissionDenied,
    /// Untagged `BYE` (corvid's own words): a streaming client read so slowly that the changes
    /// it has not yet been sent are no longer kept; it must reconnect and take a full dump.
    TooFarBehind,
    /// Untagged `BYE` (corvid's own words): the connection was idle past the server's timeout.
    IdleTimeout,
}

impl Reason {
    /// The text as it goes on the wire (without its quotes).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Authenticated => "Authenticated",
            Reason::Done => "done",
            Reason::SearchCompleted => "Search completed",
            Reason::ListComplete => "list complete",
            Reason::StreamingStarts => "streaming starts",
            Reason::NoopDone => "Noop done",
            Reason::ByeBye => "bye-bye",
            Reason::BeginTls => "Begin TLS negotiation now",
            Reason::DeflateActive => "DEFLATE active",
            Reason::PleaseLoginFirst => "Please login first",
            Reason::ReadOnlySession => "read-only session",
            Reason::NotLegalWhenStreaming => "not legal when streaming",
            Reason::AlreadyAuthenticated => "already authenticated",
            Reason::MailboxAlreadyExists => "mailbox already exists",
            Reason::MailboxDoesNotExist => "mailbox doesn't exist",
            Reason::MailboxNotActive => "mailbox not currently active",
            Reason::UnrecognizedCommand => "Unrecognized command",
            Reason::MissingArguments => "Missing arguments",
            Reason::ExtraArguments => "Extra arguments",
            Reason::BadlyFormedArguments => "Badly formed arguments",
            Reason::NeedCommand => "Need command",
            Reason::NullCommand => "Null command",
            Reason::ServerUnable => "Server Unable",
            Reason::LineTooLong => "Line too long",
            Reason::LiteralTooLarge => "Literal too large",
            Reason::AuthenticationFailure => "authentication failure",
            Reason::AuthorizationFailure => "authorization failure",
            Reason::NoMechanism => "no mechanism available",
            Reason::PermissionDenied => "permission denied",
            Reason::TooFarBehind => "too far behind the update stream",
            Reason::IdleTimeout => "idle for too long",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrus_words() {
        assert_eq!(Reason::ByeBye.as_str(), "bye-bye");
        assert_eq!(
            Reason::MailboxDoesNotExist.to_string(),
            "mailbox doesn't exist"
        );
        assert_eq!(Reason::NeedCommand.as_str(), "Need command");
    }
}
