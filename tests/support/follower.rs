//! corvid's follower run in the background: `follower::open` and `follower::run` on a glommio
//! executor of its own thread, until dropped (the tests and the load bench observe it).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use corvid_mupdate::follower::{self, Follower, FollowerConfig, Update};
use futures_lite::future;
use glommio::LocalExecutorBuilder;

/// A follower on its own thread, stopped and joined on drop.
#[derive(Debug)]
pub struct FollowerThread {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FollowerThread {
    /// Opens a follower for `config` (its snapshot, if any, is served at once) and runs it.
    /// `watch` is called on the follower's thread with the follower as opened, before it
    /// connects, and returns what to call after each batch of updates and what to call in
    /// between (which returns how long to wait before calling it again).
    pub fn start<W, U, P>(config: FollowerConfig, watch: W) -> FollowerThread
    where
        W: FnOnce(&Follower) -> (U, P) + Send + 'static,
        U: FnMut(&Follower, &[Update]) + 'static,
        P: FnMut(&Follower) -> Duration + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let executor = LocalExecutorBuilder::default()
                .io_memory(256 << 10)
                .make()
                .expect("a glommio executor");
            executor.run(async move {
                let opened = follower::open(&config).expect("the follower opens");
                let (on_update, mut poll) = watch(&opened);
                let follower = Rc::new(RefCell::new(opened));
                let run = follower::run(follower.clone(), config, on_update);
                let watch = async {
                    while !stopped.load(Ordering::Relaxed) {
                        let wait = poll(&follower.borrow());
                        glommio::timer::sleep(wait).await;
                    }
                };
                future::or(run, watch).await;
            });
        });
        FollowerThread {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FollowerThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
