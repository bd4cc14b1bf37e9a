//! The one serving loop of the host's API and of every sandbox service.
//!
//! `axum::serve` never closes a connection on its own: a client that trickles
//! its headers a byte a second, or that keeps a connection open and idle, holds
//! a task and a descriptor for as long as it likes, and a thousand of them
//! starve the process. [`serve`] gives every phase a client controls a
//! deadline, and caps the connections open at once:
//!
//! | phase | limit |
//! |---|---|
//! | waiting for a request (a fresh connection, or keep-alive between requests) | [`ServeLimits::idle_timeout`] |
//! | from the first byte of a request head to its end | [`ServeLimits::header_read_timeout`] |
//! | from a complete head to the end of its body | [`ServeLimits::body_read_timeout`] |
//! | connections open at once | [`ServeLimits::max_connections`] |
//!
//! The time a handler takes is not limited here: that is the server's own
//! work, bounded where it is done (the engine's deadlines, a simulator's delay).
//!
//! Dropping the future [`serve`] returns (aborting its task) closes the
//! listener and every connection it accepted.

mod body;
mod connection;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub use body::BodyReadTimeout;

/// How long a client may take over each phase of a connection, and how many
/// connections may be open at once. Every limit is finite: there is no "off".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// From the first byte of a request head to its final blank line; past it
    /// the connection is closed without a reply. Default 10 s: a head is a few
    /// hundred bytes, so only a slowloris client needs longer.
    ///
    /// Enforced here rather than by hyper's `header_read_timeout`, because
    /// hyper's timer also runs while a keep-alive connection waits for its next
    /// request, which would make every idle connection close after this
    /// shorter limit and leave [`ServeLimits::idle_timeout`] meaningless.
    pub header_read_timeout: Duration,
    /// How long a connection may wait with no request in flight and no byte
    /// of the next one received: a fresh connection before its first request,
    /// or a keep-alive connection between requests. Default 60 s, under the
    /// 90 s for which the host's and sandbox's own HTTP clients keep idle
    /// connections, and long enough for a provider's callbacks to reuse one.
    pub idle_timeout: Duration,
    /// From a complete request head to the last byte of its body. Past it the
    /// handler's next read of the body fails with [`BodyReadTimeout`] (axum
    /// answers 400), and the connection is closed after the reply, as its
    /// unread rest cannot be skipped. A total, not a per-read, deadline: a
    /// client sending a byte a second must not keep it alive. Default 30 s:
    /// request bodies here are JSON or forms of a few kilobytes.
    pub body_read_timeout: Duration,
    /// Connections open at once. Beyond it no further connection is accepted:
    /// new ones wait in the kernel's accept backlog (1024 with tokio), holding
    /// no descriptor of this process, and are accepted as open ones end.
    /// Default: half of the process's descriptor limit (`RLIMIT_NOFILE`, soft),
    /// at least 512, leaving the rest for the store, the compile cache and
    /// outbound HTTP. A thousand transfers in flight mean a thousand clients
    /// waiting and providers calling back at once; a cap below that turns
    /// callbacks away and they come back minutes later.
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            max_connections: half_the_descriptors(),
        }
    }
}

/// Half the soft `RLIMIT_NOFILE`, at least 512 (the descriptors of a common
/// 1024 limit) and at most 65,536.
fn half_the_descriptors() -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    usize::try_from(soft / 2)
        .unwrap_or(usize::MAX)
        .clamp(512, 65_536)
}

/// A limit that cannot work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ServeLimitsError {
    /// A zero timeout would close every connection before its first byte.
    #[error("{0}: must be more than zero")]
    ZeroTimeout(&'static str),
    /// Zero connections would accept nothing; too many would overflow the
    /// semaphore that counts them.
    #[error("max_connections: must be between 1 and {max}, not {value}", max = Semaphore::MAX_PERMITS)]
    MaxConnections {
        /// What was asked for.
        value: usize,
    },
}

impl ServeLimits {
    /// Refuses limits that would stop serving altogether.
    pub fn check(&self) -> Result<(), ServeLimitsError> {
        for (name, timeout) in [
            ("header_read_timeout", self.header_read_timeout),
            ("idle_timeout", self.idle_timeout),
            ("body_read_timeout", self.body_read_timeout),
        ] {
            if timeout.is_zero() {
                return Err(ServeLimitsError::ZeroTimeout(name));
            }
        }
        if self.max_connections == 0 || self.max_connections > Semaphore::MAX_PERMITS {
            return Err(ServeLimitsError::MaxConnections {
                value: self.max_connections,
            });
        }
        Ok(())
    }
}

/// Serves `router` on `listener` under `limits`, as HTTP/1.1 (every client of
/// the host and the sandboxes speaks it). Handlers can extract
/// `ConnectInfo<SocketAddr>`: the peer of the connection, as with
/// `into_make_service_with_connect_info::<SocketAddr>()`.
///
/// The limits are checked now, so a bad one fails at start-up; the returned
/// future runs until it is dropped.
pub fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
) -> Result<impl Future<Output = ()> + Send + 'static, ServeLimitsError> {
    limits.check()?;
    Ok(accept_loop(listener, router, limits))
}

/// After an accept error other than a connection's own, such as running out
/// of descriptors: retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

async fn accept_loop(listener: TcpListener, router: Router, limits: ServeLimits) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Owned here, so that dropping this future aborts every connection too.
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        // The semaphore is never closed, so this always yields a slot.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                if !is_connection_error(&error) {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        let router = router.clone();
        connections.spawn(async move {
            connection::drive(stream, peer, router, limits).await;
            drop(slot);
        });
    }
}

/// An error that concerns only the connection being accepted.
fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_limits_are_accepted() {
        assert_eq!(ServeLimits::default().check(), Ok(()));
    }

    #[test]
    fn a_zero_timeout_is_refused_by_name() {
        let limits = ServeLimits {
            idle_timeout: Duration::ZERO,
            ..ServeLimits::default()
        };
        assert_eq!(
            limits.check(),
            Err(ServeLimitsError::ZeroTimeout("idle_timeout"))
        );
    }

    #[test]
    fn zero_connections_are_refused() {
        let limits = ServeLimits {
            max_connections: 0,
            ..ServeLimits::default()
        };
        assert_eq!(
            limits.check(),
            Err(ServeLimitsError::MaxConnections { value: 0 })
        );
    }
}
