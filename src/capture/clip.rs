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
