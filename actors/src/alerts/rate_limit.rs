//! At most N alerts per breaker per hour, over an exact sliding hour; the alerts held back are
//! counted and reported in the next one that goes out.

use super::super::rules::SlidingWindow;
use crate::breaker::BreakerKind;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// The per-breaker alert rate limit.
#[derive(Debug, Clone)]
pub struct AlertRateLimiter {
    max_per_hour: usize,
    windows: HashMap<BreakerKind, SlidingWindow>,
    suppressed: HashMap<BreakerKind, u64>,
}

/// The limiter's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Send it; carries how many were suppressed since the last one sent.
    Send {
        /// Held back since the last sent.
        suppressed_since_last: u64,
    },
    /// Hold it back.
    Suppress,
}

impl AlertRateLimiter {
    /// At most `max_per_hour` (≥ 1) alerts per breaker in any hour.
    pub fn new(max_per_hour: usize) -> Self {
        Self {
            max_per_hour: max_per_hour.max(1),
            windows: HashMap::new(),
            suppressed: HashMap::new(),
        }
    }

    /// Decides on an alert for `breaker` at `at`. Times are the engine clock's, which never
    /// runs backwards.
    pub fn decide(&mut self, breaker: BreakerKind, at: DateTime<Utc>) -> RateDecision {
        let max = self.max_per_hour;
        let window = self
            .windows
            .entry(breaker)
            .or_insert_with(|| SlidingWindow::new(Duration::hours(1), max));
        window.expire(at, |_| {});
        if window.len() >= max {
            *self.suppressed.entry(breaker).or_default() += 1;
            return RateDecision::Suppress;
        }
        window
            .record(at, (), |_| {})
            .expect("the engine clock never runs backwards");
        RateDecision::Send {
            suppressed_since_last: self.suppressed.remove(&breaker).unwrap_or(0),
        }
    }

    /// Alerts held back for `breaker` and not yet reported.
    pub fn pending_suppressed(&self, breaker: BreakerKind) -> u64 {
        self.suppressed.get(&breaker).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(mins: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + mins * 60, 0).unwrap()
    }

    #[test]
    fn test_decide_when_11_in_an_hour_then_10_sent_and_next_reports_suppressed() {
        let mut l = AlertRateLimiter::new(10);
        for i in 0..10 {
            assert_eq!(
                l.decide(BreakerKind::Drawdown, t(i)),
                RateDecision::Send {
                    suppressed_since_last: 0
                }
            );
        }
        assert_eq!(
            l.decide(BreakerKind::Drawdown, t(10)),
            RateDecision::Suppress
        );
        assert_eq!(l.pending_suppressed(BreakerKind::Drawdown), 1);
        // Another breaker has its own budget.
        assert!(matches!(
            l.decide(BreakerKind::ErrorRate, t(10)),
            RateDecision::Send { .. }
        ));
        // An hour after the first, one slot frees up and the count goes out with it.
        assert_eq!(
            l.decide(BreakerKind::Drawdown, t(60)),
            RateDecision::Send {
                suppressed_since_last: 1
            }
        );
        assert_eq!(l.pending_suppressed(BreakerKind::Drawdown), 0);
    }
}
