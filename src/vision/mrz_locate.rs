//! Finding a machine-readable zone by its shape, anywhere in an image and at
//! any scale: two lines of 44 or three lines of 30 glyphs at one pitch (OCR-B,
//! ICAO 9303), parallel, equally long, one under the other. Glyphs are found
//! as blobs of ink, chained into rows by the gaps between them, and rows are
//! grouped into zones; nothing depends on where a layout prints its MRZ.
//!
//! Enters: a grey image (a rectified document or a whole photo). Leaves: each
//! zone's rows as lines through their glyphs' middles, with the pitch; which
//! page or band that implies is [`super::ocr`]'s and [`super::reader`]'s work.

use opencv::core::{self, Mat, Point2f};
use opencv::imgproc;
use opencv::prelude::*;

use super::VisionError;
use super::components::components;
use crate::identity::MrzFormat;

/// One MRZ row: where its first and last glyphs' middles are, in image pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MrzRow {
    pub first: Point2f,
    pub last: Point2f,
    /// The glyphs' height (capitals and digits).
    pub height: f32,
}

/// A zone: its rows top to bottom, the format their lengths say, and the pitch.
#[derive(Clone, Debug, PartialEq)]
pub struct MrzZone {
    pub format: MrzFormat,
    pub rows: Vec<MrzRow>,
    /// Glyph advance in image pixels (2.54 mm on the document).
    pub pitch: f32,
}

impl MrzZone {
    /// Unit vector along the rows (left to right as the glyphs read).
    pub fn along(&self) -> (f32, f32) {
        let (dx, dy) = self.rows.iter().fold((0.0, 0.0), |(x, y), r| (x + r.last.x - r.first.x, y + r.last.y - r.first.y));
        let n = (dx * dx + dy * dy).sqrt().max(1e-3);
        (dx / n, dy / n)
    }
}

/// Where ICAO 9303 puts the MRZ on each format's document, in glyph pitches
/// (2.54 mm): the document's width and height, then the middle of the last
/// row's glyphs (the zone is centred across the document).
struct Placement {
    width: f32,
    height: f32,
    centre_x: f32,
    last_row_y: f32,
}

fn placement(format: MrzFormat) -> Placement {
    match format {
        // ID-1, 85.6 × 54 mm: rows 4.2 mm apart, the last one's middle 6.5 mm above the bottom.
        MrzFormat::Td1 => Placement { width: 33.70, height: 21.27, centre_x: 16.85, last_row_y: 19.47 },
        // ID-3, 125 × 88 mm: the last row's middle 7.2 mm above the bottom.
        MrzFormat::Td3 => Placement { width: 49.20, height: 34.63, centre_x: 24.60, last_row_y: 32.17 },
    }
}

impl MrzZone {
    /// Glyphs per row.
    pub fn length(&self) -> usize {
        self.format.line_length()
    }

    /// The document around this zone (TL, TR, BR, BL in image pixels), from where
    /// ICAO 9303 puts the zone: for a page whose outline is lost (a booklet open on
    /// a desk, a scan filling the image). `upside_down`: the document lies turned,
    /// so it extends below the zone in the image and its last row is the top one.
    /// Perspective is not recovered: the pitch along the rows is the scale both ways.
    pub fn document_corners(&self, upside_down: bool) -> [Point2f; 4] {
        let at = placement(self.format);
        let pitch = self.rows.iter().map(|r| distance(r.first, r.last)).sum::<f32>() / self.rows.len() as f32 / (self.length() - 1) as f32;
        let (ux, uy) = self.along();
        let row = if upside_down { self.rows[0] } else { self.rows[self.rows.len() - 1] };
        let centre = Point2f::new((row.first.x + row.last.x) / 2.0, (row.first.y + row.last.y) / 2.0);
        let turn = if upside_down { -1.0 } else { 1.0 };
        let (u, v) = ((ux * turn * pitch, uy * turn * pitch), (-uy * turn * pitch, ux * turn * pitch));
        let point = |x: f32, y: f32| {
            Point2f::new(
                centre.x + (x - at.centre_x) * u.0 + (y - at.last_row_y) * v.0,
                centre.y + (x - at.centre_x) * u.1 + (y - at.last_row_y) * v.1,
            )
        };
        [point(0.0, 0.0), point(at.width, 0.0), point(at.width, at.height), point(0.0, at.height)]
    }

    /// The zone where it lies once its image is turned by `degrees` about
    /// `centre` (counter-clockwise as seen, as [`super::document::turn`] does):
    /// within a pixel or two of what finding it again there gives, without the
    /// 7 ms a page that costs.
    pub fn turned(&self, centre: Point2f, degrees: f32) -> MrzZone {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let point = |p: Point2f| {
            let (x, y) = (p.x - centre.x, p.y - centre.y);
            Point2f::new(centre.x + cos * x + sin * y, centre.y - sin * x + cos * y)
        };
        let rows = self.rows.iter().map(|r| MrzRow { first: point(r.first), last: point(r.last), height: r.height }).collect();
        MrzZone { format: self.format, rows, pitch: self.pitch }
    }

    /// The zone's box with room around it (a glyph pitch and more), for reading it.
    pub fn band(&self) -> core::Rect {
        let xs = self.rows.iter().flat_map(|r| [r.first.x, r.last.x]);
        let ys = self.rows.iter().flat_map(|r| [r.first.y, r.last.y]);
        let (x0, x1) = xs.fold((f32::MAX, f32::MIN), |(a, b), x| (a.min(x), b.max(x)));
        let (y0, y1) = ys.fold((f32::MAX, f32::MIN), |(a, b), y| (a.min(y), b.max(y)));
        let m = self.pitch * 1.3;
        core::Rect::new((x0 - m) as i32, (y0 - m) as i32, (x1 - x0 + 2.0 * m) as i32, (y1 - y0 + 2.0 * m) as i32)
    }
}

fn distance(a: Point2f, b: Point2f) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// A blob of ink the size of a glyph, or a run of fillers merged by blur.
#[derive(Clone, Copy, Debug)]
struct Blob {
    x: i32,
    y: i32,
    w: i32,
    h: i32,
}

impl Blob {
    fn cx(&self) -> f32 {
        self.x as f32 + self.w as f32 / 2.0
    }
    fn cy(&self) -> f32 {
        self.y as f32 + self.h as f32 / 2.0
    }
}

/// Finds every MRZ-shaped zone of `gray`, the most convincing first.
pub fn find_zones(gray: &Mat) -> Result<Vec<MrzZone>, VisionError> {
    let blobs = blobs_of(gray)?;
    let rows = chain_rows(&blobs);
    Ok(group_zones(&rows))
}

/// Dark blobs no taller than a sixth of the image.
fn blobs_of(gray: &Mat) -> Result<Vec<Blob>, VisionError> {
    let block = ((gray.cols().max(gray.rows()) / 40) | 1).max(15);
    let mut ink = Mat::default();
    imgproc::adaptive_threshold(gray, &mut ink, 255.0, imgproc::ADAPTIVE_THRESH_MEAN_C, imgproc::THRESH_BINARY_INV, block, 12.0)?;
    let max_h = gray.rows() / 6;
    let mut blobs = Vec::new();
    for c in components(&ink)? {
        let b = Blob { x: c.rect.x, y: c.rect.y, w: c.rect.width, h: c.rect.height };
        if b.h >= 5 && b.h <= max_h && b.w <= b.h * 40 && c.area * 20 >= b.w * b.h {
            blobs.push(b);
        }
    }
    blobs.sort_by_key(|b| b.x);
    Ok(joined_pieces(blobs))
}

/// Blobs sorted by x, with a glyph broken at its waist (a blurred 8, 5 or B
/// thresholded into a top and a bottom piece) made one again: two pieces side
/// by side on a row chain as two glyphs, one of which starts a row of its own,
/// and the MRZ's row comes out in two parts too short for either format. Two
/// pieces are one glyph when they stand one over the other, as wide, and a
/// glyph beside them is as tall as both together (two rows' glyphs, one over
/// the other, have no neighbour that tall).
fn joined_pieces(blobs: Vec<Blob>) -> Vec<Blob> {
    let mut out: Vec<Blob> = Vec::with_capacity(blobs.len());
    let mut taken = vec![false; blobs.len()];
    for i in 0..blobs.len() {
        if taken[i] {
            continue;
        }
        let a = blobs[i];
        let mut joined = a;
        for j in i + 1..blobs.len() {
            let b = blobs[j];
            if b.x > a.x + a.w {
                break;
            }
            let overlap = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
            let alike_width = a.w.max(b.w) * 2 <= a.w.min(b.w) * 3;
            let (top, bottom) = if a.y <= b.y { (a, b) } else { (b, a) };
            if taken[j] || !alike_width || overlap * 10 < a.w.min(b.w) * 7 || bottom.y < top.y + top.h {
                continue;
            }
            let x = a.x.min(b.x);
            let whole = Blob { x, y: top.y, w: (a.x + a.w).max(b.x + b.w) - x, h: bottom.y + bottom.h - top.y };
            if has_neighbour_as_tall(&blobs, i, whole) {
                joined = whole;
                taken[j] = true;
                break;
            }
        }
        out.push(joined);
    }
    out.sort_by_key(|b| b.x);
    out
}

/// Whether a glyph-wide blob near `blobs[at]` (within three of `whole`'s
/// widths) spans `whole`'s rows as tall as it is, give or take a fifth (not
/// the edge of a page, tall and thin).
fn has_neighbour_as_tall(blobs: &[Blob], at: usize, whole: Blob) -> bool {
    let near = |n: &Blob| (n.x - whole.x).abs() <= whole.w * 3;
    let before = blobs[..at].iter().rev().take_while(|n| near(n));
    let after = blobs[at + 1..].iter().take_while(|n| near(n));
    before.chain(after).any(|n| {
        let overlap = (n.y + n.h).min(whole.y + whole.h) - n.y.max(whole.y);
        let glyph_wide = n.w * 2 >= whole.w && n.w <= whole.w * 2;
        glyph_wide && n.h * 5 >= whole.h * 4 && n.h * 4 <= whole.h * 5 && overlap * 10 >= whole.h * 7
    })
}

/// A row of blobs, left to right, with its fitted middle line.
#[derive(Clone, Debug)]
struct Row {
    /// Glyph height: the median of the taller blobs.
    height: f32,
    pitch: f32,
    /// The pitch was fitted over enough single glyphs to count the row by it
    /// ([`mean_pitch`]); else blur merged most of them into runs.
    counted: bool,
    /// Middle line y = a + b·x.
    a: f32,
    b: f32,
    left: f32,
    right: f32,
}

impl Row {
    /// Glyphs the row holds at its pitch (first to last middle, plus one).
    fn glyphs(&self) -> f32 {
        (self.right - self.left) / self.pitch + 1.0
    }
    fn y_at(&self, x: f32) -> f32 {
        self.a + self.b * x
    }
}

/// Chains each blob to the nearest one after it on its line (a gap under a glyph
/// height (a space is wider), middles level, heights alike enough for a `<` beside a capital).
fn chain_rows(blobs: &[Blob]) -> Vec<Row> {
    let n = blobs.len();
    let mut next: Vec<Option<usize>> = vec![None; n];
    let mut has_prev = vec![false; n];
    for i in 0..n {
        let a = blobs[i];
        let mut best: Option<(i32, usize)> = None;
        for (j, b) in blobs.iter().enumerate().skip(i + 1) {
            let hmax = a.h.max(b.h);
            if b.x > a.x + a.w + hmax {
                break;
            }
            let gap = b.x - (a.x + a.w);
            if gap < -hmax / 5 || b.cx() <= a.cx() {
                continue;
            }
            if (b.cy() - a.cy()).abs() > hmax as f32 * 0.45 || a.h.min(b.h) * 5 < hmax * 2 {
                continue;
            }
            if best.is_none_or(|(g, _)| gap < g) {
                best = Some((gap, j));
            }
        }
        if let Some((_, j)) = best
            && !has_prev[j]
        {
            next[i] = Some(j);
            has_prev[j] = true;
        }
    }
    let mut rows = Vec::new();
    for start in (0..n).filter(|&i| !has_prev[i]) {
        let mut members = vec![blobs[start]];
        let mut at = start;
        while let Some(j) = next[at] {
            members.push(blobs[j]);
            at = j;
        }
        if members.len() >= 12
            && let Some(row) = fit_row(members)
        {
            rows.push(row);
        }
    }
    rows
}

fn fit_row(blobs: Vec<Blob>) -> Option<Row> {
    let mut heights: Vec<i32> = blobs.iter().map(|b| b.h).collect();
    heights.sort_unstable();
    let height = heights[heights.len() * 3 / 4] as f32;
    // Single glyphs: as tall as the capitals, no wider than one.
    let glyphs: Vec<&Blob> = blobs.iter().filter(|b| b.h as f32 >= height * 0.8 && b.w as f32 <= height * 1.3).collect();
    if glyphs.len() < 6 {
        return None;
    }
    let mut steps: Vec<f32> = glyphs.windows(2).map(|w| w[1].cx() - w[0].cx()).filter(|d| *d < height * 1.6).collect();
    if steps.len() < 4 {
        return None;
    }
    steps.sort_by(f32::total_cmp);
    let pitch = steps[steps.len() / 2];
    let points: Vec<(f32, f32)> = glyphs.iter().map(|b| (b.cx(), b.cy())).collect();
    let (a, b) = fit_line(&points)?;
    // The ends: the outermost blobs' middles (a merged run of fillers ends half a glyph in).
    let first = blobs[0];
    let last = blobs[blobs.len() - 1];
    let left = first.x as f32 + pitch.min(first.w as f32) / 2.0;
    let right = (last.x + last.w) as f32 - pitch.min(last.w as f32) / 2.0;
    let fitted = mean_pitch(&glyphs, pitch, left, right);
    Some(Row { height, pitch: fitted.unwrap_or(pitch), counted: fitted.is_some(), a, b, left, right })
}

/// The pitch over `left..right` of a row seen in perspective, where the pitch
/// grows along the row toward the camera (a page photographed at a slant: 9 px
/// at one end of a row, 11 at the other, and the median step counts 44 glyphs
/// as 41): the steps between single glyphs, fitted as a straight line along the
/// row, and the glyphs counted over it. `None` with too few steps to fit, or
/// a pitch changing more than perspective makes it.
fn mean_pitch(glyphs: &[&Blob], median: f32, left: f32, right: f32) -> Option<f32> {
    let steps: Vec<(f32, f32)> = glyphs
        .windows(2)
        .map(|w| ((w[0].cx() + w[1].cx()) / 2.0, w[1].cx() - w[0].cx()))
        .filter(|(_, step)| *step > median * 0.75 && *step < median * 1.35)
        .collect();
    if steps.len() < 8 {
        return None;
    }
    let (p0, p1) = fit_line(&steps)?;
    let (at_left, at_right) = (p0 + p1 * left, p0 + p1 * right);
    if at_left <= 0.0 || at_right <= 0.0 || !(0.7..1.43).contains(&(at_right / at_left)) {
        return None;
    }
    // Glyph advances from left to right: the integral of 1 / pitch(x).
    let advances = if p1.abs() < 1e-6 { (right - left) / p0 } else { (at_right / at_left).ln() / p1 };
    (advances >= 1.0).then(|| (right - left) / advances)
}

fn fit_line(points: &[(f32, f32)]) -> Option<(f32, f32)> {
    let n = points.len() as f32;
    let (mx, my) = points.iter().fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x / n, sy + y / n));
    let (sxx, sxy) = points.iter().fold((0.0, 0.0), |(sxx, sxy), (x, y)| (sxx + (x - mx).powi(2), sxy + (x - mx) * (y - my)));
    (sxx > 0.0).then(|| (my - sxy / sxx * mx, sxy / sxx))
}

/// Rows of one format's length, grouped two (TD3) or three (TD1) at a time:
/// parallel, the same pitch and extent, each the line spacing under the last.
fn group_zones(rows: &[Row]) -> Vec<MrzZone> {
    let mut zones: Vec<(f32, MrzZone)> = Vec::new();
    for format in [MrzFormat::Td3, MrzFormat::Td1] {
        let (count, length) = (format.line_count(), format.line_length() as f32);
        let long_enough = |r: &Row| (r.glyphs() - length).abs() <= length * 0.08 && r.height < r.pitch * 1.6;
        // A row whose glyphs blur merged into runs, too few left single to count
        // it by (a zone's number row, photographed out of focus), is taken on its
        // extent: as long as a row that counts right, under or over it.
        let mut fits: Vec<&Row> = rows.iter().filter(|r| r.b.abs() < 0.5 && (long_enough(r) || !r.counted)).collect();
        fits.sort_by(|p, q| p.y_at(p.left).total_cmp(&q.y_at(q.left)));
        for start in 0..fits.len() {
            let anchor = fits[start];
            if !long_enough(anchor) {
                continue;
            }
            // A row's pitch and length; a row too merged to count, as the anchor's pitch counts it.
            let pitch_and_length = |r: &Row| if long_enough(r) { (r.pitch, r.glyphs()) } else { (anchor.pitch, (r.right - r.left) / anchor.pitch + 1.0) };
            let mut group = vec![anchor];
            for row in &fits[start + 1..] {
                let last = group[group.len() - 1];
                let ((last_pitch, _), (row_pitch, _)) = (pitch_and_length(last), pitch_and_length(row));
                let pitch = (last_pitch + row_pitch) / 2.0;
                let mid = (last.left + last.right) / 2.0;
                let spacing = row.y_at(mid) - last.y_at(mid);
                let aligned = (row.left - last.left).abs() < pitch * 1.5 && (row.right - last.right).abs() < pitch * 1.5;
                let alike = (row_pitch / last_pitch - 1.0).abs() < 0.12 && (row.b - last.b).abs() < 0.05 && row.height < row_pitch * 1.6;
                if aligned && alike && spacing > pitch * 1.1 && spacing < pitch * 2.6 {
                    group.push(row);
                    if group.len() == count {
                        break;
                    }
                }
            }
            if group.len() < count {
                continue;
            }
            let pitch = group.iter().map(|r| pitch_and_length(r).0).sum::<f32>() / count as f32;
            // The steadier the pitch across the zone, the likelier an MRZ.
            let spread = group.iter().map(|r| (pitch_and_length(r).0 / pitch - 1.0).abs() + (pitch_and_length(r).1 / length - 1.0).abs()).sum::<f32>();
            let rows = group
                .iter()
                .map(|r| MrzRow { first: Point2f::new(r.left, r.y_at(r.left)), last: Point2f::new(r.right, r.y_at(r.right)), height: r.height })
                .collect();
            zones.push((spread, MrzZone { format, rows, pitch }));
        }
    }
    zones.sort_by(|a, b| a.0.total_cmp(&b.0));
    // One zone per place: a TD3 read as two rows of a TD1-shaped run and the like.
    let mut out: Vec<MrzZone> = Vec::new();
    for (_, zone) in zones {
        let c = zone.rows[0].first;
        if out.iter().any(|z| z.rows.iter().any(|r| (r.first.x - c.x).abs() < z.pitch * 3.0 && (r.first.y - c.y).abs() < z.pitch * 3.0)) {
            continue;
        }
        out.push(zone);
    }
    out
}

#[cfg(test)]
mod tests {
    use opencv::core::{CV_8UC3, Point, Scalar, Size};

    use super::*;
    use crate::vision::mrz_glyphs::OCRB_FONT;

    /// `lines` in OCR-B on a light page, at `size` px per glyph advance, turned by `degrees`.
    fn page(lines: &[&str], x: i32, y: i32, font_px: i32, degrees: f64) -> Mat {
        let mut renderer = opencv::freetype::create_free_type2().unwrap();
        renderer.load_font_data(OCRB_FONT, 0).unwrap();
        let mut image = Mat::new_rows_cols_with_default(900, 1400, CV_8UC3, Scalar::new(200.0, 215.0, 225.0, 0.0)).unwrap();
        renderer.put_text(&mut image, "REPUBLIC OF TESTS 12 34", Point::new(80, 120), 40, Scalar::all(30.0), -1, imgproc::LINE_AA, false).unwrap();
        for (i, line) in lines.iter().enumerate() {
            let at = Point::new(x, y + (font_px as f64 * 1.22) as i32 * i as i32);
            renderer.put_text(&mut image, line, at, font_px, Scalar::all(20.0), -1, imgproc::LINE_AA, false).unwrap();
        }
        let mut gray = Mat::default();
        imgproc::cvt_color_def(&image, &mut gray, imgproc::COLOR_BGR2GRAY).unwrap();
        if degrees == 0.0 {
            return gray;
        }
        let turn = imgproc::get_rotation_matrix_2d(Point2f::new(700.0, 450.0), degrees, 1.0).unwrap();
        let mut turned = Mat::default();
        imgproc::warp_affine(&gray, &mut turned, &turn, Size::new(1400, 900), imgproc::INTER_LINEAR, core::BORDER_REPLICATE, Scalar::default())
            .unwrap();
        turned
    }

    const TD1: [&str; 3] = ["IDKAZ0114250472740322464532<<<", "7403220F3609013KAZ<<<<<<<<<<<4", "OTEGENOVA<<INKAR<<<<<<<<<<<<<<"];
    const TD3: [&str; 2] = ["P<KAZOTEGENOVA<<INKAR<<<<<<<<<<<<<<<<<<<<<<<", "N187369652KAZ7403220F2910172740322464532<<66"];

    #[test]
    fn a_td3_and_a_td1_are_found_wherever_and_at_whatever_size_they_are_printed() {
        for (font_px, x, y, degrees) in [(41, 60, 700, 0.0), (24, 500, 300, 0.0), (30, 200, 500, 8.0)] {
            let zones = find_zones(&page(&TD3, x, y, font_px, degrees)).unwrap();
            assert_eq!(zones.len(), 1, "TD3 at {font_px} px, {degrees}°: {zones:?}");
            assert_eq!((zones[0].format, zones[0].rows.len()), (MrzFormat::Td3, 2));
            let advance = font_px as f32 * 0.72;
            assert!((zones[0].pitch / advance - 1.0).abs() < 0.1, "pitch {} for {advance}", zones[0].pitch);
            let zones = find_zones(&page(&TD1, x, y, font_px, degrees)).unwrap();
            assert_eq!(zones.len(), 1, "TD1 at {font_px} px, {degrees}°: {zones:?}");
            assert_eq!((zones[0].format, zones[0].rows.len()), (MrzFormat::Td1, 3));
        }
    }

    #[test]
    fn a_zone_turned_with_its_page_is_where_it_is_found_on_the_turned_page() {
        let (askew, level) = (page(&TD3, 200, 500, 30, 4.0), page(&TD3, 200, 500, 30, 0.0));
        let found = find_zones(&askew).unwrap().remove(0);
        let (ux, uy) = found.along();
        let turned = found.turned(Point2f::new(700.0, 450.0), (uy / ux).atan().to_degrees());
        let again = find_zones(&level).unwrap().remove(0);
        let (a, b) = (turned.band(), again.band());
        assert!((a.x - b.x).abs() <= 3 && (a.y - b.y).abs() <= 3 && (a.width - b.width).abs() <= 4 && (a.height - b.height).abs() <= 4, "{a:?} {b:?}");
        assert!(turned.along().1.abs() < 0.005, "{:?}", turned.along());
    }

    /// `gray` seen at a slant: its left edge `near` times as tall as its right
    /// (farther from the camera), then blurred by `blur`.
    fn slanted(gray: &Mat, near: f32, blur: f64) -> Mat {
        let (w, h) = (gray.cols() as f32, gray.rows() as f32);
        let from = core::Vector::<Point2f>::from_iter([Point2f::new(0.0, 0.0), Point2f::new(w, 0.0), Point2f::new(w, h), Point2f::new(0.0, h)]);
        let inset = h * (1.0 - near) / 2.0;
        let to = core::Vector::<Point2f>::from_iter([Point2f::new(0.0, inset), Point2f::new(w, 0.0), Point2f::new(w, h), Point2f::new(0.0, h - inset)]);
        let m = imgproc::get_perspective_transform(&from, &to, core::DECOMP_LU).unwrap();
        let mut seen = Mat::default();
        imgproc::warp_perspective(gray, &mut seen, &m, gray.size().unwrap(), imgproc::INTER_AREA, core::BORDER_REPLICATE, Scalar::default()).unwrap();
        let mut blurred = Mat::default();
        imgproc::gaussian_blur_def(&seen, &mut blurred, Size::new(0, 0), blur).unwrap();
        let mut small = Mat::default();
        imgproc::resize(&blurred, &mut small, Size::new(0, 0), 1.0 / 3.0, 1.0 / 3.0, imgproc::INTER_AREA).unwrap();
        small
    }

    #[test]
    fn a_zone_photographed_at_a_slant_and_out_of_focus_is_found() {
        // As a hard tuning page shows it (seeds 13, 17, 29): a pitch of 9 px at one
        // end of a row and 11 at the other, the number row's glyphs blurred into
        // runs. Counted by the median step, 44 glyphs came out as 40 or 42.
        for (near, blur) in [(0.8, 4.0), (0.8, 5.0), (0.8, 6.0), (0.9, 5.0)] {
            let zones = find_zones(&slanted(&page(&TD3, 60, 600, 40, 0.0), near, blur)).unwrap();
            assert_eq!(zones.len(), 1, "left edge {near} of the right, blur {blur}: {zones:?}");
            assert_eq!((zones[0].format, zones[0].rows.len()), (MrzFormat::Td3, 2));
        }
    }

    fn blob(x: i32, y: i32, w: i32, h: i32) -> Blob {
        Blob { x, y, w, h }
    }

    #[test]
    fn a_glyph_broken_at_its_waist_is_one_glyph_and_two_rows_stay_two() {
        // A row of glyphs 38 px tall, the third broken into a top and a bottom piece.
        let row = vec![blob(0, 100, 20, 38), blob(30, 100, 20, 38), blob(60, 100, 20, 15), blob(61, 123, 19, 15), blob(90, 100, 20, 38)];
        let joined = joined_pieces(row);
        assert_eq!(joined.len(), 4, "{joined:?}");
        assert!(joined.iter().any(|b| (b.x, b.y, b.h) == (60, 100, 38)), "{joined:?}");
        // Two rows of glyphs 15 px tall, one over the other: nothing beside them is
        // as tall as both, and a page's edge (tall and thin) is no glyph.
        let rows = vec![blob(0, 80, 3, 60), blob(20, 100, 12, 15), blob(20, 121, 12, 15), blob(40, 100, 12, 15), blob(40, 121, 12, 15)];
        assert_eq!(joined_pieces(rows).len(), 5);
    }

    #[test]
    fn ordinary_text_is_no_zone() {
        let lines = ["THIS IS A LINE OF ORDINARY TEXT, NOT AN MRZ", "AND ANOTHER ONE UNDER IT OF A LENGTH"];
        assert!(find_zones(&page(&lines, 60, 600, 41, 0.0)).unwrap().is_empty());
    }
}
