use super::*;

// A fictitious Kazakh ID card, built so every check digit holds: IIN
// 050624533556 (born 2005-06-24, male), document 072343742, expiry 2031-10-17.
const TD1: [&str; 3] = ["IDKAZ0723437422050624533556<<<", "0506247M3110175KAZ<<<<<<<<<<<0", "KASYMOV<<MURAT<<<<<<<<<<<<<<<<"];
fn on() -> Date {
    "2026-11-21".parse().unwrap()
}
fn mrz() -> Mrz {
    Mrz::parse_on(&TD1, on()).expect("valid TD1")
}
fn front() -> FrontFields {
    FrontFields {
        surname: Some("ҚАСЫМОВ".into()),
        given_names: Some("МҰРАТ".into()),
        patronymic: Some("БОЛАТОВИЧ".into()),
        birth_date: Some("2005-06-24".parse().unwrap()),
        iin: Some("050624533556".into()),
        confirmed: Confirmed { surname: true, given_names: true, patronymic: true, birth_date: true, iin: true },
        patronymic_unknown: false,
    }
}
fn codes(d: &DocumentRead) -> Vec<&'static str> {
    d.problems.iter().map(|p| p.code).collect()
}

#[test]
fn both_sides_agree_and_cyrillic_names_win() {
    let d = assemble(Some(&front()), Some(&mrz()), on());
    assert_eq!(codes(&d), Vec::<&str>::new());
    assert_eq!(d.document_type, DocumentType::KzIdCard);
    assert_eq!(d.surname.as_deref(), Some("ҚАСЫМОВ"));
    assert_eq!(d.sources.iin, Some(FieldSource::Both));
    assert!(d.iin_valid && d.mrz.valid);
    assert_eq!((d.minor, d.expired), (Some(false), Some(false)));
    assert_eq!(d.sex, Some(Sex::Male));
}

#[test]
fn a_patronymic_not_read_surely_is_said_unreadable_not_reported() {
    let mut f = front();
    f.confirmed.patronymic = false;
    let d = assemble(Some(&f), Some(&mrz()), on());
    assert_eq!(d.patronymic, None);
    assert_eq!(codes(&d), vec!["unreadable_field"]);
    assert!(d.problems[0].message.contains("patronymic"), "{:?}", d.problems);
}

#[test]
fn back_alone_gives_latin_names_from_the_mrz() {
    let d = assemble(None, Some(&mrz()), on());
    assert_eq!(d.surname.as_deref(), Some("KASYMOV"));
    assert_eq!(d.sources.iin, Some(FieldSource::Mrz));
    assert!(d.patronymic.is_none());
    assert!(d.problems.is_empty(), "{:?}", d.problems);
}

#[test]
fn a_changed_iin_digit_on_the_front_is_flagged_twice() {
    let mut f = front();
    f.iin = Some("050624533557".into());
    let d = assemble(Some(&f), Some(&mrz()), on());
    assert_eq!(codes(&d), vec!["iin_mismatch", "iin_check_digit"]);
    // The MRZ's IIN, covered by the composite check, is the one kept.
    assert_eq!(d.iin.as_deref(), Some("050624533556"));
    assert!(d.problems.iter().all(|p| !p.message.contains("0506245335")), "no digits in messages");
}

#[test]
fn expired_and_minor_are_judged_on_the_given_day() {
    let d = assemble(Some(&front()), Some(&mrz()), "2031-10-18".parse().unwrap());
    assert_eq!(d.expired, Some(true));
    assert!(codes(&d).contains(&"expired"));
    let d = assemble(Some(&front()), Some(&mrz()), "2023-06-23".parse().unwrap());
    assert_eq!(d.minor, Some(true));
}

#[test]
fn front_birth_date_that_disagrees_with_the_iin_is_flagged() {
    let mut f = front();
    f.birth_date = Some("2005-06-25".parse().unwrap());
    let d = assemble(Some(&f), None, on());
    assert_eq!(codes(&d), vec!["iin_birth_date_mismatch", "unreadable_field"]);
    let d = assemble(None, None, on());
    assert_eq!(d.document_type, DocumentType::Unknown);
    assert!(codes(&d).contains(&"unreadable_field"));
}

/// A valid IIN (check digit and all) for an 11-digit body.
fn iin_with_body(body: &str) -> String {
    let digits: [u8; 11] = body.bytes().map(|b| b - b'0').collect::<Vec<_>>().try_into().unwrap();
    let check = crate::identity::iin::compute_check_digit(&digits).expect("a body with a check digit");
    format!("{body}{check}")
}

#[test]
fn a_typed_iin_must_agree_with_the_document_birth_date_century_and_sex() {
    let mut unread = front();
    unread.iin = None;
    // The IIN was not read from the MRZ either (a worn optional-data field).
    let mut unread_mrz = mrz();
    unread_mrz.optional_data_1 = None;
    let mrz = Some(unread_mrz);
    let typed = |iin: &str| codes(&with_typed_iin(Some(&unread), mrz.as_ref(), iin, on()));
    assert_eq!(typed("050624533556"), Vec::<&str>::new(), "the right number");
    let wrong_day = iin_with_body("05062553355");
    assert!(typed(&wrong_day).contains(&"iin_birth_date_mismatch"), "{:?}", typed(&wrong_day));
    // Century digit 3 = male born in the 1900s: same day and month, other century.
    let wrong_century = iin_with_body("05062433355");
    assert!(typed(&wrong_century).contains(&"iin_birth_date_mismatch"), "{:?}", typed(&wrong_century));
    let female = iin_with_body("05062463355");
    assert!(typed(&female).contains(&"iin_sex_mismatch"), "{:?}", typed(&female));
    assert!(typed("050624533557").contains(&"iin_check_digit"));
    // With the front alone the birth date still decides.
    assert!(codes(&with_typed_iin(Some(&unread), None, &wrong_day, on())).contains(&"iin_birth_date_mismatch"));
}

#[test]
fn a_front_iin_read_unsurely_is_unreadable_not_a_forgery() {
    let mut f = front();
    f.iin = Some("050624533557".into());
    f.confirmed.iin = false;
    let d = assemble(Some(&f), Some(&mrz()), on());
    assert_eq!(codes(&d), vec!["unreadable_field"]);
    assert_eq!((d.iin.as_deref(), d.sources.iin), (Some("050624533556"), Some(FieldSource::Mrz)));
    assert!(d.disagreements.is_empty());
    // Read confidently, the same digits accuse the document, with both values kept.
    f.confirmed.iin = true;
    let d = assemble(Some(&f), Some(&mrz()), on());
    assert_eq!(codes(&d), vec!["iin_mismatch", "iin_check_digit"]);
    assert_eq!(d.disagreements, [Disagreement { field: "iin", front: "050624533557".into(), mrz: "050624533556".into() }]);
    // An unsure read that agrees with the MRZ is simply confirmed by it.
    let mut f = front();
    f.confirmed.iin = false;
    assert_eq!(codes(&assemble(Some(&f), Some(&mrz()), on())), Vec::<&str>::new());
}

#[test]
fn an_mrz_misread_over_its_iin_is_unreadable_not_a_forgery() {
    // The IIN's first digit misread in the MRZ (6 for 0): the composite check
    // digit over it fails, so the failing IIN check digit is the misread's too.
    let mut lines = TD1.map(str::to_string);
    lines[0] = lines[0].replacen("050624533556", "650624533556", 1);
    let misread = Mrz::parse_on(&lines, on()).expect("parses");
    assert!(!misread.checks.composite);
    let mut f = front();
    f.confirmed.iin = false;
    let d = assemble(Some(&f), Some(&misread), on());
    assert!(codes(&d).contains(&"mrz_check_digit"));
    assert!(codes(&d).contains(&"unreadable_field"));
    assert!(!codes(&d).iter().any(|c| c.starts_with("iin_")), "{:?}", codes(&d));
    assert_eq!(d.iin, None, "never a wrong value");
    // The front read confidently stands in for it.
    let d = assemble(Some(&front()), Some(&misread), on());
    assert_eq!((d.iin.as_deref(), d.sources.iin), (Some("050624533556"), Some(FieldSource::Front)));
}

#[test]
fn a_zone_its_reader_could_not_vouch_for_is_unreadable_where_its_check_digits_fail() {
    // The document number's last digit slipped (9 for 2) in a read by Tesseract
    // alone: its check digit and the composite fail.
    let mut lines = TD1.map(str::to_string);
    lines[0] = lines[0].replacen("IDKAZ072343742", "IDKAZ072343749", 1);
    let mut slipped = Mrz::parse_on(&lines, on()).expect("parses");
    assert!(!slipped.checks.document_number && !slipped.checks.composite);
    // Vouched for by two readers, the failing digits are the document's: accused.
    let d = assemble(None, Some(&slipped), on());
    assert!(codes(&d).contains(&"mrz_check_digit"), "{:?}", codes(&d));
    slipped.read_uncertain = true;
    let d = assemble(None, Some(&slipped), on());
    assert!(!codes(&d).contains(&"mrz_check_digit"), "{:?}", codes(&d));
    assert!(d.problems.iter().any(|p| p.code == "unreadable_field" && p.message.contains("MRZ")), "{:?}", d.problems);
    // What no passing check digit covers is not reported: no wrong number, no
    // name or IIN the slip may have touched; the dates whose digits hold stand.
    assert_eq!((d.document_number.as_deref(), d.surname.as_deref(), d.iin.as_deref()), (None, None, None));
    assert_eq!(d.birth_date, Some("2005-06-24".parse().unwrap()));
    assert_eq!(d.expiry_date, Some("2031-10-17".parse().unwrap()));
    assert!(!d.mrz.valid);
    // The printed side, read surely, stands in for it, and nothing is compared
    // with the slipped zone's names or IIN.
    let d = assemble(Some(&front()), Some(&slipped), on());
    assert_eq!((d.surname.as_deref(), d.iin.as_deref()), (Some("ҚАСЫМОВ"), Some("050624533556")));
    assert_eq!(codes(&d), vec!["unreadable_field"]);
    // A zone read uncertainly whose check digits all pass is simply read.
    let mut read = mrz();
    read.read_uncertain = true;
    assert_eq!(assemble(Some(&front()), Some(&read), on()), assemble(Some(&front()), Some(&mrz()), on()));
}

#[test]
fn a_zone_naming_no_state_keeps_only_what_two_of_its_fields_agree_on() {
    // Tesseract on a blurred photo (tuning seed 19): every check digit passes,
    // the document number's N and 2 read as M and 1 cancelling in its, and the
    // codes read EAI and <AI.
    let lines = ["P<EAISHALGTHMBAEV<<TOLEGEN<<<<<<<<<<<<<<<<<<", "MI5109011Z<AI6303219M3302255630321334010<<64"];
    let mut slipped = Mrz::parse_on(&lines, on()).expect("parses");
    assert!(slipped.valid() && !slipped.codes_known());
    // Read alike by two readers, it is the document's, codes and all.
    let d = assemble(None, Some(&slipped), on());
    assert_eq!((d.document_number.as_deref(), d.issuing_country.as_deref()), (Some("M15109011"), Some("EAI")));
    slipped.read_uncertain = true;
    let d = assemble(None, Some(&slipped), on());
    assert!(d.problems.iter().any(|p| p.code == "unreadable_field" && p.message.contains("names a state")), "{:?}", d.problems);
    assert!(!codes(&d).iter().any(|c| c.starts_with("mrz_") || c.starts_with("iin_")), "{:?}", codes(&d));
    // No number, date or name its own check digit alone vouches for...
    assert_eq!((d.document_number.as_deref(), d.expiry_date, d.surname.as_deref()), (None, None, None));
    assert_eq!((d.issuing_country.as_deref(), d.nationality.as_deref()), (None, None));
    // ...only the IIN, by its own check digit, and the birth date it carries.
    assert_eq!((d.iin.as_deref(), d.birth_date), (Some("630321334010"), Some("1963-03-21".parse().unwrap())));
    // A card's zone whose IIN does not carry its birth date keeps neither.
    let mut card = TD1.map(str::to_string);
    card[1] = card[1].replacen("KAZ", "<AZ", 1);
    card[0] = card[0].replacen("050624533556", "050625533556", 1);
    let mut card = Mrz::parse_on(&card, on()).expect("parses");
    card.read_uncertain = true;
    let d = assemble(None, Some(&card), on());
    assert_eq!((d.iin.as_deref(), d.birth_date), (None, None));
}

#[test]
fn names_two_readers_read_otherwise_are_not_reported_nor_compared() {
    let mut m = mrz();
    m.letters_uncertain = true;
    // The back alone: every number stands, no name or sex from the MRZ.
    let d = assemble(None, Some(&m), on());
    assert_eq!((d.surname.as_deref(), d.given_names.as_deref(), d.sex), (None, None, Some(Sex::Male)), "sex from the IIN");
    assert_eq!((d.iin.as_deref(), d.document_number.as_deref()), (Some("050624533556"), Some("072343742")));
    assert!(d.mrz.valid);
    // A printed surname read surely and unlike the MRZ's is not accused by it.
    let mut f = front();
    f.surname = Some("ҚАСЕНОВ".into());
    let d = assemble(Some(&f), Some(&m), on());
    assert_eq!(d.surname.as_deref(), Some("ҚАСЕНОВ"));
    assert!(!codes(&d).contains(&"name_mismatch"), "{:?}", codes(&d));
}

#[test]
fn a_card_front_read_without_its_iin_says_the_iin_was_not_compared() {
    let mut f = front();
    f.iin = None;
    let d = assemble(Some(&f), Some(&mrz()), on());
    assert_eq!(codes(&d), vec!["unreadable_field"]);
    assert_eq!((d.iin.as_deref(), d.sources.iin), (Some("050624533556"), Some(FieldSource::Mrz)));
    // The back alone was never a front to compare.
    assert!(codes(&assemble(None, Some(&mrz()), on())).is_empty());
}

#[test]
fn a_front_birth_date_read_unsurely_gives_way_to_the_mrz() {
    let mut f = front();
    f.birth_date = Some("2005-06-21".parse().unwrap());
    f.confirmed.birth_date = false;
    let d = assemble(Some(&f), Some(&mrz()), on());
    assert_eq!(codes(&d), vec!["unreadable_field"]);
    assert_eq!(d.birth_date, Some("2005-06-24".parse().unwrap()));
    f.confirmed.birth_date = true;
    assert!(codes(&assemble(Some(&f), Some(&mrz()), on())).contains(&"birth_date_mismatch"));
}

#[test]
fn a_name_misread_by_one_letter_is_caught_by_the_mrz_and_never_reported() {
    // ҚАСЫМОВ read as ҚАСЫНОВ: the MRZ says KASYMOV. Unconfirmed by re-reads, it is
    // a misread: the printed surname is unreadable and the MRZ's form stands.
    let mut f = front();
    f.surname = Some("ҚАСЫНОВ".into());
    f.confirmed.surname = false;
    let d = assemble(Some(&f), Some(&mrz()), on());
    assert_eq!(codes(&d), vec!["unreadable_field"]);
    assert_eq!(d.surname.as_deref(), Some("KASYMOV"));
    assert_eq!(d.disagreements, [Disagreement { field: "surname", front: "ҚАСЫНОВ".into(), mrz: "KASYMOV".into() }]);
    // Read alike every way, it is what the card prints: reported, both values kept.
    f.confirmed.surname = true;
    let d = assemble(Some(&f), Some(&mrz()), on());
    assert_eq!((codes(&d), d.surname.as_deref()), (vec!["name_mismatch"], Some("ҚАСЫНОВ")));
    // The Kazakh letters transliterate to the MRZ's form: no disagreement.
    assert!(assemble(Some(&front()), Some(&mrz()), on()).disagreements.is_empty());
}

#[test]
fn a_name_the_mrz_confirms_but_read_two_ways_is_not_reported_letter_for_letter() {
    // ҚАСЫМОВ and КАСЫМОВ are both KASYMOV: read both ways, the reader leaves it
    // unconfirmed, and the MRZ's form stands with the operator told why.
    let mut f = front();
    f.confirmed.surname = false;
    let d = assemble(Some(&f), Some(&mrz()), on());
    assert_eq!((d.surname.as_deref(), d.sources.surname), (Some("KASYMOV"), Some(FieldSource::Mrz)));
    assert_eq!(codes(&d), vec!["unreadable_field"]);
    assert!(d.problems[0].message.contains("surname"), "{:?}", d.problems);
    assert!(d.disagreements.is_empty(), "the two do not disagree");
    // Confirmed, it is the print.
    let d = assemble(Some(&front()), Some(&mrz()), on());
    assert_eq!((d.surname.as_deref(), d.sources.surname), (Some("ҚАСЫМОВ"), Some(FieldSource::Both)));
}

#[test]
fn a_lookalike_letter_or_a_lost_end_letter_is_a_misread_not_another_name() {
    let m = mrz();
    // ҚАСЫМОВ with Й for И would not do; Ш for Щ, Ь for Ы and lost end letters do.
    assert!(printed_name_nearly_agrees("ҚАСЬМОВ", &m, "KASYMOV"));
    assert!(printed_name_nearly_agrees("АСЫМОВ", &m, "KASYMOV"), "the first letter cut off");
    assert!(printed_name_nearly_agrees("ҚАСЫМО", &m, "KASYMOV"), "the last letter cut off");
    assert!(printed_name_nearly_agrees("ШЕРБАЕВА", &m, "SHCHERBAEVA"));
    // Another letter altogether is another name: it may be reported.
    assert!(!printed_name_nearly_agrees("ҚАСЫНОВ", &m, "KASYMOV"));
    assert!(!printed_name_nearly_agrees("ПЕТРОВ", &m, "KASYMOV"));
}

#[test]
fn only_a_lost_tail_the_mrz_asks_for_is_offered_back() {
    let m = mrz();
    assert_eq!(missing_tail("ШЕРБАЕВА", &m, "SHCHERBAEVA"), Some((0, "ЩЕРБАЕВА".into())));
    assert_eq!(missing_tail("ПОЙ", &m, "TSOI"), Some((0, "ЦОЙ".into())));
    // Agreeing already, another name, or a tail the MRZ does not ask for: nothing.
    assert_eq!(missing_tail("ЩЕРБАЕВА", &m, "SHCHERBAEVA"), None);
    assert_eq!(missing_tail("ШЕРБАКОВА", &m, "SHCHERBAEVA"), None);
    assert_eq!(missing_tail("ШУБИН", &m, "SHUBIN"), None);
}

#[test]
fn an_unsure_front_iin_without_an_mrz_is_not_kept() {
    let mut f = front();
    f.confirmed.iin = false;
    let d = assemble(Some(&f), None, on());
    assert_eq!((d.iin.as_deref(), codes(&d)), (None, vec!["unreadable_field", "unreadable_field", "unreadable_field"]));
}

#[test]
fn a_front_read_without_an_mrz_says_so() {
    // A card whose back (its MRZ) did not read: null number and expiry, and
    // until said, no problem and exit code 0.
    let d = assemble(Some(&front()), None, on());
    assert_eq!((d.document_number.as_deref(), d.expiry_date), (None, None));
    let said: Vec<&str> = d.problems.iter().filter(|p| p.code == "unreadable_field").map(|p| p.message.as_str()).collect();
    assert_eq!(said, ["no MRZ was read: the document number and expiry date are not known, and nothing printed was checked against it"]);
    assert!(!d.consistent());
    assert!(!codes(&assemble(Some(&front()), Some(&mrz()), on())).contains(&"unreadable_field"), "with an MRZ, nothing said");
}

#[test]
fn names_taken_from_the_mrz_say_so_and_leave_the_patronymic_unknown_not_absent() {
    // The front was looked at, and its names not read (too small or blurred).
    let unread = FrontFields::default();
    let d = assemble(Some(&unread), Some(&mrz()), on());
    assert_eq!(d.surname.as_deref(), Some("KASYMOV"));
    assert_eq!((d.sources.surname, d.sources.given_names), (Some(FieldSource::Mrz), Some(FieldSource::Mrz)));
    assert_eq!(d.patronymic, None);
    assert!(d.problems.iter().any(|p| p.code == "unreadable_field" && p.message.contains("patronymic")), "{:?}", d.problems);
    // Names read as printed, agreeing with the MRZ: a front without a patronymic has none.
    let mut read = front();
    (read.patronymic, read.confirmed.patronymic) = (None, false);
    let d = assemble(Some(&read), Some(&mrz()), on());
    assert_eq!((d.sources.surname, d.sources.given_names), (Some(FieldSource::Both), Some(FieldSource::Both)));
    assert_eq!(codes(&d), Vec::<&str>::new());
    // Unless a name's letters under them did not read as a patronymic: one is
    // printed, misread, and null would say there is none.
    read.patronymic_unknown = true;
    let d = assemble(Some(&read), Some(&mrz()), on());
    assert_eq!(d.patronymic, None);
    assert!(d.problems.iter().any(|p| p.code == "unreadable_field" && p.message.contains("patronymic")), "{:?}", d.problems);
    // And the names themselves are not said unread: they were.
    assert!(!d.problems.iter().any(|p| p.message.contains("names printed")), "{:?}", d.problems);
}

#[test]
fn a_name_the_print_never_gave_is_said_unread_not_passed_off_as_printed() {
    // The given names and patronymic read, the surname's line not found: the
    // MRZ's Latin form stands in, and the operator is told.
    let mut read = front();
    (read.surname, read.confirmed.surname) = (None, false);
    let d = assemble(Some(&read), Some(&mrz()), on());
    assert_eq!((d.surname.as_deref(), d.sources.surname), (Some("KASYMOV"), Some(FieldSource::Mrz)));
    assert_eq!(codes(&d), vec!["unreadable_field"]);
    assert!(d.problems[0].message.contains("surname printed on the front could not be read"), "{:?}", d.problems);
    // Neither name read: one message says the names were not, and what that
    // leaves unknown; not one a name.
    let d = assemble(Some(&FrontFields::default()), Some(&mrz()), on());
    let said: Vec<&str> = d.problems.iter().filter(|p| p.message.contains("names printed") || p.message.contains("surname printed")).map(|p| p.message.as_str()).collect();
    assert_eq!(said.len(), 1, "{said:?}");
    // No front given (a card's back alone): nothing was looked for.
    assert!(assemble(None, Some(&mrz()), on()).problems.is_empty());
}
