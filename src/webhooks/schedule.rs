//! When a failed delivery is tried again: exponential back-off from the first step,
//! capped, with ±20 % jitter so a fleet that lost its receiver at once does not
//! return in step; and when to give up: not before three days have passed.

use std::time::Duration;

/// No wait between attempts is longer than this.
pub const MAX_STEP: Duration = Duration::from_secs(6 * 3600);
/// A delivery is given up only after failing for this long.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(3 * 24 * 3600);

/// The wait after the `attempts`-th failed attempt (1 = the first failure):
/// `first × 2^(attempts-1)`, capped at [`MAX_STEP`], scaled by `jitter` in 0.8..=1.2.
pub fn next_wait(first: Duration, attempts: u32, jitter: f64) -> Duration {
    let exponent = attempts.saturating_sub(1).min(30);
    let step = first.saturating_mul(1u32 << exponent).min(MAX_STEP);
    step.mul_f64(jitter.clamp(0.8, 1.2))
}

/// A jitter factor in 0.8..=1.2.
pub fn random_jitter() -> f64 {
    use rand::Rng;
    rand::thread_rng().gen_range(0.8..=1.2)
}

/// Whether a delivery first queued `age` ago that has just failed again is given up.
pub fn give_up(age: Duration) -> bool {
    age >= GIVE_UP_AFTER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_and_retries_last_at_least_three_days() {
        let first = Duration::from_secs(5);
        assert_eq!(next_wait(first, 1, 1.0), Duration::from_secs(5));
        assert_eq!(next_wait(first, 2, 1.0), Duration::from_secs(10));
        assert_eq!(next_wait(first, 5, 1.0), Duration::from_secs(80));
        assert_eq!(next_wait(first, 40, 1.0), MAX_STEP);
        assert_eq!(next_wait(first, 1, 0.8), Duration::from_secs(4));
        assert_eq!(next_wait(first, 1, 3.0), Duration::from_secs(6), "jitter is clamped");
        // Even with the shortest jitter every time, retries go on for three days.
        let (mut elapsed, mut attempts) = (Duration::ZERO, 0);
        while !give_up(elapsed) {
            attempts += 1;
            elapsed += next_wait(first, attempts, 0.8);
        }
        assert!(elapsed >= GIVE_UP_AFTER && (15..=40).contains(&attempts), "{attempts} attempts over {elapsed:?}");
        assert!((0..100).map(|_| random_jitter()).all(|j| (0.8..=1.2).contains(&j)));
    }
}
