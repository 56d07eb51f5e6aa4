//! Reading fictitious documents rendered by tests/fixtures/gen_documents.py with
//! `idverifd document read`, and their ground truth.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The documents `args` describe, rendered into a new temporary directory.
pub fn render(name: &str, args: &[&str]) -> PathBuf {
    let dir = super::temp_dir(name);
    super::render_documents(&dir, args);
    dir
}

pub fn truth_in(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap()).unwrap()
}

/// `idverifd document read --json` on `images`: its exit code and its JSON.
pub fn read(images: &[PathBuf]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_idverifd"))
        .args(["document", "read", "--json", "--on", "2026-11-21"])
        .args(images)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, value)
}

/// The codes of the problems a read reports.
pub fn codes(read: &Value) -> Vec<String> {
    read["problems"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap().to_string()).collect()
}

/// The images of the named sides in `dir`, in order.
pub fn images_in<const N: usize>(dir: &Path, sides: [&str; N]) -> [PathBuf; N] {
    sides.map(|n| dir.join(truth_in(dir, n)["image"].as_str().unwrap()))
}

/// [`images_in`] for a document of one side or two.
pub fn side_images(dir: &Path, sides: &[&str]) -> Vec<PathBuf> {
    sides.iter().map(|n| dir.join(truth_in(dir, n)["image"].as_str().unwrap())).collect()
}

/// Each of `fields` read as the generator printed it.
pub fn assert_read_as_printed(got: &Value, t: &Value, fields: &[&str]) {
    for field in fields {
        assert_eq!(got[*field], t[*field], "{field}");
    }
}
