//! The commands the proxy answers itself: CAPABILITY, ID, NAMESPACE, ENABLE, LOGOUT, and from
//! the mailbox table LIST, LSUB (with the subscriptions fetched from the INBOX backend first),
//! GETACL, MYRIGHTS and LISTRIGHTS.

use super::*;

impl Session {
    /// LIST and LSUB, from the table; with the user's subscriptions, fetched first from the
    /// INBOX backend, when the command needs them.
    pub(super) fn list(&mut self, head: &CommandHead<'_>, bytes: &[u8], table: &MailboxTable) {
        let Args::List(args) = head.args else {
            return self.status(head.tag, StatusKind::Bad, None, "Invalid arguments");
        };
        if matches!(head.kind, CommandKind::Lsub | CommandKind::Rlsub) || needs_subscriptions(&args)
        {
            return self.fetch_subscriptions(head.tag, bytes, table);
        }
        self.answer_list(head, &args, None, table);
    }

    /// Answers a LIST or LSUB from the table (with `subscriptions` when it needs them).
    pub(super) fn answer_list(
        &mut self,
        head: &CommandHead<'_>,
        args: &ListArgs<'_>,
        subscriptions: Option<&Subscriptions>,
        table: &MailboxTable,
    ) {
        let Some(login) = &self.login else { return };
        let view = View {
            table,
            ns: &self.config.namespace,
            viewer: &login.viewer,
            utf8: false,
        };
        let mut out = Vec::new();
        let listed = match (head.kind, subscriptions) {
            (CommandKind::Lsub | CommandKind::Rlsub, Some(subscriptions)) => {
                view.lsub(args, subscriptions, &mut out)
            }
            (_, subscriptions) => view.list(args, subscriptions, &mut out),
        };
        match listed {
            Ok(_) => {
                self.output.append(&mut out);
                let text = format!("{} completed", head.kind.as_str());
                self.ok(head.tag, &text);
            }
            Err(error) => {
                let _ = error.write_answer(head.tag, &mut self.output);
            }
        }
    }

    /// Asks the INBOX backend for the user's subscriptions (`LSUB "" "*"`); the command is
    /// answered when they arrive ([`Session::subscriptions_arrived`]).
    pub(super) fn fetch_subscriptions(&mut self, tag: &[u8], bytes: &[u8], table: &MailboxTable) {
        let Some(login) = &self.login else { return };
        let link = match login
            .inbox
            .filter(|&id| self.links[id].state != LinkState::Closed)
        {
            Some(link) => link,
            None => {
                let view = View {
                    table,
                    ns: &self.config.namespace,
                    viewer: &login.viewer,
                    utf8: false,
                };
                let Ok(server) = view.inbox_server() else {
                    return self.status(
                        tag,
                        StatusKind::No,
                        Some(&Code::NonExistent),
                        "No INBOX for this user",
                    );
                };
                let server: Box<str> = String::from_utf8_lossy(server).into();
                let link = match self.link_to(&server) {
                    Some(link) => link,
                    None => {
                        let login = self.backend_login();
                        self.open_link(server, login)
                    }
                };
                if let Some(login) = &mut self.login {
                    login.inbox = Some(link);
                }
                link
            }
        };
        self.links[link].send_own(Purpose::Subscriptions, b"LSUB \"\" \"*\"");
        self.client = Client::Subscriptions {
            link,
            command: bytes.to_vec(),
            subscriptions: Subscriptions::default(),
        };
    }

    /// The INBOX backend answered `LSUB "" "*"`: answer the LIST or LSUB that waited for it.
    pub(super) fn subscriptions_arrived(&mut self, ok: bool, table: &MailboxTable) {
        let Client::Subscriptions {
            link,
            command,
            subscriptions,
        } = std::mem::replace(&mut self.client, Client::Ready)
        else {
            return;
        };
        let Ok(head) = parse_head(&command) else {
            return;
        };
        let Args::List(args) = head.args else { return };
        if !ok {
            let text = "Subscriptions unavailable: the INBOX backend refused LSUB";
            return self.status(head.tag, StatusKind::No, Some(&Code::Unavailable), text);
        }
        let subscriptions = match &self.login {
            Some(login) => {
                let view = View {
                    table,
                    ns: &self.config.namespace,
                    viewer: &login.viewer,
                    utf8: false,
                };
                let profile = self.profile(&self.links[link].server);
                naming::subscriptions_from_backend(&view, profile, subscriptions)
            }
            None => subscriptions,
        };
        self.answer_list(&head, &args, Some(&subscriptions), table);
    }

    /// GETACL, MYRIGHTS and LISTRIGHTS, from the table.
    pub(super) fn acl_read(&mut self, head: &CommandHead<'_>, table: &MailboxTable) {
        let Some(login) = &self.login else { return };
        let view = View {
            table,
            ns: &self.config.namespace,
            viewer: &login.viewer,
            utf8: false,
        };
        let mut out = Vec::new();
        let answered = match (head.kind, head.args) {
            (CommandKind::GetAcl, Args::Mailbox(name)) => view.getacl(&name.to_vec(), &mut out),
            (CommandKind::MyRights, Args::Mailbox(name)) => view.myrights(&name.to_vec(), &mut out),
            (
                CommandKind::ListRights,
                Args::Acl {
                    mailbox,
                    identifier,
                    ..
                },
            ) => view.listrights(&mailbox.to_vec(), &identifier.to_vec(), &mut out),
            _ => return self.status(head.tag, StatusKind::Bad, None, "Invalid arguments"),
        };
        match answered {
            Ok(()) => {
                self.output.append(&mut out);
                let text = format!("{} completed", head.kind.as_str());
                self.ok(head.tag, &text);
            }
            Err(error) => {
                let _ = error.write_answer(head.tag, &mut self.output);
            }
        }
    }

    pub(super) fn capabilities(&self) -> String {
        let capabilities = match &self.login {
            Some(login) => login.capabilities.to_string(),
            None => capability::before_login(
                self.config.starttls_offered,
                self.tls_active,
                self.config.plaintext_auth,
            ),
        };
        if self.config.referrals {
            capabilities + " MAILBOX-REFERRALS"
        } else {
            capabilities
        }
    }

    /// CAPABILITY: `* CAPABILITY ...` and the OK.
    pub(super) fn capability(&mut self, tag: &[u8]) {
        let capabilities = self.capabilities();
        if let Some(atoms) = Atoms::new(capabilities.as_bytes()) {
            ResponseWriter::new(&mut self.output, false).capability(&atoms);
        }
        self.ok(tag, "CAPABILITY completed");
    }

    pub(super) fn logout(&mut self, tag: &[u8]) {
        self.untagged(StatusKind::Bye, "Logging out");
        self.ok(tag, "LOGOUT completed");
        self.close();
    }

    pub(super) fn id(&mut self, tag: &[u8]) {
        let product = self.config.product.clone();
        let fields: [(&[u8], Option<&[u8]>); 2] = [
            (b"name", Some(product.as_bytes())),
            (b"version", Some(env!("CARGO_PKG_VERSION").as_bytes())),
        ];
        let _ = ResponseWriter::new(&mut self.output, false).id(&fields);
        self.ok(tag, "ID completed");
    }

    pub(super) fn namespace(&mut self, tag: &[u8]) {
        let config = self.config.namespace.config();
        let sep = config.separator.byte();
        let other = format!("{}{}", config.other_users_prefix, sep as char);
        let shared = format!("{}{}", config.shared_prefix, sep as char);
        let entry = |prefix: &'static [u8]| NamespaceEntry {
            prefix,
            delimiter: Some(sep),
        };
        let other = [NamespaceEntry {
            prefix: other.as_bytes(),
            delimiter: Some(sep),
        }];
        let shared = [NamespaceEntry {
            prefix: shared.as_bytes(),
            delimiter: Some(sep),
        }];
        let _ =
            ResponseWriter::new(&mut self.output, false).namespace(&[entry(b"")], &other, &shared);
        self.ok(tag, "NAMESPACE completed");
    }

    /// ENABLE (RFC 5161): answered here, carried to every backend the session uses.
    pub(super) fn enable(&mut self, tag: &[u8], bytes: &[u8]) {
        let advertised = self.capabilities();
        let line = trim_line_end(bytes);
        let mut words = line.split(|&b| b == b' ').skip(2);
        let mut newly = Vec::new();
        for name in words.by_ref() {
            if capability::enableable(name, &advertised) {
                let name = name.to_ascii_uppercase();
                if !self.enabled.contains(&name) {
                    self.enabled.push(name.clone());
                    newly.push(name);
                }
            }
        }
        let newly = newly.join(&b' ');
        if let Some(atoms) = Atoms::new(&newly) {
            ResponseWriter::new(&mut self.output, false).enabled(&atoms);
        }
        let enabled = self.enabled.clone();
        for link in self
            .links
            .iter_mut()
            .filter(|l| l.state != LinkState::Closed)
        {
            link.enable(&enabled);
        }
        self.ok(tag, "ENABLE completed");
    }
}
