//! The `clock` import.

use super::InvocationState;
use crate::runtime::bindings::corridor::connector::clock::Host;

impl Host for InvocationState {
    async fn now_ms(&mut self) -> u64 {
        self.grants.clock.now_ms()
    }
}
