//! ICAO 9303 machine readable zones: TD1 (3 lines × 30, identity cards such
//! as the Kazakh ID card) and TD3 (2 lines × 44, passports).
//!
//! OCR confusions (O, I, S, B, Z read for 0, 1, 5, 8, 2) are repaired only
//! inside fields that a check digit covers, only when exactly one repair
//! satisfies that check digit, and only when the composite check digit then
//! agrees. Every repair is listed in [`Mrz::corrections`]. Names and country
//! codes have no check digit and are reported as read.
//!
//! In dates and check digits a letter is certainly a misread, so the repair is
//! forced. Document and personal numbers may hold genuine letters; there a
//! repair can, about 1 time in 10, cancel out some other misread, and the
//! composite cannot catch it because its weights line up with those fields'
//! own. Callers that cannot accept that should treat a correction in
//! [`MrzField::DocumentNumber`] or [`MrzField::PersonalNumber`] as a failure.

use std::fmt;

use super::date::{self, Date};
use super::iin::{IIN_LENGTH, Sex};

const FILLER: u8 = b'<';

/// TD2 (2 × 36) is recognised only to say that it is not supported.
const TD2_LINE_LENGTH: usize = 36;

/// More suspect characters than this in one field and no repair is tried:
/// 2^8 candidates is plenty, and a 1-in-10 check digit cannot single out one
/// candidate among that many anyway.
const MAX_SUSPECT_POSITIONS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum MrzFormat {
    #[serde(rename = "TD1")]
    Td1,
    #[serde(rename = "TD3")]
    Td3,
}

impl MrzFormat {
    pub const fn line_count(self) -> usize {
        match self {
            MrzFormat::Td1 => 3,
            MrzFormat::Td3 => 2,
        }
    }

    pub const fn line_length(self) -> usize {
        match self {
            MrzFormat::Td1 => 30,
            MrzFormat::Td3 => 44,
        }
    }
}

/// Outcome of each check digit, after any proven corrections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct MrzChecks {
    pub document_number: bool,
    pub birth_date: bool,
    pub expiry_date: bool,
    /// TD3 only; an all-filler personal number with a `<` check digit passes.
    pub personal_number: Option<bool>,
    pub composite: bool,
}

impl MrzChecks {
    pub fn all_pass(&self) -> bool {
        self.document_number
            && self.birth_date
            && self.expiry_date
            && self.personal_number != Some(false)
            && self.composite
    }
}

/// The checked fields a correction can touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MrzField {
    DocumentNumber,
    DocumentNumberCheck,
    BirthDate,
    BirthDateCheck,
    ExpiryDate,
    ExpiryDateCheck,
    PersonalNumber,
    PersonalNumberCheck,
    CompositeCheck,
}

/// One character replaced by the digit it was proven to be. Only where, not
/// what: the characters themselves are personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Correction {
    pub field: MrzField,
    /// 1-based line number.
    pub line: usize,
    /// 1-based character position within the line, as in ICAO 9303.
    pub position: usize,
}

/// A parsed MRZ. Text fields have trailing filler removed; everything that
/// no check digit covers is exactly as read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mrz {
    pub format: MrzFormat,
    /// The normalised lines with proven corrections applied.
    pub lines: Vec<String>,
    pub document_code: String,
    pub issuing_state: String,
    /// For a TD1 long document number, the nine principal characters joined
    /// with the extension taken from optional data 1.
    pub document_number: String,
    /// TD1 only: optional data 1, after any document number extension. On
    /// Kazakh ID cards it opens with the holder's IIN.
    pub optional_data_1: Option<String>,
    /// `None` if the digits are not a real day (or are partly unknown, `<`).
    pub birth_date: Option<Date>,
    /// `None` when unspecified (`<` or `X`).
    pub sex: Option<Sex>,
    pub expiry_date: Option<Date>,
    pub nationality: String,
    /// TD1 only.
    pub optional_data_2: Option<String>,
    /// TD3 only (line 2, positions 29–42); Kazakh passports put the IIN here.
    pub personal_number: Option<String>,
    /// Surname(s), with `<` turned into spaces.
    pub primary_identifier: String,
    /// Given names, separated by single spaces.
    pub secondary_identifiers: String,
    pub checks: MrzChecks,
    pub corrections: Vec<Correction>,
}

/// Why text is not a TD1 or TD3 MRZ. Messages give line numbers, positions
/// and lengths, never the text itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrzError {
    WrongLineCount {
        found: usize,
    },
    /// `line` is 1-based.
    WrongLineLength {
        line: usize,
        expected: usize,
        found: usize,
    },
    /// Two lines of 36 characters: TD2, which this parser does not handle.
    UnsupportedTd2,
    /// A character outside `A-Z`, `0-9`, `<`; `line` and `position` are 1-based.
    InvalidCharacter {
        line: usize,
        position: usize,
    },
    /// The sex field is not `M`, `F`, `X` or `<`.
    InvalidSex,
}

impl fmt::Display for MrzError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MrzError::WrongLineCount { found } => write!(
                f,
                "MRZ has {found} non-empty lines; expected 3 (TD1) or 2 (TD3)"
            ),
            MrzError::WrongLineLength {
                line,
                expected,
                found,
            } => write!(
                f,
                "MRZ line {line} has {found} characters; expected {expected}"
            ),
            MrzError::UnsupportedTd2 => {
                f.write_str("MRZ is TD2 (2 lines of 36), which is not supported")
            }
            MrzError::InvalidCharacter { line, position } => write!(
                f,
                "MRZ line {line} has a character other than A-Z, 0-9 or '<' at position {position}"
            ),
            MrzError::InvalidSex => f.write_str("MRZ sex field is not M, F, X or '<'"),
        }
    }
}

impl std::error::Error for MrzError {}

/// ICAO 9303 check digit of `data`: character values ('<' = 0, digits their
/// value, A–Z = 10–35) weighted 7, 3, 1 repeating, summed mod 10. `None` if
/// `data` holds a byte outside that alphabet.
pub fn check_digit(data: &[u8]) -> Option<u8> {
    const WEIGHTS: [u8; 3] = [7, 3, 1];
    data.iter()
        .zip(WEIGHTS.iter().cycle())
        .try_fold(0u8, |sum, (&character, &weight)| {
            // Reducing as we go keeps every intermediate below 10 + 35 · 7.
            let term = u16::from(char_value(character)?) * u16::from(weight);
            u8::try_from((u16::from(sum) + term) % 10).ok()
        })
}

fn char_value(character: u8) -> Option<u8> {
    match character {
        b'0'..=b'9' => Some(character - b'0'),
        b'A'..=b'Z' => Some(character - b'A' + 10),
        FILLER => Some(0),
        _ => None,
    }
}

fn is_mrz_char(character: char) -> bool {
    character.is_ascii_uppercase() || character.is_ascii_digit() || character == '<'
}

/// The digit an OCR engine most often misreads as this letter.
fn digit_for_confusable_letter(character: u8) -> Option<u8> {
    match character {
        b'O' => Some(b'0'),
        b'I' => Some(b'1'),
        b'S' => Some(b'5'),
        b'B' => Some(b'8'),
        b'Z' => Some(b'2'),
        _ => None,
    }
}

impl Mrz {
    /// Parses with two-digit years resolved against today's UTC date.
    pub fn parse<S: AsRef<str>>(lines: &[S]) -> Result<Mrz, MrzError> {
        Mrz::parse_on(lines, date::today_utc())
    }

    /// Parses an MRZ given as lines, or as one or more strings containing
    /// line breaks. Whitespace inside lines and blank lines are dropped and
    /// letters upper-cased. Two-digit years are resolved against `reference`
    /// (see [`date::birth_date_from_yymmdd`], [`date::expiry_date_from_yymmdd`]).
    pub fn parse_on<S: AsRef<str>>(lines: &[S], reference: Date) -> Result<Mrz, MrzError> {
        let lines = normalize(lines);
        let layout = detect_layout(&lines)?;
        let as_read = validate(lines, layout)?;
        let fields = locate_fields(&as_read, layout);
        let (zone, corrections) = apply_proven_corrections(as_read, &fields);
        assemble(zone, layout, &fields, corrections, reference)
    }

    /// Every check digit present passes.
    pub fn valid(&self) -> bool {
        self.checks.all_pass()
    }

    /// The IIN-shaped prefix of the optional data (TD1 optional data 1, TD3
    /// personal number): exactly 12 leading digits. Not validated as an IIN.
    pub fn iin_candidate(&self) -> Option<&str> {
        let source = match self.format {
            MrzFormat::Td1 => self.optional_data_1.as_deref(),
            MrzFormat::Td3 => self.personal_number.as_deref(),
        }?;
        let leading_digits = source.bytes().take_while(u8::is_ascii_digit).count();
        if leading_digits == IIN_LENGTH {
            source.get(..IIN_LENGTH)
        } else {
            None
        }
    }
}

/// One 0-based character coordinate in the MRZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    line: usize,
    column: usize,
}

/// A run of characters on one line: 0-based, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    line: usize,
    start: usize,
    end: usize,
}

impl Span {
    fn positions(self) -> impl Iterator<Item = Position> {
        (self.start..self.end).map(move |column| Position {
            line: self.line,
            column,
        })
    }

    fn contains(self, position: Position) -> bool {
        position.line == self.line && (self.start..self.end).contains(&position.column)
    }
}

/// A span written as ICAO 9303 tables give it: 1-based line, 1-based
/// inclusive first and last positions.
const fn icao(line: usize, first: usize, last: usize) -> Span {
    Span {
        line: line - 1,
        start: first - 1,
        end: last,
    }
}

/// Where each field sits in a format. TD1 optional data and the TD3 personal
/// number are format-specific and live in their own constants.
struct Layout {
    format: MrzFormat,
    document_code: Span,
    issuing_state: Span,
    document_number: Span,
    document_number_check: Span,
    birth_date: Span,
    birth_date_check: Span,
    sex: Span,
    expiry_date: Span,
    expiry_date_check: Span,
    nationality: Span,
    names: Span,
    composite: &'static [Span],
    composite_check: Span,
}

// ICAO 9303 Part 5, TD1.
const TD1: Layout = Layout {
    format: MrzFormat::Td1,
    document_code: icao(1, 1, 2),
    issuing_state: icao(1, 3, 5),
    document_number: icao(1, 6, 14),
    document_number_check: icao(1, 15, 15),
    birth_date: icao(2, 1, 6),
    birth_date_check: icao(2, 7, 7),
    sex: icao(2, 8, 8),
    expiry_date: icao(2, 9, 14),
    expiry_date_check: icao(2, 15, 15),
    nationality: icao(2, 16, 18),
    names: icao(3, 1, 30),
    composite: &[
        icao(1, 6, 30),
        icao(2, 1, 7),
        icao(2, 9, 15),
        icao(2, 19, 29),
    ],
    composite_check: icao(2, 30, 30),
};
const TD1_OPTIONAL_DATA_1: Span = icao(1, 16, 30);
const TD1_OPTIONAL_DATA_2: Span = icao(2, 19, 29);

// ICAO 9303 Part 4, TD3.
const TD3: Layout = Layout {
    format: MrzFormat::Td3,
    document_code: icao(1, 1, 2),
    issuing_state: icao(1, 3, 5),
    names: icao(1, 6, 44),
    document_number: icao(2, 1, 9),
    document_number_check: icao(2, 10, 10),
    nationality: icao(2, 11, 13),
    birth_date: icao(2, 14, 19),
    birth_date_check: icao(2, 20, 20),
    sex: icao(2, 21, 21),
    expiry_date: icao(2, 22, 27),
    expiry_date_check: icao(2, 28, 28),
    composite: &[icao(2, 1, 10), icao(2, 14, 20), icao(2, 22, 43)],
    composite_check: icao(2, 44, 44),
};
const TD3_PERSONAL_NUMBER: Span = icao(2, 29, 42);
const TD3_PERSONAL_NUMBER_CHECK: Span = icao(2, 43, 43);

/// Validated MRZ text: the right number of lines of the right length, every
/// byte in `A-Z0-9<`.
#[derive(Clone)]
struct Zone {
    lines: Vec<Vec<u8>>,
}

impl Zone {
    /// The bytes of `span`; empty if it lies outside the zone (it never does
    /// for the layouts above, but this keeps extraction total).
    fn text(&self, span: Span) -> &[u8] {
        self.lines
            .get(span.line)
            .and_then(|line| line.get(span.start..span.end))
            .unwrap_or_default()
    }

    /// The bytes of several spans, in order.
    fn gather(&self, spans: &[Span]) -> Vec<u8> {
        spans
            .iter()
            .flat_map(|&span| self.text(span).iter().copied())
            .collect()
    }

    fn char_at(&self, position: Position) -> Option<u8> {
        self.lines.get(position.line)?.get(position.column).copied()
    }

    /// Replaces a confusable letter with its digit; anything else is left alone.
    fn substitute_digit(&mut self, position: Position) {
        let slot = self
            .lines
            .get_mut(position.line)
            .and_then(|line| line.get_mut(position.column));
        if let Some(slot) = slot
            && let Some(digit) = digit_for_confusable_letter(*slot)
        {
            *slot = digit;
        }
    }

    fn into_strings(self) -> Vec<String> {
        self.lines.iter().map(|line| ascii_string(line)).collect()
    }
}

fn ascii_string(bytes: &[u8]) -> String {
    bytes.iter().copied().map(char::from).collect()
}

/// A field's text without the trailing filler that pads it.
fn field_string(bytes: &[u8]) -> String {
    ascii_string(bytes).trim_end_matches('<').to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    /// Digits, or `<` for unknown parts (dates).
    Numeric,
    /// Letters, digits and filler (document and personal numbers).
    Alphanumeric,
}

/// Data protected by one check digit.
#[derive(Debug, Clone)]
struct CheckedField {
    /// `None` for the composite: its data are other fields and never repaired
    /// on its behalf.
    data_field: Option<MrzField>,
    check_field: MrzField,
    data: Vec<Span>,
    /// A single character.
    check: Span,
    content: Content,
    /// ICAO allows `<` as the check digit of an all-filler personal number.
    filler_check_allowed: bool,
}

impl CheckedField {
    fn new(
        data_field: MrzField,
        check_field: MrzField,
        data: Vec<Span>,
        check: Span,
        content: Content,
    ) -> CheckedField {
        CheckedField {
            data_field: Some(data_field),
            check_field,
            data,
            check,
            content,
            filler_check_allowed: false,
        }
    }

    fn verifies(&self, zone: &Zone) -> bool {
        let data = zone.gather(&self.data);
        let &[check] = zone.text(self.check) else {
            return false;
        };
        let well_formed = match self.content {
            Content::Numeric => data.iter().all(|&c| c.is_ascii_digit() || c == FILLER),
            Content::Alphanumeric => true,
        };
        if !well_formed {
            return false;
        }
        if self.filler_check_allowed && check == FILLER && data.iter().all(|&c| c == FILLER) {
            return true;
        }
        check.is_ascii_digit() && check_digit(&data) == Some(check - b'0')
    }

    /// Positions holding a letter that could be a misread digit.
    fn suspect_positions(&self, zone: &Zone) -> Vec<Position> {
        let repairable_data = if self.data_field.is_some() {
            self.data.as_slice()
        } else {
            &[]
        };
        repairable_data
            .iter()
            .chain([&self.check])
            .flat_map(|span| span.positions())
            .filter(|&position| {
                zone.char_at(position)
                    .and_then(digit_for_confusable_letter)
                    .is_some()
            })
            .collect()
    }

    /// The one set of letter→digit substitutions that makes this field
    /// verify, if exactly one exists among all combinations of suspects.
    fn unique_repair(&self, zone: &Zone) -> Option<Vec<Position>> {
        let suspects = self.suspect_positions(zone);
        if suspects.is_empty() || suspects.len() > MAX_SUSPECT_POSITIONS {
            return None;
        }
        let mut proven = None;
        // Mask 0 is the text as read, which already failed.
        for mask in 1u32..(1 << suspects.len()) {
            let chosen: Vec<Position> = suspects
                .iter()
                .enumerate()
                .filter(|&(bit, _)| mask & (1 << bit) != 0)
                .map(|(_, &position)| position)
                .collect();
            let mut candidate = zone.clone();
            for &position in &chosen {
                candidate.substitute_digit(position);
            }
            if self.verifies(&candidate) {
                if proven.is_some() {
                    return None;
                }
                proven = Some(chosen);
            }
        }
        proven
    }

    fn correction_at(&self, position: Position) -> Correction {
        let field = match self.data_field {
            Some(data_field) if !self.check.contains(position) => data_field,
            _ => self.check_field,
        };
        Correction {
            field,
            line: position.line + 1,
            position: position.column + 1,
        }
    }
}

/// Field locations in one particular MRZ: a TD1 long document number moves
/// its check digit and optional data 1.
struct Fields {
    document_number: CheckedField,
    birth_date: CheckedField,
    expiry_date: CheckedField,
    personal_number: Option<CheckedField>,
    composite: CheckedField,
    optional_data_1: Option<Span>,
    optional_data_2: Option<Span>,
}

impl Fields {
    /// Fields with a check digit of their own, in MRZ order.
    fn individually_checked(&self) -> impl Iterator<Item = &CheckedField> {
        [&self.document_number, &self.birth_date, &self.expiry_date]
            .into_iter()
            .chain(self.personal_number.as_ref())
    }
}

fn locate_fields(zone: &Zone, layout: &Layout) -> Fields {
    let (document_number_data, document_number_check, optional_data_1) = match layout.format {
        MrzFormat::Td1 => {
            let (data, check, optional) = locate_td1_document_number(zone);
            (data, check, Some(optional))
        }
        MrzFormat::Td3 => (
            vec![layout.document_number],
            layout.document_number_check,
            None,
        ),
    };
    let personal_number = (layout.format == MrzFormat::Td3).then(|| CheckedField {
        filler_check_allowed: true,
        ..CheckedField::new(
            MrzField::PersonalNumber,
            MrzField::PersonalNumberCheck,
            vec![TD3_PERSONAL_NUMBER],
            TD3_PERSONAL_NUMBER_CHECK,
            Content::Alphanumeric,
        )
    });
    Fields {
        document_number: CheckedField::new(
            MrzField::DocumentNumber,
            MrzField::DocumentNumberCheck,
            document_number_data,
            document_number_check,
            Content::Alphanumeric,
        ),
        birth_date: CheckedField::new(
            MrzField::BirthDate,
            MrzField::BirthDateCheck,
            vec![layout.birth_date],
            layout.birth_date_check,
            Content::Numeric,
        ),
        expiry_date: CheckedField::new(
            MrzField::ExpiryDate,
            MrzField::ExpiryDateCheck,
            vec![layout.expiry_date],
            layout.expiry_date_check,
            Content::Numeric,
        ),
        personal_number,
        composite: CheckedField {
            data_field: None,
            check_field: MrzField::CompositeCheck,
            data: layout.composite.to_vec(),
            check: layout.composite_check,
            content: Content::Alphanumeric,
            filler_check_allowed: false,
        },
        optional_data_1,
        optional_data_2: (layout.format == MrzFormat::Td1).then_some(TD1_OPTIONAL_DATA_2),
    }
}

/// TD1 document number spans, its check digit, and what is left of optional
/// data 1. A `<` where the check digit belongs marks a number longer than
/// nine characters (ICAO 9303-5, note j): the rest of it and then its check
/// digit open optional data 1, ended by a filler.
fn locate_td1_document_number(zone: &Zone) -> (Vec<Span>, Span, Span) {
    let principal = TD1.document_number;
    let regular_check = TD1.document_number_check;
    if zone.text(regular_check) != [FILLER] {
        return (vec![principal], regular_check, TD1_OPTIONAL_DATA_1);
    }
    let optional = TD1_OPTIONAL_DATA_1;
    let run = zone
        .text(optional)
        .iter()
        .take_while(|&&c| c != FILLER)
        .count();
    if run == 0 {
        // No extension and no check digit: the `<` stays the check and fails.
        return (vec![principal], regular_check, optional);
    }
    let check_column = optional.start + run - 1;
    let extension = Span {
        end: check_column,
        ..optional
    };
    let check = Span {
        start: check_column,
        end: check_column + 1,
        ..optional
    };
    // Skip the terminating filler, if the run did not fill the whole field.
    let rest = Span {
        start: (check_column + 2).min(optional.end),
        ..optional
    };
    (vec![principal, extension], check, rest)
}

/// Applies each checked field's unique repair, then keeps them only if the
/// composite check digit (which covers all those fields) agrees with the
/// repaired text; otherwise returns the zone exactly as read. A composite
/// check character misread as a letter is repaired the same way.
fn apply_proven_corrections(as_read: Zone, fields: &Fields) -> (Zone, Vec<Correction>) {
    let mut repaired = as_read.clone();
    let mut corrections = Vec::new();
    let mut apply = |zone: &mut Zone, field: &CheckedField, positions: Vec<Position>| {
        for position in positions {
            zone.substitute_digit(position);
            corrections.push(field.correction_at(position));
        }
    };
    for field in fields.individually_checked() {
        if field.verifies(&as_read) {
            continue;
        }
        if let Some(positions) = field.unique_repair(&as_read) {
            apply(&mut repaired, field, positions);
        }
    }
    let composite = &fields.composite;
    if !composite.verifies(&repaired)
        && let Some(positions) = composite.unique_repair(&repaired)
    {
        apply(&mut repaired, composite, positions);
    }
    if corrections.is_empty() || !composite.verifies(&repaired) {
        return (as_read, Vec::new());
    }
    (repaired, corrections)
}

fn assemble(
    zone: Zone,
    layout: &Layout,
    fields: &Fields,
    corrections: Vec<Correction>,
    reference: Date,
) -> Result<Mrz, MrzError> {
    let sex = match zone.text(layout.sex) {
        b"M" => Some(Sex::Male),
        b"F" => Some(Sex::Female),
        b"<" | b"X" => None,
        _ => return Err(MrzError::InvalidSex),
    };
    let checks = MrzChecks {
        document_number: fields.document_number.verifies(&zone),
        birth_date: fields.birth_date.verifies(&zone),
        expiry_date: fields.expiry_date.verifies(&zone),
        personal_number: fields
            .personal_number
            .as_ref()
            .map(|field| field.verifies(&zone)),
        composite: fields.composite.verifies(&zone),
    };
    let names = ascii_string(zone.text(layout.names));
    let (primary_identifier, secondary_identifiers) = split_names(&names);
    let birth_date =
        date::birth_date_from_yymmdd(&ascii_string(zone.text(layout.birth_date)), reference);
    let expiry_date =
        date::expiry_date_from_yymmdd(&ascii_string(zone.text(layout.expiry_date)), reference);
    Ok(Mrz {
        format: layout.format,
        document_code: field_string(zone.text(layout.document_code)),
        issuing_state: field_string(zone.text(layout.issuing_state)),
        document_number: field_string(&zone.gather(&fields.document_number.data)),
        optional_data_1: fields
            .optional_data_1
            .map(|span| field_string(zone.text(span))),
        birth_date,
        sex,
        expiry_date,
        nationality: field_string(zone.text(layout.nationality)),
        optional_data_2: fields
            .optional_data_2
            .map(|span| field_string(zone.text(span))),
        personal_number: fields
            .personal_number
            .as_ref()
            .map(|field| field_string(&zone.gather(&field.data))),
        primary_identifier,
        secondary_identifiers,
        checks,
        corrections,
        lines: zone.into_strings(),
    })
}

/// Splits the name field at the first `<<` into primary and secondary
/// identifiers, turning the remaining `<` into single spaces.
fn split_names(names: &str) -> (String, String) {
    let (primary, secondary) = names.split_once("<<").unwrap_or((names, ""));
    let words = |part: &str| {
        part.split('<')
            .filter(|word| !word.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    (words(primary), words(secondary))
}

/// Splits input into lines, drops whitespace and blank lines, upper-cases.
fn normalize<S: AsRef<str>>(input: &[S]) -> Vec<String> {
    input
        .iter()
        .flat_map(|chunk| chunk.as_ref().split(['\n', '\r']))
        .map(|line| {
            line.chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| c.to_ascii_uppercase())
                .collect::<String>()
        })
        .filter(|line| !line.is_empty())
        .collect()
}

fn detect_layout(lines: &[String]) -> Result<&'static Layout, MrzError> {
    match lines.len() {
        3 => Ok(&TD1),
        2 if lines
            .iter()
            .all(|line| line.chars().count() == TD2_LINE_LENGTH) =>
        {
            Err(MrzError::UnsupportedTd2)
        }
        2 => Ok(&TD3),
        found => Err(MrzError::WrongLineCount { found }),
    }
}

fn validate(lines: Vec<String>, layout: &Layout) -> Result<Zone, MrzError> {
    let expected = layout.format.line_length();
    for (index, line) in lines.iter().enumerate() {
        let found = line.chars().count();
        if found != expected {
            return Err(MrzError::WrongLineLength {
                line: index + 1,
                expected,
                found,
            });
        }
        if let Some(column) = line.chars().position(|c| !is_mrz_char(c)) {
            return Err(MrzError::InvalidCharacter {
                line: index + 1,
                position: column + 1,
            });
        }
    }
    Ok(Zone {
        lines: lines.into_iter().map(String::into_bytes).collect(),
    })
}

#[cfg(test)]
mod tests {
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
}
