//! Ctrl-C as a value the service can consult between statements, for the work that must not
//! simply be dropped halfway (schema changes on MySQL/MariaDB, whose DDL commits at once).

use tokio::sync::watch;

/// Whether the user has asked to stop. Cheap to clone; every clone sees the same request.
#[derive(Debug, Clone)]
pub struct Interrupt(watch::Receiver<bool>);

/// The side that requests the stop (the signal handler).
#[derive(Debug)]
pub struct InterruptTrigger(watch::Sender<bool>);

/// A connected trigger and interrupt.
pub fn interrupt_pair() -> (InterruptTrigger, Interrupt) {
    let (tx, rx) = watch::channel(false);
    (InterruptTrigger(tx), Interrupt(rx))
}

impl InterruptTrigger {
    /// Requests the stop.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

impl Interrupt {
    /// An interrupt that never comes, for callers without a signal handler (tests, libraries).
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(false);
        // Kept alive for the life of the program so `wait` pends instead of ending.
        std::mem::forget(tx);
        Interrupt(rx)
    }

    /// Whether the stop has been requested.
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the stop is requested; never, if it is not.
    pub async fn wait(&mut self) {
        if self.0.wait_for(|set| *set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
