//! The document generator's splits keep what tests/fixtures/README.md promises:
//! the same (split, seed, count) gives the same files; the held-out split draws
//! fonts and layouts the tuning split never uses and shares no person with it;
//! every MRZ validates and what is printed is what the ground truth says.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// As listed in tests/fixtures/README.md ("What belongs to which split").
const HELDOUT_ONLY_FONTS: [&str; 5] = ["PT Sans", "PT Serif", "Noto Serif", "Carlito", "Open Sans"];
const HELDOUT_ONLY_LAYOUTS: [&str; 3] = ["iin_on_top", "one_column", "page_iin_under_photo"];


fn truths(dir: &Path) -> Vec<Value> {
    let index: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("index.json")).unwrap()).unwrap();
    index["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|case| serde_json::from_str(&std::fs::read_to_string(dir.join(case["truth"].as_str().unwrap())).unwrap()).unwrap())
        .collect()
}

#[test]
fn the_same_split_seed_and_count_give_the_same_files() {
    let (a, b) = (common::temp_dir("docgen-a"), common::temp_dir("docgen-b"));
    for dir in [&a, &b] {
        common::render_documents(dir, &["--split", "heldout", "--seed", "3", "--count", "1", "--no-special"]);
    }
    let names: BTreeSet<_> = std::fs::read_dir(&a).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 19, "9 images, 9 truths, the index");
    for name in names {
        assert!(std::fs::read(a.join(&name)).unwrap() == std::fs::read(b.join(&name)).unwrap(), "{name:?} differs between runs");
    }
}

#[test]
fn the_held_out_split_has_fonts_layouts_and_people_the_tuning_split_never_has() {
    let (tune, heldout) = (common::temp_dir("docgen-tune"), common::temp_dir("docgen-heldout"));
    common::render_documents(&tune, &["--split", "tune", "--seed", "5", "--count", "2"]);
    common::render_documents(&heldout, &["--split", "heldout", "--seed", "5", "--count", "2"]);
    let (tune, heldout) = (truths(&tune), truths(&heldout));

    let styles = |truths: &[Value], key: &str| -> BTreeSet<String> {
        truths.iter().map(|t| t["style"][key].as_str().unwrap().to_string()).collect()
    };
    let tune_fonts: BTreeSet<String> = &styles(&tune, "label_font") | &styles(&tune, "value_font");
    let heldout_fonts: BTreeSet<String> = &styles(&heldout, "label_font") | &styles(&heldout, "value_font");
    assert!(tune_fonts.len() >= 3, "the tuning split varies its fonts: {tune_fonts:?}");
    assert!(tune_fonts.iter().all(|f| !HELDOUT_ONLY_FONTS.contains(&f.as_str())), "{tune_fonts:?}");
    assert!(heldout_fonts.iter().any(|f| HELDOUT_ONLY_FONTS.contains(&f.as_str())), "{heldout_fonts:?}");
    assert!(styles(&tune, "layout").iter().all(|l| !HELDOUT_ONLY_LAYOUTS.contains(&l.as_str())));

    let people = |truths: &[Value]| -> BTreeSet<String> { truths.iter().map(|t| t["mrz_iin"].as_str().unwrap().to_string()).collect() };
    assert!(people(&tune).is_disjoint(&people(&heldout)), "the splits share a person");

    for t in tune.iter().chain(&heldout) {
        assert_eq!(t["mrz_valid"], true, "{}", t["image"]);
        let printed = &t["printed"];
        for field in ["surname", "given_names", "patronymic"] {
            if t["side"] == "back" {
                continue;
            }
            // A holder without a patronymic has none printed; every other name is printed as the truth says.
            if !t[field].is_null() {
                assert_eq!(printed[field], t[field], "{}: {field}", t["image"]);
            } else {
                assert!(printed.get(field).is_none(), "{}: {field}", t["image"]);
            }
        }
    }
    let all: Vec<&Value> = tune.iter().chain(&heldout).collect();
    assert!(all.iter().any(|t| t["patronymic"].is_null()) && all.iter().any(|t| !t["patronymic"].is_null()), "people with and without a patronymic");
    assert!(
        all.iter().any(|t| t["document_type"] == "passport" && t["capture"]["framing"]["mode"] == "flatbed_full_page"),
        "a passport page scanned to fill the whole image"
    );
}
