//! The hand-off between the GStreamer streaming thread and the analysis thread: one
//! slot holding the newest frame. A frame that arrives while the slot is full
//! replaces the old one (counted as dropped), so analysis always sees the present
//! and GStreamer is never blocked by a slow consumer.
//!
//! The lockstep test camera uses [`Mailbox::hand_over`] instead: the producer waits
//! until its item is taken, so nothing is dropped and the source runs no faster than
//! the analysis.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

pub struct Mailbox<T> {
    slot: Mutex<Slot<T>>,
    ready: Condvar,
    /// Signalled when the slot is emptied (for [`Mailbox::hand_over`]).
    taken: Condvar,
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
        Self { slot: Mutex::new(Slot { item: None, closed: false }), ready: Condvar::new(), taken: Condvar::new() }
    }
}

impl<T> Mailbox<T> {
    pub fn put(&self, item: T) -> Put {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        let replaced = slot.item.replace(item).is_some();
        self.ready.notify_one();
        if replaced { Put::ReplacedUnread } else { Put::Stored }
    }

    /// Stores `item` once the slot is empty and waits until it is taken: never drops,
    /// and the producer goes at the consumer's pace. Returns early (the item possibly
    /// untaken) once the mailbox is closed or `cancel` is set, so a pipeline being
    /// stopped is never held by a consumer that has gone.
    pub fn hand_over(&self, item: T, cancel: &AtomicBool) {
        const RECHECK: Duration = Duration::from_millis(100);
        let gone = |s: &Slot<T>| s.closed || cancel.load(Ordering::SeqCst);
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        while slot.item.is_some() && !gone(&slot) {
            slot = self.taken.wait_timeout(slot, RECHECK).unwrap_or_else(|p| p.into_inner()).0;
        }
        if gone(&slot) {
            return;
        }
        slot.item = Some(item);
        self.ready.notify_one();
        while slot.item.is_some() && !gone(&slot) {
            slot = self.taken.wait_timeout(slot, RECHECK).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Waits up to `timeout` for an item; `None` on time-out or once closed.
    pub fn take_timeout(&self, timeout: Duration) -> Option<T> {
        let slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        let (mut slot, _) = self
            .ready
            .wait_timeout_while(slot, timeout, |s| s.item.is_none() && !s.closed)
            .unwrap_or_else(|p| p.into_inner());
        let item = slot.item.take();
        if item.is_some() {
            self.taken.notify_all();
        }
        item
    }

    /// Wakes every waiter; later takes return at once.
    pub fn close(&self) {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        slot.closed = true;
        self.ready.notify_all();
        self.taken.notify_all();
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

    #[test]
    fn a_hand_over_drops_nothing_and_waits_for_the_taker() {
        let mb = Arc::new(Mailbox::default());
        let producer = Arc::clone(&mb);
        let handed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = Arc::clone(&handed);
        let t = std::thread::spawn(move || {
            let cancel = AtomicBool::new(false);
            for i in 0..20 {
                producer.hand_over(i, &cancel);
                count.store(i + 1, Ordering::SeqCst);
            }
        });
        let mut got = Vec::new();
        while got.len() < 20 {
            if let Some(i) = mb.take_timeout(Duration::from_secs(5)) {
                // A slow consumer: the producer has handed over only what was taken.
                std::thread::sleep(Duration::from_millis(5));
                assert!(handed.load(Ordering::SeqCst) <= got.len() + 1);
                got.push(i);
            }
        }
        t.join().unwrap();
        assert_eq!(got, (0..20).collect::<Vec<_>>(), "every item, in order");
    }

    #[test]
    fn a_hand_over_gives_up_when_closed_or_cancelled() {
        let mb = Arc::new(Mailbox::default());
        let cancel = Arc::new(AtomicBool::new(false));
        let (producer, stop) = (Arc::clone(&mb), Arc::clone(&cancel));
        let t = std::thread::spawn(move || producer.hand_over(1, &stop));
        std::thread::sleep(Duration::from_millis(50));
        cancel.store(true, Ordering::SeqCst);
        t.join().unwrap();
        mb.close();
        let start = Instant::now();
        mb.hand_over(2, &AtomicBool::new(false));
        assert!(start.elapsed() < Duration::from_secs(1), "close must release the producer");
    }
}
