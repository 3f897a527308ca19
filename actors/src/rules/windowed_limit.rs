//! What the count-in-a-window breakers share (order rate, pre-trade denials): an exact sliding
//! window of events that trips once, on the event that makes the count inside the window exceed
//! the maximum, and stays latched until its window drains ([`WindowedLimit::cleared`]) or a
//! reset re-arms it ([`WindowedLimit::rearm`]).

use super::sliding_window::SlidingWindow;
use crate::breaker::{BreakerKind, BreakerReading, Trip};
use crate::domain::InputError;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// What one event did to a [`WindowedLimit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counted {
    /// The count inside the window is at most the maximum.
    Within,
    /// Over the maximum, and already tripped for this breach.
    Over,
    /// Over the maximum, and this event tripped it.
    Tripped(Trip),
}

/// A windowed count that trips once per breach. Its trips read
/// `"{count} {noun} within {window} s > {max}"`, with details `{key}_in_window`, `max_{key}`
/// and `window_seconds`.
#[derive(Debug, Clone)]
pub struct WindowedLimit {
    kind: BreakerKind,
    key: &'static str,
    noun: &'static str,
    window: SlidingWindow,
    latched: bool,
}

impl WindowedLimit {
    /// At most `max` (≥ 1) events inside `window` (positive) for breaker `kind`; `key` names
    /// the events in detail keys (`"orders"`), `noun` in the summary (`"orders"`).
    ///
    /// # Panics
    ///
    /// When `max` is 0 or `window` is not positive (configuration validates both first).
    pub fn new(
        kind: BreakerKind,
        key: &'static str,
        noun: &'static str,
        max: usize,
        window: Duration,
    ) -> Self {
        Self {
            kind,
            key,
            noun,
            window: SlidingWindow::new(window, max),
            latched: false,
        }
    }

    /// Counts an event at `at`. An event older than the newest counted is refused and changes
    /// nothing.
    pub fn record(&mut self, at: DateTime<Utc>) -> Result<Counted, InputError> {
        let count = self.window.record(at, (), |_| {})?;
        if count <= self.window.max() {
            return Ok(Counted::Within);
        }
        if self.latched {
            return Ok(Counted::Over);
        }
        self.latched = true;
        Ok(Counted::Tripped(self.trip(at)))
    }

    /// The trip for the window's current count at `at`.
    fn trip(&self, at: DateTime<Utc>) -> Trip {
        let (count, max) = (self.window.len(), self.window.max());
        let secs = self.window.window().num_seconds();
        let mut details = BTreeMap::new();
        details.insert(format!("{}_in_window", self.key), count.to_string());
        details.insert(format!("max_{}", self.key), max.to_string());
        details.insert("window_seconds".into(), secs.to_string());
        Trip {
            breaker: self.kind,
            at,
            value: Decimal::from(count),
            limit: Decimal::from(max),
            summary: format!("{count} {} within {secs} s > {max}", self.noun),
            details,
        }
    }

    /// Whether the trip condition has passed at `now` (the window holds `max` or fewer): an
    /// auto-reset breaker clears then. Re-arms when it has; false when it was not latched.
    pub fn cleared(&mut self, now: DateTime<Utc>) -> bool {
        let count = self.window.expire(now, |_| {});
        if self.latched && count <= self.window.max() {
            self.latched = false;
            return true;
        }
        false
    }

    /// Lets it trip again after a reset; trips at once, and latches, if the window still
    /// exceeds the maximum at `now`.
    pub fn rearm(&mut self, now: DateTime<Utc>) -> Option<Trip> {
        self.latched = false;
        self.window.expire(now, |_| {});
        if self.window.exceeded() {
            self.latched = true;
            return Some(self.trip(now));
        }
        None
    }

    /// The reading for status pages: the count as of the last event or check (capped at
    /// `max + 1`), the maximum, and `window_seconds` in the details.
    pub fn reading(&self, enabled: bool) -> BreakerReading {
        let mut details = BTreeMap::new();
        details.insert(
            "window_seconds".into(),
            self.window.window().num_seconds().to_string(),
        );
        BreakerReading {
            breaker: self.kind,
            enabled,
            ready: true,
            value: Some(Decimal::from(self.window.len())),
            limit: Some(Decimal::from(self.window.max())),
            details,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap()
    }

    fn limit(max: usize, window_ms: i64) -> WindowedLimit {
        WindowedLimit::new(
            BreakerKind::OrderRate,
            "things",
            "things seen",
            max,
            Duration::milliseconds(window_ms),
        )
    }

    #[test]
    fn test_record_when_count_exceeds_max_then_trips_once_with_named_details() {
        let mut w = limit(2, 10_000);
        assert_eq!(w.record(t(0)).unwrap(), Counted::Within);
        assert_eq!(w.record(t(1)).unwrap(), Counted::Within);
        let Counted::Tripped(trip) = w.record(t(2)).unwrap() else {
            panic!("the third in the window trips");
        };
        assert_eq!(trip.breaker, BreakerKind::OrderRate);
        assert_eq!(trip.at, t(2));
        assert_eq!(
            (trip.value, trip.limit),
            (Decimal::from(3), Decimal::from(2))
        );
        assert_eq!(trip.summary, "3 things seen within 10 s > 2");
        assert_eq!(trip.details["things_in_window"], "3");
        assert_eq!(trip.details["max_things"], "2");
        assert_eq!(trip.details["window_seconds"], "10");
        assert_eq!(trip.details.len(), 3);
        assert_eq!(w.record(t(3)).unwrap(), Counted::Over);
    }

    #[test]
    fn test_record_when_out_of_order_then_refused_and_unchanged() {
        let mut w = limit(1, 10_000);
        w.record(t(5)).unwrap();
        assert!(matches!(
            w.record(t(4)),
            Err(InputError::OutOfOrder {
                field: "timestamp",
                ..
            })
        ));
        assert_eq!(w.reading(true).value, Some(Decimal::ONE));
        assert!(matches!(w.record(t(5)).unwrap(), Counted::Tripped(_)));
    }

    #[test]
    fn test_cleared_when_not_latched_then_false() {
        let mut w = limit(1, 10_000);
        w.record(t(0)).unwrap();
        assert!(!w.cleared(t(20_000)));
    }

    #[test]
    fn test_cleared_when_window_drains_to_max_then_true_once() {
        let mut w = limit(1, 10_000);
        w.record(t(0)).unwrap();
        w.record(t(1)).unwrap();
        assert!(!w.cleared(t(9_999)), "both inside");
        assert!(w.cleared(t(10_000)), "exactly window old is outside");
        assert!(!w.cleared(t(10_000)), "once");
        assert!(matches!(w.record(t(10_000)).unwrap(), Counted::Tripped(_)));
    }

    #[test]
    fn test_rearm_when_window_still_exceeds_then_trips_and_latches() {
        let mut w = limit(1, 10_000);
        w.record(t(0)).unwrap();
        w.record(t(1)).unwrap();
        let trip = w.rearm(t(2)).expect("still two inside");
        assert_eq!(trip.at, t(2));
        assert_eq!(
            w.record(t(3)).unwrap(),
            Counted::Over,
            "latched by the rearm"
        );
        assert!(w.rearm(t(10_002)).is_none(), "only t(3) left");
        assert!(
            matches!(w.record(t(10_002)).unwrap(), Counted::Tripped(_)),
            "t(3) and t(10_002): re-armed, so it trips"
        );
    }

    #[test]
    fn test_reading_when_events_counted_then_count_max_and_window() {
        let mut w = limit(3, 60_000);
        w.record(t(0)).unwrap();
        w.record(t(1)).unwrap();
        let r = w.reading(false);
        assert_eq!(r.breaker, BreakerKind::OrderRate);
        assert!(!r.enabled && r.ready);
        assert_eq!(
            (r.value, r.limit),
            (Some(Decimal::from(2)), Some(Decimal::from(3)))
        );
        assert_eq!(r.details["window_seconds"], "60");
    }
}
