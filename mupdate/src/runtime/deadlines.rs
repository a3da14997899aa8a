//! Coarse deadlines (idle limits of minutes) for one executor, kept without executor timers.
//!
//! A pending glommio timer costs every park of its executor an io_uring timeout and its
//! cancellation (glommio arms the next timer anew each time it goes to sleep), so one idle timer
//! per connection made every relayed command pay for deadlines that almost never pass. Here a
//! process-wide thread raises a tick every [`TICK`]; each executor's sweeper wakes on it (a
//! foreign wake through glommio's event fd) and wakes the [`Expiry`]s whose time has come. A
//! deadline is registered once, when first awaited, and costs nothing per wake-up after that;
//! it passes up to one [`TICK`] late.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::Once;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use event_listener::Event;

/// How often deadlines are checked: the most an [`Expiry`] passes late.
pub const TICK: Duration = Duration::from_secs(1);

/// Raised by the tick thread every [`TICK`].
static TICKS: Event = Event::new();

/// Starts the tick thread, once per process.
fn start_ticking() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let ticker = std::thread::Builder::new()
            .name("corvid-tick".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(TICK);
                    TICKS.notify(usize::MAX);
                }
            });
        if let Err(error) = ticker {
            tracing::error!(%error, "cannot start the deadline tick thread: idle limits will not fire");
        }
    });
}

/// The deadlines of one executor. Cloning gives another handle to the same set.
#[derive(Clone, Debug)]
pub struct Deadlines {
    shared: Rc<Waiting>,
}

/// What an executor's expiries wait on: each registered one by its time and number.
#[derive(Debug, Default)]
struct Waiting {
    entries: RefCell<BTreeMap<(Instant, u64), Waker>>,
    next_id: Cell<u64>,
}

impl Waiting {
    /// Wakes (and forgets) every expiry due by `now`.
    fn sweep(&self, now: Instant) {
        let due = {
            let mut entries = self.entries.borrow_mut();
            let later = entries.split_off(&(now, u64::MAX));
            std::mem::replace(&mut *entries, later)
        };
        for waker in due.into_values() {
            waker.wake();
        }
    }
}

impl Deadlines {
    /// The deadlines of the executor this is called on: starts its sweeper task (which ends
    /// once every handle is dropped), and the process's tick thread if it is not running yet.
    /// Must run inside a glommio executor.
    pub fn start() -> Deadlines {
        start_ticking();
        let shared = Rc::new(Waiting::default());
        glommio::spawn_local(sweep_on_ticks(Rc::downgrade(&shared))).detach();
        Deadlines { shared }
    }

    /// A future that completes at `at`, or up to one [`TICK`] after it.
    pub fn at(&self, at: Instant) -> Expiry {
        let id = self.shared.next_id.get();
        self.shared.next_id.set(id.wrapping_add(1));
        Expiry {
            shared: self.shared.clone(),
            key: (at, id),
            registered: false,
        }
    }

    /// A future that completes `after` from now, or up to one [`TICK`] later.
    pub fn after(&self, after: Duration) -> Expiry {
        self.at(Instant::now() + after)
    }

    /// How many expiries are registered and not yet due.
    pub fn pending(&self) -> usize {
        self.shared.entries.borrow().len()
    }
}

/// The sweeper: at every tick, wakes what is due; ends when its executor's handles are gone.
async fn sweep_on_ticks(waiting: Weak<Waiting>) {
    loop {
        TICKS.listen().await;
        let Some(waiting) = waiting.upgrade() else {
            return;
        };
        waiting.sweep(Instant::now());
    }
}

/// A deadline from [`Deadlines::at`]: completes once the sweeper finds it due. Registered when
/// first polled, and unregistered when dropped.
#[derive(Debug)]
pub struct Expiry {
    shared: Rc<Waiting>,
    key: (Instant, u64),
    registered: bool,
}

impl Future for Expiry {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut entries = this.shared.entries.borrow_mut();
        if this.registered {
            // The sweeper removes an entry when it is due: one still there is waiting.
            return match entries.get_mut(&this.key) {
                Some(waker) => {
                    if !waker.will_wake(cx.waker()) {
                        waker.clone_from(cx.waker());
                    }
                    Poll::Pending
                }
                None => Poll::Ready(()),
            };
        }
        this.registered = true;
        entries.insert(this.key, cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Expiry {
    fn drop(&mut self) {
        if self.registered {
            self.shared.entries.borrow_mut().remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::poll_once;
    use glommio::LocalExecutorBuilder;

    /// Runs `test` on an executor of its own and returns what it returned.
    fn on_executor<T: Send + 'static, F: Future<Output = T> + 'static>(
        test: impl FnOnce() -> F + Send + 'static,
    ) -> T {
        LocalExecutorBuilder::default()
            .io_memory(super::super::MIN_IO_MEMORY)
            .spawn(test)
            .expect("executor starts")
            .join()
            .expect("executor ends")
    }

    #[test]
    fn an_expiry_completes_within_a_tick_of_its_time_and_not_before() {
        let (early, waited) = on_executor(|| async {
            let deadlines = Deadlines::start();
            let start = Instant::now();
            let mut expiry = deadlines.after(Duration::from_millis(300));
            let early = poll_once(&mut expiry).await.is_some();
            expiry.await;
            (early, start.elapsed())
        });
        assert!(!early);
        assert!(waited >= Duration::from_millis(300), "{waited:?}");
        assert!(
            waited <= Duration::from_millis(300) + TICK * 2,
            "{waited:?}"
        );
    }

    #[test]
    fn a_dropped_expiry_is_unregistered_and_others_stay() {
        let counts = on_executor(|| async {
            let deadlines = Deadlines::start();
            let mut dropped = deadlines.after(Duration::from_secs(3600));
            let mut kept = deadlines.after(Duration::from_secs(3600));
            let _ = poll_once(&mut dropped).await;
            let _ = poll_once(&mut kept).await;
            let registered = deadlines.pending();
            drop(dropped);
            let still_pending = poll_once(&mut kept).await.is_none();
            (registered, deadlines.pending(), still_pending)
        });
        assert_eq!(counts, (2, 1, true));
    }
}
