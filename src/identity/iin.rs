//! Kazakhstan individual identification number (IIN, ЖСН/ИИН): 12 digits
//! carrying the birth date, century and sex, and a mod-11 check digit.
//!
//! Error messages never contain the number's digits: they are personal data.

use std::fmt;

use super::date::Date;

pub const IIN_LENGTH: usize = 12;

/// Digits before the check digit.
const BODY_LENGTH: usize = IIN_LENGTH - 1;

/// Weights of the first pass; if it yields 10, the second pass decides.
const FIRST_PASS_WEIGHTS: [u32; BODY_LENGTH] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const SECOND_PASS_WEIGHTS: [u32; BODY_LENGTH] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

/// A remainder of 10 does not fit in one digit.
const UNUSABLE_REMAINDER: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Sex {
    #[serde(rename = "M")]
    Male,
    #[serde(rename = "F")]
    Female,
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sex::Male => "M",
            Sex::Female => "F",
        })
    }
}

/// A structurally valid IIN of a natural person: right length, real birth
/// date, a person's century/sex digit, matching check digit.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Iin {
    digits: String,
    birth_date: Date,
    sex: Sex,
}

/// Redacted: an IIN is personal data, and `{:?}` is how values slip into logs.
impl std::fmt::Debug for Iin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Iin(<redacted>)")
    }
}

/// Why a string is not a valid IIN. Neither the variants' `Display` nor their
/// names reveal the number itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IinError {
    /// Not 12 characters (after trimming surrounding whitespace).
    WrongLength {
        found: usize,
    },
    NotDigits,
    /// 7th digit is not 1–6 (0 and 7–9 are not used for natural persons).
    BadCenturySex,
    /// Digits 1–6 are not a real date in the century given by digit 7.
    BadBirthDate,
    CheckDigit {
        expected: u8,
        found: u8,
    },
    /// Both weightings give remainder 10: no such number is ever issued.
    Unassignable,
}

impl fmt::Display for IinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IinError::WrongLength { found } => {
                write!(
                    f,
                    "IIN must be {IIN_LENGTH} digits long, got {found} characters"
                )
            }
            IinError::NotDigits => f.write_str("IIN must contain only digits"),
            IinError::BadCenturySex => {
                f.write_str("IIN 7th digit is not a century/sex code of a person (1-6)")
            }
            IinError::BadBirthDate => f.write_str("IIN digits 1-6 are not a valid birth date"),
            IinError::CheckDigit { .. } => f.write_str("IIN check digit does not match"),
            IinError::Unassignable => {
                f.write_str("IIN cannot have a valid check digit (both weightings give 10)")
            }
        }
    }
}

impl std::error::Error for IinError {}

impl Iin {
    /// Validates `text` (surrounding whitespace ignored) as a person's IIN.
    pub fn parse(text: &str) -> Result<Iin, IinError> {
        let text = text.trim();
        let found = text.chars().count();
        if found != IIN_LENGTH {
            return Err(IinError::WrongLength { found });
        }
        // Twelve chars of which one is non-ASCII are more than twelve bytes.
        let Ok(ascii) = <[u8; IIN_LENGTH]>::try_from(text.as_bytes()) else {
            return Err(IinError::NotDigits);
        };
        if !ascii.iter().all(u8::is_ascii_digit) {
            return Err(IinError::NotDigits);
        }
        let digits = ascii.map(|byte| byte - b'0');

        let (century, sex) = match digits[6] {
            1 => (1800, Sex::Male),
            2 => (1800, Sex::Female),
            3 => (1900, Sex::Male),
            4 => (1900, Sex::Female),
            5 => (2000, Sex::Male),
            6 => (2000, Sex::Female),
            _ => return Err(IinError::BadCenturySex),
        };
        let [y1, y2, m1, m2, d1, d2, ..] = digits;
        let year = century + u16::from(y1 * 10 + y2);
        let birth_date =
            Date::new(year, m1 * 10 + m2, d1 * 10 + d2).ok_or(IinError::BadBirthDate)?;

        let body: [u8; BODY_LENGTH] = std::array::from_fn(|index| digits[index]);
        let expected = compute_check_digit(&body).ok_or(IinError::Unassignable)?;
        let found = digits[BODY_LENGTH];
        if expected != found {
            return Err(IinError::CheckDigit { expected, found });
        }
        Ok(Iin {
            digits: text.to_owned(),
            birth_date,
            sex,
        })
    }

    pub fn birth_date(&self) -> Date {
        self.birth_date
    }

    pub fn sex(&self) -> Sex {
        self.sex
    }

    pub fn as_str(&self) -> &str {
        &self.digits
    }
}

impl std::str::FromStr for Iin {
    type Err = IinError;

    fn from_str(text: &str) -> Result<Iin, IinError> {
        Iin::parse(text)
    }
}

impl TryFrom<String> for Iin {
    type Error = IinError;

    fn try_from(text: String) -> Result<Iin, IinError> {
        Iin::parse(&text)
    }
}

impl From<Iin> for String {
    fn from(iin: Iin) -> String {
        iin.digits
    }
}

/// Check digit for the first 11 digits (given as values 0–9, not ASCII), or
/// `None` when both weightings leave remainder 10 and no IIN can end this way.
pub fn compute_check_digit(body: &[u8; BODY_LENGTH]) -> Option<u8> {
    [FIRST_PASS_WEIGHTS, SECOND_PASS_WEIGHTS]
        .iter()
        .map(|weights| {
            let sum: u32 = body
                .iter()
                .zip(weights)
                .map(|(&d, &w)| u32::from(d) * w)
                .sum();
            sum % 11
        })
        .find(|&remainder| remainder != UNUSABLE_REMAINDER)
        // A remainder of 0–9 always fits in a u8.
        .and_then(|remainder| u8::try_from(remainder).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn body_of(text: &str) -> [u8; BODY_LENGTH] {
        let bytes = text.as_bytes();
        std::array::from_fn(|i| bytes[i] - b'0')
    }

    fn date(text: &str) -> Date {
        text.parse().expect("test date literal")
    }

    #[test]
    fn first_pass_check_digit() {
        // 9 0 0 5 1 7 4 0 1 2 3, weights 1..11:
        // 9 + 0 + 0 + 20 + 5 + 42 + 28 + 0 + 9 + 20 + 33 = 166; 166 mod 11 = 1.
        assert_eq!(compute_check_digit(&body_of("90051740123")), Some(1));
        let iin = Iin::parse("900517401231").expect("valid IIN");
        assert_eq!(iin.birth_date(), date("1990-05-17"));
        assert_eq!(iin.sex(), Sex::Female);
        assert_eq!(iin.as_str(), "900517401231");
    }

    #[test]
    fn second_pass_when_first_gives_ten() {
        // 9 0 0 5 1 7 4 0 0 6 0
        // weights 1..11:        9 + 20 + 5 + 42 + 28 + 60 = 164; 164 mod 11 = 10 -> second pass
        // weights 3..11,1,2:   27 + 30 + 7 + 56 + 36 + 6 = 162; 162 mod 11 = 8
        assert_eq!(compute_check_digit(&body_of("90051740060")), Some(8));
        assert!(Iin::parse("900517400608").is_ok());
        assert_eq!(
            Iin::parse("900517400601"),
            Err(IinError::CheckDigit {
                expected: 8,
                found: 1
            })
        );

        // Born on a leap day in 2008, male (digit 7 = 5):
        // 0 8 0 2 2 9 5 0 0 3 0
        // weights 1..11:      16 + 8 + 10 + 54 + 35 + 30 = 153; 153 mod 11 = 10 -> second pass
        // weights 3..11,1,2:  32 + 12 + 14 + 72 + 45 + 3 = 178; 178 mod 11 = 2
        let iin = Iin::parse("080229500302").expect("valid IIN");
        assert_eq!(iin.birth_date(), date("2008-02-29"));
        assert_eq!(iin.sex(), Sex::Male);
    }

    #[test]
    fn both_passes_ten_is_unassignable() {
        // 9 0 0 5 1 7 4 0 0 6 1: the sums above gain 11·1 and 2·1:
        // 175 mod 11 = 10 and 164 mod 11 = 10.
        assert_eq!(compute_check_digit(&body_of("90051740061")), None);
        for last in '0'..='9' {
            assert_eq!(
                Iin::parse(&format!("90051740061{last}")),
                Err(IinError::Unassignable)
            );
        }
    }

    #[test]
    fn century_and_sex_digit() {
        let cases = [
            (1, 1800, Sex::Male),
            (2, 1800, Sex::Female),
            (3, 1900, Sex::Male),
            (4, 1900, Sex::Female),
            (5, 2000, Sex::Male),
            (6, 2000, Sex::Female),
        ];
        for (code, century, sex) in cases {
            let body = format!("010203{code}0000");
            let check = compute_check_digit(&body_of(&body)).expect("assignable body");
            let iin = Iin::parse(&format!("{body}{check}")).expect("valid IIN");
            assert_eq!(
                iin.birth_date(),
                Date::new(century + 1, 2, 3).expect("real day")
            );
            assert_eq!(iin.sex(), sex);
        }
        for code in [0, 7, 8, 9] {
            assert_eq!(
                Iin::parse(&format!("010203{code}00000")),
                Err(IinError::BadCenturySex)
            );
        }
    }

    #[test]
    fn rejects_structural_errors() {
        assert_eq!(Iin::parse(""), Err(IinError::WrongLength { found: 0 }));
        assert_eq!(
            Iin::parse("90051740123"),
            Err(IinError::WrongLength { found: 11 })
        );
        assert_eq!(
            Iin::parse("9005174012310"),
            Err(IinError::WrongLength { found: 13 })
        );
        assert_eq!(Iin::parse("90051740123X"), Err(IinError::NotDigits));
        assert_eq!(
            Iin::parse("9005174012３1"),
            Err(IinError::NotDigits),
            "full-width digit"
        );
        assert_eq!(
            Iin::parse("900230401230"),
            Err(IinError::BadBirthDate),
            "30 Feb"
        );
        assert_eq!(
            Iin::parse("000229300000"),
            Err(IinError::BadBirthDate),
            "29 Feb 1900"
        );
        assert!(
            Iin::parse(" 900517401231\n").is_ok(),
            "surrounding whitespace ignored"
        );
    }

    #[test]
    fn error_messages_do_not_contain_the_number() {
        let inputs = [
            "900517401230",
            "90051740123X",
            "900230401230",
            "900517901231",
            "900517400610",
            "123",
        ];
        for input in inputs {
            let error = Iin::parse(input).expect_err("invalid on purpose");
            let message = error.to_string();
            assert!(!message.contains(input), "{message}");
            assert!(!message.contains(&input[..input.len().min(6)]), "{message}");
        }
        let message = IinError::CheckDigit {
            expected: 7,
            found: 3,
        }
        .to_string();
        assert!(!message.chars().any(|c| c.is_ascii_digit()), "{message}");
    }

    #[test]
    fn serde_round_trip_validates() {
        let iin = Iin::parse("900517401231").expect("valid IIN");
        let json = serde_json::to_string(&iin).expect("serialize");
        assert_eq!(json, "\"900517401231\"");
        assert_eq!(
            serde_json::from_str::<Iin>(&json).expect("deserialize"),
            iin
        );
        assert!(serde_json::from_str::<Iin>("\"900517401230\"").is_err());
        assert_eq!(
            serde_json::to_string(&Sex::Female).expect("serialize"),
            "\"F\""
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,20}") {
            let _ = Iin::parse(&text);
        }

        #[test]
        fn parse_never_panics_on_twelve_digits(text in "[0-9]{12}") {
            if let Ok(iin) = Iin::parse(&text) {
                prop_assert_eq!(iin.as_str(), text.as_str());
            }
        }

        #[test]
        fn valid_numbers_accept_only_their_own_check_digit(
            (yy, month, day, code, serial) in (0..100u32, 1..=12u32, 1..=28u32, 1..=6u32, 0..10_000u32),
            shift in 1u8..10,
        ) {
            let body = format!("{yy:02}{month:02}{day:02}{code}{serial:04}");
            let check = compute_check_digit(&body_of(&body));
            prop_assume!(check.is_some(), "about 1 body in 100 is unassignable");
            let check = check.expect("assumed");
            let wrong = (check + shift) % 10;
            let valid = Iin::parse(&format!("{body}{check}"));
            prop_assert!(valid.is_ok());
            prop_assert_eq!(
                Iin::parse(&format!("{body}{wrong}")),
                Err(IinError::CheckDigit { expected: check, found: wrong })
            );
        }
    }
}
