//! One connection: hyper's HTTP/1.1 state machine, raced against a watchdog
//! that closes the connection when the client overstays its current phase.

use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;
use tower_service::Service;

use crate::ServeLimits;
use crate::body::DeadlineBody;

/// What a connection is doing, as far as its deadlines are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No request in flight and no byte of the next one: `idle_timeout` runs.
    Waiting { since: Instant },
    /// A request head has begun to arrive: `header_read_timeout` runs.
    ReadingHead { since: Instant },
    /// Requests handed to the router. Their bodies carry their own deadline,
    /// and the handler's time is the server's, so no connection deadline runs.
    Busy { requests: usize },
}

/// Why the watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overstayed {
    Idle,
    Head,
}

/// The phase, shared by the socket reader, the service and the watchdog.
struct Activity {
    phase: Mutex<Phase>,
    /// Wakes the watchdog to recompute its deadline. `notify_one` keeps a
    /// permit, so a change between its reading the phase and waiting is not lost.
    changed: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            phase: Mutex::new(Phase::Waiting {
                since: Instant::now(),
            }),
            changed: Notify::new(),
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        // The phase is a plain value, valid whatever panicked while holding it.
        self.phase
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set(&self, phase: Phase) {
        *self.phase() = phase;
        self.changed.notify_one();
    }

    /// Bytes arrived: if nothing was in progress, a request head has begun.
    fn bytes_read(&self) {
        let mut phase = self.phase();
        if let Phase::Waiting { .. } = *phase {
            *phase = Phase::ReadingHead {
                since: Instant::now(),
            };
            drop(phase);
            self.changed.notify_one();
        }
    }

    /// A complete head reached the service; the guard ends the request,
    /// however its handler finishes (answered, failed or cancelled).
    fn request_started(self: &Arc<Self>) -> InFlight {
        let requests = match *self.phase() {
            Phase::Busy { requests } => requests + 1,
            Phase::Waiting { .. } | Phase::ReadingHead { .. } => 1,
        };
        self.set(Phase::Busy { requests });
        InFlight(self.clone())
    }

    /// When the current phase expires, and as what.
    fn deadline(&self, limits: &ServeLimits) -> Option<(Instant, Overstayed)> {
        match *self.phase() {
            Phase::Waiting { since } => Some((since + limits.idle_timeout, Overstayed::Idle)),
            Phase::ReadingHead { since } => {
                Some((since + limits.header_read_timeout, Overstayed::Head))
            }
            Phase::Busy { .. } => None,
        }
    }
}

struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut phase = self.0.phase();
        *phase = match *phase {
            Phase::Busy { requests } if requests > 1 => Phase::Busy {
                requests: requests - 1,
            },
            _ => Phase::Waiting {
                since: Instant::now(),
            },
        };
        drop(phase);
        self.0.changed.notify_one();
    }
}

/// Returns when the connection has overstayed its current phase.
async fn watchdog(activity: &Activity, limits: &ServeLimits) -> Overstayed {
    loop {
        match activity.deadline(limits) {
            None => activity.changed.notified().await,
            Some((deadline, overstayed)) => {
                if Instant::now() >= deadline {
                    return overstayed;
                }
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = activity.changed.notified() => {}
                }
            }
        }
    }
}

/// The socket, telling [`Activity`] when bytes arrive.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buffer.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(context, buffer);
        if buffer.filled().len() > before {
            this.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(context, bytes)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(context)
    }
}

/// Serves one connection until the client closes it, hyper gives up on it,
/// or the watchdog finds it overstaying. Dropping the connection closes it.
pub(crate) async fn drive(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ServeLimits,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
    });
    let service_activity = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let in_flight = service_activity.request_started();
        let mut router = router.clone();
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(axum::extract::ConnectInfo(peer));
        let body = axum::body::Body::new(DeadlineBody::new(body, limits.body_read_timeout));
        let request = axum::extract::Request::from_parts(parts, body);
        async move {
            let response = router.call(request).await;
            drop(in_flight);
            response
        }
    });
    // hyper's own header timer stays off (see `ServeLimits::header_read_timeout`);
    // with no timer given it could not run anyway, so say so rather than rely on it.
    let connection = hyper::server::conn::http1::Builder::new()
        .header_read_timeout(None)
        .serve_connection(io, service);
    let connection = pin!(connection);
    tokio::select! {
        served = connection => {
            if let Err(error) = served {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        }
        overstayed = watchdog(&activity, &limits) => {
            tracing::debug!(%peer, ?overstayed, "connection closed: it overstayed its phase");
        }
    }
}
