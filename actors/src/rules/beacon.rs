//! The host's beacon: the time of the latest host event, stamped from any thread without a
//! lock or a message, read by the dead-man's switch on every tick.

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicI64, Ordering};

/// The latest host event time, stamped lock-free from any thread: nanoseconds since the epoch,
/// `i64::MIN` until the first stamp. Shared as `Arc<HostBeacon>` between whoever stamps (the
/// order path) and the [`HostSilentRule`](crate::breakers::host_silent::HostSilentRule) that reads it.
#[derive(Debug)]
pub struct HostBeacon(AtomicI64);

impl Default for HostBeacon {
    fn default() -> Self {
        Self::new()
    }
}

impl HostBeacon {
    /// A beacon that has heard nothing yet.
    pub fn new() -> Self {
        Self(AtomicI64::new(i64::MIN))
    }

    /// A host event at `at`. Keeps the latest time: a stamp older than one already made
    /// changes nothing, so threads racing each other cannot move it back. Times beyond the
    /// reach of i64 nanoseconds (before 1677, after 2262) are clamped.
    pub fn stamp(&self, at: DateTime<Utc>) {
        // Relaxed is enough: the value is the whole message, nothing else is published with it.
        self.0
            .fetch_max(crate::rules::sliding_window::nanos(at), Ordering::Relaxed);
    }

    /// The latest time stamped, `None` before the first stamp.
    pub fn last(&self) -> Option<DateTime<Utc>> {
        match self.0.load(Ordering::Relaxed) {
            i64::MIN => None,
            nanos => Some(DateTime::from_timestamp_nanos(nanos)),
        }
    }
}
