//! Face detection with YuNet (2023mar) through OpenCV dnn.
//!
//! OpenCV 4.6's `FaceDetectorYN` cannot run the 2023mar graph, so the network is run
//! with `readNetFromONNX` and its outputs decoded here, as OpenCV 5 does: for each
//! stride s ∈ {8, 16, 32} and grid cell (row, col), score = √(cls·obj),
//! centre = (col + dx, row + dy)·s, size = exp(dw, dh)·s, landmark k =
//! (col + kx, row + ky)·s; then non-maximum suppression.

use std::path::Path;

use opencv::core::{self, Mat, Rect, Scalar, Size, Vector};
use opencv::prelude::*;
use opencv::dnn;
use serde::Serialize;

use super::VisionError;

const STRIDES: [i32; 3] = [8, 16, 32];
const NMS_IOU: f32 = 0.3;

/// A point in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, Default)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// An axis-aligned box in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, Default)]
pub struct BoxF {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl BoxF {
    pub fn centre(&self) -> Point {
        Point { x: self.x + self.width / 2.0, y: self.y + self.height / 2.0 }
    }

    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    pub fn iou(&self, other: &BoxF) -> f32 {
        let x1 = self.x.max(other.x);
        let y1 = self.y.max(other.y);
        let x2 = (self.x + self.width).min(other.x + other.width);
        let y2 = (self.y + self.height).min(other.y + other.height);
        let inter = (x2 - x1).max(0.0) * (y2 - y1).max(0.0);
        let union = self.area() + other.area() - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}

/// One detected face. Landmarks, in image order: right eye, left eye (of the
/// subject), nose tip, right and left mouth corners.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Face {
    pub bbox: BoxF,
    pub landmarks: [Point; 5],
    pub score: f32,
}

impl Face {
    pub fn right_eye(&self) -> Point {
        self.landmarks[0]
    }
    pub fn left_eye(&self) -> Point {
        self.landmarks[1]
    }
    pub fn nose(&self) -> Point {
        self.landmarks[2]
    }
    pub fn mouth_centre(&self) -> Point {
        let (a, b) = (self.landmarks[3], self.landmarks[4]);
        Point { x: (a.x + b.x) / 2.0, y: (a.y + b.y) / 2.0 }
    }

    /// The face a still image is about: the largest box (a face on a badge or a
    /// poster behind the subject is smaller).
    pub fn most_prominent<'a>(faces: impl IntoIterator<Item = &'a Face>) -> Option<&'a Face> {
        faces.into_iter().max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
    }
}

pub struct FaceDetector {
    net: dnn::Net,
    output_names: Vector<String>,
    /// Frames wider than this are scaled down for detection.
    detection_width: i32,
    score_threshold: f32,
    /// Reused from frame to frame: at a steady frame size nothing is allocated.
    scaled: Mat,
    blocks: Mat,
    padded: Mat,
    blob: Mat,
    outputs: Vector<Mat>,
}

impl FaceDetector {
    pub fn load(model: &Path, detection_width: u32, score_threshold: f32) -> Result<Self, VisionError> {
        let path = super::model_path(model)?;
        let mut net = dnn::read_net_from_onnx(path)
            .map_err(|e| VisionError::Model { path: path.into(), reason: e.message.clone() })?;
        net.set_preferable_backend(dnn::DNN_BACKEND_OPENCV)?;
        net.set_preferable_target(dnn::DNN_TARGET_CPU)?;
        let names: Vec<String> =
            ["cls", "obj", "bbox", "kps"].iter().flat_map(|kind| STRIDES.iter().map(move |s| format!("{kind}_{s}"))).collect();
        let output_names = names.iter().map(String::as_str).collect();
        Ok(Self {
            net,
            output_names,
            detection_width: detection_width as i32,
            score_threshold,
            scaled: Mat::default(),
            blocks: Mat::default(),
            padded: Mat::default(),
            blob: Mat::default(),
            outputs: Vector::new(),
        })
    }

    pub fn score_threshold(&self) -> f32 {
        self.score_threshold
    }

    /// Faces in a BGR image, highest score first.
    pub fn detect(&mut self, bgr: &Mat) -> Result<Vec<Face>, VisionError> {
        super::check_bgr(bgr)?;
        let (cols, rows) = (bgr.cols(), bgr.rows());
        let scale = if cols > self.detection_width { self.detection_width as f32 / cols as f32 } else { 1.0 };
        let scaled_size = Size::new(((cols as f32) * scale).round() as i32, ((rows as f32) * scale).round() as i32);
        // The network wants dimensions that are multiples of 32: pad right and bottom.
        let padded_size = Size::new(round_up_32(scaled_size.width), round_up_32(scaled_size.height));
        // The part of the image shrunk, and its pixels per detection pixel on each axis.
        let (mut sx, mut sy) = (1.0, 1.0);
        if scale < 1.0 {
            let whole = Rect::new(0, 0, cols, rows);
            let used = super::shrink::resample_into(bgr, whole, scaled_size, &mut self.blocks, &mut self.scaled)?;
            (sx, sy) = (used.width as f32 / scaled_size.width as f32, used.height as f32 / scaled_size.height as f32);
        }
        let input: &Mat = if scale < 1.0 { &self.scaled } else { bgr };
        core::copy_make_border(
            input,
            &mut self.padded,
            0,
            padded_size.height - scaled_size.height,
            0,
            padded_size.width - scaled_size.width,
            core::BORDER_CONSTANT,
            Scalar::all(0.0),
        )?;
        let padded = std::mem::take(&mut self.padded);
        let faces = self.detect_padded(&padded);
        self.padded = padded;
        let mut faces = faces?;
        for face in &mut faces {
            unscale(face, sx, sy);
        }
        Ok(faces)
    }

    /// Faces in a BGR image whose sides are already multiples of 32, in its pixels.
    /// Keep the size fixed from call to call: the network is set up again for every
    /// new input size.
    pub fn detect_padded(&mut self, padded: &Mat) -> Result<Vec<Face>, VisionError> {
        super::check_bgr(padded)?;
        let size = padded.size()?;
        if size.width % 32 != 0 || size.height % 32 != 0 {
            return Err(VisionError::BadImage(format!("{}x{}: sides must be multiples of 32", size.width, size.height)));
        }
        dnn::blob_from_image_to(padded, &mut self.blob, 1.0, size, Scalar::all(0.0), false, false, core::CV_32F)?;
        self.net.set_input(&self.blob, "", 1.0, Scalar::all(0.0))?;
        self.net.forward(&mut self.outputs, &self.output_names)?;
        let candidates = decode(&self.outputs, size, self.score_threshold)?;
        Ok(non_max_suppression(candidates, NMS_IOU))
    }
}

fn round_up_32(v: i32) -> i32 {
    (v + 31) / 32 * 32
}

fn decode(outputs: &Vector<Mat>, input: Size, threshold: f32) -> Result<Vec<Face>, VisionError> {
    let n = STRIDES.len();
    let mut faces = Vec::new();
    for (i, stride) in STRIDES.iter().enumerate() {
        let cls = outputs.get(i)?;
        let obj = outputs.get(n + i)?;
        let bbox = outputs.get(2 * n + i)?;
        let kps = outputs.get(3 * n + i)?;
        let (cls, obj, bbox, kps) =
            (cls.data_typed::<f32>()?, obj.data_typed::<f32>()?, bbox.data_typed::<f32>()?, kps.data_typed::<f32>()?);
        let grid_cols = input.width / stride;
        let grid_rows = input.height / stride;
        let cells = (grid_cols * grid_rows) as usize;
        if cls.len() < cells || obj.len() < cells || bbox.len() < cells * 4 || kps.len() < cells * 10 {
            return Err(VisionError::BadModelOutput(format!("stride {stride}: output smaller than the grid")));
        }
        let s = *stride as f32;
        for idx in 0..cells {
            let score = (cls[idx].clamp(0.0, 1.0) * obj[idx].clamp(0.0, 1.0)).sqrt();
            if score < threshold {
                continue;
            }
            let col = (idx as i32 % grid_cols) as f32;
            let row = (idx as i32 / grid_cols) as f32;
            let b = &bbox[idx * 4..idx * 4 + 4];
            let (cx, cy) = ((col + b[0]) * s, (row + b[1]) * s);
            let (w, h) = (b[2].exp() * s, b[3].exp() * s);
            let k = &kps[idx * 10..idx * 10 + 10];
            let landmarks = std::array::from_fn(|j| Point { x: (col + k[2 * j]) * s, y: (row + k[2 * j + 1]) * s });
            faces.push(Face { bbox: BoxF { x: cx - w / 2.0, y: cy - h / 2.0, width: w, height: h }, landmarks, score });
        }
    }
    Ok(faces)
}

fn non_max_suppression(mut candidates: Vec<Face>, iou: f32) -> Vec<Face> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Face> = Vec::new();
    for c in candidates {
        if kept.iter().all(|k| k.bbox.iou(&c.bbox) <= iou) {
            kept.push(c);
        }
    }
    kept
}

/// A face found on a shrunk copy, in the image's pixels: `sx` and `sy` image pixels
/// per copy pixel.
pub(crate) fn unscale(face: &mut Face, sx: f32, sy: f32) {
    face.bbox = BoxF { x: face.bbox.x * sx, y: face.bbox.y * sy, width: face.bbox.width * sx, height: face.bbox.height * sy };
    for p in &mut face.landmarks {
        *p = Point { x: p.x * sx, y: p.y * sy };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, score: f32) -> Face {
        Face { bbox: BoxF { x, y: 0.0, width: 10.0, height: 10.0 }, landmarks: [Point::default(); 5], score }
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes_and_all_separate_ones() {
        let kept = non_max_suppression(vec![face(0.0, 0.8), face(1.0, 0.9), face(50.0, 0.7)], 0.3);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        assert_eq!(kept[1].bbox.x, 50.0);
    }
}
