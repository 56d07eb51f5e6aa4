//! Document reading over a generated set of fictitious ID cards and passport pages
//! (tests/fixtures/gen_documents.py), next to PassportEye (MRZ only) on the same
//! images in the same run. Prints figures; asserts nothing.
//!
//! Run: `cargo bench --bench documents` (PassportEye: `pip install passporteye`;
//! without it only our figures are printed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use idverifd::identity::{self, Date};
use idverifd::vision::{self, reader::DocumentReader};
use serde_json::Value;

const FIELDS: [&str; 8] = ["iin", "surname", "given_names", "patronymic", "birth_date", "document_number", "expiry_date", "sex"];

struct Doc {
    variant: String,
    kind: String,
    images: Vec<PathBuf>,
    truth: Value,
}

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("idverifd-bench-docs-{}", std::process::id()));
    let status = Command::new("python3")
        .arg(repo.join("tests/fixtures/gen_documents.py"))
        .args(["--out", dir.to_str().unwrap(), "--seed", "5", "--count", "6"])
        .status()
        .expect("python3");
    assert!(status.success(), "fixture generator failed");
    let docs = collect(&dir);
    let on: Date = "2026-11-21".parse().unwrap();
    let mut reader = DocumentReader::load(&repo.join("models")).expect("models (run scripts/setup)");

    // Ours: the whole document (front + back for a card), models loaded once.
    let mut stats: BTreeMap<(String, String), Stats> = BTreeMap::new();
    let mut mrz_ms = Vec::new();
    let mut mrz_exact: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for doc in &docs {
        let start = Instant::now();
        let (mut front, mut mrz) = (None, None);
        for path in &doc.images {
            let image = vision::read_image(path).unwrap();
            let t = Instant::now();
            let side = reader.read_side(&image, on).unwrap();
            if path.to_string_lossy().contains("back") || path.to_string_lossy().contains("passport") {
                mrz_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                let e = mrz_exact.entry(doc.variant.clone()).or_default();
                e.1 += 1;
                e.0 += usize::from(side.mrz.as_ref().is_some_and(|m| Value::from(m.lines.clone()) == doc.truth["mrz"]));
            }
            front = front.or(side.front);
            mrz = mrz.or(side.mrz);
        }
        let read = serde_json::to_value(identity::document::assemble(front.as_ref(), mrz.as_ref(), on)).unwrap();
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let s = stats.entry((doc.kind.clone(), doc.variant.clone())).or_default();
        s.ms.push(ms);
        let mut all = true;
        for field in FIELDS {
            let want = if doc.kind == "passport" && (field == "surname" || field == "given_names") {
                doc.truth[format!("{field}_latin")].clone()
            } else if doc.kind == "passport" && field == "patronymic" {
                Value::Null
            } else if field == "iin" {
                doc.truth.get("mrz_iin").cloned().unwrap_or(doc.truth["iin"].clone())
            } else {
                doc.truth[field].clone()
            };
            let ok = read[field] == want;
            *s.fields.entry(field).or_default() += usize::from(ok);
            all &= ok;
        }
        s.exact += usize::from(all);
    }

    println!("idverifd document read — {} documents (seed 5), release build, models loaded once", docs.len());
    println!("{:<10} {:<9} {:>6} {:>9} {:>9} {:>9}  per-field accuracy", "document", "variant", "docs", "exact", "ms p50", "ms p95");
    for ((kind, variant), s) in &stats {
        let fields: Vec<String> = FIELDS.iter().map(|f| format!("{f} {}/{}", s.fields.get(f).unwrap_or(&0), s.ms.len())).collect();
        println!(
            "{:<10} {:<9} {:>6} {:>8.0}% {:>9.1} {:>9.1}  {}",
            kind,
            variant,
            s.ms.len(),
            100.0 * s.exact as f64 / s.ms.len() as f64,
            percentile(&s.ms, 0.5),
            percentile(&s.ms, 0.95),
            fields.join(", ")
        );
    }
    println!("MRZ side (find, flatten, read the back or passport page): p50 {:.1} ms, p95 {:.1} ms over {} images", percentile(&mrz_ms, 0.5), percentile(&mrz_ms, 0.95), mrz_ms.len());
    for (variant, (ok, n)) in &mrz_exact {
        println!("  idverifd MRZ exact, {variant}: {ok}/{n}");
    }
    // As installed, Tesseract spreads over OpenMP threads; with one thread it
    // is faster on these two cores. Both are printed so neither flatters us.
    passporteye(&repo, &docs, percentile(&mrz_ms, 0.5), None);
    passporteye(&repo, &docs, percentile(&mrz_ms, 0.5), Some("1"));
    let _ = std::fs::remove_dir_all(dir);
}

#[derive(Default)]
struct Stats {
    ms: Vec<f64>,
    exact: usize,
    fields: BTreeMap<&'static str, usize>,
}

fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Every ID card as a front+back pair and every passport page, with its truth.
fn collect(dir: &Path) -> Vec<Doc> {
    let index: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    let truth = |name: &str| -> Value { serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap()).unwrap() };
    let mut docs = Vec::new();
    for case in index["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let t = truth(name);
        let variant = t["variant"].as_str().unwrap().to_string();
        match (t["document_type"].as_str().unwrap(), t["side"].as_str().unwrap()) {
            ("kz_id_card", "front") => {
                let back_name = name.replace("_front_", "_back_");
                let back = truth(&back_name);
                docs.push(Doc {
                    variant,
                    kind: "id_card".into(),
                    images: vec![dir.join(t["image"].as_str().unwrap()), dir.join(back["image"].as_str().unwrap())],
                    truth: back,
                });
            }
            ("passport", _) => docs.push(Doc { variant, kind: "passport".into(), images: vec![dir.join(t["image"].as_str().unwrap())], truth: t }),
            _ => {}
        }
    }
    docs
}

/// PassportEye on the same MRZ images, in the same run; `omp_threads` sets
/// OMP_THREAD_LIMIT for its Tesseract.
fn passporteye(repo: &Path, docs: &[Doc], our_p50: f64, omp_threads: Option<&str>) {
    let images: Vec<(&Doc, &PathBuf)> = docs.iter().map(|d| (d, d.images.last().unwrap())).collect();
    let mut command = Command::new("python3");
    command.arg(repo.join("tests/tools/passporteye_mrz.py")).args(images.iter().map(|(_, p)| p.as_os_str()));
    match omp_threads {
        Some(n) => command.env("OMP_THREAD_LIMIT", n),
        None => command.env_remove("OMP_THREAD_LIMIT"),
    };
    let setting = omp_threads.map_or("as installed".to_string(), |n| format!("OMP_THREAD_LIMIT={n}"));
    let out = command.output();
    let Some(out) = out.ok().filter(|o| o.status.success()) else {
        println!("PassportEye: not installed (pip install passporteye) — no comparison");
        return;
    };
    let mut ms = Vec::new();
    let mut exact: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for ((doc, _), line) in images.iter().zip(String::from_utf8_lossy(&out.stdout).lines()) {
        let v: Value = serde_json::from_str(line).unwrap();
        ms.push(v["ms"].as_f64().unwrap());
        let e = exact.entry(doc.variant.clone()).or_default();
        e.1 += 1;
        e.0 += usize::from(v["lines"] == doc.truth["mrz"]);
    }
    let pe_p50 = percentile(&ms, 0.5);
    println!("PassportEye MRZ ({setting}): p50 {:.1} ms, p95 {:.1} ms over {} images", pe_p50, percentile(&ms, 0.95), ms.len());
    for (variant, (ok, n)) in &exact {
        println!("  PassportEye MRZ exact, {variant}: {ok}/{n}");
    }
    println!("MRZ speed-up over PassportEye {setting} (median): {:.1}x", pe_p50 / our_p50);
}
