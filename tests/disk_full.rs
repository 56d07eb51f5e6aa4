//! A full disk, on a size-limited tmpfs the test mounts over the state directory
//! (skipped, saying why, where it cannot mount one): a new session is refused with
//! 507 and a reason, the running one ends `interrupted` with the reason, what was
//! decided before stays intact, and the daemon carries on once space returns.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Daemon, TOKEN, TestConfig};
use idverifd::signing::{Jwks, verify_compact};

/// Lazily unmounts the tmpfs when the test ends (the daemon may still hold files).
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros to `path` until the file system refuses; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let mut written = 0u64;
    for chunk in [1 << 20, 4096, 512] {
        let zeros = vec![0u8; chunk];
        while file.write_all(&zeros).and_then(|()| file.sync_data()).is_ok() {
            written += chunk as u64;
        }
    }
    written
}

async fn start(daemon: &Daemon, nonce: &str) -> (u16, serde_json::Value) {
    let body = serde_json::json!({"reference": "reg-disk", "nonce": nonce, "language": "en"});
    let r = daemon.client().post(format!("{}/v1/verifications", daemon.url)).bearer_auth(TOKEN).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_refuses_new_sessions_interrupts_the_running_one_and_recovers_without_a_restart() {
    let config = TestConfig { subject_timeout: "15s", ..TestConfig::default() };
    let mut daemon = Daemon::prepare("disk-full", &config);
    let state = daemon.state();
    std::fs::create_dir_all(&state).unwrap();
    let mount = Command::new("mount").args(["-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs"]).arg(&state).output();
    match mount {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            eprintln!("skipped: cannot mount a tmpfs here ({})", String::from_utf8_lossy(&out.stderr).trim());
            return;
        }
        Err(e) => {
            eprintln!("skipped: no mount command ({e})");
            return;
        }
    }
    let _mounted = Mounted(state.clone());
    daemon.launch();

    // Decided while there is space: it must come through untouched.
    let (code, first) = start(&daemon, "nonce-disk-00001").await;
    assert_eq!(code, 201, "{first}");
    let first = first["id"].as_str().unwrap().to_string();
    let events = daemon.follow_events(&first, Duration::from_secs(60)).await;
    assert_eq!(events.last().unwrap()["type"], "decision");
    let (_, first_jws) = daemon.get_text(&format!("/v1/verifications/{first}/result")).await;

    // The disk fills while the next session runs.
    let (code, running) = start(&daemon, "nonce-disk-00002").await;
    assert_eq!(code, 201, "{running}");
    let running = running["id"].as_str().unwrap().to_string();
    let events = tokio::spawn({
        let url = daemon.url.clone();
        let client = daemon.client();
        let id = running.clone();
        async move { common::collect_events(&client, &url, &id, Duration::from_secs(90)).await }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let filler = state.join("filler");
    let filled = fill(&filler);
    eprintln!("filled the 48 MiB tmpfs with {} MiB", filled >> 20);
    let events = events.await.unwrap();
    let last = events.last().expect("events");
    assert_eq!(last["status"], "interrupted", "{events:?}\n{}", daemon.log_text());
    assert!(!events.iter().any(|e| e["type"] == "decision"), "no decision was announced: {events:?}");

    let (code, refused) = start(&daemon, "nonce-disk-00003").await;
    assert_eq!(code, 507, "{refused}\n{}", daemon.log_text());
    assert_eq!(refused["error"]["code"], "disk_full", "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("disk is full"), "{refused}");

    // Space returns: the daemon carries on by itself.
    std::fs::remove_file(&filler).unwrap();
    let returned = Instant::now();
    let mut code = 0;
    while returned.elapsed() < Duration::from_secs(30) {
        code = start(&daemon, &format!("nonce-disk-1{:04}", returned.elapsed().as_millis() % 10_000)).await.0;
        if code == 201 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(code, 201, "no recovery without a restart:\n{}", daemon.log_text());
    eprintln!("new sessions accepted {:.1} s after space returned", returned.elapsed().as_secs_f64());

    let (_, view) = daemon.get_json(&format!("/v1/verifications/{running}")).await;
    assert_eq!(view["status"], "interrupted", "{view}");
    assert_eq!(view["interrupted_reason"], "disk_full", "{view}");
    assert!(view["decision"].is_null(), "{view}");
    let (code, jws) = daemon.get_text(&format!("/v1/verifications/{first}/result")).await;
    assert_eq!((code, &jws), (200, &first_jws));
    let jwks: Jwks = daemon.client().get(format!("{}/.well-known/jwks.json", daemon.url)).send().await.unwrap().json().await.unwrap();
    verify_compact(&jws, &jwks).unwrap();
    daemon.kill9();
}
