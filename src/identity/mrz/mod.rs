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

use super::date::{self, Date};
use super::iin::{IIN_LENGTH, Sex};

mod codes;
mod error;
mod layout;
mod vouched;
pub use layout::{CharClass, char_classes, names_columns};
pub use error::MrzError;
use layout::*;

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
    /// Set by a reader that could not vouch for every character: read by one
    /// reader alone, or by two that disagreed. Such an MRZ whose check digits
    /// fail is a misread as likely as a forgery ([`Mrz::misread`]). Parsing
    /// takes the text as given and leaves this false.
    #[serde(default)]
    pub read_uncertain: bool,
    /// Set by a reader whose two readers spelled its names otherwise (no check
    /// digit covers them; a state's code is judged by [`Mrz::codes_known`]):
    /// its digits may stand, its names and sex do not ([`Mrz::vouched`]).
    #[serde(default)]
    pub letters_uncertain: bool,
}

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
pub fn digit_for_confusable_letter(character: u8) -> Option<u8> {
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
        read_uncertain: false,
        letters_uncertain: false,
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
mod tests;
