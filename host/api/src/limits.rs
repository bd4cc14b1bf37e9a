//! How much one client may send: body sizes and the rate of creating quotes
//! and transfers. Every limit is finite and has a documented default.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::error::ApiError;

/// The client API's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// The largest body a client route reads. Default 64 KiB: a quote or a
    /// transfer request is under 1 KiB, so anything near this is not one.
    pub client_body_limit_bytes: usize,
    /// The largest body a callback route reads. Default 1 MiB: providers'
    /// notifications (forms, XML, JSON results) are a few KiB, with room
    /// for a provider that pads them.
    pub callback_body_limit_bytes: usize,
    /// How fast one client (one peer IP) may create quotes and transfers.
    pub creation_rate: RateLimit,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            client_body_limit_bytes: 64 << 10,
            callback_body_limit_bytes: 1 << 20,
            creation_rate: RateLimit::default(),
        }
    }
}

/// A token bucket per client: `burst` requests at once, then one more every
/// `replenish_every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// How often one more request is allowed. Default 20 ms, 50 requests/s:
    /// a client sustaining more than that is flooding a host that runs each
    /// request through a connector.
    pub replenish_every: Duration,
    /// How many requests may arrive at once. Default 100, so a client that
    /// starts 100 transfers together (the demo's concurrency) is not refused.
    pub burst: NonZeroU32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            replenish_every: Duration::from_millis(20),
            burst: NonZeroU32::new(100).expect("100 is not zero"),
        }
    }
}

/// Clients tracked at once before idle ones are forgotten: a bound on the
/// limiter's memory, whatever the number of peers.
const MAX_TRACKED_CLIENTS: usize = 10_000;

/// The peer a request came from when the listener does not say: every such
/// request shares one budget, which is safe (never unlimited).
const UNKNOWN_PEER: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// The per-client budget for creating quotes and transfers.
#[derive(Clone)]
pub struct CreationLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl CreationLimiter {
    /// A limiter enforcing `limit`.
    pub fn new(limit: RateLimit) -> CreationLimiter {
        // A zero period would mean no limit at all; one nanosecond is the least.
        let period = limit.replenish_every.max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(limit.burst);
        CreationLimiter {
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(quota)),
        }
    }

    /// Admits one request from `peer`, or says how many whole seconds to wait.
    fn admit(&self, peer: IpAddr) -> Result<(), u64> {
        if self.limiter.len() > MAX_TRACKED_CLIENTS {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&peer).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// Refuses a client over its budget with 429 `rate-limited` and `Retry-After`.
pub async fn throttle(
    State(limiter): State<CreationLimiter>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(UNKNOWN_PEER, |ConnectInfo(address)| address.ip());
    match limiter.admit(peer) {
        Ok(()) => next.run(request).await,
        Err(retry_after_s) => {
            let retry_after_s = retry_after_s.max(1);
            let mut response = ApiError {
                status: 429,
                code: "rate-limited",
                message: format!(
                    "too many quotes and transfers from {peer}; retry after {retry_after_s} s"
                ),
            }
            .into_response();
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(retry_after_s));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_burst_is_told_when_to_retry_and_others_are_not_affected() {
        let limiter = CreationLimiter::new(RateLimit {
            replenish_every: Duration::from_secs(3600),
            burst: NonZeroU32::new(2).expect("2 is not zero"),
        });
        let flooding = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let other = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(limiter.admit(flooding), Ok(()));
        assert_eq!(limiter.admit(flooding), Ok(()));
        let refused = limiter.admit(flooding);
        assert!(
            refused.is_err_and(|retry_after_s| (3500..=3600).contains(&retry_after_s)),
            "{refused:?}"
        );
        assert_eq!(limiter.admit(other), Ok(()));
    }
}
