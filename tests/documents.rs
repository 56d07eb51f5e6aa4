//! `idverifd document read` over fictitious documents rendered by
//! tests/fixtures/gen_documents.py (real fonts, MRZ checked by the independent
//! `mrz` package, photographed-like degradations), judged against their ground truth.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

const FIELDS: [&str; 8] = ["iin", "surname", "given_names", "patronymic", "birth_date", "document_number", "expiry_date", "sex"];

/// Renders the document set once per test binary (deterministic seed), in the
/// generator's fixed (classic) layout: the randomised splits are measured by
/// `cargo bench --bench documents`.
fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = common::temp_dir("documents");
        let out = Command::new("python3")
            .arg(common::repo().join("tests/fixtures/gen_documents.py"))
            .args(["--out", dir.to_str().unwrap(), "--seed", "11", "--count", "2", "--classic"])
            .output()
            .expect("python3");
        assert!(out.status.success(), "fixture generator: {}", String::from_utf8_lossy(&out.stderr));
        dir
    })
}

fn truth(name: &str) -> Value {
    let dir = fixtures();
    serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap()).unwrap()
}

fn image(name: &str) -> PathBuf {
    fixtures().join(truth(name)["image"].as_str().unwrap())
}

fn read(images: &[PathBuf]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_idverifd"))
        .args(["document", "read", "--json", "--on", "2026-11-21"])
        .args(images)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, value)
}

fn codes(read: &Value) -> Vec<String> {
    read["problems"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap().to_string()).collect()
}

fn expected(t: &Value, field: &str) -> Value {
    // The card's true IIN is the MRZ's; a tampered front shows another.
    if field == "iin" { t.get("mrz_iin").cloned().unwrap_or(t["iin"].clone()) } else { t[field].clone() }
}

#[test]
fn clean_and_photographed_id_cards_are_read_exactly_in_either_order() {
    for person in ["p01", "p02"] {
        for variant in ["clean", "moderate"] {
            let front = format!("{person}_id_front_{variant}");
            let back = format!("{person}_id_back_{variant}");
            let (code, got) = read(&[image(&front), image(&back)]);
            let t = truth(&front);
            for field in FIELDS {
                assert_eq!(got[field], expected(&t, field), "{front}: {field}");
            }
            assert_eq!(code, 0, "{front}: {:?}", codes(&got));
            assert_eq!(got["document_type"], "kz_id_card");
            assert_eq!(got["sources"]["iin"], "both");
            assert_eq!(got["mrz"]["format"], "TD1");
            assert_eq!(got["mrz"]["valid"], true);
            assert_eq!(got["mrz"]["lines"], t["mrz"]);
        }
    }
    // Back first, then front: the same answer.
    let (_, a) = read(&[image("p01_id_front_moderate"), image("p01_id_back_moderate")]);
    let (_, b) = read(&[image("p01_id_back_moderate"), image("p01_id_front_moderate")]);
    assert_eq!(a, b);
}

#[test]
fn passport_pages_are_read_from_their_td3_mrz() {
    for variant in ["clean", "moderate"] {
        let name = format!("p01_passport_page_{variant}");
        let (code, got) = read(&[image(&name)]);
        let t = truth(&name);
        assert_eq!(code, 0, "{name}: {:?}", codes(&got));
        assert_eq!(got["document_type"], "passport");
        assert_eq!(got["mrz"]["format"], "TD3");
        for field in ["iin", "birth_date", "document_number", "expiry_date", "sex"] {
            assert_eq!(got[field], t[field], "{name}: {field}");
        }
        // No Cyrillic front was read, so the names are the MRZ's Latin form.
        assert_eq!(got["surname"], t["surname_latin"]);
        assert_eq!(got["sources"]["iin"], "mrz");
    }
}

#[test]
fn tampered_expired_and_minor_cards_are_recognised() {
    // One IIN digit changed on the front: its check digit fails and it disagrees with the MRZ.
    let (code, got) = read(&[image("bad_iin_id_front_clean"), image("bad_iin_id_back_clean")]);
    assert_eq!(code, 1);
    let problems = codes(&got);
    assert!(problems.contains(&"iin_check_digit".to_string()) && problems.contains(&"iin_mismatch".to_string()), "{problems:?}");
    assert_eq!(got["iin"], truth("bad_iin_id_back_clean")["mrz_iin"], "the checked MRZ IIN is kept");
    // A valid IIN on the front that is not the MRZ's.
    let (code, got) = read(&[image("mismatch_id_front_clean"), image("mismatch_id_back_clean")]);
    assert_eq!(code, 1);
    assert!(codes(&got).contains(&"iin_mismatch".to_string()), "{:?}", codes(&got));
    // Expired on the day given.
    let (code, got) = read(&[image("expired_id_front_moderate"), image("expired_id_back_moderate")]);
    assert_eq!((code, &got["expired"]), (1, &Value::Bool(true)));
    assert!(codes(&got).contains(&"expired".to_string()));
    // Sixteen on the day given.
    let (code, got) = read(&[image("minor_id_front_moderate"), image("minor_id_back_moderate")]);
    assert_eq!(code, 0, "{:?}", codes(&got));
    assert_eq!(got["minor"], true);
    // No problem message carries a digit of the IIN.
    let (_, got) = read(&[image("bad_iin_id_front_clean"), image("bad_iin_id_back_clean")]);
    let iin = got["iin"].as_str().unwrap();
    for p in got["problems"].as_array().unwrap() {
        assert!(!p["message"].as_str().unwrap().contains(&iin[..6]), "{p}");
    }
}

#[test]
fn unreadable_input_gets_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_idverifd")).args(["document", "read", "--json", "/etc/hostname"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an image"));
    let out = Command::new(env!("CARGO_BIN_EXE_idverifd"))
        .args(["document", "read", "--on", "21.11.2026"])
        .arg(image("p01_id_front_clean"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("YYYY-MM-DD"));
    // A photo with no document in it: processed, nothing read, exit 1.
    let (code, got) = read(&[common::media("obama.jpg")]);
    assert_eq!(code, 1);
    assert_eq!(got["document_type"], "unknown");
    assert!(codes(&got).contains(&"unreadable_field".to_string()));
}
