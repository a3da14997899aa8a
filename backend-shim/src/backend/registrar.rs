//! The registrar: the thread that keeps the MUPDATE master in step with the reference
//! backend, over one persistent connection.
//!
//! At start it reconciles the store's mailboxes (a [`BackendView`] snapshotted from the store
//! before the executor serves anyone) against the master with the shim's [`Agent`] and its
//! three rules (a local copy the master places elsewhere is reported, never deleted). Then it
//! serves the sessions' [`MasterChange`]s one at a time, in order, each answered `Ok` or with
//! the master's refusal. The executor never blocks on it: [`Registrar::change`] is a future,
//! woken from this thread through an [`Event`].
//!
//! When the master cannot be reached the connection is tried again with a growing pause (1 s,
//! doubling, up to 30 s), and a change asked for meanwhile fails at once, so that the client
//! hears `NO [UNAVAILABLE]` rather than waiting. A start-up reconcile that could not reach the
//! master runs at the first reconnect; the snapshot is still right then, since every change of
//! names or ACLs needs the master's answer first. While idle, the connection is kept alive with
//! a `NOOP` every few minutes (a master drops silent connections).

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use corvid_mupdate::client::ClientError;
use corvid_proto::mailbox::name::owner_of;
use corvid_proto::mupdate::{CommandKind, Status};
use event_listener::Event;

use super::session::MasterChange;
use super::store::Store;
use crate::shim::agent::{Agent, AgentConfig, AgentError};
use crate::shim::reconcile::{BackendMailbox, BackendView, Origin};

/// The first pause before the master is tried again.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// The longest pause before the master is tried again.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// A connection silent this long is sent a `NOOP`.
const KEEPALIVE: Duration = Duration::from_secs(5 * 60);

/// The store's mailboxes as a reconcile sees them: every mailbox with its ACL, the owner (for
/// a user's mailbox) as its origin.
pub fn backend_view(store: &Store) -> BackendView {
    let mut view = BackendView::default();
    for mailbox in store.mailboxes() {
        let origin = Origin {
            user: owner_of(mailbox.name.as_bytes())
                .map(|owner| owner.to_string())
                .unwrap_or_default(),
            mailbox: mailbox.name.clone(),
        };
        let entry = BackendMailbox {
            acl: mailbox.acl.clone(),
            origin,
        };
        view.mailboxes
            .insert(mailbox.name.clone().into_bytes(), entry);
    }
    view
}

/// The executor's handle on the registrar thread (cheap to clone).
#[derive(Debug, Clone)]
pub struct Registrar {
    requests: Sender<Request>,
}

/// One change and where its answer goes.
#[derive(Debug)]
struct Request {
    change: MasterChange,
    answer: Reply,
}

/// Where one answer is left for the waiting session, and the event that wakes it.
#[derive(Debug, Default)]
struct Answer {
    result: Mutex<Option<Result<(), String>>>,
    ready: Event,
}

impl Answer {
    fn take(&self) -> Option<Result<(), String>> {
        self.result
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn deliver(&self, result: Result<(), String>) {
        *self.result.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
        self.ready.notify(1);
    }
}

/// The registrar's side of an [`Answer`]: answers once; dropped unanswered (the thread
/// stopped), it answers with a failure, so no session waits forever.
#[derive(Debug)]
struct Reply(Option<Arc<Answer>>);

impl Reply {
    fn send(mut self, result: Result<(), String>) {
        if let Some(answer) = self.0.take() {
            answer.deliver(result);
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(answer) = self.0.take() {
            answer.deliver(Err("the MUPDATE registrar has stopped".into()));
        }
    }
}

impl Registrar {
    /// Starts the registrar thread: it reconciles `snapshot` against the master, then serves
    /// changes until every [`Registrar`] handle is dropped, and logs out.
    pub fn spawn(
        config: AgentConfig,
        snapshot: BackendView,
    ) -> std::io::Result<(Registrar, JoinHandle<()>)> {
        let (requests, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("corvid-registrar".into())
            .spawn(move || Worker::new(config, snapshot).serve(receiver))?;
        Ok((Registrar { requests }, thread))
    }

    /// Makes `change` in the master: `Err` carries the master's refusal, or why it could not
    /// be asked.
    pub async fn change(&self, change: MasterChange) -> Result<(), String> {
        let answer = Arc::new(Answer::default());
        let request = Request {
            change,
            answer: Reply(Some(answer.clone())),
        };
        if self.requests.send(request).is_err() {
            return Err("the MUPDATE registrar has stopped".into());
        }
        loop {
            if let Some(result) = answer.take() {
                return result;
            }
            let listener = answer.ready.listen();
            if let Some(result) = answer.take() {
                return result;
            }
            listener.await;
        }
    }
}

/// The registrar thread's state.
struct Worker {
    agent: Agent,
    /// The start-up reconcile, until it has reached the master.
    snapshot: Option<BackendView>,
    /// When the master may be tried again, while it is unreachable.
    retry_at: Instant,
    /// The pause after the next failure.
    pause: Duration,
    /// When the connection last carried a command.
    used: Instant,
}

impl Worker {
    fn new(config: AgentConfig, snapshot: BackendView) -> Worker {
        let now = Instant::now();
        Worker {
            agent: Agent::new(config),
            snapshot: Some(snapshot),
            retry_at: now,
            pause: FIRST_RETRY,
            used: now,
        }
    }

    fn serve(mut self, requests: Receiver<Request>) {
        loop {
            self.connect_if_due();
            let now = Instant::now();
            let wait = if self.agent.is_connected() {
                (self.used + KEEPALIVE).saturating_duration_since(now)
            } else {
                self.retry_at.saturating_duration_since(now)
            };
            match requests.recv_timeout(wait) {
                Ok(Request { change, answer }) => answer.send(self.change(change)),
                Err(RecvTimeoutError::Timeout) if self.agent.is_connected() => {
                    if let Err(error) = self.agent.command(CommandKind::Noop) {
                        self.failed(&error);
                    }
                    self.used = Instant::now();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if self.agent.is_connected() {
            let _ = self.agent.command(CommandKind::Logout);
        }
    }

    /// Connects (and runs the start-up reconcile, if it has not yet run) when the master is
    /// unreachable and its pause is over.
    fn connect_if_due(&mut self) {
        if self.agent.is_connected() || Instant::now() < self.retry_at {
            return;
        }
        let result = match &self.snapshot {
            Some(snapshot) => match self.agent.reconcile(snapshot, false) {
                Ok(outcome) => {
                    outcome.log();
                    Ok(())
                }
                Err(AgentError::Master(error)) => Err(error),
                // The master answered but the reconcile cannot be done (it refused the read,
                // or the store is empty where the master places mailboxes): said once, loudly,
                // and not tried again; changes are still served.
                Err(error) => {
                    tracing::error!(%error, "start-up reconcile with the MUPDATE master refused");
                    Ok(())
                }
            },
            None => self.agent.command(CommandKind::Noop).map(drop),
        };
        match result {
            Ok(()) => {
                self.snapshot = None;
                self.pause = FIRST_RETRY;
                self.used = Instant::now();
                tracing::info!(master = %self.agent.config().master, "MUPDATE master connected");
            }
            Err(error) => self.failed(&error),
        }
    }

    /// The master could not be reached: try again after a pause, longer each time in a row.
    fn failed(&mut self, error: &ClientError) {
        tracing::warn!(%error, retry_in = ?self.pause, "MUPDATE master unreachable");
        self.retry_at = Instant::now() + self.pause;
        self.pause = (self.pause * 2).min(MAX_RETRY);
    }

    /// Makes one change in the master.
    fn change(&mut self, change: MasterChange) -> Result<(), String> {
        self.connect_if_due();
        if !self.agent.is_connected() {
            return Err("the MUPDATE master is unreachable; try again later".into());
        }
        let location = self.agent.config().placement.location();
        let command = match change {
            MasterChange::Reserve { name } => CommandKind::Reserve {
                name: name.into_bytes(),
                location,
            },
            MasterChange::Activate { name, acl } => CommandKind::Activate {
                name: name.into_bytes(),
                location,
                acl,
            },
            MasterChange::Delete { name } => CommandKind::Delete {
                name: name.into_bytes(),
            },
        };
        self.used = Instant::now();
        match self.agent.command(command) {
            Ok(reply) if reply.status == Status::Ok => Ok(()),
            Ok(reply) => Err(reply.text),
            Err(error) => {
                self.failed(&error);
                Err(format!("the MUPDATE master is unreachable: {error}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corvid_mupdate::client::Client;
    use corvid_mupdate::master::auth::{QuickRole, Users};
    use corvid_mupdate::master::server::{ServerConfig, run};
    use corvid_mupdate::master::session::SessionConfig;
    use corvid_proto::mupdate::{Limits, Record};
    use futures_lite::future::block_on;

    use crate::shim::{Credentials, Placement};

    const ACL: &[u8] = b"john\tlrswipkxtecda\t";

    /// A free port of 127.0.0.1.
    fn free_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    /// A `corvid mupdate` master on its own thread (left running: the test process ends it),
    /// with an admin and `be1` as a backend.
    fn master(dir: &std::path::Path) -> String {
        let mut users = Users::new();
        users.add_spec("admin:pw", QuickRole::Admin).unwrap();
        users.add_spec("be1:be1pw:be1", QuickRole::Backend).unwrap();
        let listen = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
        let config = ServerConfig {
            listen,
            data_dir: dir.to_path_buf(),
            users,
            session: SessionConfig {
                banner: corvid_mupdate::master::banner("test"),
                starttls: false,
                limits: Limits::default(),
                output_budget: 256 << 10,
            },
            max_connections: 100,
            changes_kept: 1000,
            idle_timeout: Duration::from_secs(600),
            failed_login_delay: Duration::ZERO,
            snapshot_after_bytes: 1 << 20,
            tls: None,
        };
        let (ready, started) = mpsc::channel();
        std::thread::spawn(move || {
            run(config, move |_| {
                let _ = ready.send(());
            })
        });
        started.recv_timeout(Duration::from_secs(20)).unwrap();
        listen.to_string()
    }

    fn admin(addr: &str) -> Client {
        let mut client = Client::connect(addr, Duration::from_secs(10)).unwrap();
        client.authenticate("admin", "pw", "").unwrap();
        client
    }

    fn agent(master: String) -> AgentConfig {
        AgentConfig {
            master,
            credentials: Credentials {
                user: "be1".into(),
                password: "be1pw".into(),
            },
            timeout: Duration::from_secs(10),
            placement: Placement {
                server: "be1".into(),
                partition: "default".into(),
            },
            delete_local: false,
        }
    }

    fn view(names: &[&str]) -> BackendView {
        let mut view = BackendView::default();
        for name in names {
            let origin = Origin {
                user: "john".into(),
                mailbox: (*name).into(),
            };
            let acl = ACL.to_vec();
            let entry = BackendMailbox { acl, origin };
            view.mailboxes.insert(name.as_bytes().to_vec(), entry);
        }
        view
    }

    #[test]
    fn reconciles_at_start_then_makes_changes_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let addr = master(dir.path());
        let mut admin = admin(&addr);
        for (name, location) in [("user.gone", "be1!default"), ("user.john.Taken", "be2!x")] {
            let activate = CommandKind::Activate {
                name: name.into(),
                location: location.into(),
                acl: ACL.to_vec(),
            };
            assert_eq!(admin.command(activate).unwrap().status, Status::Ok);
        }

        let (registrar, thread) = Registrar::spawn(agent(addr), view(&["user.john"])).unwrap();
        let sent = "user.john.Sent".to_string();
        let reserve = MasterChange::Reserve { name: sent.clone() };
        assert_eq!(block_on(registrar.change(reserve)), Ok(()));
        let activate = MasterChange::Activate {
            name: sent,
            acl: ACL.to_vec(),
        };
        assert_eq!(block_on(registrar.change(activate)), Ok(()));
        let taken = MasterChange::Reserve {
            name: "user.john.Taken".into(),
        };
        let refused = block_on(registrar.change(taken)).unwrap_err();
        assert!(!refused.is_empty());
        drop(registrar);
        thread.join().unwrap();

        let list = admin.command(CommandKind::List { prefix: None }).unwrap();
        let mut entries: Vec<(String, String)> = list
            .records
            .iter()
            .map(|record| match record {
                Record::Mailbox { name, location, .. } | Record::Reserve { name, location } => (
                    String::from_utf8_lossy(name).into_owned(),
                    String::from_utf8_lossy(location).into_owned(),
                ),
                Record::Delete { name } => (String::from_utf8_lossy(name).into_owned(), "-".into()),
            })
            .collect();
        entries.sort();
        let expected = [
            ("user.john", "be1!default"),
            ("user.john.Sent", "be1!default"),
            ("user.john.Taken", "be2!x"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(name, location)| (name.to_string(), location.to_string()))
            .collect();
        assert_eq!(
            entries, expected,
            "pushed, removed (user.gone), kept (Taken)"
        );
        let active = |wanted: &[u8]| {
            list.records
                .iter()
                .any(|record| matches!(record, Record::Mailbox { name, .. } if name == wanted))
        };
        assert!(
            active(b"user.john") && active(b"user.john.Sent"),
            "activated, not reserved"
        );
    }

    #[test]
    fn an_unreachable_master_fails_changes_at_once() {
        let (registrar, thread) =
            Registrar::spawn(agent(format!("127.0.0.1:{}", free_port())), view(&[])).unwrap();
        for _ in 0..3 {
            let started = Instant::now();
            let delete = MasterChange::Delete {
                name: "user.john".into(),
            };
            let error = block_on(registrar.change(delete)).unwrap_err();
            assert!(error.contains("unreachable"), "{error}");
            assert!(started.elapsed() < Duration::from_secs(2));
        }
        drop(registrar);
        thread.join().unwrap();
    }
}
