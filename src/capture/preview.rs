//! The live preview as a watch channel: the engine publishes a small JPEG of the
//! latest frame while anyone watches, the latest one wins, and a watcher never holds
//! a lock the engine waits on. The API serves it (`api::preview`); this side knows
//! nothing of HTTP. Never keeps a frame after a session: see [`Preview::clear`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// A JPEG of a frame, shared by every watcher.
pub type Jpeg = Arc<Vec<u8>>;

pub struct Preview {
    tx: watch::Sender<Option<Jpeg>>,
    interval: Duration,
}

impl Preview {
    /// A preview published at most `fps` times a second.
    pub fn new(fps: u32) -> Self {
        let (tx, _) = watch::channel(None);
        Self { tx, interval: Duration::from_secs_f64(1.0 / f64::from(fps.max(1))) }
    }

    /// Whether anyone is watching (the engine encodes nothing otherwise).
    pub fn wanted(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// The least time between two published frames.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    pub fn publish(&self, jpeg: Vec<u8>) {
        self.tx.send_replace(Some(Arc::new(jpeg)));
    }

    /// Forgets the last frame, so no face stays in memory after a session.
    pub fn clear(&self) {
        self.tx.send_replace(None);
    }

    /// A watcher: the latest frame (`None` once cleared), and a wake-up on the next.
    pub fn watch(&self) -> watch::Receiver<Option<Jpeg>> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watcher_sees_only_the_latest_frame_and_nothing_after_a_clear() {
        let preview = Preview::new(5);
        assert!(!preview.wanted(), "nobody watches yet: the engine encodes nothing");
        let mut rx = preview.watch();
        assert!(preview.wanted());
        preview.publish(vec![1]);
        preview.publish(vec![2]);
        assert!(rx.has_changed().unwrap());
        assert_eq!(rx.borrow_and_update().as_deref(), Some(&vec![2]), "the older frame is gone");
        preview.clear();
        assert_eq!(*rx.borrow_and_update(), None);
        drop(rx);
        assert!(!preview.wanted());
    }
}
