//! The command line as an operator meets it: config checks, exit codes, JSON out.

mod common;

use std::process::Command;

fn idverifd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_idverifd")).args(args).output().unwrap()
}

#[test]
fn validate_reports_every_mistake_at_once_with_file_and_field() {
    let dir = common::temp_dir("validate");
    let path = dir.join("bad.toml");
    let demo = std::fs::read_to_string(common::repo().join("config/demo.toml")).unwrap();
    let bad = demo
        .replace("listen = \"127.0.0.1:8443\"", "listen = \"everywhere\"")
        .replace("\nwidth = 640", "\nwidth = 640\nwidht = 800")
        .replace("countdown_seconds = 3", "countdown_seconds = 0");
    std::fs::write(&path, bad).unwrap();
    let out = idverifd(&["validate", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for field in ["api.listen", "camera.widht", "session.countdown_seconds"] {
        assert!(stderr.contains(&format!("{}: {field}:", path.display())), "{field} missing from:\n{stderr}");
    }
    assert!(stderr.contains("3 problem(s)"), "{stderr}");

    let out = idverifd(&["validate", "--config", common::repo().join("config/demo.toml").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = idverifd(&["validate", "--config", dir.join("missing.toml").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn cameras_lists_no_devices_on_a_machine_without_one() {
    let out = idverifd(&["cameras", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cameras = listed["cameras"].as_array().unwrap();
    let devices = std::fs::read_dir("/dev")
        .map(|d| d.filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().starts_with("video")).count())
        .unwrap_or(0);
    if devices == 0 {
        // CI machines have no /dev/video*: nothing may be invented.
        assert!(cameras.is_empty(), "{listed}");
    } else {
        assert!(cameras.iter().all(|c| c.get("accepted").is_some() || c.get("error").is_some()), "{listed}");
    }
}

#[test]
fn face_detect_finds_one_face_with_landmarks_and_refuses_a_non_image() {
    let out = idverifd(&["face", "detect", "--json", common::media("obama.jpg").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let faces = result["faces"].as_array().unwrap();
    assert_eq!(faces.len(), 1);
    let face = &faces[0];
    assert!(face["score"].as_f64().unwrap() > 0.9);
    assert_eq!(face["landmarks"].as_array().unwrap().len(), 5);
    // The eyes are above the nose, the nose above the mouth.
    let y = |i: usize| face["landmarks"][i]["y"].as_f64().unwrap();
    assert!(y(0) < y(2) && y(1) < y(2) && y(2) < y(3));
    assert!(face["quality"]["sharpness"].as_f64().unwrap() > 100.0);

    let out = idverifd(&["face", "detect", "--json", "/etc/hostname"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an image"));
}

#[test]
fn keys_show_and_rotate_keep_old_public_keys() {
    let dir = common::temp_dir("keys");
    let state = dir.join("state");
    let demo = common::repo().join("config/demo.toml");
    let show = |cmd: &str| {
        let out = idverifd(&["keys", cmd, "--config", demo.to_str().unwrap(), "--state-dir", state.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let before = show("show");
    let rotated = show("rotate");
    assert_ne!(before["kid"], rotated["kid"]);
    let kids: Vec<_> = rotated["jwks"]["keys"].as_array().unwrap().iter().map(|k| k["kid"].clone()).collect();
    assert_eq!(kids, vec![rotated["kid"].clone(), before["kid"].clone()]);
    assert_eq!(before["tls_certificate_sha256"].as_str().unwrap().len(), 64);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(state.join("keys/device-key.pem")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the private key is readable by its owner only");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn systemd_unit_is_valid_and_hardened() {
    let unit = std::fs::read_to_string(common::repo().join("systemd/idverifd.service")).unwrap();
    for directive in [
        "Type=notify",
        "WatchdogSec=",
        "ExecStartPre=/usr/local/bin/idverifd validate",
        "StateDirectory=idverifd",
        "ProtectSystem=strict",
        "DeviceAllow=char-video4linux rw",
        "UMask=077",
        "NoNewPrivileges=yes",
        "MemoryMax=",
        "TasksMax=",
        "LimitNOFILE=",
        "CacheDirectory=idverifd",
        "Environment=GST_REGISTRY_1_0=%C/idverifd/",
        "StartLimitIntervalSec=",
        "StartLimitBurst=",
    ] {
        assert!(unit.lines().any(|l| l.starts_with(directive)), "missing {directive}");
    }
    // systemd's own checker, with the binary path pointed at something that exists.
    let dir = common::temp_dir("unit");
    let path = dir.join("idverifd.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/idverifd", "/bin/true")).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&path).output().expect("systemd-analyze (Debian systemd)");
    assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    // systemd's exposure score (0 = fully locked down, 10 = none): what could be
    // set is set; what cannot is explained in the unit.
    let out = Command::new("systemd-analyze").args(["security", "--offline=yes"]).arg(&path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for idverifd.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no score in: {text}{}", String::from_utf8_lossy(&out.stderr)));
    println!("systemd-analyze security --offline=yes systemd/idverifd.service: {score}");
    assert!(score <= 1.5, "exposure {score}");
    std::fs::remove_dir_all(dir).unwrap();
}
