//! The live preview served: the engine publishes small JPEGs into
//! [`crate::capture::Preview`] while anyone watches; pages receive them as an MJPEG
//! stream (`multipart/x-mixed-replace`), which every browser shows in a plain `<img>`.
//! Who may watch when is decided by the caller: the kiosk only during a session, the
//! status page only between sessions.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::capture::Preview;

const BOUNDARY: &str = "idverifd-frame";

/// An MJPEG response of `preview` that ends as soon as `allowed` turns false.
/// `slot` is held while the stream lasts (a bound on open previews).
pub fn mjpeg(preview: &Preview, slot: tokio::sync::OwnedSemaphorePermit, allowed: impl Fn() -> bool + Send + 'static) -> Response {
    let mut rx = preview.watch();
    let frames = super::channel_stream(2, move |tx: tokio::sync::mpsc::Sender<Bytes>| async move {
        let _slot = slot;
        loop {
            if !allowed() {
                return;
            }
            let frame = rx.borrow_and_update().clone();
            if let Some(jpeg) = frame {
                let head = format!("--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n", jpeg.len());
                let mut part = Vec::with_capacity(head.len() + jpeg.len() + 2);
                part.extend_from_slice(head.as_bytes());
                part.extend_from_slice(&jpeg);
                part.extend_from_slice(b"\r\n");
                if tx.send(Bytes::from(part)).await.is_err() {
                    return;
                }
            }
            // Wake on the next frame, or re-check `allowed` every second.
            if let Ok(Err(_)) = tokio::time::timeout(Duration::from_secs(1), rx.changed()).await {
                return;
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, format!("multipart/x-mixed-replace; boundary={BOUNDARY}")),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(frames),
    )
        .into_response()
}
