//! The demo's first-run seed: john's and jane's INBOXes with a few messages, jane's shared with
//! john, made by logging in to each user's backend directly.
//!
//! The client is corvid's blocking IMAP client (`corvid_mupdate::imap_client`), one command
//! at a time, APPENDs with non-synchronizing literals.

use std::time::Duration;

use anyhow::Context;
use corvid_mupdate::imap_client::{ImapClient, ImapClientError};
use corvid_proto::imap::response::Untagged;

/// How long connecting, and then each read, may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The largest response read: the seed's answers are short.
const MAX_RESPONSE: usize = 64 << 10;

/// A message to append: its flags and its text (LF line ends, sent as CRLF).
struct Message {
    flags: &'static str,
    text: &'static str,
}

/// john's INBOX, on be1.
const JOHN: &[Message] = &[
    Message {
        flags: "(\\Seen)",
        text: "\
From: Corvid Postmaster <postmaster@example.org>
To: John Smith <john@example.org>
Subject: Welcome to the murder
Date: Mon, 02 Nov 2026 09:00:00 +0000
Message-ID: <welcome.john@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello John,

your mailbox lives on be1. Jane's lives on be2, and the proxy makes them
look like one server: try SELECT \"Other Users/jane\".

-- 
The postmaster
",
    },
    Message {
        flags: "()",
        text: "\
From: Jane Doe <jane@example.org>
To: John Smith <john@example.org>
Subject: Lunch on Thursday?
Date: Tue, 03 Nov 2026 11:42:17 +0100
Message-ID: <lunch.3f9a@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

John, are you free for lunch on Thursday? The usual place at 12:30.

Jane
",
    },
];

/// jane's INBOX, on be2.
const JANE: &[Message] = &[
    Message {
        flags: "(\\Seen)",
        text: "\
From: John Smith <john@example.org>
To: Jane Doe <jane@example.org>
Subject: Quarterly report draft
Date: Wed, 04 Nov 2026 16:05:44 +0000
Message-ID: <q3-report.77c1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"=-q3-report-boundary\"

This is a multi-part message in MIME format.

--=-q3-report-boundary
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit

Jane,

the draft of the quarterly report is attached: revenue by region.
Could you check the numbers for the north before Friday?

John

--=-q3-report-boundary
Content-Type: text/csv; charset=utf-8; name=\"q3-revenue.csv\"
Content-Disposition: attachment; filename=\"q3-revenue.csv\"
Content-Transfer-Encoding: 7bit

region,revenue
north,412000
south,388500
west,295250

--=-q3-report-boundary--
",
    },
    Message {
        flags: "()",
        text: "\
From: Mail Operations <ops@example.org>
To: Jane Doe <jane@example.org>
Subject: Maintenance window on Saturday
Date: Thu, 05 Nov 2026 08:15:00 +0000
Message-ID: <maintenance.2026-11-07@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

The mail servers will be updated on Saturday between 02:00 and 03:00 UTC.
Clients may reconnect once; no mail is lost.
",
    },
    Message {
        flags: "()",
        text: "\
From: Alice Martin <alice@example.net>
To: Jane Doe <jane@example.org>
Subject: Re: Conference talk
Date: Fri, 06 Nov 2026 14:21:09 +0100
Message-ID: <talk.c0ffee@example.net>
In-Reply-To: <talk.1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Jane, your talk is accepted: Tuesday, 10:30, room B. Slides by Monday please.

Alice
",
    },
];

/// Seeds john's INBOX on the backend at `john_backend` and jane's at `jane_backend`; both log
/// in with `password`.
pub(super) fn seed(john_backend: &str, jane_backend: &str, password: &str) -> anyhow::Result<()> {
    // Every answer is checked by its tagged OK; untagged data is of no interest here.
    let ignore = |_: &Untagged<'_>, _: &[u8]| Ok::<(), ImapClientError>(());
    for (user, backend, messages) in [("john", john_backend, JOHN), ("jane", jane_backend, JANE)] {
        let mut client = ImapClient::connect(backend, TIMEOUT, MAX_RESPONSE)
            .with_context(|| format!("connecting to {backend}"))?;
        client.login(user, password)?;
        for message in messages {
            // A non-synchronizing literal (LITERAL+, which the reference backend offers).
            let text = message.text.replace('\n', "\r\n");
            let mut append = format!("APPEND INBOX {} {{{}+}}\r\n", message.flags, text.len());
            append.push_str(&text);
            client.run("APPEND", append.as_bytes(), ignore)?;
        }
        if user == "jane" {
            client.run("SETACL", b"SETACL INBOX john lrs", ignore)?;
        }
        client.logout();
    }
    Ok(())
}
