//! `corvid mboxlist`: read and load a running master's mailbox table (dump, load, find, list).
//!
//! Dumps are JSON lines, one entry per line (`{"name":…,"location":…,"acl":…,"state":…}`),
//! which `load` reads back; `--format cyrus` writes the object `ctl_mboxlist -d` prints, for
//! comparing with a Cyrus frontend's copy. Loading pipelines ACTIVATE and RESERVE commands.

use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::{Context, bail};
use corvid_mupdate::client::{Client, Reply};
use corvid_proto::mupdate::{CommandKind, Record, Status};
use serde::{Deserialize, Serialize};

/// Flags of `corvid mboxlist`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The master, `HOST:PORT`.
    #[arg(long, default_value = "127.0.0.1:3905")]
    master: String,
    /// The user to log in as.
    #[arg(long)]
    user: String,
    /// Its password (or set CORVID_MUPDATE_PASSWORD, which keeps it out of `ps`).
    #[arg(long, env = "CORVID_MUPDATE_PASSWORD", hide_env_values = true)]
    password: String,
    /// Act as this user (only admins may).
    #[arg(long, default_value = "")]
    authzid: String,
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Every entry, in Cyrus dbname order.
    Dump {
        /// `jsonl` (what `load` reads) or `cyrus` (as `ctl_mboxlist -d` prints).
        #[arg(long, default_value = "jsonl")]
        format: Format,
    },
    /// Loads entries from a JSON-lines dump (`-` for stdin): ACTIVATE or RESERVE each.
    Load {
        /// The dump file.
        file: String,
    },
    /// One entry.
    Find {
        /// The mailbox's internal name (`user.alice.Sent`).
        name: String,
    },
    /// The entries whose location starts with PREFIX (`be1!` for one server's), or all.
    List {
        /// A location prefix.
        prefix: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Jsonl,
    Cyrus,
}

/// One entry as a dump line.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    name: String,
    location: String,
    #[serde(default)]
    acl: String,
    state: State,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum State {
    Active,
    Reserved,
}

impl Line {
    fn of(record: Record) -> Option<Line> {
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        match record {
            Record::Mailbox {
                name,
                location,
                acl,
            } => Some(Line {
                name: text(name),
                location: text(location),
                acl: text(acl),
                state: State::Active,
            }),
            Record::Reserve { name, location } => Some(Line {
                name: text(name),
                location: text(location),
                acl: String::new(),
                state: State::Reserved,
            }),
            Record::Delete { .. } => None,
        }
    }

    fn command(self) -> CommandKind {
        let (name, location) = (self.name.into_bytes(), self.location.into_bytes());
        match self.state {
            State::Active => CommandKind::Activate {
                name,
                location,
                acl: self.acl.into_bytes(),
            },
            State::Reserved => CommandKind::Reserve { name, location },
        }
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let mut client = Client::connect(&args.master, Duration::from_secs(60))
        .with_context(|| format!("connecting to the master at {}", args.master))?;
    client
        .authenticate(&args.user, &args.password, &args.authzid)
        .context("logging in to the master")?;
    let mut out = std::io::stdout().lock();
    match args.action {
        Action::Dump { format } => {
            let reply = ok(client.command(CommandKind::List { prefix: None })?)?;
            let lines = reply.records.into_iter().filter_map(Line::of);
            match format {
                Format::Jsonl => {
                    for line in lines {
                        serde_json::to_writer(&mut out, &line)?;
                        out.write_all(b"\n")?;
                    }
                }
                Format::Cyrus => write_cyrus(&mut out, lines)?,
            }
        }
        Action::Find { name } => {
            let reply = ok(client.command(CommandKind::Find {
                name: name.into_bytes(),
            })?)?;
            for line in reply.records.into_iter().filter_map(Line::of) {
                serde_json::to_writer(&mut out, &line)?;
                out.write_all(b"\n")?;
            }
        }
        Action::List { prefix } => {
            let reply = ok(client.command(CommandKind::List {
                prefix: prefix.map(String::into_bytes),
            })?)?;
            for line in reply.records.into_iter().filter_map(Line::of) {
                writeln!(
                    out,
                    "{}\t{}\t{}",
                    line.name,
                    line.location,
                    line.acl.escape_debug()
                )?;
            }
        }
        Action::Load { file } => {
            let input: Box<dyn BufRead> = if file == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                Box::new(std::io::BufReader::new(
                    std::fs::File::open(&file).with_context(|| format!("opening {file}"))?,
                ))
            };
            let mut commands = Vec::new();
            let mut names = Vec::new();
            for (number, line) in input.lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let entry: Line = serde_json::from_str(&line)
                    .with_context(|| format!("{file}:{}: not a dump line", number + 1))?;
                names.push(entry.name.clone());
                commands.push(entry.command());
            }
            let replies = client.pipeline(commands, 256)?;
            let mut refused = 0;
            for (name, reply) in names.iter().zip(&replies) {
                if reply.status != Status::Ok {
                    refused += 1;
                    eprintln!("{name}: {:?} {}", reply.status, reply.text);
                }
            }
            writeln!(
                out,
                "loaded {} entries, {refused} refused",
                replies.len() - refused
            )?;
            if refused > 0 {
                bail!("{refused} entries refused");
            }
        }
    }
    client.logout();
    Ok(())
}

fn ok(reply: Reply) -> anyhow::Result<Reply> {
    if reply.status != Status::Ok {
        bail!("master answered {:?} {}", reply.status, reply.text);
    }
    Ok(reply)
}

/// The shape of `ctl_mboxlist -d`: an object from name to fields, the ACL as an object.
fn write_cyrus(out: &mut impl Write, lines: impl Iterator<Item = Line>) -> anyhow::Result<()> {
    let mut object = serde_json::Map::new();
    for line in lines {
        let (server, partition) = line
            .location
            .split_once('!')
            .unwrap_or(("", line.location.as_str()));
        let mut acl = serde_json::Map::new();
        let mut fields = line.acl.split('\t');
        while let (Some(id), Some(rights)) = (fields.next(), fields.next()) {
            acl.insert(id.to_string(), rights.into());
        }
        let mbtype = match line.state {
            State::Active => "er",
            State::Reserved => "ez",
        };
        object.insert(
            line.name,
            serde_json::json!({
                "mbtype": mbtype,
                "server": server,
                "partition": partition,
                "acl": acl,
            }),
        );
    }
    serde_json::to_writer_pretty(&mut *out, &object)?;
    out.write_all(b"\n")?;
    Ok(())
}
