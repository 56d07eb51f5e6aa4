//! Personal data at rest, as someone holding a stolen disk would look for it; the
//! audit trail as someone editing it would try; records that no longer decode;
//! and kill -9 at random moments. Every test drives the real daemon and CLI.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Daemon, TestConfig};
use idverifd::signing::{Jwks, verify_compact};
use idverifd::store::seal;
use idverifd::store::Kek;

const IIN: &str = "950101300123";

fn idverifd(args: &[&str], config: &Path) -> std::process::Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--config", config.to_str().unwrap()]);
    // sled's lock may outlive a just-closed handle by a moment: retry briefly.
    for _ in 0..40 {
        let out = Command::new(env!("CARGO_BIN_EXE_idverifd")).args(&all).output().unwrap();
        if !String::from_utf8_lossy(&out.stderr).contains("daemon running") {
            return out;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the database stayed locked");
}

/// The daemon's database, opened by the test itself (the daemon is stopped).
fn open_db(state: &Path) -> sled::Db {
    for _ in 0..50 {
        if let Ok(db) = sled::open(state.join("db")) {
            return db;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("database stayed locked")
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Where the daemon keeps a session's face photo: a sealed file beside its database.
fn evidence_file(state: &Path, id: &str) -> PathBuf {
    state.join(format!("db/evidence/{id}/face.sealed"))
}

fn at_rest_config() -> TestConfig {
    TestConfig {
        // Personal data is due at once; results keep for an hour.
        extra: "\n[store]\nretention = \"1s\"\nresult_retention = \"1h\"\npurge_interval = \"1h\"\n",
        ..TestConfig::default()
    }
}

async fn decided_session(daemon: &Daemon, nonce: &str) -> String {
    let body = serde_json::json!({"reference": "reg-at-rest", "nonce": nonce, "language": "ru", "expected_iin": IIN});
    let id = daemon.start_verification_with(body).await["id"].as_str().unwrap().to_string();
    let events = daemon.follow_events(&id, Duration::from_secs(90)).await;
    assert_eq!(events.last().unwrap()["type"], "decision", "{events:?}");
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_daemons_disk_shows_no_personal_data_and_purged_data_opens_under_no_key() {
    let mut daemon = Daemon::start("at-rest", &at_rest_config());
    let id = decided_session(&daemon, "nonce-at-rest-0001").await;
    let (status, jws) = daemon.get_text(&format!("/v1/verifications/{id}/result")).await;
    assert_eq!(status, 200);
    daemon.stop_cleanly();
    let state = daemon.state();

    // The face JPEG, read back through the daemon's own keys.
    let kek = Kek::load(&state.join("keys/data-kek")).unwrap();
    let (jpeg, sealed_face, sealed_personal) = {
        let db = open_db(&state);
        let wrapped = db.open_tree("data_keys").unwrap().get(format!("{id}/personal")).unwrap().expect("a personal data key");
        let key = kek.unwrap_data_key(format!("{id}/personal").as_bytes(), &wrapped).unwrap();
        let sealed_face = std::fs::read(evidence_file(&state, &id)).expect("the face evidence, a sealed file");
        let jpeg = seal::open(&key, format!("{id}/face").as_bytes(), &sealed_face).unwrap();
        let sealed_personal = db.open_tree("personal").unwrap().get(&id).unwrap().expect("sealed personal fields").to_vec();
        (jpeg, sealed_face, sealed_personal)
    };
    assert_eq!(&jpeg[..3], b"\xFF\xD8\xFF", "the evidence is a JPEG");
    std::thread::sleep(Duration::from_millis(300));

    // A thief's search: the JPEG (several windows of it), its start-of-image
    // marker, the IIN, and the signed result's payload.
    let payload = jws.split('.').nth(1).unwrap();
    let mut needles: Vec<(&str, Vec<u8>)> = vec![("SOI marker", b"\xFF\xD8\xFF".to_vec()), ("IIN", IIN.as_bytes().to_vec())];
    for at in [0, jpeg.len() / 3, jpeg.len() / 2, jpeg.len() - 64] {
        needles.push(("face JPEG bytes", jpeg[at..at + 64].to_vec()));
    }
    needles.push(("signed result payload", payload.as_bytes()[..64].to_vec()));
    let all = files(&state);
    let mut scanned = 0;
    for path in &all {
        let bytes = std::fs::read(path).unwrap();
        scanned += bytes.len();
        for (what, needle) in &needles {
            assert!(!find(&bytes, needle), "{what} found in {}", path.display());
        }
    }
    eprintln!("searched {} files, {scanned} bytes under the state directory: nothing personal in the clear", all.len());

    // The purge as an operator runs it: the dry run names ids and ages only.
    let config = daemon.config_path.clone();
    let out = idverifd(&["purge", "--dry-run"], &config);
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let items: Vec<serde_json::Value> = listed.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!((items[0]["session"].as_str(), items[0]["what"].as_str()), (Some(id.as_str()), Some("personal_data")));
    assert!(items[0]["age_seconds"].as_u64().is_some());
    assert!(!listed.contains(IIN));
    let out = idverifd(&["purge"], &config);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    // No key the daemon still holds opens what the purge left behind.
    {
        let db = open_db(&state);
        assert!(!evidence_file(&state, &id).exists(), "the purge removed the evidence file");
        let keys: Vec<_> = db.open_tree("data_keys").unwrap().iter().map(Result::unwrap).collect();
        assert!(keys.iter().all(|(slot, _)| !slot.starts_with(format!("{id}/personal").as_bytes())));
        for (slot, wrapped) in &keys {
            let key = kek.unwrap_data_key(slot, wrapped).unwrap();
            assert!(seal::open(&key, format!("{id}/face").as_bytes(), &sealed_face).is_err());
            assert!(seal::open(&key, format!("personal/{id}").as_bytes(), &sealed_personal).is_err());
        }
    }
    std::thread::sleep(Duration::from_millis(300));

    // The signed result is on the longer clock: still served, still verifies.
    daemon.launch();
    let (_, view) = daemon.get_json(&format!("/v1/verifications/{id}")).await;
    assert_eq!(view["purged"], true);
    let (status, after) = daemon.get_text(&format!("/v1/verifications/{id}/result")).await;
    assert_eq!((status, &after), (200, &jws));
    let jwks = daemon.client().get(format!("{}/.well-known/jwks.json", daemon.url)).send().await.unwrap().text().await.unwrap();
    common::verify_with_joserfc(&jwks, &after, "nonce-at-rest-0001", &daemon.dir);
    let status = status_json(&daemon).await;
    assert_eq!(status["store"]["key_encryption_key"], "state_file", "{status}");
    assert!(status["store"]["oldest_personal_record_age_seconds"].is_null(), "{status}");
}

async fn status_json(daemon: &Daemon) -> serde_json::Value {
    serde_json::from_str(&daemon.status_text().await).unwrap()
}

/// What systemd hands the service for `LoadCredentialEncrypted=`: the decrypted
/// credential in `$CREDENTIALS_DIRECTORY` (systemd itself, and a TPM, are not here).
#[tokio::test(flavor = "multi_thread")]
async fn a_systemd_credential_wraps_the_data_keys_and_without_it_the_daemon_refuses_to_start() {
    let mut daemon = Daemon::prepare("credential", &TestConfig::default());
    let credentials = daemon.dir.join("credentials");
    std::fs::create_dir_all(&credentials).unwrap();
    let raw: [u8; 32] = rand::random();
    std::fs::write(credentials.join("idverifd-data-kek"), raw).unwrap();
    daemon.env.push(("CREDENTIALS_DIRECTORY".into(), credentials.display().to_string()));
    daemon.launch();
    let status = status_json(&daemon).await;
    assert_eq!(status["store"]["key_encryption_key"], "systemd_credential", "{status}");
    assert!(!daemon.state().join("keys/data-kek").exists(), "no key-encryption key on the data's disk");
    daemon.stop_cleanly();

    // The credential gone (another box, a wiped TPM): refused, not replaced.
    std::thread::sleep(Duration::from_millis(300));
    let out = Command::new(env!("CARGO_BIN_EXE_idverifd")).args(["run", "--config"]).arg(&daemon.config_path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("another key-encryption key"), "{stderr}");
}

/// Rewrites the trail with `edit`, runs `audit verify`, restores it.
fn verify_after(state: &Path, config: &Path, edit: impl FnOnce(&sled::Tree)) -> (Option<i32>, String) {
    let saved: Vec<_> = {
        let db = open_db(state);
        let audit = db.open_tree("audit").unwrap();
        let saved = audit.iter().map(Result::unwrap).collect();
        edit(&audit);
        db.flush().unwrap();
        saved
    };
    std::thread::sleep(Duration::from_millis(300));
    let out = idverifd(&["audit", "verify"], config);
    let db = open_db(state);
    let audit = db.open_tree("audit").unwrap();
    audit.clear().unwrap();
    for (k, v) in saved {
        audit.insert(k, v).unwrap();
    }
    db.flush().unwrap();
    drop(db);
    std::thread::sleep(Duration::from_millis(300));
    (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_verify_passes_on_a_real_trail_and_names_the_entry_that_was_changed_deleted_or_swapped() {
    let mut daemon = Daemon::start("audit", &TestConfig::default());
    let id = decided_session(&daemon, "nonce-audit-00001").await;
    let (status, _) = daemon.get_text(&format!("/v1/verifications/{id}/result")).await;
    assert_eq!(status, 200);
    status_json(&daemon).await;
    let wrong = daemon.client().get(format!("{}/status.json", daemon.status_url)).basic_auth("technician", Some("guess-guess-guess"));
    assert_eq!(wrong.send().await.unwrap().status(), 401);
    daemon.stop_cleanly();
    let (state, config) = (daemon.state(), daemon.config_path.clone());

    let out = idverifd(&["audit", "verify", "--json"], &config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["report"]["checkpoints"].as_u64().unwrap() >= 1, "signed at shutdown: {report}");
    assert_eq!(report["report"]["unsigned_tail"], 0, "{report}");

    let out = idverifd(&["audit", "export", "--since", "1h"], &config);
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions: Vec<&str> = lines.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for wanted in [
        "session_started",
        "stage:face_capture",
        "decided:needs_review",
        "result_fetched",
        "technician_login_succeeded",
        "technician_login_failed",
        "daemon_stopped",
    ] {
        assert!(actions.contains(&wanted), "{wanted} missing from {actions:?}");
    }
    let started = lines.iter().find(|e| e["action"] == "session_started").unwrap();
    assert!(started["actor"].as_str().unwrap().starts_with("client:token:"), "{started}");
    assert_eq!(started["session"], id.as_str());
    let fetched = lines.iter().find(|e| e["action"] == "result_fetched").unwrap();
    let n = fetched["seq"].as_u64().unwrap();
    let exported = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!exported.contains(IIN) && !exported.contains("reg-42"), "no personal data in the trail");

    let key = |seq: u64| seq.to_be_bytes();
    let (code, stderr) = verify_after(&state, &config, |audit| {
        let mut v = audit.get(key(n)).unwrap().unwrap().to_vec();
        let at = v.windows(6).position(|w| w == b"result").unwrap();
        v[at] = b'R';
        audit.insert(key(n), v).unwrap();
    });
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("audit entry {n}:")), "one byte changed: {stderr}");

    let (code, stderr) = verify_after(&state, &config, |audit| {
        audit.remove(key(n)).unwrap();
    });
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("audit entry {n}:")), "entry deleted: {stderr}");

    let (code, stderr) = verify_after(&state, &config, |audit| {
        let (a, b) = (audit.get(key(n)).unwrap().unwrap(), audit.get(key(n + 1)).unwrap().unwrap());
        audit.insert(key(n), b).unwrap();
        audit.insert(key(n + 1), a).unwrap();
    });
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("audit entry {n}:")), "two swapped: {stderr}");

    let out = idverifd(&["audit", "verify"], &config);
    assert_eq!(out.status.code(), Some(0), "restored: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_that_does_not_decode_is_quarantined_and_start_up_and_purge_go_on() {
    let mut daemon = Daemon::start("quarantine", &at_rest_config());
    let id = decided_session(&daemon, "nonce-quarantine-1").await;
    daemon.stop_cleanly();
    {
        let db = open_db(&daemon.state());
        // A status an upgrade renamed, and bytes a failing disk garbled.
        let sessions = db.open_tree("sessions").unwrap();
        let mut renamed: serde_json::Value = serde_json::from_slice(&sessions.get(&id).unwrap().unwrap()).unwrap();
        renamed["id"] = "vf_renamed".into();
        renamed["status"] = "decided_v2".into();
        sessions.insert("vf_renamed", serde_json::to_vec(&renamed).unwrap()).unwrap();
        sessions.insert("vf_garbled", b"{\"id\":\"vf_garb\xFF\xFE".as_slice()).unwrap();
        db.flush().unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    daemon.launch();
    // The purge at start-up goes past the quarantined records to the good one.
    let mut purged = false;
    for _ in 0..50 {
        let (_, view) = daemon.get_json(&format!("/v1/verifications/{id}")).await;
        purged = view["purged"] == true;
        if purged {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(purged, "the good session was not purged:\n{}", daemon.log_text());
    let status = status_json(&daemon).await;
    assert_eq!(status["store"]["quarantined_records"], 2, "{status}");
    let keys: Vec<&str> = status["store"]["quarantine"].as_array().unwrap().iter().map(|q| q["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["vf_garbled", "vf_renamed"]);
    assert!(status["store"]["oldest_personal_record_age_seconds"].is_null(), "{status}");
    let (code, _) = daemon.get_json("/v1/verifications/vf_renamed").await;
    assert_eq!(code, 404);
    assert!(!daemon.log_text().contains("retention purge failed"), "{}", daemon.log_text());
    daemon.stop_cleanly();

    let out = idverifd(&["purge", "--dry-run"], &daemon.config_path);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "nothing left to purge: {}", String::from_utf8_lossy(&out.stdout));
    let out = idverifd(&["audit", "verify"], &daemon.config_path);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// kill -9 at random moments through sessions. `IDVERIFD_KILL_POINTS` sets how
/// many (default 5; the soak is 50).
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_at_random_moments_loses_no_decision_and_leaves_a_verifiable_trail() {
    let points: usize = std::env::var("IDVERIFD_KILL_POINTS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let mut seed: u64 = std::env::var("IDVERIFD_KILL_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x1d_5eed);
    let mut next = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        seed >> 33
    };
    let mut daemon = Daemon::start("kill9-soak", &TestConfig::default());
    let mut sessions = Vec::new();
    let started = std::time::Instant::now();
    for i in 0..points {
        let nonce = format!("nonce-soak-{i:06}");
        let id = daemon.start_verification(&nonce).await["id"].as_str().unwrap().to_string();
        // A face-only session on the replayed clip takes about 6 s.
        let after = Duration::from_millis(next() % 8_000);
        tokio::time::sleep(after).await;
        daemon.kill9();
        daemon.launch();
        sessions.push((id, nonce));
    }
    let jwks: Jwks = daemon.client().get(format!("{}/.well-known/jwks.json", daemon.url)).send().await.unwrap().json().await.unwrap();
    let (mut decided, mut interrupted) = (0, 0);
    for (id, nonce) in &sessions {
        let (_, view) = daemon.get_json(&format!("/v1/verifications/{id}")).await;
        match view["status"].as_str().unwrap() {
            "decided" => {
                let (code, jws) = daemon.get_text(&format!("/v1/verifications/{id}/result")).await;
                assert_eq!(code, 200, "decided {id} has no result");
                let verified = verify_compact(&jws, &jwks).unwrap_or_else(|e| panic!("{id}: {e}"));
                assert_eq!(verified.payload["nonce"], nonce.as_str());
                assert_eq!(view["decision"]["decision"], verified.payload["decision"]);
                decided += 1;
            }
            "interrupted" => interrupted += 1,
            other => panic!("{id} is {other} after the restarts"),
        }
    }
    daemon.stop_cleanly();
    let out = idverifd(&["audit", "verify"], &daemon.config_path);
    let verdict = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(out.status.code(), Some(0), "{verdict}");
    eprintln!(
        "kill -9 at {points} points in {:.0} s: {decided} decided (all verify against the JWKS), {interrupted} interrupted; {verdict}",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(decided + interrupted, points);
}
