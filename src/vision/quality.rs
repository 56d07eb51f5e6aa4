//! Face quality gates: is there exactly one face, inside the oval, big enough,
//! facing the camera, sharp and well lit? Each gate has a measured figure and a
//! configurable threshold, so a decision can say what was measured against what.

use opencv::core::{self, Mat, Rect, Size};
use opencv::imgproc;
use opencv::prelude::*;
use serde::{Deserialize, Serialize};

use super::VisionError;
use super::face::Face;

/// The on-screen oval, as fractions of the frame: centre and full axes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Oval {
    pub centre_x: f32,
    pub centre_y: f32,
    pub width: f32,
    pub height: f32,
}

impl Default for Oval {
    fn default() -> Self {
        Self { centre_x: 0.5, centre_y: 0.45, width: 0.36, height: 0.64 }
    }
}

impl Oval {
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (field, v) in [("face.oval.centre_x", self.centre_x), ("face.oval.centre_y", self.centre_y)] {
            if !(0.0..=1.0).contains(&v) {
                out.push((field, format!("{v} is outside 0..=1 (a fraction of the frame)")));
            }
        }
        for (field, v) in [("face.oval.width", self.width), ("face.oval.height", self.height)] {
            if !(v > 0.05 && v <= 1.0) {
                out.push((field, format!("{v} is outside 0.05..=1 (a fraction of the frame)")));
            }
        }
        out
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct QualityThresholds {
    /// Face width as a fraction of the oval's width.
    pub min_fill: f32,
    pub max_fill: f32,
    /// Face centre's distance from the oval centre, in units of the oval's half-axes.
    pub max_centre_offset: f32,
    /// |nose offset from the eye midpoint| / eye distance; 0 is frontal.
    pub max_yaw: f32,
    pub max_roll_degrees: f32,
    /// Variance of the Laplacian of the face scaled to 128 px wide.
    pub min_sharpness: f32,
    /// Mean grey level (0–255) of the face.
    pub min_brightness: f32,
    pub max_brightness: f32,
}

impl Default for QualityThresholds {
    fn default() -> Self {
        Self {
            min_fill: 0.55,
            max_fill: 1.15,
            max_centre_offset: 0.3,
            max_yaw: 0.25,
            max_roll_degrees: 15.0,
            min_sharpness: 40.0,
            min_brightness: 60.0,
            max_brightness: 210.0,
        }
    }
}

impl QualityThresholds {
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(self.min_fill > 0.0 && self.min_fill < self.max_fill) {
            out.push(("face.gates.min_fill", "must be above 0 and below max_fill".to_string()));
        }
        if !(self.min_brightness >= 0.0 && self.min_brightness < self.max_brightness && self.max_brightness <= 255.0) {
            out.push(("face.gates.min_brightness", "need 0 <= min_brightness < max_brightness <= 255".to_string()));
        }
        for (field, v) in [
            ("face.gates.max_centre_offset", self.max_centre_offset),
            ("face.gates.max_yaw", self.max_yaw),
            ("face.gates.max_roll_degrees", self.max_roll_degrees),
            ("face.gates.min_sharpness", self.min_sharpness),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                out.push((field, format!("{v} must be a non-negative number")));
            }
        }
        out
    }
}

/// A gate that does not hold, in the order the subject should fix them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    NoFace,
    MultipleFaces,
    TooDark,
    TooBright,
    NotCentred,
    TooFar,
    TooClose,
    NotFrontal,
    Blurry,
}

/// What was measured on the primary face.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct FaceMeasures {
    pub score: f32,
    pub fill: f32,
    pub centre_offset: f32,
    pub yaw: f32,
    pub roll_degrees: f32,
    /// Nose position between the eye line (0) and the mouth line (1).
    pub pitch: f32,
    pub sharpness: f32,
    pub brightness: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Assessment {
    /// Faces that count (a face far smaller than the primary, e.g. on a poster
    /// behind the subject, does not).
    pub faces: usize,
    pub primary: Option<Face>,
    pub measures: Option<FaceMeasures>,
    pub failing: Vec<Gate>,
}

impl Assessment {
    pub fn passed(&self) -> bool {
        self.failing.is_empty()
    }
}

/// A second face at least this tall relative to the primary counts as a person.
const SECOND_FACE_MIN_RELATIVE_HEIGHT: f32 = 0.3;
const SHARPNESS_WIDTH: i32 = 128;

pub fn assess(bgr: &Mat, faces: &[Face], oval: &Oval, t: &QualityThresholds) -> Result<Assessment, VisionError> {
    let Some(primary) = Face::most_prominent(faces).cloned() else {
        return Ok(Assessment { faces: 0, primary: None, measures: None, failing: vec![Gate::NoFace] });
    };
    let counted =
        faces.iter().filter(|f| f.bbox.height >= primary.bbox.height * SECOND_FACE_MIN_RELATIVE_HEIGHT).count();
    let (w, h) = (bgr.cols() as f32, bgr.rows() as f32);
    let Some((sharpness, brightness)) = texture_measures(bgr, &primary)? else {
        return Ok(Assessment { faces: 0, primary: None, measures: None, failing: vec![Gate::NoFace] });
    };
    let (yaw, roll_degrees, pitch) = pose(&primary);
    let (ox, oy, half_a, half_b) = (oval.centre_x * w, oval.centre_y * h, oval.width * w / 2.0, oval.height * h / 2.0);
    let c = primary.bbox.centre();
    let centre_offset = (((c.x - ox) / half_a).powi(2) + ((c.y - oy) / half_b).powi(2)).sqrt();
    let fill = primary.bbox.width / (2.0 * half_a);
    let measures =
        FaceMeasures { score: primary.score, fill, centre_offset, yaw, roll_degrees, pitch, sharpness, brightness };

    let mut failing = Vec::new();
    if counted > 1 {
        failing.push(Gate::MultipleFaces);
    }
    if brightness < t.min_brightness {
        failing.push(Gate::TooDark);
    }
    if brightness > t.max_brightness {
        failing.push(Gate::TooBright);
    }
    if centre_offset > t.max_centre_offset {
        failing.push(Gate::NotCentred);
    }
    if fill < t.min_fill {
        failing.push(Gate::TooFar);
    }
    if fill > t.max_fill {
        failing.push(Gate::TooClose);
    }
    if yaw.abs() > t.max_yaw || roll_degrees.abs() > t.max_roll_degrees {
        failing.push(Gate::NotFrontal);
    }
    if sharpness < t.min_sharpness {
        failing.push(Gate::Blurry);
    }
    Ok(Assessment { faces: counted, primary: Some(primary), measures: Some(measures), failing })
}

/// Yaw (nose offset along the eye line / eye distance), roll (degrees of the eye
/// line) and pitch (nose between eye line and mouth line), from the five landmarks.
pub fn pose(face: &Face) -> (f32, f32, f32) {
    let (re, le, nose, mouth) = (face.right_eye(), face.left_eye(), face.nose(), face.mouth_centre());
    let (ex, ey) = (le.x - re.x, le.y - re.y);
    let eye_distance = (ex * ex + ey * ey).sqrt().max(1e-3);
    let (ux, uy) = (ex / eye_distance, ey / eye_distance);
    let mid = ((re.x + le.x) / 2.0, (re.y + le.y) / 2.0);
    let (nx, ny) = (nose.x - mid.0, nose.y - mid.1);
    let yaw = (nx * ux + ny * uy) / eye_distance;
    let roll = ey.atan2(ex).to_degrees();
    // Perpendicular components (pointing down the face).
    let nose_down = -nx * uy + ny * ux;
    let (mx, my) = (mouth.x - mid.0, mouth.y - mid.1);
    let mouth_down = (-mx * uy + my * ux).max(1e-3);
    (yaw, roll, nose_down / mouth_down)
}

/// Texture of the two eye regions relative to the whole face: open eyes (iris,
/// lashes, the white) are busy, closed lids are smooth skin.
pub fn eye_openness(bgr: &Mat, face: &Face) -> Result<f32, VisionError> {
    let frame = Rect::new(0, 0, bgr.cols(), bgr.rows());
    let (re, le) = (face.right_eye(), face.left_eye());
    let eye_distance = ((le.x - re.x).powi(2) + (le.y - re.y).powi(2)).sqrt();
    let side = (0.35 * eye_distance).round().max(4.0) as i32;
    let spread = |rect: Rect| -> Result<f32, VisionError> {
        let rect = rect & frame;
        if rect.width < 3 || rect.height < 3 {
            return Ok(0.0);
        }
        let mut gray = Mat::default();
        imgproc::cvt_color_def(&Mat::roi(bgr, rect)?, &mut gray, imgproc::COLOR_BGR2GRAY)?;
        let (mut mean, mut sd) = (Mat::default(), Mat::default());
        core::mean_std_dev_def(&gray, &mut mean, &mut sd)?;
        Ok(*sd.at::<f64>(0)? as f32)
    };
    let patch = |p: super::face::Point| Rect::new(p.x as i32 - side / 2, p.y as i32 - side / 2, side, side);
    let b = face.bbox;
    let whole = spread(Rect::new(b.x as i32, b.y as i32, b.width as i32, b.height as i32))?;
    Ok((spread(patch(re))? + spread(patch(le))?) / 2.0 / whole.max(1.0))
}

/// Mean colour (BGR) of the inner face, where the kiosk's light falls.
pub fn face_colour(bgr: &Mat, face: &Face) -> Result<[f32; 3], VisionError> {
    let b = face.bbox;
    let inner = Rect::new((b.x + b.width * 0.2) as i32, (b.y + b.height * 0.2) as i32, (b.width * 0.6) as i32, (b.height * 0.6) as i32)
        & Rect::new(0, 0, bgr.cols(), bgr.rows());
    if inner.width < 2 || inner.height < 2 {
        return Err(VisionError::BadImage("face region outside the frame".into()));
    }
    let m = core::mean_def(&Mat::roi(bgr, inner)?)?;
    Ok([m[0] as f32, m[1] as f32, m[2] as f32])
}

/// Nose-to-eye-line distance over the eye distance. Scaling a flat picture keeps
/// it; a real head coming closer changes it (its nose is nearer the lens).
pub fn depth_shape(face: &Face) -> f32 {
    let (re, le, nose) = (face.right_eye(), face.left_eye(), face.nose());
    let eye_distance = ((le.x - re.x).powi(2) + (le.y - re.y).powi(2)).sqrt().max(1e-3);
    let mid = ((re.x + le.x) / 2.0, (re.y + le.y) / 2.0);
    ((nose.x - mid.0).powi(2) + (nose.y - mid.1).powi(2)).sqrt() / eye_distance
}

/// Sharpness and brightness of the face region, or `None` if the box lies outside.
fn texture_measures(bgr: &Mat, face: &Face) -> Result<Option<(f32, f32)>, VisionError> {
    let frame = Rect::new(0, 0, bgr.cols(), bgr.rows());
    let b = face.bbox;
    let rect = Rect::new(b.x.round() as i32, b.y.round() as i32, b.width.round() as i32, b.height.round() as i32) & frame;
    if rect.width < 8 || rect.height < 8 {
        return Ok(None);
    }
    let roi = Mat::roi(bgr, rect)?;
    let mut gray = Mat::default();
    imgproc::cvt_color_def(&roi, &mut gray, imgproc::COLOR_BGR2GRAY)?;
    let brightness = core::mean_def(&gray)?[0] as f32;
    // A fixed width makes sharpness comparable between near and far faces.
    let height = (rect.height as f32 * SHARPNESS_WIDTH as f32 / rect.width as f32).round().max(8.0) as i32;
    let mut small = Mat::default();
    imgproc::resize(&gray, &mut small, Size::new(SHARPNESS_WIDTH, height), 0.0, 0.0, imgproc::INTER_AREA)?;
    let mut laplacian = Mat::default();
    imgproc::laplacian_def(&small, &mut laplacian, core::CV_64F)?;
    let (mut mean, mut stddev) = (Mat::default(), Mat::default());
    core::mean_std_dev_def(&laplacian, &mut mean, &mut stddev)?;
    let sd = *stddev.at::<f64>(0)? as f32;
    Ok(Some((sd * sd, brightness)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::face::{BoxF, Point};

    fn frontal_face() -> Face {
        Face {
            bbox: BoxF { x: 100.0, y: 100.0, width: 100.0, height: 120.0 },
            landmarks: [
                Point { x: 130.0, y: 150.0 },
                Point { x: 170.0, y: 150.0 },
                Point { x: 150.0, y: 175.0 },
                Point { x: 135.0, y: 195.0 },
                Point { x: 165.0, y: 195.0 },
            ],
            score: 0.9,
        }
    }

    #[test]
    fn pose_of_a_frontal_face_is_near_zero_and_turning_shows_as_yaw() {
        let (yaw, roll, pitch) = pose(&frontal_face());
        assert!(yaw.abs() < 1e-4 && roll.abs() < 1e-4, "{yaw} {roll}");
        assert!((pitch - 25.0 / 45.0).abs() < 1e-3, "{pitch}");
        let mut turned = frontal_face();
        turned.landmarks[2].x += 16.0;
        assert!((pose(&turned).0 - 0.4).abs() < 1e-4);
    }

    #[test]
    fn gates_report_a_missing_face_first() {
        let frame = Mat::new_rows_cols_with_default(240, 320, core::CV_8UC3, core::Scalar::all(128.0)).unwrap();
        let a = assess(&frame, &[], &Oval::default(), &QualityThresholds::default()).unwrap();
        assert_eq!(a.failing, vec![Gate::NoFace]);
    }

    #[test]
    fn flat_grey_face_region_is_blurry_and_a_small_face_is_too_far() {
        let frame = Mat::new_rows_cols_with_default(480, 640, core::CV_8UC3, core::Scalar::all(128.0)).unwrap();
        let mut face = frontal_face();
        face.bbox = BoxF { x: 300.0, y: 196.0, width: 40.0, height: 48.0 };
        let a = assess(&frame, &[face], &Oval::default(), &QualityThresholds::default()).unwrap();
        assert!(a.failing.contains(&Gate::Blurry), "{a:?}");
        assert!(a.failing.contains(&Gate::TooFar), "{a:?}");
        assert!(!a.failing.contains(&Gate::TooDark));
    }
}
