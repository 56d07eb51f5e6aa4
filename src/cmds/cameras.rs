//! `idverifd cameras`: V4L2 devices and whether the camera policy accepts them.

use std::path::PathBuf;

use idverifd::capture::devices::{self, CameraPolicy};
use serde_json::json;

use super::{Failure, optional_config, print_json};

pub fn run(json: bool, config: Option<PathBuf>) -> Result<u8, Failure> {
    let policy =
        optional_config(config)?.map_or_else(CameraPolicy::default, |c| CameraPolicy::from_config(&c.camera.policy));
    let list: Vec<_> = devices::list()
        .into_iter()
        .map(|d| match d {
            Ok(info) => {
                let verdict = policy.evaluate(&info);
                json!({"device": info, "accepted": verdict.accepted, "reason": verdict.reason})
            }
            Err(e) => json!({"error": e.to_string()}),
        })
        .collect();
    if json {
        print_json(&json!({"cameras": list}));
    } else if list.is_empty() {
        eprintln!("no V4L2 capture devices found");
    } else {
        for c in &list {
            eprintln!("{}", serde_json::to_string(c).unwrap_or_default());
        }
    }
    Ok(0)
}
