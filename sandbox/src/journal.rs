//! What each simulator received and sent, for tests and the demo's checks.

use std::sync::Mutex;

use serde::Serialize;

use crate::faults::lock;

/// One thing a simulator saw or did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    /// Sequence number, from 1.
    pub sequence: u64,
    /// `alipay`, `mpesa`, `ledger` or `fx`.
    pub service: String,
    /// `received` (a request to the simulator) or `sent` (a callback from it).
    pub direction: Direction,
    /// Method and path, or the callback's URL.
    pub target: String,
    /// The HTTP status answered or received.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// Which way an entry went.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// A request the simulator received.
    Received,
    /// A callback the simulator sent.
    Sent,
}

/// The journal: bounded, oldest entries dropped first.
pub struct Journal {
    entries: Mutex<(u64, std::collections::VecDeque<Entry>)>,
    capacity: usize,
}

impl Journal {
    /// A journal keeping the last `capacity` entries.
    pub fn new(capacity: usize) -> Journal {
        Journal {
            entries: Mutex::new((0, std::collections::VecDeque::new())),
            capacity,
        }
    }

    /// Records an entry.
    pub fn record(
        &self,
        service: &str,
        direction: Direction,
        target: String,
        status: u16,
        body: String,
    ) {
        let mut guard = lock(&self.entries);
        guard.0 += 1;
        let sequence = guard.0;
        if guard.1.len() == self.capacity {
            guard.1.pop_front();
        }
        guard.1.push_back(Entry {
            sequence,
            service: service.to_string(),
            direction,
            target,
            status,
            body,
        });
    }

    /// The entries of `service` (all when `None`), oldest first.
    pub fn entries(&self, service: Option<&str>) -> Vec<Entry> {
        lock(&self.entries)
            .1
            .iter()
            .filter(|entry| service.is_none_or(|name| entry.service == name))
            .cloned()
            .collect()
    }
}
