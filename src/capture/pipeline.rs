//! The GStreamer pipeline and its supervisor.
//!
//! ```text
//!  v4l2src ! <camera caps> ! decodebin ─┐
//!  filesrc ! decodebin ─────────────────┼─> videoconvert ! videoscale ! video/x-raw,format=BGR,WxH
//!  <gst: description> ──────────────────┘        ! appsink (max-buffers=1, drop) ─> Mailbox<Frame>
//! ```
//!
//! The supervisor owns the pipeline on its own thread: it watches the bus, and on an
//! error or end-of-stream (a camera unplugged, a file ended) tears the pipeline down
//! to `Null` and builds it again with exponential back-off. Every restart and its
//! cause are visible in [`CameraStatus`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use serde::Serialize;

use super::devices::{self, CameraPolicy};
use super::mailbox::{Mailbox, Put};
use super::{CameraIdentity, Frame, SourceSpec};
use crate::telemetry::Telemetry;

pub(super) const SINK_NAME: &str = "idverifd_sink";
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// A pipeline that streamed this long before failing starts its back-off afresh.
const HEALTHY_RUN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct PipelineSettings {
    pub source: SourceSpec,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub v4l2_format: String,
    /// Replayed files start again at their end instead of counting as lost.
    pub loop_replay: bool,
    /// Deliver frames at the source's pace (a camera, a replay); `false` for benchmarks.
    pub real_time: bool,
    /// The lockstep test camera: every frame is handed over and waits until the engine
    /// takes it (none dropped, no clock sync), so a replay is analysed frame for frame
    /// however slow the machine. Only for the test suite (see `camera.lockstep`).
    pub lockstep: bool,
}

/// What a V4L2 camera may be asked to send: a fixed list, turned into caps through
/// the GStreamer API (never pasted into a pipeline description).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraFormat {
    Mjpeg,
    Yuy2,
    Nv12,
}

impl CameraFormat {
    /// The config's spelling of each format.
    pub const NAMES: [(&'static str, CameraFormat); 3] = [
        ("image/jpeg", CameraFormat::Mjpeg),
        ("video/x-raw,format=YUY2", CameraFormat::Yuy2),
        ("video/x-raw,format=NV12", CameraFormat::Nv12),
    ];

    pub fn parse(text: &str) -> Result<Self, String> {
        let wanted: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        Self::NAMES.iter().find(|(name, _)| name.eq_ignore_ascii_case(&wanted)).map(|(_, f)| *f).ok_or_else(|| {
            format!("must be one of {}", Self::NAMES.iter().map(|(n, _)| format!("{n:?}")).collect::<Vec<_>>().join(", "))
        })
    }

    /// The caps asked of the camera (GStreamer must be initialised).
    pub fn caps(self, width: u32, height: u32, fps: u32) -> gst::Caps {
        let size = |b: gst::caps::Builder<gst::caps::NoFeature>| {
            b.field("width", width as i32).field("height", height as i32).field("framerate", gst::Fraction::new(fps as i32, 1))
        };
        match self {
            CameraFormat::Mjpeg => size(gst::Caps::builder("image/jpeg")).build(),
            CameraFormat::Yuy2 => size(gst::Caps::builder("video/x-raw").field("format", "YUY2")).build(),
            CameraFormat::Nv12 => size(gst::Caps::builder("video/x-raw").field("format", "NV12")).build(),
        }
    }
}

/// The capsfilter after `v4l2src`, whose caps are set from [`CameraFormat`].
const CAMERA_CAPS_NAME: &str = "idverifd_camera_caps";

impl PipelineSettings {
    /// The `gst-launch` description of the whole pipeline. A V4L2 camera's caps are
    /// set afterwards on the named capsfilter (see [`create_pipeline`]).
    pub fn description(&self) -> String {
        let source = match &self.source {
            SourceSpec::V4l2(device) => {
                format!("v4l2src device={} ! capsfilter name={CAMERA_CAPS_NAME} ! decodebin", quote(device))
            }
            SourceSpec::File(path) => format!("filesrc location={} ! decodebin", quote(path)),
            SourceSpec::Gst(description) | SourceSpec::Test(description) => description.clone(),
        };
        // Lockstep: the appsink neither drops nor waits for the clock; the hand-over
        // to the engine holds the streaming thread instead.
        let (drop, sync) = if self.lockstep { (false, false) } else { (true, self.real_time) };
        // Converted to BGR before scaling, as OpenCV would: a source smaller than
        // the frames asked for (a clip scaled up to 720p) is converted at its own
        // size (0.53 -> 0.20 s of CPU over the carphone clip's 120 frames). A
        // camera is asked for the frame size itself and not scaled.
        format!(
            "{source} ! videoconvert ! videoscale ! video/x-raw,format=BGR,width={},height={},pixel-aspect-ratio=1/1 \
             ! appsink name={SINK_NAME} max-buffers=1 drop={drop} sync={sync}",
            self.width, self.height
        )
    }
}

/// Quotes a value for a `gst-launch` description.
fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraState {
    Starting,
    Streaming,
    /// Failed; the supervisor is waiting to try again.
    Down,
    /// The camera policy refused the device (virtual or not allow-listed).
    Refused,
    Stopped,
}

/// What the status page and metrics show about the camera. No frame content.
#[derive(Debug, Clone, Serialize)]
pub struct CameraSnapshot {
    pub state: CameraState,
    pub source: String,
    pub identity: CameraIdentity,
    pub last_error: Option<String>,
    pub restarts: u64,
    pub fps_in: f64,
    pub width: u32,
    pub height: u32,
    /// Milliseconds since the last frame arrived, if one ever did.
    pub since_last_frame_ms: Option<u64>,
}

pub struct CameraStatus {
    inner: Mutex<StatusInner>,
}

struct StatusInner {
    snapshot: CameraSnapshot,
    last_frame: Option<Instant>,
    window_start: Instant,
    window_frames: u32,
}

impl CameraStatus {
    pub fn new(settings: &PipelineSettings) -> Self {
        Self {
            inner: Mutex::new(StatusInner {
                snapshot: CameraSnapshot {
                    state: CameraState::Starting,
                    source: redact_source(&settings.source),
                    identity: CameraIdentity {
                        kind: settings.source.kind().to_string(),
                        source: redact_source(&settings.source),
                        ..Default::default()
                    },
                    last_error: None,
                    restarts: 0,
                    fps_in: 0.0,
                    width: settings.width,
                    height: settings.height,
                    since_last_frame_ms: None,
                },
                last_frame: None,
                window_start: Instant::now(),
                window_frames: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StatusInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn snapshot(&self) -> CameraSnapshot {
        let inner = self.lock();
        let mut snap = inner.snapshot.clone();
        snap.since_last_frame_ms = inner.last_frame.map(|t| t.elapsed().as_millis() as u64);
        if inner.last_frame.is_none_or(|t| t.elapsed() > Duration::from_secs(2)) {
            snap.fps_in = 0.0;
        }
        snap
    }

    /// Time since the last frame, or `None` if none ever came.
    pub fn since_last_frame(&self) -> Option<Duration> {
        self.lock().last_frame.map(|t| t.elapsed())
    }

    fn frame_arrived(&self) {
        let mut inner = self.lock();
        let now = Instant::now();
        inner.last_frame = Some(now);
        inner.window_frames += 1;
        let window = now.duration_since(inner.window_start);
        if window >= Duration::from_secs(1) {
            inner.snapshot.fps_in = f64::from(inner.window_frames) / window.as_secs_f64();
            inner.window_frames = 0;
            inner.window_start = now;
        }
        if inner.snapshot.state != CameraState::Streaming {
            inner.snapshot.state = CameraState::Streaming;
        }
    }

    fn set_state(&self, state: CameraState) {
        self.lock().snapshot.state = state;
    }

    fn failed(&self, state: CameraState, error: String) {
        let mut inner = self.lock();
        inner.snapshot.state = state;
        inner.snapshot.last_error = Some(error);
        inner.snapshot.restarts += 1;
    }

    fn set_identity(&self, identity: CameraIdentity) {
        self.lock().snapshot.identity = identity;
    }

    pub fn identity(&self) -> CameraIdentity {
        self.lock().snapshot.identity.clone()
    }
}

/// File paths may name people (a clip called after its subject); the status page only
/// needs the kind and the file name's extension.
fn redact_source(source: &SourceSpec) -> String {
    match source {
        SourceSpec::V4l2(device) => format!("v4l2:{device}"),
        SourceSpec::File(path) => {
            let ext = std::path::Path::new(path).extension().and_then(|e| e.to_str()).unwrap_or("");
            format!("file:(replay).{ext}")
        }
        SourceSpec::Gst(_) => "gst:(description)".to_string(),
        SourceSpec::Test(_) => "test:(description)".to_string(),
    }
}

/// Runs and restarts the pipeline on its own thread until stopped.
pub struct CaptureSupervisor {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("GStreamer could not be initialised: {0}")]
    Init(String),
    #[error("cannot build the pipeline for {camera}: {reason}")]
    Build { camera: String, reason: String },
    #[error("the pipeline for {camera} failed: {reason}")]
    Stream { camera: String, reason: String },
    #[error("end of stream from {camera}")]
    EndOfStream { camera: String },
    #[error("camera {device} refused by the camera policy: {reason}")]
    Refused { device: String, reason: String },
}

enum RunEnd {
    Stopped,
    Failed(CaptureError),
}

impl CaptureSupervisor {
    pub fn start(
        settings: PipelineSettings,
        policy: CameraPolicy,
        mailbox: Arc<Mailbox<Frame>>,
        status: Arc<CameraStatus>,
        telemetry: Arc<Telemetry>,
    ) -> Result<Self, CaptureError> {
        gst::init().map_err(|e| CaptureError::Init(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("capture".into())
            .spawn(move || supervise(settings, policy, mailbox, status, telemetry, thread_stop))
            .map_err(|e| CaptureError::Init(e.to_string()))?;
        Ok(Self { stop, thread: Some(thread) })
    }

    /// Stops the pipeline (always through `Null`) and waits for the thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for CaptureSupervisor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn supervise(
    settings: PipelineSettings,
    policy: CameraPolicy,
    mailbox: Arc<Mailbox<Frame>>,
    status: Arc<CameraStatus>,
    telemetry: Arc<Telemetry>,
    stop: Arc<AtomicBool>,
) {
    let sequence = Arc::new(AtomicU64::new(0));
    let mut backoff = FIRST_BACKOFF;
    while !stop.load(Ordering::SeqCst) {
        status.set_state(CameraState::Starting);
        let started = Instant::now();
        let end = match admit_camera(&settings.source, &policy) {
            Ok(identity) => {
                status.set_identity(identity);
                run_once(&settings, &mailbox, &status, &telemetry, &sequence, &stop)
            }
            Err(e) => RunEnd::Failed(e),
        };
        match end {
            RunEnd::Stopped => break,
            RunEnd::Failed(error) => {
                let state =
                    if matches!(error, CaptureError::Refused { .. }) { CameraState::Refused } else { CameraState::Down };
                tracing::warn!(source = %redact_source(&settings.source), error = %error, retry_in_ms = backoff.as_millis() as u64, "camera pipeline ended; restarting");
                status.failed(state, error.to_string());
                telemetry.record_error("camera", error.to_string());
                telemetry.camera_restarts.fetch_add(1, Ordering::Relaxed);
            }
        }
        if started.elapsed() > HEALTHY_RUN {
            backoff = FIRST_BACKOFF;
        }
        sleep_unless_stopped(backoff, &stop);
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    status.set_state(CameraState::Stopped);
    mailbox.close();
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let deadline = Instant::now() + total;
    while Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Applies the camera policy to a V4L2 device before any frame is taken from it.
fn admit_camera(source: &SourceSpec, policy: &CameraPolicy) -> Result<CameraIdentity, CaptureError> {
    match source {
        SourceSpec::V4l2(device) => {
            let info = devices::inspect(std::path::Path::new(device))
                .map_err(|e| CaptureError::Build { camera: source.to_string(), reason: e.to_string() })?;
            let verdict = policy.evaluate(&info);
            if !verdict.accepted {
                return Err(CaptureError::Refused { device: device.clone(), reason: verdict.reason });
            }
            Ok(CameraIdentity {
                kind: "v4l2".into(),
                source: source.to_string(),
                driver: Some(info.driver),
                card: Some(info.card),
                bus: Some(info.bus),
            })
        }
        other => Ok(CameraIdentity { kind: other.kind().into(), source: redact_source(other), ..Default::default() }),
    }
}

/// Sets the pipeline to `Null` however the run ends.
struct NullOnDrop(gst::Pipeline);

impl Drop for NullOnDrop {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}

fn run_once(
    settings: &PipelineSettings,
    mailbox: &Arc<Mailbox<Frame>>,
    status: &Arc<CameraStatus>,
    telemetry: &Arc<Telemetry>,
    sequence: &Arc<AtomicU64>,
    stop: &Arc<AtomicBool>,
) -> RunEnd {
    let source_name = redact_source(&settings.source);
    let build_error = |reason: String| RunEnd::Failed(CaptureError::Build { camera: source_name.clone(), reason });
    let pipeline = match create_pipeline(settings) {
        Ok(p) => NullOnDrop(p),
        Err(reason) => return build_error(reason),
    };
    let Some(sink) = pipeline.0.by_name(SINK_NAME).and_then(|e| e.downcast::<gst_app::AppSink>().ok()) else {
        return build_error("no appsink in the pipeline".into());
    };
    let (mailbox, status_cb, telemetry_cb, sequence) =
        (Arc::clone(mailbox), Arc::clone(status), Arc::clone(telemetry), Arc::clone(sequence));
    let (lockstep, cancel) = (settings.lockstep, Arc::clone(stop));
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let info = sample
                    .caps()
                    .and_then(|caps| gst_video::VideoInfo::from_caps(caps).ok())
                    .ok_or(gst::FlowError::NotNegotiated)?;
                let buffer = sample.buffer_owned().ok_or(gst::FlowError::Error)?;
                let video = gst_video::VideoFrame::from_buffer_readable(buffer, &info).map_err(|_| gst::FlowError::Error)?;
                let frame = Frame::new(sequence.fetch_add(1, Ordering::Relaxed), video);
                telemetry_cb.frames_captured.fetch_add(1, Ordering::Relaxed);
                if lockstep {
                    status_cb.frame_arrived();
                    mailbox.hand_over(frame, &cancel);
                    return Ok(gst::FlowSuccess::Ok);
                }
                if mailbox.put(frame) == Put::ReplacedUnread {
                    telemetry_cb.frames_dropped.fetch_add(1, Ordering::Relaxed);
                }
                status_cb.frame_arrived();
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );

    if let Err(e) = pipeline.0.set_state(gst::State::Playing) {
        // The bus usually holds the real reason (no such file, device busy).
        let reason = pipeline
            .0
            .bus()
            .and_then(|bus| bus.pop_filtered(&[gst::MessageType::Error]))
            .and_then(|msg| match msg.view() {
                gst::MessageView::Error(err) => Some(err.error().to_string()),
                _ => None,
            })
            .unwrap_or_else(|| e.to_string());
        return RunEnd::Failed(CaptureError::Stream { camera: source_name, reason });
    }
    let Some(bus) = pipeline.0.bus() else { return build_error("pipeline has no bus".into()) };
    tracing::info!(source = %source_name, "camera pipeline playing");
    loop {
        if stop.load(Ordering::SeqCst) {
            return RunEnd::Stopped;
        }
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) else { continue };
        match msg.view() {
            gst::MessageView::Eos(_) if settings.loop_replay => {
                if pipeline.0.seek_simple(gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT, gst::ClockTime::ZERO).is_err() {
                    return RunEnd::Failed(CaptureError::EndOfStream { camera: source_name });
                }
            }
            gst::MessageView::Eos(_) => return RunEnd::Failed(CaptureError::EndOfStream { camera: source_name }),
            gst::MessageView::Error(err) => {
                return RunEnd::Failed(CaptureError::Stream { camera: source_name, reason: err.error().to_string() });
            }
            _ => {}
        }
    }
}

fn create_pipeline(settings: &PipelineSettings) -> Result<gst::Pipeline, String> {
    let element = gst::parse::launch(&settings.description()).map_err(|e| e.to_string())?;
    let pipeline = element.downcast::<gst::Pipeline>().map_err(|_| "the description is not a pipeline".to_string())?;
    if let SourceSpec::V4l2(_) = settings.source {
        let format = CameraFormat::parse(&settings.v4l2_format).map_err(|why| format!("camera.v4l2_format {why}"))?;
        let filter = pipeline.by_name(CAMERA_CAPS_NAME).ok_or("the camera capsfilter is missing")?;
        filter.set_property("caps", format.caps(settings.width, settings.height, settings.fps));
    }
    Ok(pipeline)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(source: &str) -> PipelineSettings {
        PipelineSettings {
            source: source.parse().unwrap(),
            width: 320,
            height: 240,
            fps: 30,
            v4l2_format: "image/jpeg".into(),
            loop_replay: false,
            real_time: false,
            lockstep: false,
        }
    }

    #[test]
    fn file_paths_are_quoted_in_the_description() {
        let d = settings("file:/tmp/a \"b\".mp4").description();
        assert!(d.starts_with("filesrc location=\"/tmp/a \\\"b\\\".mp4\" ! decodebin"), "{d}");
        assert!(d.contains("format=BGR,width=320,height=240"));
    }

    #[test]
    fn camera_formats_come_from_a_fixed_list_and_become_caps_through_the_api() {
        gst::init().unwrap();
        assert_eq!(CameraFormat::parse("image/jpeg"), Ok(CameraFormat::Mjpeg));
        assert_eq!(CameraFormat::parse("video/x-raw, format=YUY2"), Ok(CameraFormat::Yuy2));
        for injected in [
            "image/jpeg ! fakesink filesrc location=/tmp/face.mp4",
            "image/jpeg,width=1 ! decodebin ! videotestsrc",
            "video/x-raw,format=BGR",
            "",
        ] {
            assert!(CameraFormat::parse(injected).is_err(), "{injected}");
        }
        let caps = CameraFormat::Yuy2.caps(1280, 720, 30);
        assert_eq!(caps.to_string(), "video/x-raw, format=(string)YUY2, width=(int)1280, height=(int)720, framerate=(fraction)30/1");
        let mut s = settings("v4l2:/dev/video0");
        s.v4l2_format = "image/jpeg ! filesrc location=/tmp/x".into();
        assert!(!s.description().contains("filesrc"), "the format never reaches the description");
        assert!(create_pipeline(&s).unwrap_err().contains("camera.v4l2_format"));
    }

    #[test]
    fn frames_arrive_as_bgr_mats_with_the_configured_size() {
        let mailbox = Arc::new(Mailbox::default());
        let s = settings("gst:videotestsrc num-buffers=30 pattern=smpte");
        let status = Arc::new(CameraStatus::new(&s));
        let telemetry = Arc::new(Telemetry::default());
        let sup = CaptureSupervisor::start(s, CameraPolicy::default(), Arc::clone(&mailbox), Arc::clone(&status), Arc::clone(&telemetry))
            .unwrap();
        let frame = mailbox.take_timeout(Duration::from_secs(10)).expect("a frame");
        let (rows, cols, channels) = frame
            .with_mat(|m| {
                use opencv::prelude::*;
                (m.rows(), m.cols(), m.channels())
            })
            .unwrap();
        assert_eq!((rows, cols, channels), (240, 320, 3));
        drop(frame);
        // num-buffers ends the stream: the supervisor must count it and restart.
        let deadline = Instant::now() + Duration::from_secs(10);
        while status.snapshot().restarts == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let snap = status.snapshot();
        assert!(snap.restarts >= 1, "{snap:?}");
        assert!(snap.last_error.unwrap().contains("end of stream"));
        sup.stop();
    }

    #[test]
    fn a_broken_description_is_reported_not_panicked() {
        let mailbox = Arc::new(Mailbox::default());
        let s = settings("gst:no_such_element_xyz");
        let status = Arc::new(CameraStatus::new(&s));
        let sup = CaptureSupervisor::start(s, CameraPolicy::default(), mailbox, Arc::clone(&status), Arc::default()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while status.snapshot().last_error.is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let snap = status.snapshot();
        assert_eq!(snap.state, CameraState::Down);
        assert!(snap.last_error.unwrap().contains("no_such_element_xyz"));
        sup.stop();
    }
}
