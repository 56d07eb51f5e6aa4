//! The sharpest frame of a sliding window, holding only the frames that may still
//! become it: a frame with a sharper one after it never can, and goes as soon as
//! that one comes (a sliding-window maximum). The evidence photo is the sharpest
//! frame of the countdown's last second; holding every frame of that second held
//! 30 frames (28 MB at 640×480, 83 MB at 1280×720) and made the daemon's memory
//! swing by that much every session.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub(super) struct SharpestRecent<T> {
    window: Duration,
    /// Oldest first, sharpest first: each is sharper than every one after it.
    kept: VecDeque<(Instant, f32, T)>,
}

impl<T> SharpestRecent<T> {
    pub fn new(window: Duration) -> Self {
        Self { window, kept: VecDeque::new() }
    }

    /// Adds a frame seen at `at`; frames older than the window by then go.
    pub fn push(&mut self, at: Instant, sharpness: f32, item: T) {
        // Of equally sharp frames the latest is kept, as the sharpest of a window is.
        while self.kept.back().is_some_and(|(_, s, _)| s.total_cmp(&sharpness).is_le()) {
            self.kept.pop_back();
        }
        self.kept.push_back((at, sharpness, item));
        while self.kept.front().is_some_and(|(t, ..)| at.duration_since(*t) > self.window) {
            self.kept.pop_front();
        }
    }

    /// The sharpest frame of the window.
    pub fn sharpest(&self) -> Option<&T> {
        self.kept.front().map(|(.., item)| item)
    }

    pub fn clear(&mut self) {
        self.kept.clear();
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.kept.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sharpest_of_the_last_second_is_kept_and_little_else() {
        let start = Instant::now();
        let at = |i: u64| start + Duration::from_millis(i * 33);
        let mut recent = SharpestRecent::new(Duration::from_secs(1));
        // Three seconds at 30 frames a second, sharpness jittering as a held face's does.
        let mut seed = 12345u64;
        let sharpness: Vec<f32> = (0..90)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                80.0 + (seed >> 40) as f32 / (1u64 << 24) as f32 * 20.0
            })
            .collect();
        let mut held = 0;
        for i in 0..90u64 {
            recent.push(at(i), sharpness[i as usize], i);
            held += recent.held();
            // Every frame of the window, straight: the same answer.
            let window = (0..=i).filter(|&j| at(i).duration_since(at(j)) <= Duration::from_secs(1));
            let best = window.max_by(|&a, &b| sharpness[a as usize].total_cmp(&sharpness[b as usize])).unwrap();
            assert_eq!(recent.sharpest(), Some(&best), "frame {i}");
        }
        // A few frames held on average, not the window's 30 (all 30 only while
        // sharpness falls frame after frame).
        assert!(held < 90 * 8, "held {:.1} on average", held as f32 / 90.0);
        recent.clear();
        assert_eq!(recent.sharpest(), None);
    }

    #[test]
    fn of_equally_sharp_frames_the_latest_is_kept_and_a_frame_leaves_with_its_second() {
        let start = Instant::now();
        let mut recent = SharpestRecent::new(Duration::from_secs(1));
        recent.push(start, 5.0, "first");
        recent.push(start + Duration::from_millis(100), 5.0, "second");
        assert_eq!((recent.sharpest(), recent.held()), (Some(&"second"), 1));
        recent.push(start + Duration::from_millis(200), 1.0, "blurred");
        assert_eq!(recent.held(), 2);
        recent.push(start + Duration::from_millis(1150), 0.5, "later");
        assert_eq!(recent.sharpest(), Some(&"blurred"), "the sharp one is more than a second old");
    }
}
