//! Cyrillic names in the MRZ's Latin letters, and a tolerant comparison of a
//! printed Cyrillic name with the MRZ's, so a reader can tell a misread from a
//! spelling the holder's documents legitimately use.
//!
//! The table is ICAO Doc 9303 Part 3's Cyrillic transliteration, as the `mrz`
//! Python package implements it (`mrz.generator.dictionaries.cyrillic`), with
//! the Kazakh letters Kazakh documents add:
//!
//! | Cyrillic | Latin | | Cyrillic | Latin | | Cyrillic | Latin |
//! |---|---|---|---|---|---|---|---|
//! | А Ә | A | | Й | I | | Ф | F |
//! | Б | B | | К Қ | K | | Х | KH |
//! | В | V | | Л | L | | Һ | H |
//! | Г Ғ | G | | М | M | | Ц | TS |
//! | Д | D | | Н Ң | N | | Ч | CH |
//! | Е Ё Э | E | | О Ө | O | | Ш | SH |
//! | Ж | ZH | | П | P | | Щ | SHCH |
//! | З | Z | | Р | R | | Ы | Y |
//! | И І | I | | С | S | | Ь Ъ | (dropped) |
//! | Ю | IU | | Т | T | | Я | IA |
//! | | | | У Ұ Ү | U | | | |
//!
//! Where this differs from the `mrz` package: it has no Kazakh letters, no Ь or
//! Ъ, and maps Һ to C (Serbian/Bashkir practice); Kazakh documents write H.
//! ICAO's own table gives Ъ as IE; Kazakh practice drops it, and IE is accepted
//! as a known variant. The unit tests check the table against the package.
//!
//! Known variants (older documents, or a Latin spelling kept from an earlier
//! passport) are accepted but reported as such: Ю as YU, Я as YA, Й as Y, Х as
//! H, Ё as YO, Ъ as IE, Щ as SCH, Ц as C, Қ as Q, Ғ as GH, Ң as NG. A space,
//! hyphen or apostrophe between name parts is `<` in the MRZ (or a space in a
//! parsed name); a long name is truncated to fit the MRZ, so a caller that
//! knows the MRZ name field was full compares the MRZ name as a prefix.

use std::collections::HashSet;

/// The ICAO 9303 / Kazakh Latin for one upper-case Cyrillic letter (`""` for
/// Ь and Ъ), or `None` for anything else.
pub fn latin(c: char) -> Option<&'static str> {
    Some(match c {
        'А' | 'Ә' => "A",
        'Б' => "B",
        'В' => "V",
        'Г' | 'Ғ' => "G",
        'Д' => "D",
        'Е' | 'Ё' | 'Э' => "E",
        'Ж' => "ZH",
        'З' => "Z",
        'И' | 'І' | 'Й' => "I",
        'К' | 'Қ' => "K",
        'Л' => "L",
        'М' => "M",
        'Н' | 'Ң' => "N",
        'О' | 'Ө' => "O",
        'П' => "P",
        'Р' => "R",
        'С' => "S",
        'Т' => "T",
        'У' | 'Ұ' | 'Ү' => "U",
        'Ф' => "F",
        'Х' => "KH",
        'Һ' => "H",
        'Ц' => "TS",
        'Ч' => "CH",
        'Ш' => "SH",
        'Щ' => "SHCH",
        'Ы' => "Y",
        'Ь' | 'Ъ' => "",
        'Ю' => "IU",
        'Я' => "IA",
        _ => return None,
    })
}

/// Spellings other than ICAO's that real documents use for a letter.
fn variants(c: char) -> &'static [&'static str] {
    match c {
        'Ю' => &["YU"],
        'Я' => &["YA"],
        'Й' => &["Y"],
        'Х' => &["H"],
        'Ё' => &["YO"],
        'Ъ' => &["IE"],
        'Щ' => &["SCH"],
        'Ц' => &["C"],
        'Қ' => &["Q"],
        'Ғ' => &["GH"],
        'Ң' => &["NG"],
        _ => &[],
    }
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '<' | '\'' | '’')
}

/// A name in the MRZ's alphabet: upper-case Latin, name parts joined by `<`.
/// Latin letters pass through (OCR may return Latin look-alikes); other
/// characters (digits, punctuation) are dropped.
pub fn transliterate(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_uppercase) {
        if is_separator(c) {
            if !out.is_empty() && !out.ends_with('<') {
                out.push('<');
            }
        } else if let Some(l) = latin(c) {
            out.push_str(l);
        } else if c.is_ascii_uppercase() {
            out.push(c);
        }
    }
    out.trim_end_matches('<').to_string()
}

/// Where two spellings first part ways: character indices into the printed
/// name and into the MRZ name, as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstDifference {
    pub printed: usize,
    pub mrz: usize,
}

/// The verdict of [`compare`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameMatch {
    /// The MRZ spells the printed name exactly as ICAO 9303 does (or a prefix
    /// of it, when the MRZ name may be truncated).
    Agree,
    /// They agree only through a known variant spelling (YU for Ю, H for Х, …).
    AgreeWithVariant,
    /// They differ: re-read the printed name (or the MRZ) before believing either.
    Disagree(FirstDifference),
}

impl NameMatch {
    pub fn agrees(&self) -> bool {
        !matches!(self, NameMatch::Disagree(_))
    }
}

/// Compares a printed Cyrillic name (one name field: surname, or given names)
/// with the same field from the MRZ (`<` or spaces between parts, trailing
/// fillers ignored). `mrz_may_be_truncated`: the MRZ name field was full, so
/// the MRZ name may be a cut-off prefix of the transliteration.
pub fn compare(printed: &str, mrz: &str, mrz_may_be_truncated: bool) -> NameMatch {
    let printed: Vec<char> = printed.trim().chars().flat_map(char::to_uppercase).collect();
    let mrz: Vec<char> = mrz.trim().trim_end_matches(['<', ' ']).chars().map(|c| c.to_ascii_uppercase()).collect();
    let mut search = Search { printed: &printed, mrz: &mrz, truncated_ok: mrz_may_be_truncated, failed: HashSet::new(), furthest: (0, 0), with_variants: false };
    if search.run(0, 0) {
        return NameMatch::Agree;
    }
    let first = search.furthest;
    search.failed.clear();
    search.with_variants = true;
    if search.run(0, 0) {
        return NameMatch::AgreeWithVariant;
    }
    // Report where the ICAO spelling broke off: that is the glyph to re-read.
    NameMatch::Disagree(FirstDifference { printed: first.0, mrz: first.1 })
}

/// A depth-first walk over the printed letters, trying each accepted spelling
/// against the MRZ text; states that failed once are not tried again.
struct Search<'a> {
    printed: &'a [char],
    mrz: &'a [char],
    truncated_ok: bool,
    failed: HashSet<(usize, usize)>,
    furthest: (usize, usize),
    with_variants: bool,
}

impl Search<'_> {
    fn run(&mut self, p: usize, m: usize) -> bool {
        if (p, m) > self.furthest {
            self.furthest = (p, m);
        }
        if p == self.printed.len() {
            return m == self.mrz.len();
        }
        if m == self.mrz.len() && self.truncated_ok && m > 0 {
            return true;
        }
        if self.failed.contains(&(p, m)) {
            return false;
        }
        let c = self.printed[p];
        let ok = if is_separator(c) {
            // One filler in the MRZ for a run of separators; a separator the
            // MRZ lacks (e.g. an apostrophe) is skipped.
            let next = (p..self.printed.len()).find(|&i| !is_separator(self.printed[i])).unwrap_or(self.printed.len());
            let skip_mrz = (m..self.mrz.len()).find(|&i| !is_separator(self.mrz[i])).unwrap_or(self.mrz.len());
            (skip_mrz > m && self.run(next, skip_mrz)) || self.run(next, m)
        } else {
            let standard = latin(c).map(|l| vec![l]).unwrap_or_else(|| {
                // A Latin letter (an OCR look-alike) stands for itself.
                if c.is_ascii_uppercase() { vec![ascii_letter(c)] } else { Vec::new() }
            });
            let extra: &[&str] = if self.with_variants { variants(c) } else { &[] };
            standard.into_iter().chain(extra.iter().copied()).any(|spelling| self.take(p, m, spelling))
        };
        if !ok {
            self.failed.insert((p, m));
        }
        ok
    }

    /// Matches `spelling` at MRZ position `m`, then the rest of the name.
    fn take(&mut self, p: usize, m: usize, spelling: &str) -> bool {
        let mut i = m;
        for s in spelling.chars() {
            if i == self.mrz.len() {
                // The MRZ was cut inside this letter's spelling (e.g. "SH" of Щ).
                return self.truncated_ok && i > 0;
            }
            if self.mrz[i] != s {
                return false;
            }
            i += 1;
        }
        self.run(p + 1, i)
    }
}

fn ascii_letter(c: char) -> &'static str {
    const LETTERS: [&str; 26] = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z"];
    LETTERS[(c as u8 - b'A') as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn differ(printed: usize, mrz: usize) -> NameMatch {
        NameMatch::Disagree(FirstDifference { printed, mrz })
    }

    #[test]
    fn kazakh_letters_follow_the_icao_and_kazakh_table() {
        assert_eq!(transliterate("ҚҰСАЙЫНОВ"), "KUSAIYNOV");
        assert_eq!(transliterate("ҒАЛЫМ"), "GALYM");
        assert_eq!(transliterate("ӘЙГЕРІМ"), "AIGERIM");
        assert_eq!(transliterate("ТӨЛЕГЕНОВА"), "TOLEGENOVA");
        assert_eq!(transliterate("ІҢКӘР"), "INKAR");
        assert_eq!(transliterate("ҮСЕНОВ"), "USENOV");
        assert_eq!(transliterate("ҺАШИМОВ"), "HASHIMOV");
        assert_eq!(transliterate("ЩЕРБАКОВА"), "SHCHERBAKOVA");
        assert_eq!(transliterate("ЮЛИЯ"), "IULIIA");
        assert_eq!(transliterate("ХАРИТОНОВИЧ"), "KHARITONOVICH");
        assert_eq!(transliterate("ЦОЙ"), "TSOI");
        assert_eq!(transliterate("ПОДЪЯЧЕВ"), "PODIACHEV");
        assert_eq!(transliterate("НАТАЛЬЯ"), "NATALIA");
        assert_eq!(transliterate("ЖҰЛДЫЗ"), "ZHULDYZ");
    }

    #[test]
    fn name_parts_are_joined_by_one_filler_and_case_does_not_matter() {
        assert_eq!(transliterate("ӘЙГЕРІМ ЖАНСАЯ"), "AIGERIM<ZHANSAIA");
        assert_eq!(transliterate("қасымова-шәріпова "), "KASYMOVA<SHARIPOVA");
        assert_eq!(transliterate(" Тегі  1"), "TEGI");
    }

    #[test]
    fn the_icao_spelling_agrees() {
        assert_eq!(compare("ҚҰСАЙЫНОВ", "KUSAIYNOV", false), NameMatch::Agree);
        assert_eq!(compare("Ғалым", "GALYM", false), NameMatch::Agree);
        assert_eq!(compare("ӘЙГЕРІМ ЖАНСАЯ", "AIGERIM<ZHANSAIA", false), NameMatch::Agree);
        assert_eq!(compare("ӘЙГЕРІМ ЖАНСАЯ", "AIGERIM ZHANSAIA<<<<", false), NameMatch::Agree);
        assert_eq!(compare("ҚАСЫМОВА-ШӘРІПОВА", "KASYMOVA<SHARIPOVA", false), NameMatch::Agree);
    }

    #[test]
    fn older_spellings_agree_as_known_variants() {
        assert_eq!(compare("ЮСУПОВ", "YUSUPOV", false), NameMatch::AgreeWithVariant);
        assert_eq!(compare("ЯНА", "YANA", false), NameMatch::AgreeWithVariant);
        assert_eq!(compare("ХАМИТОВ", "HAMITOV", false), NameMatch::AgreeWithVariant);
        assert_eq!(compare("СЕРГЕЙ", "SERGEY", false), NameMatch::AgreeWithVariant);
        assert_eq!(compare("ПОДЪЯЧЕВ", "PODIEIACHEV", false), NameMatch::AgreeWithVariant);
        assert_eq!(compare("ҚАЙРАТ", "QAIRAT", false), NameMatch::AgreeWithVariant);
        // The ICAO spelling is preferred when both would fit.
        assert_eq!(compare("ХАСЕНОВ", "KHASENOV", false), NameMatch::Agree);
    }

    #[test]
    fn a_truncated_mrz_name_is_compared_as_a_prefix_only_when_it_may_be_truncated() {
        assert_eq!(compare("ҚҰДАЙБЕРГЕНОВА", "KUDAIBERG", true), NameMatch::Agree);
        assert_eq!(compare("ЩЕРБАКОВА", "SH", true), NameMatch::Agree, "cut inside the spelling of Щ");
        assert_eq!(compare("ҚҰДАЙБЕРГЕНОВА", "KUDAIBERG", false), differ(9, 9));
        assert!(!compare("ҚҰДАЙБЕРГЕНОВА", "", true).agrees(), "an empty MRZ name is not a prefix");
    }

    #[test]
    fn a_letter_cut_from_the_start_disagrees_at_the_first_letter() {
        assert_eq!(compare("САЙЫНОВ", "KUSAIYNOV", false), differ(0, 0));
        assert_eq!(compare("ЛЫМ", "GALYM", false), differ(0, 0));
        assert_eq!(compare("ҚАРОВИЧ", "ASKAROVICH", false), differ(0, 0));
    }

    #[test]
    fn a_misread_letter_disagrees_where_it_is() {
        // Ш read for Щ: SH matches, then the MRZ's CH does not follow E.
        assert_eq!(compare("ШЕРБАКОВА", "SHCHERBAKOVA", false), differ(1, 2));
        // Ә read as А agrees (both A): the MRZ cannot tell them apart.
        assert_eq!(compare("АЙГЕРІМ", "AIGERIM", false), NameMatch::Agree);
        assert_eq!(compare("ТӨЛЕГЕНОВ", "TOLEGENOVA", false), differ(9, 9));
        assert_eq!(compare("ҒАЛЫМ1", "GALYM", false), differ(5, 5));
    }

    #[test]
    fn latin_look_alikes_from_ocr_stand_for_themselves() {
        // OCR returned Latin A and O for Cyrillic А and О.
        assert_eq!(compare("ҒAЛЫM", "GALYM", false), NameMatch::Agree);
        // Latin B is not Cyrillic В (V): a re-read is due.
        assert_eq!(compare("BИКТОР", "VIKTOR", false), differ(0, 0));
    }

    proptest::proptest! {
        /// Any name of letters the table knows agrees with its own ICAO spelling,
        /// whole and, when the MRZ may be truncated, cut anywhere.
        #[test]
        fn a_name_agrees_with_its_own_transliteration(
            name in "[АӘБВГҒДЕЁЖЗИЙКҚЛМНҢОӨПРСТУҰҮФХҺЦЧШЩЪЫІЬЭЮЯ -]{0,30}",
            cut in 1usize..40,
        ) {
            let mrz = transliterate(&name);
            proptest::prop_assert_eq!(compare(&name, &mrz, false), NameMatch::Agree);
            let prefix: String = mrz.chars().take(cut).collect();
            if !prefix.is_empty() {
                proptest::prop_assert_eq!(compare(&name, &prefix, true), NameMatch::Agree);
            }
        }
    }

    /// The table against the `mrz` Python package's own Cyrillic dictionary
    /// (test dependency, installed by scripts/setup), letter by letter, and
    /// against the fixture generator's names (tests/fixtures/doc_names.py,
    /// which transliterates with that package) name by name.
    #[test]
    fn the_table_matches_the_mrz_package() {
        let script = r#"
import json, sys
sys.path.insert(0, sys.argv[1])
from mrz.generator.dictionaries.cyrillic import transliteration as table
import doc_names as d
letters = {c: v for c, v in table.items() if c.isupper() and "\u0410" <= c <= "\u042f" or c == "\u0401"}
names = set(d.KAZAKH_SURNAMES + d.RUSSIAN_SURNAMES + d.KAZAKH_FATHERS)
for group in (d.KAZAKH_GIVEN, d.RUSSIAN_GIVEN):
    for v in group.values():
        names.update(v)
for pair in d.RUSSIAN_PATRONYMICS:
    names.update(pair)
names.update([d.feminine(s) for s in d.KAZAKH_SURNAMES + d.RUSSIAN_SURNAMES])
names.update([f + end for f in d.KAZAKH_FATHERS for end in ("ҰЛЫ", "ҚЫЗЫ", "ОВИЧ", "ОВНА")])
names.update(["ӘЙГЕРІМ ЖАНСАЯ", "ҚАСЫМОВА-ШӘРІПОВА"])
print(json.dumps({"letters": letters, "names": {n: d.latin(n) for n in sorted(names)}}))
"#;
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        let out = std::process::Command::new("python3").args(["-c", script, fixtures]).output().expect("python3 (scripts/setup)");
        assert!(out.status.success(), "python3 with the mrz package (scripts/setup): {}", String::from_utf8_lossy(&out.stderr));
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

        let letters = value["letters"].as_object().unwrap();
        // А..Я and Ё, less the two soft/hard signs the package does not list.
        assert_eq!(letters.len(), 31, "{letters:?}");
        for (cyrillic, want) in letters {
            let c = cyrillic.chars().next().unwrap();
            assert_eq!(latin(c), Some(want.as_str().unwrap()), "{cyrillic}");
        }
        let names = value["names"].as_object().unwrap();
        assert!(names.len() > 250, "{} names", names.len());
        for (cyrillic, want) in names {
            let want = want.as_str().unwrap();
            assert_eq!(transliterate(cyrillic), want.replace([' ', '-'], "<"), "{cyrillic}");
            assert_eq!(compare(cyrillic, want, false), NameMatch::Agree, "{cyrillic}");
        }
    }
}
