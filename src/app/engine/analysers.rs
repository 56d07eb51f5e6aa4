//! What the engine asks of a frame, one small trait a concern: finding faces, measuring
//! them, embedding them, judging presentation attacks, and finding and reading documents.
//! Production passes the OpenCV/Tesseract analysers below, unchanged behind the traits;
//! the engine's tests pass fakes that load no model (see `tests.rs`), the way
//! moonfire-nvr's streamer takes an `Opener` and its tests a `MockOpener`.
//! Nothing here decides: the session machine does.

#![deny(missing_docs)]

use opencv::core::{Mat, Rect};
use opencv::prelude::*;

use crate::identity::{Date, FrontFields, Mrz};
use crate::session::liveness::Observation;
use crate::vision::document::{self, DocumentShape, Located, Readability};
use crate::vision::quality::{self, Assessment, FaceMeasures, Oval, QualityThresholds};
use crate::vision::reader::{DocumentReader, FrontLines, SideRead};
use crate::vision::{Embedding, Face, FaceDetector, FaceEmbedder, FaceTracker, LivenessAnalyser, LivenessVerdict, VisionError};

/// Finds faces in a frame.
pub trait FaceFinder: Send {
    /// Faces in a still: a flash frame, a document's portrait, whoever holds the document.
    fn detect(&mut self, image: &Mat) -> Result<Vec<Face>, VisionError>;
    /// Faces in the live stream, followed from frame to frame.
    fn track(&mut self, image: &Mat) -> Result<Vec<Face>, VisionError>;
    /// A new session: nothing followed from the last one.
    fn reset(&mut self);
}

/// Measures the faces found: the quality gates, the pose a challenge judges, and the
/// face's colour under the kiosk's flash.
pub trait FaceMeasurer: Send {
    /// The primary face among `faces` measured against the quality gates.
    fn assess(&self, image: &Mat, faces: &[Face], oval: &Oval, gates: &QualityThresholds) -> Result<Assessment, VisionError>;
    /// What a challenge judge needs from one frame.
    fn observe(&self, image: &Mat, face: &Face, measures: &FaceMeasures) -> Result<Observation, VisionError>;
    /// The face's mean colour, and its surroundings' when they can be measured.
    fn flash_colours(&self, image: &Mat, face: &Face) -> Result<([f32; 3], Option<[f32; 3]>), VisionError>;
}

/// A challenge judge's view of a face: its measured pose and size, where it is, and the
/// two cues measured apart (how open the eyes are, the perspective shape).
pub(super) fn observation(face: &Face, m: &FaceMeasures, eye_openness: f32, depth_shape: f32) -> Observation {
    let centre = face.bbox.centre();
    Observation { yaw: m.yaw, pitch: m.pitch, fill: m.fill, eye_openness, depth_shape, centre: (centre.x, centre.y), width: face.bbox.width }
}

/// Turns a face into an embedding, to tell whether two faces are one person.
pub trait FaceEmbedding: Send {
    /// The embedding of `face`, found in `image`.
    fn embed(&mut self, image: &Mat, face: &Face) -> Result<Embedding, VisionError>;
}

/// The passive presentation-attack analysis of one session's face frames.
pub trait PassiveLiveness: Send {
    /// One frame and the face found in it, if any.
    fn push(&mut self, image: &Mat, face: Option<&Face>) -> Result<(), VisionError>;
    /// What the frames so far add up to.
    fn verdict(&self) -> LivenessVerdict;
}

/// Finds a document in a frame and reads it.
pub trait DocumentAnalysis: Send {
    /// The document's outline and its flattened image, if one is in view.
    fn locate(&mut self, image: &Mat) -> Result<Option<Located>, VisionError>;
    /// Sharpness and glare of a whole flattened document.
    fn readability(&mut self, rectified: &Mat) -> Result<Readability, VisionError>;
    /// Reads one flattened side, judged on the day `on`.
    fn read(&mut self, rectified: &Mat, shape: DocumentShape, on: Date) -> Result<SideRead, VisionError>;
    /// Checks the printed names of a front against its back's MRZ.
    fn reconcile(&mut self, front: &mut FrontFields, lines: &FrontLines, mrz: &Mrz) -> Result<(), VisionError>;
}

/// Every analyser the engine runs, each behind its trait.
pub struct Analysers {
    /// Faces in the stream and in stills.
    pub faces: Box<dyn FaceFinder>,
    /// Quality gates, challenge poses, flash colours.
    pub measures: Box<dyn FaceMeasurer>,
    /// Who a face is.
    pub embedder: Box<dyn FaceEmbedding>,
    /// The document: found, flattened, read.
    pub documents: Box<dyn DocumentAnalysis>,
    /// A fresh passive analysis for every session.
    pub passive: Box<dyn Fn() -> Box<dyn PassiveLiveness> + Send>,
}

impl Analysers {
    /// The production analysers: YuNet (detected and tracked), the face quality
    /// measures, the face embedder, the passive cues and the document reader.
    pub fn opencv(detector: FaceDetector, tracker: FaceTracker, embedder: FaceEmbedder, documents: DocumentReader) -> Self {
        Analysers {
            faces: Box::new(YuNet { detector, tracker }),
            measures: Box::new(QualityMeasures),
            embedder: Box::new(embedder),
            documents: Box::new(documents),
            passive: Box::new(|| Box::new(LivenessAnalyser::new())),
        }
    }
}

/// YuNet twice: a detector for stills, a tracker for the live stream.
struct YuNet {
    detector: FaceDetector,
    tracker: FaceTracker,
}

impl FaceFinder for YuNet {
    fn detect(&mut self, image: &Mat) -> Result<Vec<Face>, VisionError> {
        self.detector.detect(image)
    }

    fn track(&mut self, image: &Mat) -> Result<Vec<Face>, VisionError> {
        self.tracker.faces(image)
    }

    fn reset(&mut self) {
        self.tracker.reset();
    }
}

/// `vision::quality` and the screen-reflection colours.
struct QualityMeasures;

impl FaceMeasurer for QualityMeasures {
    fn assess(&self, image: &Mat, faces: &[Face], oval: &Oval, gates: &QualityThresholds) -> Result<Assessment, VisionError> {
        quality::assess(image, faces, oval, gates)
    }

    fn observe(&self, image: &Mat, face: &Face, m: &FaceMeasures) -> Result<Observation, VisionError> {
        Ok(observation(face, m, quality::eye_openness(image, face)?, quality::depth_shape(face)))
    }

    fn flash_colours(&self, image: &Mat, face: &Face) -> Result<([f32; 3], Option<[f32; 3]>), VisionError> {
        Ok((quality::face_colour(image, face)?, crate::vision::liveness::screen::surround_colour(image, face)?))
    }
}

impl FaceEmbedding for FaceEmbedder {
    fn embed(&mut self, image: &Mat, face: &Face) -> Result<Embedding, VisionError> {
        FaceEmbedder::embed(self, image, face)
    }
}

impl PassiveLiveness for LivenessAnalyser {
    fn push(&mut self, image: &Mat, face: Option<&Face>) -> Result<(), VisionError> {
        LivenessAnalyser::push(self, image, face)
    }

    fn verdict(&self) -> LivenessVerdict {
        LivenessAnalyser::verdict(self)
    }
}

impl DocumentAnalysis for DocumentReader {
    fn locate(&mut self, image: &Mat) -> Result<Option<Located>, VisionError> {
        document::locate(image)
    }

    fn readability(&mut self, rectified: &Mat) -> Result<Readability, VisionError> {
        document::readability(rectified, Rect::new(0, 0, rectified.cols(), rectified.rows()))
    }

    fn read(&mut self, rectified: &Mat, shape: DocumentShape, on: Date) -> Result<SideRead, VisionError> {
        self.read_flattened(rectified, shape, on)
    }

    fn reconcile(&mut self, front: &mut FrontFields, lines: &FrontLines, mrz: &Mrz) -> Result<(), VisionError> {
        DocumentReader::reconcile(self, front, lines, mrz)
    }
}
