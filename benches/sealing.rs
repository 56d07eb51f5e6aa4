//! What sealing personal data costs per session. A session as the store sees it:
//! one face JPEG (obama.jpg, a real photo), the record written at each of 40
//! events (stage changes audited), a document of a few hundred bytes, and the
//! decided record with a signed result of about 3 KB. Measured through the real
//! store (sealed, audited, transactional) against plain sled doing the same
//! inserts unsealed, plus the bare cost of the AEAD and key wrapping alone.
//! Prints figures; asserts nothing. Run: `cargo bench --bench sealing`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use idverifd::session::{Decision, EventKind, Language, Outcome, SessionRecord, Stage, StartRequest, Status};
use idverifd::store::{Kek, Store, seal};

const SESSIONS: usize = 40;
const EVENTS: usize = 40;

fn session(i: usize) -> SessionRecord {
    let request = StartRequest {
        reference: format!("reg-{i}"),
        nonce: format!("nonce-bench-{i:08}"),
        language: Language::Kk,
        expected_iin: Some("950101300123".into()),
        guardian_for: None,
        document: None,
    };
    SessionRecord::new(format!("vf_bench_{i:04}"), request)
}

fn document() -> serde_json::Value {
    serde_json::json!({
        "document_type": "kz_id_card", "iin": "950101300123", "iin_valid": true,
        "surname": "ЖУМАБАЕВА", "given_names": "АЙГЕРИМ", "patronymic": "СЕРИККЫЗЫ",
        "birth_date": "1995-01-01", "sex": "F", "document_number": "012345678",
        "expiry_date": "2030-01-01", "nationality": "KAZ", "minor": false, "expired": false,
        "mrz": {"format": "TD1", "lines": ["IDKAZ0123456785950101300123<<<", "9501017F3001019KAZ<<<<<<<<<<<6", "ZHUMABAYEVA<<AIGERIM<<<<<<<<<<"], "valid": true},
    })
}

fn event(i: usize) -> EventKind {
    match i % 4 {
        0 => EventKind::Stage { stage: Stage::FaceCapture },
        1 => EventKind::Status { status: Status::InProgress },
        _ => EventKind::Prompt { prompt: idverifd::session::Prompt::HoldStill, value: None },
    }
}

/// One session through the real store; returns ms.
fn through_store(store: &Store, i: usize, jpeg: &[u8], jws: &str) -> f64 {
    let t = Instant::now();
    let mut record = session(i);
    store.put_session(&record).unwrap();
    store.flush().unwrap();
    for e in 0..EVENTS {
        record.push_event(event(e));
        store.put_session(&record).unwrap();
    }
    store.put_evidence(&record.id, "face", jpeg).unwrap();
    record.document = Some(document());
    record.outcome = Some(Outcome { decision: Decision::NeedsReview, reasons: vec![], checks: vec![] });
    record.push_event(EventKind::Decision { decision: Decision::NeedsReview, reasons: vec![] });
    store.put_decided(&record, jws, None).unwrap();
    t.elapsed().as_secs_f64() * 1000.0
}

/// The same inserts into plain sled, nothing sealed, no audit; returns ms.
fn through_plain_sled(db: &sled::Db, i: usize, jpeg: &[u8], jws: &str) -> f64 {
    let (sessions, evidence, results) =
        (db.open_tree("sessions").unwrap(), db.open_tree("evidence").unwrap(), db.open_tree("results").unwrap());
    let t = Instant::now();
    let mut record = session(i);
    sessions.insert(record.id.as_bytes(), serde_json::to_vec(&record).unwrap()).unwrap();
    db.flush().unwrap();
    for e in 0..EVENTS {
        record.push_event(event(e));
        sessions.insert(record.id.as_bytes(), serde_json::to_vec(&record).unwrap()).unwrap();
    }
    evidence.insert(format!("{}/face", record.id), jpeg).unwrap();
    record.document = Some(document());
    record.push_event(EventKind::Decision { decision: Decision::NeedsReview, reasons: vec![] });
    sessions.insert(record.id.as_bytes(), serde_json::to_vec(&record).unwrap()).unwrap();
    results.insert(record.id.as_bytes(), jws.as_bytes()).unwrap();
    db.flush().unwrap();
    t.elapsed().as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| if e.path().is_dir() { dir_bytes(&e.path()) } else { e.metadata().unwrap().len() })
        .sum()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let jpeg = std::fs::read(root.join("models/media/obama.jpg")).expect("run scripts/setup first");
    let jws = format!("eyJhbGciOiJFZERTQSJ9.{}.{}", "A".repeat(2_900), "S".repeat(86));
    let tmp = std::env::temp_dir().join(format!("idverifd-bench-sealing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);

    // The AEAD and the key wrapping alone, for one session's values.
    let kek = Kek::load(&tmp.join("kek")).unwrap();
    let personal = serde_json::to_vec(&document()).unwrap();
    let record_json = serde_json::to_vec(&session(0)).unwrap();
    let runs = 200;
    let t = Instant::now();
    for _ in 0..runs {
        let (key, wrapped) = kek.new_data_key(b"vf/personal");
        let (rkey, _) = kek.new_data_key(b"vf/result");
        let unwrapped = kek.unwrap_data_key(b"vf/personal", &wrapped).unwrap();
        let face = seal::seal(&key, b"vf/face", &jpeg);
        let _ = seal::open(&unwrapped, b"vf/face", &face).unwrap();
        for _ in 0..EVENTS {
            let k = kek.unwrap_data_key(b"vf/personal", &wrapped).unwrap();
            let _ = seal::seal(&k, b"personal/vf", &personal);
        }
        let _ = seal::seal(&rkey, b"results/vf", jws.as_bytes());
    }
    let crypto_ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);

    let store = Store::open(&tmp.join("sealed"), kek).unwrap();
    let plain = sled::open(tmp.join("plain")).unwrap();
    let (mut sealed_ms, mut plain_ms) = (Vec::new(), Vec::new());
    for i in 0..SESSIONS {
        // Interleaved, so both see the same machine load.
        sealed_ms.push(through_store(&store, i, &jpeg, &jws));
        plain_ms.push(through_plain_sled(&plain, i, &jpeg, &jws));
    }
    store.flush().unwrap();
    plain.flush().unwrap();
    let (sealed, unsealed) = (median(sealed_ms), median(plain_ms));
    println!("one session: {} B face JPEG, {} B document, {} B record, {EVENTS} record writes, {} B result", jpeg.len(), personal.len(), record_json.len(), jws.len());
    println!("AEAD + key wrapping alone: {crypto_ms:.3} ms per session (ChaCha20-Poly1305, ring)");
    println!("store, sealed + audited:   {sealed:.2} ms per session (median of {SESSIONS})");
    println!("plain sled, same inserts:  {unsealed:.2} ms per session");
    println!("difference:                {:.2} ms per session", sealed - unsealed);
    println!("bytes added per sealed value: {} (nonce + tag); per session: 2 wrapped data keys of {} B", seal::OVERHEAD, seal::KEY_LEN + seal::OVERHEAD);
    println!(
        "on disk after {SESSIONS} sessions: sealed store {:.1} MiB (sled's figure {:.1} MiB), plain sled {:.1} MiB",
        dir_bytes(&tmp.join("sealed")) as f64 / 1048576.0,
        store.size_on_disk() as f64 / 1048576.0,
        dir_bytes(&tmp.join("plain")) as f64 / 1048576.0
    );
    drop(store);
    drop(plain);
    let _ = std::fs::remove_dir_all(&tmp);
}
