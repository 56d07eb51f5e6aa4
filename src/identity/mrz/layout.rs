//! Where each field sits in a TD1 and a TD3 zone (ICAO 9303 parts 4 and 5), as
//! spans of character positions.

use super::MrzFormat;

/// One 0-based character coordinate in the MRZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Position {
    pub(super) line: usize,
    pub(super) column: usize,
}

/// A run of characters on one line: 0-based, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) line: usize,
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Span {
    pub(super) fn positions(self) -> impl Iterator<Item = Position> {
        (self.start..self.end).map(move |column| Position {
            line: self.line,
            column,
        })
    }

    pub(super) fn contains(self, position: Position) -> bool {
        position.line == self.line && (self.start..self.end).contains(&position.column)
    }
}

/// A span written as ICAO 9303 tables give it: 1-based line, 1-based
/// inclusive first and last positions.
pub(super) const fn icao(line: usize, first: usize, last: usize) -> Span {
    Span {
        line: line - 1,
        start: first - 1,
        end: last,
    }
}

/// Where each field sits in a format. TD1 optional data and the TD3 personal
/// number are format-specific and live in their own constants.
pub(super) struct Layout {
    pub(super) format: MrzFormat,
    pub(super) document_code: Span,
    pub(super) issuing_state: Span,
    pub(super) document_number: Span,
    pub(super) document_number_check: Span,
    pub(super) birth_date: Span,
    pub(super) birth_date_check: Span,
    pub(super) sex: Span,
    pub(super) expiry_date: Span,
    pub(super) expiry_date_check: Span,
    pub(super) nationality: Span,
    pub(super) names: Span,
    pub(super) composite: &'static [Span],
    pub(super) composite_check: Span,
}

// ICAO 9303 Part 5, TD1.
pub(super) const TD1: Layout = Layout {
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
pub(super) const TD1_OPTIONAL_DATA_1: Span = icao(1, 16, 30);
pub(super) const TD1_OPTIONAL_DATA_2: Span = icao(2, 19, 29);

// ICAO 9303 Part 4, TD3.
pub(super) const TD3: Layout = Layout {
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
pub(super) const TD3_PERSONAL_NUMBER: Span = icao(2, 29, 42);
pub(super) const TD3_PERSONAL_NUMBER_CHECK: Span = icao(2, 43, 43);

/// What a position may hold (ICAO 9303 part 3, field formats), so a reader can
/// choose only among the characters a position allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharClass {
    /// Letters and filler: codes, states, nationality, names.
    Alpha,
    /// Digits and filler: dates and check digits.
    Numeric,
    /// Letters, digits and filler: document numbers, optional data, personal numbers.
    Alnum,
    /// M, F, X or filler.
    Sex,
}

impl CharClass {
    /// Whether `c` (an MRZ character) may stand at a position of this class.
    pub fn allows(self, c: u8) -> bool {
        match self {
            CharClass::Alpha => c.is_ascii_uppercase() || c == b'<',
            CharClass::Numeric => c.is_ascii_digit() || c == b'<',
            CharClass::Alnum => true,
            CharClass::Sex => matches!(c, b'M' | b'F' | b'X' | b'<'),
        }
    }
}

/// Where `format` prints the names: the line, and the columns on it.
pub fn names_columns(format: MrzFormat) -> (usize, std::ops::Range<usize>) {
    let names = match format {
        MrzFormat::Td1 => TD1.names,
        MrzFormat::Td3 => TD3.names,
    };
    (names.line, names.start..names.end)
}

/// The class of every position of every line of `format`, from the field spans above.
pub fn char_classes(format: MrzFormat) -> Vec<Vec<CharClass>> {
    use CharClass::*;
    let layout = match format {
        MrzFormat::Td1 => &TD1,
        MrzFormat::Td3 => &TD3,
    };
    // Optional data and the personal number are Alnum; everything else is a field below.
    let mut lines = vec![vec![Alnum; format.line_length()]; format.line_count()];
    let fields = [
        (layout.document_code, Alpha),
        (layout.issuing_state, Alpha),
        (layout.document_number, Alnum),
        (layout.document_number_check, Numeric),
        (layout.birth_date, Numeric),
        (layout.birth_date_check, Numeric),
        (layout.sex, Sex),
        (layout.expiry_date, Numeric),
        (layout.expiry_date_check, Numeric),
        (layout.nationality, Alpha),
        (layout.names, Alpha),
        (layout.composite_check, Numeric),
    ];
    let td3_personal_check = (format == MrzFormat::Td3).then_some((TD3_PERSONAL_NUMBER_CHECK, Numeric));
    for (span, class) in fields.into_iter().chain(td3_personal_check) {
        for p in span.positions() {
            lines[p.line][p.column] = class;
        }
    }
    lines
}
