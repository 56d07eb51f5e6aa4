//! Letters no MRZ tells apart from their look-alikes: Й from И (both I) and Ъ
//! from Ь (both dropped), in ICAO 9303 and Kazakh practice alike. A printed name
//! the MRZ confirms is confirmed but for these, and Tesseract's Kazakh model,
//! trained on few of them, loses the small breve and the hard sign's flag
//! (ПОДЪЯЧЕВА read as ПОДЬЯЧЕВА on a clean scan, ЗАЙЦЕВА as ЗАИЦЕВА: tuning seeds
//! 37 and 13). The Russian model, trained on print full of both, is asked about
//! them: a second reader, not a guess from spelling (ПОДЬЯЧЕВ is a surname too).
//! The MRZ spells more letters alike (Қ and К, Ұ, Ү and У, Ә and А): for those
//! no second model can tell, and a name the Kazakh model's looks spell two ways
//! is left unconfirmed ([`FrontReader::spelled_one_way`]).

use super::VisionError;
use super::front::{FrontReader, Value, drawn_on};
use super::text::Printed;
use crate::identity::translit::latin;

/// Each letter the Kazakh model may have read for the one beside it.
const UNTOLD: [(char, char); 2] = [('И', 'Й'), ('Ь', 'Ъ')];

/// What the Russian model's read of a name says of the Kazakh model's И and Ь.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Signs {
    /// Nothing to change: neither letter where a sign could hide, no Russian
    /// read, one of another length, or one that reads them alike.
    Kept,
    /// The name with the Russian model's Й and Ъ where the Kazakh one read И and Ь.
    Taken(String),
    /// A Й or Ъ where the Kazakh read has И or Ь, in a read that strays
    /// elsewhere too (ПОЛЪЯЧЕВА against ПОДЬЯЧЕВА, a moderate photo of tuning seed
    /// 61 that printed ПОДЪЯЧЕВА): it cannot be taken, and the Kazakh model's
    /// sign is not known to be the print either.
    Disputed,
}

impl FrontReader {
    /// What the Russian model says of `name`'s И and Ь, read on `value`
    /// ([`signs_from`]); not asked when the name has neither where a sign could hide.
    pub(super) fn russian_signs(&mut self, printed: &Printed, value: Value, name: &str) -> Result<Signs, VisionError> {
        if !may_hide_a_sign(name) {
            return Ok(Signs::Kept);
        }
        let russian = self.russian_name(printed, value)?;
        Ok(russian.map_or(Signs::Kept, |r| signs_from(name, &r)))
    }
}

impl FrontReader {
    /// Whether every read of `value` the Kazakh model made, at whatever look, that
    /// the MRZ confirms (`agrees`) spells `name` (Й and Ъ aside, which the Russian
    /// model is asked about). The MRZ spells Қ and К, Ұ, Ү and У, Ә and А alike:
    /// one look may read a blurred Қ as К and another as Қ, both confirmed by it
    /// (АҚБОТА, АКБОТА on a hard card of tuning seed 13), and then neither is
    /// known to be the print. Only reads already made are asked: no read more.
    pub(super) fn spelled_one_way(&self, printed: &Printed, value: Value, name: &str, agrees: impl Fn(&str) -> bool) -> bool {
        self.names_read(printed, value).iter().all(|read| if agrees(read) { alike_but_untold(read, name) } else { !spells_a_letter_otherwise(name, read) })
    }
}

/// Whether an И or Ь of `name` may be a Й or Ъ the Kazakh model lost: Й follows
/// a vowel (ЗАЙЦЕВА, СЕРГЕЙ, ДМИТРИЙ, АЙГҮЛ) or starts a word before one; Ъ stands
/// before Е, Ё, Ю or Я (ПОДЪЯЧЕВА). An И after a consonant (ҒАЗИЗА, СЕРГЕЕВИЧ)
/// or a Ь at a word's end or before a consonant (ИГОРЬ) is not asked about: no
/// name is spelled otherwise there, and the Russian read costs 5-8 ms.
fn may_hide_a_sign(name: &str) -> bool {
    const VOWELS: &str = "АӘЕЁИІОӨУҰҮЫЭЮЯ";
    let letters: Vec<char> = name.chars().collect();
    let vowel = |c: Option<&char>| c.is_some_and(|c| VOWELS.contains(*c));
    (0..letters.len()).any(|i| {
        let before = i.checked_sub(1).map(|j| &letters[j]).filter(|c| c.is_alphabetic());
        let after = letters.get(i + 1);
        match letters[i] {
            'И' => vowel(before) || (before.is_none() && vowel(after)),
            'Ь' => after.is_some_and(|c| "ЕЁЮЯ".contains(*c)),
            _ => false,
        }
    })
}

/// Whether `other`, a read of a name's line the MRZ does not confirm (a letter
/// misread, or its end lost: ҚҰНАНБАҒІ for ҚҰНАНБАЕВ-ШӘРІПОВ), still reads one
/// of `name`'s letters as another the MRZ spells alike (Қ where `name` has К):
/// aligned with as few changes as can be, `other` against the start of `name`
/// as long as it, and near it (a change in three letters at most).
fn spells_a_letter_otherwise(name: &str, other: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (name.chars().collect(), other.chars().collect());
    let a = &a[..a.len().min(b.len())];
    let (changes, pairs) = alignment(a, &b);
    changes * 3 <= b.len()
        && pairs.iter().any(|&(x, y)| {
            !UNTOLD.contains(&(x, y)) && !UNTOLD.contains(&(y, x)) && latin(x).is_some_and(|l| latin(y) == Some(l))
        })
}

/// How many changes make `a` into `b` at fewest (their edit distance), and the
/// letters one has for the other's along such an alignment.
fn alignment(a: &[char], b: &[char]) -> (usize, Vec<(char, char)>) {
    let (n, m) = (a.len(), b.len());
    let mut cost = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in cost.iter_mut().enumerate() {
        row[0] = i;
    }
    for j in 0..=m {
        cost[0][j] = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            cost[i][j] = (cost[i - 1][j] + 1).min(cost[i][j - 1] + 1).min(cost[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]));
        }
    }
    let (mut i, mut j, mut pairs) = (n, m, Vec::new());
    while i > 0 && j > 0 {
        if cost[i][j] == cost[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]) {
            if a[i - 1] != b[j - 1] {
                pairs.push((a[i - 1], b[j - 1]));
            }
            (i, j) = (i - 1, j - 1);
        } else if cost[i][j] == cost[i - 1][j] + 1 {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    (cost[n][m], pairs)
}

/// Letter for letter the same name, but for the letters [`UNTOLD`] pairs.
fn alike_but_untold(a: &str, b: &str) -> bool {
    a.chars().count() == b.chars().count() && a.chars().zip(b.chars()).all(|(x, y)| x == y || UNTOLD.contains(&(x, y)) || UNTOLD.contains(&(y, x)))
}

/// The Kazakh model's read with the Russian model's Й and Ъ where it read И and Ь,
/// when the two reads are letter for letter the same name: alike wherever both
/// read a Russian letter (a Kazakh letter is left to the Kazakh read, see
/// [`drawn_on`]). A Russian read that strays elsewhere says nothing sure about
/// a breve, but one that sees a sign the Kazakh read lacks puts it in doubt.
pub(super) fn signs_from(kazakh: &str, russian: &str) -> Signs {
    let (k, r): (Vec<char>, Vec<char>) = (kazakh.chars().collect(), russian.chars().collect());
    if k.len() != r.len() {
        return Signs::Kept;
    }
    let (mut changed, mut strays) = (false, false);
    let mut out = String::with_capacity(kazakh.len());
    for (&a, &b) in k.iter().zip(&r) {
        if UNTOLD.contains(&(a, b)) {
            changed = true;
            out.push(b);
        } else if a == b || drawn_on(a) == Some(b) || UNTOLD.contains(&(b, a)) {
            out.push(a);
        } else {
            strays = true;
        }
    }
    match (changed, strays) {
        (false, _) => Signs::Kept,
        (true, false) => Signs::Taken(out),
        (true, true) => Signs::Disputed,
    }
}

/// Whether the Russian model's read contradicts the Kazakh model's: letter for
/// letter the same length, and another letter where the Kazakh read has a
/// Russian one (a Kazakh letter it cannot see, and Й/И and Ъ/Ь, which it tells
/// better, are not contradictions). Reads of other lengths say nothing.
pub(super) fn russian_contradicts(kazakh: &str, russian: &str) -> bool {
    let (k, r): (Vec<char>, Vec<char>) = (kazakh.chars().collect(), russian.chars().collect());
    k.len() == r.len()
        && k.iter().zip(&r).any(|(&a, &b)| a != b && drawn_on(a).is_none() && !UNTOLD.contains(&(a, b)) && !UNTOLD.contains(&(b, a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_russian_letter_read_otherwise_contradicts() {
        // Tuning seed 37: В read as Б by the Kazakh model, surely.
        assert!(russian_contradicts("БЛАДИМИРОВИЧ", "ВЛАДИМИРОВИЧ"));
        assert!(!russian_contradicts("СЕРІКҰЛЫ", "СЕРИКУЛЫ"), "Kazakh letters are the Kazakh model's");
        assert!(!russian_contradicts("ЮРЬЕВИЧ", "ЮРЪЕВИЧ"));
        assert!(!russian_contradicts("ВЛАДИМИРОВИЧ", "ВЛАДИМИРОВИЧИ"), "another length says nothing");
    }

    #[test]
    fn only_an_i_after_a_vowel_or_a_soft_sign_before_one_is_asked_about() {
        for name in ["ЗАИЦЕВА", "СЕРГЕИ", "ДМИТРИИ", "АИГҮЛ", "ҚАИРАТ", "ПОДЬЯЧЕВА", "ЖАНБОЛАТ ИОСИФ"] {
            assert!(may_hide_a_sign(name), "{name}");
        }
        for name in ["ҒАЗИЗА", "СЕРГЕЕВИЧ", "ИГОРЬ", "ИВАНОВ", "ЖАНБОЛАТ", "ШЕРБАЕВА", "ЮЛИЯ", "ЗАЙЦЕВА", "КҮНАНБАЕВ-ИСАЕВ"] {
            assert!(!may_hide_a_sign(name), "{name}");
        }
    }

    #[test]
    fn a_breve_or_a_hard_sign_the_russian_read_sees_is_taken() {
        let taken = |name: &str| Signs::Taken(name.to_string());
        assert_eq!(signs_from("ПОДЬЯЧЕВА", "ПОДЪЯЧЕВА"), taken("ПОДЪЯЧЕВА"));
        assert_eq!(signs_from("ЗАИЦЕВА", "ЗАЙЦЕВА"), taken("ЗАЙЦЕВА"));
        // Kazakh letters stay the Kazakh model's; the Russian one cannot see them.
        assert_eq!(signs_from("ҚАИРБЕК", "КАЙРБЕК"), taken("ҚАЙРБЕК"));
    }

    #[test]
    fn spellings_differ_only_where_a_letter_is_not_its_look_alike() {
        assert!(alike_but_untold("ЗАИЦЕВА", "ЗАЙЦЕВА"), "Й is the Russian model's to say");
        assert!(!alike_but_untold("АКБОТА", "АҚБОТА"), "К and Қ: another spelling");
        assert!(!alike_but_untold("АҚБОТА", "АҚБОТАЕ"));
    }

    #[test]
    fn a_read_the_mrz_does_not_confirm_may_still_spell_a_letter_as_its_twin() {
        // Its end lost, and a letter misread, but Қ where the name has К.
        assert!(spells_a_letter_otherwise("КҰНАНБАЕВ-ШӘРІПОВ", "ҚҰНАНБАҒІ"));
        assert!(!spells_a_letter_otherwise("КҰНАНБАЕВ-ШӘРІПОВ", "КҰНАНБАҒІ"), "no letter read as its twin");
        assert!(!spells_a_letter_otherwise("ЗАЙЦЕВА", "ЗАИЦЕВ"), "Й and И are the Russian model's to say");
        assert!(!spells_a_letter_otherwise("АҚБОТА", "ӘКІМ"), "another word: nothing aligns");
    }

    #[test]
    fn a_russian_read_of_another_name_or_length_changes_nothing() {
        assert_eq!(signs_from("ЗАИЦЕВА", "ЗАЙЦЕВ"), Signs::Kept, "not letter for letter");
        assert_eq!(signs_from("ЗАИЦЕВА", "ЗАИЦЕБА"), Signs::Kept, "strays elsewhere, and sees no breve");
        assert_eq!(signs_from("ДМИТРИЙ", "ДМИТРИЙ"), Signs::Kept, "alike");
        // A breve the Kazakh model saw and the Russian one did not stays.
        assert_eq!(signs_from("ЗАЙЦЕВА", "ЗАИЦЕВА"), Signs::Kept);
    }

    #[test]
    fn a_sign_seen_only_by_a_russian_read_that_strays_elsewhere_is_in_doubt() {
        assert_eq!(signs_from("ПОДЬЯЧЕВА", "ПОЛЪЯЧЕВА"), Signs::Disputed);
        assert_eq!(signs_from("ЗАИЦЕВА", "ЗАЙЦЕБА"), Signs::Disputed);
    }
}
