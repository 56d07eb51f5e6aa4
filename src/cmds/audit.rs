//! `idverifd audit verify` checks the hash chain and the signed checkpoints and
//! names the first entry that does not hold (exit 1); `idverifd audit export
//! [--since TIME]` prints the trail as JSON lines for a central log.

use idverifd::app;
use idverifd::signing::Jwks;
use serde_json::json;

use super::state::{StateArgs, open_for_maintenance};
use super::Failure;

#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the chain and the checkpoints; exit 1 naming the first bad entry.
    Verify {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Print entries as JSON lines, oldest first.
    Export {
        /// RFC 3339 time (2026-01-31T00:00:00Z) or an age such as 24h.
        #[arg(long)]
        since: Option<String>,
        #[command(flatten)]
        state: StateArgs,
    },
}

pub fn run(command: AuditCommand) -> Result<u8, Failure> {
    match command {
        AuditCommand::Verify { json, state } => verify(json, state),
        AuditCommand::Export { since, state } => export(since.as_deref(), state),
    }
}

fn verify(json: bool, state: StateArgs) -> Result<u8, Failure> {
    let config = state.load()?;
    let keys_dir = config.state_dir().join(app::KEYS_DIR);
    // Every key the device ever signed with: retired ones verify older checkpoints.
    let jwks = if keys_dir.exists() { app::open_keys(&config.state_dir())?.jwks() } else { Jwks::default() };
    let store = open_for_maintenance(&config)?;
    match store.audit_verify(&jwks) {
        Ok(v) => {
            if json {
                super::print_json(&json!({"valid": true, "report": v}));
            }
            eprintln!(
                "audit trail verified: {} entries, {} checkpoints (last at entry {}), {} entries after it",
                v.entries,
                v.checkpoints,
                v.last_checkpoint_seq.map_or("none".into(), |s| s.to_string()),
                v.unsigned_tail
            );
            Ok(0)
        }
        Err(broken) => {
            if json {
                super::print_json(&json!({"valid": false, "first_bad_entry": broken.seq, "why": broken.why}));
            }
            eprintln!("idverifd: {broken}");
            Ok(1)
        }
    }
}

fn export(since: Option<&str>, state: StateArgs) -> Result<u8, Failure> {
    let since = since.map(since_rfc3339).transpose()?;
    let config = state.load()?;
    let store = open_for_maintenance(&config)?;
    let mut count = 0;
    for entry in store.audit_export(since.as_deref()).map_err(|e| Failure(3, e.to_string()))? {
        println!("{}", serde_json::to_string(&entry).unwrap_or_default());
        count += 1;
    }
    eprintln!("{count} entries");
    Ok(0)
}

/// `--since` as the RFC 3339 text the entries carry (UTC, seconds).
fn since_rfc3339(text: &str) -> Result<String, Failure> {
    if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        return Ok(humantime::format_rfc3339_seconds(t).to_string());
    }
    let age = humantime::parse_duration(text)
        .map_err(|_| Failure(2, format!("--since {text:?}: write an RFC 3339 time (2026-01-31T00:00:00Z) or an age (24h)")))?;
    let t = std::time::SystemTime::now().checked_sub(age).unwrap_or(std::time::UNIX_EPOCH);
    Ok(humantime::format_rfc3339_seconds(t).to_string())
}
