//! Parsing command heads allocates nothing: a counting global allocator watches the parser run
//! over the whole corpus (tests/data/commands-corpus.txt) and the RFC 3501 sample session.
#![allow(unsafe_code)] // a GlobalAlloc impl is unsafe by definition; it only forwards to System

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::{Side, transcript};
use corvid_proto::imap::command::{Args, parse_head, parse_idle_done};

/// Forwards to the system allocator, counting the allocations of each thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call forwards unchanged to `System`, which upholds the GlobalAlloc contract.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn parsing_the_corpus_allocates_nothing() {
    let mut inputs: Vec<Vec<u8>> = transcript("commands-corpus.txt")
        .into_iter()
        .chain(transcript("rfc3501-example.txt"))
        .filter(|(side, _)| *side == Side::Client)
        .map(|(_, bytes)| bytes)
        .collect();
    inputs.push(b"DONE\r\n".to_vec());
    let mut parsed = 0usize;
    let before = allocations();
    for input in &inputs {
        // Every prefix too, so the Incomplete and Invalid paths are watched as well.
        for cut in 0..=input.len() {
            let head = parse_head(&input[..cut]);
            let patterns = match head.map(|h| h.args) {
                Ok(Args::List(list)) => list.patterns.iter().count(),
                _ => 0,
            };
            parsed += usize::from(head.is_ok()) + patterns;
        }
        parsed += usize::from(parse_idle_done(input).is_ok());
    }
    let after = allocations();
    assert_eq!(after - before, 0, "the parser allocated");
    assert!(parsed > 200, "{parsed}");
    // The counter does see allocations.
    let boxed = std::hint::black_box(Box::new(parsed));
    assert_eq!(allocations() - after, 1, "{boxed}");
}
