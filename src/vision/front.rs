//! Reading the printed front of a Kazakh ID card with Tesseract's Kazakh model.
//! Enters: the rectified front with its portraits blanked ([`super::reader`]).
//! Leaves: the five printed fields as text; judging them is `identity`'s work.
//! Never logs what it reads.
//!
//! The fast way reads single lines only. Text lines are found by their ink; a
//! line standing on top of one with taller letters is a label with its value;
//! the label's first word says which field it is, and only then is the value
//! read, each line turned level and shown to Tesseract no wider than it needs
//! (its LSTM's time grows with a line's width in line heights, so the title rows,
//! the specimen mark and the Russian halves of the labels are never read). A
//! value that does not parse, or an IIN that does not check out, gets a second
//! look. The slow way, a whole-card block read, is left for what that misses.

use std::path::PathBuf;

use opencv::core::{self, Mat, Rect, Size};
use opencv::imgproc;
use opencv::prelude::*;

use super::VisionError;
use super::ocr::gray_of;
use super::tesseract::{Layout, Tesseract};
use crate::identity::{Date, FrontFields, Iin};

/// The front's alphabet: Kazakh and Russian Cyrillic, digits and the date and
/// number punctuation; Latin letters on the front are only guilloche noise.
const FRONT_ALPHABET: &str = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя\
                              ӘәҒғҚқҢңӨөҰұҮүҺһІі0123456789./-№ ";
/// Where Debian's tesseract-ocr-kaz puts its model.
const SYSTEM_TESSDATA: [&str; 2] = ["/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata"];

/// Reads the printed side of a Kazakh ID card.
pub struct FrontReader {
    ocr: Tesseract,
}

/// What the fast way read, and whether it can be trusted as it is.
pub struct LineRead {
    pub fields: FrontFields,
    /// Every field was read, and the IIN checks out against itself and the birth
    /// date, or two different looks at both read the same (the card is printed so).
    pub settled: bool,
}

/// How a line is shown to Tesseract: cut out with room for diacritics and
/// descenders, its letters scaled to `height` pixels and the whole drawn
/// `squeeze` times as wide. Tesseract brings every line to its network's height
/// before the LSTM, so a line's aspect, not its size, is its cost; the size only
/// matters to Tesseract's own thresholding, which wants letters well above 10 px.
#[derive(Clone, Copy, PartialEq, Debug)]
struct Look {
    height: f64,
    squeeze: f64,
}

/// Labels are only told apart, and a misread one is read again in full.
const LABEL_LOOK: Look = Look { height: 20.0, squeeze: 0.7 };
/// Names have no check digit: at their own proportions, as trained.
const NAME_LOOK: Look = Look { height: 24.0, squeeze: 1.0 };
/// Digits stay distinct when narrowed, and the IIN's check digit and the birth
/// date it carries catch the rare misread.
const DIGITS_LOOK: Look = Look { height: 24.0, squeeze: 0.7 };
/// The second look at a value that did not parse or check out: larger and at
/// full width, for blurred photos.
const SECOND_LOOK: Look = Look { height: 32.0, squeeze: 1.0 };
/// A look unlike the first two, to confirm what the second one read.
const THIRD_LOOK: Look = Look { height: 28.0, squeeze: 0.85 };
/// Room around a line's letters, in letter heights: above for the breve of Й
/// and the dots of Ё, below for the tails of Қ, Ң, Щ; beside, for the last letter.
const MARGIN_TOP: f64 = 0.5;
const MARGIN_BOTTOM: f64 = 0.3;
const MARGIN_SIDE: f64 = 0.25;

impl FrontReader {
    pub fn load() -> Result<Self, VisionError> {
        let datapath = SYSTEM_TESSDATA
            .iter()
            .map(PathBuf::from)
            .find(|p| p.join("kaz.traineddata").exists())
            .ok_or_else(|| VisionError::Model {
                path: "kaz.traineddata".into(),
                reason: "Tesseract's Kazakh model is missing; install tesseract-ocr-kaz (scripts/setup does)".into(),
            })?;
        let mut ocr = Tesseract::new(&datapath, "kaz", FRONT_ALPHABET)?;
        // Tesseract reads a doubtful line a second time as white on black; the
        // card prints none, and a doubtful label is read again in full anyway.
        ocr.set_variable("tessedit_do_invert", "0")?;
        Ok(Self { ocr })
    }

    /// The fast way (see the module comment), on the front with its portraits blanked.
    pub fn read_lines(&mut self, masked: &Mat) -> Result<LineRead, VisionError> {
        let gray = gray_of(masked)?;
        let ink = ink_of(&gray)?;
        let lines = text_lines(&ink)?;
        let mut fields = FrontFields::default();
        let mut values: Vec<(Label, Value, Look)> = Vec::new();
        for (label, value) in label_value_pairs(&lines, gray.cols()) {
            let Some(kind) = self.read_label(&gray, &ink, label)? else { continue };
            if values.iter().any(|(k, _, _)| *k == kind) {
                continue;
            }
            let value = Value::of(&ink, value)?;
            let first = if matches!(kind, Label::Birth | Label::Iin) { DIGITS_LOOK } else { NAME_LOOK };
            if let Some(look) = self.read_value(&gray, kind, value, &[first, SECOND_LOOK], &mut fields)? {
                values.push((kind, value, look));
            }
        }
        let names = fields.surname.is_some() && fields.given_names.is_some() && fields.patronymic.is_some();
        let mut settled = names && iin_agrees(&fields);
        if names && !settled && fields.iin.is_some() && fields.birth_date.is_some() {
            // A misread digit, or a card that disagrees with itself: another look
            // at the IIN and the date, unlike the one that read them, tells which.
            let mut again = FrontFields::default();
            for (kind, value, used) in values.iter().filter(|(k, _, _)| matches!(k, Label::Birth | Label::Iin)) {
                let other = if *used == SECOND_LOOK { THIRD_LOOK } else { SECOND_LOOK };
                self.read_value(&gray, *kind, *value, &[other], &mut again)?;
            }
            settled = iin_agrees(&again) || (again.iin == fields.iin && again.birth_date == fields.birth_date);
            // The larger look is the likelier when they differ.
            fields.iin = again.iin.or(fields.iin);
            fields.birth_date = again.birth_date.or(fields.birth_date);
        }
        Ok(LineRead { fields, settled })
    }

    /// Which field a label line names. Its first (Kazakh) word is enough and a
    /// third of its length; the whole label is read only when that word is none.
    fn read_label(&mut self, gray: &Mat, ink: &Mat, label: Line) -> Result<Option<Label>, VisionError> {
        // Specks narrower than half a letter are not a word.
        let first = words(ink, label)?.into_iter().find(|w| w.rect.width * 2 >= w.letters);
        if let Some(word) = first.filter(|w| *w != label)
            && let Some(kind) = label_of(&self.read_line(gray, word, LABEL_LOOK)?)
        {
            return Ok(Some(kind));
        }
        Ok(label_of(&self.read_line(gray, label, LABEL_LOOK)?))
    }

    /// A value under its label, through `looks` until one reads as that kind of
    /// value; stores it and returns the look that did.
    fn read_value(
        &mut self,
        gray: &Mat,
        kind: Label,
        value: Value,
        looks: &[Look],
        fields: &mut FrontFields,
    ) -> Result<Option<Look>, VisionError> {
        for look in looks {
            let text = self.read_line(gray, value.line, *look)?;
            let found = match kind {
                Label::Surname => fill(&mut fields.surname, line_name(&text, value.words)),
                Label::Given => fill(&mut fields.given_names, line_name(&text, value.words)),
                Label::Patronymic => fill(&mut fields.patronymic, line_name(&text, value.words)),
                Label::Birth => fill(&mut fields.birth_date, date_value(&text)),
                Label::Iin => fill(&mut fields.iin, iin_value(&text)),
            };
            if found {
                return Ok(Some(*look));
            }
        }
        Ok(None)
    }

    /// One line's text, shown to Tesseract as `look` says.
    fn read_line(&mut self, gray: &Mat, line: Line, look: Look) -> Result<String, VisionError> {
        let level = level_line(gray, line)?;
        let scale = look.height / f64::from(line.letters);
        let interpolation = if scale > 1.0 { imgproc::INTER_CUBIC } else { imgproc::INTER_AREA };
        let mut scaled = Mat::default();
        imgproc::resize(&level, &mut scaled, Size::new(0, 0), scale * look.squeeze, scale, interpolation)?;
        Ok(self.ocr.read(&scaled, Layout::Line)?.trim().to_string())
    }

    /// The slow way: the whole card as one block at `scale` (1.5× puts the card's
    /// small labels at Tesseract's best size; 2× helps blurred photos).
    pub fn read_block(&mut self, rectified: &Mat, scale: f64) -> Result<FrontFields, VisionError> {
        let mut larger = Mat::default();
        imgproc::resize(&gray_of(rectified)?, &mut larger, Size::new(0, 0), scale, scale, imgproc::INTER_CUBIC)?;
        Ok(parse_front_text(&self.ocr.read(&larger, Layout::Block)?))
    }
}

/// A line cut out of the card with its margins and turned level: Tesseract takes
/// the last letters of a sloping line for lower case or descenders.
fn level_line(gray: &Mat, line: Line) -> Result<Mat, VisionError> {
    let (r, h) = (line.rect, f64::from(line.letters));
    let margin = |share: f64| (h * share).round() as i32;
    let (side, top, bottom) = (margin(MARGIN_SIDE), margin(MARGIN_TOP), margin(MARGIN_BOTTOM));
    let bounds = Rect::new(0, 0, gray.cols(), gray.rows());
    let rise = (line.slope * f64::from(r.width)).abs().round() as i32;
    if rise < 2 {
        let crop = Rect::new(r.x - side, r.y - top, r.width + 2 * side, r.height + top + bottom) & bounds;
        return Ok(Mat::roi(gray, crop)?.try_clone()?);
    }
    // Turned about the box's centre, the line lies level across it, `rise` rows
    // shorter than the box; keep that band and the margins.
    let reach = r.height / 2 + top.max(bottom);
    let (cx, cy) = (r.x + r.width / 2, r.y + r.height / 2);
    let region = Rect::new(r.x - side, cy - reach, r.width + 2 * side, 2 * reach) & bounds;
    let centre = core::Point2f::new((cx - region.x) as f32, (cy - region.y) as f32);
    let turn = imgproc::get_rotation_matrix_2d(centre, line.slope.atan().to_degrees(), 1.0)?;
    let mut turned = Mat::default();
    let source = Mat::roi(gray, region)?;
    imgproc::warp_affine(
        &source,
        &mut turned,
        &turn,
        region.size(),
        imgproc::INTER_LINEAR,
        core::BORDER_REPLICATE,
        core::Scalar::default(),
    )?;
    let level_height = r.height - rise;
    let band = Rect::new(0, (cy - region.y) - level_height / 2 - top, region.width, level_height + top + bottom)
        & Rect::new(0, 0, region.width, region.height);
    Ok(Mat::roi(&turned, band)?.try_clone()?)
}

/// A value's line cut to its words (without specks of the portrait's edge or of
/// dust at either end), and how many words its ink shows.
#[derive(Clone, Copy)]
struct Value {
    line: Line,
    words: usize,
}

impl Value {
    fn of(ink: &Mat, line: Line) -> Result<Self, VisionError> {
        let words: Vec<Line> = words(ink, line)?.into_iter().filter(|w| w.rect.width * 2 >= w.letters).collect();
        Ok(match (words.first(), words.last()) {
            (Some(a), Some(b)) => {
                let rect = Rect::new(a.rect.x, line.rect.y, b.rect.x + b.rect.width - a.rect.x, line.rect.height);
                Self { line: Line { rect, ..line }, words: words.len() }
            }
            _ => Self { line, words: 1 },
        })
    }
}

/// A name from a line holding nothing but the name. The card prints names in
/// capitals, so lower case is the model misjudging size (it does, towards the
/// end of a line), and a space where the ink shows none is not one either.
fn line_name(text: &str, words: usize) -> Option<String> {
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

/// Stores a value that parsed; says whether it did.
fn fill<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
    let found = value.is_some();
    if found {
        *slot = value;
    }
    found
}

/// The IIN is valid and carries the printed birth date.
pub fn iin_agrees(f: &FrontFields) -> bool {
    f.iin.as_deref().and_then(|s| Iin::parse(s).ok()).is_some_and(|i| Some(i.birth_date()) == f.birth_date)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Label {
    Surname,
    Given,
    Patronymic,
    Birth,
    Iin,
}

/// Which field label (Kazakh / Russian) a line is, if it is one.
fn label_of(line: &str) -> Option<Label> {
    let u = line.to_uppercase();
    if u.contains("ӘКЕСІНІҢ") || u.contains("ОТЧЕСТВО") {
        Some(Label::Patronymic)
    } else if u.contains("ТЕГІ") || u.contains("ФАМИЛИЯ") {
        Some(Label::Surname)
    } else if u.contains("ИМЯ") || u.starts_with("АТЫ") {
        Some(Label::Given)
    } else if u.contains("ТУҒАН") || u.contains("ДАТА РОЖДЕНИЯ") {
        Some(Label::Birth)
    } else if u.contains("ЖСН") || u.contains("ИИН") {
        Some(Label::Iin)
    } else {
        None
    }
}

/// Names are printed in capitals; mixed-case fragments are OCR noise from the
/// portrait or the guilloche beside them.
fn name_value(line: &str) -> Option<String> {
    let words: Vec<&str> = line
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphabetic()))
        .filter(|w| w.chars().count() >= 2 && w.chars().all(|c| (c.is_alphabetic() && c.is_uppercase()) || c == '-'))
        .collect();
    // A two-letter capital fragment beside a real name is noise too.
    let longest = words.iter().map(|w| w.chars().count()).max()?;
    let kept: Vec<&str> = words.into_iter().filter(|w| longest < 4 || w.chars().count() > 2).collect();
    Some(kept.join(" "))
}

fn date_value(line: &str) -> Option<Date> {
    let digits: String = line.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 8 {
        return None;
    }
    let iso = format!("{}-{}-{}", &digits[4..8], &digits[2..4], &digits[0..2]);
    iso.parse().ok()
}

fn iin_value(line: &str) -> Option<String> {
    let digits: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// Fields from the OCR text of a card front: each value is the first line after
/// its label that looks like that kind of value.
pub fn parse_front_text(text: &str) -> FrontFields {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut fields = FrontFields::default();
    for (i, line) in lines.iter().enumerate() {
        let Some(label) = label_of(line) else { continue };
        let following = lines[i + 1..].iter().take(2).filter(|l| label_of(l).is_none());
        match label {
            Label::Surname => fields.surname = fields.surname.take().or(following.clone().find_map(|l| name_value(l))),
            Label::Given => fields.given_names = fields.given_names.take().or(following.clone().find_map(|l| name_value(l))),
            Label::Patronymic => fields.patronymic = fields.patronymic.take().or(following.clone().find_map(|l| name_value(l))),
            Label::Birth => fields.birth_date = fields.birth_date.or(following.clone().find_map(|l| date_value(l))),
            Label::Iin => fields.iin = fields.iin.take().or(following.clone().find_map(|l| iin_value(l))),
        }
    }
    // The IIN is the only 12-digit number on the front: take it even if its label was missed.
    if fields.iin.is_none() {
        fields.iin = lines.iter().find_map(|l| iin_value(l));
    }
    fields
}

/// Rows of the rectified card the lengths below are tuned for (ID-1 at about
/// 300 dpi); other sizes scale them.
const CARD_ROWS: f64 = 638.0;

/// A line of text on the card.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Line {
    /// Around all its ink.
    rect: Rect,
    /// How tall its letters' bodies are (capitals and digits on this card): less
    /// than the box when diacritics or descenders stick out, or the line runs
    /// slightly uphill on a card photographed askew.
    letters: i32,
    /// Rows its baseline drops per column (a card rectified slightly askew).
    slope: f64,
}

/// Ink: whatever is darker than its neighbourhood (an adaptive threshold, so the
/// tinted header and uneven light do not matter), as 255 on 0.
fn ink_of(gray: &Mat) -> Result<Mat, VisionError> {
    let u = f64::from(gray.rows()) / CARD_ROWS;
    let mut ink = Mat::default();
    imgproc::adaptive_threshold(gray, &mut ink, 255.0, imgproc::ADAPTIVE_THRESH_MEAN_C, imgproc::THRESH_BINARY_INV, odd(31.0 * u), 18.0)?;
    Ok(ink)
}

fn odd(v: f64) -> i32 {
    (v.round() as i32 / 2 * 2 + 1).max(3)
}

/// The text lines of a card front, top to bottom. Smearing the ink sideways joins
/// the letters and words of a line but not the lines above and below; a blob of
/// text height, wider than tall and about as dense as letters, is a line.
fn text_lines(ink: &Mat) -> Result<Vec<Line>, VisionError> {
    let u = f64::from(ink.rows()) / CARD_ROWS;
    let kernel = imgproc::get_structuring_element_def(imgproc::MORPH_RECT, Size::new(odd(13.0 * u), 3))?;
    let mut smeared = Mat::default();
    imgproc::dilate(
        ink,
        &mut smeared,
        &kernel,
        core::Point::new(-1, -1),
        1,
        core::BORDER_CONSTANT,
        imgproc::morphology_default_border_value()?,
    )?;
    let (mut labels, mut stats, mut centroids) = (Mat::default(), Mat::default(), Mat::default());
    let n = imgproc::connected_components_with_stats(&smeared, &mut labels, &mut stats, &mut centroids, 8, core::CV_32S)?;
    let (min_h, max_h) = (8.0 * u, 64.0 * u);
    let mut lines = Vec::new();
    for i in 1..n {
        let stat = |k: i32| stats.at_2d::<i32>(i, k).copied();
        let rect = Rect::new(
            stat(imgproc::CC_STAT_LEFT)?,
            stat(imgproc::CC_STAT_TOP)?,
            stat(imgproc::CC_STAT_WIDTH)?,
            stat(imgproc::CC_STAT_HEIGHT)?,
        );
        let h = f64::from(rect.height);
        if h < min_h || h > max_h || rect.width < rect.height {
            continue;
        }
        let block = Mat::roi(ink, rect)?.try_clone()?;
        let pixels = block.data_bytes()?;
        let inked = |r: i32, c: i32| pixels[(r * rect.width + c) as usize] > 0;
        let density = pixels.iter().filter(|p| **p > 0).count() as f64 / f64::from(rect.area());
        if !(0.12..=0.7).contains(&density) {
            continue;
        }
        // Straightened by the baseline's slope, the rows through the letters' bodies
        // hold most of the ink; diacritics and descenders only a little.
        let bottoms: Vec<Option<i32>> = (0..rect.width).map(|c| (0..rect.height).rev().find(|&r| inked(r, c))).collect();
        // Too short a line gives no slope worth trusting, and a card turned more
        // than about 6° is not rectified at all.
        let slope = if rect.width >= 4 * rect.height { baseline_slope(&bottoms).clamp(-0.1, 0.1) } else { 0.0 };
        let drop = (slope * f64::from(rect.width)).round() as i32;
        let mut profile = vec![0u32; (rect.height + drop.abs() + 1) as usize];
        for c in 0..rect.width {
            let shift = (slope * f64::from(c)).round() as i32 - drop.min(0);
            for r in (0..rect.height).filter(|&r| inked(r, c)) {
                if let Some(row) = profile.get_mut((r - shift + drop.abs()) as usize) {
                    *row += 1;
                }
            }
        }
        lines.push(Line { rect, letters: body_height(&profile).clamp(1, rect.height), slope });
    }
    lines.sort_by_key(|l| (l.rect.y, l.rect.x));
    Ok(lines)
}

/// The slope (rows per column) of a line's baseline, from the lowest ink of each
/// column: the median slope between columns half the line apart, so the few
/// descenders and gaps do not count.
fn baseline_slope(bottoms: &[Option<i32>]) -> f64 {
    let half = bottoms.len() / 2;
    let mut slopes: Vec<f64> = (0..half).filter_map(|i| Some(f64::from(bottoms[i + half]? - bottoms[i]?) / half as f64)).collect();
    if slopes.is_empty() {
        return 0.0;
    }
    slopes.sort_by(f64::total_cmp);
    slopes[slopes.len() / 2]
}

/// How many rows of a (straightened) line's ink profile carry its letters'
/// bodies: from the first to the last row with at least 40% of the fullest row's ink.
fn body_height(profile: &[u32]) -> i32 {
    let full = profile.iter().copied().max().unwrap_or(0);
    let body: Vec<usize> = (0..profile.len()).filter(|&r| profile[r] * 5 >= full * 2 && full > 0).collect();
    match (body.first(), body.last()) {
        (Some(a), Some(b)) => (b - a + 1) as i32,
        _ => 0,
    }
}

/// The words of a line, left to right: runs of inked columns, split where the
/// gap is a third of the letters' height or more (a space; letters stand closer),
/// each boxed to its own ink.
fn words(ink: &Mat, line: Line) -> Result<Vec<Line>, VisionError> {
    let r = line.rect;
    let block = Mat::roi(ink, r)?.try_clone()?;
    let pixels = block.data_bytes()?;
    let inked = |row: i32, c: usize| pixels[row as usize * r.width as usize + c] > 0;
    let columns: Vec<bool> = (0..r.width as usize).map(|c| (0..r.height).any(|row| inked(row, c))).collect();
    Ok(runs(&columns, (line.letters / 3).max(1) as usize)
        .into_iter()
        .map(|(a, b)| {
            // A word's own rows: on a sloping line they are not the whole line's.
            let rows: Vec<i32> = (0..r.height).filter(|&row| (a..b).any(|c| inked(row, c))).collect();
            let (top, bottom) = (rows.first().copied().unwrap_or(0), rows.last().copied().unwrap_or(r.height - 1));
            Line { rect: Rect::new(r.x + a as i32, r.y + top, (b - a) as i32, bottom - top + 1), ..line }
        })
        .collect())
}

/// Runs of `true` as (start, end) ranges; runs closer than `min_gap` are one.
fn runs(on: &[bool], min_gap: usize) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (i, &v) in on.iter().chain(std::iter::once(&false)).enumerate() {
        match (v, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                match out.last_mut() {
                    Some(last) if s - last.1 < min_gap => last.1 = i,
                    _ => out.push((s, i)),
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// Label and value lines: a label is a line with a line of taller letters just
/// under it, starting at about the same left edge (how every field on the card is
/// printed, wherever it is). Lines across most of the card are rules and borders.
fn label_value_pairs(lines: &[Line], image_width: i32) -> Vec<(Line, Line)> {
    let text: Vec<&Line> = lines.iter().filter(|l| l.rect.width < image_width * 4 / 5).collect();
    let mut pairs = Vec::new();
    for label in &text {
        let (l, lh) = (label.rect, label.letters);
        let under = text
            .iter()
            .filter(|value| {
                let (v, vh) = (value.rect, value.letters);
                let gap = v.y - (l.y + l.height);
                vh * 5 >= lh * 6 && gap >= -lh / 4 && gap <= vh && (v.x - l.x).abs() <= vh
            })
            .min_by_key(|value| value.rect.y);
        if let Some(value) = under {
            pairs.push((**label, **value));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use opencv::core::{Point, Scalar};

    use super::*;

    #[test]
    fn front_fields_are_found_under_their_labels() {
        let text = "ҚАЗАҚСТАН РЕСПУБЛИКАСЫ\nТЕГІ / ФАМИЛИЯ\nҚазұ- ҚАСЫМОВ\nАТЫ / ИМЯ\nМҰРАТ\nӘКЕСІНІҢ АТЫ / ОТЧЕСТВО\nБОЛАТОВИЧ\n\
                    ТУҒАН КҮНІ / ДАТА РОЖДЕНИЯ\n24.06.2005\nЖСН / ИИН\n0506 2453 3556\n";
        let f = parse_front_text(text);
        assert_eq!(f.surname.as_deref(), Some("ҚАСЫМОВ"));
        assert_eq!(f.given_names.as_deref(), Some("МҰРАТ"));
        assert_eq!(f.patronymic.as_deref(), Some("БОЛАТОВИЧ"));
        assert_eq!(f.birth_date, Some("2005-06-24".parse().unwrap()));
        assert_eq!(f.iin.as_deref(), Some("050624533556"));
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
    fn runs_join_across_gaps_narrower_than_a_space() {
        let on: Vec<bool> = "##.##...###....#".chars().map(|c| c == '#').collect();
        assert_eq!(runs(&on, 3), [(0, 5), (8, 11), (15, 16)]);
        assert_eq!(runs(&on, 4), [(0, 11), (15, 16)]);
        assert_eq!(runs(&on, 5), [(0, 16)]);
        assert!(runs(&[false, false], 2).is_empty());
    }

    #[test]
    fn the_baseline_slope_ignores_descenders_and_gaps() {
        // A baseline dropping one row in twenty, with a descender and a space.
        let mut bottoms: Vec<Option<i32>> = (0..200).map(|c| Some(30 + c / 20)).collect();
        for c in 40..46 {
            bottoms[c] = Some(bottoms[c].unwrap() + 6);
        }
        for b in &mut bottoms[100..110] {
            *b = None;
        }
        assert!((baseline_slope(&bottoms) - 0.05).abs() < 0.01, "{}", baseline_slope(&bottoms));
        assert_eq!(baseline_slope(&[None, Some(3)]), 0.0);
    }

    #[test]
    fn the_letters_height_leaves_out_diacritics_and_tails() {
        // Rows of ink: a breve above (2 rows), 20 rows of letter bodies, a tail below (3 rows).
        let mut profile = vec![0u32; 4];
        profile.extend([6, 6, 0]);
        profile.extend(std::iter::repeat_n(80, 20));
        profile.extend([9, 9, 9, 0, 0]);
        assert_eq!(body_height(&profile), 20);
        assert_eq!(body_height(&[0, 0]), 0);
    }

    fn line(x: i32, y: i32, width: i32, letters: i32) -> Line {
        Line { rect: Rect::new(x, y, width, letters), letters, slope: 0.0 }
    }

    #[test]
    fn a_label_pairs_with_the_taller_line_just_under_it() {
        let title = line(40, 20, 400, 24);
        let surname_label = line(330, 120, 135, 12);
        let surname = line(331, 146, 210, 24);
        let given_label = line(330, 200, 90, 12);
        let given = line(332, 226, 120, 24);
        let stray = line(700, 230, 90, 12);
        let rule = line(0, 90, 1000, 14);
        let pairs = label_value_pairs(&[title, rule, surname_label, surname, given_label, given, stray], 1011);
        assert_eq!(pairs, [(surname_label, surname), (given_label, given)]);
        // A value is not a label of the (smaller) label under it, and lines far apart do not pair.
        assert!(label_value_pairs(&[surname, given_label], 1011).is_empty());
        assert!(label_value_pairs(&[surname_label, line(331, 230, 210, 24)], 1011).is_empty());
    }

    /// A card-sized page with a title, two labelled fields to the right and one at
    /// the bottom left, like the Kazakh ID front, in Hershey letters.
    fn drawn_front(turn_degrees: f64) -> Mat {
        let mut page = Mat::new_rows_cols_with_default(638, 1011, core::CV_8UC1, Scalar::all(235.0)).unwrap();
        let text = [
            ("REPUBLIC OF TESTS", 40, 50, 1.0, 2),
            ("SURNAME", 330, 150, 0.5, 1),
            ("IVANOVA", 330, 185, 1.0, 2),
            ("GIVEN NAME", 330, 230, 0.5, 1),
            ("ELENA", 330, 265, 1.0, 2),
            ("IIN", 40, 480, 0.5, 1),
            ("810425478331", 40, 515, 1.0, 2),
        ];
        for (words, x, y, size, weight) in text {
            imgproc::put_text(
                &mut page,
                words,
                Point::new(x, y),
                imgproc::FONT_HERSHEY_SIMPLEX,
                size,
                Scalar::all(20.0),
                weight,
                imgproc::LINE_AA,
                false,
            )
            .unwrap();
        }
        if turn_degrees == 0.0 {
            return page;
        }
        let turn = imgproc::get_rotation_matrix_2d(core::Point2f::new(505.0, 319.0), turn_degrees, 1.0).unwrap();
        let mut turned = Mat::default();
        imgproc::warp_affine(
            &page,
            &mut turned,
            &turn,
            page.size().unwrap(),
            imgproc::INTER_LINEAR,
            core::BORDER_CONSTANT,
            Scalar::all(235.0),
        )
        .unwrap();
        turned
    }

    #[test]
    fn lines_are_found_and_each_label_is_paired_with_its_value_even_on_a_skewed_card() {
        for turn in [0.0, 3.0] {
            let page = drawn_front(turn);
            let ink = ink_of(&page).unwrap();
            let lines = text_lines(&ink).unwrap();
            // The title's words stand apart (Hershey spaces are wide) and pair with nothing.
            assert_eq!(lines.len(), 9, "turned {turn}°: {lines:?}");
            let pairs = label_value_pairs(&lines, page.cols());
            assert_eq!(pairs.len(), 3, "turned {turn}°: {pairs:?}");
            for (label, value) in &pairs {
                assert!(label.rect.y < value.rect.y && (label.rect.x - value.rect.x).abs() < 10, "{label:?} / {value:?}");
                // Hershey capitals: about 11 rows at size 0.5, 22 at 1.0, however the card is turned.
                assert!((9..=13).contains(&label.letters) && (19..=25).contains(&value.letters), "{label:?} / {value:?}");
            }
            if turn == 0.0 {
                // Surname, given name, IIN: where they were drawn (boxes carry a few pixels of margin).
                let drawn = [(330, 150), (330, 230), (40, 480)];
                for ((label, _), (x, baseline)) in pairs.iter().zip(drawn) {
                    assert!((label.rect.x - x).abs() <= 8 && (label.rect.y + label.rect.height - baseline).abs() <= 4, "{label:?}");
                }
            } else {
                // The long IIN line slopes by tan 3° (uphill: the page turned anticlockwise).
                let iin = pairs[2].1;
                assert!((iin.slope + 0.052).abs() < 0.01, "{iin:?}");
                assert!(iin.rect.height > iin.letters + 10, "{iin:?}");
                // Turned level, its ink fits in about its letters' height again.
                let level = level_line(&page, iin).unwrap();
                let mut rows = Mat::default();
                core::reduce(&ink_of(&level).unwrap(), &mut rows, 1, core::REDUCE_MAX, -1).unwrap();
                let inked = (0..rows.rows()).filter(|&r| *rows.at_2d::<u8>(r, 0).unwrap() > 0).count() as i32;
                assert!(inked <= iin.letters + 4, "{inked} inked rows for {iin:?}");
            }
        }
    }
}
