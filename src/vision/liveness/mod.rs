//! Passive presentation-attack detection over a clip. Enters: BGR frames, each with
//! the face YuNet found in it (or none), in capture order. Leaves: a
//! [`LivenessVerdict`] — every signal's value, the evidence it gives, a score and the
//! attack kind they point to. Keeps only the previous frame's grey image and a few
//! numbers per frame; never logs what it sees.
//!
//! Signals are computed at [`WORK_WIDTH`], so cost barely grows with the camera; only
//! the moiré squares are taken from the frame as captured. Print cues are in
//! [`print`] (planarity, landmark deformation), screen cues in [`screen`] (moiré,
//! display frame, refresh banding, tone, glare). They are combined here into one
//! decision: a print moves as a rigid plane; a screen shows an emissive surface.

pub mod print;
pub mod screen;

use opencv::core::{Mat, Rect, Size, Vector};
use opencv::imgproc;
use opencv::prelude::*;
use serde::Serialize;

use self::screen::{FrameCues, RowProfiles};
use super::VisionError;
use super::face::{BoxF, Face, Point};

/// Frames are analysed at this width (or their own, if narrower).
pub const WORK_WIDTH: i32 = 640;
/// Signals need this much evidence before they count.
const MIN_MOVING_PAIRS: usize = 5;
const MIN_FACE_FRAMES: usize = 10;
/// Side of the face-centre square whose spectrum is measured (work pixels).
const SPECTRUM_SIDE: i32 = 96;
/// A frame pair says whether the display frame follows the face only when the face
/// moved at least this much (face widths); the frame follows it when its sides moved
/// by less than this share of the face's motion relative to them.
const FOLLOW_MIN_MOTION: f32 = 0.015;
const FOLLOW_SHARE: f32 = 0.4;
/// Glare pixels must cover this share of the face's surroundings for a frame to
/// count as showing glare.
const GLARE_MIN_SHARE: f32 = 0.004;

/// Where each signal's evidence starts (0) and is full (1); see [`ramps`].
mod ramps;
use ramps::*;

/// A clip whose score reaches this is flagged. Tuning set and check set as for the
/// ramps (see [`ramps`]); `tests/liveness.rs` prints APCER/BPCER for each. Tuning:
/// bona fide 0.00, attacks 0.99–1.00 (APCER 0/4 print, 0/7 screen; BPCER 0/4). Check:
/// bona fide 0.00 (four held-out clips and carphone), attacks 0.94–1.00 (APCER 0/3
/// print, 0/8 screen; BPCER 0/4). Synthetic attacks, one real person: a margin, not a rate.
pub const ATTACK_THRESHOLD: f32 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackKind {
    Print,
    Screen,
    /// Never produced yet: no mask samples exist to calibrate a mask signal.
    Mask,
}

impl AttackKind {
    pub fn name(self) -> &'static str {
        match self {
            AttackKind::Print => "print",
            AttackKind::Screen => "screen",
            AttackKind::Mask => "mask",
        }
    }
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
    /// Print: median over moving frame pairs of min(face, ring) RANSAC inlier share.
    pub planarity: Signal,
    /// Print: RMS landmark residual after the best affine map, in inter-ocular distances.
    pub landmark_deformation: Signal,
    /// Screen: median over face frames of the face centre's spectral peak / median ratio
    /// (max of two scales).
    pub moire_peak: Signal,
    /// The same beside the face, at work resolution; reported, not scored.
    pub moire_beside: Signal,
    /// Presentation instrument: share of face frames closed on at least three sides by
    /// long straight edges (bezel, phone or window edge, paper edge).
    pub display_frame: Signal,
    /// Share of moving frame pairs in which those edges moved with the face (a
    /// hand-held screen or print); reported, and what tells a held instrument from a
    /// picture on a fixed monitor.
    pub frame_follows_face: Signal,
    /// Screen: median over frame pairs of the row-brightness change common to three
    /// column strips (rolling refresh / PWM band).
    pub refresh_banding: Signal,
    /// Screen: median 1st-percentile luma around the face (an emissive panel's black).
    pub black_level: Signal,
    /// Screen: median ln(B/R) of the bright pixels around the face minus the rest of
    /// the frame's (a display's cool white point in a lamp-lit room).
    pub white_point_shift: Signal,
    /// Median share of bright unsaturated pixels around the face; reported.
    pub glare: Signal,
    /// Spread (face widths, std) of the glare's centroid relative to the face over the
    /// frames that show glare: a reflection on glass does not move with the face; reported.
    pub glare_drift: Signal,
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
    /// The two combined scores behind `score`: a rigid flat picture, an emissive screen.
    pub print_score: f32,
    pub screen_score: f32,
    pub signals: Signals,
}

impl LivenessVerdict {
    /// The figures behind a suspected attack, for a decision's reason: the combined
    /// scores and every signal that gave evidence, as `name=value`.
    pub fn evidence_summary(&self) -> String {
        let s = &self.signals;
        let named = [
            ("planarity", &s.planarity),
            ("landmark_deformation", &s.landmark_deformation),
            ("moire_peak", &s.moire_peak),
            ("display_frame", &s.display_frame),
            ("refresh_banding", &s.refresh_banding),
            ("black_level", &s.black_level),
            ("white_point_shift", &s.white_point_shift),
        ];
        let mut parts = vec![format!("print={:.2}", self.print_score), format!("screen={:.2}", self.screen_score)];
        for (name, signal) in named {
            if let (Some(v), true) = (signal.value, signal.evidence > 0.0) {
                parts.push(format!("{name}={v:.3}"));
            }
        }
        parts.join(" ")
    }
}

struct Previous {
    grey: Mat,
    /// Its LK pyramid (see [`print::flow_pyramid`]).
    pyramid: Vector<Mat>,
    face: BoxF,
    profiles: Option<RowProfiles>,
    cues: FrameCues,
}

/// Feeds on frames one at a time; [`LivenessAnalyser::verdict`] at any point.
#[derive(Default)]
pub struct LivenessAnalyser {
    previous: Option<Previous>,
    frames: usize,
    planarity: Vec<f32>,
    shapes: Vec<[Point; 5]>,
    cues: Vec<FrameCues>,
    follows: Vec<f32>,
    banding: Vec<f32>,
    /// Reused from frame to frame: the scaled frame and the grey image that is not the
    /// previous frame's.
    small: Mat,
    spare_grey: Mat,
    spare_pyramid: Vector<Mat>,
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
            self.forget_previous();
            return Ok(());
        };
        let scale = (WORK_WIDTH as f32 / frame.cols() as f32).min(1.0);
        if scale < 1.0 {
            let size = Size::new((frame.cols() as f32 * scale).round() as i32, (frame.rows() as f32 * scale).round() as i32);
            imgproc::resize(frame, &mut self.small, size, 0.0, 0.0, imgproc::INTER_AREA)?;
        }
        let bgr = if scale < 1.0 { &self.small } else { frame };
        let mut grey = std::mem::take(&mut self.spare_grey);
        imgproc::cvt_color_def(bgr, &mut grey, imgproc::COLOR_BGR2GRAY)?;
        let bbox = BoxF { x: face.bbox.x * scale, y: face.bbox.y * scale, width: face.bbox.width * scale, height: face.bbox.height * scale };
        let Some(rect) = clip_rect(bbox, 0.0, grey.size()?) else {
            self.spare_grey = grey;
            self.forget_previous();
            return Ok(());
        };
        self.shapes.push(face.landmarks);
        // Moiré lives at the sensor's pixel pitch: measured on the frame as captured
        // (which, at work width or narrower, is the grey image already converted).
        let centre = if scale < 1.0 {
            native_grey(frame, centre_crop(rect, SPECTRUM_SIDE), scale)?
        } else {
            Mat::roi(&grey, centre_crop(rect, SPECTRUM_SIDE))?.try_clone()?
        };
        // Beside the face only reported: at work resolution, which is cheaper.
        let beside = beside_square(rect, grey.size()?).map(|r| Mat::roi(&grey, r).and_then(|m| m.try_clone())).transpose()?;
        let mut pyramid = std::mem::take(&mut self.spare_pyramid);
        print::flow_pyramid(&grey, &mut pyramid)?;
        let cues = screen::frame_cues(bgr, &grey, &pyramid.get(1)?, rect, &centre, beside.as_ref())?;
        let profiles = screen::row_profiles(&grey, rect)?;
        if let Some(prev) = &self.previous {
            if let Some(p) = print::planarity(&prev.pyramid, &pyramid, prev.face)? {
                self.planarity.push(p);
            }
            if let (Some(a), Some(b)) = (&prev.profiles, &profiles)
                && let Some(b) = screen::banding(a, b)?
            {
                self.banding.push(b);
            }
            if let Some(f) = follows(&prev.cues, prev.face, &cues, bbox) {
                self.follows.push(f);
            }
        }
        self.cues.push(cues);
        self.forget_previous();
        self.previous = Some(Previous { grey, pyramid, face: bbox, profiles, cues });
        Ok(())
    }

    /// Drops the previous frame, keeping its grey buffer for the next one.
    fn forget_previous(&mut self) {
        if let Some(previous) = self.previous.take() {
            self.spare_grey = previous.grey;
            self.spare_pyramid = previous.pyramid;
        }
    }

    pub fn verdict(&self) -> LivenessVerdict {
        let planarity = scored(median(&self.planarity), self.planarity.len(), MIN_MOVING_PAIRS, PLANARITY_RAMP);
        let deformation_value = print::landmark_deformation(&self.shapes);
        let landmark_deformation = scored(deformation_value, self.shapes.len(), MIN_FACE_FRAMES, DEFORMATION_RAMP);
        let of = |f: fn(&FrameCues) -> Option<f32>| -> Vec<f32> { self.cues.iter().filter_map(f).collect() };
        let moire = of(|c| Some(c.moire));
        let moire_peak = scored(median(&moire), moire.len(), MIN_FACE_FRAMES, MOIRE_RAMP);
        let beside = of(|c| c.moire_beside);
        let enclosed = of(|c| Some(if c.sides >= 3 { 1.0 } else { 0.0 }));
        let display_frame = scored(mean(&enclosed), enclosed.len(), MIN_FACE_FRAMES, FRAME_RAMP);
        let refresh_banding = scored(median(&self.banding), self.banding.len(), MIN_MOVING_PAIRS, BANDING_RAMP);
        let black = of(|c| Some(c.black_level));
        let black_level = scored(median(&black), black.len(), MIN_FACE_FRAMES, BLACK_RAMP);
        let white = of(|c| c.white_point_shift);
        let white_point_shift = scored(median(&white), white.len(), MIN_FACE_FRAMES, WHITE_POINT_RAMP);
        let glare_shares = of(|c| Some(c.glare_share));
        let glare_offsets: Vec<(f32, f32)> = self.cues.iter().filter(|c| c.glare_share >= GLARE_MIN_SHARE).filter_map(|c| c.glare_offset).collect();
        let reported = |value: Option<f32>, samples: usize| Signal { value, evidence: 0.0, samples };

        // A print: planar motion and a rigid landmark shape together (rigidity alone is
        // what a still real person shows). A screen: any emissive cue (noisy-or). A
        // reproduction of either kind: lifted blacks or a frame around the face.
        let rigid_plane = (planarity.evidence * landmark_deformation.evidence).sqrt();
        let emissive = 1.0 - (1.0 - moire_peak.evidence) * (1.0 - white_point_shift.evidence) * (1.0 - refresh_banding.evidence);
        let reproduction = 1.0 - (1.0 - black_level.evidence) * (1.0 - display_frame.evidence);
        let is_print = rigid_plane >= PRINT_KIND_MIN && rigid_plane >= emissive;
        let (print_score, screen_score) =
            if is_print { (rigid_plane.max(reproduction), emissive) } else { (rigid_plane, emissive.max(reproduction)) };
        let score = print_score.max(screen_score);
        let attack_suspected = score >= ATTACK_THRESHOLD;
        let attack_kind = attack_suspected.then_some(if is_print { AttackKind::Print } else { AttackKind::Screen });
        LivenessVerdict {
            frames_read: self.frames,
            faces_tracked: self.shapes.len(),
            attack_suspected,
            attack_kind,
            score,
            threshold: ATTACK_THRESHOLD,
            print_score,
            screen_score,
            signals: Signals {
                planarity,
                landmark_deformation,
                moire_peak,
                moire_beside: reported(median(&beside), beside.len()),
                display_frame,
                frame_follows_face: reported(mean(&self.follows), self.follows.len()),
                refresh_banding,
                black_level,
                white_point_shift,
                glare: reported(median(&glare_shares), glare_shares.len()),
                glare_drift: reported(spread(&glare_offsets), glare_offsets.len()),
            },
        }
    }
}

/// Whether the display frame's sides kept their place relative to the face between
/// two frames (1) or stayed while the face moved (0); `None` when the face did not
/// move enough or fewer than three sides are seen in both.
fn follows(prev: &FrameCues, prev_face: BoxF, next: &FrameCues, face: BoxF) -> Option<f32> {
    if prev.sides < 3 || next.sides < 3 {
        return None;
    }
    let (a, b) = (prev_face.centre(), face.centre());
    let width = face.width.max(1.0);
    let motion = ((b.x - a.x).powi(2) + (b.y - a.y).powi(2)).sqrt() / width;
    if motion < FOLLOW_MIN_MOTION {
        return None;
    }
    let shifts: Vec<f32> = prev.side_offsets.iter().zip(&next.side_offsets).filter(|(p, n)| !p.is_nan() && !n.is_nan()).map(|(p, n)| (p - n).abs()).collect();
    let shift = median(&shifts)?;
    Some(if shift < FOLLOW_SHARE * motion { 1.0 } else { 0.0 })
}

/// A square beside the face (right, else left), as large as the face's centre square,
/// when it fits in the frame.
fn beside_square(face: Rect, size: Size) -> Option<Rect> {
    let side = face.width.min(face.height).min(SPECTRUM_SIDE);
    let y = face.y + (face.height - side) / 2;
    let gap = face.width / 4;
    [face.x + face.width + gap, face.x - gap - side]
        .into_iter()
        .find(|&x| x >= 0 && x + side <= size.width && y >= 0 && y + side <= size.height && side >= 16)
        .map(|x| Rect::new(x, y, side, side))
}

/// A work-resolution rectangle cut from the frame as captured, in grey.
fn native_grey(frame: &Mat, r: Rect, scale: f32) -> Result<Mat, VisionError> {
    let (x, y) = ((r.x as f32 / scale) as i32, (r.y as f32 / scale) as i32);
    let native = Rect::new(x, y, ((r.width as f32 / scale) as i32).min(frame.cols() - x), ((r.height as f32 / scale) as i32).min(frame.rows() - y));
    let mut grey = Mat::default();
    imgproc::cvt_color_def(&Mat::roi(frame, native)?, &mut grey, imgproc::COLOR_BGR2GRAY)?;
    Ok(grey)
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

pub(crate) fn median(values: &[f32]) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    Some(v[v.len() / 2])
}

/// `bbox` grown by `margin` box sizes on every side, clipped to the image; `None`
/// when too little is left to analyse.
pub(crate) fn clip_rect(bbox: BoxF, margin: f32, size: Size) -> Option<Rect> {
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

fn mean(values: &[f32]) -> Option<f32> {
    (!values.is_empty()).then(|| values.iter().sum::<f32>() / values.len() as f32)
}

/// Root-mean-square distance of points from their mean; `None` for fewer than 3.
fn spread(points: &[(f32, f32)]) -> Option<f32> {
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f32;
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f32>() / n, points.iter().map(|p| p.1).sum::<f32>() / n);
    Some((points.iter().map(|p| (p.0 - mx).powi(2) + (p.1 - my).powi(2)).sum::<f32>() / n).sqrt())
}
