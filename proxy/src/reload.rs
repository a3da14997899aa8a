//! What the proxy re-reads from disk on SIGHUP without a restart: the TLS certificate and key,
//! and the password file.
//!
//! A [`Reloadable`] holds the current value behind an `ArcSwap`: cores read it with one
//! atomic load (per TLS handshake or login, never per command) and never lock; a reload swaps
//! in a new value only when it loaded cleanly, so a broken file on disk leaves the proxy
//! serving with what it had, and says so in the log.

use std::io;
use std::sync::Arc;

use arc_swap::ArcSwap;

/// Something re-read on SIGHUP.
pub trait Reload: Send + Sync {
    /// What it is, for the log.
    fn what(&self) -> &'static str;
    /// Loads it again; on error the current value stays.
    fn reload(&self) -> Result<(), String>;
}

/// A value loaded from disk, swapped on reload.
pub struct Reloadable<T> {
    what: &'static str,
    current: ArcSwap<T>,
    load: Box<dyn Fn() -> Result<T, String> + Send + Sync>,
}

impl<T> std::fmt::Debug for Reloadable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reloadable({})", self.what)
    }
}

impl<T> Reloadable<T> {
    /// Loads the value a first time.
    pub fn new(
        what: &'static str,
        load: impl Fn() -> Result<T, String> + Send + Sync + 'static,
    ) -> Result<Reloadable<T>, String> {
        let first = load()?;
        Ok(Reloadable {
            what,
            current: ArcSwap::from_pointee(first),
            load: Box::new(load),
        })
    }

    /// The current value.
    pub fn get(&self) -> Arc<T> {
        self.current.load_full()
    }
}

impl<T: Send + Sync> Reload for Reloadable<T> {
    fn what(&self) -> &'static str {
        self.what
    }

    fn reload(&self) -> Result<(), String> {
        let fresh = (self.load)()?;
        self.current.store(Arc::new(fresh));
        Ok(())
    }
}

/// Reloads `items` each time the process gets SIGHUP, on a thread of its own.
pub fn on_sighup(items: Vec<Arc<dyn Reload>>) -> io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])?;
    std::thread::Builder::new()
        .name("corvid-reload".into())
        .spawn(move || {
            for _ in signals.forever() {
                for item in &items {
                    match item.reload() {
                        Ok(()) => tracing::info!(what = item.what(), "reloaded on SIGHUP"),
                        Err(error) => {
                            tracing::error!(what = item.what(), %error, "reload failed; keeping the current one");
                        }
                    }
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn a_failed_reload_keeps_the_current_value() {
        let version = Arc::new(AtomicU32::new(1));
        let source = version.clone();
        let value = Reloadable::new("test value", move || match source.load(Ordering::SeqCst) {
            0 => Err("broken file".to_string()),
            n => Ok(n),
        })
        .unwrap();
        assert_eq!(*value.get(), 1);
        version.store(2, Ordering::SeqCst);
        value.reload().unwrap();
        assert_eq!(*value.get(), 2);
        version.store(0, Ordering::SeqCst);
        assert_eq!(value.reload().unwrap_err(), "broken file");
        assert_eq!(*value.get(), 2);
    }
}
