//! The `config` import: only the keys the policy grants exist.

use super::InvocationState;
use crate::runtime::bindings::corridor::connector::config::Host;

impl Host for InvocationState {
    async fn get(&mut self, key: String) -> Option<String> {
        self.grants
            .policy
            .config
            .get(&key)
            .map(|value| value.expose().to_string())
    }
}
