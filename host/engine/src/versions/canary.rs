//! The canary: which new transfers a canary takes, and when the host rolls it
//! back on its own.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// When a canary is rolled back without an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanaryConfig {
    /// The share of a canary's connector calls that may fail or be refused
    /// over [`CanaryConfig::window`] before it is rolled back. Default 20 %:
    /// a provider's ordinary refusals (an unknown recipient) stay well under
    /// it, a broken build or a wrong endpoint is far over it.
    pub failure_percent: u8,
    /// How far back the calls are counted. Default 60 s.
    pub window: Duration,
    /// Calls the window must hold before it judges. Default 20: two or three
    /// unlucky calls right after activation do not roll a good version back.
    pub min_calls: u32,
}

impl Default for CanaryConfig {
    fn default() -> Self {
        CanaryConfig {
            failure_percent: 20,
            window: Duration::from_secs(60),
            min_calls: 20,
        }
    }
}

/// The most calls a window remembers: a bound on its memory whatever the rate.
const MAX_REMEMBERED_CALLS: usize = 10_000;

/// A version's recent connector calls: when, and whether each failed.
#[derive(Debug, Default)]
pub(crate) struct CallWindow {
    calls: Mutex<VecDeque<(u64, bool)>>,
}

impl CallWindow {
    /// Notes a call at `now_ms`.
    pub fn record(&self, now_ms: u64, failed: bool) {
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if calls.len() == MAX_REMEMBERED_CALLS {
            calls.pop_front();
        }
        calls.push_back((now_ms, failed));
    }

    /// Forgets every call: a version's record starts again when it becomes a canary.
    pub fn clear(&self) {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    /// Why the version should be rolled back at `now_ms`, if it should.
    pub fn verdict(&self, now_ms: u64, config: &CanaryConfig) -> Option<String> {
        let window_ms = u64::try_from(config.window.as_millis()).unwrap_or(u64::MAX);
        let since_ms = now_ms.saturating_sub(window_ms);
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        while calls.front().is_some_and(|(at_ms, _)| *at_ms < since_ms) {
            calls.pop_front();
        }
        let total = calls.len() as u64;
        let failed = calls.iter().filter(|(_, failed)| *failed).count() as u64;
        let over = failed * 100 > total * u64::from(config.failure_percent);
        (total >= u64::from(config.min_calls) && over).then(|| {
            format!(
                "{failed} of {total} connector calls failed or were refused in the last {} s (threshold {} %)",
                config.window.as_secs(),
                config.failure_percent
            )
        })
    }
}

/// Whether the new transfer `transfer_id` goes to a canary taking
/// `percent` % of new transfers: a fixed split by the id's hash, so the same
/// id always lands on the same side, on every host.
pub fn takes_canary(transfer_id: &str, percent: u8) -> bool {
    let digest = Sha256::digest(transfer_id.as_bytes());
    let bucket = u16::from_be_bytes([digest[0], digest[1]]) % 100;
    bucket < u16::from(percent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_is_fixed_by_the_transfer_id_and_near_the_percentage() {
        let ids: Vec<String> = (0..10_000).map(|n| format!("tr_{n:012x}")).collect();
        let taken = ids.iter().filter(|id| takes_canary(id, 25)).count();
        assert!(
            (2_200..2_800).contains(&taken),
            "{taken} of 10000 took a 25 % canary"
        );
        assert!(
            ids.iter()
                .all(|id| takes_canary(id, 25) == takes_canary(id, 25))
        );
        assert!(!ids.iter().any(|id| takes_canary(id, 0)));
        assert!(ids.iter().all(|id| takes_canary(id, 100)));
    }

    #[test]
    fn a_window_judges_only_with_enough_calls() {
        let config = CanaryConfig::default();
        let window = CallWindow::default();
        for at_ms in 0..19 {
            window.record(at_ms, true);
        }
        assert_eq!(window.verdict(100, &config), None, "19 calls are too few");
        window.record(20, true);
        let reason = window
            .verdict(100, &config)
            .expect("20 failed calls roll back");
        assert!(
            reason.starts_with("20 of 20 connector calls failed"),
            "{reason}"
        );
    }

    #[test]
    fn a_window_under_the_threshold_keeps_the_canary() {
        let config = CanaryConfig::default();
        let window = CallWindow::default();
        for at_ms in 0..100 {
            window.record(at_ms, at_ms % 5 == 0);
        }
        assert_eq!(window.verdict(100, &config), None, "20 % is not over 20 %");
        window.record(101, true);
        assert!(window.verdict(101, &config).is_some());
    }

    #[test]
    fn calls_older_than_the_window_are_forgotten() {
        let config = CanaryConfig::default();
        let window = CallWindow::default();
        for at_ms in 0..50 {
            window.record(at_ms, true);
        }
        assert_eq!(window.verdict(61_000, &config), None);
    }
}
