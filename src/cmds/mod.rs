//! Subcommands, one module each with its arguments and `run`; `main.rs` dispatches.

pub mod audit;
pub mod purge;
pub mod state;
pub mod webhooks;
