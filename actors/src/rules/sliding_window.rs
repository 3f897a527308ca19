//! An exact sliding window of event times: answers "how many events in the last `window`",
//! up to `max + 1`, which is all a breaker needs to know whether the count exceeds `max`.
//!
//! A ring of at most `max + 1` times: O(1) amortised per event, memory bounded by the
//! maximum however fast events come. An event exactly `window` old is outside. Times are kept as
//! integer nanoseconds: chrono's calendar arithmetic cost more than the rest of the window.

use crate::domain::InputError;
use chrono::{DateTime, Duration, Utc};
use std::collections::VecDeque;

/// Event times inside the window, oldest first, each with a tag (an error kind, or `()`).
#[derive(Debug, Clone)]
pub struct SlidingWindow<T: Copy = ()> {
    window: Duration,
    window_ns: i64,
    max: usize,
    events: VecDeque<(i64, T)>,
    newest: Option<i64>,
}

/// Nanoseconds since the epoch. i64 nanoseconds reach 1677 to 2262; beyond, clamp rather than
/// fail.
pub(crate) fn nanos(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() > 0 {
        i64::MAX
    } else {
        i64::MIN
    })
}

impl<T: Copy> SlidingWindow<T> {
    /// A window of length `window` (positive) that tells whether more than `max` (≥ 1)
    /// events fall inside it.
    pub fn new(window: Duration, max: usize) -> Self {
        assert!(window > Duration::zero(), "window must be positive");
        assert!(max >= 1, "max must be at least 1");
        Self {
            window,
            window_ns: window.num_nanoseconds().unwrap_or(i64::MAX),
            max,
            events: VecDeque::with_capacity(max + 1),
            newest: None,
        }
    }

    /// The window's length.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The maximum allowed inside the window.
    pub fn max(&self) -> usize {
        self.max
    }

    /// The newest event's time, if any was recorded.
    pub fn newest(&self) -> Option<DateTime<Utc>> {
        self.newest.map(DateTime::from_timestamp_nanos)
    }

    /// Records an event at `at`, calling `on_evict` for each event that leaves (by age or
    /// because only `max + 1` are kept). Returns the count inside the window, capped at
    /// `max + 1`. Refuses a time older than the newest event, changing nothing.
    pub fn record(
        &mut self,
        at: DateTime<Utc>,
        tag: T,
        mut on_evict: impl FnMut(T),
    ) -> Result<usize, InputError> {
        let at_ns = nanos(at);
        if let Some(previous) = self.newest {
            if at_ns < previous {
                return Err(InputError::OutOfOrder {
                    field: "timestamp",
                    value: at,
                    previous: DateTime::from_timestamp_nanos(previous),
                });
            }
        }
        self.expire_ns(at_ns, &mut on_evict);
        if self.events.len() == self.max + 1 {
            if let Some((_, old)) = self.events.pop_front() {
                on_evict(old);
            }
        }
        self.events.push_back((at_ns, tag));
        self.newest = Some(at_ns);
        Ok(self.events.len())
    }

    /// Drops events that are `window` old or older at `now`; returns the count left.
    pub fn expire(&mut self, now: DateTime<Utc>, on_evict: impl FnMut(T)) -> usize {
        self.expire_ns(nanos(now), on_evict)
    }

    fn expire_ns(&mut self, now: i64, mut on_evict: impl FnMut(T)) -> usize {
        let horizon = now.saturating_sub(self.window_ns);
        while let Some(&(t, tag)) = self.events.front() {
            if t > horizon {
                break;
            }
            self.events.pop_front();
            on_evict(tag);
        }
        self.events.len()
    }

    /// The count inside the window as of the last record or expire, capped at `max + 1`.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is inside the window.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Whether the count exceeds the maximum.
    pub fn exceeded(&self) -> bool {
        self.events.len() > self.max
    }

    /// The events kept, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (DateTime<Utc>, T)> + '_ {
        self.events
            .iter()
            .map(|&(t, tag)| (DateTime::from_timestamp_nanos(t), tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap()
    }

    #[test]
    fn test_record_when_event_exactly_window_old_then_outside() {
        let mut w = SlidingWindow::new(Duration::seconds(60), 2);
        w.record(t(0), (), |_| {}).unwrap();
        w.record(t(1), (), |_| {}).unwrap();
        assert_eq!(w.record(t(60_000), (), |_| {}).unwrap(), 2);
        assert_eq!(w.record(t(60_000), (), |_| {}).unwrap(), 3);
        assert!(w.exceeded());
    }

    #[test]
    fn test_record_when_out_of_order_then_refused_and_unchanged() {
        let mut w = SlidingWindow::new(Duration::seconds(1), 5);
        w.record(t(10), (), |_| {}).unwrap();
        assert!(w.record(t(9), (), |_| {}).is_err());
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn test_record_when_far_over_max_then_memory_bounded() {
        let mut w = SlidingWindow::new(Duration::seconds(60), 10);
        for i in 0..10_000 {
            w.record(t(i), (), |_| {}).unwrap();
        }
        assert_eq!(w.len(), 11);
        assert!(w.events.capacity() < 64);
    }

    #[test]
    fn test_evictions_balance_records() {
        let mut w = SlidingWindow::new(Duration::seconds(1), 3);
        let mut live = 0i64;
        for i in 0..100 {
            live += 1;
            w.record(t(i * 137), (), |_| live -= 1).unwrap();
            assert_eq!(live as usize, w.len());
        }
        w.expire(t(1_000_000), |_| live -= 1);
        assert_eq!(live, 0);
    }

    proptest! {
        /// Against a naive window that keeps every event and counts on demand.
        #[test]
        fn prop_window_matches_naive_reference(
            gaps in proptest::collection::vec(0i64..3_000, 1..400),
            max in 1usize..20,
            window_ms in 1i64..10_000,
        ) {
            let window = Duration::milliseconds(window_ms);
            let mut w = SlidingWindow::new(window, max);
            let mut all: Vec<DateTime<Utc>> = Vec::new();
            let mut now = 0;
            for gap in gaps {
                now += gap;
                let at = t(now);
                all.push(at);
                let got = w.record(at, (), |_| {}).unwrap();
                let naive = all.iter().filter(|&&e| e > at - window).count();
                prop_assert_eq!(got, naive.min(max + 1));
                prop_assert_eq!(w.exceeded(), naive > max);
            }
        }
    }
}
