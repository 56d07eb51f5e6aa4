//! The hand-off between the GStreamer streaming thread and the analysis thread: one
//! slot holding the newest frame. A frame that arrives while the slot is full
//! replaces the old one (counted as dropped), so analysis always sees the present
//! and GStreamer is never blocked by a slow consumer.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

pub struct Mailbox<T> {
    slot: Mutex<Slot<T>>,
    ready: Condvar,
}

struct Slot<T> {
    item: Option<T>,
    closed: bool,
}

/// What a put did: whether an unread item was dropped to make room.
#[derive(Debug, PartialEq, Eq)]
pub enum Put {
    Stored,
    ReplacedUnread,
}

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        Self { slot: Mutex::new(Slot { item: None, closed: false }), ready: Condvar::new() }
    }
}

impl<T> Mailbox<T> {
    pub fn put(&self, item: T) -> Put {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        let replaced = slot.item.replace(item).is_some();
        self.ready.notify_one();
        if replaced { Put::ReplacedUnread } else { Put::Stored }
    }

    /// Waits up to `timeout` for an item; `None` on time-out or once closed.
    pub fn take_timeout(&self, timeout: Duration) -> Option<T> {
        let slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        let (mut slot, _) = self
            .ready
            .wait_timeout_while(slot, timeout, |s| s.item.is_none() && !s.closed)
            .unwrap_or_else(|p| p.into_inner());
        slot.item.take()
    }

    /// Wakes every waiter; later takes return at once.
    pub fn close(&self) {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        slot.closed = true;
        self.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;

    #[test]
    fn newest_item_wins_and_old_is_reported_dropped() {
        let mb = Mailbox::default();
        assert_eq!(mb.put(1), Put::Stored);
        assert_eq!(mb.put(2), Put::ReplacedUnread);
        assert_eq!(mb.take_timeout(Duration::from_millis(1)), Some(2));
        assert_eq!(mb.take_timeout(Duration::from_millis(1)), None);
    }

    #[test]
    fn waiter_wakes_on_put_and_on_close() {
        let mb = Arc::new(Mailbox::default());
        let producer = Arc::clone(&mb);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            producer.put(7);
        });
        assert_eq!(mb.take_timeout(Duration::from_secs(5)), Some(7));
        t.join().unwrap();
        mb.close();
        let start = Instant::now();
        assert_eq!(mb.take_timeout(Duration::from_secs(5)), None);
        assert!(start.elapsed() < Duration::from_secs(1), "close must wake the waiter");
    }
}
