//! Logging a client in: the commands allowed before login, LOGIN and AUTHENTICATE PLAIN, the
//! verification (by the INBOX backend, or by the driver against the password file), and the
//! answer once the INBOX backend's link is ready.

use super::*;

impl Session {
    /// Commands before login: CAPABILITY, NOOP, LOGOUT, ID, STARTTLS, LOGIN, AUTHENTICATE.
    pub(super) fn before_login(
        &mut self,
        head: &CommandHead<'_>,
        continues: bool,
        table: &MailboxTable,
        now: Instant,
    ) {
        let may_login = self.tls_active || self.config.plaintext_auth;
        match (head.kind, head.args) {
            (CommandKind::Capability, _) => self.capability(head.tag),
            (CommandKind::Noop, _) => self.ok(head.tag, "NOOP completed"),
            (CommandKind::Logout, _) => self.logout(head.tag),
            (CommandKind::Id, _) => self.id(head.tag),
            (CommandKind::Starttls, _) if self.config.starttls_offered && !self.tls_active => {
                if continues {
                    return self.status(
                        head.tag,
                        StatusKind::Bad,
                        None,
                        "STARTTLS takes no arguments",
                    );
                }
                self.ok(head.tag, "Begin TLS negotiation now");
                // Anything the client pipelined after STARTTLS could be an injection.
                self.framer = Framer::new(self.config.limits);
                self.actions.push(Action::StartTls);
            }
            (CommandKind::Login | CommandKind::Authenticate, _) if !may_login => {
                let code = Code::Other {
                    atom: b"PRIVACYREQUIRED",
                    argument: None,
                };
                self.status(
                    head.tag,
                    StatusKind::No,
                    Some(&code),
                    "Log in only after STARTTLS",
                );
            }
            (CommandKind::Login, Args::Login { user, password }) => {
                let (user, password) = (user.to_vec(), password.to_vec());
                self.verify(head.tag, &user, password, table, now);
            }
            (
                CommandKind::Authenticate,
                Args::Authenticate {
                    mechanism,
                    initial_response,
                },
            ) => {
                if !mechanism.eq_ignore_ascii_case(b"PLAIN") {
                    return self.status(head.tag, StatusKind::No, None, "Unsupported mechanism");
                }
                match initial_response {
                    Some(response) => self.sasl_response(head.tag, response, table, now),
                    None => {
                        ResponseWriter::new(&mut self.output, false).continuation_base64(b"");
                        self.client = Client::SaslResponse {
                            tag: head.tag.to_vec(),
                        };
                    }
                }
            }
            _ => self.status(head.tag, StatusKind::Bad, None, "Please log in first"),
        }
    }

    /// The client's SASL PLAIN response (base64 line, `=` for empty, `*` to cancel).
    pub(super) fn sasl_response(
        &mut self,
        tag: &[u8],
        line: &[u8],
        table: &MailboxTable,
        now: Instant,
    ) {
        let data = trim_line_end(line);
        if data == b"*" {
            return self.status(tag, StatusKind::Bad, None, "Authentication cancelled");
        }
        let decoded = if data == b"=" {
            Ok(Vec::new())
        } else {
            BASE64.decode(data)
        };
        let Ok(message) = decoded else {
            return self.status(tag, StatusKind::Bad, None, "Invalid base64");
        };
        let mut fields = message.split(|&b| b == 0);
        let (Some(authzid), Some(authcid), Some(password), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return self.status(tag, StatusKind::Bad, None, "Invalid PLAIN message");
        };
        if !authzid.is_empty() && authzid != authcid {
            let code = Code::Other {
                atom: b"AUTHORIZATIONFAILED",
                argument: None,
            };
            return self.status(
                tag,
                StatusKind::No,
                Some(&code),
                "Acting as another user is not allowed",
            );
        }
        let password = password.to_vec();
        self.verify(tag, authcid, password, table, now);
    }

    /// Verifies a login by logging in to the user's INBOX backend with it.
    pub(super) fn verify(
        &mut self,
        tag: &[u8],
        user: &[u8],
        password: Vec<u8>,
        table: &MailboxTable,
        now: Instant,
    ) {
        let namespace = &self.config.namespace;
        let viewer = std::str::from_utf8(user).ok().and_then(|userid| {
            let admin = self.config.admins.iter().any(|admin| admin == userid);
            Viewer::new(namespace, userid, Vec::new(), admin).ok()
        });
        let inbox = viewer.as_ref().and_then(|viewer| {
            let view = View {
                table,
                ns: namespace,
                viewer,
                utf8: false,
            };
            let server = view.inbox_server().ok()?;
            Some(String::from_utf8_lossy(server).into_owned())
        });
        let (Some(viewer), Some(server)) = (viewer, inbox) else {
            return self.login_failed(tag, now, "no INBOX in the murder");
        };
        let userid = viewer.userid().to_string();
        if self.config.backend_login == BackendLogin::ClientCredentials {
            self.client_credentials = Some(LinkLogin::Client {
                user: userid.clone(),
                password: password.clone(),
            });
        }
        match self.config.verify {
            Verify::InboxBackend => {
                let login = LinkLogin::Client {
                    user: userid.clone(),
                    password,
                };
                self.log_in_at(tag, viewer, server, login, now);
            }
            Verify::PasswordFile => {
                self.actions.push(Action::CheckPassword {
                    user: userid.clone(),
                    password: Password(password),
                });
                self.client = Client::Verifying {
                    tag: tag.to_vec(),
                    viewer,
                    server,
                    started: now,
                };
            }
        }
    }

    /// The password file's verdict on the login being verified.
    pub fn password_checked(&mut self, ok: bool, now: Instant) {
        let Client::Verifying {
            tag,
            viewer,
            server,
            started,
        } = std::mem::replace(&mut self.client, Client::Ready)
        else {
            return;
        };
        if !ok {
            self.client_credentials = None;
            return self.login_failed(&tag, now, "wrong password");
        }
        self.login = None;
        let login = self.login_for(viewer.userid());
        self.log_in_at(&tag, viewer, server, login, started);
    }

    /// Completes a login on a link to the INBOX backend.
    pub(super) fn log_in_at(
        &mut self,
        tag: &[u8],
        viewer: Viewer,
        server: String,
        login: LinkLogin,
        started: Instant,
    ) {
        let link = self.open_link(server.into(), login);
        self.client = Client::LoggingIn {
            tag: tag.to_vec(),
            link,
            viewer,
            started,
        };
    }

    /// Answers a failed login after the configured delay.
    pub(super) fn login_failed(&mut self, tag: &[u8], now: Instant, why: &str) {
        tracing::debug!(why, "login failed");
        let mut answer = Vec::new();
        let code = Code::Other {
            atom: b"AUTHENTICATIONFAILED",
            argument: None,
        };
        let _ = ResponseWriter::new(&mut answer, false).status(
            Some(tag),
            StatusKind::No,
            Some(&code),
            b"Authentication failed",
        );
        self.failed_logins += 1;
        if self.failed_logins >= MAX_FAILED_LOGINS {
            answer.extend_from_slice(b"* BYE Too many failed logins\r\n");
        }
        self.actions.push(Action::LoginFailed);
        self.client = Client::Delayed {
            until: now + self.config.failed_login_delay,
            answer,
        };
    }

    /// Link `id` is logged in (maybe it just became so).
    pub(super) fn link_ready(&mut self, id: LinkId, now: Instant) {
        let Client::LoggingIn { link, .. } = &self.client else {
            return;
        };
        if *link != id {
            return;
        }
        let Client::LoggingIn {
            tag,
            viewer,
            started,
            ..
        } = std::mem::replace(&mut self.client, Client::Ready)
        else {
            return;
        };
        let capabilities = capability::after_login(&self.links[id].capabilities);
        self.login = Some(Login {
            viewer,
            inbox: Some(id),
            capabilities,
        });
        self.status_with_capabilities(Some(&tag), "Logged in");
        self.actions.push(Action::LoggedIn {
            took: now.saturating_duration_since(started),
        });
    }
}
