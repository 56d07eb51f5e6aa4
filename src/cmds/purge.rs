//! `idverifd purge [--dry-run]`: applies retention now, on both clocks (personal
//! data, signed results). `--dry-run` lists what would go as JSON lines: session
//! id, what, age in seconds — never personal data.

use idverifd::app;
use idverifd::store::Actor;
use serde_json::json;

use super::state::{StateArgs, open_for_maintenance};
use super::Failure;

#[derive(clap::Args, Debug)]
pub struct PurgeArgs {
    /// List what would be purged; change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    state: StateArgs,
}

pub fn run(args: PurgeArgs) -> Result<u8, Failure> {
    let config = args.state.load()?;
    let retention = app::retention(&config);
    let store = open_for_maintenance(&config)?;
    let now = idverifd::unix_now();
    if args.dry_run {
        let plan = store.purge_plan(&retention, now);
        for item in &plan {
            println!("{}", serde_json::to_string(item).unwrap_or_default());
        }
        eprintln!("{} item(s) would be purged (nothing changed)", plan.len());
        return Ok(0);
    }
    let report = store.purge_expired(&retention, now, &Actor::Command).map_err(|e| Failure(3, e.to_string()))?;
    super::print_json(&json!({"purged": report}));
    eprintln!("purged: personal data of {} session(s), {} signed result(s)", report.personal_data, report.signed_results);
    Ok(0)
}
