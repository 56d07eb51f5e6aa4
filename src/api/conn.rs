//! The accept loop shared by the three listeners (API and status over TLS, the
//! kiosk in plain HTTP on loopback): a connection slot per client before anything
//! is read, a TLS handshake deadline, HTTP/1.1 with a header-read deadline (which
//! also closes idle keep-alive connections), HTTP/2 with bounded streams, and an
//! idle deadline on every connection. Each request carries the client's address
//! and, over mTLS, its certificate's fingerprint.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tower::ServiceExt;

use super::limits::ConnectionLimits;
use super::tls::{PeerCertificate, sha256_hex};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// A request's headers must arrive within this (HTTP/1.1; also the keep-alive idle time).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_STREAMS_PER_CONNECTION: u32 = 16;
const MAX_HEADER_BYTES: u32 = 16 * 1024;

/// The address a request came from.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// One listener's settings.
#[derive(Clone)]
pub struct Door {
    pub name: &'static str,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub limits: Arc<ConnectionLimits>,
    /// A connection with no byte read or written for this long is closed.
    pub idle: Duration,
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(listener: TcpListener, door: Door, router: Router, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut refused: u64 = 0;
    let mut last_refusal_log = Instant::now() - Duration::from_secs(60);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, typically: wait instead of spinning.
                    tracing::warn!(listener = door.name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Some(slot) = door.limits.admit(peer.ip()) else {
            drop(stream);
            refused += 1;
            if last_refusal_log.elapsed() >= Duration::from_secs(10) {
                tracing::warn!(listener = door.name, client = %peer.ip(), refused, "connection limit reached; connections closed at once");
                last_refusal_log = Instant::now();
            }
            continue;
        };
        let (door, router) = (door.clone(), router.clone());
        tokio::spawn(async move {
            let _slot = slot;
            serve_connection(door, stream, peer, router).await;
        });
    }
}

async fn serve_connection(door: Door, stream: tokio::net::TcpStream, peer: SocketAddr, router: Router) {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = door.tls.clone() else {
        return serve_http(&door, stream, peer, PeerCertificate(None), false, router).await;
    };
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => return tracing::debug!(listener = door.name, %peer, error = %e, "TLS handshake failed"),
        Err(_) => return tracing::debug!(listener = door.name, %peer, "TLS handshake timed out"),
    };
    let session = tls.get_ref().1;
    let client_cert = PeerCertificate(session.peer_certificates().and_then(|c| c.first()).map(|c| sha256_hex(c)));
    let h2 = session.alpn_protocol() == Some(b"h2");
    serve_http(&door, tls, peer, client_cert, h2, router).await;
}

async fn serve_http<S>(door: &Door, io: S, peer: SocketAddr, client_cert: PeerCertificate, h2: bool, router: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched { inner: io, activity: Arc::clone(&activity) });
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(client_cert.clone());
        request.extensions_mut().insert(ClientAddr(peer));
        router.clone().oneshot(request)
    });
    let idle = door.idle;
    let watchdog = async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if activity.idle_for() >= idle {
                return;
            }
        }
    };
    let ended = if h2 {
        let connection = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
            .max_header_list_size(MAX_HEADER_BYTES)
            .max_pending_accept_reset_streams(MAX_STREAMS_PER_CONNECTION as usize)
            .max_local_error_reset_streams(64)
            .serve_connection(io, service);
        tokio::select! {
            r = connection => r.err().map(|e| e.to_string()),
            _ = watchdog => Some("idle".into()),
        }
    } else {
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .max_buf_size(64 * 1024)
            .serve_connection(io, service)
            .with_upgrades();
        tokio::select! {
            r = connection => r.err().map(|e| e.to_string()),
            _ = watchdog => Some("idle".into()),
        }
    };
    if let Some(why) = ended {
        tracing::debug!(listener = door.name, %peer, why, "connection closed");
    }
}

/// When a connection last moved a byte.
struct Activity {
    origin: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self { origin: Instant::now(), last_ms: AtomicU64::new(0) }
    }

    fn touch(&self) {
        self.last_ms.store(self.origin.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        self.origin.elapsed().saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// A stream that notes every byte read or written.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
