//! The agent: a backend's persistent connection to the MUPDATE master, and the reconcile that
//! brings the master in step with what the backend holds.
//!
//! A reconcile takes the backend's mailboxes as a [`BackendView`], whoever read them (the shim
//! asks Dovecot through [`Doveadm::reconcile`], an IMAP backend through [`ImapAdmin::reconcile`];
//! the reference backend snapshots its store), reads
//! the master (`LIST "server!"`, then a pipelined `FIND` for each backend mailbox the list
//! lacks), computes the [`Plan`], and, unless it is a dry run, pipelines the plan's writes (the
//! master answers each). Deleting the conflicting local copies is the caller's, since only it
//! can reach them. Between reconciles the same connection carries single writes
//! ([`Agent::command`]). The connection is opened again after any failure.

use std::fmt;
use std::time::Duration;

use corvid_mupdate::client::{Client, ClientError, Reply};
use corvid_proto::mailbox::Namespace;
use corvid_proto::mupdate::{CommandKind, Status};

use super::dovecot::{Doveadm, DoveadmError};
use super::imap::{ImapAdmin, ImapError};
use super::reconcile::{self, BackendView, MasterView, Placement, Plan};

/// How many commands are in flight at once on the master connection.
const WINDOW: usize = 64;

/// Why a reconcile could not run.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The backend could not be read through `doveadm`.
    #[error("discovering the backend: {0}")]
    Discovery(#[from] DoveadmError),
    /// The backend could not be read over IMAP.
    #[error("discovering the backend over IMAP: {0}")]
    ImapDiscovery(#[from] ImapError),
    /// The master connection failed.
    #[error(transparent)]
    Master(#[from] ClientError),
    /// The backend listed no mailbox at all while the master places some on it.
    #[error(
        "the backend lists no mailbox while the master places {entries} on it: refusing to \
         remove them all (check the discovery's configuration; corvid mboxlist can remove them)"
    )]
    EmptyBackend {
        /// The master's entries on this server.
        entries: usize,
    },
    /// The master refused a read.
    #[error("the master answered {status:?} to {command}: {text}")]
    Refused {
        /// The command.
        command: &'static str,
        /// Its status.
        status: Status,
        /// The status text.
        text: String,
    },
}

/// A user of the master (a backend role for this server) and its password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub user: String,
    /// The password (never shown by `Debug`).
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// What an [`Agent`] works with.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The master, `host:port`.
    pub master: String,
    /// Who to log in to it as.
    pub credentials: Credentials,
    /// How long one read from the master may wait.
    pub timeout: Duration,
    /// This backend's server and partition.
    pub placement: Placement,
    /// Whether rule 3 deletes the backend's copy of a mailbox the master places elsewhere
    /// (the plan says so; the caller deletes).
    pub delete_local: bool,
}

/// One step of a plan that did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The mailbox's internal name.
    pub name: Vec<u8>,
    /// What went wrong.
    pub reason: String,
}

/// What a reconcile did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The plan (for a dry run, what would have been done).
    pub plan: Plan,
    /// Whether the plan was only computed.
    pub dry_run: bool,
    /// The steps that failed (the rest were done).
    pub failures: Vec<Failure>,
}

impl fmt::Display for Outcome {
    /// One summary line: the counts, then the failures.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plan = &self.plan;
        let count = |kind| plan.pushes.iter().filter(|p| p.kind == kind).count();
        write!(
            f,
            "{}{} pushed, {} updated, {} removed, {} conflicts ({}), {} unmapped, {} failed",
            if self.dry_run { "dry run: " } else { "" },
            count(reconcile::PushKind::Create),
            count(reconcile::PushKind::Update),
            plan.removes.len(),
            plan.conflicts.len(),
            if plan.delete_local {
                "deleted locally"
            } else {
                "kept"
            },
            plan.unmapped.len(),
            self.failures.len(),
        )
    }
}

impl Outcome {
    /// Logs what was done: the summary line, then one line per step (conflicts and unmapped
    /// mailboxes as warnings) and per failure.
    pub fn log(&self) {
        tracing::info!("reconciled: {self}");
        for step in self.plan.to_string().lines() {
            if step.starts_with("conflict") || step.starts_with("unmapped") {
                tracing::warn!("{step}");
            } else {
                tracing::info!("{step}");
            }
        }
        for failure in &self.failures {
            let name = String::from_utf8_lossy(&failure.name);
            tracing::warn!("failed: {name}: {}", failure.reason);
        }
    }
}

/// Keeps the master in step with one backend.
#[derive(Debug)]
pub struct Agent {
    config: AgentConfig,
    client: Option<Client>,
}

impl Agent {
    /// An agent; it connects at its first reconcile.
    pub fn new(config: AgentConfig) -> Agent {
        Agent {
            config,
            client: None,
        }
    }

    /// This agent's configuration.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// Reads the master and applies the plan that brings it in step with `backend`, unless
    /// `dry_run`.
    pub fn reconcile(
        &mut self,
        backend: &BackendView,
        dry_run: bool,
    ) -> Result<Outcome, AgentError> {
        let result = self.run(backend, dry_run);
        if matches!(result, Err(AgentError::Master(_))) {
            self.client = None;
        }
        result
    }

    /// Sends one command on the connection (opened first if there is none) and reads its
    /// answer; after a failure the next call opens a new connection.
    pub fn command(&mut self, kind: CommandKind) -> Result<Reply, ClientError> {
        let result = connected(&mut self.client, &self.config).and_then(|c| c.command(kind));
        if result.is_err() {
            self.client = None;
        }
        result
    }

    /// Whether a connection is open (it may still turn out broken at its next use).
    pub fn is_connected(&self) -> bool {
        self.client.is_some()
    }

    fn run(&mut self, backend: &BackendView, dry_run: bool) -> Result<Outcome, AgentError> {
        let Agent { config, client } = self;
        let placement = &config.placement;
        let mut master = MasterView::default();
        let client = connected(client, config)?;
        let here = client.command(CommandKind::List {
            prefix: Some(placement.list_prefix()),
        })?;
        master.extend(ok("LIST", here)?.records);
        let finds = reconcile::names_to_find(backend, &master)
            .into_iter()
            .map(|name| CommandKind::Find { name });
        for reply in client.pipeline(finds, WINDOW)? {
            master.extend(ok("FIND", reply)?.records);
        }
        let plan = reconcile::plan(backend, &master, placement, config.delete_local);
        // A backend that lists nothing at all while the master places mailboxes on it is far
        // more likely misread (a broken userdb, the wrong doveadm config, the wrong data
        // directory) than emptied: removing everything would take its users out of the
        // murder. Refuse, as loudly as possible.
        if backend.mailboxes.is_empty() && backend.unmapped.is_empty() && !plan.removes.is_empty() {
            return Err(AgentError::EmptyBackend {
                entries: plan.removes.len(),
            });
        }
        let mut failures = Vec::new();
        if !dry_run {
            let commands = plan.commands(placement);
            let (names, commands): (Vec<_>, Vec<_>) = commands.into_iter().unzip();
            let replies = client.pipeline(commands, WINDOW)?;
            for (name, reply) in names.into_iter().zip(replies) {
                if reply.status != Status::Ok {
                    let reason = format!("master answered {:?} {}", reply.status, reply.text);
                    failures.push(Failure { name, reason });
                }
            }
        }
        Ok(Outcome {
            plan,
            dry_run,
            failures,
        })
    }
}

impl Doveadm {
    /// One reconcile of a Dovecot backend: discovers it ([`Doveadm::discover`]), brings the
    /// master in step through `agent`, then, when the agent's configuration asks and it is not
    /// a dry run, deletes the local copies of the mailboxes the master places elsewhere.
    pub fn reconcile(
        &self,
        agent: &mut Agent,
        namespace: &Namespace,
        dry_run: bool,
    ) -> Result<Outcome, AgentError> {
        let backend = self.discover(namespace)?;
        let mut outcome = agent.reconcile(&backend, dry_run)?;
        if !dry_run && outcome.plan.delete_local {
            for conflict in &outcome.plan.conflicts {
                let origin = &conflict.origin;
                if let Err(error) = self.delete_mailbox(&origin.user, &origin.mailbox) {
                    outcome.failures.push(Failure {
                        name: conflict.name.clone(),
                        reason: format!("local delete: {error}"),
                    });
                }
            }
        }
        Ok(outcome)
    }
}

impl ImapAdmin {
    /// One reconcile of an IMAP backend: discovers it ([`ImapAdmin::discover`]) and brings the
    /// master in step through `agent`. Local copies are not deleted over IMAP: when the
    /// agent's configuration asks for that, each conflict is a failure.
    pub fn reconcile(&self, agent: &mut Agent, dry_run: bool) -> Result<Outcome, AgentError> {
        let backend = self.discover()?;
        let mut outcome = agent.reconcile(&backend, dry_run)?;
        if !dry_run && outcome.plan.delete_local {
            outcome
                .failures
                .extend(outcome.plan.conflicts.iter().map(|conflict| Failure {
                    name: conflict.name.clone(),
                    reason: "local delete: not done over IMAP".into(),
                }));
        }
        Ok(outcome)
    }
}

/// The master connection in `slot`, opened and logged in first if there is none.
fn connected<'a>(
    slot: &'a mut Option<Client>,
    config: &AgentConfig,
) -> Result<&'a mut Client, ClientError> {
    if let Some(client) = slot {
        return Ok(client);
    }
    let mut client = Client::connect(&config.master, config.timeout)?;
    let credentials = &config.credentials;
    client.authenticate(&credentials.user, &credentials.password, "")?;
    Ok(slot.insert(client))
}

/// The reply, if the master answered OK.
fn ok(command: &'static str, reply: Reply) -> Result<Reply, AgentError> {
    match reply.status {
        Status::Ok => Ok(reply),
        status => Err(AgentError::Refused {
            command,
            status,
            text: reply.text,
        }),
    }
}
