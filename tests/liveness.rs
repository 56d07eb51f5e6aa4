//! `idverifd liveness scan` on a generated attack set (tests/fixtures/gen_attacks.py:
//! printed photos moved and bent, a screen replay) and on the bona fide clip
//! (carphone, a real person). Every attack must be flagged with a plausible kind and
//! the real person must not be; the table of signal values is printed, with APCER and
//! BPCER (ISO/IEC 30107-3) on this set.

mod common;

use std::process::Command;

use serde_json::Value;

fn scan(clip: &std::path::Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_idverifd"))
        .args(["liveness", "scan", "--json", clip.to_str().unwrap()])
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(matches!(code, Some(0 | 1)), "{}: exit {code:?}\n{}", clip.display(), String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    assert_eq!(code == Some(1), v["attack_suspected"] == true, "exit code follows the verdict");
    v
}

fn figure(v: &Value, signal: &str) -> String {
    v["signals"][signal]["value"].as_f64().map_or("-".into(), |x| format!("{x:.3}"))
}

#[test]
fn generated_attacks_are_flagged_and_the_real_person_is_not() {
    let dir = common::temp_dir("liveness");
    let status = Command::new("python3")
        .arg(common::repo().join("tests/fixtures/gen_attacks.py"))
        .arg(common::repo().join("models/media"))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success(), "attack generator failed");

    // (clip, expected kinds; empty = bona fide)
    let cases: [(std::path::PathBuf, &[&str]); 5] = [
        (dir.join("print_moved.webm"), &["print"]),
        (dir.join("print_bent.webm"), &["print"]),
        (dir.join("print_biden.webm"), &["print"]),
        (dir.join("screen_replay.webm"), &["screen"]),
        (common::media("carphone_pristine.mp4"), &[]),
    ];
    let (mut rows, mut failures) = (Vec::new(), Vec::new());
    // ISO/IEC 30107-3 reports APCER per attack species: (species, presented, missed).
    let mut species: Vec<(&str, usize, usize)> = Vec::new();
    let (mut bona_fide, mut bona_fide_flagged) = (0, 0);
    for (clip, kinds) in &cases {
        let v = scan(clip);
        let name = clip.file_name().unwrap().to_string_lossy().to_string();
        rows.push(format!(
            "{:<22} {:>6} {:>6} {:>10} {:>10} {:>10} {:>8} {:>8} {:>6.2} {:>7} {}",
            name,
            v["frames_read"],
            v["faces_tracked"],
            figure(&v, "planarity"),
            figure(&v, "landmark_deformation"),
            figure(&v, "moire_peak"),
            figure(&v, "saturation"),
            figure(&v, "specular_share"),
            v["score"].as_f64().unwrap_or(f64::NAN),
            v["attack_suspected"],
            v["attack_kind"],
        ));
        if v["faces_tracked"].as_u64().unwrap_or(0) < 10 {
            failures.push(format!("{name}: the face must be tracked: {v}"));
        }
        if kinds.is_empty() {
            bona_fide += 1;
            bona_fide_flagged += usize::from(v["attack_suspected"] == true);
        } else {
            let missed = usize::from(v["attack_suspected"] != true);
            match species.iter_mut().find(|s| s.0 == kinds[0]) {
                Some(s) => (s.1, s.2) = (s.1 + 1, s.2 + missed),
                None => species.push((kinds[0], 1, missed)),
            }
        }
        if kinds.is_empty() && (v["attack_suspected"] != false || !v["attack_kind"].is_null()) {
            failures.push(format!("{name}: a real person flagged: {v}"));
        }
        if !kinds.is_empty() && (v["attack_suspected"] != true || !kinds.contains(&v["attack_kind"].as_str().unwrap_or(""))) {
            failures.push(format!("{name}: expected a {} attack: {v}", kinds.join("|")));
        }
    }
    eprintln!(
        "{:<22} {:>6} {:>6} {:>10} {:>10} {:>10} {:>8} {:>8} {:>6} {:>7} kind",
        "clip", "frames", "faces", "planarity", "deform", "moire", "sat", "specular", "score", "flagged"
    );
    for r in &rows {
        eprintln!("{r}");
    }
    for (name, presented, missed) in &species {
        eprintln!("APCER {name}: {missed}/{presented} = {:.2}", *missed as f64 / *presented as f64);
    }
    eprintln!(
        "BPCER: {bona_fide_flagged}/{bona_fide} = {:.2} (synthetic attacks, one bona fide subject)",
        bona_fide_flagged as f64 / bona_fide as f64
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_or_undecodable_clip_is_a_usage_error() {
    let dir = common::temp_dir("liveness-bad");
    let junk = dir.join("junk.webm");
    std::fs::write(&junk, b"not a video").unwrap();
    for clip in [dir.join("missing.webm"), junk] {
        let out = Command::new(env!("CARGO_BIN_EXE_idverifd"))
            .args(["liveness", "scan", "--json", clip.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains(clip.file_name().unwrap().to_str().unwrap()));
    }
    std::fs::remove_dir_all(dir).unwrap();
}
