//! Why a text is not a supported MRZ, said without the text itself.

use std::fmt;

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
