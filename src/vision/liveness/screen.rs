//! Screen cues: what sets a face shown on a phone, tablet or monitor apart from one in
//! front of the camera. Enters: a frame (work resolution, and the face's centre as
//! captured for the pixel grid) and the face box. Leaves: one [`FrameCues`] per
//! frame and one banding figure per frame pair; the analyser takes medians.
//! - **moiré**: a display's pixel grid, resampled by the camera, concentrates energy
//!   in spectral peaks. Measured on the face's centre at two scales (the grid itself,
//!   and its beat with the sensor, which lands at lower frequencies), and on a square
//!   beside the face (reported: a display shows it there too, a room rarely).
//! - **display frame**: long straight edges close around the face on at least three
//!   sides (bezel, phone edge, player window), and whether they keep their place
//!   relative to the face while it moves (a hand-held screen) or stay put.
//! - **refresh banding**: a rolling band from refresh/PWM against the rolling shutter
//!   changes row brightness the same way in every column strip over the face, at one
//!   spatial frequency; a moving head changes columns differently.
//! - **tone**: an emissive panel's black is lifted (backlight leak, compressed range)
//!   and its white point is cooler than the room's lamps.
//! - **glare**: bright, unsaturated patches on the face region (a reflection on glass);
//!   reported with how far they stay from where the face moves.

use opencv::core::{self, Mat, Rect, Scalar, Size, Vec4i, Vector};
use opencv::imgproc;
use opencv::prelude::*;

use super::median;
use crate::vision::VisionError;

/// Lowest frequency (cycles per pixel) of the band searched for moiré peaks.
const MOIRE_BAND_LOW: f32 = 0.2;
/// A straight edge counts as a side of a frame when it spans this share of the
/// face's extent along it and lies within this many face widths of the face.
const SIDE_SPAN: f32 = 0.6;
const SIDE_REACH: f32 = 2.5;
/// Edge detection thresholds (grey levels): a bezel against a panel or a wall is a
/// strong edge even on a dim screen.
const CANNY_LOW: f64 = 30.0;
const CANNY_HIGH: f64 = 90.0;
/// Bright and unsaturated (HSV V and S) is what glass glare looks like on a face.
const GLARE_VALUE: u8 = 200;
const GLARE_SATURATION: u8 = 45;

/// What one frame shows of a screen.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameCues {
    /// Moiré peak of the face's centre: max over the two scales.
    pub moire: f32,
    /// Moiré peak of a square beside the face, when one fits in the frame.
    pub moire_beside: Option<f32>,
    /// Sides (0–4) closed by a long straight edge, and their distances from the face
    /// centre in face widths (left, right, top, bottom; `NaN` when missing).
    pub sides: usize,
    pub side_offsets: [f32; 4],
    /// 1st percentile of luma around the face (0–255).
    pub black_level: f32,
    /// ln(B/R) of the bright pixels around the face minus that of the rest of the
    /// frame; `None` when too little of the frame lies outside.
    pub white_point_shift: Option<f32>,
    /// Share of glare pixels around the face and their centroid relative to the face
    /// centre (face widths).
    pub glare_share: f32,
    pub glare_offset: Option<(f32, f32)>,
}

/// The region around the face the tone and glare figures look at: the box grown by
/// half its size on each side.
fn surround(face: Rect, size: Size) -> Rect {
    let grow = |r: Rect, k: f32| {
        let (dx, dy) = ((r.width as f32 * k) as i32, (r.height as f32 * k) as i32);
        Rect::new(r.x - dx, r.y - dy, r.width + 2 * dx, r.height + 2 * dy) & Rect::new(0, 0, size.width, size.height)
    };
    grow(face, 0.5)
}

/// Cues of one frame. `bgr` and `grey` at work resolution, `face` in it, and `half_grey`
/// the grey image halved (`pyrDown`, as the flow pyramid's second level); `native_centre`
/// is the face's centre square cut from the frame as captured (grey).
pub fn frame_cues(bgr: &Mat, grey: &Mat, half_grey: &Mat, face: Rect, native_centre: &Mat, beside: Option<&Mat>) -> Result<FrameCues, VisionError> {
    let mut cues = FrameCues { moire: moire_multiscale(native_centre)?, ..Default::default() };
    if let Some(b) = beside {
        cues.moire_beside = Some(moire_multiscale(b)?);
    }
    (cues.sides, cues.side_offsets) = frame_sides(half_grey, face)?;
    let size = grey.size()?;
    let around = surround(face, size);
    // Both read the region in place: no copy of it per frame.
    cues.black_level = percentile(&Mat::roi(grey, around)?, 0.01)?;
    cues.white_point_shift = white_point_shift(bgr, around)?;
    let (share, centroid) = glare(&Mat::roi(bgr, around)?)?;
    cues.glare_share = share;
    let centre = (face.x as f32 + face.width as f32 / 2.0, face.y as f32 + face.height as f32 / 2.0);
    cues.glare_offset = centroid.map(|(x, y)| {
        ((around.x as f32 + x - centre.0) / face.width as f32, (around.y as f32 + y - centre.1) / face.width as f32)
    });
    Ok(cues)
}

/// Moiré at the captured scale and at half of it (after a blur, so the half scale
/// sees the beat of the grid against the sensor, not new aliasing).
pub fn moire_multiscale(grey: &Mat) -> Result<f32, VisionError> {
    let full = moire_peak(grey)?;
    if grey.cols() < 32 || grey.rows() < 32 {
        return Ok(full);
    }
    let mut half = Mat::default();
    imgproc::pyr_down_def(grey, &mut half)?;
    Ok(full.max(moire_peak(&half)?))
}

/// Strongest periodic component of a grey region's high band (0.2–0.5 cycles/pixel),
/// as a multiple of the median magnitude of the whole spectrum (DC excluded). Natural
/// skin and noise spread their energy; a screen's pixel grid concentrates it in peaks.
pub fn moire_peak(grey: &Mat) -> Result<f32, VisionError> {
    let (w, h) = (grey.cols(), grey.rows());
    let mut f = Mat::default();
    grey.convert_to(&mut f, core::CV_32F, 1.0, 0.0)?;
    let mean = core::mean_def(&f)?[0];
    let mut centred = Mat::default();
    core::subtract_def(&f, &Scalar::all(mean), &mut centred)?;
    // A window, so the region's edges do not pass for high-frequency energy.
    let mut window = Mat::default();
    imgproc::create_hanning_window(&mut window, Size::new(w, h), core::CV_32F)?;
    let mut windowed = Mat::default();
    core::multiply_def(&centred, &window, &mut windowed)?;
    let mut spectrum = Mat::default();
    core::dft(&windowed, &mut spectrum, core::DFT_COMPLEX_OUTPUT, 0)?;
    let cells = spectrum.data_typed::<core::Vec2f>()?;
    let (mut band, mut all) = (Vec::new(), Vec::with_capacity(cells.len()));
    for y in 0..h {
        let fy = (if y <= h / 2 { y } else { y - h }) as f32 / h as f32;
        for x in 0..w {
            let fx = (if x <= w / 2 { x } else { x - w }) as f32 / w as f32;
            let r = (fx * fx + fy * fy).sqrt();
            let c = cells[(y * w + x) as usize];
            let magnitude = (c[0] * c[0] + c[1] * c[1]).sqrt();
            if r > 0.02 {
                all.push(magnitude);
            }
            if (MOIRE_BAND_LOW..=0.5).contains(&r) {
                band.push(magnitude);
            }
        }
    }
    // Against the whole spectrum's median, so that a smooth (upscaled, blurred) face
    // with an almost empty high band does not make a small bump look like a peak.
    if all.is_empty() {
        return Ok(0.0);
    }
    // The median by selection, not a sort: this runs on every face frame.
    let mid = all.len() / 2;
    let med = *all.select_nth_unstable_by(mid, f32::total_cmp).1;
    let peak = band.iter().copied().fold(0.0f32, f32::max);
    Ok(if med > 0.0 { peak / med } else { 0.0 })
}

/// Long straight edges beside the face: how many of its four sides have one, and at
/// what distance (face widths from its centre; the nearest per side). Searched on the
/// work image halved (`half`; `face` in work pixels): long edges survive halving, and
/// the edge search costs a quarter.
fn frame_sides(half: &Mat, face: Rect) -> Result<(usize, [f32; 4]), VisionError> {
    let face = Rect::new(face.x / 2, face.y / 2, face.width / 2, face.height / 2);
    let grey = half;
    let size = grey.size()?;
    let reach = (SIDE_REACH * face.width as f32) as i32;
    let area = Rect::new(face.x - reach, face.y - reach, face.width + 2 * reach, face.height + 2 * reach) & Rect::new(0, 0, size.width, size.height);
    let mut edges = Mat::default();
    imgproc::canny(&Mat::roi(grey, area)?, &mut edges, CANNY_LOW, CANNY_HIGH, 3, false)?;
    // Only lines beside the box count, and the face's own edges are most of the
    // points the line search would vote with: they are left out.
    let inside = Rect::new(face.x - area.x, face.y - area.y, face.width, face.height) & Rect::new(0, 0, area.width, area.height);
    if inside.area() > 0 {
        Mat::roi_mut(&mut edges, inside)?.set_to_def(&Scalar::all(0.0))?;
    }
    let mut lines: Vector<Vec4i> = Vector::new();
    let min_len = (SIDE_SPAN * face.width.min(face.height) as f32) as f64;
    // Angles in 2° steps: only lines within 14° of upright or level count, and the
    // vote costs half that of 1° steps, which took a tenth of a 720p frame's analysis.
    imgproc::hough_lines_p(&edges, &mut lines, 1.0, std::f64::consts::PI / 90.0, (min_len * 0.6) as i32, min_len, 2.0)?;
    let (fx0, fy0) = ((face.x - area.x) as f32, (face.y - area.y) as f32);
    let (fw, fh) = (face.width as f32, face.height as f32);
    let (cx, cy) = (fx0 + fw / 2.0, fy0 + fh / 2.0);
    let mut offsets = [f32::NAN; 4];
    let mut keep = |side: usize, distance: f32| {
        if offsets[side].is_nan() || distance < offsets[side] {
            offsets[side] = distance;
        }
    };
    let overlap = |a0: f32, a1: f32, b0: f32, b1: f32| (a1.min(b1) - a0.max(b0)).max(0.0);
    for l in lines.iter() {
        let (x0, y0, x1, y1) = (l[0] as f32, l[1] as f32, l[2] as f32, l[3] as f32);
        let (dx, dy) = ((x1 - x0).abs(), (y1 - y0).abs());
        if dy > 4.0 * dx {
            // Vertical: must cover most of the face's height, left or right of the box.
            let x = (x0 + x1) / 2.0;
            if overlap(y0.min(y1), y0.max(y1), fy0, fy0 + fh) >= SIDE_SPAN * fh {
                if x < fx0 {
                    keep(0, (cx - x) / fw);
                } else if x > fx0 + fw {
                    keep(1, (x - cx) / fw);
                }
            }
        } else if dx > 4.0 * dy {
            let y = (y0 + y1) / 2.0;
            if overlap(x0.min(x1), x0.max(x1), fx0, fx0 + fw) >= SIDE_SPAN * fw {
                if y < fy0 {
                    keep(2, (cy - y) / fw);
                } else if y > fy0 + fh {
                    keep(3, (y - cy) / fw);
                }
            }
        }
    }
    Ok((offsets.iter().filter(|o| !o.is_nan()).count(), offsets))
}

/// The `q` quantile of an 8-bit grey region.
fn percentile(grey: &impl MatTraitConst, q: f32) -> Result<f32, VisionError> {
    let mut histogram = [0usize; 256];
    let mut n = 0usize;
    for row in 0..grey.rows() {
        for &v in grey.at_row::<u8>(row)? {
            histogram[v as usize] += 1;
            n += 1;
        }
    }
    let target = (q * n as f32) as usize;
    let mut seen = 0;
    for (level, count) in histogram.iter().enumerate() {
        seen += count;
        if seen > target {
            return Ok(level as f32);
        }
    }
    Ok(255.0)
}

/// ln(B/R) of the brighter half of the pixels inside `around` (every 2nd) minus that of
/// the rest of the frame (every 4th), or `None` when less than a fifth of the frame is left.
fn white_point_shift(bgr: &Mat, around: Rect) -> Result<Option<f32>, VisionError> {
    let (w, h) = (bgr.cols(), bgr.rows());
    if (around.area() as f32) > 0.8 * (w * h) as f32 {
        return Ok(None);
    }
    // The pixels compared, in scan order, with their group: 0 inside, 1 outside.
    let each_sample = |f: &mut dyn FnMut(usize, [u8; 3])| -> Result<(), VisionError> {
        for y in (0..h).step_by(2) {
            let row = bgr.at_row::<core::Vec3b>(y)?;
            for x in (0..w).step_by(2) {
                let group = if around.contains(core::Point::new(x, y)) {
                    0
                } else if x % 4 == 0 && y % 4 == 0 {
                    1
                } else {
                    continue;
                };
                f(group, row[x as usize].0);
            }
        }
        Ok(())
    };
    // The brighter half of each group is the half a stable sort by B+G+R (descending)
    // would put first, ties at the cut taken in scan order; found by counting, not
    // sorting, and ln taken only of the pixels kept (this runs on every face frame).
    let brightness = |p: [u8; 3]| p[0] as usize + p[1] as usize + p[2] as usize;
    let mut histograms = [[0u32; 766]; 2];
    each_sample(&mut |group, p| histograms[group][brightness(p)] += 1)?;
    let cuts = histograms.map(|histogram| BrightHalf::of(&histogram));
    let mut left_at_cut = cuts.map(|c| c.map_or(0, |c| c.take_at_cut));
    let mut sums = [0.0f64; 2];
    each_sample(&mut |group, p| {
        let Some(cut) = cuts[group] else { return };
        let b = brightness(p);
        if b < cut.level || (b == cut.level && left_at_cut[group] == 0) {
            return;
        }
        if b == cut.level {
            left_at_cut[group] -= 1;
        }
        sums[group] += ((p[0] as f32 + 4.0) / (p[2] as f32 + 4.0)).ln() as f64;
    })?;
    let bright_mean = |group: usize| cuts[group].map(|cut| sums[group] as f32 / cut.kept as f32);
    Ok(match (bright_mean(0), bright_mean(1)) {
        (Some(a), Some(b)) => Some(a - b),
        _ => None,
    })
}

/// Where the brighter half of a brightness histogram is cut: every pixel above `level`
/// and the first `take_at_cut` at it, `kept` in all.
#[derive(Clone, Copy)]
struct BrightHalf {
    level: usize,
    take_at_cut: u32,
    kept: u32,
}

impl BrightHalf {
    /// `None` for fewer than 16 pixels.
    fn of(histogram: &[u32]) -> Option<Self> {
        let n: u32 = histogram.iter().sum();
        if n < 16 {
            return None;
        }
        let kept = n / 2;
        let mut above = 0;
        for (level, &count) in histogram.iter().enumerate().rev() {
            if above + count >= kept {
                return Some(Self { level, take_at_cut: kept - above, kept });
            }
            above += count;
        }
        None
    }
}

/// Share of bright, unsaturated pixels of a BGR region and their centroid (region pixels).
pub fn glare(bgr: &impl core::ToInputArray) -> Result<(f32, Option<(f32, f32)>), VisionError> {
    let mut hsv = Mat::default();
    imgproc::cvt_color_def(bgr, &mut hsv, imgproc::COLOR_BGR2HSV)?;
    let (mut n, mut sx, mut sy) = (0usize, 0.0f64, 0.0f64);
    for y in 0..hsv.rows() {
        for (x, p) in hsv.at_row::<core::Vec3b>(y)?.iter().enumerate() {
            if p[2] >= GLARE_VALUE && p[1] <= GLARE_SATURATION {
                n += 1;
                sx += x as f64;
                sy += y as f64;
            }
        }
    }
    let total = (hsv.rows() * hsv.cols()).max(1) as f32;
    Ok((n as f32 / total, (n > 0).then(|| ((sx / n as f64) as f32, (sy / n as f64) as f32))))
}

/// Mean colour (BGR) of a ring around the face box (the box grown by 60 % on each
/// side, minus the box), in a frame as captured: what the kiosk's flash lights less
/// than a face near it. `None` when less than half the ring is in the frame.
pub fn surround_colour(bgr: &Mat, face: &crate::vision::Face) -> Result<Option<[f32; 3]>, VisionError> {
    let b = face.bbox;
    let frame = Rect::new(0, 0, bgr.cols(), bgr.rows());
    let inner = Rect::new(b.x as i32, b.y as i32, b.width as i32, b.height as i32) & frame;
    let (dx, dy) = ((b.width * 0.6) as i32, (b.height * 0.6) as i32);
    let outer_full = Rect::new(inner.x - dx, inner.y - dy, inner.width + 2 * dx, inner.height + 2 * dy);
    let outer = outer_full & frame;
    let ring_area = outer.area() - inner.area();
    if inner.area() == 0 || (ring_area as f32) < 0.5 * (outer_full.area() - inner.area()) as f32 {
        return Ok(None);
    }
    let sum_of = |r: Rect| -> Result<[f64; 3], VisionError> {
        let m = core::sum_elems(&Mat::roi(bgr, r)?)?;
        Ok([m[0], m[1], m[2]])
    };
    let (o, i) = (sum_of(outer)?, sum_of(inner)?);
    let n = ring_area.max(1) as f64;
    Ok(Some([((o[0] - i[0]) / n) as f32, ((o[1] - i[1]) / n) as f32, ((o[2] - i[2]) / n) as f32]))
}

/// Row-brightness profiles of three column strips across the face, over rows from a
/// face height above it to one below (work resolution): the input of [`banding`].
#[derive(Debug, Clone)]
pub struct RowProfiles {
    first_row: i32,
    strips: [Vec<f32>; 3],
}

pub fn row_profiles(grey: &Mat, face: Rect) -> Result<Option<RowProfiles>, VisionError> {
    let size = grey.size()?;
    let rows = Rect::new(face.x, face.y - face.height, face.width, 3 * face.height) & Rect::new(0, 0, size.width, size.height);
    if rows.height < 32 || rows.width < 12 {
        return Ok(None);
    }
    let third = rows.width / 3;
    let mut strips: [Vec<f32>; 3] = Default::default();
    for (k, strip) in strips.iter_mut().enumerate() {
        let r = Rect::new(rows.x + k as i32 * third, rows.y, third, rows.height);
        let mut means = Mat::default();
        core::reduce(&Mat::roi(grey, r)?, &mut means, 1, core::REDUCE_AVG, core::CV_32F)?;
        *strip = (0..means.rows()).map(|i| means.at::<f32>(i).copied()).collect::<Result<_, _>>()?;
    }
    Ok(Some(RowProfiles { first_row: rows.y, strips }))
}

/// Banding between two frames: how much of the strongest row-frequency of the
/// brightness change is common to all three strips (1 = the same in all, about a third
/// for unrelated changes), weighted by how much that frequency stands out of the rest.
pub fn banding(prev: &RowProfiles, next: &RowProfiles) -> Result<Option<f32>, VisionError> {
    let start = prev.first_row.max(next.first_row);
    let end = (prev.first_row + prev.strips[0].len() as i32).min(next.first_row + next.strips[0].len() as i32);
    let n = end - start;
    if n < 32 {
        return Ok(None);
    }
    let mut changes = Mat::zeros(4, n, core::CV_32F)?.to_mat()?;
    for s in 0..3 {
        let (a, b) = ((start - prev.first_row) as usize, (start - next.first_row) as usize);
        let d: Vec<f32> = (0..n as usize).map(|i| (next.strips[s][b + i] + 4.0).ln() - (prev.strips[s][a + i] + 4.0).ln()).collect();
        let mean = d.iter().sum::<f32>() / n as f32;
        for (i, v) in d.iter().enumerate() {
            *changes.at_2d_mut::<f32>(s as i32, i as i32)? = v - mean;
            *changes.at_2d_mut::<f32>(3, i as i32)? += (v - mean) / 3.0;
        }
    }
    // A Hann window along the rows, so the region's ends do not pass for a band.
    for r in 0..4 {
        for i in 0..n {
            let w = 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / (n - 1) as f32).cos();
            *changes.at_2d_mut::<f32>(r, i)? *= w;
        }
    }
    let mut spectrum = Mat::default();
    core::dft(&changes, &mut spectrum, core::DFT_COMPLEX_OUTPUT | core::DFT_ROWS, 0)?;
    let power = |r: i32, k: i32| -> Result<f32, VisionError> {
        let c = spectrum.at_2d::<core::Vec2f>(r, k)?;
        Ok(c[0] * c[0] + c[1] * c[1])
    };
    let mut common = Vec::new();
    for k in 1..=n / 2 {
        common.push(power(3, k)?);
    }
    let Some(med) = median(&common) else { return Ok(None) };
    let (peak_k, peak) = common.iter().enumerate().fold((0, 0.0f32), |best, (i, &p)| if p > best.1 { (i, p) } else { best });
    let k = peak_k as i32 + 1;
    let separate = (power(0, k)? + power(1, k)? + power(2, k)?) / 3.0;
    if separate <= 0.0 || med <= 0.0 {
        return Ok(None);
    }
    let coherence = peak / separate;
    let prominence = (peak / med / 40.0).min(1.0);
    Ok(Some(coherence * prominence))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey_with(f: impl Fn(i32, i32) -> f32, w: i32, h: i32) -> Mat {
        let mut m = Mat::new_rows_cols_with_default(h, w, core::CV_8U, Scalar::all(0.0)).unwrap();
        for y in 0..h {
            for x in 0..w {
                *m.at_2d_mut::<u8>(y, x).unwrap() = f(x, y).clamp(0.0, 255.0) as u8;
            }
        }
        m
    }

    fn noise(x: i32, y: i32) -> f32 {
        let h = (x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663)) as u32;
        (h % 1000) as f32 / 1000.0
    }

    #[test]
    fn a_fine_grating_peaks_in_the_spectrum_smooth_texture_does_not() {
        let smooth = grey_with(|x, y| 100.0 + 30.0 * ((x as f32 / 9.0).sin() * (y as f32 / 13.0).cos()) + 6.0 * noise(x, y), 96, 96);
        let grating = grey_with(
            |x, y| 100.0 + 30.0 * ((x as f32 / 9.0).sin() * (y as f32 / 13.0).cos()) + 6.0 * noise(x, y) + 15.0 * (2.0 * std::f32::consts::PI * 0.31 * x as f32).cos(),
            96,
            96,
        );
        let (a, b) = (moire_multiscale(&smooth).unwrap(), moire_multiscale(&grating).unwrap());
        assert!(b > 3.0 * a, "smooth {a}, grating {b}");
    }

    #[test]
    fn a_bezel_closes_the_face_on_four_sides_a_plain_wall_on_none() {
        let face = Rect::new(140, 100, 60, 70);
        let framed = grey_with(|x, y| if (90..250).contains(&x) && (50..230).contains(&y) { 150.0 } else { 20.0 }, 340, 280);
        let halved = |m: &Mat| {
            let mut half = Mat::default();
            imgproc::pyr_down_def(m, &mut half).unwrap();
            half
        };
        assert_eq!(frame_sides(&halved(&framed), face).unwrap().0, 4);
        let wall = grey_with(|x, y| 120.0 + 10.0 * noise(x, y), 340, 280);
        assert_eq!(frame_sides(&halved(&wall), face).unwrap().0, 0);
    }

    #[test]
    fn a_rolling_band_is_common_to_all_strips_a_moving_head_is_not() {
        let face = Rect::new(60, 80, 60, 60);
        let scene = |shift: f32, band: f32| {
            grey_with(move |x, y| (120.0 + 40.0 * (x as f32 * 0.7 + (y as f32 + shift) * 0.3).sin()) * (1.0 - 0.1 * ((y as f32 / 30.0 + band) * 6.283).cos()), 200, 300)
        };
        let (a, b) = (scene(0.0, 0.0), scene(0.0, 0.3));
        let banded = banding(&row_profiles(&a, face).unwrap().unwrap(), &row_profiles(&b, face).unwrap().unwrap()).unwrap().unwrap();
        let (c, d) = (scene(0.0, 0.0), scene(3.0, 0.0));
        let moved = banding(&row_profiles(&c, face).unwrap().unwrap(), &row_profiles(&d, face).unwrap().unwrap()).unwrap().unwrap();
        assert!(banded > 0.5 && moved < banded / 2.0, "banded {banded}, moved {moved}");
    }

    /// The sorting definition the counting in [`white_point_shift`] replaces.
    fn white_point_shift_by_sorting(bgr: &Mat, around: Rect) -> Option<f32> {
        let (mut inside, mut outside) = (Vec::new(), Vec::new());
        for y in (0..bgr.rows()).step_by(2) {
            let row = bgr.at_row::<core::Vec3b>(y).unwrap();
            for x in (0..bgr.cols()).step_by(2) {
                let p = row[x as usize];
                let item = (p[0] as f32 + p[1] as f32 + p[2] as f32, ((p[0] as f32 + 4.0) / (p[2] as f32 + 4.0)).ln());
                if around.contains(core::Point::new(x, y)) {
                    inside.push(item);
                } else if x % 4 == 0 && y % 4 == 0 {
                    outside.push(item);
                }
            }
        }
        let bright_mean = |mut v: Vec<(f32, f32)>| {
            v.sort_by(|a, b| b.0.total_cmp(&a.0));
            let top = &v[..v.len() / 2];
            top.iter().map(|p| p.1 as f64).sum::<f64>() as f32 / top.len() as f32
        };
        Some(bright_mean(inside) - bright_mean(outside))
    }

    #[test]
    fn white_point_shift_keeps_the_half_a_stable_sort_keeps() {
        // Few grey levels, so many pixels tie at the cut.
        let mut m = Mat::new_rows_cols_with_default(120, 160, core::CV_8UC3, Scalar::all(0.0)).unwrap();
        core::set_rng_seed(7).unwrap();
        core::randu(&mut m, &Scalar::all(0.0), &Scalar::all(4.0)).unwrap();
        let mut levels = Mat::default();
        m.convert_to(&mut levels, -1, 60.0, 0.0).unwrap();
        let around = Rect::new(40, 30, 50, 40);
        let (counted, sorted) = (white_point_shift(&levels, around).unwrap().unwrap(), white_point_shift_by_sorting(&levels, around).unwrap());
        assert!((counted - sorted).abs() < 1e-5, "counted {counted}, sorted {sorted}");
    }

    #[test]
    fn glare_counts_bright_unsaturated_pixels() {
        let mut m = Mat::new_rows_cols_with_default(10, 10, core::CV_8UC3, Scalar::new(40.0, 80.0, 160.0, 0.0)).unwrap();
        imgproc::rectangle(&mut m, Rect::new(0, 0, 5, 10), Scalar::all(250.0), -1, imgproc::LINE_8, 0).unwrap();
        let (share, centroid) = glare(&m).unwrap();
        assert!((share - 0.5).abs() < 1e-6);
        assert!((centroid.unwrap().0 - 2.0).abs() < 1e-6);
    }
}
