//! Passive presentation-attack detection over a clip. Enters: BGR frames, each with
//! the face YuNet found in it (or none), in capture order. Leaves: a
//! [`LivenessVerdict`] — every signal's value, a score and the attack kind they
//! point to. Keeps only the previous frame's grey image; never logs what it sees.
//!
//! Signals (computed at [`WORK_WIDTH`], so cost barely grows with the camera; only the
//! moiré square is taken from the frame as captured):
//! - **planarity**: feature points in the face box and in a ring around it, tracked
//!   frame to frame (pyramidal LK); one RANSAC homography fitted to both. A photo or
//!   screen moves as one plane, so face and ring points are both inliers; a real head
//!   moves against its background, so one group falls out.
//! - **landmark deformation**: YuNet's five landmarks after removing the best affine
//!   map to the clip's mean shape. A rigid picture (even tilted: tilt is nearly affine
//!   at these sizes) leaves only detector jitter; blinking, talking and head turns
//!   leave more.
//! - **screen cues**: periodic high-frequency peaks in the spectrum of the face's
//!   centre (moiré of a pixel grid against the camera's), plus colour figures (saturation,
//!   specular share) reported for review but not scored: nothing here calibrates them.

use opencv::core::{self, Mat, Point2f, Rect, Scalar, Size, TermCriteria, Vector};
use opencv::prelude::*;
use opencv::{calib3d, imgproc, video};
use serde::Serialize;

use super::VisionError;
use super::face::{BoxF, Face, Point};

/// Frames are analysed at this width (or their own, if narrower).
pub const WORK_WIDTH: i32 = 640;
/// A face whose tracked points move less than this (work pixels, median) between
/// frames gives no planarity evidence: a still head and a still photo look alike.
const MIN_MOTION_PX: f32 = 0.8;
/// Points per region handed to the tracker.
const MAX_POINTS: i32 = 80;
/// Fewer tracked points than this in the face or the ring: no fit for that pair.
const MIN_POINTS: usize = 8;
/// RANSAC inlier distance (work pixels).
const RANSAC_PX: f64 = 1.5;
/// Signals need this much evidence before they count.
const MIN_MOVING_PAIRS: usize = 5;
const MIN_FACE_FRAMES: usize = 10;
/// Lowest frequency (cycles per pixel) of the band searched for moiré peaks.
const MOIRE_BAND_LOW: f32 = 0.2;
/// Side of the face-centre square whose spectrum and colour are measured.
const SPECTRUM_SIDE: i32 = 96;

/// Where each signal's evidence starts (0) and is full (1). Set from the figures
/// `tests/liveness.rs` prints (debug build, 640×480): planarity prints 0.875–0.975,
/// screen 0.61, carphone 0.53; deformation prints 0.012–0.017, screen 0.030,
/// carphone 0.031; moiré prints 11–19, carphone 22, screen 126. Each ramp's midpoint
/// (evidence 0.5) sits between the bona fide figure and the nearest attack's.
const PLANARITY_RAMP: (f32, f32) = (0.65, 0.85);
const DEFORMATION_RAMP: (f32, f32) = (0.030, 0.015);
const MOIRE_RAMP: (f32, f32) = (35.0, 95.0);
/// A clip whose score reaches this is flagged: every ramp's midpoint, so one signal
/// at its midpoint (or two at theirs, for a print) flags.
pub const ATTACK_THRESHOLD: f32 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackKind {
    Print,
    Screen,
    /// Never produced yet: no mask samples exist to calibrate a mask signal.
    Mask,
}

/// One signal: its value over the clip, the evidence of attack it gives (0–1), and
/// how many frames or frame pairs it rests on.
#[derive(Debug, Clone, Serialize)]
pub struct Signal {
    pub value: Option<f32>,
    pub evidence: f32,
    pub samples: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Signals {
    /// Median over moving frame pairs of min(face, ring) RANSAC inlier share.
    pub planarity: Signal,
    /// RMS landmark residual after the best affine map, in inter-ocular distances.
    pub landmark_deformation: Signal,
    /// Median over face frames of the high-band spectral peak / median ratio.
    pub moire_peak: Signal,
    /// Median face-region saturation (0–255); reported, not scored.
    pub saturation: Signal,
    /// Median share of near-white, unsaturated face pixels (glare); reported, not scored.
    pub specular_share: Signal,
}

#[derive(Debug, Clone, Serialize)]
pub struct LivenessVerdict {
    /// Frames pushed.
    pub frames_read: usize,
    /// Frames with a face large enough to analyse.
    pub faces_tracked: usize,
    pub attack_suspected: bool,
    pub attack_kind: Option<AttackKind>,
    pub score: f32,
    pub threshold: f32,
    pub signals: Signals,
}

/// Feeds on frames one at a time; [`LivenessAnalyser::verdict`] at any point.
#[derive(Default)]
pub struct LivenessAnalyser {
    previous: Option<(Mat, BoxF)>,
    frames: usize,
    planarity: Vec<f32>,
    shapes: Vec<[Point; 5]>,
    moire: Vec<f32>,
    saturation: Vec<f32>,
    specular: Vec<f32>,
}

impl LivenessAnalyser {
    pub fn new() -> Self {
        Self::default()
    }

    /// One frame and the face found in it (frame coordinates).
    pub fn push(&mut self, frame: &Mat, face: Option<&Face>) -> Result<(), VisionError> {
        super::check_bgr(frame)?;
        self.frames += 1;
        let Some(face) = face else {
            // Tracking needs consecutive face frames.
            self.previous = None;
            return Ok(());
        };
        let scale = (WORK_WIDTH as f32 / frame.cols() as f32).min(1.0);
        let mut small = Mat::default();
        let bgr = if scale < 1.0 {
            let size = Size::new((frame.cols() as f32 * scale).round() as i32, (frame.rows() as f32 * scale).round() as i32);
            imgproc::resize(frame, &mut small, size, 0.0, 0.0, imgproc::INTER_AREA)?;
            &small
        } else {
            frame
        };
        let mut grey = Mat::default();
        imgproc::cvt_color_def(bgr, &mut grey, imgproc::COLOR_BGR2GRAY)?;
        let bbox = BoxF { x: face.bbox.x * scale, y: face.bbox.y * scale, width: face.bbox.width * scale, height: face.bbox.height * scale };
        let Some(rect) = clip_rect(bbox, 0.0, grey.size()?) else {
            self.previous = None;
            return Ok(());
        };
        self.shapes.push(face.landmarks);
        // The middle of the face: skin, little background, a bounded cost.
        let inner = centre_crop(rect, SPECTRUM_SIDE);
        let (sat, spec) = colour_figures(&Mat::roi(bgr, inner)?.try_clone()?)?;
        // Moiré lives at the sensor's pixel pitch: measure it on the frame as captured.
        let native = Rect::new(
            (inner.x as f32 / scale) as i32,
            (inner.y as f32 / scale) as i32,
            ((inner.width as f32 / scale) as i32).min(frame.cols() - (inner.x as f32 / scale) as i32),
            ((inner.height as f32 / scale) as i32).min(frame.rows() - (inner.y as f32 / scale) as i32),
        );
        let mut native_grey = Mat::default();
        imgproc::cvt_color_def(&Mat::roi(frame, native)?, &mut native_grey, imgproc::COLOR_BGR2GRAY)?;
        self.moire.push(moire_peak(&native_grey)?);
        self.saturation.push(sat);
        self.specular.push(spec);
        if let Some((prev_grey, prev_box)) = &self.previous
            && let Some(p) = planarity(prev_grey, &grey, *prev_box)?
        {
            self.planarity.push(p);
        }
        self.previous = Some((grey, bbox));
        Ok(())
    }

    pub fn verdict(&self) -> LivenessVerdict {
        let planarity = scored(median(&self.planarity), self.planarity.len(), MIN_MOVING_PAIRS, PLANARITY_RAMP);
        let deformation_value = landmark_deformation(&self.shapes);
        let landmark_deformation = scored(deformation_value, self.shapes.len(), MIN_FACE_FRAMES, DEFORMATION_RAMP);
        let moire_peak = scored(median(&self.moire), self.moire.len(), MIN_FACE_FRAMES, MOIRE_RAMP);
        let reported = |v: &[f32]| Signal { value: median(v), evidence: 0.0, samples: v.len() };
        // A print needs both: planar motion and a rigid landmark shape. Rigidity alone
        // is what a still real person shows (and gives no planarity figure), so the
        // geometric mean keeps it from flagging them.
        let print = (planarity.evidence * landmark_deformation.evidence).sqrt();
        let screen = moire_peak.evidence;
        let score = print.max(screen);
        let attack_suspected = score >= ATTACK_THRESHOLD;
        let attack_kind = attack_suspected.then_some(if screen >= print { AttackKind::Screen } else { AttackKind::Print });
        LivenessVerdict {
            frames_read: self.frames,
            faces_tracked: self.shapes.len(),
            attack_suspected,
            attack_kind,
            score,
            threshold: ATTACK_THRESHOLD,
            signals: Signals {
                planarity,
                landmark_deformation,
                moire_peak,
                saturation: reported(&self.saturation),
                specular_share: reported(&self.specular),
            },
        }
    }
}

/// A signal's evidence: a linear ramp from `ramp.0` (none) to `ramp.1` (full), which
/// may run downwards; nothing until `min_samples` were seen.
fn scored(value: Option<f32>, samples: usize, min_samples: usize, ramp: (f32, f32)) -> Signal {
    let evidence = match value {
        Some(v) if samples >= min_samples => ((v - ramp.0) / (ramp.1 - ramp.0)).clamp(0.0, 1.0),
        _ => 0.0,
    };
    Signal { value, evidence, samples }
}

fn median(values: &[f32]) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    Some(v[v.len() / 2])
}

/// `bbox` grown by `margin` box sizes on every side, clipped to the image; `None`
/// when too little is left to analyse.
fn clip_rect(bbox: BoxF, margin: f32, size: Size) -> Option<Rect> {
    let x0 = (bbox.x - margin * bbox.width).max(0.0) as i32;
    let y0 = (bbox.y - margin * bbox.height).max(0.0) as i32;
    let x1 = ((bbox.x + (1.0 + margin) * bbox.width) as i32).min(size.width);
    let y1 = ((bbox.y + (1.0 + margin) * bbox.height) as i32).min(size.height);
    (x1 - x0 >= 16 && y1 - y0 >= 16).then(|| Rect::new(x0, y0, x1 - x0, y1 - y0))
}

/// The centre of `rect`, at most `side` pixels square.
fn centre_crop(rect: Rect, side: i32) -> Rect {
    let (w, h) = (rect.width.min(side), rect.height.min(side));
    Rect::new(rect.x + (rect.width - w) / 2, rect.y + (rect.height - h) / 2, w, h)
}

/// Planarity of one frame pair: min over {face, ring} of the share of its tracked
/// points that one RANSAC homography explains; `None` when the face barely moved or
/// too few points tracked.
pub fn planarity(prev: &Mat, next: &Mat, face: BoxF) -> Result<Option<f32>, VisionError> {
    let size = prev.size()?;
    let (Some(inner), Some(outer)) = (clip_rect(face, 0.0, size), clip_rect(face, 0.8, size)) else { return Ok(None) };
    let mut face_mask = Mat::zeros_size(size, core::CV_8U)?.to_mat()?;
    imgproc::rectangle(&mut face_mask, inner, Scalar::all(255.0), -1, imgproc::LINE_8, 0)?;
    let mut ring_mask = Mat::zeros_size(size, core::CV_8U)?.to_mat()?;
    imgproc::rectangle(&mut ring_mask, outer, Scalar::all(255.0), -1, imgproc::LINE_8, 0)?;
    imgproc::rectangle(&mut ring_mask, inner, Scalar::all(0.0), -1, imgproc::LINE_8, 0)?;
    let face_pts = track(prev, next, &face_mask)?;
    let ring_pts = track(prev, next, &ring_mask)?;
    if face_pts.len() < MIN_POINTS || ring_pts.len() < MIN_POINTS {
        return Ok(None);
    }
    let motion: Vec<f32> = face_pts.iter().map(|(a, b)| (*b - *a).norm() as f32).collect();
    if median(&motion).unwrap_or(0.0) < MIN_MOTION_PX {
        return Ok(None);
    }
    let src: Vector<Point2f> = face_pts.iter().chain(&ring_pts).map(|p| p.0).collect();
    let dst: Vector<Point2f> = face_pts.iter().chain(&ring_pts).map(|p| p.1).collect();
    let mut inliers = Mat::default();
    let h = calib3d::find_homography(&src, &dst, &mut inliers, calib3d::RANSAC, RANSAC_PX)?;
    if h.empty() || inliers.rows() as usize != src.len() {
        return Ok(None);
    }
    let share = |from: usize, to: usize| -> Result<f32, VisionError> {
        let mut n = 0usize;
        for i in from..to {
            n += usize::from(*inliers.at::<u8>(i as i32)? != 0);
        }
        Ok(n as f32 / (to - from) as f32)
    };
    let split = face_pts.len();
    Ok(Some(share(0, split)?.min(share(split, src.len())?)))
}

/// Corners inside `mask` in `prev`, tracked into `next`: pairs that tracked.
fn track(prev: &Mat, next: &Mat, mask: &Mat) -> Result<Vec<(Point2f, Point2f)>, VisionError> {
    let mut corners: Vector<Point2f> = Vector::new();
    imgproc::good_features_to_track(prev, &mut corners, MAX_POINTS, 0.01, 4.0, mask, 3, false, 0.04)?;
    if corners.is_empty() {
        return Ok(Vec::new());
    }
    let mut moved: Vector<Point2f> = Vector::new();
    let mut status: Vector<u8> = Vector::new();
    let mut err: Vector<f32> = Vector::new();
    let criteria = TermCriteria::new(core::TermCriteria_COUNT | core::TermCriteria_EPS, 20, 0.03)?;
    video::calc_optical_flow_pyr_lk(prev, next, &corners, &mut moved, &mut status, &mut err, Size::new(21, 21), 3, criteria, 0, 1e-4)?;
    Ok(corners.iter().zip(moved.iter()).zip(status.iter()).filter(|(_, s)| *s != 0).map(|(p, _)| p).collect())
}

/// RMS residual of the landmarks after the best affine map of each frame's shape onto
/// the clip's mean (aligned) shape, in inter-ocular distances; `None` for < 3 shapes.
pub fn landmark_deformation(shapes: &[[Point; 5]]) -> Option<f32> {
    if shapes.len() < 3 {
        return None;
    }
    // Two passes: align to the first shape, then to the mean of the aligned shapes.
    let mut reference = shapes[0];
    for _ in 0..2 {
        let mut sum = [(0.0f64, 0.0f64); 5];
        for shape in shapes {
            let a = fit_affine(shape, &reference)?;
            for (s, p) in sum.iter_mut().zip(shape) {
                let q = apply(&a, *p);
                s.0 += q.0;
                s.1 += q.1;
            }
        }
        let n = shapes.len() as f64;
        for (r, s) in reference.iter_mut().zip(sum) {
            *r = Point { x: (s.0 / n) as f32, y: (s.1 / n) as f32 };
        }
    }
    let iod = (((reference[0].x - reference[1].x).powi(2) + (reference[0].y - reference[1].y).powi(2)) as f64).sqrt();
    if iod < 1e-3 {
        return None;
    }
    let mut sq = 0.0;
    for shape in shapes {
        let a = fit_affine(shape, &reference)?;
        for (p, r) in shape.iter().zip(&reference) {
            let q = apply(&a, *p);
            sq += (q.0 - r.x as f64).powi(2) + (q.1 - r.y as f64).powi(2);
        }
    }
    Some(((sq / (shapes.len() * 5) as f64).sqrt() / iod) as f32)
}

type Affine = [[f64; 3]; 2];

fn apply(a: &Affine, p: Point) -> (f64, f64) {
    let (x, y) = (p.x as f64, p.y as f64);
    (a[0][0] * x + a[0][1] * y + a[0][2], a[1][0] * x + a[1][1] * y + a[1][2])
}

/// Least-squares affine map from `from` to `to` (normal equations, 3×3 solved by
/// Cramer's rule); `None` for degenerate (collinear) shapes.
fn fit_affine(from: &[Point; 5], to: &[Point; 5]) -> Option<Affine> {
    let mut m = [[0.0f64; 3]; 3];
    let mut bx = [0.0f64; 3];
    let mut by = [0.0f64; 3];
    for (p, q) in from.iter().zip(to) {
        let v = [p.x as f64, p.y as f64, 1.0];
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] += v[i] * v[j];
            }
            bx[i] += v[i] * q.x as f64;
            by[i] += v[i] * q.y as f64;
        }
    }
    let det = det3(&m);
    if det.abs() < 1e-9 {
        return None;
    }
    let solve = |b: &[f64; 3]| {
        let mut out = [0.0; 3];
        for (k, o) in out.iter_mut().enumerate() {
            let mut mk = m;
            for row in 0..3 {
                mk[row][k] = b[row];
            }
            *o = det3(&mk) / det;
        }
        out
    };
    Some([solve(&bx), solve(&by)])
}

fn det3(m: &[[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

/// Strongest periodic component of a grey region's high band (0.2–0.5 cycles/pixel),
/// as a multiple of the median magnitude of the whole spectrum (DC excluded). Natural skin and noise spread their
/// energy; a screen's pixel grid beating against the sensor's concentrates it in peaks.
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
    let Some(med) = median(&all) else { return Ok(0.0) };
    let peak = band.iter().copied().fold(0.0f32, f32::max);
    Ok(if med > 0.0 { peak / med } else { 0.0 })
}

/// Median saturation (0–255) and the share of near-white, unsaturated pixels of a BGR region.
pub fn colour_figures(bgr: &Mat) -> Result<(f32, f32), VisionError> {
    let mut hsv = Mat::default();
    imgproc::cvt_color_def(bgr, &mut hsv, imgproc::COLOR_BGR2HSV)?;
    let pixels = hsv.data_typed::<core::Vec3b>()?;
    let sats: Vec<f32> = pixels.iter().map(|p| p[1] as f32).collect();
    let specular = pixels.iter().filter(|p| p[2] >= 240 && p[1] <= 40).count();
    let n = sats.len().max(1) as f32;
    Ok((median(&sats).unwrap_or(0.0), specular as f32 / n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(open: f32) -> [Point; 5] {
        let p = |x, y| Point { x, y };
        [p(30.0, 40.0), p(70.0, 40.0), p(50.0, 60.0), p(35.0, 80.0 + open), p(65.0, 80.0 - open)]
    }

    #[test]
    fn a_rigid_shape_under_affine_motion_has_no_deformation_a_moving_mouth_has() {
        let rigid: Vec<_> = (0..20)
            .map(|i| {
                let t = i as f32 * 0.1;
                shape(0.0).map(|p| Point { x: 1.1 * p.x + 0.2 * t * p.y + 5.0 * t, y: 0.9 * p.y - 0.1 * t * p.x + 3.0 })
            })
            .collect();
        assert!(landmark_deformation(&rigid).unwrap() < 1e-4);
        let talking: Vec<_> = (0..20).map(|i| shape(if i % 2 == 0 { 3.0 } else { -3.0 })).collect();
        assert!(landmark_deformation(&talking).unwrap() > 0.03);
    }

    fn textured(w: i32, h: i32, seed: u64) -> Mat {
        let mut m = Mat::new_rows_cols_with_default(h, w, core::CV_8U, Scalar::all(0.0)).unwrap();
        core::set_rng_seed(seed as i32).unwrap();
        core::randu(&mut m, &Scalar::all(0.0), &Scalar::all(255.0)).unwrap();
        let mut blurred = Mat::default();
        imgproc::gaussian_blur_def(&m, &mut blurred, Size::new(7, 7), 2.0).unwrap();
        blurred
    }

    fn shifted(m: &Mat, dx: f64, dy: f64) -> Mat {
        let t = Mat::from_slice_2d(&[[1.0, 0.0, dx], [0.0, 1.0, dy]]).unwrap();
        let mut out = Mat::default();
        imgproc::warp_affine(m, &mut out, &t, m.size().unwrap(), imgproc::INTER_LINEAR, core::BORDER_REFLECT, Scalar::all(0.0)).unwrap();
        out
    }

    #[test]
    fn one_plane_moving_is_planar_a_face_moving_against_its_background_is_not() {
        let face = BoxF { x: 120.0, y: 90.0, width: 80.0, height: 80.0 };
        let scene = textured(320, 240, 1);
        let whole = shifted(&scene, 3.0, 2.0);
        let p = planarity(&scene, &whole, face).unwrap().expect("moving pair");
        assert!(p > 0.9, "{p}");

        // Only the face box moves; the surroundings stay.
        let mut head = scene.clone();
        let moved = shifted(&scene, 3.0, 2.0);
        let r = Rect::new(120, 90, 80, 80);
        Mat::roi(&moved, r).unwrap().copy_to(&mut Mat::roi_mut(&mut head, r).unwrap()).unwrap();
        let p = planarity(&scene, &head, face).unwrap().expect("moving pair");
        assert!(p < 0.6, "{p}");

        assert!(planarity(&scene, &scene, face).unwrap().is_none(), "no motion, no evidence");
    }

    #[test]
    fn a_fine_grating_peaks_in_the_spectrum_smooth_texture_does_not() {
        let smooth = textured(96, 96, 2);
        let mut grating = Mat::default();
        let mut stripes = Mat::new_rows_cols_with_default(96, 96, core::CV_8U, Scalar::all(0.0)).unwrap();
        for y in 0..96 {
            for x in 0..96 {
                *stripes.at_2d_mut::<u8>(y, x).unwrap() = (15.0 + 15.0 * (2.0 * std::f32::consts::PI * 0.31 * x as f32).cos()) as u8;
            }
        }
        core::add_def(&smooth, &stripes, &mut grating).unwrap();
        let (a, b) = (moire_peak(&smooth).unwrap(), moire_peak(&grating).unwrap());
        assert!(b > 3.0 * a && b > MOIRE_RAMP.1, "smooth {a}, grating {b}");
    }

    #[test]
    fn glare_counts_as_specular() {
        let mut m = Mat::new_rows_cols_with_default(10, 10, core::CV_8UC3, Scalar::new(40.0, 80.0, 160.0, 0.0)).unwrap();
        imgproc::rectangle(&mut m, Rect::new(0, 0, 5, 10), Scalar::all(250.0), -1, imgproc::LINE_8, 0).unwrap();
        let (sat, spec) = colour_figures(&m).unwrap();
        assert!((spec - 0.5).abs() < 1e-6 && sat > 0.0);
    }
}
