//! Text lines of a rectified document, found by their ink: where each line is,
//! how tall its letters are, how it slopes, where its words are; and a line cut
//! out level with room around it for OCR. Used for card fronts and passport
//! pages alike; knows nothing of what the lines say.

use opencv::core::{self, Mat, Rect, Size};
use opencv::imgproc;
use opencv::prelude::*;

use super::VisionError;
use super::components::components;

mod line;
mod steps;

pub(crate) use line::Line;

/// Lengths below are in pixels of a document rectified at 300 dpi, as
/// [`super::document`] flattens both ID-1 cards and ID-3 pages.
const U: f64 = 1.0;

/// Room around a line's letters, in letter heights: above for the breve of Й
/// and the dots of Ё, below for the tails of Қ, Ң, Щ; beside, for the first and
/// last letters (a wide Қ or Ж at a line's start must never lose its arm).
const MARGIN_TOP: f64 = 0.5;
const MARGIN_BOTTOM: f64 = 0.3;
const MARGIN_SIDE: f64 = 0.35;

/// A side as the line reader and the searches look at it: its grey image, its
/// ink and its text lines without rules and borders, worked out once for all of
/// them (9-13 ms a page, 4-6 ms a card front).
pub struct Printed {
    /// Unique to this side as looked at once: what was read of it may be kept under it.
    pub(crate) id: u64,
    pub(crate) gray: Mat,
    pub(crate) ink: Mat,
    /// Lines across most of the side are rules, borders and MRZ rows: left out.
    pub(crate) lines: Vec<Line>,
}

impl Printed {
    pub(crate) fn of(gray: Mat) -> Result<Self, VisionError> {
        let ink = ink_of(&gray)?;
        let width = ink.cols();
        let lines = text_lines(&ink)?.into_iter().filter(|l| l.rect.width < width * 4 / 5).collect();
        static PRINTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = PRINTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Self { id, gray, ink, lines })
    }

    /// The median slope of the lines long enough to be given one (four heights
    /// wide), if there are three.
    pub(crate) fn tilt(&self) -> Option<f64> {
        let mut slopes: Vec<f64> = self.lines.iter().filter(|l| l.rect.width >= 4 * l.rect.height).map(|l| l.slope).collect();
        if slopes.len() < 3 {
            return None;
        }
        slopes.sort_by(f64::total_cmp);
        Some(slopes[slopes.len() / 2])
    }

    /// The side's text lines, top first, but those `taken` ([`Line::is_also`]).
    pub(crate) fn free(&self, taken: &[Line]) -> Vec<Line> {
        self.lines.iter().copied().filter(|l| !taken.iter().any(|t| t.is_also(l))).collect()
    }
}

/// Ink: whatever is darker than its neighbourhood (an adaptive threshold, so the
/// tinted header and uneven light do not matter), as 255 on 0.
pub(super) fn ink_of(gray: &Mat) -> Result<Mat, VisionError> {
    let u = U;
    let mut ink = Mat::default();
    imgproc::adaptive_threshold(
        gray,
        &mut ink,
        255.0,
        imgproc::ADAPTIVE_THRESH_MEAN_C,
        imgproc::THRESH_BINARY_INV,
        odd(31.0 * u),
        18.0,
    )?;
    Ok(ink)
}

fn odd(v: f64) -> i32 {
    (v.round() as i32 / 2 * 2 + 1).max(3)
}

/// How wide the sideways smear is: letters and words of a line closer than this join.
const SMEAR: f64 = 13.0 * U;
/// The steepest slope a line is given (about 6°): a line turned further is
/// mostly not found as one, its smear a diagonal band.
pub(crate) const MAX_LINE_SLOPE: f64 = 0.1;
/// Ink shorter than this is a speck, not text.
const MIN_TEXT_HEIGHT: i32 = 8;
/// Letters taller than this are no text line of a document (portrait, guilloche).
const MAX_LETTERS: f64 = 64.0 * U;
/// A line's box may be taller than its letters by a breve or dots above and a
/// tail below (Й with Д, Щ or Қ in one name: 0.4 and 0.3 letter heights), and
/// by a strand of guilloche caught on either.
const MAX_BOX: f64 = 1.75 * MAX_LETTERS;

/// The text lines of a card front, top to bottom. Smearing the ink sideways joins
/// the letters and words of a line but not the lines above and below; a blob of
/// text height, wider than tall and about as dense as letters, is a line.
pub(super) fn text_lines(ink: &Mat) -> Result<Vec<Line>, VisionError> {
    // The smear is three rows tall, so a line's broken strokes stay one; but it
    // also bridges a value's breve (Й) to a label printed just above. Within a
    // blob tall enough for two lines, lines a one-row smear of its own pixels
    // finds apart, stacked, in print of two sizes, are a label and its value.
    let mut lines = Vec::new();
    for rect in blobs(ink, 3)? {
        let line = measured(ink, rect)?;
        // A blob no two lines of text could make, wider than tall: the strands of
        // a guilloche joined lines into it (a name beside a rosette, tuning seed 59).
        if f64::from(rect.height) > 2.0 * MAX_BOX && rect.width >= rect.height {
            lines.extend(lines_through_strands(ink, rect)?);
            continue;
        }
        // Specks, and blobs no two lines of text could make (portraits).
        if rect.height < 2 * MIN_TEXT_HEIGHT || f64::from(rect.height) > 2.0 * MAX_BOX || rect.width < rect.height {
            lines.extend(line);
            continue;
        }
        let part = Mat::roi(ink, rect)?.try_clone()?;
        let mut inside = Vec::new();
        for thin in blobs(&part, 1)? {
            inside.extend(measured(&part, thin)?.map(|l| Line { rect: l.rect + rect.tl(), ..l }));
        }
        match label_over_value(&inside) {
            Some(pair) => lines.extend(pair),
            None => lines.extend(line),
        }
    }
    let mut lines = steps::split_at_steps(ink, joined(ink, lines)?)?;
    lines.sort_by_key(|l| (l.rect.y, l.rect.x));
    Ok(lines)
}

/// The lines in a blob too tall for text that the background's strands (a dense
/// guilloche rosette) joined into one: found again in its ink with every stroke
/// thinner than a bold letter's taken out.
fn lines_through_strands(ink: &Mat, rect: Rect) -> Result<Vec<Line>, VisionError> {
    let part = Mat::roi(ink, rect)?.try_clone()?;
    let kernel = imgproc::get_structuring_element_def(imgproc::MORPH_RECT, Size::new(3, 3))?;
    let (mut opened, border) = (Mat::default(), imgproc::morphology_default_border_value()?);
    imgproc::morphology_ex(&part, &mut opened, imgproc::MORPH_OPEN, &kernel, core::Point::new(-1, -1), 1, core::BORDER_CONSTANT, border)?;
    let mut found = Vec::new();
    for inner in blobs(&opened, 3)? {
        if f64::from(inner.height) <= 2.0 * MAX_BOX {
            found.extend(measured(&opened, inner)?.map(|l| Line { rect: l.rect + rect.tl(), ..l }));
        }
    }
    Ok(found)
}

/// The boxes of the ink smeared sideways by [`SMEAR`] and by `rows` vertically.
fn blobs(ink: &Mat, rows: i32) -> Result<Vec<Rect>, VisionError> {
    let kernel = imgproc::get_structuring_element_def(imgproc::MORPH_RECT, Size::new(odd(SMEAR), rows))?;
    let (mut smeared, border) = (Mat::default(), imgproc::morphology_default_border_value()?);
    imgproc::dilate(ink, &mut smeared, &kernel, core::Point::new(-1, -1), 1, core::BORDER_CONSTANT, border)?;
    Ok(components(&smeared)?.into_iter().map(|c| c.rect).collect())
}

/// Two lines of `inside` one over the other, the lower in print at least a
/// quarter larger and at most four times as large: a label and its value in one
/// blob. Lines of one size stacked (a label in three languages) stay one blob.
fn label_over_value(inside: &[Line]) -> Option<[Line; 2]> {
    let lower = inside.iter().max_by_key(|l| l.letters)?;
    // The nearest line above it: the label that governs it.
    let upper = inside
        .iter()
        .filter(|u| {
            u.rect.y < lower.rect.y
                && u.rect.y + u.rect.height <= lower.rect.y + lower.rect.height / 4
                && lower.letters * 4 >= u.letters * 5
                // A breve or the dots of Ё over large letters: a fifth of their height.
                && u.letters * 4 >= lower.letters
        })
        .max_by_key(|u| u.rect.y)?;
    Some([*upper, *lower])
}

/// The line whose ink fills `rect`, if it looks like one: text height, wider than
/// tall, about as dense as letters.
fn measured(ink: &Mat, rect: Rect) -> Result<Option<Line>, VisionError> {
    let h = f64::from(rect.height);
    if rect.height < MIN_TEXT_HEIGHT || h > MAX_BOX || rect.width < rect.height {
        return Ok(None);
    }
    let block = Mat::roi(ink, rect)?.try_clone()?;
    let pixels = block.data_bytes()?;
    let inked = |r: i32, c: i32| pixels[(r * rect.width + c) as usize] > 0;
    let density = pixels.iter().filter(|p| **p > 0).count() as f64 / f64::from(rect.area());
    if !(0.12..=0.7).contains(&density) {
        return Ok(None);
    }
    // Straightened by the baseline's slope, the rows through the letters' bodies
    // hold most of the ink; diacritics and descenders only a little.
    let bottoms: Vec<Option<i32>> = (0..rect.width).map(|c| (0..rect.height).rev().find(|&r| inked(r, c))).collect();
    // Too short a line gives no slope worth trusting.
    let slope = if rect.width >= 4 * rect.height { baseline_slope(&bottoms).clamp(-MAX_LINE_SLOPE, MAX_LINE_SLOPE) } else { 0.0 };
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
    let letters = body_height(&profile).clamp(1, rect.height);
    if let Some(trimmed) = without_dashes_at_the_ends(&block, rect, letters)? {
        return measured(ink, trimmed);
    }
    Ok((f64::from(letters) <= MAX_LETTERS).then_some(Line { rect, letters, slope }))
}

/// `rect` without the strokes of a background's pattern (a guilloche thresholded
/// into dashes) that the smear joined to either end of its letters: a piece of
/// ink standing apart from the rest, under a third of the letters' height tall
/// and twice as wide as tall. A letter's own thin stroke (the bar of a Т) touches
/// its stem, and a full stop is no wider than tall. `None` when nothing is trimmed.
fn without_dashes_at_the_ends(block: &Mat, rect: Rect, letters: i32) -> Result<Option<Rect>, VisionError> {
    let pixels = block.data_bytes()?;
    let width = rect.width as usize;
    let rows_inked = |c: usize| (0..rect.height as usize).filter(|&r| pixels[r * width + c] > 0).count() as i32;
    let tall: Vec<i32> = (0..width).map(rows_inked).collect();
    // Pieces: runs of inked columns, as (first, last, tallest column).
    let inked: Vec<bool> = tall.iter().map(|t| *t > 0).collect();
    let pieces: Vec<(usize, usize, i32)> = runs(&inked, 1).into_iter().map(|(a, b)| (a, b - 1, tall[a..b].iter().copied().max().unwrap_or(0))).collect();
    let dash = |p: &(usize, usize, i32)| p.2 * 3 < letters && (p.1 - p.0 + 1) as i32 >= 2 * p.2;
    let first = pieces.iter().take_while(|p| dash(p)).count();
    let last = pieces.len() - pieces.iter().rev().take_while(|p| dash(p)).count();
    if first >= last || (first == 0 && last == pieces.len()) {
        return Ok(None);
    }
    let (from, to) = (pieces[first].0, pieces[last - 1].1);
    // Boxed as the smear boxes a line, half a smear wider than its ink, but not
    // into a dash trimmed off; an end not trimmed stays where it was.
    let half = (SMEAR / 2.0) as usize;
    let left = if first == 0 { 0 } else { from - half.min(from - pieces[first - 1].1 - 1) };
    let right = if last == pieces.len() { width - 1 } else { to + half.min(pieces[last].0 - to - 1) };
    let inked_row = |r: usize| (from..=to).any(|c| pixels[r * width + c] > 0);
    let rows = rect.height as usize;
    let (Some(top), Some(bottom)) = ((0..rows).find(|&r| inked_row(r)), (0..rows).rfind(|&r| inked_row(r))) else { return Ok(None) };
    let (top, bottom) = (top.saturating_sub(1), (bottom + 1).min(rows - 1));
    Ok(Some(Rect::new(rect.x + left as i32, rect.y + top as i32, (right - left + 1) as i32, (bottom - top + 1) as i32)))
}

/// Lines the smear left in pieces, joined: it is three rows tall, so a full stop
/// on the baseline and a digit whose ink beside it is all high ("06.1963" in some
/// fonts) stay apart though closer than a space. Pieces side by side, closer
/// than the smear, sharing most of their rows and of like letters, are one line.
fn joined(ink: &Mat, mut lines: Vec<Line>) -> Result<Vec<Line>, VisionError> {
    lines.sort_by_key(|l| l.rect.x);
    let mut i = 0;
    while i < lines.len() {
        let partner = (0..lines.len()).find(|&j| j != i && pieces_of_one_line(lines[i], lines[j]));
        match partner {
            Some(j) => {
                let whole = lines[i].rect | lines[j].rect;
                match measured(ink, whole)? {
                    Some(line) => {
                        lines[i] = line;
                        lines.remove(j);
                        i = 0;
                    }
                    None => i += 1,
                }
            }
            None => i += 1,
        }
    }
    Ok(lines)
}

/// The boxes are the smeared blobs', half a smear wider than their ink on each
/// side: ink closer than the smear makes boxes that touch or overlap. Large print
/// spaces its words wider than the smear (a word space is about half a capital's
/// height): pieces of such print closer than [`WORD_SPACE`] are words of one line.
fn pieces_of_one_line(a: Line, b: Line) -> bool {
    let (left, right) = if a.rect.x <= b.rect.x { (a, b) } else { (b, a) };
    let gap = right.rect.x - (left.rect.x + left.rect.width);
    let shared = (left.rect.y + left.rect.height).min(right.rect.y + right.rect.height) - left.rect.y.max(right.rect.y);
    let (small, large) = (a.letters.min(b.letters), a.letters.max(b.letters));
    let word_space = (WORD_SPACE * f64::from(small) - SMEAR).max(0.0);
    f64::from(gap) <= word_space && shared * 4 >= a.rect.height.min(b.rect.height) * 3 && small * 5 >= large * 4
}

/// The widest space between two words of one line, in letter heights: wider than
/// any font's word space (0.3-0.5), narrower than the gap between a document's
/// columns (several letter heights).
const WORD_SPACE: f64 = 0.8;

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
    body_rows(profile).map_or(0, |(a, b)| (b - a + 1) as i32)
}

/// The first and last rows of a line's ink `profile` that carry its letters'
/// bodies: rows with at least 40% of the fullest row's ink (diacritics, tails
/// and serif feet hold far less). `None` without ink.
pub(super) fn body_rows(profile: &[u32]) -> Option<(usize, usize)> {
    let full = profile.iter().copied().max().unwrap_or(0);
    let body = |r: &usize| profile[*r] * 5 >= full * 2 && full > 0;
    Some(((0..profile.len()).find(body)?, (0..profile.len()).rfind(body)?))
}

/// The words of a line, left to right: runs of inked columns, split where the
/// gap is a third of the letters' height or more (a space; letters stand closer),
/// each boxed to its own ink.
pub(super) fn words(ink: &Mat, line: Line) -> Result<Vec<Line>, VisionError> {
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
pub(super) fn runs(on: &[bool], min_gap: usize) -> Vec<(usize, usize)> {
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

/// A line cut out of the card with its margins and turned level: Tesseract takes
/// the last letters of a sloping line for lower case or descenders.
pub(super) fn level_line(gray: &Mat, line: Line) -> Result<Mat, VisionError> {
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

/// The lines just under line `i` and starting at about its left edge, nearest
/// first: where a label's value is printed on cards and passport pages alike,
/// whatever the layout, font or size. With `marks`, a line may reach up beside
/// line `i` as far as its box is taller than its letters: a breve or dots above
/// them (Й, Ё). Only for finding what agrees with the MRZ: a stacked label
/// line with a Й (ФАМИЛИЯ under ТЕГІ) overlaps its upper line the same way.
pub(super) fn lines_under(lines: &[Line], i: usize, marks: bool) -> Vec<usize> {
    let (l, lh) = (lines[i].rect, lines[i].letters);
    let mut under: Vec<usize> = (0..lines.len())
        .filter(|&j| {
            let (v, vh) = (lines[j].rect, lines[j].letters);
            let gap = v.y - (l.y + l.height);
            let reach = lh.max(vh);
            let overlap = if marks { lh / 4 + (v.height - vh).max(0) } else { lh / 4 };
            j != i && gap >= -overlap && gap * 2 <= reach * 3 && (v.x - l.x).abs() * 2 <= reach * 3
        })
        .collect();
    under.sort_by_key(|&j| lines[j].rect.y);
    under
}

#[cfg(test)]
mod tests {
    use opencv::core::{Point, Scalar};

    use super::*;

    fn line(x: i32, y: i32, width: i32, letters: i32) -> Line {
        Line { rect: Rect::new(x, y, width, letters), letters, slope: 0.0 }
    }

    #[test]
    fn the_lines_under_a_label_start_at_its_left_edge_nearest_first() {
        let lines = [
            line(40, 20, 400, 24),   // title
            line(330, 120, 135, 12), // label
            line(331, 140, 210, 24), // its value, close under it
            line(330, 190, 90, 12),  // the next label
            line(700, 142, 90, 12),  // a stray line to the right
            line(40, 480, 80, 12),   // a label far below
        ];
        assert_eq!(lines_under(&lines, 1, false), [2]);
        assert_eq!(lines_under(&lines, 2, false), [3]);
        assert!(lines_under(&lines, 0, false).is_empty() && lines_under(&lines, 3, false).is_empty());
        // Stacked: a label over a label over the value; both lines under the first, nearest first.
        let stacked = [line(330, 100, 40, 12), line(330, 116, 80, 12), line(330, 134, 200, 26)];
        assert_eq!(lines_under(&stacked, 0, false), [1, 2]);
        // АЛЕКСЕЙ's breve reaches 2 px up beside its label's last row (tuning seed
        // 5, p04): its box is 23 px for 16 px letters.
        let breve = [Line { rect: Rect::new(460, 349, 80, 11), letters: 7, slope: 0.0 }, Line { rect: Rect::new(460, 358, 122, 23), letters: 16, slope: 0.0 }];
        assert!(lines_under(&breve, 0, false).is_empty());
        assert_eq!(lines_under(&breve, 0, true), [1]);
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

    /// No ink, 400 px wide.
    fn blank(rows: i32) -> Mat {
        Mat::new_rows_cols_with_default(rows, 400, core::CV_8UC1, Scalar::all(0.0)).unwrap()
    }

    /// Solid ink over `rect`: a full stop, a breve, a tail.
    fn blot(ink: &mut Mat, rect: Rect) {
        imgproc::rectangle(ink, rect, Scalar::all(255.0), -1, imgproc::LINE_8, 0).unwrap();
    }

    /// Ink in `rows` and `cols` as letters: upright strokes 4 px wide, 4 px apart.
    fn strokes(ink: &mut Mat, rows: std::ops::Range<i32>, cols: std::ops::Range<i32>) {
        for c in cols.step_by(8) {
            blot(ink, Rect::new(c, rows.start, 4, rows.end - rows.start));
        }
    }

    #[test]
    fn a_line_the_smear_leaves_in_pieces_is_joined() {
        // "13.06." then "1963": a full stop on the baseline, then digits whose ink
        // next to it is all high, 4 px apart: closer than a space, but too far
        // apart in rows for the three-row smear to join.
        let mut ink = blank(120);
        strokes(&mut ink, 20..60, 20..140);
        blot(&mut ink, Rect::new(144, 54, 6, 6));
        strokes(&mut ink, 20..50, 154..160);
        strokes(&mut ink, 20..60, 164..260);
        let lines = text_lines(&ink).unwrap();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].rect.x <= 20 && lines[0].rect.x + lines[0].rect.width >= 260, "{lines:?}");
        // Another line further along the same rows (the next column of a page) stays apart.
        strokes(&mut ink, 20..60, 300..380);
        assert_eq!(text_lines(&ink).unwrap().len(), 2);
    }

    #[test]
    fn a_line_a_mesh_of_thin_strands_runs_through_is_still_found() {
        // A name 40 px tall in a guilloche rosette: strands 1 px thick, 12 px
        // apart, cross it and each other from top to bottom, so the smeared ink is
        // one blob far too tall for text, which was dropped whole.
        let mut ink = Mat::new_rows_cols_with_default(420, 460, core::CV_8UC1, Scalar::all(0.0)).unwrap();
        strokes(&mut ink, 190..230, 100..300);
        for k in (-420..460).step_by(12) {
            for (from, to) in [(Point::new(k, 0), Point::new(k + 420, 420)), (Point::new(k + 420, 0), Point::new(k, 420))] {
                imgproc::line(&mut ink, from, to, Scalar::all(255.0), 1, imgproc::LINE_8, 0).unwrap();
            }
        }
        let lines = text_lines(&ink).unwrap();
        let name = lines.iter().find(|l| l.rect.y <= 192 && l.rect.y + l.rect.height >= 228).expect("a line at the name");
        assert!(name.rect.x <= 100 && name.rect.x + name.rect.width >= 296, "{name:?}");
    }

    #[test]
    fn dashes_of_a_background_pattern_joined_to_a_lines_end_are_not_its_letters() {
        // Letters 40 px tall from column 60, and a guilloche thresholded into two
        // dashes 2-3 px tall to their left, 4 px apart: closer than the smear. A
        // line box starting at the dashes is read with them as a letter, or as nothing.
        let mut ink = blank(100);
        strokes(&mut ink, 30..70, 60..260);
        blot(&mut ink, Rect::new(34, 48, 12, 2));
        blot(&mut ink, Rect::new(50, 44, 6, 3));
        blot(&mut ink, Rect::new(266, 50, 10, 2));
        let lines = text_lines(&ink).unwrap();
        assert_eq!(lines.len(), 1, "{lines:?}");
        let (from, to) = (lines[0].rect.x, lines[0].rect.x + lines[0].rect.width);
        assert!((56..=60).contains(&from) && (256..=266).contains(&to), "{lines:?}");
        // The bar of a Т, as thin, is its own letter's: it touches the stem.
        let mut ink = blank(100);
        strokes(&mut ink, 30..70, 60..260);
        blot(&mut ink, Rect::new(44, 30, 16, 3));
        let lines = text_lines(&ink).unwrap();
        assert!(lines[0].rect.x <= 44, "{lines:?}");
    }

    #[test]
    fn a_name_with_a_breve_above_and_a_tail_below_is_a_line() {
        // Letters 40 px tall, a breve above (Й) and a tail 16 px below (Д): 66 px
        // of ink from top to bottom, taller than any letters a document prints.
        let mut ink = blank(140);
        strokes(&mut ink, 40..80, 20..300);
        blot(&mut ink, Rect::new(256, 30, 24, 8));
        blot(&mut ink, Rect::new(20, 80, 4, 16));
        let lines = text_lines(&ink).unwrap();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].rect.height > 64 && (38..=42).contains(&lines[0].letters), "{lines:?}");
    }

    #[test]
    fn a_label_bridged_to_its_value_by_a_breve_is_split_from_it() {
        // A label 12 px tall, then a value 30 px tall whose breve, 6 px tall,
        // stands 2 rows under the label and 1 over its letter: one blob for the
        // three-row smear.
        let mut ink = blank(140);
        strokes(&mut ink, 20..32, 20..150);
        blot(&mut ink, Rect::new(120, 34, 20, 6));
        strokes(&mut ink, 41..71, 20..200);
        assert_eq!(blobs(&ink, 3).unwrap().len(), 1);
        let lines = text_lines(&ink).unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!((11..=13).contains(&lines[0].letters) && (29..=31).contains(&lines[1].letters), "{lines:?}");
        assert_eq!(lines_under(&lines, 0, false), [1]);
        // Three label lines of one size stacked as close stay one blob.
        let mut labels = blank(140);
        for top in [20, 34, 48] {
            strokes(&mut labels, top..top + 12, 20..150);
        }
        assert_eq!(text_lines(&labels).unwrap().len(), 1);
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
            // The title's words, spaced wider than the smear (Hershey spaces are
            // wide), are one line, which pairs with nothing.
            assert_eq!(lines.len(), 7, "turned {turn}°: {lines:?}");
            assert!(lines.iter().any(|l| l.rect.x < 45 && l.rect.width > 300 && l.rect.y < 60), "one title line: {lines:?}");
            // A label is a line with a line of larger letters under it.
            let pairs: Vec<(Line, Line)> = (0..lines.len())
                .filter_map(|i| lines_under(&lines, i, false).first().map(|&j| (lines[i], lines[j])))
                .filter(|(label, value)| value.letters * 5 >= label.letters * 6)
                .collect();
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
