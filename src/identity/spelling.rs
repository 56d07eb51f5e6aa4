//! What a printed Cyrillic name can look like, whatever OCR made of it: the
//! grammar of patronymics and the spelling rules no name breaks. No MRZ checks
//! a patronymic, nor a soft sign (ICAO 9303 drops Ь and Ъ), so these are the
//! only checks those reads get before they are believed.

/// How patronymics end: Russian -ОВИЧ, -ЕВИЧ, -ОВНА, -ЕВНА (Ё for Е), -ИЧ
/// (Ильич), -ИЧНА; Kazakh -ҰЛЫ, -ҚЫЗЫ, and their older spellings with Russian
/// letters (-УЛЫ, -КЫЗЫ); Azerbaijani -ОГЛЫ.
const PATRONYMIC_ENDINGS: [&str; 13] = ["ОВИЧ", "ЕВИЧ", "ЁВИЧ", "ОВНА", "ЕВНА", "ЁВНА", "ИЧ", "ИЧНА", "ҰЛЫ", "ҚЫЗЫ", "УЛЫ", "КЫЗЫ", "ОГЛЫ"];

/// The Russian suffixes -ВИЧ and -ВНА follow О, Е or Ё (or В: САВВИЧ) and
/// nothing else: any other letter there is a misread vowel (ЖОРЖҒВНА for
/// ЖОРЖЕВНА on a hard card), in the one name no MRZ checks.
const SUFFIXES_AFTER_A_VOWEL: [&str; 2] = ["ВИЧ", "ВНА"];

/// The Kazakh and Azerbaijani patronymic words written apart from the father's
/// name (СЕРІК ҰЛЫ, МАМЕД ОГЛЫ).
const PATRONYMIC_WORDS: [&str; 6] = ["ҰЛЫ", "ҚЫЗЫ", "УЛЫ", "КЫЗЫ", "ОГЛЫ", "ГЫЗЫ"];

/// Vowels of the Russian and Kazakh alphabets: no soft or hard sign follows one.
const VOWELS: &str = "АЕЁИОУЫЭЮЯӘӨҰҮІ";

/// The two consonants a name's word may open with: those of Russian names
/// (ВЛАДИМИР, ДМИТРИЙ, КСЕНИЯ, СТАНИСЛАВ, ЖДАНОВ, ЦВЕТКОВ, ТКАЧЕНКО, ПШЕНИЧНЫЙ)
/// and of the German, Georgian, Armenian and Korean names Kazakhstan's
/// citizens bear in Cyrillic (ШТЕЙН, ШМИДТ, МГЕЛАДЗЕ, МКРТЧЯН, ХВАН); Kazakh
/// words open with one. A letter split in two by blur opens with a pair no name
/// has (ШЫҢҒЫСҚЫЗЫ read as ТПЫНҒЫСҚЫЗЫ by two looks of four, the one
/// patronymic in that form no MRZ can check). A name opening with a pair not
/// here is said unsure, never misread.
const OPENING_PAIRS: [&str; 83] = [
    "БЛ", "БР", "ВД", "ВЗ", "ВЛ", "ВН", "ВР", "ВС", "ВТ", "ГВ", "ГЛ", "ГН", "ГР", "ДВ", "ДЖ", "ДЗ", "ДЛ", "ДМ", "ДН", "ДР", "ЖД", "ЖМ",
    "ЗВ", "ЗД", "ЗЛ", "ЗМ", "ЗН", "ЗР", "КВ", "КЛ", "КН", "КР", "КС", "КТ", "МГ", "МК", "МЛ", "МН", "МС", "МХ", "НГ", "ПЛ", "ПН", "ПР",
    "ПС", "ПТ", "ПЧ", "ПШ", "РЖ", "СБ", "СВ", "СГ", "СД", "СК", "СЛ", "СМ", "СН", "СП", "СР", "СТ", "СФ", "СХ", "ТВ", "ТК", "ТР", "ТХ",
    "ФЛ", "ФР", "ХВ", "ХЛ", "ХМ", "ХР", "ЦВ", "ЦХ", "ЧХ", "ШВ", "ШК", "ШЛ", "ШМ", "ШН", "ШП", "ШР", "ШТ",
];

/// Consonants of the Russian and Kazakh alphabets (the signs apart).
const CONSONANTS: &str = "БВГДЖЗЙКЛМНПРСТФХЦЧШЩҒҚҢҺ";

/// Kazakh vowels that never follow a vowel: Kazakh words put no two vowels
/// together, and a glide after one is spelled У (ДӘУРЕН, ТАУ), so a Ү, Ө or Ә
/// read there is a misread of У, О or А, letters the MRZ spells alike
/// (ДӘҮРЕН, Tesseract sure of every letter, on a hard tuning card). Ұ is left
/// out: -ҰЛЫ follows a father's name ending in a vowel (ӘЛИҰЛЫ).
const NO_VOWEL_BEFORE: &str = "ҮӨӘ";

/// Whether a vowel of [`NO_VOWEL_BEFORE`] follows a vowel in `name`.
fn has_kazakh_vowel_after_a_vowel(name: &str) -> bool {
    let letters: Vec<char> = name.chars().collect();
    letters.windows(2).any(|pair| VOWELS.contains(pair[0]) && NO_VOWEL_BEFORE.contains(pair[1]))
}

/// Whether every word of `name` opens as a name can: with a vowel, one
/// consonant, or a pair of [`OPENING_PAIRS`].
fn opens_as_a_name(name: &str) -> bool {
    name.split([' ', '-']).all(|word| {
        let mut letters = word.chars();
        match (letters.next(), letters.next()) {
            (Some(a), Some(b)) if CONSONANTS.contains(a) && CONSONANTS.contains(b) => {
                let pair: String = [a, b].iter().collect();
                OPENING_PAIRS.contains(&pair.as_str())
            }
            _ => true,
        }
    })
}

/// Whether `name` reads as a patronymic: one word of five letters or more with
/// a patronymic's ending, or a name followed by a patronymic word.
pub fn is_patronymic(name: &str) -> bool {
    let words: Vec<&str> = name.split(' ').collect();
    if !name.chars().all(|c| c.is_alphabetic() || c == ' ') || !could_be_spelled(name) {
        return false;
    }
    match words.as_slice() {
        [one] => {
            let misspelled = SUFFIXES_AFTER_A_VOWEL.iter().any(|e| one.strip_suffix(e).is_some_and(|stem| !stem.ends_with(['О', 'Е', 'Ё', 'В'])));
            one.chars().count() >= 5 && !misspelled && PATRONYMIC_ENDINGS.iter().any(|e| one.ends_with(e))
        }
        [father, word] => father.chars().count() >= 2 && PATRONYMIC_WORDS.contains(word),
        _ => false,
    }
}

/// Whether a name read in Cyrillic could be spelled so: every word opens as a
/// name does ([`OPENING_PAIRS`]); no Ү, Ө or Ә follows a vowel
/// ([`NO_VOWEL_BEFORE`]); no word starts with a soft or hard sign, none
/// follows a vowel and none stands before Ы or another sign (ЧЕРНЫЬШЕВ and
/// ЧЕРНЬЫШЕВ are misreads).
pub fn could_be_spelled(name: &str) -> bool {
    let letters: Vec<char> = name.chars().collect();
    opens_as_a_name(name) && !has_kazakh_vowel_after_a_vowel(name) && (0..letters.len()).all(|i| !is_stray_sign(i.checked_sub(1).map(|j| letters[j]), letters[i], letters.get(i + 1).copied()))
}

/// A soft or hard sign where none is written: opening a word, after a vowel,
/// or before Ы or a sign.
fn is_stray_sign(before: Option<char>, c: char, after: Option<char>) -> bool {
    matches!(c, 'Ь' | 'Ъ') && (before.is_none_or(|b| b == ' ' || VOWELS.contains(b)) || after.is_some_and(|a| matches!(a, 'Ы' | 'Ь' | 'Ъ')))
}

/// The name without the soft and hard signs no name could be spelled with
/// ([`could_be_spelled`]); `None` when it has none. Ы is drawn as Ь and a stroke,
/// and a blurred Ы can read as ЫЬ or ЬЫ; the MRZ, which has no letter for either
/// sign, then decides whether the rest is the name.
pub fn without_stray_signs(name: &str) -> Option<String> {
    let letters: Vec<char> = name.chars().collect();
    let mut kept = String::new();
    let mut before: Option<char> = None;
    for (i, &c) in letters.iter().enumerate() {
        if !is_stray_sign(before, c, letters.get(i + 1).copied()) {
            kept.push(c);
            before = Some(c);
        }
    }
    (kept != name && kept.chars().any(char::is_alphabetic)).then_some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stray_signs_are_dropped_and_only_those() {
        assert_eq!(without_stray_signs("ЧЕРНЫЬШЕВ").as_deref(), Some("ЧЕРНЫШЕВ"));
        assert_eq!(without_stray_signs("ЧЕРНЬЫШЕВ").as_deref(), Some("ЧЕРНЫШЕВ"));
        assert_eq!(without_stray_signs("ЬИГОРЬ").as_deref(), Some("ИГОРЬ"));
        assert_eq!(without_stray_signs("ИГОРЬ"), None);
        assert_eq!(without_stray_signs("ЮРЬЕВИЧ"), None);
        assert_eq!(without_stray_signs("Ь"), None);
    }

    #[test]
    fn patronymics_are_told_by_their_endings() {
        for name in ["СЕРГЕЕВИЧ", "ЮРЬЕВНА", "ИЛЬИЧ", "КУЗЬМИНИЧНА", "ҚАЙРАТОВНА", "ПЁТРОВИЧ", "САВВИЧНА", "ЕРЛАНҰЛЫ", "ЖАНДОСҚЫЗЫ", "СЕРИКУЛЫ", "МАМЕД ОГЛЫ", "СЕРІК ҰЛЫ"] {
            assert!(is_patronymic(name), "{name}");
        }
        let misread = "КАЗАҚСТАН РЕСПТЫЛММКАГЫ ЗЕР ОҒ КАТЫКЫЗТАМ";
        let vowel_misread = ["ЖОРЖҒВНА", "ПЕТРАВИЧ"];
        for text in ["АЛЕКСЕЙ", "ҚАЗАҚСТАН", "ВИЧ", "ALEKSEI", "ИВАН ИВАНОВИЧ", "ШОЛАЕҢ", misread, "ЮРЬЕВИЧ2"].iter().chain(&vowel_misread) {
            assert!(!is_patronymic(text), "{text}");
        }
    }

    #[test]
    fn a_soft_sign_after_a_vowel_opening_a_word_or_before_yery_is_a_misread() {
        for name in ["ЮРЬЕВИЧ", "ИГОРЬ", "НАТАЛЬЯ", "ПОДЪЯЧЕВ", "ЫБЫРАЙ", "ЧЕРНЫШЕВ"] {
            assert!(could_be_spelled(name), "{name}");
        }
        for name in ["ЧЕРНЫЬШЕВ", "ЧЕРНЬЫШЕВ", "ЬВАН", "ИГОРЬ ЬЕВИЧ", "МАЪРАТ", "ИГОРЬЬ"] {
            assert!(!could_be_spelled(name), "{name}");
        }
    }

    #[test]
    fn a_word_opens_with_a_vowel_one_consonant_or_a_pair_names_open_with() {
        for name in ["ВЛАДИМИРОВНА", "ДМИТРИЙ", "КСЕНИЯ", "ЦВЕТКОВ", "ШТЕЙН", "ХВАН", "МКРТЧЯН", "ҚҰНАНБАЕВ-ШӘРІПОВ", "ӘЛИХАН", "АННА МАРИЯ", "СТРЕЛЬЦОВ"] {
            assert!(could_be_spelled(name), "{name}");
        }
        for name in ["ТПЫНҒЫСҚЫЗЫ", "ТШЫНҒЫСҚЫЗЫ", "ҚҒЖШЩ", "АННА ЛМАРИЯ", "ҚҰНАНБАЕВ-ЛШӘРІПОВ"] {
            assert!(!could_be_spelled(name), "{name}");
        }
        assert!(!is_patronymic("ТПЫНҒЫСҚЫЗЫ"));
    }

    #[test]
    fn a_kazakh_vowel_after_a_vowel_is_a_misread() {
        for name in ["ДӘУРЕН", "ӘУЕЗОВ", "ӨМІРЗАҚ", "ӘЛИҰЛЫ", "НАТАЛИЯ", "АЛЕКСЕЕВ", "ДИАНА", "ТӨЛЕГЕН ҮСЕН"] {
            assert!(could_be_spelled(name), "{name}");
        }
        for name in ["ДӘҮРЕН", "ТАҮ", "ЖАӨН", "ДИӘНА"] {
            assert!(!could_be_spelled(name), "{name}");
        }
        assert!(is_patronymic("ШЫҢҒЫСҚЫЗЫ"));
    }
}
