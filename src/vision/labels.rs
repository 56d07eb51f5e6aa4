//! Telling a document's field labels by their words, in Kazakh, Russian and
//! English, tolerant to what OCR does to small print: case, Kazakh letters read as
//! their Russian base letters, Latin look-alikes, one or two slipped letters.
//! Enters: the text OCR read off one label line. Leaves: which field it names.

/// The printed fields this crate reads off a card front or a passport's visual zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Surname,
    Given,
    Patronymic,
    Birth,
    Iin,
}

impl Field {
    pub const ALL: [Field; 5] = [Field::Surname, Field::Given, Field::Patronymic, Field::Birth, Field::Iin];
}

/// What a label line names: one of our fields, or another field of the document
/// (place of birth, nationality…), whose value is of no use here but which is
/// still a label and never a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelKind {
    Field(Field),
    Other,
}

/// Letters OCR confuses on small print, brought to one form: Kazakh letters to
/// the Russian letter they are drawn on, Latin look-alikes to Cyrillic, Ё to Е.
fn fold(c: char) -> char {
    match c {
        'Ә' | 'A' => 'А',
        'Ғ' => 'Г',
        'Қ' | 'K' => 'К',
        'Ң' | 'H' => 'Н',
        'Ө' | 'O' | '0' => 'О',
        'Ұ' | 'Ү' | 'Y' => 'У',
        'Һ' => 'Х',
        'І' | 'I' | 'Ї' | '1' => 'И',
        'Й' => 'И',
        'Ё' | 'E' => 'Е',
        'B' => 'В',
        'C' => 'С',
        'M' => 'М',
        'P' => 'Р',
        'T' => 'Т',
        'X' => 'Х',
        '3' => 'З',
        other => other,
    }
}

/// A text's words, upper case and folded, without punctuation.
fn words(text: &str) -> Vec<Vec<char>> {
    text.to_uppercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().map(fold).collect())
        .collect()
}

pub(super) fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(diagonal + usize::from(ca != cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Whether an OCR'd word is `target`: short words exactly (after folding), longer
/// ones with one slipped letter in five.
fn is_word(read: &[char], target: &str) -> bool {
    let target: Vec<char> = target.chars().map(fold).collect();
    let allowed = if target.len() <= 3 { 0 } else { target.len().div_ceil(5) };
    read.len().abs_diff(target.len()) <= allowed && edit_distance(read, &target) <= allowed
}

/// What follows `prefix` in `read`, when `read` starts with it (one slipped
/// letter allowed) and goes on for two letters or more: two words run together.
fn after_prefix<'a>(read: &'a [char], prefix: &str) -> Option<&'a [char]> {
    let n = prefix.chars().count();
    (read.len() >= n + 2 && is_word(&read[..n], prefix)).then(|| &read[n..])
}

/// How many letters `read` is from `target`, folded alike.
fn distance_to(read: &[char], target: &str) -> usize {
    edit_distance(read, &target.chars().map(fold).collect::<Vec<_>>())
}

/// Words that name one of our fields wherever they stand in a label.
const FIELD_WORDS: [(&str, Field); 13] = [
    ("ӘКЕСІНІҢ", Field::Patronymic),
    ("ОТЧЕСТВО", Field::Patronymic),
    ("PATRONYMIC", Field::Patronymic),
    ("ТЕГІ", Field::Surname),
    ("ФАМИЛИЯ", Field::Surname),
    ("SURNAME", Field::Surname),
    ("ИМЯ", Field::Given),
    ("GIVEN", Field::Given),
    ("ЖСН", Field::Iin),
    ("ИИН", Field::Iin),
    ("IIN", Field::Iin),
    ("PERSONAL", Field::Iin),
    ("РОЖДЕНИЯ", Field::Birth),
];

/// Words of the other labels on ID cards and passport pages. The first word of
/// each is here, so that a label is told by that word alone and its whole line
/// (a passport's are three languages long) is not read for nothing.
const OTHER_WORDS: [&str; 36] = [
    "ЖЕРІ",
    "МЕСТО",
    "PLACE",
    "АЗАМАТТЫҒЫ",
    "ГРАЖДАНСТВО",
    "NATIONALITY",
    "ЖЫНЫСЫ",
    "SEX",
    "БЕРІЛГЕН",
    "ВЫДАЧИ",
    "ISSUE",
    "МЕРЗІМІ",
    "EXPIRY",
    "ДЕЙСТВИЯ",
    "ОРГАН",
    "AUTHORITY",
    "ТҮРІ",
    "TYPE",
    "КОДЫ",
    "CODE",
    "ҰЛТЫ",
    "НАЦИОНАЛЬНОСТЬ",
    "НӨМІРІ",
    "НОМЕР",
    "ҚҰЖАТ",
    "ҚҰЖАТТЫ",
    "DOCUMENT",
    "ҚОЛДАНЫЛУ",
    "ЖАРАМДЫЛЫҚ",
    "СРОК",
    "МЕМЛЕКЕТ",
    "STATE",
    "ПАСПОРТ",
    "PASSPORT",
    "ТӨЛҚҰЖАТ",
    "ТИП",
];

/// Which label a line is, if it is one. The first word that names something
/// decides, so "ӘКЕСІНІҢ АТЫ / ОТЧЕСТВО" is the patronymic although АТЫ alone is
/// the given name, and "ТУҒАН ЖЕРІ / МЕСТО РОЖДЕНИЯ" is a place although
/// РОЖДЕНИЯ alone is the birth date.
pub fn label_of(text: &str) -> Option<LabelKind> {
    let words = words(text);
    for (i, word) in words.iter().enumerate() {
        let next = words.get(i + 1);
        let next_is = |target: &str| next.is_some_and(|n| is_word(n, target));
        // Words that need their neighbour to mean a field.
        if is_word(word, "ТУҒАН") {
            return Some(if next_is("ЖЕРІ") { LabelKind::Other } else { LabelKind::Field(Field::Birth) });
        }
        // The same with the space lost in blurred small print (ТУҒАНКҮНІ).
        if let Some(rest) = after_prefix(word, "ТУҒАН") {
            let (day, place) = (distance_to(rest, "КҮНІ"), distance_to(rest, "ЖЕРІ"));
            if day.min(place) <= 1 {
                return Some(if place < day { LabelKind::Other } else { LabelKind::Field(Field::Birth) });
            }
        }
        if is_word(word, "ДАТА") || is_word(word, "DATE") {
            return Some(if next_is("РОЖДЕНИЯ") || next_is("OF") && words.get(i + 2).is_some_and(|w| is_word(w, "BIRTH")) {
                LabelKind::Field(Field::Birth)
            } else {
                LabelKind::Other
            });
        }
        if is_word(word, "АТЫ") {
            // АТЫ first is the given name; after a word that named nothing it is
            // "ӘКЕСІНІҢ АТЫ" with its first word misread.
            return Some(LabelKind::Field(if i == 0 { Field::Given } else { Field::Patronymic }));
        }
        if let Some((_, field)) = FIELD_WORDS.iter().find(|(target, _)| is_word(word, target)) {
            return Some(LabelKind::Field(*field));
        }
        if OTHER_WORDS.iter().any(|target| is_word(word, target)) {
            return Some(LabelKind::Other);
        }
    }
    None
}

/// The field a label names, if it is one of ours.
pub fn field_of(text: &str) -> Option<Field> {
    match label_of(text)? {
        LabelKind::Field(f) => Some(f),
        LabelKind::Other => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_told_in_three_languages_and_any_case() {
        for (text, field) in [
            ("ТЕГІ / ФАМИЛИЯ", Field::Surname),
            ("Тегі / Фамилия / Surname", Field::Surname),
            ("SURNAME", Field::Surname),
            ("АТЫ / ИМЯ", Field::Given),
            ("Аты / Имя / Given names", Field::Given),
            ("ӘКЕСІНІҢ АТЫ / ОТЧЕСТВО", Field::Patronymic),
            ("Әкесінің аты / Отчество / Patronymic", Field::Patronymic),
            ("ТУҒАН КҮНІ / ДАТА РОЖДЕНИЯ", Field::Birth),
            ("ДАТА РОЖДЕНИЯ", Field::Birth),
            ("Date of birth", Field::Birth),
            ("ЖСН / ИИН", Field::Iin),
            ("ЖСН / ИИН / Personal No.", Field::Iin),
        ] {
            assert_eq!(field_of(text), Some(field), "{text}");
        }
    }

    #[test]
    fn ocr_slips_on_small_print_still_name_the_field() {
        // Kazakh letters read as Russian ones, a Latin look-alike, a dropped or changed letter.
        assert_eq!(field_of("ТЕГI / ФАМИЛИЯ"), Some(Field::Surname));
        assert_eq!(field_of("ТЕГІ/ФАМИЛИ"), Some(Field::Surname));
        assert_eq!(field_of("AКЕСIНIН АТЫ"), Some(Field::Patronymic));
        assert_eq!(field_of("ОТЧЕСТВ0"), Some(Field::Patronymic));
        assert_eq!(field_of("ТУГАН КУНI"), Some(Field::Birth));
        assert_eq!(field_of("ЖCН/ИИН"), Some(Field::Iin));
        // Two words run together (tuning seed 13, a moderate passport page).
        assert_eq!(field_of("ТҮГАНКҮН ДАТА Ох ДЕНИЯ 0АТЕ"), Some(Field::Birth));
        assert_eq!(label_of("ТУҒАНЖЕРІ / МЕСТО РОЖДЕНИЯ"), Some(LabelKind::Other));
        // ӘКЕСІНІҢ beyond recognition: its АТЫ still says patronymic, not given name.
        assert_eq!(field_of("Окесйнін АТЫ / Отчество"), Some(Field::Patronymic));
        assert_eq!(field_of("ЭКЕСШНЕ АТЫ"), Some(Field::Patronymic));
    }

    #[test]
    fn other_labels_and_values_are_not_taken_for_our_fields() {
        assert_eq!(label_of("ТУҒАН ЖЕРІ / МЕСТО РОЖДЕНИЯ"), Some(LabelKind::Other));
        assert_eq!(label_of("Туған жері / Место рождения / Place of birth"), Some(LabelKind::Other));
        assert_eq!(label_of("Берілген күні / Дата выдачи / Date of issue"), Some(LabelKind::Other));
        assert_eq!(label_of("Жынысы / Пол / Sex"), Some(LabelKind::Other));
        assert_eq!(label_of("Азаматтығы / Гражданство / Nationality"), Some(LabelKind::Other));
        // A passport's other labels, told by their first word alone.
        for first in ["Мемлекет", "ПАСПОРТ", "Құжатты", "Қолданылу", "Жарамдылық", "Төлқұжат"] {
            assert_eq!(label_of(first), Some(LabelKind::Other), "{first}");
        }
        for value in ["ҚАСЫМОВ", "МҰРАТ", "БОЛАТОВИЧ", "24.06.2005", "050624533556", "ТЕМИРОВ", "АТЫРАУ"]
        {
            assert_eq!(label_of(value), None, "{value}");
        }
    }
}
