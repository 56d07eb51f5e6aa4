//! ICAO 9303 vectors and the project's own: check digits, both formats, names,
//! repairs of OCR slips, and what is refused.

use super::super::iin::Iin;
use super::*;
use proptest::prelude::*;

const TD3_SPECIMEN: [&str; 2] = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
];
const TD1_SPECIMEN: [&str; 3] = [
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
];
/// ICAO 9303 Part 11, Appendix D: a 12-character document number.
const TD1_LONG_NUMBER: [&str; 3] = [
    "I<UTOD23145890<7349<<<<<<<<<<<",
    "3407127M9507122UTO<<<<<<<<<<<2",
    "STEVENSON<<PETER<JOHN<<<<<<<<<",
];

fn reference() -> Date {
    date("2026-06-15")
}

fn date(text: &str) -> Date {
    text.parse().expect("test date literal")
}

fn parse<S: AsRef<str>>(lines: &[S]) -> Mrz {
    Mrz::parse_on(lines, reference()).expect("well-formed MRZ")
}

fn check_char(data: &str) -> char {
    char::from(b'0' + check_digit(data.as_bytes()).expect("MRZ alphabet"))
}

fn with_check(data: &str) -> String {
    format!("{data}{}", check_char(data))
}

fn padded(text: &str, width: usize) -> String {
    format!("{text:<<width$}")
}

/// Everything needed to write an MRZ; dates as YYMMDD.
#[derive(Debug, Clone)]
struct Spec {
    format: MrzFormat,
    document_code: String,
    issuing_state: String,
    document_number: String,
    optional_data_1: String,
    birth: String,
    sex: char,
    expiry: String,
    nationality: String,
    optional_data_2: String,
    personal_number: String,
    primary: String,
    secondary: Vec<String>,
}

impl Spec {
    fn kazakh_id_card() -> Spec {
        Spec {
            format: MrzFormat::Td1,
            document_code: "ID".into(),
            issuing_state: "KAZ".into(),
            document_number: "012345678".into(),
            optional_data_1: "900517401231".into(),
            birth: "900517".into(),
            sex: 'F',
            expiry: "300516".into(),
            nationality: "KAZ".into(),
            optional_data_2: String::new(),
            personal_number: String::new(),
            primary: "TESTOVA".into(),
            secondary: vec!["AIGUL".into()],
        }
    }

    fn lines(&self) -> Vec<String> {
        let names = |width| {
            padded(
                &format!("{}<<{}", self.primary, self.secondary.join("<")),
                width,
            )
        };
        let birth = with_check(&self.birth);
        let expiry = with_check(&self.expiry);
        let heading = format!(
            "{}{}",
            padded(&self.document_code, 2),
            padded(&self.issuing_state, 3)
        );
        match self.format {
            MrzFormat::Td1 => {
                let (number, optional_1) = match self.document_number.split_at_checked(9) {
                    Some((principal, extension)) if !extension.is_empty() => (
                        format!("{principal}<"),
                        format!(
                            "{extension}{}<{}",
                            check_char(&self.document_number),
                            self.optional_data_1
                        ),
                    ),
                    _ => (
                        with_check(&padded(&self.document_number, 9)),
                        self.optional_data_1.clone(),
                    ),
                };
                let line1 = format!("{heading}{number}{}", padded(&optional_1, 15));
                let optional_2 = padded(&self.optional_data_2, 11);
                let composite =
                    check_char(&format!("{}{birth}{expiry}{optional_2}", &line1[5..]));
                let line2 = format!(
                    "{birth}{}{expiry}{}{optional_2}{composite}",
                    self.sex,
                    padded(&self.nationality, 3)
                );
                vec![line1, line2, names(30)]
            }
            MrzFormat::Td3 => {
                let number = with_check(&padded(&self.document_number, 9));
                let personal = padded(&self.personal_number, 14);
                let personal_check = if self.personal_number.is_empty() {
                    '<'
                } else {
                    check_char(&personal)
                };
                let composite = check_char(&format!(
                    "{number}{birth}{expiry}{personal}{personal_check}"
                ));
                let line2 = format!(
                    "{number}{}{birth}{}{expiry}{personal}{personal_check}{composite}",
                    padded(&self.nationality, 3),
                    self.sex
                );
                vec![format!("{heading}{}", names(39)), line2]
            }
        }
    }
}

fn all_checks_pass(format: MrzFormat) -> MrzChecks {
    MrzChecks {
        document_number: true,
        birth_date: true,
        expiry_date: true,
        personal_number: (format == MrzFormat::Td3).then_some(true),
        composite: true,
    }
}

/// Copy of `lines` with the character at 1-based (line, position) replaced.
fn with_char(
    lines: &[impl AsRef<str>],
    line: usize,
    position: usize,
    replacement: char,
) -> Vec<String> {
    let mut changed: Vec<String> = lines.iter().map(|l| l.as_ref().to_owned()).collect();
    changed[line - 1].replace_range(position - 1..position, &replacement.to_string());
    changed
}

/// A position covered by a check digit.
#[derive(Debug, Clone, Copy)]
struct CheckedPosition {
    position: Position,
    /// Whether a letter here is necessarily a misread (dates, check digits).
    letters_impossible: bool,
    /// False throughout a document or personal number that genuinely holds
    /// a confusable letter: there an error anywhere in the field, check digit
    /// included, can be "repaired" into a wrong value that passes (see
    /// `genuine_confusable_letter_can_absorb_another_error`).
    repair_is_proof: bool,
}

fn checked_positions(lines: &[String]) -> Vec<CheckedPosition> {
    let layout = detect_layout(lines).expect("format");
    let zone = validate(lines.to_vec(), layout).expect("valid text");
    let fields = locate_fields(&zone, layout);
    let mut positions = Vec::new();
    for field in fields.individually_checked() {
        let repair_is_proof = !zone
            .gather(&field.data)
            .iter()
            .any(|&c| digit_for_confusable_letter(c).is_some());
        let data = field.data.iter().flat_map(|span| span.positions());
        positions.extend(data.map(|position| CheckedPosition {
            position,
            letters_impossible: field.content == Content::Numeric,
            repair_is_proof,
        }));
        positions.extend(field.check.positions().map(|position| CheckedPosition {
            position,
            letters_impossible: true,
            repair_is_proof,
        }));
    }
    positions.extend(
        fields
            .composite
            .check
            .positions()
            .map(|position| CheckedPosition {
                position,
                letters_impossible: true,
                repair_is_proof: true,
            }),
    );
    positions
}

#[test]
fn check_digit_matches_icao_worked_example() {
    // ICAO 9303 Part 3: "520727" -> 5·7 + 2·3 + 0·1 + 7·7 + 2·3 + 7·1 = 103 -> 3.
    assert_eq!(check_digit(b"520727"), Some(3));
    assert_eq!(check_digit(b"L898902C3"), Some(6));
    assert_eq!(check_digit(b"<<<<"), Some(0));
    assert_eq!(check_digit(b""), Some(0));
    assert_eq!(check_digit(b"ab"), None);
}

#[test]
fn td3_specimen_parses_with_all_checks_passing() {
    let mrz = parse(&TD3_SPECIMEN);
    assert_eq!(mrz.format, MrzFormat::Td3);
    assert_eq!(mrz.document_code, "P");
    assert_eq!(mrz.issuing_state, "UTO");
    assert_eq!(mrz.primary_identifier, "ERIKSSON");
    assert_eq!(mrz.secondary_identifiers, "ANNA MARIA");
    assert_eq!(mrz.document_number, "L898902C3");
    assert_eq!(mrz.nationality, "UTO");
    assert_eq!(mrz.birth_date, Some(date("1974-08-12")));
    assert_eq!(mrz.sex, Some(Sex::Female));
    assert_eq!(mrz.expiry_date, Some(date("2012-04-15")));
    assert_eq!(mrz.personal_number.as_deref(), Some("ZE184226B"));
    assert_eq!(mrz.optional_data_1, None);
    assert_eq!(mrz.optional_data_2, None);
    assert_eq!(mrz.checks, all_checks_pass(MrzFormat::Td3));
    assert!(mrz.valid());
    assert!(mrz.corrections.is_empty());
    assert_eq!(mrz.lines, TD3_SPECIMEN);
    assert_eq!(mrz.iin_candidate(), None);
}

#[test]
fn td1_specimen_parses_with_all_checks_passing() {
    let mrz = parse(&TD1_SPECIMEN);
    assert_eq!(mrz.format, MrzFormat::Td1);
    assert_eq!(mrz.document_code, "I");
    assert_eq!(mrz.issuing_state, "UTO");
    assert_eq!(mrz.document_number, "D23145890");
    assert_eq!(mrz.optional_data_1.as_deref(), Some(""));
    assert_eq!(mrz.birth_date, Some(date("1974-08-12")));
    assert_eq!(mrz.sex, Some(Sex::Female));
    assert_eq!(mrz.expiry_date, Some(date("2012-04-15")));
    assert_eq!(mrz.nationality, "UTO");
    assert_eq!(mrz.optional_data_2.as_deref(), Some(""));
    assert_eq!(mrz.personal_number, None);
    assert_eq!(mrz.primary_identifier, "ERIKSSON");
    assert_eq!(mrz.secondary_identifiers, "ANNA MARIA");
    assert_eq!(mrz.checks, all_checks_pass(MrzFormat::Td1));
    assert!(mrz.valid());
    assert!(mrz.corrections.is_empty());
}

#[test]
fn td1_long_document_number_continues_in_optional_data() {
    let mrz = parse(&TD1_LONG_NUMBER);
    assert_eq!(mrz.document_number, "D23145890734");
    assert_eq!(mrz.optional_data_1.as_deref(), Some(""));
    assert_eq!(mrz.birth_date, Some(date("1934-07-12")));
    assert_eq!(mrz.expiry_date, Some(date("1995-07-12")));
    assert_eq!(mrz.sex, Some(Sex::Male));
    assert_eq!(mrz.secondary_identifiers, "PETER JOHN");
    assert!(mrz.valid(), "{:?}", mrz.checks);

    // The extension's check digit is checked like any other.
    let broken = with_char(&TD1_LONG_NUMBER, 1, 19, '8');
    assert!(!parse(&broken).checks.document_number);
}

#[test]
fn td1_long_number_marker_without_extension_fails_cleanly() {
    let lines = with_char(&TD1_SPECIMEN, 1, 15, '<');
    let mrz = parse(&lines);
    assert!(!mrz.checks.document_number);
    assert_eq!(mrz.document_number, "D23145890");
    assert_eq!(mrz.optional_data_1.as_deref(), Some(""));
}

#[test]
fn kazakh_id_card_carries_the_iin_in_optional_data_1() {
    let lines = Spec::kazakh_id_card().lines();
    // Document number 012345678, weights 7 3 1 7 3 1 7 3 1:
    // 0 + 3 + 2 + 21 + 12 + 5 + 42 + 21 + 8 = 114 -> check digit 4.
    assert_eq!(lines[0], "IDKAZ0123456784900517401231<<<");
    // Birth date 900517: 63 + 0 + 0 + 35 + 3 + 7 = 108 -> 8.
    // Expiry 300516: 21 + 0 + 0 + 35 + 3 + 6 = 65 -> 5.
    assert!(
        lines[1].starts_with("9005178F3005165KAZ<<<<<<<<<<<"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], "TESTOVA<<AIGUL<<<<<<<<<<<<<<<<");

    let mrz = parse(&lines);
    assert!(mrz.valid(), "{:?}", mrz.checks);
    assert_eq!(mrz.document_code, "ID");
    assert_eq!(mrz.issuing_state, "KAZ");
    assert_eq!(mrz.document_number, "012345678");
    assert_eq!(mrz.birth_date, Some(date("1990-05-17")));
    assert_eq!(mrz.expiry_date, Some(date("2030-05-16")));
    assert_eq!(mrz.primary_identifier, "TESTOVA");
    assert_eq!(mrz.secondary_identifiers, "AIGUL");

    let candidate = mrz.iin_candidate().expect("IIN in optional data 1");
    let iin = Iin::parse(candidate).expect("valid IIN");
    assert_eq!(Some(iin.birth_date()), mrz.birth_date);
    assert_eq!(Some(iin.sex()), mrz.sex);
}

#[test]
fn kazakh_passport_carries_the_iin_as_personal_number() {
    let spec = Spec {
        format: MrzFormat::Td3,
        document_code: "P".into(),
        document_number: "N12345678".into(),
        personal_number: "900517401231".into(),
        ..Spec::kazakh_id_card()
    };
    let mrz = parse(&spec.lines());
    assert!(mrz.valid(), "{:?}", mrz.checks);
    assert_eq!(mrz.iin_candidate(), Some("900517401231"));
}

#[test]
fn iin_candidate_needs_exactly_twelve_leading_digits() {
    for (optional_data, expected) in [
        ("90051740123", None),
        ("9005174012311", None),
        ("900517401231A", Some("900517401231")),
        ("A900517401231", None),
    ] {
        let spec = Spec {
            optional_data_1: optional_data.into(),
            ..Spec::kazakh_id_card()
        };
        assert_eq!(
            parse(&spec.lines()).iin_candidate(),
            expected,
            "{optional_data}"
        );
    }
}

#[test]
fn every_single_digit_change_in_a_checked_field_is_detected() {
    let specimens = [
        TD3_SPECIMEN.map(String::from).to_vec(),
        TD1_SPECIMEN.map(String::from).to_vec(),
        TD1_LONG_NUMBER.map(String::from).to_vec(),
        Spec::kazakh_id_card().lines(),
    ];
    for lines in specimens {
        let positions = checked_positions(&lines);
        assert!(
            positions.len() >= 25,
            "TD1 has 25 checked positions, TD3 40"
        );
        for CheckedPosition {
            position,
            repair_is_proof,
            ..
        } in positions
        {
            let (line, column) = (position.line + 1, position.column + 1);
            let original = lines[position.line].as_bytes()[position.column];
            if !original.is_ascii_digit() {
                continue;
            }
            for replacement in ('0'..='9').filter(|&c| c as u8 != original) {
                let mrz = parse(&with_char(&lines, line, column, replacement));
                let case = format!("line {line} position {column} -> {replacement}");
                if repair_is_proof {
                    assert!(!mrz.valid() && mrz.corrections.is_empty(), "{case}");
                } else {
                    assert!(!mrz.valid() || !mrz.corrections.is_empty(), "{case}");
                }
            }
        }
    }
}

#[test]
fn letter_o_for_zero_in_birth_date_is_corrected_and_recorded() {
    let misread = with_char(&TD3_SPECIMEN, 2, 16, 'O');
    assert_eq!(misread[1], "L898902C36UTO74O8122F1204159ZE184226B<<<<<10");
    let mrz = parse(&misread);
    assert!(mrz.valid(), "{:?}", mrz.checks);
    assert_eq!(mrz.birth_date, Some(date("1974-08-12")));
    assert_eq!(
        mrz.corrections,
        [Correction {
            field: MrzField::BirthDate,
            line: 2,
            position: 16
        }]
    );
    assert_eq!(mrz.lines, TD3_SPECIMEN);
}

#[test]
fn letters_in_check_digits_and_document_number_are_corrected() {
    let at = |field, line, position| Correction {
        field,
        line,
        position,
    };
    let lines = Spec::kazakh_id_card().lines();

    // Birth date check digit 8 read as B.
    let mrz = parse(&with_char(&lines, 2, 7, 'B'));
    assert!(mrz.valid());
    assert_eq!(mrz.corrections, [at(MrzField::BirthDateCheck, 2, 7)]);

    // Document number 012345678 read as O12345678.
    let mrz = parse(&with_char(&lines, 1, 6, 'O'));
    assert!(mrz.valid());
    assert_eq!(mrz.document_number, "012345678");
    assert_eq!(mrz.corrections, [at(MrzField::DocumentNumber, 1, 6)]);

    // Two misreads in one MRZ: L898902C3 read as L8989O2C3 and the
    // composite check digit 0 read as O.
    let misread = with_char(&TD3_SPECIMEN, 2, 6, 'O');
    let misread = with_char(&misread, 2, 44, 'O');
    let mrz = parse(&misread);
    assert!(mrz.valid());
    assert_eq!(mrz.lines, TD3_SPECIMEN);
    assert_eq!(
        mrz.corrections,
        [
            at(MrzField::DocumentNumber, 2, 6),
            at(MrzField::CompositeCheck, 2, 44)
        ]
    );
}

#[test]
fn genuine_confusable_letter_can_absorb_another_error() {
    // Letters in document and personal numbers may be genuine. Here a real
    // misread (1 -> 2 at weight 1: +1) is cancelled by "repairing" the
    // genuine Z (35 -> 2 at weight 7: -231, i.e. -1 mod 10), and the
    // composite, whose weights line up with the personal number's, cannot
    // object. The repair is recorded, so callers can choose to distrust it.
    let misread = with_char(&TD3_SPECIMEN, 2, 31, '2');
    let mrz = parse(&misread);
    assert!(mrz.valid());
    assert_eq!(mrz.personal_number.as_deref(), Some("2E284226B"));
    assert_eq!(
        mrz.corrections,
        [Correction {
            field: MrzField::PersonalNumber,
            line: 2,
            position: 29
        }]
    );
}

#[test]
fn confusions_in_unchecked_fields_are_reported_as_read() {
    let misread = with_char(&TD3_SPECIMEN, 1, 8, '1');
    let misread = with_char(&misread, 1, 5, '0');
    let mrz = parse(&misread);
    assert_eq!(mrz.primary_identifier, "ER1KSSON");
    assert_eq!(mrz.issuing_state, "UT0");
    assert!(mrz.corrections.is_empty());
    assert!(mrz.valid(), "names and issuing state carry no check digit");
}

#[test]
fn ambiguous_repairs_are_refused() {
    // B is 11 and 8 is 8: at positions 1 and 4 (both weight 7) replacing
    // either B by 8 lowers the sum by 21, so both repairs give the same digit.
    let intended = "812B45678";
    assert_eq!(check_char(intended), check_char("B12845678"));
    let spec = Spec {
        format: MrzFormat::Td3,
        document_number: intended.into(),
        ..Spec::kazakh_id_card()
    };
    let good = spec.lines();
    let misread = with_char(&good, 2, 1, 'B');
    let mrz = parse(&misread);
    assert!(mrz.corrections.is_empty());
    assert!(!mrz.checks.document_number);
    assert_eq!(mrz.document_number, "B12B45678");
    assert_eq!(mrz.lines, misread);
}

#[test]
fn repair_is_refused_when_the_composite_disagrees() {
    let lines = Spec::kazakh_id_card().lines();
    // O for 0 in the birth date, and an IIN digit (covered only by the
    // composite) changed: the birth date repair alone cannot be proven.
    let misread = with_char(&lines, 2, 2, 'O');
    let misread = with_char(&misread, 1, 20, '9');
    let mrz = parse(&misread);
    assert!(mrz.corrections.is_empty());
    assert!(!mrz.checks.birth_date);
    assert!(!mrz.checks.composite);
    assert_eq!(mrz.birth_date, None);
    assert_eq!(mrz.lines, misread);
}

#[test]
fn field_with_more_suspects_than_the_bound_is_left_alone() {
    // Nine O's plus an O check digit: ten suspects, over the bound of eight,
    // even though reading them all as 0 would pass.
    let spec = Spec {
        format: MrzFormat::Td3,
        document_number: "000000000".into(),
        ..Spec::kazakh_id_card()
    };
    let mut all_o = spec.lines();
    assert!(all_o[1].starts_with("0000000000"));
    all_o[1].replace_range(0..10, "OOOOOOOOOO");
    let mrz = parse(&all_o);
    assert!(mrz.corrections.is_empty());
    assert!(!mrz.checks.document_number);
}

#[test]
fn empty_personal_number_may_have_filler_check_digit() {
    let spec = Spec {
        format: MrzFormat::Td3,
        ..Spec::kazakh_id_card()
    };
    let lines = spec.lines();
    assert_eq!(&lines[1][28..43], "<<<<<<<<<<<<<<<");
    assert_eq!(parse(&lines).checks.personal_number, Some(true));
    // "0" is what the check digit of fillers computes to; also valid.
    let zero = with_char(&lines, 2, 43, '0');
    let zero = with_char(
        &zero,
        2,
        44,
        check_char(&format!(
            "{}{}{}",
            &zero[1][0..10],
            &zero[1][13..20],
            &zero[1][21..43]
        )),
    );
    assert!(parse(&zero).valid());
    assert_eq!(
        parse(&with_char(&lines, 2, 43, '5')).checks.personal_number,
        Some(false)
    );
}

#[test]
fn normalizes_ocr_text() {
    let text = " p<utoeriksson<<anna<maria<<<<<<<<<<<<<<<<<<<\r\n\n L898902C36UTO 7408122F1204159 ZE184226B<<<<<10 \n";
    let mrz = parse(&[text]);
    assert!(mrz.valid());
    assert_eq!(mrz.lines, TD3_SPECIMEN);
    let owned: Vec<String> = TD1_SPECIMEN
        .iter()
        .map(|line| line.to_lowercase())
        .collect();
    assert!(parse(&owned).valid());
}

#[test]
fn structural_errors_name_lines_and_lengths_only() {
    let cases: [(Vec<String>, MrzError); 6] = [
        (vec![], MrzError::WrongLineCount { found: 0 }),
        (
            vec![TD1_SPECIMEN[0].into()],
            MrzError::WrongLineCount { found: 1 },
        ),
        (
            vec![
                TD1_SPECIMEN[0].into(),
                TD1_SPECIMEN[1][..29].into(),
                TD1_SPECIMEN[2].into(),
            ],
            MrzError::WrongLineLength {
                line: 2,
                expected: 30,
                found: 29,
            },
        ),
        (
            vec![
                "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<".into(),
                "D231458907UTO7408122F1204159<<<<<<<6".into(),
            ],
            MrzError::UnsupportedTd2,
        ),
        (
            with_char(&TD1_SPECIMEN, 3, 2, 'Р'),
            MrzError::InvalidCharacter {
                line: 3,
                position: 2,
            },
        ),
        (with_char(&TD3_SPECIMEN, 2, 21, 'W'), MrzError::InvalidSex),
    ];
    for (lines, expected) in cases {
        let error = Mrz::parse_on(&lines, reference()).expect_err("malformed on purpose");
        assert_eq!(error, expected);
        let message = error.to_string();
        for line in &lines {
            for word in line.split('<').filter(|word| word.len() >= 3) {
                assert!(!message.contains(word), "{message:?} leaks {word:?}");
            }
        }
    }
    assert_eq!(
        MrzError::WrongLineLength {
            line: 2,
            expected: 30,
            found: 29
        }
        .to_string(),
        "MRZ line 2 has 29 characters; expected 30"
    );
}

#[test]
fn serde_names() {
    let mrz = parse(&with_char(&TD3_SPECIMEN, 2, 16, 'O'));
    let json = serde_json::to_value(&mrz).expect("serialize");
    assert_eq!(json["format"], "TD3");
    assert_eq!(json["sex"], "F");
    assert_eq!(json["birth_date"], "1974-08-12");
    assert_eq!(json["corrections"][0]["field"], "birth_date");
    let back: Mrz = serde_json::from_value(json).expect("deserialize");
    assert_eq!(back, mrz);
}

fn mrz_line(length: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Z0-9<]{{{length}}}")).expect("valid regex")
}

/// A valid MRZ's spec with the dates it should parse to (relative to `reference()`).
fn valid_spec() -> impl Strategy<Value = (Spec, Date, Date)> {
    let format = prop_oneof![Just(MrzFormat::Td1), Just(MrzFormat::Td3)];
    let document_number = prop_oneof!["[A-Z0-9]{1,9}", "[A-Z0-9]{10,15}"];
    let codes = ("[A-Z]{1,2}", "[A-Z]{1,3}", "[A-Z]{1,3}");
    let optional = ("[A-Z0-9]{0,15}", "[A-Z0-9]{0,11}", "[A-Z0-9]{0,14}");
    let names = ("[A-Z]{1,10}", prop::collection::vec("[A-Z]{1,8}", 0..=2));
    let sex = prop_oneof![Just('M'), Just('F'), Just('<')];
    // Birth less than 100 years back; expiry within ±49 years.
    let dates = (0i64..36_500, -18_000i64..18_000);
    (format, document_number, codes, optional, names, sex, dates).prop_map(
        |(
            format,
            document_number,
            codes,
            optional,
            names,
            sex,
            (birth_back, expiry_offset),
        )| {
            let today = reference().to_unix_days();
            let birth = Date::from_unix_days(today - birth_back).expect("in range");
            let expiry = Date::from_unix_days(today + expiry_offset).expect("in range");
            let yymmdd =
                |d: Date| format!("{:02}{:02}{:02}", d.year() % 100, d.month(), d.day());
            let (document_code, issuing_state, nationality) = codes;
            let (mut optional_data_1, optional_data_2, personal_number) = optional;
            let document_number: String = match format {
                MrzFormat::Td1 => document_number,
                MrzFormat::Td3 => document_number.chars().take(9).collect(),
            };
            // A long number's extension, its check digit and a filler come
            // first in optional data 1 and leave less room for the rest.
            let extension_length = document_number.len().saturating_sub(9);
            let room = if extension_length > 0 {
                15 - extension_length - 2
            } else {
                15
            };
            optional_data_1.truncate(room);
            let spec = Spec {
                format,
                document_code,
                issuing_state,
                document_number,
                optional_data_1,
                birth: yymmdd(birth),
                sex,
                expiry: yymmdd(expiry),
                nationality,
                optional_data_2,
                personal_number,
                primary: names.0,
                secondary: names.1,
            };
            (spec, birth, expiry)
        },
    )
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_text(text in "\\PC{0,200}", lines in prop::collection::vec(".{0,50}", 0..5)) {
        let _ = Mrz::parse_on(&[&text], reference());
        let _ = Mrz::parse_on(&lines, reference());
        let _ = Mrz::parse(&lines);
    }

    #[test]
    fn parse_never_panics_on_mrz_shaped_noise(
        lines in prop_oneof![
            prop::collection::vec(mrz_line(30), 3),
            prop::collection::vec(mrz_line(44), 2),
        ]
    ) {
        if let Ok(mrz) = Mrz::parse_on(&lines, reference()) {
            prop_assert_eq!(mrz.lines.len(), mrz.format.line_count());
            prop_assert!(mrz.lines.iter().all(|line| line.len() == mrz.format.line_length()));
            // A correction is only ever kept when its field and the composite verify.
            for correction in &mrz.corrections {
                let field_passes = match correction.field {
                    MrzField::DocumentNumber | MrzField::DocumentNumberCheck => mrz.checks.document_number,
                    MrzField::BirthDate | MrzField::BirthDateCheck => mrz.checks.birth_date,
                    MrzField::ExpiryDate | MrzField::ExpiryDateCheck => mrz.checks.expiry_date,
                    MrzField::PersonalNumber | MrzField::PersonalNumberCheck => mrz.checks.personal_number == Some(true),
                    MrzField::CompositeCheck => true,
                };
                prop_assert!(field_passes && mrz.checks.composite);
            }
        }
    }

    #[test]
    fn valid_mrz_round_trips((spec, birth, expiry) in valid_spec()) {
        let lines = spec.lines();
        let mrz = Mrz::parse_on(&lines, reference()).expect("well-formed MRZ");
        prop_assert_eq!(mrz.checks, all_checks_pass(spec.format));
        prop_assert!(mrz.corrections.is_empty());
        prop_assert_eq!(&mrz.lines, &lines);
        prop_assert_eq!(mrz.format, spec.format);
        prop_assert_eq!(&mrz.document_code, &spec.document_code);
        prop_assert_eq!(&mrz.issuing_state, &spec.issuing_state);
        prop_assert_eq!(&mrz.document_number, &spec.document_number);
        prop_assert_eq!(mrz.birth_date, Some(birth));
        prop_assert_eq!(mrz.expiry_date, Some(expiry));
        let sex = match spec.sex { 'M' => Some(Sex::Male), 'F' => Some(Sex::Female), _ => None };
        prop_assert_eq!(mrz.sex, sex);
        prop_assert_eq!(&mrz.nationality, &spec.nationality);
        prop_assert_eq!(&mrz.primary_identifier, &spec.primary);
        prop_assert_eq!(mrz.secondary_identifiers, spec.secondary.join(" "));
        let td1 = spec.format == MrzFormat::Td1;
        prop_assert_eq!(mrz.optional_data_1, td1.then_some(spec.optional_data_1));
        prop_assert_eq!(mrz.optional_data_2, td1.then_some(spec.optional_data_2));
        prop_assert_eq!(mrz.personal_number, (!td1).then_some(spec.personal_number));
    }

    #[test]
    fn single_change_in_checked_numeric_field_is_detected_or_provably_corrected(
        (spec, _, _) in valid_spec(),
        which in any::<prop::sample::Index>(),
        digit_shift in 1u8..10,
        letter in b'A'..=b'Z',
        use_letter in any::<bool>(),
    ) {
        let lines = spec.lines();
        let original_at = |p: &CheckedPosition| lines[p.position.line].as_bytes()[p.position.column];
        // Letter/digit swaps in document and personal numbers can be
        // invisible to the 7-3-1 check digit (A = 10 weighs like 0), so
        // those fields only get digit-for-digit changes where a digit stood.
        let eligible: Vec<CheckedPosition> = checked_positions(&lines)
            .into_iter()
            .filter(|p| p.letters_impossible || original_at(p).is_ascii_digit())
            .collect();
        let chosen = eligible[which.index(eligible.len())];
        let CheckedPosition { position, letters_impossible, repair_is_proof } = chosen;
        let original = original_at(&chosen);
        let replacement = if use_letter && letters_impossible {
            letter
        } else {
            let original_digit = if original.is_ascii_digit() { original - b'0' } else { 0 };
            b'0' + (original_digit + digit_shift) % 10
        };
        // '<' and '0' are both valid check digits of an empty personal
        // number, and O is a proven misread of 0.
        prop_assume!(!(original == FILLER && replacement == b'O'));

        let changed = with_char(&lines, position.line + 1, position.column + 1, char::from(replacement));
        let mrz = Mrz::parse_on(&changed, reference()).expect("still well-formed");
        if mrz.corrections.is_empty() {
            prop_assert!(!mrz.valid());
        } else {
            prop_assert!(mrz.valid());
            if repair_is_proof {
                prop_assert_eq!(&mrz.lines, &lines, "a proven correction restores the original");
            }
        }
    }
}

#[test]
fn character_classes_follow_the_field_layout_and_admit_the_specimens() {
    // A letters, N digits, X either, S sex: as ICAO 9303 part 3 gives each field.
    let drawn = |format| -> Vec<String> {
        char_classes(format)
            .iter()
            .map(|line| {
                line.iter()
                    .map(|class| match class {
                        CharClass::Alpha => 'A',
                        CharClass::Numeric => 'N',
                        CharClass::Alnum => 'X',
                        CharClass::Sex => 'S',
                    })
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        drawn(MrzFormat::Td1),
        [
            "AAAAAXXXXXXXXXNXXXXXXXXXXXXXXX",
            "NNNNNNNSNNNNNNNAAAXXXXXXXXXXXN",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ]
    );
    assert_eq!(
        drawn(MrzFormat::Td3),
        [
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "XXXXXXXXXNAAANNNNNNNSNNNNNNNXXXXXXXXXXXXXXNN",
        ]
    );
    for (format, lines) in [(MrzFormat::Td1, &TD1_SPECIMEN[..]), (MrzFormat::Td3, &TD3_SPECIMEN[..]), (MrzFormat::Td1, &TD1_LONG_NUMBER[..])] {
        for (classes, line) in char_classes(format).iter().zip(lines) {
            assert!(classes.iter().zip(line.bytes()).all(|(class, c)| class.allows(c)), "{line}");
        }
    }
}
