//! `idverifd document read` over fictitious documents rendered by
//! tests/fixtures/gen_documents.py (real fonts, MRZ checked by the independent
//! `mrz` package, photographed-like degradations), judged against their ground truth.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::documents::{assert_read_as_printed, codes, images_in, read, render, side_images, truth_in};
use serde_json::Value;

const FIELDS: [&str; 8] = ["iin", "surname", "given_names", "patronymic", "birth_date", "document_number", "expiry_date", "sex"];

/// Renders the document set once per test binary (deterministic seed), in the
/// generator's fixed (classic) layout: the randomised splits are measured by
/// `cargo bench --bench documents`.
fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| render("documents", &["--seed", "11", "--count", "2", "--classic"]))
}

fn truth(name: &str) -> Value {
    truth_in(fixtures(), name)
}

/// A randomised split (other fonts, layouts, label texts, framings: see
/// tests/fixtures/README.md), rendered once per test binary.
fn split(name: &'static str) -> &'static Path {
    static TUNE: OnceLock<PathBuf> = OnceLock::new();
    static HELDOUT: OnceLock<PathBuf> = OnceLock::new();
    let cell = if name == "tune" { &TUNE } else { &HELDOUT };
    cell.get_or_init(|| render(&format!("documents-{name}"), &["--seed", "21", "--count", "2", "--no-special", "--split", name]))
}

/// Codes that accuse a document of disagreeing with itself.
const ACCUSING: [&str; 8] = [
    "mrz_check_digit",
    "iin_check_digit",
    "iin_invalid",
    "iin_mismatch",
    "birth_date_mismatch",
    "iin_birth_date_mismatch",
    "iin_sex_mismatch",
    "name_mismatch",
];

fn image(name: &str) -> PathBuf {
    fixtures().join(truth(name)["image"].as_str().unwrap())
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
fn passport_pages_are_read_from_their_td3_mrz_and_printed_zone() {
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
        // The visual zone is read like a card front: Cyrillic names and the
        // patronymic, which the MRZ does not carry. On the photographed page a
        // name may stay the MRZ's Latin form, never another.
        for field in ["surname", "given_names", "patronymic"] {
            let latin = t.get(format!("{field}_latin")).cloned().unwrap_or(Value::Null);
            let fallback = if field == "patronymic" { got[field].is_null() } else { got[field] == latin };
            let ok = got[field] == t[field] || (variant == "moderate" && fallback);
            assert!(ok, "{name}: {field} read {}", got[field]);
        }
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

/// Every document of a randomised split, as (name, images, truth).
fn documents(dir: &Path) -> Vec<(String, Vec<PathBuf>, Value)> {
    let index: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    let mut docs = Vec::new();
    for case in index["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        if name.contains("_back_") {
            continue;
        }
        let t = truth_in(dir, name);
        let mut images = vec![dir.join(t["image"].as_str().unwrap())];
        if name.contains("_front_") {
            images.push(dir.join(truth_in(dir, &name.replace("_front_", "_back_"))["image"].as_str().unwrap()));
        }
        docs.push((name.to_string(), images, t));
    }
    docs
}

#[test]
fn other_fonts_layouts_and_framings_never_give_a_wrong_value_or_a_false_alarm() {
    // Tuning and held-out splits alike, names with Kazakh letters among them: a
    // field is exact, or (a printed name) the MRZ's Latin form, or unread and
    // said to be; an honest document is never accused. The hard variant may
    // lose fields but not invent them.
    let mut exact = 0;
    let mut total = 0;
    for name in ["tune", "heldout"] {
        for (doc, images, t) in documents(split(name)) {
            let (_, got) = read(&images);
            let problems = codes(&got);
            let unread = problems.iter().any(|c| c == "unreadable_field");
            let hard = doc.ends_with("_hard");
            let mut all = true;
            for field in FIELDS {
                let want = expected(&t, field);
                // The MRZ's own Latin form, cut short where its name field is full.
                let latin = t.get(format!("mrz_{field}")).cloned().unwrap_or(Value::Null);
                let ok = got[field] == want;
                all &= ok;
                // A patronymic not found cannot be told from one not printed.
                let unseen = got[field].is_null() && (unread || hard || field == "patronymic");
                // Known limit: on the hard photo the MRZ may misread a letter of a name,
                // which no check digit covers and no printed read contradicts.
                let hard_mrz_name = hard && matches!(field, "surname" | "given_names");
                let tolerated = ok || (got[field] == latin && !latin.is_null()) || unseen || hard_mrz_name;
                assert!(tolerated, "{name}/{doc}: {field} read {} (truth {want})", got[field]);
            }
            assert!(!problems.iter().any(|c| ACCUSING.contains(&c.as_str())), "{name}/{doc}: {problems:?}");
            exact += usize::from(all);
            total += 1;
        }
    }
    eprintln!("randomised documents read exactly: {exact}/{total}");
}

#[test]
fn a_flatbed_scan_of_a_passport_page_filling_the_image_is_read() {
    let mut seen = 0;
    for name in ["tune", "heldout"] {
        for (doc, images, t) in documents(split(name)) {
            if t["capture"]["framing"]["mode"] != "flatbed_full_page" {
                continue;
            }
            seen += 1;
            let (_, got) = read(&images);
            assert_eq!(got["document_type"], "passport", "{name}/{doc}");
            assert_eq!(got["mrz"]["lines"], t["mrz"], "{name}/{doc}");
            for field in ["iin", "birth_date", "document_number", "expiry_date", "sex", "patronymic"] {
                assert_eq!(got[field], t[field], "{name}/{doc}: {field}");
            }
        }
    }
    assert!(seen >= 2, "the splits hold {seen} flatbed passport scans");
}

#[test]
fn a_passport_page_photographed_open_on_a_desk_is_found_by_its_mrz() {
    // The booklet's facing page hides the data page's outline: the page is found
    // around its MRZ instead, wherever it lies in the photo.
    let mut seen = 0;
    for name in ["tune", "heldout"] {
        for (doc, images, t) in documents(split(name)) {
            if t["capture"]["framing"]["mode"] != "desk_open_booklet" || doc.ends_with("_hard") {
                continue;
            }
            seen += 1;
            let (_, got) = read(&images);
            assert_eq!(got["document_type"], "passport", "{name}/{doc}");
            assert_eq!(got["mrz"]["lines"], t["mrz"], "{name}/{doc}");
            for field in ["iin", "birth_date", "document_number", "expiry_date", "sex"] {
                assert_eq!(got[field], t[field], "{name}/{doc}: {field}");
            }
        }
    }
    assert!(seen >= 1, "the splits hold {seen} passport pages photographed open on a desk");
}

/// The first people of the benchmark's tuning split (seed 5). The first: a
/// surname opening with a bold Щ, which Tesseract's Kazakh model reads as Ш
/// every way it is shown, and a passport page scanned flat whose small two-line
/// labels do not read. The second: a card front scanned 7 degrees askew. The
/// third: a passport page scanned flat whose MRZ rows sit close together.
fn first_tuning_person() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| render("documents-seed5", &["--seed", "5", "--count", "3", "--no-special", "--split", "tune"]))
}

#[test]
fn a_passport_pages_printed_birth_date_is_read_under_its_own_label() {
    // This page prints its nationality in letters smaller than a value of ours, so
    // the first larger line under the nationality label is the birth date beside
    // it. Once that label was read, the birth date's own label was passed over,
    // and the place of birth's label (ТУҒАН ЖЕРІ, read by its first word ТУҒАН)
    // took the date of issue for the birth date: the clean page came out with
    // "the birth date printed on the front could not be read with certainty".
    let dir = first_tuning_person();
    let t = truth_in(dir, "p02_passport_page_clean");
    let (code, got) = read(&[dir.join(t["image"].as_str().unwrap())]);
    assert_eq!(code, 0, "{:?}", codes(&got));
    assert!(codes(&got).is_empty(), "a clean page reports no problem: {:?}", codes(&got));
    assert_read_as_printed(&got, &t, &["surname", "given_names", "patronymic", "iin", "birth_date"]);
}

#[test]
fn an_mrz_under_a_glare_spot_is_read() {
    // Photographed tilted with a lamp's reflection over the zone: the print under
    // the glare is paler than the paper elsewhere, and one threshold over the band
    // lost it. The glyph reader was unsure, and Tesseract read one card's first
    // row only to its middle and the other's not at all: neither card's MRZ read.
    let dir = first_tuning_person();
    for side in ["p01_id_back_hard", "p03_id_back_hard"] {
        let t = truth_in(dir, side);
        let (_, got) = read(&[dir.join(t["image"].as_str().unwrap())]);
        assert_eq!(got["mrz"]["lines"], t["mrz"], "{side}");
        assert_eq!(got["document_number"], t["document_number"], "{side}");
    }
}

#[test]
fn a_name_the_first_read_gets_wrong_is_read_again_until_it_agrees_with_the_mrz() {
    let dir = first_tuning_person();
    let t = truth_in(dir, "p01_id_front_clean");
    assert!(t["surname"].as_str().unwrap().starts_with('Щ'), "the premise: a surname opening with Щ, got {}", t["surname"]);
    let images = images_in(dir, ["p01_id_front_clean", "p01_id_back_clean"]);
    let (code, got) = read(&images);
    // Checked against the back's MRZ (SHCH), re-read by another model: the card's own spelling.
    assert_eq!((&got["surname"], &got["given_names"]), (&t["surname"], &t["given_names"]));
    assert_eq!(code, 0, "{:?}", codes(&got));
    assert!(got["disagreements"].as_array().unwrap().is_empty(), "{}", got["disagreements"]);
}

#[test]
fn a_tail_every_read_loses_is_restored_when_the_mrz_and_the_image_both_show_it() {
    // Photographed (moderate), the Щ of ЩЕРБАЕВА reads as Ш in every look and by
    // both models; its tail is in the image and SHCH in the MRZ.
    let dir = first_tuning_person();
    for sides in [&["p01_id_front_moderate", "p01_id_back_moderate"][..], &["p01_passport_page_moderate"]] {
        let t = truth_in(dir, sides[0]);
        assert!(t["surname"].as_str().unwrap().starts_with('Щ'), "the premise: {}", t["surname"]);
        let images = side_images(dir, sides);
        let (code, got) = read(&images);
        assert_eq!(got["surname"], t["surname"], "{}", sides[0]);
        assert_eq!(code, 0, "{}: {:?}", sides[0], codes(&got));
    }
}

#[test]
fn printed_names_whose_labels_do_not_read_are_found_by_what_the_mrz_says_they_are() {
    let dir = first_tuning_person();
    let t = truth_in(dir, "p01_passport_page_clean");
    let (code, got) = read(&[dir.join(t["image"].as_str().unwrap())]);
    assert_eq!(got["document_type"], "passport");
    // In Cyrillic as printed, not the MRZ's Latin form.
    assert_read_as_printed(&got, &t, &["surname", "given_names", "patronymic"]);
    assert_eq!(code, 0, "{:?}", codes(&got));
}

/// Tuning seed 37: its sixth person's surname has a hard sign, ПОДЪЯЧЕВА.
fn tuning_seed37() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| render("documents-seed37", &["--seed", "37", "--count", "6", "--no-special", "--split", "tune"]))
}

#[test]
fn a_hard_sign_no_mrz_tells_from_a_soft_one_is_read_as_printed() {
    // The MRZ spells ПОДЪЯЧЕВА and ПОДЬЯЧЕВА alike (PODIACHEVA), and the Kazakh
    // model reads the hard sign's flag as nothing, even on a clean scan.
    let dir = tuning_seed37();
    for sides in [&["p06_passport_page_clean"][..], &["p06_id_front_moderate", "p06_id_back_moderate"]] {
        let t = truth_in(dir, sides[0]);
        assert!(t["surname"].as_str().unwrap().contains('Ъ'), "the premise: {}", t["surname"]);
        let images = side_images(dir, sides);
        let (_, got) = read(&images);
        assert_eq!(got["surname"], t["surname"], "{}", sides[0]);
    }
}

#[test]
fn a_passport_page_and_a_card_photographed_small_and_out_of_focus_have_their_mrz_read() {
    // Tuning seed 23, p04: a booklet photographed at a slant, its MRZ 10 px a glyph
    // with its number row blurred into runs (no zone was found: the rows counted
    // 40 and 42 glyphs), and a card as blurred, whose MRZ no glyph matched surely.
    let dir = render("documents-seed23", &["--seed", "23", "--count", "4", "--no-special", "--split", "tune"]);
    for sides in [&["p04_passport_page_hard"][..], &["p04_id_front_hard", "p04_id_back_hard"]] {
        let t = truth_in(&dir, sides[0]);
        let (_, got) = read(&side_images(&dir, sides));
        assert_eq!(got["mrz"]["valid"], true, "{}: {}", sides[0], got["mrz"]);
        for field in ["iin", "birth_date", "document_number", "expiry_date", "sex"] {
            assert_eq!(got[field], expected(&t, field), "{}: {field}", sides[0]);
        }
        assert!(codes(&got).iter().all(|c| !ACCUSING.contains(&c.as_str())), "{}: {:?}", sides[0], codes(&got));
    }
}

#[test]
fn a_blurred_mrz_read_with_one_slip_still_gives_the_iin_and_birth_date_its_check_digits_vouch_for() {
    // Tuning seed 61, p03: a booklet photographed small and out of focus. The
    // blurred-print glyphs read its MRZ but for two slips (A as X in KAZ, 3 as 5
    // in the number's check digit), the IIN and birth date passing their own
    // check digits and agreeing; Tesseract read worse. The page was taken for
    // a card front and nothing was read.
    let dir = render("documents-seed61", &["--seed", "61", "--count", "3", "--no-special", "--split", "tune"]);
    let t = truth_in(&dir, "p03_passport_page_hard");
    let (_, got) = read(&side_images(&dir, &["p03_passport_page_hard"]));
    assert_eq!(got["document_type"], "passport");
    for field in ["iin", "birth_date"] {
        assert_eq!(got[field], expected(&t, field), "{field}");
    }
    // What the slips leave unvouched is not given, and nothing is accused.
    for field in ["document_number", "expiry_date", "surname", "given_names"] {
        assert!(got[field].is_null() || got[field] == expected(&t, field), "{field}: {}", got[field]);
    }
    assert!(codes(&got).iter().all(|c| !ACCUSING.contains(&c.as_str())), "{:?}", codes(&got));
}

#[test]
fn names_a_search_for_the_iin_read_are_taken_without_reading_them_again() {
    // Tuning seed 41, p02: a page photographed blurred, whose labels read as
    // nothing. Looking for the IIN among lines shaped for twelve digits, the
    // digits look read the given name and the patronymic exactly; the name looks
    // that followed read КСКИЦИЯ and noise, and the page gave the given name in
    // the MRZ's Latin form and said its patronymic was not known.
    let dir = render("documents-seed41", &["--seed", "41", "--count", "2", "--no-special", "--split", "tune"]);
    let t = truth_in(&dir, "p02_passport_page_moderate");
    let (_, got) = read(&side_images(&dir, &["p02_passport_page_moderate"]));
    assert_read_as_printed(&got, &t, &["given_names", "patronymic"]);
    assert!(codes(&got).iter().all(|c| !ACCUSING.contains(&c.as_str())), "{:?}", codes(&got));
}

#[test]
fn a_patronymic_printed_and_misread_is_not_known_and_one_not_printed_is_none() {
    // Tuning seed 29, p02, a hard card: ЯКОВЛЕВНА under the given names reads as
    // ФХОАЛЕЕНА and noise at every look. The card said nothing, as if it gave
    // no patronymic; p01 gives none, and its card and page must not say "not known".
    let dir = tuning_seed29();
    let t = truth_in(dir, "p02_id_front_hard");
    assert!(t["patronymic"].is_string(), "the premise: {}", t["patronymic"]);
    let (_, got) = read(&side_images(dir, &["p02_id_front_hard", "p02_id_back_hard"]));
    assert!(got["patronymic"].is_null() || got["patronymic"] == t["patronymic"], "{}", got["patronymic"]);
    let said_unknown = |got: &Value| got["problems"].as_array().unwrap().iter().any(|p| p["message"].as_str().unwrap().contains("patronymic"));
    assert!(got["patronymic"] == t["patronymic"] || said_unknown(&got), "{}", got["problems"]);
    for sides in [&["p01_id_front_hard", "p01_id_back_hard"][..], &["p01_passport_page_clean"]] {
        assert!(truth_in(dir, sides[0])["patronymic"].is_null(), "the premise: {} gives none", sides[0]);
        let (_, got) = read(&side_images(dir, sides));
        assert!(got["patronymic"].is_null() && !said_unknown(&got), "{}: {} {}", sides[0], got["patronymic"], got["problems"]);
    }
}

/// Tuning seed 29: its first two people's IINs are printed in PT Sans Narrow,
/// whose 3 the Kazakh model reads as 5 at every look.
fn tuning_seed29() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| render("documents-seed29", &["--seed", "29", "--count", "2", "--no-special", "--split", "tune"]))
}

#[test]
fn printed_numbers_one_model_misreads_at_every_look_are_read_by_another() {
    // 780328350338 read as 780528550558 by the Kazakh model however it looks: the
    // page said its printed IIN could not be read; the Russian model read a 3
    // twice, the English one reads it as printed.
    let dir = tuning_seed29();
    for sides in [&["p01_passport_page_clean"][..], &["p02_id_front_clean", "p02_id_back_clean"]] {
        let t = truth_in(dir, sides[0]);
        let (_, got) = read(&side_images(dir, sides));
        assert!(codes(&got).is_empty(), "{}: {:?}", sides[0], codes(&got));
        assert_eq!((&got["iin"], &got["sources"]["iin"]), (&t["iin"], &Value::from("both")), "{}", sides[0]);
    }
    // The birth date 20.03.1962 read as 20.05.1962 at every look, and the IIN
    // beside it alike: the two agreed, until the IIN was found misread.
    let dir = tuning_seed37();
    let sides = ["p02_id_front_clean", "p02_id_back_clean"];
    let t = truth_in(dir, sides[0]);
    let (_, got) = read(&side_images(dir, &sides));
    assert!(codes(&got).is_empty(), "{:?}", codes(&got));
    assert_read_as_printed(&got, &t, &["birth_date", "iin"]);
}

#[test]
fn a_printed_iin_whose_label_reads_as_nothing_is_found_among_values_alike_in_size() {
    // Photographed cards whose labels read as nothing: on seed 19's the IIN is the
    // last of five values in one size, and on seed 37's its narrow digits run
    // together when squeezed (620320479733 read as 60032047973). Both said the
    // printed IIN "could not be read; it was not compared with the MRZ".
    for (dir, person) in [(tuning_seed19(), "p03"), (tuning_seed37(), "p02")] {
        let sides = [format!("{person}_id_front_moderate"), format!("{person}_id_back_moderate")];
        let sides: Vec<&str> = sides.iter().map(String::as_str).collect();
        let t = truth_in(dir, sides[0]);
        let (_, got) = read(&side_images(dir, &sides));
        assert!(codes(&got).is_empty(), "{person}: {:?}", got["problems"]);
        assert_eq!((&got["iin"], &got["sources"]["iin"]), (&t["iin"], &Value::from("both")), "{person}");
    }
}

#[test]
fn a_patronymic_read_surely_and_wrongly_by_one_model_is_not_reported() {
    // ВЛАДИМИРОВИЧ photographed on a page: the Kazakh model read БЛАДИМИРОВИЧ,
    // sure of every letter, and it was reported; the Russian model reads the В.
    // Then it was said unreadable, the first look's read being the only one
    // asked about; two other looks of four read ВЛАДИМИРОВИЧ, and so does the
    // Russian model: it is read.
    let dir = tuning_seed37();
    let t = truth_in(dir, "p01_passport_page_moderate");
    assert_eq!(t["patronymic"], "ВЛАДИМИРОВИЧ", "the premise");
    let (_, got) = read(&side_images(dir, &["p01_passport_page_moderate"]));
    assert_eq!(got["patronymic"], t["patronymic"], "{got}");
}

/// The tuning split at seed 19: given names of two words in print so large that
/// the space between them is wider than the ink smear that joins a line, and a
/// font in which one look reads a 3 of the birth date as 5.
fn tuning_seed19() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| render("documents-seed19", &["--seed", "19", "--count", "4", "--no-special", "--split", "tune"]))
}

#[test]
fn a_value_of_two_words_spaced_wide_in_large_print_is_read_whole() {
    // ШОЛПАН ҚАРЛЫҒАШ was two lines side by side: only ШОЛПАН was read under the
    // label, the MRZ (SHOLPAN KARLYGASH) disagreed and the Latin form was reported.
    let dir = tuning_seed19();
    let t = truth_in(dir, "p04_id_front_clean");
    assert_eq!(t["given_names"].as_str().unwrap().split(' ').count(), 2, "the premise: {}", t["given_names"]);
    let images = images_in(dir, ["p04_id_front_clean", "p04_id_back_clean"]);
    let (_, got) = read(&images);
    assert!(codes(&got).is_empty(), "{:?}", codes(&got));
    assert_read_as_printed(&got, &t, &["surname", "given_names", "patronymic"]);
}

#[test]
fn a_printed_birth_date_two_looks_read_apart_is_confirmed_by_a_look_that_reads_the_mrz() {
    // Larger looks read 23.08.2003 as 25.08.2005, twice alike, the first look as
    // printed: the front alone cannot tell, and the card came out with "the birth
    // date printed on the front could not be read with certainty". The MRZ on the
    // back says which read is the document's.
    let dir = tuning_seed19();
    let t = truth_in(dir, "p03_id_front_clean");
    let images = images_in(dir, ["p03_id_front_clean", "p03_id_back_clean"]);
    let (_, got) = read(&images);
    assert!(codes(&got).is_empty(), "{:?}", codes(&got));
    assert_eq!((&got["birth_date"], &got["iin"]), (&t["birth_date"], &t["iin"]));
}

#[test]
fn a_card_whose_labels_do_not_read_is_read_the_way_its_portrait_stands() {
    // Its labels too small to read, this card read nothing as it lay; turned
    // over, its digits read as twelve other digits, and the card was taken upside
    // down, where no name could be found: the MRZ's Latin names were reported.
    let dir = tuning_seed19();
    let t = truth_in(dir, "p03_id_front_moderate");
    let images = images_in(dir, ["p03_id_front_moderate", "p03_id_back_moderate"]);
    let (_, got) = read(&images);
    assert_read_as_printed(&got, &t, &["surname", "given_names", "patronymic", "birth_date", "iin"]);
}

#[test]
fn a_card_front_photographed_upside_down_is_read_the_right_way_up() {
    // Upside down, a front's lines still read as something, so it was read as it
    // lay: 23 of 36 tuning fronts turned over (clean and moderate) read exactly,
    // this one among those that did not.
    use opencv::core::{self, Vector};
    use opencv::imgcodecs;
    let dir = tuning_seed19();
    let t = truth_in(dir, "p03_id_front_clean");
    let front = imgcodecs::imread(dir.join(t["image"].as_str().unwrap()).to_str().unwrap(), imgcodecs::IMREAD_COLOR).unwrap();
    let mut turned = opencv::core::Mat::default();
    core::rotate(&front, &mut turned, core::ROTATE_180).unwrap();
    let path = dir.join("p03_id_front_clean_upside_down.png");
    imgcodecs::imwrite(path.to_str().unwrap(), &turned, &Vector::new()).unwrap();
    let back = dir.join(truth_in(dir, "p03_id_back_clean")["image"].as_str().unwrap());
    let (_, got) = read(&[path, back]);
    assert!(codes(&got).is_empty(), "{:?}", codes(&got));
    assert_read_as_printed(&got, &t, &["surname", "given_names", "patronymic", "birth_date", "iin"]);
}

/// The tuning split at seed 17: a card photographed tilted, blurred and under a
/// lamp, its labels too small to read and its values blurred into each other.
fn tuning_seed17() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| render("documents-seed17", &["--seed", "17", "--count", "2", "--no-special", "--split", "tune"]))
}

#[test]
fn a_blurred_name_is_read_sharpened_when_it_reads_as_nothing_else() {
    // ШЫҢҒЫС read as no name the MRZ (SHYNGYS) allows on any line until the lines
    // were sharpened; the Latin form was reported and the printed name "could not
    // be read with certainty".
    let dir = tuning_seed17();
    let t = truth_in(dir, "p02_id_front_hard");
    let images = images_in(dir, ["p02_id_front_hard", "p02_id_back_hard"]);
    let (_, got) = read(&images);
    assert_read_as_printed(&got, &t, &["surname", "given_names", "patronymic"]);
}

/// The tuning split at seed 8: a tampered card whose ЖСН / ИИН label is printed
/// too small to read, and an expired card whose font makes a 3 of both the birth
/// date and the IIN read as 5.
fn tuning_seed8() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| render("documents-seed8", &["--seed", "8", "--count", "1", "--split", "tune"]))
}

#[test]
fn a_printed_iin_whose_label_does_not_read_is_still_compared_with_the_mrz() {
    let dir = tuning_seed8();
    let t = truth_in(dir, "mismatch_id_front_moderate");
    assert_ne!(t["front_iin"], t["mrz_iin"], "the premise: a front IIN other than the MRZ's");
    let images = images_in(dir, ["mismatch_id_front_moderate", "mismatch_id_back_moderate"]);
    let (_, got) = read(&images);
    assert!(codes(&got).contains(&"iin_mismatch".to_string()), "{:?}", codes(&got));
    let seen = &got["disagreements"].as_array().unwrap()[0];
    assert_eq!((&seen["front"], &seen["mrz"]), (&t["front_iin"], &t["mrz_iin"]));
    assert_eq!(got["iin"], t["mrz_iin"], "the MRZ's IIN stands");
}

#[test]
fn a_digit_misread_alike_on_two_lines_is_not_a_forgery() {
    let dir = tuning_seed8();
    let images = images_in(dir, ["expired_id_front_clean", "expired_id_back_clean"]);
    let t = truth_in(dir, "expired_id_front_clean");
    let (_, got) = read(&images);
    assert!(!codes(&got).iter().any(|c| c.ends_with("_mismatch") || c.starts_with("iin_")), "{:?}", codes(&got));
    assert_eq!((&got["birth_date"], &got["iin"]), (&t["birth_date"], &t["iin"]));
}

/// The tuning split at seed 9: two genuine cards in PT Sans Narrow, where the
/// Kazakh model reads a 3 of the printed IIN as 5 every way it looks (on one of
/// them the misread IIN even passes its check digit, and the birth date is misread
/// alike). Only a second, independent model may confirm such a read.
fn tuning_seed9() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| render("documents-seed9", &["--seed", "9", "--count", "5", "--no-special", "--split", "tune"]))
}

#[test]
fn a_printed_iin_one_model_misreads_every_way_is_not_a_forgery() {
    let dir = tuning_seed9();
    for person in ["p02", "p05"] {
        let t = truth_in(dir, &format!("{person}_id_front_clean"));
        assert_eq!(t["front_iin"], t["mrz_iin"], "the premise: a genuine card");
        let images = ["front", "back"].map(|side| dir.join(truth_in(dir, &format!("{person}_id_{side}_clean"))["image"].as_str().unwrap()));
        let (_, got) = read(&images);
        let accused: Vec<String> = codes(&got).into_iter().filter(|c| c.ends_with("_mismatch") || c.starts_with("iin_")).collect();
        assert!(accused.is_empty(), "{person}: {accused:?}");
        assert_eq!(got["iin"], t["iin"], "{person}: the MRZ's IIN stands");
    }
}

/// A passport page is read led by its MRZ (`mrz_led.rs`): a value line that reads
/// as the MRZ says is taken without its label. A page printing another valid IIN
/// than its MRZ must still be caught: that pass can only agree, and the page's
/// printed IIN is then found under its label and compared.
#[test]
fn a_passport_page_printing_another_iin_than_its_mrz_is_flagged() {
    let dir = render("documents-tampered-passport", &["--seed", "9", "--count", "0", "--split", "tune", "--tampered-passport"]);
    let t = truth_in(&dir, "mismatch_passport_page_clean");
    assert_ne!(t["iin"], t["mrz_iin"], "the premise: a printed IIN other than the MRZ's");
    let (code, got) = read(&images_in(&dir, ["mismatch_passport_page_clean"]));
    assert_eq!((code, &got["document_type"]), (1, &Value::from("passport")), "{:?}", codes(&got));
    assert!(codes(&got).contains(&"iin_mismatch".to_string()), "{:?}", codes(&got));
    let seen = &got["disagreements"].as_array().unwrap()[0];
    assert_eq!((&seen["front"], &seen["mrz"]), (&t["iin"], &t["mrz_iin"]));
    assert_eq!(got["iin"], t["mrz_iin"], "the MRZ's IIN stands");
    // The names still read as the MRZ says, printed as they are.
    assert_read_as_printed(&got, &t, &["surname", "given_names", "birth_date"]);
}

#[test]
fn a_page_whose_names_do_not_read_gives_the_mrzs_and_never_says_it_has_no_patronymic() {
    // Tuning seed 19's p03 page, photographed small: its printed Cyrillic names
    // (ӘБІЛҚАСЫМОВ ЖАСҰЛАН НҰРЛАНҰЛЫ) are a few pixels high. A null patronymic
    // there, with nothing said, read as "none" to a registration server.
    let dir = tuning_seed19();
    let t = truth_in(dir, "p03_passport_page_moderate");
    let (_, got) = read(&side_images(dir, &["p03_passport_page_moderate"]));
    if got["sources"]["given_names"] == "mrz" {
        assert_eq!((&got["surname"], &got["given_names"]), (&t["surname_latin"], &t["given_names_latin"]));
        assert!(got["patronymic"].is_null(), "{got}");
        let said: Vec<&str> = got["problems"].as_array().unwrap().iter().filter_map(|p| p["message"].as_str()).collect();
        assert!(said.iter().any(|m| m.contains("patronymic is not known")), "{said:?}");
    } else {
        // Read as printed after all: then exactly.
        assert_read_as_printed(&got, &t, &["surname", "given_names", "patronymic"]);
        assert_eq!(got["sources"]["surname"], "both");
    }
}
