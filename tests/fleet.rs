//! One CA for a fleet, as an exam authority would run it with OpenSSL: a root
//! (Ed25519) signs the device's `keys csr`; after `keys install-cert` every result
//! carries the chain as `x5c` and verifies with `idverifd verify --ca ROOT` and
//! with an independent stack (Python `cryptography` for the chain, `joserfc` for
//! the signature), with no JWKS. A result signed before a key rotation still
//! verifies; a chain for another key is refused at install.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::{Daemon, TOKEN, TestConfig};

fn run(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn idverifd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idverifd")).args(args).output().unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A root CA of the exam authority: an Ed25519 key and a self-signed CA certificate.
fn make_root(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (key, cert) = (dir.join(format!("{name}.key")), dir.join(format!("{name}.pem")));
    run("openssl", &["genpkey", "-algorithm", "ed25519", "-out", path(&key)]);
    run("openssl", &[
        "req", "-x509", "-new", "-key", path(&key), "-subj", &format!("/CN={name}"), "-days", "3650", "-out", path(&cert),
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    (key, cert)
}

/// `keys csr` for the daemon's state, signed by the root with `openssl x509 -req`;
/// returns the chain file (leaf, then root).
fn certify(daemon: &Daemon, root_key: &Path, root_cert: &Path, name: &str) -> std::path::PathBuf {
    let config = path(&daemon.config_path);
    let csr = idverifd(&["keys", "csr", "--config", config, "--subject", "exam-room-12"]);
    assert!(csr.status.success(), "{}", String::from_utf8_lossy(&csr.stderr));
    let csr_path = daemon.dir.join(format!("{name}.csr"));
    std::fs::write(&csr_path, &csr.stdout).unwrap();
    run("openssl", &["req", "-in", path(&csr_path), "-noout", "-verify"]);
    let ext = daemon.dir.join("leaf.ext");
    std::fs::write(&ext, "keyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n").unwrap();
    let leaf = daemon.dir.join(format!("{name}.pem"));
    run("openssl", &[
        "x509", "-req", "-in", path(&csr_path), "-CA", path(root_cert), "-CAkey", path(root_key), "-CAcreateserial",
        "-days", "365", "-extfile", path(&ext), "-out", path(&leaf),
    ]);
    let chain = daemon.dir.join(format!("{name}-chain.pem"));
    let mut text = std::fs::read(&leaf).unwrap();
    text.extend(std::fs::read(root_cert).unwrap());
    std::fs::write(&chain, text).unwrap();
    chain
}

async fn signed_result(daemon: &Daemon, nonce: &str) -> std::path::PathBuf {
    let id = daemon.start_verification(nonce).await["id"].as_str().unwrap().to_string();
    let events = daemon.follow_events(&id, Duration::from_secs(60)).await;
    assert_eq!(events.last().unwrap()["type"], "decision", "{events:?}");
    let r = daemon.client().get(format!("{}/v1/verifications/{id}/result", daemon.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let file = daemon.dir.join(format!("{nonce}.jws"));
    std::fs::write(&file, r.text().await.unwrap()).unwrap();
    file
}

fn verify_ca(root: &Path, result: &Path) -> Output {
    idverifd(&["verify", "--json", "--ca", path(root), path(result)])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_result_verifies_by_the_fleet_ca_alone_before_and_after_a_key_rotation() {
    let mut daemon = Daemon::start("fleet", &TestConfig::default());
    let (root_key, root) = make_root(&daemon.dir, "exam-authority-root");
    let (_, stranger_root) = make_root(&daemon.dir, "another-root");

    // A chain made for another key is refused, and nothing is installed.
    let (_, other) = make_root(&daemon.dir, "not-the-device");
    let refused = idverifd(&["keys", "install-cert", "--config", path(&daemon.config_path), path(&other)]);
    assert_eq!(refused.status.code(), Some(1), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("does not certify"), "{}", String::from_utf8_lossy(&refused.stderr));

    let chain = certify(&daemon, &root_key, &root, "device");
    let installed = idverifd(&["keys", "install-cert", "--config", path(&daemon.config_path), path(&chain)]);
    assert!(installed.status.success(), "{}", String::from_utf8_lossy(&installed.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&installed.stdout).unwrap();
    // The root is the verifier's own trust anchor: results carry the leaf.
    assert_eq!(shown["jwks"]["keys"][0]["x5c"].as_array().map(Vec::len), Some(1), "the JWKS entry carries the chain: {shown}");

    daemon.terminate();
    daemon.launch();
    let before_rotation = signed_result(&daemon, "nonce-fleet-1").await;

    let ours = verify_ca(&root, &before_rotation);
    assert_eq!(ours.status.code(), Some(0), "{}", String::from_utf8_lossy(&ours.stderr));
    let verdict: serde_json::Value = serde_json::from_slice(&ours.stdout).unwrap();
    assert_eq!(verdict["payload"]["nonce"], "nonce-fleet-1");
    assert_eq!(verdict["header"]["x5c"].as_array().map(Vec::len), Some(1));
    println!("JWS header with x5c: {} bytes (base64url)", std::fs::read_to_string(&before_rotation).unwrap().split('.').next().unwrap().len());

    let independent = Command::new("python3")
        .arg(common::repo().join("tests/tools/verify_chain.py"))
        .args([path(&root), path(&before_rotation), "nonce-fleet-1"])
        .output()
        .unwrap();
    assert!(independent.status.success(), "cryptography + joserfc: {}", String::from_utf8_lossy(&independent.stderr));
    assert!(String::from_utf8_lossy(&independent.stdout).contains("exam-room-12"));

    // Another authority's root does not vouch for this device; a changed payload fails.
    assert_eq!(verify_ca(&stranger_root, &before_rotation).status.code(), Some(1));
    let text = std::fs::read_to_string(&before_rotation).unwrap();
    let mut parts: Vec<String> = text.split('.').map(str::to_string).collect();
    let mut payload: serde_json::Value = serde_json::from_slice(&B64.decode(&parts[1]).unwrap()).unwrap();
    payload["decision"] = "verified".into();
    parts[1] = B64.encode(payload.to_string());
    let forged = daemon.dir.join("forged.jws");
    std::fs::write(&forged, parts.join(".")).unwrap();
    assert_eq!(verify_ca(&root, &forged).status.code(), Some(1));

    // Rotation: the installed chain certified the old key and is dropped; the
    // old result still verifies by its own chain; the new key gets its own.
    daemon.terminate();
    let rotated = idverifd(&["keys", "rotate", "--config", path(&daemon.config_path)]);
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    let rotated: serde_json::Value = serde_json::from_slice(&rotated.stdout).unwrap();
    assert!(rotated["jwks"]["keys"][0].get("x5c").is_none(), "no chain for the new key yet: {rotated}");
    let chain = certify(&daemon, &root_key, &root, "device-rotated");
    let installed = idverifd(&["keys", "install-cert", "--config", path(&daemon.config_path), path(&chain)]);
    assert!(installed.status.success(), "{}", String::from_utf8_lossy(&installed.stderr));
    daemon.launch();
    let after_rotation = signed_result(&daemon, "nonce-fleet-2").await;
    for result in [&before_rotation, &after_rotation] {
        let out = verify_ca(&root, result);
        assert_eq!(out.status.code(), Some(0), "{}: {}", result.display(), String::from_utf8_lossy(&out.stderr));
    }
    let kid = |out: &Output| serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["kid"].clone();
    assert_ne!(kid(&verify_ca(&root, &before_rotation)), kid(&verify_ca(&root, &after_rotation)), "signed by two keys");

    // A result signed without a chain says how to verify it instead.
    let plain_dir = common::temp_dir("fleet-plain");
    let plain = Daemon::start("fleet-plain", &TestConfig::default());
    let result = signed_result(&plain, "nonce-fleet-3").await;
    let out = verify_ca(&root, &result);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--jwks"), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(plain_dir).ok();
}
