//! Stage 3, the verification session. Enters: quality assessments of frames (from
//! vision), subject actions and the clock. Leaves: stage changes and prompts (events
//! for the kiosk and the registration server) and, at the end, a decision with
//! reasons and checks. Pure: the machine does no I/O; the engine in `app` applies
//! its effects (evidence, signing, storage).

pub mod control;
pub mod flash;
pub mod holder;
pub mod liveness;
pub mod machine;
pub mod record;
pub mod result;


pub use control::{Controller, StartError};
pub use machine::{Effect, MachineConfig, SessionMachine};
pub use record::*;

/// Session ids are random and carry nothing about the subject.
pub fn new_session_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("vf_{}", hex::encode(bytes))
}
