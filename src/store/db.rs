//! The sled database and its trees, behind a handle that can be replaced. After a
//! write fails (a full disk, a failing one) sled refuses every later operation
//! until the database is opened again; the handle remembers the failure, answers
//! it at once instead of touching sled, and reopens on request, so the daemon
//! carries on when space returns without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use super::StoreError;

pub(super) const SESSIONS: &str = "sessions";
pub(super) const PERSONAL: &str = "personal";
pub(super) const RESULTS: &str = "results";
pub(super) const EVIDENCE: &str = "evidence";
pub(super) const DATA_KEYS: &str = "data_keys";
pub(super) const AUDIT: &str = "audit";
pub(super) const CHECKPOINTS: &str = "audit_checkpoints";
pub(super) const QUARANTINE: &str = "quarantine";
pub(super) const NONCES: &str = "nonces";
pub(super) const META: &str = "meta";
pub(super) const OUTBOX: &str = "outbox";
pub(super) const OUTBOX_BODIES: &str = "outbox_bodies";

/// How long a reopen waits for in-flight operations to let go of the old handle
/// (sled's file lock goes with the last one).
const REOPEN_PATIENCE: Duration = Duration::from_secs(5);

pub(super) struct Trees {
    pub db: sled::Db,
    pub sessions: sled::Tree,
    pub personal: sled::Tree,
    pub results: sled::Tree,
    pub evidence: sled::Tree,
    pub data_keys: sled::Tree,
    pub audit: sled::Tree,
    pub checkpoints: sled::Tree,
    pub quarantine: sled::Tree,
    pub nonces: sled::Tree,
    pub meta: sled::Tree,
    pub outbox: sled::Tree,
    pub outbox_bodies: sled::Tree,
}

/// sled's page cache. Its default (1 GiB) lets the cache grow with the database
/// (29 MB after 30 minutes of back-to-back sessions in the replay soak), so
/// memory would follow the database. Records are written once and read back a
/// few times while the registration server collects them; 16 MiB holds the
/// recent ones. (The soak's RSS creep before was glibc's heap: see the engine's
/// `give_back_freed_memory`.)
///
/// The cap does not bound what is written: sled 0.34 evicts only pages that are
/// read, and keeps every value written in memory until then. Measured: 3000
/// puts of 22 kB (a sealed evidence photo) in transactions, RSS +1 MiB per MB
/// written at a cap of 4 MiB and of 16 MiB alike; read back after each put, it
/// levelled off at 55 MiB. It is most of the live heap's growth in the replay
/// soak (heaptrack over 15 minutes: 0.5 MB a minute, sled's pages written by
/// `put_evidence`), whose RSS grew 20 % in an hour after warm-up. So evidence
/// images are kept as files (`evidence`); what is written here is small.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

impl Trees {
    fn open(dir: &Path) -> Result<Self, StoreError> {
        let err = |e: &dyn std::fmt::Display| StoreError::Open { path: dir.display().to_string(), reason: e.to_string() };
        crate::fsutil::create_private_dir(dir).map_err(|e| err(&e))?;
        let db = sled::Config::new().path(dir).cache_capacity(CACHE_BYTES).open().map_err(|e| err(&e))?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| err(&e));
        Ok(Self {
            sessions: tree(SESSIONS)?,
            personal: tree(PERSONAL)?,
            results: tree(RESULTS)?,
            evidence: tree(EVIDENCE)?,
            data_keys: tree(DATA_KEYS)?,
            audit: tree(AUDIT)?,
            checkpoints: tree(CHECKPOINTS)?,
            quarantine: tree(QUARANTINE)?,
            nonces: tree(NONCES)?,
            meta: tree(META)?,
            outbox: tree(OUTBOX)?,
            outbox_bodies: tree(OUTBOX_BODIES)?,
            db,
        })
    }
}

pub(super) struct Handle {
    dir: PathBuf,
    current: RwLock<Option<Arc<Trees>>>,
    /// The write failure that broke the handle: (disk full?, message).
    broken: Mutex<Option<(bool, String)>>,
}

impl Handle {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let trees = Trees::open(dir)?;
        Ok(Self { dir: dir.to_path_buf(), current: RwLock::new(Some(Arc::new(trees))), broken: Mutex::new(None) })
    }

    pub fn trees(&self) -> Result<Arc<Trees>, StoreError> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(|| self.broken_error())
    }

    /// The failure a broken handle answers with, without touching sled.
    pub fn check(&self) -> Result<(), StoreError> {
        if self.is_broken() { Err(self.broken_error()) } else { Ok(()) }
    }

    pub fn is_broken(&self) -> bool {
        self.broken.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    fn broken_error(&self) -> StoreError {
        match self.broken.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            Some((true, why)) => StoreError::Full(why),
            Some((false, why)) => StoreError::Write(why),
            None => StoreError::Write("the database is being reopened".into()),
        }
    }

    /// Remembers a write or flush failure: sled is unusable until reopened.
    pub fn fail(&self, e: &StoreError) {
        let why = match e {
            StoreError::Full(why) => (true, why.clone()),
            StoreError::Write(why) => (false, why.clone()),
            _ => return,
        };
        let mut broken = self.broken.lock().unwrap_or_else(|p| p.into_inner());
        if broken.is_none() {
            tracing::error!(error = %why.1, disk_full = why.0, "database write failed; writes refused until it reopens");
            *broken = Some(why);
        }
    }

    /// Drops the failed handle and opens the database again (sled recovers what
    /// was flushed). The handle stays broken if the open fails.
    pub fn reopen(&self) -> Result<Arc<Trees>, StoreError> {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        *current = None;
        let deadline = Instant::now() + REOPEN_PATIENCE;
        let trees = loop {
            match Trees::open(&self.dir) {
                Ok(trees) => break Arc::new(trees),
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => return Err(e),
            }
        };
        *current = Some(Arc::clone(&trees));
        *self.broken.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(trees)
    }
}
