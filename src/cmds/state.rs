//! What the state-directory commands share: the config and state directory they
//! act on, the check that they run as the state directory's owner, and the store
//! opened for maintenance (the daemon must be stopped: sled allows one process).

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use idverifd::app::{self, RunOptions};
use idverifd::config::Config;
use idverifd::store::Store;

use super::Failure;

#[derive(clap::Args, Debug)]
pub struct StateArgs {
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

impl StateArgs {
    /// The config (with `--state-dir` applied), after checking the caller owns the state.
    pub fn load(self) -> Result<Config, Failure> {
        let (config, _) = app::load_config(&RunOptions { config: self.config, state_dir: self.state_dir, ..Default::default() })?;
        let dir = config.state_dir();
        let meta = std::fs::metadata(&dir).map_err(|e| Failure(2, format!("state directory {}: {e}", dir.display())))?;
        // SAFETY: geteuid has no preconditions.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(Failure(
                2,
                format!("state directory {} belongs to uid {}; run this as its owner (e.g. sudo -u idverifd)", dir.display(), meta.uid()),
            ));
        }
        Ok(config)
    }
}

/// The store without the KEK: enough to read the trail and to purge.
pub fn open_for_maintenance(config: &Config) -> Result<Store, Failure> {
    let db = config.state_dir().join(app::DB_DIR);
    if !db.exists() {
        return Err(Failure(2, format!("no database at {}: has the daemon run with this state directory?", db.display())));
    }
    Store::open_for_maintenance(&db).map_err(|e| {
        Failure(3, format!("{e} (is the daemon running? stop it first: the database admits one process at a time)"))
    })
}
