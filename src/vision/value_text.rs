//! What a read line says as a value: a name, a date, an IIN. Tesseract's text
//! of one value line in, the value or nothing out; no image is looked at here.

use super::labels::label_of;
use crate::identity::Date;

/// A name from a line holding nothing but the name. The card prints names in
/// capitals, so lower case is the model misjudging size (it does, towards the
/// end of a line), and a space where the ink shows none is not one either.
pub(super) fn line_name(text: &str, words: usize) -> Option<String> {
    let tokens: Vec<String> = text
        .to_uppercase()
        .split_whitespace()
        .map(|t| t.chars().filter(|c| c.is_alphabetic() || *c == '-').collect::<String>())
        .filter(|t| t.chars().any(char::is_alphabetic))
        .collect();
    let name =
        if words <= 1 { tokens.concat() } else { tokens.into_iter().filter(|t| t.chars().count() >= 2).collect::<Vec<_>>().join(" ") };
    let name = name.trim_matches('-');
    (name.chars().count() >= 2).then(|| name.to_string())
}

/// A name read under a label ([`line_name`]), unless it reads as a label: the
/// crop found a stacked label's next line (ФАМИЛИЯ under ТЕГІ), not the value,
/// and a label taken for a name would accuse the card of a name the MRZ does not have.
pub(super) fn name_value(text: &str, words: usize) -> Option<String> {
    line_name(text, words).filter(|name| label_of(name).is_none())
}

pub(super) fn date_value(line: &str) -> Option<Date> {
    let digits: String = line.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 8 {
        return None;
    }
    let iso = format!("{}-{}-{}", &digits[4..8], &digits[2..4], &digits[0..2]);
    iso.parse().ok()
}

/// The twelve digits of an IIN line; a stop or comma Tesseract adds at either end
/// (a speck, tuning seed 41) says nothing of them.
pub(super) fn iin_value(line: &str) -> Option<String> {
    let digits: String = line.trim_matches(|c: char| matches!(c, '.' | ',') || c.is_whitespace()).chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_read_where_a_name_was_looked_for_is_no_name() {
        for label in ["ФАМИЛИЯ", "Фамилия", "ТЕГІ", "SURNAME", "ОТЧЕСТВО", "ПАСПОРТ"] {
            assert_eq!(name_value(label, 1), None, "{label}");
        }
        for name in ["ҚҰНАНБАЕВ", "ЖЕҢІСҚЫЗЫ", "АННА МАРИЯ", "ИСА", "ФАМИЛЬЕВ"] {
            assert_eq!(name_value(name, name.split(' ').count()).as_deref(), Some(name), "{name}");
        }
    }

    #[test]
    fn a_name_line_is_read_in_capitals_with_only_the_spaces_its_ink_shows() {
        // Tesseract's habit on an all-capital line: the last letters in lower case, split off.
        assert_eq!(line_name("ҚАЙРАТҚЫ зы", 1).as_deref(), Some("ҚАЙРАТҚЫЗЫ"));
        assert_eq!(line_name(".  ЖЕҢІСОВНА", 1).as_deref(), Some("ЖЕҢІСОВНА"));
        assert_eq!(line_name("АННА МАРИЯ", 2).as_deref(), Some("АННА МАРИЯ"));
        assert_eq!(line_name("ИВАНОВА-ПЕТРОВА", 1).as_deref(), Some("ИВАНОВА-ПЕТРОВА"));
        assert_eq!(line_name(". - 1", 1), None);
    }

    #[test]
    fn an_iin_or_a_date_is_its_digits_and_nothing_else() {
        assert_eq!(iin_value("760329367552.").as_deref(), Some("760329367552"), "a stop Tesseract adds");
        assert_eq!(iin_value(", 7603 2936 7552").as_deref(), Some("760329367552"));
        assert_eq!(iin_value("7603293675521"), None, "thirteen digits");
        assert_eq!(iin_value("76032936755"), None, "eleven");
        assert_eq!(iin_value("7603.29367552"), None, "a stop between digits is no speck at an end");
        assert_eq!(iin_value("76032936755З"), None, "a letter");
        assert_eq!(date_value("29.03.1976").map(|d| d.to_string()).as_deref(), Some("1976-03-29"));
        assert_eq!(date_value("29.13.1976"), None, "no thirteenth month");
        assert_eq!(date_value("1.08.1980"), None, "a digit lost");
    }
}
