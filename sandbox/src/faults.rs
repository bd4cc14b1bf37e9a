//! Fault knobs, per endpoint, seeded so that a failing test replays.
//!
//! An endpoint is named `<service>.<operation>`, e.g. `mpesa.b2c`,
//! `alipay.gateway`, `ledger.register`. Callback deliveries have their own knobs
//! under `<service>.callbacks`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// What one endpoint does wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EndpointFaults {
    /// Added latency, fixed part.
    pub latency_ms: u64,
    /// Added latency, uniform random part on top (0..=jitter_ms).
    pub jitter_ms: u64,
    /// Percentage of requests (0–100) answered with `error` instead.
    pub error_percent: u8,
    /// The error to answer with.
    pub error: InjectedError,
}

/// An injected error answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InjectedError {
    /// HTTP 500 with the service's internal-error body.
    #[default]
    ServerError,
    /// Daraja spike arrest `500.003.02`; Alipay `SYSTEM_EXCEPTION` ("server busy").
    Busy,
}

/// What happens to callbacks a simulator sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallbackFaults {
    /// Percentage (0–100) of callbacks never sent.
    pub drop_percent: u8,
    /// Percentage (0–100) of callbacks sent twice.
    pub duplicate_percent: u8,
    /// Extra delay before sending, fixed part.
    pub delay_ms: u64,
    /// Extra random delay (0..=jitter_ms); with several callbacks in flight this
    /// reorders them.
    pub jitter_ms: u64,
    /// Percentage (0–100) of M-PESA requests that time out in the queue: the
    /// request is not processed and the `QueueTimeOutURL` is called instead.
    pub queue_timeout_percent: u8,
}

/// Every knob, by endpoint name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultPlan {
    /// Endpoint faults.
    pub endpoints: BTreeMap<String, EndpointFaults>,
    /// Callback faults, by service (`mpesa`, `alipay`).
    pub callbacks: BTreeMap<String, CallbackFaults>,
}

/// The decision for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Wait this long first.
    pub delay: Duration,
    /// Then answer with this error instead, if set.
    pub error: Option<InjectedError>,
}

/// The decision for one callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackDecision {
    /// Send it at all.
    pub send: bool,
    /// Send it twice.
    pub duplicate: bool,
    /// Extra delay.
    pub delay: Duration,
    /// Time the request out in the queue instead of processing it.
    pub queue_timeout: bool,
}

/// The live plan and the seeded random source behind it.
pub struct Faults {
    plan: Mutex<FaultPlan>,
    random: Mutex<StdRng>,
}

impl Faults {
    /// Faults following `plan`, random choices from `seed`.
    pub fn new(plan: FaultPlan, seed: u64) -> Faults {
        Faults {
            plan: Mutex::new(plan),
            random: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// Replaces the plan (the control API's `PUT /faults`).
    pub fn set(&self, plan: FaultPlan) {
        *lock(&self.plan) = plan;
    }

    /// The current plan.
    pub fn plan(&self) -> FaultPlan {
        lock(&self.plan).clone()
    }

    /// Decides what happens to one request to `endpoint`, on top of `base_latency`.
    pub fn decide(&self, endpoint: &str, base_latency: Duration) -> Decision {
        let faults = lock(&self.plan)
            .endpoints
            .get(endpoint)
            .cloned()
            .unwrap_or_default();
        let mut random = lock(&self.random);
        let jitter = if faults.jitter_ms > 0 {
            random.gen_range(0..=faults.jitter_ms)
        } else {
            0
        };
        let error = (faults.error_percent > 0 && random.gen_range(0..100u8) < faults.error_percent)
            .then_some(faults.error);
        Decision {
            delay: base_latency + Duration::from_millis(faults.latency_ms + jitter),
            error,
        }
    }

    /// Decides what happens to one callback of `service`, on top of `base_delay`.
    pub fn decide_callback(&self, service: &str, base_delay: Duration) -> CallbackDecision {
        let faults = lock(&self.plan)
            .callbacks
            .get(service)
            .cloned()
            .unwrap_or_default();
        let mut random = lock(&self.random);
        let dropped = faults.drop_percent > 0 && random.gen_range(0..100u8) < faults.drop_percent;
        let duplicate =
            faults.duplicate_percent > 0 && random.gen_range(0..100u8) < faults.duplicate_percent;
        let jitter = if faults.jitter_ms > 0 {
            random.gen_range(0..=faults.jitter_ms)
        } else {
            0
        };
        let queue_timeout = faults.queue_timeout_percent > 0
            && random.gen_range(0..100u8) < faults.queue_timeout_percent;
        CallbackDecision {
            send: !dropped,
            duplicate,
            delay: base_delay + Duration::from_millis(faults.delay_ms + jitter),
            queue_timeout,
        }
    }
}

/// Takes a lock; a panic elsewhere never leaves these values half-written.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_decisions() {
        let mut plan = FaultPlan::default();
        plan.endpoints.insert(
            "x".into(),
            EndpointFaults {
                error_percent: 50,
                jitter_ms: 10,
                ..Default::default()
            },
        );
        let run = || {
            let faults = Faults::new(plan.clone(), 7);
            (0..50)
                .map(|_| faults.decide("x", Duration::ZERO))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
        let errors = run()
            .iter()
            .filter(|decision| decision.error.is_some())
            .count();
        assert!((10..=40).contains(&errors), "{errors} of 50");
    }

    #[test]
    fn an_endpoint_without_faults_only_waits_its_base_latency() {
        let faults = Faults::new(FaultPlan::default(), 1);
        let decision = faults.decide("ledger.register", Duration::from_millis(5));
        assert_eq!(
            decision,
            Decision {
                delay: Duration::from_millis(5),
                error: None
            }
        );
    }
}
