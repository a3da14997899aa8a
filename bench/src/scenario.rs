//! Scenarios: what each simulated client does, as named presets or a TOML file.
//!
//! A scenario is a list of client kinds ([`Client`]), each given a share of the sessions. A
//! session of a kind runs its `setup` steps once, then repeats an *operation* until the run
//! ends: either its `sequence` of steps in order, or one step drawn by weight from its `mix`.
//! Operations are what the report counts (commands, logins, messages, handshakes); every step
//! has its own latency histogram. A session starts unconnected: `connect` opens a connection
//! (TLS handshake and greeting included), `logout` and `close` end it.
//!
//! A scenario file (`--scenario-file F.toml`) holds one `[[client]]` table per kind:
//!
//! ```toml
//! # FETCH-only relay: logged-in sessions with INBOX selected.
//! [[client]]
//! name = "fetcher"
//! share = 1                              # weight among the kinds (default 1)
//! setup = ["connect", "login", "select"]
//! mix = { fetch = 1 }                    # or: sequence = ["connect", "login", "logout"]
//! idle_hold = "10s"                      # how long `idle` holds ("run": to the end)
//! append_size = 4096                     # bytes of the message `append` sends
//! ```
//!
//! This module is pure: it parses and describes, the runner executes.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// One thing a session does, measured as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Open a connection (the TLS handshake when the target is TLS) and read the greeting.
    Connect,
    /// `LOGIN user password`.
    Login,
    /// `SELECT INBOX`.
    Select,
    /// `NOOP`.
    Noop,
    /// `FETCH 1 (UID FLAGS)`: a small fetch.
    Fetch,
    /// `FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])`: a webmail message list.
    FetchHeaders,
    /// `STATUS INBOX (MESSAGES)`.
    Status,
    /// `APPEND INBOX` of a message of [`Client::append_size`] bytes.
    Append,
    /// `IDLE`, held for [`Client::idle_hold`], then `DONE`; its latency is IDLE to the `+`.
    Idle,
    /// `LOGOUT`, then the connection is closed.
    Logout,
    /// Close the connection without a word (after a bare handshake).
    Close,
}

impl Step {
    /// Every step, in report order.
    pub const ALL: [Step; 11] = [
        Step::Connect,
        Step::Login,
        Step::Select,
        Step::Noop,
        Step::Fetch,
        Step::FetchHeaders,
        Step::Status,
        Step::Append,
        Step::Idle,
        Step::Logout,
        Step::Close,
    ];

    /// The step's name, as in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Step::Connect => "connect",
            Step::Login => "login",
            Step::Select => "select",
            Step::Noop => "noop",
            Step::Fetch => "fetch",
            Step::FetchHeaders => "fetch-headers",
            Step::Status => "status",
            Step::Append => "append",
            Step::Idle => "idle",
            Step::Logout => "logout",
            Step::Close => "close",
        }
    }

    /// The step's position in [`Step::ALL`] (an index for per-step tables).
    pub fn index(self) -> usize {
        self as usize
    }

    /// Is a connection open after this step, given whether one was open before it?
    fn connected_after(self, before: bool) -> bool {
        match self {
            Step::Connect => true,
            Step::Logout | Step::Close => false,
            _ => before,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How long an `idle` step holds IDLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleHold {
    /// This long, then `DONE`.
    For(Duration),
    /// Until the run (or the round) ends.
    Run,
}

/// What a session repeats: its operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// These steps, in order.
    Sequence(Vec<Step>),
    /// One step drawn at random, each with its weight (all weights positive).
    Mix(Vec<(Step, u32)>),
}

impl Operation {
    /// The steps the operation may run.
    pub fn steps(&self) -> Vec<Step> {
        match self {
            Operation::Sequence(steps) => steps.clone(),
            Operation::Mix(mix) => mix.iter().map(|&(step, _)| step).collect(),
        }
    }
}

/// One kind of client: its share of the sessions and what each of its sessions does.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    /// The kind's name, for reports.
    pub name: String,
    /// Its weight among the kinds: sessions are dealt out in proportion.
    pub share: u32,
    /// Steps run once per session, before its operations (not counted as operations).
    pub setup: Vec<Step>,
    /// What the session repeats.
    pub operation: Operation,
    /// How long `idle` holds.
    pub idle_hold: IdleHold,
    /// The size of the message `append` sends, in bytes.
    pub append_size: usize,
}

/// A named mix of client kinds.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The preset's name, or the file's stem.
    pub name: String,
    /// The client kinds (at least one).
    pub clients: Vec<Client>,
}

/// Why a scenario could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// No preset has this name.
    #[error("no scenario named {0:?} (presets: {list})", list = PRESETS.join(", "))]
    UnknownPreset(String),
    /// The file is not valid TOML or does not have the expected shape.
    #[error("scenario file: {0}")]
    Toml(#[from] toml::de::Error),
    /// The file is valid TOML but does not describe a runnable scenario.
    #[error("scenario file, client {client:?}: {message}")]
    Invalid {
        /// The client kind at fault.
        client: String,
        /// What is wrong.
        message: String,
    },
    /// The file has no `[[client]]`.
    #[error("scenario file: no [[client]] table")]
    NoClients,
    /// A duration could not be read.
    #[error("{0:?} is not a duration (examples: 30s, 500ms, 2m)")]
    Duration(String),
}

/// The preset names, for `corvid bench SCENARIO`.
pub const PRESETS: [&str; 6] = [
    "login",
    "relay",
    "idle-hold",
    "append",
    "tls-handshake",
    "isp-mix",
];

/// The default size of an `append` message: about 4 KiB, a short mail with headers.
pub const APPEND_SIZE: usize = 4096;

/// The most an `append` message may be (the framer's literal limit is far above).
const MAX_APPEND_SIZE: usize = 64 << 20;

const LOGGED_IN: [Step; 3] = [Step::Connect, Step::Login, Step::Select];

impl Client {
    fn new(name: &str, setup: &[Step], operation: Operation) -> Client {
        Client {
            name: name.into(),
            share: 1,
            setup: setup.to_vec(),
            operation,
            idle_hold: IdleHold::Run,
            append_size: APPEND_SIZE,
        }
    }

    /// Checks that the steps make sense in order: a command runs on an open connection, a
    /// connect on a closed one, and an operation leaves the connection as it found it.
    fn validate(&self) -> Result<(), ScenarioError> {
        let invalid = |message: String| ScenarioError::Invalid {
            client: self.name.clone(),
            message,
        };
        if self.share == 0 {
            return Err(invalid("share must be at least 1".into()));
        }
        if self.append_size == 0 || self.append_size > MAX_APPEND_SIZE {
            return Err(invalid(format!(
                "append_size must be 1 to {MAX_APPEND_SIZE} bytes"
            )));
        }
        let mut connected = false;
        let check = |step: Step, connected: &mut bool| {
            if (step == Step::Connect) == *connected {
                let state = if *connected { "open" } else { "closed" };
                return Err(invalid(format!("{step} with the connection {state}")));
            }
            *connected = step.connected_after(*connected);
            Ok(())
        };
        for &step in &self.setup {
            if step == Step::Idle {
                return Err(invalid("idle cannot be a setup step".into()));
            }
            check(step, &mut connected)?;
        }
        match &self.operation {
            Operation::Sequence(steps) => {
                if steps.is_empty() {
                    return Err(invalid("empty sequence".into()));
                }
                let before = connected;
                for &step in steps {
                    check(step, &mut connected)?;
                }
                if connected != before {
                    return Err(invalid(
                        "the sequence must leave the connection as it found it".into(),
                    ));
                }
            }
            Operation::Mix(mix) => {
                if mix.is_empty() {
                    return Err(invalid("empty mix".into()));
                }
                for &(step, _) in mix {
                    if matches!(step, Step::Connect | Step::Logout | Step::Close) {
                        return Err(invalid(format!("{step} cannot be drawn in a mix")));
                    }
                    check(step, &mut connected)?;
                }
            }
        }
        Ok(())
    }
}

impl Scenario {
    /// The preset `name` (see [`PRESETS`] and docs/benchmarking.md).
    pub fn preset(name: &str) -> Result<Scenario, ScenarioError> {
        let clients = match name {
            "login" => vec![Client::new(
                "login",
                &[],
                Operation::Sequence(vec![Step::Connect, Step::Login, Step::Select, Step::Logout]),
            )],
            "relay" => vec![Client::new(
                "relay",
                &LOGGED_IN,
                Operation::Mix(vec![(Step::Noop, 1), (Step::Fetch, 1), (Step::Status, 1)]),
            )],
            "idle-hold" => vec![Client::new(
                "idle",
                &LOGGED_IN,
                Operation::Sequence(vec![Step::Idle]),
            )],
            "append" => vec![Client::new(
                "append",
                &LOGGED_IN,
                Operation::Mix(vec![(Step::Append, 1)]),
            )],
            "tls-handshake" => vec![Client::new(
                "handshake",
                &[],
                Operation::Sequence(vec![Step::Connect, Step::Close]),
            )],
            // Four desktop clients to one webmail session: the desktops hold IDLE and renew it
            // every 10 s (real clients every 29 minutes: shortened so that a run sees renewals);
            // a webmail session logs in, lists the headers of INBOX and logs out.
            "isp-mix" => vec![
                Client {
                    share: 4,
                    idle_hold: IdleHold::For(Duration::from_secs(10)),
                    ..Client::new("desktop", &LOGGED_IN, Operation::Sequence(vec![Step::Idle]))
                },
                Client::new(
                    "webmail",
                    &[],
                    Operation::Sequence(vec![
                        Step::Connect,
                        Step::Login,
                        Step::Select,
                        Step::FetchHeaders,
                        Step::Logout,
                    ]),
                ),
            ],
            _ => return Err(ScenarioError::UnknownPreset(name.into())),
        };
        Ok(Scenario {
            name: name.into(),
            clients,
        })
    }

    /// A scenario from the text of a scenario file (see the module doc), named `name`.
    pub fn from_toml(name: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let file: File = toml::from_str(text)?;
        if file.client.is_empty() {
            return Err(ScenarioError::NoClients);
        }
        let clients = file
            .client
            .into_iter()
            .enumerate()
            .map(|(i, raw)| raw.into_client(i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Scenario {
            name: name.into(),
            clients,
        })
    }

    /// Every step the scenario may run, in report order.
    pub fn steps(&self) -> Vec<Step> {
        let mut steps: Vec<Step> = self
            .clients
            .iter()
            .flat_map(|client| client.setup.iter().copied().chain(client.operation.steps()))
            .collect();
        steps.sort();
        steps.dedup();
        steps
    }

    /// How many of `sessions` go to each client kind, in order: in proportion to the shares,
    /// every kind at least one when there are sessions enough, the total exactly `sessions`.
    pub fn deal(&self, sessions: usize) -> Vec<usize> {
        let total: u64 = self.clients.iter().map(|c| u64::from(c.share)).sum();
        let mut dealt: Vec<usize> = self
            .clients
            .iter()
            .map(|c| {
                let exact = sessions as u64 * u64::from(c.share) / total.max(1);
                usize::try_from(exact).unwrap_or(sessions)
            })
            .collect();
        // The remainder goes one by one to the kinds with the fewest, from the first.
        let mut left = sessions.saturating_sub(dealt.iter().sum());
        while left > 0 {
            let Some(fewest) = dealt
                .iter()
                .enumerate()
                .min_by_key(|&(_, &n)| n)
                .map(|(i, _)| i)
            else {
                break;
            };
            if let Some(n) = dealt.get_mut(fewest) {
                *n += 1;
            }
            left -= 1;
        }
        dealt
    }
}

/// A scenario file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    client: Vec<RawClient>,
}

/// One `[[client]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    name: Option<String>,
    #[serde(default = "one")]
    share: u32,
    #[serde(default)]
    setup: Vec<Step>,
    sequence: Option<Vec<Step>>,
    mix: Option<BTreeMap<Step, u32>>,
    idle_hold: Option<String>,
    append_size: Option<usize>,
}

fn one() -> u32 {
    1
}

impl RawClient {
    fn into_client(self, index: usize) -> Result<Client, ScenarioError> {
        let name = self.name.unwrap_or_else(|| format!("client{}", index + 1));
        let invalid = |message: &str| ScenarioError::Invalid {
            client: name.clone(),
            message: message.into(),
        };
        let operation = match (self.sequence, self.mix) {
            (Some(sequence), None) => Operation::Sequence(sequence),
            (None, Some(mix)) => {
                if mix.values().any(|&weight| weight == 0) {
                    return Err(invalid("mix weights must be at least 1"));
                }
                Operation::Mix(mix.into_iter().collect())
            }
            _ => return Err(invalid("give either sequence or mix")),
        };
        let idle_hold = match self.idle_hold.as_deref() {
            None | Some("run") => IdleHold::Run,
            Some(text) => IdleHold::For(parse_duration(text)?),
        };
        let client = Client {
            name: name.clone(),
            share: self.share,
            setup: self.setup,
            operation,
            idle_hold,
            append_size: self.append_size.unwrap_or(APPEND_SIZE),
        };
        client.validate()?;
        Ok(client)
    }
}

/// Reads a duration written as a number and a unit: `ms`, `s`, `m` or `h` (`30s`, `1.5s`,
/// `500ms`, `2m`).
pub fn parse_duration(text: &str) -> Result<Duration, ScenarioError> {
    let bad = || ScenarioError::Duration(text.into());
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid() {
        for name in PRESETS {
            let scenario = Scenario::preset(name).unwrap();
            for client in &scenario.clients {
                client.validate().unwrap();
            }
        }
        assert!(matches!(
            Scenario::preset("nope"),
            Err(ScenarioError::UnknownPreset(_))
        ));
    }

    #[test]
    fn a_file_with_a_mix_and_a_sequence() {
        let text = r#"
            [[client]]
            name = "fetcher"
            share = 3
            setup = ["connect", "login", "select"]
            mix = { fetch = 2, noop = 1 }
            idle_hold = "1.5s"

            [[client]]
            sequence = ["connect", "login", "select", "fetch-headers", "logout"]
            append_size = 100
        "#;
        let scenario = Scenario::from_toml("mine", text).unwrap();
        assert_eq!(scenario.name, "mine");
        let [fetcher, second] = &scenario.clients[..] else {
            panic!("two clients: {scenario:?}")
        };
        assert_eq!(fetcher.name, "fetcher");
        assert_eq!(fetcher.share, 3);
        assert_eq!(fetcher.setup, LOGGED_IN);
        assert_eq!(
            fetcher.operation,
            Operation::Mix(vec![(Step::Noop, 1), (Step::Fetch, 2)])
        );
        assert_eq!(
            fetcher.idle_hold,
            IdleHold::For(Duration::from_millis(1500))
        );
        assert_eq!(second.name, "client2");
        assert_eq!(second.share, 1);
        assert_eq!(second.append_size, 100);
        assert_eq!(second.idle_hold, IdleHold::Run);
        assert_eq!(
            scenario.steps(),
            vec![
                Step::Connect,
                Step::Login,
                Step::Select,
                Step::Noop,
                Step::Fetch,
                Step::FetchHeaders,
                Step::Logout
            ]
        );
    }

    #[test]
    fn files_that_cannot_run_are_refused() {
        let refused = |text: &str| Scenario::from_toml("x", text).unwrap_err().to_string();
        assert!(refused("").contains("no [[client]]"));
        assert!(
            refused("[[client]]\nmix = { noop = 1 }").contains("noop with the connection closed")
        );
        assert!(
            refused("[[client]]\nsetup = [\"connect\"]\nsequence = [\"connect\"]")
                .contains("connect with the connection open")
        );
        assert!(
            refused("[[client]]\nsequence = [\"connect\", \"login\"]")
                .contains("leave the connection as it found it")
        );
        assert!(refused("[[client]]\nsetup = [\"connect\"]\nmix = { logout = 1 }").contains("mix"));
        assert!(
            refused("[[client]]\nsetup = [\"connect\"]\nmix = { noop = 0 }").contains("weights")
        );
        assert!(refused("[[client]]\nsetup = [\"connect\"]").contains("either sequence or mix"));
        assert!(
            refused("[[client]]\nsetup = [\"connect\", \"idle\"]\nmix = { noop = 1 }")
                .contains("setup")
        );
        assert!(refused("[[client]]\nsequence = [\"dance\"]").contains("dance"));
        assert!(
            refused("[[client]]\nsequence = [\"connect\", \"close\"]\nshare = 0").contains("share")
        );
        assert!(
            refused("[[client]]\nsequence = [\"connect\", \"close\"]\ncolour = 1")
                .contains("colour")
        );
        assert!(
            refused("[[client]]\nsequence = [\"connect\", \"close\"]\nidle_hold = \"soon\"")
                .contains("not a duration")
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("0.25s").unwrap(), Duration::from_millis(250));
        for bad in ["", "30", "s", "3x", "-1s", "1e400s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sessions_are_dealt_by_share() {
        let mix = Scenario::preset("isp-mix").unwrap();
        assert_eq!(mix.deal(10), vec![8, 2]);
        assert_eq!(mix.deal(1), vec![1, 0]);
        assert_eq!(mix.deal(2), vec![1, 1]);
        assert_eq!(mix.deal(3), vec![2, 1]);
        assert_eq!(mix.deal(0), vec![0, 0]);
        assert_eq!(Scenario::preset("relay").unwrap().deal(32), vec![32]);
    }
}
