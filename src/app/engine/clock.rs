//! The session machine's `now`. Enters: each frame the engine takes (its presentation
//! timestamp), and the moments it waits with none. Leaves: an `Instant` that never goes
//! back. Production runs on the wall clock; the lockstep test camera on the frames' own
//! time, so a replay is judged frame for frame the same however slowly it is analysed.
//!
//! Why lockstep is safe to have in the daemon: it is chosen only for the test camera
//! and for replays the config marks `camera.lockstep`, both refused unless the test
//! suite started the process (`IDVERIFD_TEST_CAMERA=1`) with `allow_replay`; a real
//! camera is never timed by its frames (a stalled or doctored stream would stop time).

use std::time::{Duration, Instant};

/// A gap with no frame shorter than this leaves lockstep time where it was: a test's
/// producer starved for a moment on a loaded machine is not the camera's time passing.
/// A longer one counts whole, so time-outs and the camera-lost grace still run out.
const STALL: Duration = Duration::from_secs(1);

/// How long the lockstep camera may bring no frame before it counts as lost: its frames
/// come from a local file or a test's producer, which stall whenever the machine is
/// loaded (a starved decoder, a looped file prerolling again; soak: a 1.5 s time-out on the
/// wall clock lost a replay's countdown at load 13). A stopped producer still runs out.
const LOCKSTEP_LOST: Duration = Duration::from_secs(30);

pub enum SessionClock {
    Wall,
    Frames(FrameTime),
}

pub struct FrameTime {
    /// One frame at the configured rate: the step for a frame with no usable timestamp
    /// (none, or back at the start of a looped or restarted stream).
    step: Duration,
    /// The latest time handed out, and the timestamp of the frame that set it.
    latest: Option<(Instant, Option<Duration>)>,
    /// Since when (wall clock) the engine has found no frame, and the time then.
    waiting: Option<(Instant, Instant)>,
}

impl SessionClock {
    /// Frame time for the lockstep camera at `fps` frames a second.
    pub fn frames(fps: u32) -> Self {
        SessionClock::Frames(FrameTime {
            step: Duration::from_secs(1) / fps.max(1),
            latest: None,
            waiting: None,
        })
    }

    /// The time of a frame just taken, with its presentation timestamp.
    pub fn frame(&mut self, pts: Option<Duration>) -> Instant {
        let SessionClock::Frames(t) = self else { return Instant::now() };
        t.waiting = None;
        let at = match t.latest {
            // The first frame's instant, then its timestamp's advance on the last one.
            None => Instant::now(),
            Some((last, last_pts)) => match (pts, last_pts) {
                (Some(p), Some(lp)) if p > lp => last + (p - lp),
                _ => last + t.step,
            },
        };
        t.latest = Some((at, pts));
        at
    }

    /// The time when the engine waited `waited` and found no frame.
    pub fn no_frame(&mut self, waited: Duration) -> Instant {
        let SessionClock::Frames(t) = self else { return Instant::now() };
        let wall = Instant::now();
        let Some((last, pts)) = t.latest else { return wall };
        let (since, base) = *t.waiting.get_or_insert((wall.checked_sub(waited).unwrap_or(wall), last));
        let gap = wall.duration_since(since);
        // The next frame follows on from here.
        let at = if gap < STALL { base } else { base + gap };
        t.latest = Some((at, pts));
        at
    }

    /// How long no frame may come (wall clock) before the camera counts as lost: the
    /// configured `frame_timeout`, or for the lockstep camera at least [`LOCKSTEP_LOST`].
    pub fn frame_timeout(&self, configured: Duration) -> Duration {
        match self {
            SessionClock::Wall => configured,
            SessionClock::Frames(_) => configured.max(LOCKSTEP_LOST),
        }
    }

    /// The time now, between frames (a kiosk command, a capture the engine applies).
    pub fn now(&self) -> Instant {
        match self {
            SessionClock::Wall => Instant::now(),
            SessionClock::Frames(t) => t.latest.map_or_else(Instant::now, |(at, _)| at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_nanos(66_666_667);

    #[test]
    fn a_lockstep_camera_is_lost_only_after_a_stall_no_load_explains() {
        let configured = Duration::from_millis(1500);
        assert_eq!(SessionClock::Wall.frame_timeout(configured), configured);
        assert_eq!(SessionClock::frames(15).frame_timeout(configured), LOCKSTEP_LOST);
        assert_eq!(SessionClock::frames(15).frame_timeout(Duration::from_secs(60)), Duration::from_secs(60));
    }

    #[test]
    fn lockstep_time_is_the_frames_own_however_slowly_they_come() {
        let mut clock = SessionClock::frames(15);
        let t0 = clock.frame(Some(Duration::ZERO));
        // Taken a wall-clock moment apart, they are still one frame apart.
        std::thread::sleep(Duration::from_millis(30));
        let t1 = clock.frame(Some(FRAME));
        assert_eq!(t1 - t0, FRAME);
        assert_eq!(clock.now(), t1);
        // A looped stream starts again at 0: time goes on by one frame, never back.
        let t2 = clock.frame(Some(Duration::ZERO));
        assert_eq!(t2 - t1, Duration::from_secs(1) / 15);
        let t3 = clock.frame(None);
        assert_eq!(t3 - t2, Duration::from_secs(1) / 15);
        let t4 = clock.frame(Some(FRAME));
        assert_eq!(t4 - t3, Duration::from_secs(1) / 15);
        let t5 = clock.frame(Some(FRAME * 2));
        assert_eq!(t5 - t4, FRAME);
    }

    #[test]
    fn a_short_gap_stops_lockstep_time_and_a_long_one_counts_whole() {
        let mut clock = SessionClock::frames(15);
        let t0 = clock.frame(Some(Duration::ZERO));
        assert_eq!(clock.no_frame(Duration::from_millis(100)), t0, "a producer's hiccup is not time");
        std::thread::sleep(STALL);
        let later = clock.no_frame(Duration::from_millis(100));
        assert!(later >= t0 + STALL, "no frame for a while: time runs out as on the wall");
        std::thread::sleep(Duration::from_millis(50));
        let still_later = clock.no_frame(Duration::from_millis(100));
        assert!(still_later >= later + Duration::from_millis(50), "and keeps running");
        let later = still_later;
        let next = clock.frame(Some(FRAME));
        assert_eq!(next - later, FRAME, "the next frame follows on from the gap");
    }

    #[test]
    fn the_wall_clock_is_the_wall_clock() {
        let mut clock = SessionClock::Wall;
        let before = Instant::now();
        let t = clock.frame(Some(Duration::from_secs(1000)));
        assert!(t >= before && t <= Instant::now());
    }
}
