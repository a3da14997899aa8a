//! Fuzz bodies for the MUPDATE codec: the server's command decoder and the client's decoders.
//!
//! Each body reads its first byte as a seed and the rest as a byte stream, which it feeds to the
//! decoders in chunks of 1 to 16 bytes chosen by the seed, under small [`Limits`], the way a
//! server or client loop would. They assert that nothing panics, that a decoder never holds
//! more than its limits allow, that a `{n}` continuation is asked for once, and that every
//! value decoded encodes and decodes back to itself.

use crate::mupdate::{
    AuthReply, Banner, CONTINUATION, CommandDecoder, CommandError, Decoded, Limits, Outcome,
    Response, Step, encode_sasl_line,
};

/// Small limits, so that the fuzzer reaches them.
const SERVER_LIMITS: Limits = Limits {
    max_line: 128,
    max_literal: 64,
};

/// A banner is one message for the limits, so the client's line limit is larger.
const CLIENT_LIMITS: Limits = Limits {
    max_line: 512,
    max_literal: 64,
};

/// The most bytes a decoder may leave waiting in its caller's buffer.
fn bound(limits: Limits) -> usize {
    limits.max_line + limits.max_literal
}

/// Splits fuzz input into a seed and chunks of the stream (1 to 16 bytes each).
fn chunks(data: &[u8]) -> (u8, Vec<&[u8]>) {
    let Some((&seed, mut stream)) = data.split_first() else {
        return (0, Vec::new());
    };
    let mut state = u32::from(seed) | 0x100;
    let mut out = Vec::new();
    while !stream.is_empty() {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let (chunk, rest) = stream.split_at(stream.len().min(1 + (state >> 16) as usize % 16));
        out.push(chunk);
        stream = rest;
    }
    (seed, out)
}

/// What a server step came to, its value checked and dropped.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Done,
    Incomplete,
    Continue,
    Rejected(CommandError),
}

/// Checks a value of a server step with `round_trip`, and keeps the rest of the step.
fn seen<T>(step: Step<T>, round_trip: impl FnOnce(&T)) -> (usize, Seen) {
    let seen = match step.outcome {
        Outcome::Done(value) => {
            round_trip(&value);
            Seen::Done
        }
        Outcome::Incomplete => Seen::Incomplete,
        Outcome::Continue(reply) => {
            assert_eq!(reply, CONTINUATION);
            Seen::Continue
        }
        Outcome::Rejected(error) => Seen::Rejected(error),
    };
    (step.consumed, seen)
}

/// Runs the server's decoder over a stream: commands, and one SASL line after each
/// AUTHENTICATE.
pub fn fuzz_mupdate_server(data: &[u8]) {
    let (_, chunks) = chunks(data);
    let mut decoder = CommandDecoder::new(SERVER_LIMITS);
    let mut buffer = Vec::new();
    let mut in_sasl = false;
    for chunk in chunks {
        buffer.extend_from_slice(chunk);
        loop {
            let (consumed, seen) = if in_sasl {
                seen(decoder.decode_sasl(&buffer), |sasl| {
                    let mut encoded = Vec::new();
                    sasl.encode(&mut encoded);
                    let again = CommandDecoder::default().decode_sasl(&encoded);
                    assert_eq!(again.outcome, Outcome::Done(sasl.clone()));
                    in_sasl = false;
                })
            } else {
                seen(decoder.decode(&buffer), |command| {
                    let mut encoded = Vec::new();
                    command.encode(&mut encoded);
                    let again = CommandDecoder::default().decode(&encoded);
                    assert_eq!(again.consumed, encoded.len());
                    assert_eq!(again.outcome, Outcome::Done(command.clone()));
                    in_sasl = command.kind.name() == "AUTHENTICATE";
                })
            };
            assert!(consumed <= buffer.len());
            buffer.drain(..consumed);
            match seen {
                Seen::Done => assert!(consumed > 0),
                Seen::Rejected(error) => {
                    let mut reply = Vec::new();
                    error.response().encode(&mut reply);
                    assert_eq!(
                        Response::decode(&reply, Limits::default()),
                        Ok(Decoded::Done {
                            value: error.response(),
                            consumed: reply.len()
                        })
                    );
                }
                Seen::Continue => {
                    let again = decoder.decode(&buffer);
                    assert_eq!((again.consumed, again.outcome), (0, Outcome::Incomplete));
                    break;
                }
                Seen::Incomplete => break,
            }
        }
        assert!(buffer.len() <= bound(SERVER_LIMITS));
    }
}

/// Which client-side decoder reads the next message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Banner,
    Response,
    AuthReply,
}

/// Decodes one message with a client-side decoder; checks that it encodes back to itself.
/// Returns the bytes it took, `Some(0)` when more are needed, or `None` on an error.
fn client_message(expect: Expect, input: &[u8], limits: Limits) -> Option<usize> {
    let mut encoded = Vec::new();
    let decoded = match expect {
        Expect::Banner => Banner::decode(input, limits).map(|d| {
            d.map(|banner| {
                banner.encode(&mut encoded);
                let again = Banner::decode(&encoded, Limits::default());
                assert_eq!(
                    again.map(|d| d.map(|b| b == banner)),
                    Ok(done_true(&encoded))
                );
            })
        }),
        Expect::Response => Response::decode(input, limits).map(|d| {
            d.map(|response| {
                response.encode(&mut encoded);
                let again = Response::decode(&encoded, Limits::default());
                assert_eq!(
                    again.map(|d| d.map(|r| r == response)),
                    Ok(done_true(&encoded))
                );
            })
        }),
        Expect::AuthReply => AuthReply::decode(input, limits).map(|d| {
            d.map(|reply| {
                match &reply {
                    AuthReply::Challenge(data) => encode_sasl_line(data, &mut encoded),
                    AuthReply::Done(response) => response.encode(&mut encoded),
                }
                let again = AuthReply::decode(&encoded, Limits::default());
                assert_eq!(
                    again.map(|d| d.map(|r| r == reply)),
                    Ok(done_true(&encoded))
                );
            })
        }),
    };
    match decoded {
        Ok(Decoded::Done { consumed, .. }) => {
            assert!(consumed > 0 && consumed <= input.len());
            Some(consumed)
        }
        Ok(Decoded::Incomplete) => {
            assert!(input.len() <= bound(limits));
            Some(0)
        }
        Err(_) => None,
    }
}

/// A decoded `true` that took all of `encoded`.
fn done_true(encoded: &[u8]) -> Decoded<bool> {
    Decoded::Done {
        value: true,
        consumed: encoded.len(),
    }
}

/// Runs the client's decoders over a stream: a banner (when the seed's low bit is set), then
/// responses, read as AUTHENTICATE replies while the seed's next bit is set.
pub fn fuzz_mupdate_client(data: &[u8]) {
    let (seed, chunks) = chunks(data);
    let mut expect = if seed & 1 == 1 {
        Expect::Banner
    } else {
        Expect::Response
    };
    let mut buffer = Vec::new();
    for chunk in chunks {
        buffer.extend_from_slice(chunk);
        loop {
            let Some(consumed) = client_message(expect, &buffer, CLIENT_LIMITS) else {
                return; // A client closes the connection on bad input.
            };
            if consumed == 0 {
                break;
            }
            buffer.drain(..consumed);
            expect = if seed & 2 == 2 {
                Expect::AuthReply
            } else {
                Expect::Response
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_inputs() {
        fuzz_mupdate_server(b"\x07A1 FIND {4294967295}\r\nA2 FIND {99999+}\r\nxx");
        fuzz_mupdate_server(&[b'x'; 4000]);
        fuzz_mupdate_client(b"\x01* AUTH \"PLAIN\"\r\n* OK MUPDATE {999999+}\r\n");
        fuzz_mupdate_client(&[b'*'; 4000]);
    }

    #[test]
    fn chunks_cover_the_stream() {
        let data: Vec<u8> = (0..200u8).collect();
        let (seed, parts) = chunks(&data);
        assert_eq!(seed, 0);
        assert!(parts.iter().all(|c| (1..=16).contains(&c.len())));
        assert_eq!(parts.concat(), &data[1..]);
    }
}
