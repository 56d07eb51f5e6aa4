//! `idverifd document read` on printed names and patronymics that the MRZ cannot
//! check letter for letter, over fictitious documents rendered by
//! tests/fixtures/gen_documents.py (tuning seeds only), judged against their
//! ground truth: a name is read as printed or said unsure, never given a letter
//! the print does not have.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::documents::{assert_read_as_printed, codes, read, render, side_images, truth_in, turned_a_quarter};
use serde_json::Value;

/// Tuning seed 13: given names with Й printed so close under their label that
/// the breve touches it (АЛЕКСЕЙ on the first person's passport page, АЙГҮЛ on
/// the second person's card, scanned and photographed); the fifth person's
/// card, photographed blurred, with Қ in both names; the sixth's, with a
/// patronymic whose К reads as Қ in two looks of four.
fn tuning_seed13() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| render("documents-seed13", &["--seed", "13", "--count", "6", "--no-special", "--split", "tune"]))
}

#[test]
fn a_patronymic_two_looks_read_one_way_and_two_another_is_not_known() {
    // Tuning seed 13, a hard card: two looks read СЕРІКҰЛЫ, two СЕРІҚҰЛЫ, and the
    // Russian model cannot tell К from Қ. Either may be the print: neither is
    // reported, and the operator is told. (The first read won by the order of
    // the looks.)
    let dir = tuning_seed13();
    let t = truth_in(dir, "p06_id_front_hard");
    let (_, got) = read(&side_images(dir, &["p06_id_front_hard", "p06_id_back_hard"]));
    if got["patronymic"] != t["patronymic"] {
        assert!(got["patronymic"].is_null(), "a patronymic not printed: {got}");
        let said: Vec<&str> = got["problems"].as_array().unwrap().iter().filter_map(|p| p["message"].as_str()).collect();
        assert!(said.iter().any(|m| m.contains("patronymic")), "{said:?}");
    }
}

#[test]
fn a_three_letter_surname_on_a_clean_card_is_read_as_printed() {
    // Tuning seed 41's card with a wrong printed IIN: КИМ, in Liberation Serif,
    // read as nothing at all as a text line, and reported in the MRZ's form.
    let dir = render("documents-seed41", &["--seed", "41", "--count", "6", "--split", "tune"]);
    let t = truth_in(&dir, "bad_iin_id_front_clean");
    assert_eq!(t["surname"].as_str().map(|s| s.chars().count()), Some(3), "the premise: {}", t["surname"]);
    let (_, got) = read(&side_images(&dir, &["bad_iin_id_front_clean", "bad_iin_id_back_clean"]));
    assert_read_as_printed(&got, &t, &["surname", "given_names", "patronymic"]);
    assert_eq!(got["sources"]["surname"], "both");
    // And the card is still caught.
    assert!(codes(&got).contains(&"iin_mismatch".to_string()), "{:?}", codes(&got));
}

#[test]
fn a_name_read_with_a_letter_the_mrz_spells_alike_and_read_otherwise_is_not_reported_as_read() {
    // Blurred cards. Tuning seed 13, ҚҰСАЙЫНОВА АҚБОТА: one look reads each Қ,
    // another К, and the MRZ (KUSAIYNOVA AKBOTA) confirms both; it gave КҰСАЙЫНОВА
    // АКБОТА as printed. Tuning seed 31, ҚҰНАНБАЕВ-ШӘРІПОВ: one look reads it
    // whole with К, another only its start, with Қ; it gave КҰНАНБАЕВ-ШӘРІПОВ.
    let seed31 = render("documents-seed31", &["--seed", "31", "--count", "2", "--no-special", "--split", "tune"]);
    for (dir, person) in [(tuning_seed13(), "p05"), (seed31.as_path(), "p02")] {
        let (front, back) = (format!("{person}_id_front_hard"), format!("{person}_id_back_hard"));
        let t = truth_in(dir, &front);
        assert!(t["surname"].as_str().unwrap().starts_with('Қ'), "the premise: {}", t["surname"]);
        let (_, got) = read(&side_images(dir, &[&front, &back]));
        let said: Vec<&str> = got["problems"].as_array().unwrap().iter().filter_map(|p| p["message"].as_str()).collect();
        for field in ["surname", "given_names"] {
            if got["sources"][field] == "mrz" {
                let latin = t[&format!("{field}_latin")].as_str().unwrap().replace('-', " ");
                assert_eq!(got[field], latin.as_str(), "{got}");
                let what = field.replace('_', " ");
                // The name said unsure, or the print's names said unread (seed 31's given names).
                let unsure = format!("{what} printed on the front could not be read");
                assert!(said.iter().any(|m| m.contains(&unsure) || m.contains("the names printed on the front could not be read")), "{said:?}");
            } else {
                // Read one way only: then as printed.
                assert_eq!(got[field], t[field], "{got}");
            }
        }
    }
}

#[test]
fn a_name_whose_breve_touches_the_label_above_it_is_read_as_printed() {
    let dir = tuning_seed13();
    for sides in [&["p02_id_front_clean", "p02_id_back_clean"][..], &["p02_id_front_moderate", "p02_id_back_moderate"], &["p01_passport_page_clean"]] {
        let t = truth_in(dir, sides[0]);
        assert!(t["given_names"].as_str().unwrap().contains('Й'), "the premise: {}", t["given_names"]);
        let images = side_images(dir, sides);
        let (_, got) = read(&images);
        // In Cyrillic as printed, not the MRZ's Latin form (AIGUL) for want of a line.
        assert_eq!(got["given_names"], t["given_names"], "{}", sides[0]);
        assert_eq!(got["surname"], t["surname"], "{}", sides[0]);
    }
}

#[test]
fn a_patronymic_broken_by_blur_and_a_birth_label_run_together_are_still_read() {
    // A passport page photographed slightly blurred: the patronymic's label reads
    // as nothing, and in the ink its value СЕРІКҚЫЗЫ broke into two pieces (С and
    // the stem of an Е apart), so the search under the given names passed it over
    // as two words; the birth date's label read as "ТҮГАНКҮН ДАТА ..." with its
    // space lost, no label at all, and the place of birth's label took the date of
    // issue: the patronymic was missing and the birth date "could not be read".
    let dir = tuning_seed13();
    let t = truth_in(dir, "p02_passport_page_moderate");
    let (_, got) = read(&[dir.join(t["image"].as_str().unwrap())]);
    assert!(codes(&got).is_empty(), "{:?}", codes(&got));
    assert_read_as_printed(&got, &t, &["surname", "given_names", "patronymic", "birth_date", "iin"]);
}

#[test]
fn a_patronymic_too_blurred_to_read_surely_is_said_unreadable_never_misread() {
    // A booklet photographed small: СЕРГЕЕВИЧ, 6 px tall, reads as ЖТЕҒВИЧ in one
    // look and as something else in each of the others (ЖТҰҒВИН, ДИТҰҒИН...). No
    // MRZ checks a patronymic: a name no two looks agree on is not reported.
    let dir = tuning_seed13();
    let t = truth_in(dir, "p01_passport_page_moderate");
    let (_, got) = read(&[dir.join(t["image"].as_str().unwrap())]);
    assert!(t["patronymic"].is_string(), "the premise: a patronymic is printed");
    assert_eq!(got["patronymic"], Value::Null, "reported {} (printed {})", got["patronymic"], t["patronymic"]);
    let said: Vec<&str> = got["problems"].as_array().unwrap().iter().filter_map(|p| p["message"].as_str()).collect();
    assert!(said.iter().any(|m| m.contains("patronymic") && m.contains("data page")), "{said:?}");
    // What the MRZ carries still stands.
    assert_eq!(got["iin"], t["iin"]);
    assert_eq!(got["document_number"], t["document_number"]);
}

/// Tuning seed 61 (generator v3): ПОДЪЯЧЕВА on the second person's passport
/// page, photographed; the third person's card, photographed blurred at an
/// angle, its MRZ's last row starting by the card's rounded corner.
fn tuning_seed61() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| render("documents-seed61-names", &["--seed", "61", "--count", "3", "--no-special", "--split", "tune"]))
}

/// Tuning seed 61's second passport page: its truth, and how it reads (read
/// once for the tests that ask about it).
fn seed61_page() -> &'static (Value, Value) {
    static READ: OnceLock<(Value, Value)> = OnceLock::new();
    READ.get_or_init(|| {
        let dir = tuning_seed61();
        (truth_in(dir, "p02_passport_page_moderate"), read(&side_images(dir, &["p02_passport_page_moderate"])).1)
    })
}

#[test]
fn a_hard_sign_only_the_russian_model_sees_is_never_reported_as_a_soft_sign() {
    // The Kazakh model reads ПОДЬЯЧЕВА; the Russian one ПОЛЪЯЧЕВА, a Д misread
    // but the Ъ seen. The MRZ drops both signs (PODIACHEVA): the page gave
    // ПОДЬЯЧЕВА as printed.
    let (t, got) = seed61_page();
    assert_eq!(t["surname"], "ПОДЪЯЧЕВА", "the premise");
    assert!(got["surname"] == t["surname"] || got["surname"] == t["surname_latin"], "{}", got["surname"]);
    assert!(codes(&got).iter().all(|c| c != "name_mismatch"), "{:?}", codes(&got));
}

#[test]
fn a_given_name_the_kazakh_model_misreads_in_every_look_is_read_with_the_russian_models_letters() {
    // ОЛЬГА in bold DejaVu Serif, its label unread: the Kazakh model reads ЬГ
    // as ЬЫ or Ы in every look, the Russian one reads it right. The page gave
    // OLGA, from the MRZ, and said its names unread.
    let (t, got) = seed61_page();
    assert_eq!(t["given_names"], "ОЛЬГА", "the premise");
    assert_eq!(got["given_names"], t["given_names"]);
    assert_eq!(got["sources"]["given_names"], "both");
}

#[test]
fn a_mark_beside_the_mrz_is_not_read_into_the_surname() {
    // The rounded corner beside the last row read as an L: the card gave its
    // surname as LGALYMZHANOVA, from the MRZ, with no doubt.
    let dir = tuning_seed61();
    let t = truth_in(dir, "p03_id_back_hard");
    let (_, got) = read(&side_images(dir, &["p03_id_front_hard", "p03_id_back_hard"]));
    assert_eq!(got["mrz"]["lines"][2], t["mrz"][2]);
    assert!(got["surname"] == t["surname"] || got["surname"] == t["surname_latin"], "{}", got["surname"]);
}

#[test]
fn a_patronymic_whose_suffix_follows_a_misread_vowel_is_not_given() {
    // Tuning seed 79 (generator v3), a hard card: ЖОРЖЕВНА's Е read as Ғ, and
    // ЖОРЖҒВНА given as printed; no MRZ checks a patronymic, but -ВНА follows
    // only О or Е.
    let dir = render("documents-seed79", &["--seed", "79", "--count", "2", "--no-special", "--split", "tune"]);
    let t = truth_in(&dir, "p02_id_front_hard");
    assert_eq!(t["patronymic"], "ЖОРЖЕВНА", "the premise");
    let (_, got) = read(&side_images(&dir, &["p02_id_front_hard", "p02_id_back_hard"]));
    assert!(got["patronymic"].is_null() || got["patronymic"] == t["patronymic"], "{}", got["patronymic"]);
}

#[test]
fn names_beside_a_photo_with_a_folded_curtain_behind_the_subject_are_read() {
    // Tuning seed 67 (generator v3), the minor's clean card: the curtain's folds
    // are long edges inside the photo; the blanking stopped at the first, and the
    // photo's sides, left in, ran into ТӨЛЕГЕНОВ beside it (given as TOLEGENOV).
    let dir = render("documents-seed67", &["--seed", "67", "--count", "3", "--split", "tune"]);
    let t = truth_in(&dir, "minor_id_front_clean");
    let (_, got) = read(&side_images(&dir, &["minor_id_front_clean", "minor_id_back_clean"]));
    assert_read_as_printed(&got, &t, &["surname", "given_names", "patronymic"]);
    assert_eq!(got["sources"]["surname"], "both", "{got}");
}

#[test]
fn a_patronymic_whose_first_letter_blur_split_in_two_is_never_given() {
    // Tuning seed 43 (generator v3), the third person's passport page,
    // photographed (moderate) and turned a quarter clockwise, as a JPEG: two
    // looks of four read ШЫҢҒЫСҚЫЗЫ as ТПЫНҒЫСҚЫЗЫ, given as printed. No name
    // opens with ТП. The Latin line under the given names (SHYNAR, read 8НҮМАН)
    // is passed over, and the line under it says a patronymic is printed.
    let dir = render("documents-seed43", &["--seed", "43", "--count", "3", "--no-special", "--split", "tune"]);
    let t = truth_in(&dir, "p03_passport_page_moderate");
    assert_eq!(t["patronymic"], "ШЫҢҒЫСҚЫЗЫ", "the premise");
    let (_, got) = read(&[turned_a_quarter(&dir.join(t["image"].as_str().unwrap()), true, "jpg")]);
    assert!(got["patronymic"].is_null() || got["patronymic"] == t["patronymic"], "{}", got["patronymic"]);
    if got["patronymic"].is_null() {
        let said: Vec<&str> = got["problems"].as_array().unwrap().iter().filter_map(|p| p["message"].as_str()).collect();
        assert!(said.iter().any(|m| m.contains("patronymic")), "null would say none is printed: {said:?}");
    }
}

#[test]
fn a_name_in_a_guilloche_rosette_on_a_clean_card_is_read() {
    // Tuning seed 59 (generator v3), the first person's clean card: the strands
    // of a dense rosette join АЙГҮЛ, its labels and the pattern into one blob far
    // too tall for text, which was dropped; the given names were the MRZ's AIGUL.
    let dir = render("documents-seed59", &["--seed", "59", "--count", "1", "--no-special", "--split", "tune"]);
    let t = truth_in(&dir, "p01_id_front_clean");
    assert_eq!(t["given_names"], "АЙГҮЛ", "the premise");
    let (_, got) = read(&side_images(&dir, &["p01_id_front_clean", "p01_id_back_clean"]));
    assert_read_as_printed(&got, &t, &["surname", "given_names", "patronymic"]);
    assert_eq!(got["sources"]["given_names"], "both", "{got}");
}
