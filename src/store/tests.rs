use std::time::Duration;

use super::*;
use crate::record::{Decision, Language, Outcome, StartRequest, Status};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("idverifd-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn record(id: &str) -> SessionRecord {
    SessionRecord::new(
        id.into(),
        StartRequest {
            reference: "r".into(),
            nonce: format!("nonce-{id}"),
            language: Language::Ru,
            expected_iin: Some("950101300123".into()),
            guardian_for: None,
            document: None,
        },
    )
}

fn decided(id: &str, created_unix: u64) -> SessionRecord {
    let mut r = record(id);
    r.created_unix = created_unix;
    r.document = Some(serde_json::json!({"surname": "ZHUMABAYEVA", "iin": "950101300123"}));
    r.outcome = Some(Outcome { decision: Decision::NeedsReview, reasons: vec![], checks: vec![] });
    r.status = Status::Decided;
    r
}

fn actions(store: &Store) -> Vec<String> {
    store.audit_entries().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect()
}

/// sled's flusher thread may hold the file lock a moment after the first handle
/// is dropped (a restarted process never sees this).
fn reopen(dir: &std::path::Path, kek_file: &std::path::Path) -> Store {
    (0..50)
        .find_map(|_| {
            Store::open(dir, Kek::load(kek_file).unwrap()).ok().or_else(|| {
                std::thread::sleep(Duration::from_millis(50));
                None
            })
        })
        .expect("reopen")
}

#[test]
fn decided_result_survives_reopen_and_unfinished_sessions_become_interrupted() {
    let dir = temp_dir("reopen");
    let kek = dir.join("kek");
    {
        let store = Store::open(&dir.join("db"), Kek::load(&kek).unwrap()).unwrap();
        store.put_decided(&decided("a", 1), "h.p.s", None).unwrap();
        store.put_session(&record("b")).unwrap();
        store.flush().unwrap();
    }
    let store = reopen(&dir.join("db"), &kek);
    assert_eq!(store.get_result("a").unwrap().as_deref(), Some("h.p.s"));
    assert_eq!(store.get_session("a").unwrap().unwrap().document.unwrap()["surname"], "ZHUMABAYEVA");
    assert_eq!(store.interrupt_unfinished().unwrap(), vec!["b".to_string()]);
    let b = store.get_session("b").unwrap().unwrap();
    assert_eq!(b.status, Status::Interrupted);
    assert_eq!(b.request.expected_iin.as_deref(), Some("950101300123"), "personal fields survive the interruption");
    assert_eq!(store.get_session("a").unwrap().unwrap().status, Status::Decided);
    let actions = actions(&store);
    assert_eq!(actions, ["decided:needs_review", "session_interrupted"]);
    drop(store);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn another_kek_is_refused() {
    let dir = temp_dir("otherkek");
    drop(Store::open(&dir.join("db"), Kek::load(&dir.join("kek")).unwrap()).unwrap());
    std::thread::sleep(Duration::from_millis(100));
    let err = (0..50)
        .find_map(|_| match Store::open(&dir.join("db"), Kek::load(&dir.join("kek2")).unwrap()) {
            Err(StoreError::Open { reason, .. }) if reason.contains("lock") => {
                std::thread::sleep(Duration::from_millis(50));
                None
            }
            other => Some(other),
        })
        .unwrap();
    assert!(matches!(&err, Err(StoreError::Open { reason, .. }) if reason.contains("another key-encryption key")), "{:?}", err.err());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn nonces_are_single_use() {
    let dir = temp_dir("nonce");
    let store = Store::open(&dir, Kek::for_tests()).unwrap();
    assert!(store.claim_nonce("n-12345678", "a").unwrap());
    assert!(!store.claim_nonce("n-12345678", "b").unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn nothing_personal_is_stored_in_the_clear() {
    let dir = temp_dir("clear");
    let store = Store::open(&dir, Kek::for_tests()).unwrap();
    let r = decided("vf_clear", 1);
    store.put_decided(&r, "eyJ.ZHUMABAYEVA-in-a-jws.sig", None).unwrap();
    store.put_evidence("vf_clear", "face", b"\xFF\xD8\xFF\xE0 a face").unwrap();
    let mut stored: Vec<(String, Vec<u8>)> = Vec::new();
    for tree in store.t().unwrap().db.tree_names() {
        for (k, v) in store.t().unwrap().db.open_tree(&tree).unwrap().iter().map(Result::unwrap) {
            stored.push((String::from_utf8_lossy(&k).into_owned(), v.to_vec()));
        }
    }
    let face = store.evidence.read("vf_clear", "face").unwrap().expect("the face as a file");
    stored.push(("evidence/vf_clear/face.sealed".into(), face));
    for (k, v) in &stored {
        for needle in [b"950101300123".as_slice(), b"ZHUMABAYEVA", b"\xFF\xD8\xFF"] {
            assert!(!v.windows(needle.len()).any(|w| w == needle), "{:?} in {k:?}", String::from_utf8_lossy(needle));
        }
    }
    assert_eq!(store.get_evidence("vf_clear", "face").unwrap().unwrap(), b"\xFF\xD8\xFF\xE0 a face");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn purge_runs_on_two_clocks_and_forgets_the_keys() {
    let dir = temp_dir("purge");
    let store = Store::open(&dir, Kek::for_tests()).unwrap();
    store.put_decided(&decided("old", 1_000), "h.p.s", None).unwrap();
    store.put_evidence("old", "face", b"jpeg").unwrap();
    let sealed_evidence = store.evidence.read("old", "face").unwrap().unwrap();
    let mut running = record("running");
    running.created_unix = 1_000;
    store.put_session(&running).unwrap();
    let retention = Retention { personal: Duration::from_secs(60), result: Duration::from_secs(1_800) };

    let plan = store.purge_plan(&retention, 2_000);
    assert_eq!(plan, vec![PurgeItem { session: "old".into(), what: retention::PurgeKind::PersonalData, age_seconds: 1_000 }]);
    let report = store.purge_expired(&retention, 2_000, &Actor::System).unwrap();
    assert_eq!((report.personal_data, report.signed_results), (1, 0));
    let old = store.get_session("old").unwrap().unwrap();
    assert!(old.purged && old.request.expected_iin.is_none() && old.document.is_none());
    assert!(store.get_evidence("old", "face").unwrap().is_none());
    assert!(!dir.join("evidence/old").exists(), "the evidence files are gone");
    assert!(store.data_key("old", KeyPurpose::Personal).unwrap().is_none(), "the key is gone");
    assert_eq!(store.get_result("old").unwrap().as_deref(), Some("h.p.s"), "the result is on the longer clock");
    assert!(store.get_session("running").unwrap().unwrap().request.expected_iin.is_some());
    // The sealed bytes, wherever they linger, open under no key the store holds.
    for (_, wrapped) in store.t().unwrap().data_keys.iter().map(Result::unwrap) {
        for slot in [b"old/personal".as_slice(), b"old/result", b"running/personal"] {
            if let Ok(key) = store.kek.as_ref().unwrap().unwrap_data_key(slot, &wrapped) {
                assert!(seal::open(&key, b"old/face", &sealed_evidence).is_err());
            }
        }
    }

    let report = store.purge_expired(&retention, 1_000 + 1_800, &Actor::System).unwrap();
    assert_eq!((report.personal_data, report.signed_results), (0, 1));
    let old = store.get_session("old").unwrap().unwrap();
    assert!(old.result_purged);
    assert_eq!(old.result_sha256.as_deref(), Some(hex::encode(Sha256::digest(b"h.p.s")).as_str()));
    assert!(store.get_result("old").unwrap().is_none());
    let actions = actions(&store);
    assert!(actions.ends_with(&["personal_data_purged".to_string(), "signed_result_purged".to_string()]), "{actions:?}");
    assert_eq!(store.audit_verify(&crate::signing::Jwks::default()).unwrap().entries, actions.len() as u64);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_undecodable_record_is_quarantined_and_the_purge_goes_on() {
    let dir = temp_dir("quarantine");
    let store = Store::open(&dir, Kek::for_tests()).unwrap();
    store.put_decided(&decided("good", 1_000), "h.p.s", None).unwrap();
    store.t().unwrap().sessions.insert(b"bad", br#"{"id":"bad","status":"renamed_status"}"#.as_slice()).unwrap();
    let retention = Retention { personal: Duration::from_secs(1), result: Duration::from_secs(1) };
    let report = store.purge_expired(&retention, 5_000, &Actor::System).unwrap();
    assert_eq!(report.personal_data, 1);
    let q = store.quarantined();
    assert_eq!(q.len(), 1);
    assert_eq!((q[0].tree.as_str(), q[0].key.as_str()), ("sessions", "bad"));
    assert!(store.get_session("bad").unwrap().is_none());
    assert!(store.audit_entries().iter().any(|e| e["action"] == "record_quarantined:sessions"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn checkpoints_are_signed_and_verified() {
    let dir = temp_dir("checkpoint");
    let keys = crate::signing::DeviceKeys::load_or_create(&dir.join("keys")).unwrap();
    let store = Store::open(&dir.join("db"), Kek::for_tests()).unwrap();
    store.audit("vf_1", "session_started");
    assert_eq!(store.checkpoint(&keys).unwrap(), Some(1));
    assert_eq!(store.checkpoint(&keys).unwrap(), None, "nothing new to sign");
    store.audit("vf_1", "consent_given");
    let verified = store.audit_verify(&keys.jwks()).unwrap();
    assert_eq!((verified.entries, verified.checkpoints, verified.unsigned_tail), (2, 1, 1));
    assert!(store.audit_verify(&crate::signing::Jwks::default()).is_err(), "a checkpoint by an unknown key fails");
    // The signed entry removed with its successor rewritten to link past it.
    store.t().unwrap().audit.remove(audit::seq_key(2)).unwrap();
    store.t().unwrap().audit.remove(audit::seq_key(1)).unwrap();
    let err = store.audit_verify(&keys.jwks()).unwrap_err();
    assert_eq!(err.seq, 1, "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn damaged_sealed_personal_fields_are_quarantined_and_the_record_still_reads() {
    let dir = temp_dir("damaged-personal");
    let store = Store::open(&dir, Kek::for_tests()).unwrap();
    store.put_decided(&decided("vf_d", 1_000), "h.p.s", None).unwrap();
    let personal = store.t().unwrap().personal.clone();
    let mut sealed = personal.get(b"vf_d").unwrap().unwrap().to_vec();
    sealed[20] ^= 0x40;
    personal.insert(b"vf_d", sealed).unwrap();
    let record = store.get_session("vf_d").unwrap().unwrap();
    assert_eq!((record.status, record.document.is_none()), (Status::Decided, true));
    let q = store.quarantined();
    assert_eq!((q.len(), q[0].tree.as_str(), q[0].reason.as_str()), (1, "personal", "sealed value does not open"));
    assert!(store.interrupt_unfinished().unwrap().is_empty(), "start-up goes on");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_webhook_is_stored_with_its_decision_sealed_and_goes_with_the_result() {
    use outbox::{DeliveryMeta, DeliveryState, NewDelivery};
    let dir = temp_dir("outbox");
    let store = Store::open(&dir, Kek::for_tests()).unwrap();
    let jws = "eyJ.ZHUMABAYEVA-in-a-jws.sig";
    let meta = DeliveryMeta {
        id: "msg_a".into(),
        session: "vf_o".into(),
        event: "verification.decided".into(),
        version: 1,
        created_at: "2026-11-21T10:00:00Z".into(),
        created_unix_ms: 1_000_000,
        state: DeliveryState::Pending,
        attempts: 0,
        next_attempt_unix_ms: 1_000_000,
        last_status: None,
        last_error: None,
        delivered_at: None,
    };
    let delivery = NewDelivery { meta, body: format!("{{\"result\":\"{jws}\"}}").into_bytes(), personal: true };
    store.put_decided(&decided("vf_o", 1_000), jws, Some(&delivery)).unwrap();
    for tree in store.t().unwrap().db.tree_names() {
        for (k, v) in store.t().unwrap().db.open_tree(&tree).unwrap().iter().map(Result::unwrap) {
            assert!(!v.windows(11).any(|w| w == b"ZHUMABAYEVA"), "in the clear in {:?}", String::from_utf8_lossy(&k));
        }
    }
    assert_eq!(store.delivery_body("msg_a").unwrap().unwrap(), delivery.body);
    assert_eq!(store.outbox_counts(), outbox::OutboxCounts { pending: 1, delivered: 0, given_up: 0 });

    let mut given_up = store.delivery("msg_a").unwrap().unwrap();
    given_up.state = DeliveryState::GivenUp;
    store.update_delivery(&given_up).unwrap();
    assert_eq!(actions(&store).last().unwrap(), "webhook_given_up:msg_a");
    let retried = store.retry_delivery("msg_a", 2_000_000).unwrap().unwrap();
    assert_eq!((retried.state, retried.attempts, retried.next_attempt_unix_ms), (DeliveryState::Pending, 0, 2_000_000));
    assert_eq!(actions(&store).last().unwrap(), "webhook_retry_requested:msg_a");
    assert!(store.retry_delivery("msg_nope", 0).unwrap().is_none());

    let retention = Retention { personal: Duration::from_secs(60), result: Duration::from_secs(60) };
    store.purge_expired(&retention, 10_000, &Actor::System).unwrap();
    assert!(store.delivery_body("msg_a").unwrap().is_none(), "the body carried the result: purged with it");
    assert!(store.delivery("msg_a").unwrap().is_none(), "and the outbox forgets the delivery");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn evidence_an_older_version_kept_in_the_database_moves_to_files_and_still_opens() {
    let dir = temp_dir("legacy-evidence");
    let kek = dir.join("kek");
    {
        let store = Store::open(&dir.join("db"), Kek::load(&kek).unwrap()).unwrap();
        store.put_session(&record("vf_old")).unwrap();
        // As an older version stored it: sealed, in the `evidence` tree.
        let key = store.transact(None, |tx| store.data_key_tx(tx, "vf_old", KeyPurpose::Personal)).unwrap();
        let sealed = seal::seal(&key, b"vf_old/face", b"\xFF\xD8\xFF old face");
        store.t().unwrap().evidence.insert(b"vf_old/face", sealed).unwrap();
        store.flush().unwrap();
    }
    let store = reopen(&dir.join("db"), &kek);
    assert!(store.t().unwrap().evidence.is_empty(), "moved out of the database");
    assert!(dir.join("db/evidence/vf_old/face.sealed").exists());
    assert_eq!(store.get_evidence("vf_old", "face").unwrap().as_deref(), Some(b"\xFF\xD8\xFF old face".as_slice()));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_damaged_evidence_file_is_reported_without_its_content_and_a_keyless_one_is_swept() {
    let dir = temp_dir("evidence-files");
    let store = Store::open(&dir, Kek::for_tests()).unwrap();
    store.put_session(&record("vf_e")).unwrap();
    store.put_evidence("vf_e", "face", b"\xFF\xD8\xFF a face").unwrap();
    let path = dir.join("evidence/vf_e/face.sealed");
    let mut sealed = std::fs::read(&path).unwrap();
    sealed[20] ^= 0x40;
    std::fs::write(&path, &sealed).unwrap();
    let err = store.get_evidence("vf_e", "face").unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert_eq!(err.to_string(), "stored record evidence/vf_e/face is unreadable: does not open");
    assert!(store.evidence.read("vf_e", "face").unwrap().is_some(), "kept as it is for a technician");

    // A name that is no file name is refused, and the store carries on.
    assert!(matches!(store.put_evidence("../vf_e", "face", b"x"), Err(StoreError::BadName(_))));
    store.put_session(&record("vf_after")).unwrap();

    // Written just before a crash that lost its key, or left by a failed removal.
    store.evidence.write("vf_gone", "face", b"noise").unwrap();
    let retention = Retention { personal: Duration::from_secs(60), result: Duration::from_secs(60) };
    store.purge_expired(&retention, 10, &Actor::System).unwrap();
    assert!(!dir.join("evidence/vf_gone").exists(), "swept");
    assert!(path.exists(), "a running session's evidence stays");
    std::fs::remove_dir_all(dir).unwrap();
}
