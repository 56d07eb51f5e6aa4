//! The fast MRZ reader: OCR-B is a fixed-pitch font with 37 characters, and
//! ICAO 9303 fixes how many characters each line holds and which kind
//! (letter, digit, either) stands at each position. So a line is cut into
//! exactly 30 or 44 cells along a fitted pitch, and each cell is matched
//! against OCR-B glyphs rendered from Debian's fonts-ocr-b, among only the
//! characters its position allows. A few milliseconds per MRZ, against tens
//! per line for Tesseract's LSTM, which stays as the fallback (see
//! [`super::ocr::MrzReader`]).
//!
//! Enters: the grey MRZ band of a rectified document. Leaves: candidate lines
//! and the weakest match score; whether they are right is for the check digits.

use std::path::Path;

use opencv::core::{self, CV_8UC3, Mat, Point, Rect, Scalar, Size};
use opencv::imgproc;
use opencv::prelude::*;

use super::VisionError;
use super::components::components;
use crate::identity::{CharClass, MrzFormat, char_classes};

/// Debian's fonts-ocr-b (the MRZ typeface).
pub const OCRB_FONT: &str = "/usr/share/fonts/opentype/ocr-b/OCRB.otf";
const ALPHABET: &[u8; 37] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<";
/// Every cell is compared at this size (width × height).
const CELL_W: i32 = 16;
const CELL_H: i32 = 24;
const CELL_LEN: usize = (CELL_W * CELL_H) as usize;
/// OCR-B glyphs are about 0.72 of their advance wide; ink starts that far
/// from the cell's left edge on average.
const GLYPH_SHARE: f64 = 0.72;
/// A cell matching its best template this well is taken as a sample of the
/// document's own print of that character. Tuning and check sets as for the
/// acceptance margins in `ocr.rs` (tests/mrz_margins.rs prints the check set).
const SURE_SCORE: f32 = 0.85;

/// A cell as a zero-mean, unit-length vector, so a dot product is the
/// normalised cross-correlation (blind to contrast and brightness).
type Cell = Vec<f32>;

/// Lines read, with how sure the weakest cells were.
#[derive(Debug, Clone)]
pub struct GlyphRead {
    pub lines: Vec<String>,
    /// The lowest best-match score of any cell (normalised cross-correlation, −1…1).
    pub weakest: f32,
    /// Line by line, the smallest lead of a letter-only cell's best character
    /// over the next best (`f32::MAX` for a line without such cells): names and
    /// codes carry no check digit, so this is all that vouches for them.
    pub line_letter_margins: Vec<f32>,
    /// The smallest lead, in a cell a letter or a digit may fill and one does,
    /// of the best letter over the best digit or the other way round (8 or B,
    /// 0 or O).
    pub mixed_margin: f32,
}

impl GlyphRead {
    /// The smallest letter margin of any line.
    pub fn letter_margin(&self) -> f32 {
        self.line_letter_margins.iter().copied().fold(f32::MAX, f32::min)
    }
}

pub struct GlyphReader {
    /// Print as printing and camera optics make it, sharp to slightly blurred.
    print: Templates,
    /// Print blurred past the strokes' width (a page photographed out of focus,
    /// small): asked only when `print` leaves a read unsure, since among such
    /// templates a sharp cell matches the wrong letter as well as the right one.
    blurred: Templates,
}

/// Renderings of the alphabet, one per column of `matrix`, as unit vectors.
struct Templates {
    /// The character of each template column.
    chars: Vec<u8>,
    /// Stored transposed (one template per column): the product with the
    /// cells then needs no transposition, which OpenCV's gemm does slowly.
    matrix: Mat,
}

/// How the templates are rendered from the font's line.
#[derive(Clone, Copy)]
enum Rendering {
    Sharp,
    Blurred(f64),
    /// Ink is dark: dilating the paper thins strokes, eroding it thickens them.
    Thinner,
    Bolder,
}

impl GlyphReader {
    /// Renders the templates from the OCR-B font: sharp, blurred twice, thinner
    /// and bolder, as printing and camera optics make them; and blurred twice
    /// more, as a page photographed out of focus shows them.
    pub fn load(font: &Path) -> Result<Self, VisionError> {
        let font_name = font.to_str().filter(|_| font.is_file()).ok_or_else(|| VisionError::Model {
            path: font.display().to_string(),
            reason: "the OCR-B font is missing; install fonts-ocr-b (scripts/setup does)".into(),
        })?;
        let mut renderer = opencv::freetype::create_free_type2()?;
        renderer.load_font_data(font_name, 0)?;
        let text: String = ALPHABET.iter().map(|&c| c as char).collect();
        let mut line = Mat::new_rows_cols_with_default(140, 1250, CV_8UC3, Scalar::all(255.0))?;
        renderer.put_text(&mut line, &text, Point::new(20, 40), 41, Scalar::all(0.0), -1, imgproc::LINE_AA, false)?;
        let mut gray = Mat::default();
        imgproc::cvt_color_def(&line, &mut gray, imgproc::COLOR_BGR2GRAY)?;
        let print = [Rendering::Sharp, Rendering::Blurred(1.2), Rendering::Blurred(2.4), Rendering::Thinner, Rendering::Bolder];
        let blurred = [Rendering::Blurred(3.6), Rendering::Blurred(4.8)];
        Ok(Self { print: templates(&gray, &print, font_name)?, blurred: templates(&gray, &blurred, font_name)? })
    }

    /// Reads the `format`'s lines from the bottom of a grey MRZ band, or `None`
    /// when the band does not hold that many lines of that many glyphs.
    pub fn read(&self, band: &Mat, format: MrzFormat) -> Result<Option<GlyphRead>, VisionError> {
        self.read_with(band, format, &self.print)
    }

    /// [`Self::read`] against print blurred past its strokes' width.
    pub fn read_blurred(&self, band: &Mat, format: MrzFormat) -> Result<Option<GlyphRead>, VisionError> {
        self.read_with(band, format, &self.blurred)
    }

    fn read_with(&self, band: &Mat, format: MrzFormat, templates: &Templates) -> Result<Option<GlyphRead>, VisionError> {
        let kinds = char_classes(format);
        let rows = band_rows(band)?;
        if rows.len() < kinds.len() {
            return Ok(None);
        }
        let mut cells = Vec::with_capacity(kinds.len());
        for (top, bottom) in &rows[rows.len() - kinds.len()..] {
            let pad = (bottom - top) / 3;
            let y = (top - pad).max(0);
            let strip = Mat::roi(band, Rect::new(0, y, band.cols(), (bottom + pad).min(band.rows()) - y))?;
            let Some(line) = line_cells(&strip.try_clone()?, kinds[cells.len()].len())? else { return Ok(None) };
            cells.push(line);
        }

        // Every cell against every template, and every cell against every
        // other, as two matrix products (native code: quick in debug builds too).
        let kinds: Vec<CharClass> = kinds.concat();
        let widths: Vec<usize> = cells.iter().map(Vec::len).collect();
        let cells = Mat::from_slice_2d(&cells.concat())?;
        let mut font = Mat::default();
        core::gemm(&cells, &templates.matrix, 1.0, &core::no_array(), 0.0, &mut font, 0)?;
        let mut mutual = Mat::default();
        core::gemm(&cells, &cells.t()?.to_mat()?, 1.0, &core::no_array(), 0.0, &mut mutual, 0)?;
        let font_scores = |cell: usize| -> Result<Vec<(u8, f32)>, VisionError> {
            let mut scores = Vec::with_capacity(templates.chars.len());
            for (row, &c) in templates.chars.iter().enumerate() {
                scores.push((c, *font.at_2d::<f32>(cell as i32, row as i32)?));
            }
            Ok(scores)
        };

        // First the positions whose kind leaves no letter/digit doubt (dates,
        // check digits, names, codes): their sure cells are this document's own
        // print of those characters, and they settle the mixed positions, where
        // OCR-B's 0 and O, 1 and I, 8 and B differ by a pixel or two.
        let mut own: Vec<(usize, u8)> = Vec::new();
        for (cell, kind) in kinds.iter().enumerate() {
            if *kind != CharClass::Alnum {
                let (c, score, _) = best_allowed(font_scores(cell)?, *kind);
                if score >= SURE_SCORE {
                    own.push((cell, c));
                }
            }
        }
        let mut text = String::with_capacity(kinds.len());
        let mut weakest = f32::MAX;
        let mut mixed_margin = f32::MAX;
        let mut line_letter_margins = vec![f32::MAX; widths.len()];
        let line_of: Vec<usize> = widths.iter().enumerate().flat_map(|(line, &width)| std::iter::repeat_n(line, width)).collect();
        for (cell, kind) in kinds.iter().enumerate() {
            let mut scores = font_scores(cell)?;
            if *kind == CharClass::Alnum {
                for &(other, c) in &own {
                    scores.push((c, *mutual.at_2d::<f32>(other as i32, cell as i32)?));
                }
            }
            // A filler read in such a cell leaves no letter-or-digit choice.
            let best_of = |digit: bool| scores.iter().filter(|(c, _)| *c != b'<' && c.is_ascii_digit() == digit).map(|s| s.1).fold(f32::MIN, f32::max);
            let kind_lead = (*kind == CharClass::Alnum).then(|| (best_of(true) - best_of(false)).abs());
            let (c, score, runner_up) = best_allowed(scores, *kind);
            if let Some(lead) = kind_lead
                && c != b'<'
            {
                mixed_margin = mixed_margin.min(lead);
            }
            text.push(c as char);
            weakest = weakest.min(score);
            if *kind == CharClass::Alpha {
                let margin = &mut line_letter_margins[line_of[cell]];
                *margin = margin.min(score - runner_up);
            }
        }
        let mut lines = Vec::with_capacity(widths.len());
        let mut rest = text.as_str();
        for width in widths {
            let (line, tail) = rest.split_at(width);
            lines.push(line.to_string());
            rest = tail;
        }
        Ok(Some(GlyphRead { lines, weakest, line_letter_margins, mixed_margin }))
    }
}

/// The alphabet's cells cut from `line` (the font's rendering) as each of `renderings` makes it.
fn templates(line: &Mat, renderings: &[Rendering], font_name: &str) -> Result<Templates, VisionError> {
    let (mut chars, mut rows) = (Vec::new(), Vec::new());
    let kernel = imgproc::get_structuring_element_def(imgproc::MORPH_ELLIPSE, Size::new(3, 3))?;
    for rendering in renderings {
        let mut image = Mat::default();
        match *rendering {
            Rendering::Sharp => image = line.try_clone()?,
            Rendering::Blurred(sigma) => imgproc::gaussian_blur_def(line, &mut image, Size::new(0, 0), sigma)?,
            Rendering::Thinner => imgproc::dilate_def(line, &mut image, &kernel)?,
            Rendering::Bolder => imgproc::erode_def(line, &mut image, &kernel)?,
        }
        let cells = line_cells(&image, ALPHABET.len())?.ok_or_else(|| VisionError::Model {
            path: font_name.into(),
            reason: "the rendered OCR-B line could not be cut into glyphs".into(),
        })?;
        chars.extend_from_slice(ALPHABET);
        rows.extend(cells);
    }
    Ok(Templates { chars, matrix: Mat::from_slice_2d(&rows)?.t()?.to_mat()? })
}

/// Rows of dark text in a grey band, as (top, bottom) pixel rows: runs of rows whose
/// ink exceeds a share of the densest row, keeping only runs tall enough to be text.
pub(super) fn band_rows(gray: &Mat) -> Result<Vec<(i32, i32)>, VisionError> {
    let mut ink = Mat::default();
    imgproc::threshold(gray, &mut ink, 0.0, 1.0, imgproc::THRESH_BINARY_INV | imgproc::THRESH_OTSU)?;
    let mut rows = Mat::default();
    core::reduce(&ink, &mut rows, 1, core::REDUCE_SUM, core::CV_32S)?;
    let sums: Vec<i32> = (0..rows.rows()).map(|r| rows.at::<i32>(r).copied().unwrap_or(0)).collect();
    let peak = sums.iter().copied().max().unwrap_or(0);
    let mut runs = Vec::new();
    let mut start = None;
    for (i, &v) in sums.iter().chain(std::iter::once(&0)).enumerate() {
        match (v > peak / 8, start) {
            (true, None) => start = Some(i as i32),
            (false, Some(s)) => {
                runs.push((s, i as i32));
                start = None;
            }
            _ => {}
        }
    }
    let tallest = runs.iter().map(|(a, b)| b - a).max().unwrap_or(0);
    Ok(runs.into_iter().filter(|(a, b)| (b - a) * 2 >= tallest).collect())
}

/// The best-scoring character `kind` allows, its score, and the best score of
/// any other allowed character.
fn best_allowed(scores: Vec<(u8, f32)>, kind: CharClass) -> (u8, f32, f32) {
    let mut best = [(b'<', -1.0f32); 37];
    for (c, score) in scores.into_iter().filter(|(c, _)| kind.allows(*c)) {
        let slot = &mut best[ALPHABET.iter().position(|a| *a == c).unwrap_or(36)];
        if score > slot.1 {
            *slot = (c, score);
        }
    }
    best.sort_by(|a, b| b.1.total_cmp(&a.1));
    (best[0].0, best[0].1, best[1].1)
}

/// Cuts a grey strip holding one text line into `count` cells of equal pitch.
///
/// The pitch and offset come from a least-squares fit of glyph centres against
/// their slot numbers, so a few merged, broken or missing glyphs (a run of
/// `<<<` blurred together, a glare spot) do not shift the rest. `None` when
/// too few glyphs are found or the fitted pitch disagrees with the ink's extent.
pub fn line_cells(strip: &Mat, count: usize) -> Result<Option<Vec<Cell>>, VisionError> {
    let mut ink = Mat::default();
    imgproc::threshold(strip, &mut ink, 0.0, 255.0, imgproc::THRESH_BINARY_INV | imgproc::THRESH_OTSU)?;

    // Glyph-like components: not spanning the strip, not a long stroke, and at
    // least a quarter as tall as the tallest such component (`<` is the shortest glyph).
    let height = strip.rows();
    let shapes: Vec<Rect> = components(&ink)?.into_iter().map(|c| c.rect).filter(|r| r.height < height && r.height >= 4).collect();
    let tallest = shapes.iter().filter(|r| r.width < r.height * 3).map(|r| r.height).max().unwrap_or(0);
    // Ink of glyph height, including runs of `<` that blur merged into one component.
    let mut blobs: Vec<Rect> = shapes.into_iter().filter(|r| r.height * 4 >= tallest).collect();
    if blobs.len() < count / 3 {
        return Ok(None);
    }
    blobs.sort_by_key(|r| r.x);
    // The line's middle: letters, taller digits and `<` are all centred on it
    // within about a pixel, where tops and bottoms differ by several.
    let left = blobs.iter().map(|r| r.x).min().unwrap_or(0);
    let right = blobs.iter().map(|r| r.x + r.width).max().unwrap_or(0);
    let pitch0 = f64::from(right - left) / (count as f64 - 1.0 + GLYPH_SHARE);
    let (mut offset, mut pitch) = (f64::from(left) + pitch0 * GLYPH_SHARE / 2.0, pitch0);
    for _ in 0..2 {
        // Slot of each single-glyph component, then the line through (slot, centre).
        let points: Vec<(f64, f64)> = blobs
            .iter()
            .filter(|r| f64::from(r.width) <= pitch * 1.1)
            .filter_map(|r| {
                let centre = f64::from(r.x) + f64::from(r.width) / 2.0;
                let slot = ((centre - offset) / pitch).round();
                (slot >= 0.0 && slot < count as f64 && (centre - offset - slot * pitch).abs() < pitch * 0.35).then_some((slot, centre))
            })
            .collect();
        if points.len() < count / 3 {
            return Ok(None);
        }
        let Some((a, b)) = fit_line(&points) else { return Ok(None) };
        (offset, pitch) = (a, b);
    }
    if (pitch / pitch0 - 1.0).abs() > 0.12 || pitch < 6.0 {
        return Ok(None);
    }

    // The line's middle, as a line across the strip (a document flattened a
    // little off leaves its MRZ lines tilted): letters, taller digits and `<` are
    // all centred on it within about a pixel, where tops and bottoms differ by several.
    let glyphs: Vec<&Rect> = blobs.iter().filter(|r| r.height * 10 >= tallest * 7 && f64::from(r.width) <= pitch * 1.1).collect();
    let middles: Vec<(f64, f64)> = glyphs.iter().map(|r| (f64::from(r.x) + f64::from(r.width) / 2.0, f64::from(r.y) + f64::from(r.height) / 2.0)).collect();
    let flat = median(glyphs.iter().map(|r| 2 * r.y + r.height)) as f64 / 2.0;
    let (m0, m1) = fit_line(&middles).filter(|(_, slope)| slope.abs() < 0.05).unwrap_or((flat, 0.0));

    // A glyph standing on its own gives its slot's centre, which follows local
    // distortion better than any fit; a slot without one is placed by the grid,
    // or between its neighbours where they stray from it (`between_own`).
    let singles: Vec<f64> = blobs.iter().filter(|r| f64::from(r.width) <= pitch * 1.1).map(|r| f64::from(r.x) + f64::from(r.width) / 2.0).collect();
    let grid = Grid { offset, pitch, bend: 0.0 };
    let own = chained_slots(&singles, f64::from(left), &grid, count);
    let mut cells = Vec::with_capacity(count);
    for slot in 0..count {
        let centre = match &own {
            Some((own, line)) => between_own(own, slot, line),
            None => {
                let fitted = grid.at(slot as f64);
                glyphs.iter().map(|r| f64::from(r.x) + f64::from(r.width) / 2.0).find(|c| (c - fitted).abs() < pitch * 0.3).unwrap_or(fitted)
            }
        };
        let middle = m0 + m1 * centre;
        // Vertically too the pitch is the scale: OCR-B glyphs are about one pitch tall.
        let y0 = ((middle - 0.68 * pitch).round() as i32).max(0);
        let y1 = ((middle + 0.68 * pitch).round() as i32).clamp(y0 + 1, height);
        let x0 = ((centre - pitch / 2.0).round() as i32).clamp(0, strip.cols() - 1);
        let x1 = ((centre + pitch / 2.0).round() as i32).clamp(x0 + 1, strip.cols());
        let roi = Mat::roi(strip, Rect::new(x0, y0, x1 - x0, y1 - y0))?;
        let mut small = Mat::default();
        imgproc::resize(&roi, &mut small, Size::new(CELL_W, CELL_H), 0.0, 0.0, imgproc::INTER_AREA)?;
        cells.push(normalised(&small)?);
    }
    Ok(Some(cells))
}

/// The slot of each single glyph (centres left to right), counted from its
/// neighbour rather than read off the fitted grid: each next glyph is as many
/// slots on as its distance in pitches. A pitch that drifts along the row (a
/// booklet page bent in the hand: 28.6 px at one end, 30.4 at the other on a
/// tuning photo) puts glyphs half a slot off a straight grid in the middle,
/// where the grid gave each the wrong cell; counted this way they keep their
/// own. The count starts at the row's first ink (`left`; an MRZ row's first
/// character is never blank) when a single glyph stands there, else at the
/// glyph the grid places best. The count is then checked against a curve through
/// its own glyphs (a pitch changing steadily along the row, as perspective left
/// by a flattening a little off makes it), not the grid fitted before any glyph
/// had its slot: where the pitch drifts by a tenth or more (33 px at one end, 28
/// at the other on a tuning photo) that grid is a slot off in the middle, and
/// only the count knows. Returns the slots and the curve, which places the slots
/// without a glyph; `None`, and the grid stands, when the count runs off the row
/// or a glyph lies 0.4 of a slot or more off the curve (a step miscounted).
fn chained_slots(singles: &[f64], left: f64, grid: &Grid, count: usize) -> Option<(Vec<Option<f64>>, Grid)> {
    let deviation = |x: f64| grid.nearest(x, count).map_or(f64::MAX, |s| (grid.at(s) - x).abs());
    let (start, first) = match singles.first() {
        Some(&x) if x - left < grid.pitch * 0.75 => (0, 0.0),
        _ => {
            let start = (0..singles.len()).min_by(|&a, &b| deviation(singles[a]).total_cmp(&deviation(singles[b])))?;
            (start, grid.nearest(singles[start], count)?)
        }
    };
    let mut own = vec![None; count];
    own[first as usize] = Some(singles[start]);
    for direction in [1.0f64, -1.0] {
        let (mut slot, mut x) = (first, singles[start]);
        let onward: Vec<f64> = if direction > 0.0 { singles[start + 1..].to_vec() } else { singles[..start].iter().rev().copied().collect() };
        for next in onward {
            let steps = ((next - x) / grid.pitch).abs().round();
            slot += direction * steps;
            if steps < 1.0 || slot < 0.0 || slot >= count as f64 {
                return None;
            }
            own[slot as usize] = Some(next);
            x = next;
        }
    }
    let placed: Vec<(f64, f64)> = own.iter().enumerate().filter_map(|(slot, x)| x.map(|x| (slot as f64, x))).collect();
    let line = fit_bent(&placed)?;
    placed.iter().all(|&(slot, x)| (x - line.at(slot)).abs() < grid.pitch * 0.4).then_some((own, line))
}

/// A slot's centre: its own glyph's; else the grid's where the nearest glyphs
/// on either side sit on it (within [`ON_GRID`]), as merged glyphs are best
/// cut where the whole row puts them; else spaced evenly between those glyphs,
/// or a pitch on from the nearest.
fn between_own(own: &[Option<f64>], slot: usize, grid: &Grid) -> f64 {
    if let Some(x) = own[slot] {
        return x;
    }
    let before = (0..slot).rev().find_map(|s| own[s].map(|x| (s as f64, x)));
    let after = (slot + 1..own.len()).find_map(|s| own[s].map(|x| (s as f64, x)));
    let at = slot as f64;
    let on_grid = |side: Option<(f64, f64)>| side.is_none_or(|(s, x)| (x - grid.at(s)).abs() <= ON_GRID * grid.pitch);
    if on_grid(before) && on_grid(after) {
        return grid.at(at);
    }
    match (before, after) {
        (Some((s0, x0)), Some((s1, x1))) => x0 + (x1 - x0) * (at - s0) / (s1 - s0),
        (Some((s0, x0)), None) => x0 + grid.pitch * (at - s0),
        (None, Some((s1, x1))) => x1 - grid.pitch * (s1 - at),
        (None, None) => grid.at(at),
    }
}

fn median(values: impl Iterator<Item = i32>) -> i32 {
    let mut v: Vec<i32> = values.collect();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// How far (in pitches) a glyph may sit off the fitted grid for the grid to
/// place the merged glyphs beside it.
const ON_GRID: f64 = 0.25;

/// The fitted slot grid of a row: slot `s` centred at `offset + pitch·s + bend·s²`
/// (`bend` 0 but for a row whose slots were counted, [`chained_slots`]).
#[derive(Clone, Copy)]
struct Grid {
    offset: f64,
    pitch: f64,
    bend: f64,
}

impl Grid {
    fn at(&self, slot: f64) -> f64 {
        self.offset + self.pitch * slot + self.bend * slot * slot
    }

    /// The slot (of `count`) whose centre is nearest `x`, if `x` lies on the row.
    fn nearest(&self, x: f64, count: usize) -> Option<f64> {
        let slot = ((x - self.offset) / self.pitch).round();
        (slot >= 0.0 && slot < count as f64).then_some(slot)
    }
}

/// Least squares `y = a + b·x`.
fn fit_line(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    let (sx, sy) = points.iter().fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
    let (mx, my) = (sx / n, sy / n);
    let (sxx, sxy) = points.iter().fold((0.0, 0.0), |(sxx, sxy), (x, y)| (sxx + (x - mx).powi(2), sxy + (x - mx) * (y - my)));
    (sxx > 0.0).then(|| {
        let b = sxy / sxx;
        (my - b * mx, b)
    })
}

/// Least squares `x = offset + pitch·s + bend·s²` over (slot, centre) pairs; `None`
/// for fewer than four.
fn fit_bent(points: &[(f64, f64)]) -> Option<Grid> {
    if points.len() < 4 {
        return None;
    }
    // Normal equations of the three unknowns, solved by Cramer's rule.
    let mut m = [[0.0f64; 3]; 3];
    let mut v = [0.0f64; 3];
    for &(s, x) in points {
        let powers = [1.0, s, s * s];
        for i in 0..3 {
            v[i] += powers[i] * x;
            for j in 0..3 {
                m[i][j] += powers[i] * powers[j];
            }
        }
    }
    let det = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(&m);
    if d.abs() < 1e-9 {
        return None;
    }
    let solve = |k: usize| {
        let mut mk = m;
        (0..3).for_each(|i| mk[i][k] = v[i]);
        det(&mk) / d
    };
    Some(Grid { offset: solve(0), pitch: solve(1), bend: solve(2) })
}

/// A grey cell as a zero-mean unit vector; a blank cell stays all zeros.
fn normalised(cell: &Mat) -> Result<Cell, VisionError> {
    let mut v = Vec::with_capacity(CELL_LEN);
    for row in 0..cell.rows() {
        v.extend(cell.at_row::<u8>(row)?.iter().map(|&p| f32::from(p)));
    }
    let mean = v.iter().sum::<f32>() / v.len() as f32;
    v.iter_mut().for_each(|x| *x -= mean);
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 1e-3 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    Ok(v)
}

/// A band with `lines` rendered in OCR-B at the rectified documents' scale.
#[cfg(test)]
pub(super) fn rendered_band(lines: &[&str], blur: f64) -> Mat {
    let mut renderer = opencv::freetype::create_free_type2().unwrap();
    renderer.load_font_data(OCRB_FONT, 0).unwrap();
    let mut image = Mat::new_rows_cols_with_default(90 + 50 * lines.len() as i32, 1400, CV_8UC3, Scalar::new(200.0, 210.0, 220.0, 0.0)).unwrap();
    for (i, line) in lines.iter().enumerate() {
        renderer
            .put_text(&mut image, line, Point::new(30, 60 + 50 * i as i32), 41, Scalar::all(20.0), -1, imgproc::LINE_AA, false)
            .unwrap();
    }
    let mut gray = Mat::default();
    imgproc::cvt_color_def(&image, &mut gray, imgproc::COLOR_BGR2GRAY).unwrap();
    if blur > 0.0 {
        let mut blurred = Mat::default();
        imgproc::gaussian_blur_def(&gray, &mut blurred, Size::new(0, 0), blur).unwrap();
        gray = blurred;
    }
    gray
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::rendered_band as band;

    fn reader() -> GlyphReader {
        GlyphReader::load(Path::new(OCRB_FONT)).expect("fonts-ocr-b (scripts/setup)")
    }

    #[test]
    fn rendered_td1_and_td3_read_exactly_even_blurred() {
        let reader = reader();
        let td1 = ["IDKAZ0114250472740322464532<<<", "7403220F3609013KAZ<<<<<<<<<<<4", "OTEGENOVA<<INKAR<<<<<<<<<<<<<<"];
        let td3 = ["P<KAZOTEGENOVA<<INKAR<<<<<<<<<<<<<<<<<<<<<<<", "N187369652KAZ7403220F2910172740322464532<<66"];
        for blur in [0.0, 1.5] {
            let read = reader.read(&band(&td1, blur), MrzFormat::Td1).unwrap().expect("three lines");
            assert_eq!(read.lines, td1, "blur {blur}");
            assert!(read.weakest > 0.5, "weakest {}", read.weakest);
            let read = reader.read(&band(&td3, blur), MrzFormat::Td3).unwrap().expect("two lines");
            assert_eq!(read.lines, td3, "blur {blur}");
        }
    }

    #[test]
    fn print_blurred_past_its_strokes_width_is_read_by_the_blurred_templates() {
        // As a hard tuning page (seed 17) shows its MRZ, photographed small and out
        // of focus: against the print templates 1 reads as 4, 5 as S, 0 as O.
        let reader = reader();
        let td3 = ["P<KAZSHCHERBAEV<<ZHANBOLAT<<<<<<<<<<<<<<<<<<", "N041450858KAZ0009047M3007239000904584985<<26"];
        let blurred = band(&td3, 4.5);
        let print = reader.read(&blurred, MrzFormat::Td3).unwrap().expect("two lines");
        assert_ne!(print.lines, td3, "the premise: the print templates misread it");
        let read = reader.read_blurred(&blurred, MrzFormat::Td3).unwrap().expect("two lines");
        assert_eq!(read.lines, td3);
        assert!(read.weakest > 0.9, "weakest {}", read.weakest);
    }

    #[test]
    fn a_row_whose_pitch_drifts_as_on_a_bent_page_reads_exactly() {
        // As a booklet page held open and flattened by its corners: the pitch runs
        // from 28 px at the left to 31 at the right (a tuning photo: 28.6 to 30.4),
        // which a straight fit placed half a glyph off in the middle; or from 33
        // down to 28 (a moderate tuning photo, seed 19), where the grid fitted
        // before the count was a slot off and read 4 as M.
        let td3 = ["P<KAZSHAIMERDENOV<<SHYNGYS<<<<<<<<<<<<<<<<<<", "N654015329KAZ9006289M3307135900628333881<<30"];
        let mut renderer = opencv::freetype::create_free_type2().unwrap();
        renderer.load_font_data(OCRB_FONT, 0).unwrap();
        for (from, to) in [(28.0, 31.0), (33.0, 28.0)] {
            let mut image = Mat::new_rows_cols_with_default(190, 1400, CV_8UC3, Scalar::new(200.0, 210.0, 220.0, 0.0)).unwrap();
            for (i, line) in td3.iter().enumerate() {
                let mut x = 30.0;
                for (slot, c) in line.chars().enumerate() {
                    let at = Point::new(x as i32, 60 + 50 * i as i32);
                    renderer.put_text(&mut image, &c.to_string(), at, 41, Scalar::all(20.0), -1, imgproc::LINE_AA, false).unwrap();
                    x += from + (to - from) * slot as f64 / 43.0;
                }
            }
            let mut gray = Mat::default();
            imgproc::cvt_color_def(&image, &mut gray, imgproc::COLOR_BGR2GRAY).unwrap();
            let mut blurred = Mat::default();
            imgproc::gaussian_blur_def(&gray, &mut blurred, Size::new(0, 0), 1.5).unwrap();
            let read = reader().read(&blurred, MrzFormat::Td3).unwrap().expect("two lines");
            assert_eq!(read.lines, td3, "pitch {from} to {to}");
            assert!(read.weakest > 0.6 && read.letter_margin() > 0.02, "sure of every glyph, pitch {from} to {to}: {read:?}");
        }
    }

    #[test]
    fn position_kinds_keep_letters_out_of_dates() {
        // A birth date whose 0 is drawn as the letter O still reads as digits.
        let reader = reader();
        let read = reader
            .read(&band(&["IDKAZ0114250472740322464532<<<", "74O3220F3609013KAZ<<<<<<<<<<<4", "OTEGENOVA<<INKAR<<<<<<<<<<<<<<"], 0.0), MrzFormat::Td1)
            .unwrap()
            .unwrap();
        assert_eq!(&read.lines[1][..6], "740322");
    }

    #[test]
    fn a_band_without_enough_lines_or_glyphs_is_not_read() {
        let reader = reader();
        assert!(reader.read(&band(&["P<KAZ"], 0.0), MrzFormat::Td3).unwrap().is_none());
        assert!(reader.read(&band(&["NOT AN MRZ", "SHORT"], 0.0), MrzFormat::Td3).unwrap().is_none());
    }
}
