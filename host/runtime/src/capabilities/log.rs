//! The `log` import: capped, counted, and scrubbed of the granted secrets.

use super::InvocationState;
use crate::runtime::bindings::corridor::connector::log::{Host, Level};

/// How much one invocation may still log.
pub(crate) struct LogBudget {
    messages_left: u32,
    message_bytes: u32,
    /// Messages dropped because the budget ran out.
    pub dropped: u32,
}

impl LogBudget {
    pub fn new(messages: u32, message_bytes: u32) -> LogBudget {
        LogBudget {
            messages_left: messages,
            message_bytes,
            dropped: 0,
        }
    }
}

/// Cuts `text` to at most `max_bytes`, on a character boundary.
pub(crate) fn truncate(text: &mut String, max_bytes: usize) {
    if text.len() > max_bytes {
        let mut cut = max_bytes;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
}

impl Host for InvocationState {
    async fn write(&mut self, level: Level, message: String) {
        if self.log_budget.messages_left == 0 {
            self.log_budget.dropped = self.log_budget.dropped.saturating_add(1);
            return;
        }
        self.log_budget.messages_left -= 1;
        // Scrub before cutting, so that a cut cannot leave half a secret behind.
        let mut text = self.grants.scrubber.scrub(&message);
        truncate(&mut text, self.log_budget.message_bytes as usize);
        let connector = self.grants.connector_id();
        let call = self.call;
        match level {
            Level::Trace => tracing::trace!(target: "connector", connector, call, "{text}"),
            Level::Debug => tracing::debug!(target: "connector", connector, call, "{text}"),
            Level::Info => tracing::info!(target: "connector", connector, call, "{text}"),
            Level::Warn => tracing::warn!(target: "connector", connector, call, "{text}"),
            Level::Error => tracing::error!(target: "connector", connector, call, "{text}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let mut text = "ééé".to_string();
        truncate(&mut text, 3);
        assert_eq!(text, "é…");
    }
}
