//! Stage 1, capture. Enters: a source spec (V4L2 camera, file, GStreamer description).
//! Leaves: BGR frames in a one-slot [`mailbox::Mailbox`] (old frames are dropped, the
//! pipeline never blocks) and a [`CameraStatus`] for the status page. Never analyses.
//! The lockstep test camera alone hands every frame over and waits for it to be taken.

pub mod clip;
pub mod devices;
pub mod mailbox;
pub mod pipeline;
pub mod preview;

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use opencv::core::{CV_8UC3, Mat};
use serde::Serialize;

pub use mailbox::Mailbox;
pub use pipeline::{CameraFormat, CameraStatus, CaptureSupervisor, PipelineSettings};
pub use preview::Preview;

/// Where frames come from, as written in the config or `--source`; parsed once,
/// where the config is read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum SourceSpec {
    /// A real camera, e.g. `v4l2:/dev/video0`.
    V4l2(String),
    /// A file GStreamer can decode (demo and tests).
    File(String),
    /// A GStreamer source bin description, e.g. `videotestsrc pattern=ball`.
    Gst(String),
    /// The test camera: a GStreamer source bin description that a test drives like a
    /// subject in front of a camera (it follows the prompts). Its results may be
    /// `verified`, so the config accepts it only when the daemon is started by the
    /// test suite (`IDVERIFD_TEST_CAMERA=1`, checked by the config), never from a config alone.
    Test(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceSpecError {
    #[error("{0:?} has no scheme; write v4l2:/dev/videoN, file:PATH or gst:DESCRIPTION")]
    NoScheme(String),
    #[error("unknown scheme {0:?}; write v4l2:/dev/videoN, file:PATH or gst:DESCRIPTION")]
    UnknownScheme(String),
    #[error("{0}: nothing after the scheme")]
    Empty(&'static str),
}

impl FromStr for SourceSpec {
    type Err = SourceSpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = s.split_once(':').ok_or_else(|| SourceSpecError::NoScheme(s.to_string()))?;
        let rest = rest.trim();
        let spec = match scheme {
            "v4l2" => SourceSpec::V4l2(rest.to_string()),
            "file" => SourceSpec::File(rest.to_string()),
            "gst" => SourceSpec::Gst(rest.to_string()),
            "test" => SourceSpec::Test(rest.to_string()),
            other => return Err(SourceSpecError::UnknownScheme(other.to_string())),
        };
        if rest.is_empty() {
            return Err(SourceSpecError::Empty(match spec {
                SourceSpec::V4l2(_) => "v4l2",
                SourceSpec::File(_) => "file",
                SourceSpec::Gst(_) => "gst",
                SourceSpec::Test(_) => "test",
            }));
        }
        Ok(spec)
    }
}

impl TryFrom<String> for SourceSpec {
    type Error = SourceSpecError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<SourceSpec> for String {
    fn from(spec: SourceSpec) -> String {
        spec.to_string()
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::V4l2(d) => write!(f, "v4l2:{d}"),
            SourceSpec::File(p) => write!(f, "file:{p}"),
            SourceSpec::Gst(d) => write!(f, "gst:{d}"),
            SourceSpec::Test(d) => write!(f, "test:{d}"),
        }
    }
}

impl SourceSpec {
    /// Replayed sources are video injected by definition (the test camera too).
    pub fn is_replay(&self) -> bool {
        !matches!(self, SourceSpec::V4l2(_))
    }

    /// Whether results from this source are marked `replayed_source`, never `verified`:
    /// every replay but the test camera, which exists to reach `verified` in tests.
    pub fn results_marked_replayed(&self) -> bool {
        self.is_replay() && !matches!(self, SourceSpec::Test(_))
    }

    /// How results describe the camera: `v4l2`, `replay` or `test`.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceSpec::V4l2(_) => "v4l2",
            SourceSpec::File(_) | SourceSpec::Gst(_) => "replay",
            SourceSpec::Test(_) => "test",
        }
    }
}

/// Who the camera is, as recorded in every signed result.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct CameraIdentity {
    pub kind: String,
    pub source: String,
    pub driver: Option<String>,
    pub card: Option<String>,
    pub bus: Option<String>,
}

/// One decoded BGR frame. The pixels stay in the GStreamer buffer; [`Frame::with_mat`]
/// lends them to OpenCV without a copy, honouring the row stride.
pub struct Frame {
    pub seq: u64,
    pub arrived: Instant,
    /// The buffer's presentation timestamp: the frame's own time in its stream (the
    /// lockstep test camera's session clock), when the source set one.
    pub pts: Option<std::time::Duration>,
    video: gst_video::VideoFrame<gst_video::video_frame::Readable>,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame").field("seq", &self.seq).field("width", &self.width()).field("height", &self.height()).finish()
    }
}

impl Frame {
    pub(crate) fn new(seq: u64, video: gst_video::VideoFrame<gst_video::video_frame::Readable>) -> Self {
        let pts = video.buffer().pts().map(|t| std::time::Duration::from_nanos(t.nseconds()));
        Self { seq, arrived: Instant::now(), pts, video }
    }

    pub fn width(&self) -> u32 {
        self.video.width()
    }

    pub fn height(&self) -> u32 {
        self.video.height()
    }

    /// Runs `f` on a `Mat` header over the frame's pixels. The `Mat` borrows the
    /// buffer, so it only lives inside the closure; deep-copy it to keep it.
    pub fn with_mat<R>(&self, f: impl FnOnce(&Mat) -> R) -> opencv::Result<R> {
        let data = self
            .video
            .plane_data(0)
            .map_err(|e| opencv::Error::new(opencv::core::StsBadArg, format!("frame plane: {e}")))?;
        let stride = self.video.plane_stride()[0] as usize;
        // SAFETY: the Mat header points into `data`, which outlives the closure; the
        // Mat is only lent out by reference, and OpenCV reads it (never writes it).
        let mat = unsafe {
            Mat::new_rows_cols_with_data_unsafe(
                self.height() as i32,
                self.width() as i32,
                CV_8UC3,
                data.as_ptr() as *mut std::ffi::c_void,
                stride,
            )?
        };
        Ok(f(&mat))
    }

    /// [`Frame::with_mat`] for work that has its own error type (which can hold
    /// OpenCV's): one `Result` instead of two.
    pub fn analyse<R, E: From<opencv::Error>>(&self, f: impl FnOnce(&Mat) -> Result<R, E>) -> Result<R, E> {
        self.with_mat(f)?
    }

    /// A frame of packed BGR pixels in a GStreamer buffer, as the pipeline hands one
    /// over: for tests that drive the engine without a camera.
    #[cfg(test)]
    pub(crate) fn from_bgr(seq: u64, pts: std::time::Duration, width: u32, height: u32, pixels: Vec<u8>) -> Self {
        gstreamer::init().expect("GStreamer initialises");
        let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Bgr, width, height).build().expect("a BGR layout");
        assert_eq!(pixels.len(), info.size(), "packed rows (a width that is a multiple of 4)");
        let mut buffer = gstreamer::Buffer::from_mut_slice(pixels);
        buffer.get_mut().expect("a new buffer is writable").set_pts(gstreamer::ClockTime::from_nseconds(pts.as_nanos() as u64));
        let video = gst_video::VideoFrame::from_buffer_readable(buffer, &info).expect("the buffer holds the frame");
        Frame::new(seq, video)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_specs_parse_and_refuse_clearly() {
        assert_eq!("v4l2:/dev/video0".parse(), Ok(SourceSpec::V4l2("/dev/video0".into())));
        assert_eq!("file:a.mp4".parse(), Ok(SourceSpec::File("a.mp4".into())));
        assert_eq!("gst:videotestsrc".parse(), Ok(SourceSpec::Gst("videotestsrc".into())));
        assert!(matches!("rtsp:x".parse::<SourceSpec>(), Err(SourceSpecError::UnknownScheme(_))));
        assert!(matches!("/dev/video0".parse::<SourceSpec>(), Err(SourceSpecError::NoScheme(_))));
        assert!(matches!("file:".parse::<SourceSpec>(), Err(SourceSpecError::Empty("file"))));
        assert!(SourceSpec::File("x".into()).is_replay());
        assert!(!SourceSpec::V4l2("x".into()).is_replay());
        let test: SourceSpec = "test:videotestsrc".parse().unwrap();
        assert_eq!((test.kind(), test.is_replay(), test.results_marked_replayed()), ("test", true, false));
        assert!(SourceSpec::Gst("x".into()).results_marked_replayed());
    }
}
