//! Timed start-up spans in the log: where the time to `ready` goes. Each span
//! logs its wall time and the process CPU time spent meanwhile (all threads), so a
//! slow start on a loaded machine (wall ≫ CPU) can be told from work to cut
//! (CPU). Only phase names and durations are logged: no paths, keys or personal data.

use std::time::{Duration, Instant};

pub struct StartClock {
    started: Instant,
    last_wall: Instant,
    last_cpu: Duration,
}

impl StartClock {
    pub fn new() -> Self {
        let now = Instant::now();
        StartClock { started: now, last_wall: now, last_cpu: process_cpu() }
    }

    /// When the process began measuring (the daemon's `started`).
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Logs the span since the previous mark under `phase`.
    pub fn mark(&mut self, phase: &'static str) {
        let (wall, cpu) = (Instant::now(), process_cpu());
        tracing::info!(
            phase,
            wall_ms = ms(wall - self.last_wall),
            cpu_ms = ms(cpu.saturating_sub(self.last_cpu)),
            since_start_ms = ms(wall - self.started),
            "start-up span"
        );
        (self.last_wall, self.last_cpu) = (wall, cpu);
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// CPU time of the whole process (every thread) so far.
pub fn process_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) } == 0;
    if ok { Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32) } else { Duration::ZERO }
}
