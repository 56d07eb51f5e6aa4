//! Stage 3, the verification session. Enters: quality assessments of frames (from
//! vision), subject actions and the clock. Leaves: stage changes and prompts (events
//! for the kiosk and the registration server) and, at the end, a decision with
//! reasons and checks. Pure: the machine does no I/O; the engine in `app` applies
//! its effects (evidence, signing, storage).

pub mod assessment;
pub mod control;
pub mod flash;
pub mod guardian;
pub mod holder;
pub mod liveness;
pub mod machine;
pub mod result;


pub use control::{Controller, StartError};
pub use machine::{Effect, MachineConfig, SessionMachine};
/// The stored shape of a session lives in [`crate::record`] so the store can hold it
/// without depending on the session's rules.
pub use crate::record::*;

/// Session ids are random and carry nothing about the subject.
pub fn new_session_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("vf_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_all_names_every_prompt_once_in_order() {
        for (i, p) in Prompt::ALL.iter().enumerate() {
            assert_eq!(p.ordinal(), i, "{p:?} out of place in Prompt::ALL");
        }
    }

    #[test]
    fn decision_all_names_every_decision() {
        for d in Decision::ALL {
            // Exhaustive: a new decision fails to compile here until it is listed.
            match d {
                Decision::Verified | Decision::Rejected | Decision::NeedsReview | Decision::PendingGuardian => {}
            }
        }
        assert_eq!(Decision::ALL.len(), 4);
    }
}
