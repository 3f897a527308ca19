//! Time enters the engine only through a [`Clock`]: wall time in production, a hand-moved
//! [`TestClock`] in tests and replays. No breaker reads the system clock itself.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The clock shared by every actor of an engine.
pub type SharedClock = Arc<dyn Clock>;

/// Wall-clock time, never running backwards: an NTP step back is held at the last reading so
/// sliding windows never see events out of order.
#[derive(Debug, Default)]
pub struct SystemClock {
    last: Mutex<Option<DateTime<Utc>>>,
}

impl SystemClock {
    /// A wall clock.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        let mut last = self.last.lock().expect("clock mutex poisoned");
        let now = Utc::now();
        let now = match *last {
            Some(prev) if prev > now => prev,
            _ => now,
        };
        *last = Some(now);
        now
    }
}

/// A clock that moves only when told: tests and replays drive it.
#[derive(Debug)]
pub struct TestClock {
    now: Mutex<DateTime<Utc>>,
}

impl TestClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self {
            now: Mutex::new(start),
        })
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.now.lock().expect("clock mutex poisoned") += by;
    }

    /// Sets the clock to `at`; a time before the current one is ignored, so the clock never
    /// runs backwards.
    pub fn set(&self, at: DateTime<Utc>) {
        let mut now = self.now.lock().expect("clock mutex poisoned");
        if at > *now {
            *now = at;
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock mutex poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_set_when_earlier_then_clock_does_not_move_back() {
        let start = Utc::now();
        let clock = TestClock::new(start);
        clock.advance(Duration::seconds(5));
        clock.set(start);
        assert_eq!(clock.now(), start + Duration::seconds(5));
    }

    #[test]
    fn test_system_clock_is_monotonic() {
        let clock = SystemClock::new();
        let a = clock.now();
        let b = clock.now();
        assert!(b >= a);
    }
}
