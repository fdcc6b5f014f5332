//! The graceful drain of client connections at shutdown: every connection watches one signal;
//! on it, idle and parked connections close at once and busy ones finish their request, and
//! `shutdown` returns when the last of them has ended.

use tokio::sync::watch;

/// The signal and its watchers (one per connection).
#[derive(Debug)]
pub struct Drain {
    tx: watch::Sender<bool>,
}

impl Default for Drain {
    fn default() -> Self {
        Drain::new()
    }
}

impl Drain {
    pub fn new() -> Drain {
        Drain {
            tx: watch::Sender::new(false),
        }
    }

    /// A watcher for one connection; the drain waits for it to be dropped.
    pub(crate) fn watcher(&self) -> DrainWatch {
        DrainWatch {
            rx: self.tx.subscribe(),
        }
    }

    /// Signals every connection to finish and waits until every watcher is gone.
    pub async fn shutdown(self) {
        self.tx.send_replace(true);
        self.tx.closed().await;
    }
}

/// One connection's end of the drain signal.
#[derive(Debug)]
pub(crate) struct DrainWatch {
    rx: watch::Receiver<bool>,
}

impl DrainWatch {
    /// Completes once the drain has begun (or the `Drain` is gone).
    pub(crate) async fn draining(&mut self) {
        let _ = self.rx.wait_for(|d| *d).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn shutdown_waits_for_every_watcher() {
        let drain = Drain::new();
        let mut a = drain.watcher();
        let b = drain.watcher();
        let conn = tokio::spawn(async move {
            a.draining().await;
            tokio::time::sleep(Duration::from_millis(30)).await;
        });
        drop(b);
        let started = std::time::Instant::now();
        drain.shutdown().await;
        assert!(started.elapsed() >= Duration::from_millis(30));
        conn.await.expect("the connection task ends");
    }
}
