//! A recorded clip played once through the capture pipeline, frame by frame, for
//! offline analysis (`liveness scan`, benches). Enters: a file GStreamer decodes.
//! Leaves: each frame to a callback, and counts. Never loops, never analyses.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::devices::CameraPolicy;
use super::pipeline::{CaptureError, CaptureSupervisor};
use super::{CameraStatus, Frame, Mailbox, PipelineSettings, SourceSpec};
use crate::telemetry::Telemetry;

/// How a played clip went.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ClipCounts {
    /// Frames the pipeline decoded.
    pub decoded: u64,
    /// Frames handed to the callback.
    pub analysed: u64,
    /// Frames replaced unread because the callback was busy.
    pub dropped: u64,
}

/// Plays `path` once at `width`×`height`, at the clip's own pace (as a camera would
/// deliver it, so a callback as fast as the live engine sees every frame), calling
/// `each` per frame. Ends at end of stream; an error if no frame ever came.
pub fn play_once(
    path: &Path,
    width: u32,
    height: u32,
    mut each: impl FnMut(&Frame),
) -> Result<ClipCounts, CaptureError> {
    let settings = PipelineSettings {
        source: SourceSpec::File(path.display().to_string()),
        width,
        height,
        fps: 30,
        v4l2_format: String::new(),
        loop_replay: false,
        real_time: true,
        lockstep: false,
    };
    let mailbox = Arc::new(Mailbox::default());
    let status = Arc::new(CameraStatus::new(&settings));
    let telemetry = Arc::new(Telemetry::default());
    let supervisor =
        CaptureSupervisor::start(settings, CameraPolicy::default(), Arc::clone(&mailbox), Arc::clone(&status), Arc::clone(&telemetry))?;
    let mut counts = ClipCounts::default();
    // The supervisor restarts a finished file after a back-off; the first restart
    // (or failure) marks the clip's end, and nothing after it is analysed.
    let ended = || status.snapshot().restarts > 0;
    let first_wait = Duration::from_secs(20);
    loop {
        let wait = if counts.analysed == 0 { first_wait } else { Duration::from_millis(100) };
        match mailbox.take_timeout(wait) {
            Some(frame) if !ended() => {
                each(&frame);
                counts.analysed += 1;
            }
            Some(_) => break,
            None if ended() || counts.analysed == 0 => break,
            None => {}
        }
    }
    let error = status.snapshot().last_error;
    supervisor.stop();
    counts.decoded = telemetry.frames_captured.load(Ordering::Relaxed);
    counts.dropped = telemetry.frames_dropped.load(Ordering::Relaxed);
    if counts.analysed == 0 {
        return Err(CaptureError::Stream {
            camera: path.display().to_string(),
            reason: error.unwrap_or_else(|| "no frame decoded".into()),
        });
    }
    Ok(counts)
}

/// Decodes `path` once at `width`×`height` as fast as `each` takes the frames, every
/// one of them (nothing dropped, no clock): an offline scan then sees the same frames
/// whatever the machine's load. Same scaling and conversion as the camera pipeline.
pub fn decode_every_frame(path: &Path, width: u32, height: u32, each: impl FnMut(&Frame)) -> Result<ClipCounts, CaptureError> {
    OpenClip::open(path, width, height)?.decode_every_frame(each)
}

/// A clip whose pipeline is built and prerolled (plugins loaded, the decoder set up),
/// nothing handed over yet: what a per-frame figure should not include, as a
/// `cv2.VideoCapture` opened before the clock starts.
pub struct OpenClip {
    camera: String,
    pipeline: gstreamer::Pipeline,
    sink: gstreamer_app::AppSink,
}

impl OpenClip {
    pub fn open(path: &Path, width: u32, height: u32) -> Result<Self, CaptureError> {
        use gstreamer as gst;
        use gstreamer::prelude::*;
        use gstreamer_app as gst_app;
        let camera = path.display().to_string();
        let failed = |reason: String| CaptureError::Stream { camera: camera.clone(), reason };
        gst::init().map_err(|e| failed(e.to_string()))?;
        let settings = PipelineSettings {
            source: SourceSpec::File(camera.clone()),
            width,
            height,
            fps: 30,
            v4l2_format: String::new(),
            loop_replay: false,
            real_time: false,
            lockstep: false,
        };
        // The camera's description, with an appsink that holds frames back instead of dropping them.
        let description = settings.description().replace("max-buffers=1 drop=true", "max-buffers=2 drop=false");
        let pipeline = gst::parse::launch(&description)
            .map_err(|e| failed(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| failed("not a pipeline".into()))?;
        let sink = pipeline
            .by_name(super::pipeline::SINK_NAME)
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .ok_or_else(|| failed("no appsink".into()))?;
        // Prerolled; a clip that cannot be decoded fails here and its error is read
        // from the bus when the frames are asked for.
        pipeline.set_state(gst::State::Paused).map_err(|e| failed(e.to_string()))?;
        let _ = pipeline.state(gst::ClockTime::from_seconds(20));
        Ok(Self { camera, pipeline, sink })
    }

    /// [`decode_every_frame`] on the opened clip.
    pub fn decode_every_frame(self, mut each: impl FnMut(&Frame)) -> Result<ClipCounts, CaptureError> {
        use gstreamer as gst;
        use gstreamer::prelude::*;
        use gstreamer_video as gst_video;
        let (pipeline, sink) = (&self.pipeline, &self.sink);
        let failed = |reason: String| CaptureError::Stream { camera: self.camera.clone(), reason };
        let bus = pipeline.bus().ok_or_else(|| failed("no bus".into()))?;
        let bus_error = || match bus.pop_filtered(&[gst::MessageType::Error])?.view() {
            gst::MessageView::Error(err) => Some(err.error().to_string()),
            _ => None,
        };
        if let Err(e) = pipeline.set_state(gst::State::Playing) {
            // A clip that failed to preroll: its own error says why.
            return Err(failed(bus_error().unwrap_or_else(|| e.to_string())));
        }
        let mut counts = ClipCounts::default();
        let mut error = None;
        loop {
            // Waits in short slices so that a decoding error (which never ends the stream
            // at the sink) is seen on the bus.
            let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(200)) else {
                if let Some(reason) = bus_error() {
                    error = Some(reason);
                    break;
                }
                if sink.is_eos() {
                    break;
                }
                continue;
            };
            let info = sample.caps().and_then(|caps| gst_video::VideoInfo::from_caps(caps).ok());
            let (Some(info), Some(buffer)) = (info, sample.buffer_owned()) else { continue };
            let Ok(video) = gst_video::VideoFrame::from_buffer_readable(buffer, &info) else { continue };
            each(&Frame::new(counts.decoded, video));
            counts.decoded += 1;
            counts.analysed += 1;
        }
        if counts.analysed == 0 {
            return Err(failed(error.unwrap_or_else(|| "no frame decoded".into())));
        }
        Ok(counts)
    }
}

impl Drop for OpenClip {
    /// A pipeline always ends in `Null`, decoded or not.
    fn drop(&mut self) {
        use gstreamer::prelude::*;
        let _ = self.pipeline.set_state(gstreamer::State::Null);
    }
}
