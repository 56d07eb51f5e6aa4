//! `idverifd document read` on documents however they lie in the image:
//! scanned askew, laid on their side, upside down. Rendered by
//! tests/fixtures/gen_documents.py (tuning split) and turned here.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::documents::{assert_read_as_printed, codes, laid_askew, read, render, side_images, truth_in, turned_a_quarter};
use serde_json::Value;

/// Tuning seed 5's first three people, rendered once per test binary.
fn first_tuning_person() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| render("documents-seed5", &["--seed", "5", "--count", "3", "--no-special", "--split", "tune"]))
}

#[test]
fn a_passport_page_scanned_a_little_askew_is_read_level() {
    // Taken whole, a page scanned 1.5-2 degrees askew keeps its tilt, and its two
    // MRZ rows then overlap across the band. Before it was turned level, the page
    // turned 1.5 degrees was no passport (its MRZ not read) and one turned 2
    // degrees read with failing check digits; -2 degrees took a whole-band
    // Tesseract read. Both ways, so the turn's sign is checked too.
    let dir = first_tuning_person();
    let t = truth_in(dir, "p03_passport_page_clean");
    for degrees in [1.5, -2.0] {
        let path = laid_askew(dir, &t, degrees, false);
        let (code, got) = read(&[path]);
        assert_eq!(got["document_type"], "passport", "{degrees}°");
        assert_eq!(got["mrz"]["lines"], t["mrz"], "{degrees}°");
        for field in ["surname", "given_names", "iin", "birth_date", "document_number", "expiry_date"] {
            assert_eq!(got[field], t[field], "{degrees}°: {field}");
        }
        assert_eq!(code, 0, "{degrees}°: {:?}", codes(&got));
    }
}

#[test]
fn a_card_scanned_askew_and_taken_whole_is_read_level() {
    // Tuning seed 5, p02: the front laid 7 degrees askew on a light lid. Its
    // outline is not found there, and the whole scan is taken for the card, tilt
    // and all: its printed names read as nothing (the MRZ's Latin only, the
    // patronymic unknown) until the front was turned level by its lines' slope.
    let dir = first_tuning_person();
    let sides = ["p02_id_front_clean", "p02_id_back_clean"];
    let t = truth_in(dir, sides[0]);
    let skew = t["capture"]["framing"]["angle_deg"].as_f64().unwrap();
    assert!(skew.abs() > 5.0, "the premise: a card laid askew, not {skew} degrees");
    let (code, got) = read(&side_images(dir, &sides));
    for field in ["surname", "given_names", "patronymic", "iin", "birth_date", "document_number", "expiry_date"] {
        assert_eq!(got[field], t[field], "{field}");
    }
    assert_eq!(code, 0, "{:?}", codes(&got));
}

#[test]
fn a_card_laid_far_askew_on_a_scanners_lid_is_read_level() {
    // Tuning seed 5, p01's front (scanned with a margin of lid) turned 10-14
    // degrees more, the scan grown to hold it: an image of no document's shape,
    // its frame found as the outline. A line's slope is measured to 6 degrees, and
    // such a scan was flattened as a photo, not levelled: the names read only in
    // the MRZ's Latin. Its ink's row profile finds the turn.
    let dir = first_tuning_person();
    let t = truth_in(dir, "p01_id_front_clean");
    assert_eq!(t["capture"]["framing"]["mode"], "scan_margin", "the premise: a scan with a margin of lid");
    for degrees in [14.0, -10.0] {
        let (code, got) = read(&[laid_askew(dir, &t, degrees, true), dir.join(truth_in(dir, "p01_id_back_clean")["image"].as_str().unwrap())]);
        assert_read_as_printed(&got, &t, &["surname", "given_names", "patronymic"]);
        for field in ["iin", "birth_date", "document_number", "expiry_date"] {
            assert_eq!(got[field], t[field], "{degrees}°: {field}");
        }
        assert_eq!(code, 0, "{degrees}°: {:?}", codes(&got));
    }
}

#[test]
fn a_card_and_a_passport_page_on_their_side_are_read_either_way() {
    // A card held upright to the camera (tuning seed 5, p01 photographed,
    // moderate) and a page scanned laid on its side (p03, clean), turned a
    // quarter either way. No document was found in the card's photos (its
    // outline not a card's shape lying level), and the page, a tall scan of no
    // document's shape, read nothing.
    let dir = first_tuning_person();
    for (sides, fields) in [
        (&["p01_id_front_moderate", "p01_id_back_moderate"][..], &["surname", "given_names", "iin", "birth_date", "document_number", "expiry_date"][..]),
        (&["p03_passport_page_clean"], &["surname", "given_names", "patronymic", "iin", "birth_date", "document_number", "expiry_date"]),
    ] {
        for (way, clockwise) in [("clockwise", true), ("anticlockwise", false)] {
            let images: Vec<PathBuf> = side_images(dir, sides).iter().map(|path| turned_a_quarter(path, clockwise, "png")).collect();
            let (code, got) = read(&images);
            let t: Value = truth_in(dir, sides[0]);
            for field in fields {
                assert_eq!(got[field], t[field], "{} turned {way}: {field}", sides[0]);
            }
            assert_eq!(code, 0, "{} turned {way}: {:?}", sides[0], codes(&got));
        }
    }
}
