//! The message view's fuzz body ([`fuzz_message`]) replayed on stable: on every message of the
//! corpus (`tests/data/messages/`), on seeded mutations of them, and on generated hostile
//! inputs (deep nesting, many parts, a huge header, boundary soup).

use corvid_proto::fuzzing::message::fuzz_message;

fn corpus() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/messages");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("read the corpus")
        .map(|e| e.expect("list the corpus").path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).expect("read a corpus message"))
        .collect()
}

/// xorshift64*: a small seeded generator, so that a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn corpus_messages_and_every_prefix() {
    let corpus = corpus();
    assert!(corpus.len() >= 25);
    for message in &corpus {
        for cut in 0..=message.len() {
            fuzz_message(&message[..cut]);
        }
    }
}

#[test]
fn seeded_mutations_of_the_corpus() {
    const TOKENS: [&[u8]; 10] = [
        b"\r\n",
        b"\n",
        b"--",
        b"\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=",
        b"Content-Type: message/rfc822\r\n\r\n",
        b"\"",
        b"(",
        b"\0",
        b"\xff",
    ];
    let corpus = corpus();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for round in 0..4000 {
        let mut message = corpus[round % corpus.len()].clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(message.len() + 1);
            match rng.below(4) {
                0 => {
                    let token = TOKENS[rng.below(TOKENS.len())];
                    message.splice(at..at, token.iter().copied());
                }
                1 if at < message.len() => message[at] = rng.next() as u8,
                2 => {
                    let end = (at + rng.below(40)).min(message.len());
                    message.drain(at..end);
                }
                _ => {
                    let from = rng.below(message.len() + 1);
                    let end = (from + rng.below(200)).min(message.len());
                    let copy = message[from..end].to_vec();
                    message.splice(at..at, copy);
                }
            }
        }
        fuzz_message(&message);
    }
}

#[test]
fn hostile_nesting_of_multiparts_with_their_own_boundaries() {
    let mut nested = Vec::new();
    for level in 0..100_000 {
        nested.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{level}\r\n\r\n--b{level}\r\n")
                .as_bytes(),
        );
    }
    fuzz_message(&nested);
}

#[test]
fn hostile_nesting_of_multiparts_sharing_a_boundary() {
    fuzz_message(&b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n".repeat(100_000));
}

#[test]
fn hostile_header_of_a_million_folded_lines() {
    let mut header = b"Subject: start\r\n".to_vec();
    header.extend_from_slice(&b" more\r\n".repeat(1_000_000));
    header.extend_from_slice(b"\r\nbody");
    fuzz_message(&header);
}

#[test]
fn hostile_boundary_soup() {
    let mut soup =
        b"To: g:a@b;,c@d,(x\r\nContent-Type: multipart/mixed; boundary=s\r\n\r\n".to_vec();
    soup.extend_from_slice(
        &b"--s\r\n--s--\r\n--s\r\nContent-Type: message/rfc822\r\n\r\n".repeat(20_000),
    );
    fuzz_message(&soup);
}
