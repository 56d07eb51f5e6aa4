//! Faces followed through a video stream at a fraction of full detection's cost.
//! Enters: BGR frames in capture order. Leaves: the faces in each, as
//! [`FaceDetector::detect`] would give them (frame pixels, highest score first).
//!
//! - **Detection** runs on the frame scaled to [`DETECTION_WIDTH`]: the oval asks for
//!   a face at least a fifth of the frame wide (`min_fill` of the oval's width), which
//!   is 60+ pixels there, three times what YuNet needs.
//! - **Tracking** between detections runs the same network on a fixed
//!   [`TRACK_SIDE`]-pixel square cut around the last face (twice its size, so a head
//!   moving fast between two frames stays inside): a sixth of the pixels of a
//!   640×480 detection, with the same five landmarks (the quality gates and the
//!   liveness signals need them on every frame).
//! - Full detection again every [`DETECT_EVERY`] frames, and at once when the square
//!   no longer holds a face. Faces other than the followed one come from the last
//!   full detection: a second person who steps in is seen within that many frames.
//!
//! Each network keeps one input size, so OpenCV sets it up once (a new input size
//! costs a full re-allocation of its layers), and every buffer is reused.

use std::path::Path;

use opencv::core::{self, Mat, Rect, Scalar, Size};
use opencv::prelude::*;

use super::VisionError;
use super::face::{BoxF, Face, FaceDetector, Point};

/// Width frames are scaled to for full detection.
pub const DETECTION_WIDTH: u32 = 320;
/// Side of the square the followed face is looked for in (a multiple of 32).
pub const TRACK_SIDE: i32 = 192;
/// The square spans this many face sizes.
const TRACK_SPAN: f32 = 2.0;
/// Frames between full detections.
pub const DETECT_EVERY: u32 = 8;

pub struct FaceTracker {
    detector: FaceDetector,
    follower: FaceDetector,
    /// The face followed, and the other faces of the last full detection.
    last: Option<Face>,
    others: Vec<Face>,
    since_detection: u32,
    square: Mat,
    blocks: Mat,
    scaled: Mat,
    /// How many frames each way went: for benches and tests.
    pub detections: u64,
    pub tracked: u64,
}

impl FaceTracker {
    pub fn load(model: &Path, score_threshold: f32) -> Result<Self, VisionError> {
        Ok(Self {
            detector: FaceDetector::load(model, DETECTION_WIDTH, score_threshold)?,
            follower: FaceDetector::load(model, TRACK_SIDE as u32, score_threshold)?,
            last: None,
            others: Vec::new(),
            since_detection: 0,
            square: Mat::default(),
            blocks: Mat::default(),
            scaled: Mat::default(),
            detections: 0,
            tracked: 0,
        })
    }

    /// Forgets the face followed (a new session, a new clip).
    pub fn reset(&mut self) {
        self.last = None;
        self.others.clear();
        self.since_detection = 0;
    }

    /// The faces in the next frame of the stream.
    pub fn faces(&mut self, bgr: &Mat) -> Result<Vec<Face>, VisionError> {
        if let Some(last) = self.last.clone()
            && self.since_detection < DETECT_EVERY
            && let Some(face) = self.follow(bgr, &last)?
        {
            self.since_detection += 1;
            self.tracked += 1;
            self.last = Some(face.clone());
            let mut faces = vec![face];
            faces.extend(self.others.iter().cloned());
            return Ok(faces);
        }
        let faces = self.detector.detect(bgr)?;
        self.detections += 1;
        self.since_detection = 0;
        let primary = Face::most_prominent(&faces).cloned();
        self.others = faces.iter().filter(|f| Some(*f) != primary.as_ref()).cloned().collect();
        self.last = primary;
        Ok(faces)
    }

    /// The face in a square around `last`, in frame pixels; `None` when it is gone.
    fn follow(&mut self, bgr: &Mat, last: &Face) -> Result<Option<Face>, VisionError> {
        super::check_bgr(bgr)?;
        let centre = last.bbox.centre();
        let side = TRACK_SPAN * last.bbox.width.max(last.bbox.height);
        if side < 8.0 {
            return Ok(None);
        }
        let (x0, y0) = (centre.x - side / 2.0, centre.y - side / 2.0);
        let scale = TRACK_SIDE as f32 / side;
        // The part of the square inside the frame, and where it lands in the input.
        let frame = Rect::new(0, 0, bgr.cols(), bgr.rows());
        let wanted = Rect::new(x0.floor() as i32, y0.floor() as i32, side.ceil() as i32, side.ceil() as i32);
        let inside = wanted & frame;
        if inside.width < 8 || inside.height < 8 {
            return Ok(None);
        }
        let to = |v: i32, origin: f32| (((v as f32 - origin) * scale).round() as i32).clamp(0, TRACK_SIDE);
        let (dx0, dy0) = (to(inside.x, x0), to(inside.y, y0));
        let (dx1, dy1) = (to(inside.x + inside.width, x0), to(inside.y + inside.height, y0));
        if dx1 - dx0 < 4 || dy1 - dy0 < 4 {
            return Ok(None);
        }
        if self.square.empty() {
            self.square = Mat::new_size_with_default(Size::new(TRACK_SIDE, TRACK_SIDE), core::CV_8UC3, Scalar::all(0.0))?;
        } else {
            self.square.set_to_def(&Scalar::all(0.0))?;
        }
        let target = Size::new(dx1 - dx0, dy1 - dy0);
        let inside = super::shrink::resample_into(bgr, inside, target, &mut self.blocks, &mut self.scaled)?;
        self.scaled.copy_to(&mut Mat::roi_mut(&mut self.square, Rect::new(dx0, dy0, target.width, target.height))?)?;
        // Where the input's pixels are in the frame: the placed part's own scale, so
        // rounding at the frame's edge does not shift the face.
        let (sx, sy) = (inside.width as f32 / target.width as f32, inside.height as f32 / target.height as f32);
        let back = |p: Point| Point { x: inside.x as f32 + (p.x - dx0 as f32) * sx, y: inside.y as f32 + (p.y - dy0 as f32) * sy };
        let square = std::mem::take(&mut self.square);
        let found = self.follower.detect_padded(&square);
        self.square = square;
        // The one nearest the last face: another face near the subject is not swapped in.
        let best = found?
            .into_iter()
            .map(|f| {
                let (a, b) = (back(Point { x: f.bbox.x, y: f.bbox.y }), back(Point { x: f.bbox.x + f.bbox.width, y: f.bbox.y + f.bbox.height }));
                Face { bbox: BoxF { x: a.x, y: a.y, width: b.x - a.x, height: b.y - a.y }, landmarks: f.landmarks.map(back), score: f.score }
            })
            .max_by(|a, b| a.bbox.iou(&last.bbox).total_cmp(&b.bbox.iou(&last.bbox)));
        Ok(best.filter(|f| f.bbox.iou(&last.bbox) > 0.2))
    }
}
