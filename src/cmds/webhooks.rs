//! `idverifd webhooks list` prints the outbox, one JSON line per delivery (ids,
//! state, attempts, last answer; never a body); `idverifd webhooks retry ID` makes
//! a delivery due again — delivered or given up too — with a fresh back-off, and
//! audits it. Both open the database themselves: stop the daemon first; the
//! retried delivery goes out when it starts.

use idverifd::store::outbox::DeliveryState;
use serde_json::json;

use super::state::{StateArgs, open_for_maintenance};
use super::Failure;

#[derive(clap::Subcommand, Debug)]
pub enum WebhooksCommand {
    /// Every delivery as a JSON line, oldest first; counts on stderr.
    List {
        #[command(flatten)]
        state: StateArgs,
    },
    /// Make delivery ID (its webhook-id) due again, with a fresh back-off.
    Retry {
        #[arg(long)]
        json: bool,
        id: String,
        #[command(flatten)]
        state: StateArgs,
    },
}

pub fn run(command: WebhooksCommand) -> Result<u8, Failure> {
    match command {
        WebhooksCommand::List { state } => list(state),
        WebhooksCommand::Retry { json, id, state } => retry(json, &id, state),
    }
}

fn list(state: StateArgs) -> Result<u8, Failure> {
    let config = state.load()?;
    let store = open_for_maintenance(&config)?;
    let deliveries = store.deliveries().map_err(|e| Failure(3, e.to_string()))?;
    for d in &deliveries {
        println!("{}", serde_json::to_string(d).unwrap_or_default());
    }
    let count = |s: DeliveryState| deliveries.iter().filter(|d| d.state == s).count();
    eprintln!(
        "{} deliveries: {} pending, {} delivered, {} given up",
        deliveries.len(),
        count(DeliveryState::Pending),
        count(DeliveryState::Delivered),
        count(DeliveryState::GivenUp)
    );
    Ok(0)
}

fn retry(json: bool, id: &str, state: StateArgs) -> Result<u8, Failure> {
    let config = state.load()?;
    let store = open_for_maintenance(&config)?;
    let now_ms = idverifd::webhooks::unix_ms(std::time::SystemTime::now());
    match store.retry_delivery(id, now_ms).map_err(|e| Failure(3, e.to_string()))? {
        Some(delivery) => {
            if json {
                super::print_json(&json!({"retry": delivery}));
            }
            eprintln!("webhook {id} is due again; the daemon sends it when it starts");
            Ok(0)
        }
        None => Err(Failure(2, format!("no webhook {id:?} in the outbox; `idverifd webhooks list` shows their ids"))),
    }
}
