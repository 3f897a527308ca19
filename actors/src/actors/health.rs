//! Which breakers are up and have seen their first input. The gate reads it on every order
//! and fails closed while any enabled breaker is not ready: a breaker sets its own flag in the
//! same instant it fails, so no message can overtake it.

use crate::breaker::BreakerKind;
use std::sync::atomic::{AtomicBool, Ordering};

fn slot(kind: BreakerKind) -> usize {
    BreakerKind::ALL
        .iter()
        .position(|&k| k == kind)
        .expect("every kind has a slot")
}

/// Readiness flags, one per breaker kind.
#[derive(Debug)]
pub struct HealthBoard {
    enabled: [bool; 6],
    ready: [AtomicBool; 6],
}

impl HealthBoard {
    /// A board where the `enabled` breakers start not ready.
    pub fn new(enabled: &[BreakerKind]) -> Self {
        let mut e = [false; 6];
        for &k in enabled {
            e[slot(k)] = true;
        }
        Self {
            enabled: e,
            ready: Default::default(),
        }
    }

    /// Marks a breaker ready or not.
    pub fn set_ready(&self, kind: BreakerKind, ready: bool) {
        self.ready[slot(kind)].store(ready, Ordering::Release);
    }

    /// Whether a breaker is ready.
    pub fn is_ready(&self, kind: BreakerKind) -> bool {
        self.ready[slot(kind)].load(Ordering::Acquire)
    }

    /// Whether a breaker is switched on.
    pub fn is_enabled(&self, kind: BreakerKind) -> bool {
        self.enabled[slot(kind)]
    }

    /// The first enabled breaker that is not ready, if any.
    pub fn first_not_ready(&self) -> Option<BreakerKind> {
        BreakerKind::ALL
            .iter()
            .copied()
            .find(|&k| self.enabled[slot(k)] && !self.ready[slot(k)].load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_first_not_ready_ignores_disabled_breakers() {
        let b = HealthBoard::new(&[BreakerKind::Drawdown, BreakerKind::OrderRate]);
        assert_eq!(b.first_not_ready(), Some(BreakerKind::Drawdown));
        b.set_ready(BreakerKind::Drawdown, true);
        assert_eq!(b.first_not_ready(), Some(BreakerKind::OrderRate));
        b.set_ready(BreakerKind::OrderRate, true);
        assert_eq!(b.first_not_ready(), None);
        assert!(!b.is_enabled(BreakerKind::ErrorRate));
    }
}
