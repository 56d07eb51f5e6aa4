//! Bounds on what a client can make the daemon do: concurrent connections (in
//! all and per client address), long-lived streams (SSE, MJPEG), and password
//! checks (a few Argon2 runs at a time, back-off and lock-out per client).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Open connections, in all and per client address.
pub struct ConnectionLimits {
    total: Arc<Semaphore>,
    per_client_max: usize,
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// Held for the life of one connection.
pub struct ConnectionSlot {
    _total: OwnedSemaphorePermit,
    client: IpAddr,
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut map = self.per_client.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.client);
            }
        }
    }
}

impl ConnectionLimits {
    pub fn new(total: usize, per_client: usize) -> Self {
        Self { total: Arc::new(Semaphore::new(total)), per_client_max: per_client, per_client: Arc::default() }
    }

    /// A slot for a new connection from `client`, or `None`: it is closed at once.
    pub fn admit(&self, client: IpAddr) -> Option<ConnectionSlot> {
        let mut map = self.per_client.lock().unwrap_or_else(|p| p.into_inner());
        let open = map.entry(client).or_insert(0);
        if *open >= self.per_client_max {
            return None;
        }
        let total = Arc::clone(&self.total).try_acquire_owned().ok()?;
        *open += 1;
        Some(ConnectionSlot { _total: total, client, per_client: Arc::clone(&self.per_client) })
    }
}

/// Long-lived responses (event streams, previews): each holds a slot until it ends.
#[derive(Clone)]
pub struct StreamSlots(Arc<Semaphore>);

impl StreamSlots {
    pub fn new(max: usize) -> Self {
        Self(Arc::new(Semaphore::new(max)))
    }

    pub fn take(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.0).try_acquire_owned().ok()
    }
}

/// The failure that brings the first lock-out.
const FREE_FAILURES: u32 = 5;
const FIRST_LOCKOUT: Duration = Duration::from_secs(2);
const MAX_LOCKOUT: Duration = Duration::from_secs(300);
/// A client forgotten after this long without a failure.
const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// Clients tracked at most (the oldest are forgotten first): a bound on memory.
const MAX_TRACKED: usize = 4096;
/// How long a check waits for one of the Argon2 slots before the client is told to retry.
const QUEUE_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, Default, Clone, Copy)]
struct ClientRecord {
    failures: u32,
    locked_until: Option<Instant>,
    last_failure: Option<Instant>,
    checking: bool,
}

/// Why a password was not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures: wait this long.
    LockedOut(Duration),
    /// This client already has a check running, or every slot is taken.
    Busy,
}

/// The lock-out after `failures` consecutive failures (none for the first few).
pub fn lockout_after(failures: u32) -> Option<Duration> {
    let over = failures.checked_sub(FREE_FAILURES)?;
    Some(FIRST_LOCKOUT.saturating_mul(1u32 << over.min(16)).min(MAX_LOCKOUT))
}

/// Password checks: at most `slots` Argon2 runs at a time, one per client, and
/// a growing lock-out for a client that keeps failing.
pub struct PasswordGate {
    slots: Arc<Semaphore>,
    clients: Mutex<HashMap<IpAddr, ClientRecord>>,
}

/// A granted check; say how it went with [`PasswordGate::finish`].
pub struct CheckTicket {
    client: IpAddr,
    _slot: OwnedSemaphorePermit,
}

impl PasswordGate {
    pub fn new(slots: usize) -> Self {
        Self { slots: Arc::new(Semaphore::new(slots)), clients: Mutex::default() }
    }

    fn clients(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, ClientRecord>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits (briefly) for a slot to check a password from `client`.
    pub async fn begin(&self, client: IpAddr) -> Result<CheckTicket, Refusal> {
        let now = Instant::now();
        {
            let mut clients = self.clients();
            let record = clients.entry(client).or_default();
            if let Some(until) = record.locked_until.filter(|u| *u > now) {
                return Err(Refusal::LockedOut(until - now));
            }
            if record.checking {
                return Err(Refusal::Busy);
            }
            record.checking = true;
        }
        match tokio::time::timeout(QUEUE_WAIT, Arc::clone(&self.slots).acquire_owned()).await {
            Ok(Ok(slot)) => Ok(CheckTicket { client, _slot: slot }),
            _ => {
                self.clients().entry(client).or_default().checking = false;
                Err(Refusal::Busy)
            }
        }
    }

    /// Records the outcome; returns the number of consecutive failures.
    pub fn finish(&self, ticket: CheckTicket, accepted: bool) -> u32 {
        let now = Instant::now();
        let mut clients = self.clients();
        let record = clients.entry(ticket.client).or_default();
        record.checking = false;
        if accepted {
            *record = ClientRecord::default();
            clients.remove(&ticket.client);
            return 0;
        }
        record.failures += 1;
        record.last_failure = Some(now);
        record.locked_until = lockout_after(record.failures).map(|d| now + d);
        let failures = record.failures;
        if clients.len() > MAX_TRACKED {
            clients.retain(|_, r| r.checking || r.last_failure.is_some_and(|t| now.duration_since(t) < FORGET_AFTER));
            while clients.len() > MAX_TRACKED {
                let Some(oldest) = clients.iter().filter(|(_, r)| !r.checking).min_by_key(|(_, r)| r.last_failure).map(|(ip, _)| *ip)
                else {
                    break;
                };
                clients.remove(&oldest);
            }
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn lockout_starts_at_the_fifth_failure_and_doubles_up_to_five_minutes() {
        assert_eq!((1..=4).map(lockout_after).collect::<Vec<_>>(), vec![None; 4]);
        assert_eq!(lockout_after(5), Some(Duration::from_secs(2)));
        assert_eq!(lockout_after(6), Some(Duration::from_secs(4)));
        assert_eq!(lockout_after(40), Some(MAX_LOCKOUT));
    }

    #[tokio::test]
    async fn a_failing_client_is_locked_out_alone_and_a_success_clears_it() {
        let gate = PasswordGate::new(2);
        for _ in 0..FREE_FAILURES {
            let t = gate.begin(A).await.unwrap();
            gate.finish(t, false);
        }
        assert!(matches!(gate.begin(A).await, Err(Refusal::LockedOut(d)) if d <= FIRST_LOCKOUT), "locked after five failures");
        let t = gate.begin(B).await.expect("another client is not affected");
        assert_eq!(gate.finish(t, true), 0);
    }

    #[tokio::test]
    async fn one_check_at_a_time_per_client_and_slots_bound_the_rest() {
        let gate = PasswordGate::new(1);
        let first = gate.begin(A).await.unwrap();
        assert_eq!(gate.begin(A).await.err(), Some(Refusal::Busy), "a second check of the same client");
        let started = Instant::now();
        assert_eq!(gate.begin(B).await.err(), Some(Refusal::Busy), "no slot free");
        assert!(started.elapsed() >= QUEUE_WAIT);
        gate.finish(first, false);
        assert!(gate.begin(B).await.is_ok());
    }

    #[test]
    fn connection_slots_are_bounded_per_client_and_in_all() {
        let limits = ConnectionLimits::new(3, 2);
        let a1 = limits.admit(A).unwrap();
        let _a2 = limits.admit(A).unwrap();
        assert!(limits.admit(A).is_none(), "per-client cap");
        let _b1 = limits.admit(B).unwrap();
        assert!(limits.admit(B).is_none(), "total cap");
        drop(a1);
        assert!(limits.admit(B).is_some(), "a closed connection frees its slot");
    }
}
