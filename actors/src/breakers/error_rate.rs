//! Error rate: more than `max_errors` errors of any kind inside the sliding window trips, on
//! the error that makes the count exceed the maximum. Kinds are counted and reported apiece.

use crate::breaker::{BreakerKind, BreakerReading, Rule, Trip, Verdict};
use crate::domain::{ErrorKind, InputError};
use crate::rules::sliding_window::SlidingWindow;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// One error as the breaker counts it: its kind and when the engine heard of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorArrival {
    /// Order rejection, broker error or data error.
    pub kind: ErrorKind,
    /// The engine clock's time of receipt.
    pub at: DateTime<Utc>,
}

/// The error-rate rule.
#[derive(Debug, Clone)]
pub struct ErrorRateRule {
    window: SlidingWindow<ErrorKind>,
    per_kind: [usize; 3],
    latched: bool,
}

impl ErrorRateRule {
    /// At most `max_errors` (≥ 1) inside `window` (positive).
    pub fn new(max_errors: usize, window: Duration) -> Self {
        Self {
            window: SlidingWindow::new(window, max_errors),
            per_kind: [0; 3],
            latched: false,
        }
    }

    /// Counts an error of `kind` at `at`.
    pub fn on_error(
        &mut self,
        kind: ErrorKind,
        at: DateTime<Utc>,
    ) -> Result<Option<Trip>, InputError> {
        let per_kind = &mut self.per_kind;
        let count = self
            .window
            .record(at, kind, |old| per_kind[old.slot()] -= 1)?;
        per_kind[kind.slot()] += 1;
        if count <= self.window.max() || self.latched {
            return Ok(None);
        }
        self.latched = true;
        Ok(Some(self.trip(at)))
    }

    /// Errors of each kind inside the window (as of the last error or expiry).
    pub fn counts(&self) -> BTreeMap<ErrorKind, usize> {
        ErrorKind::ALL
            .iter()
            .map(|&k| (k, self.per_kind[k.slot()]))
            .collect()
    }

    fn trip(&self, at: DateTime<Utc>) -> Trip {
        let max = self.window.max();
        let secs = self.window.window().num_seconds();
        let mut details = BTreeMap::new();
        details.insert("errors_in_window".into(), self.window.len().to_string());
        details.insert("max_errors".into(), max.to_string());
        details.insert("window_seconds".into(), secs.to_string());
        let mut kinds = Vec::new();
        for (kind, n) in self.counts() {
            details.insert(kind.as_str().into(), n.to_string());
            if n > 0 {
                kinds.push(format!("{n} {kind}"));
            }
        }
        Trip {
            breaker: BreakerKind::ErrorRate,
            at,
            value: Decimal::from(self.window.len()),
            limit: Decimal::from(max),
            summary: format!(
                "{} errors within {secs} s > {max} ({})",
                self.window.len(),
                kinds.join(", ")
            ),
            details,
        }
    }

    /// Drops errors that left the window at `now`; an auto-reset breaker clears once the count
    /// is back within the maximum. Returns whether it cleared.
    pub fn cleared(&mut self, now: DateTime<Utc>) -> bool {
        let per_kind = &mut self.per_kind;
        let count = self.window.expire(now, |old| per_kind[old.slot()] -= 1);
        if self.latched && count <= self.window.max() {
            self.latched = false;
            return true;
        }
        false
    }

    /// Lets the rule trip again after a reset; trips at once if the window still exceeds.
    pub fn rearm(&mut self, now: DateTime<Utc>) -> Option<Trip> {
        self.latched = false;
        let per_kind = &mut self.per_kind;
        self.window.expire(now, |old| per_kind[old.slot()] -= 1);
        if self.window.exceeded() {
            self.latched = true;
            return Some(self.trip(now));
        }
        None
    }

    /// The reading for status pages.
    pub fn reading(&self, enabled: bool) -> BreakerReading {
        let mut details: BTreeMap<String, String> = self
            .counts()
            .into_iter()
            .map(|(k, n)| (k.as_str().to_string(), n.to_string()))
            .collect();
        details.insert(
            "window_seconds".into(),
            self.window.window().num_seconds().to_string(),
        );
        BreakerReading {
            breaker: BreakerKind::ErrorRate,
            enabled,
            ready: true,
            value: Some(Decimal::from(self.window.len())),
            limit: Some(Decimal::from(self.window.max())),
            details,
        }
    }
}

impl Rule for ErrorRateRule {
    type Input = ErrorArrival;
    type Durable = ();

    fn kind(&self) -> BreakerKind {
        BreakerKind::ErrorRate
    }

    /// Errors are timed on receipt; two reporters racing may arrive a hair out of order, so
    /// an arrival older than the newest counts at the newest's time rather than being lost.
    fn evaluate(&mut self, e: &ErrorArrival) -> Result<Verdict, InputError> {
        let at = self.window.newest().map_or(e.at, |n| n.max(e.at));
        self.on_error(e.kind, at).map(Verdict::from)
    }

    fn on_tick(&mut self, now: DateTime<Utc>) -> Verdict {
        if self.cleared(now) {
            Verdict::Cleared
        } else {
            Verdict::Quiet
        }
    }

    fn rearm(&mut self, _rebase: bool, now: DateTime<Utc>) -> Option<Trip> {
        ErrorRateRule::rearm(self, now)
    }

    fn reading(&self, _now: DateTime<Utc>) -> BreakerReading {
        ErrorRateRule::reading(self, true)
    }
}

/// The error-rate breaker's settings (`[strategy.circuit_breakers.error_rate]`): `max` errors.
pub type ErrorRateSettings = super::count_window::CountWindowSettings;

/// `[strategy.circuit_breakers.error_rate]` as written (absent: on, with the profile's maximum).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRateSection {
    /// Most errors in the window.
    pub max_errors: Option<i64>,
    /// The window.
    pub window: Option<crate::config::DurationValue>,
    /// Switch.
    pub enabled: Option<bool>,
    /// `manual` | `auto`.
    pub reset: Option<crate::breaker::ResetPolicy>,
}

impl super::BreakerSpec for ErrorRateRule {
    type Settings = ErrorRateSettings;
    type Section = ErrorRateSection;
    const KIND: BreakerKind = BreakerKind::ErrorRate;
    const LISTED_WHEN_OFF: bool = true;
    fn reset(settings: &ErrorRateSettings) -> crate::breaker::ResetPolicy {
        settings.reset
    }
    fn settle(
        section: Option<&Self::Section>,
        profile: crate::config::Profile,
        at: &dyn Fn(&str) -> String,
        problems: &mut Vec<String>,
    ) -> Option<Self::Settings> {
        let e = section.cloned().unwrap_or_default();
        super::count_window::CountWindowSection {
            count: e.max_errors,
            window: &e.window,
            enabled: e.enabled,
            reset: e.reset,
        }
        .settle(
            super::count_window::CountWindowDefaults {
                count_field: "max_errors",
                count: profile.numbers().3,
                reset: crate::breaker::ResetPolicy::Manual,
            },
            at,
            problems,
        )
    }
}

impl super::ActorBreaker for ErrorRateRule {
    fn build(settings: &ErrorRateSettings, _: &super::RuleContext) -> Self {
        ErrorRateRule::new(settings.max, settings.window)
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
    fn test_on_error_when_11th_in_minute_then_trips_with_counts_per_kind() {
        let mut r = ErrorRateRule::new(10, Duration::seconds(60));
        let kinds = [
            ErrorKind::OrderRejected,
            ErrorKind::BrokerError,
            ErrorKind::DataError,
        ];
        for i in 0..10 {
            assert!(r
                .on_error(kinds[i % 3], t(i as i64 * 1000))
                .unwrap()
                .is_none());
        }
        let trip = r
            .on_error(ErrorKind::OrderRejected, t(10_000))
            .unwrap()
            .expect("11th trips");
        assert_eq!(trip.value, Decimal::from(11));
        assert_eq!(trip.details["order_rejected"], "5");
        assert_eq!(trip.details["broker_error"], "3");
        assert_eq!(trip.details["data_error"], "3");
        assert!(
            trip.summary.contains("5 order_rejected"),
            "{}",
            trip.summary
        );
        assert!(
            r.on_error(ErrorKind::DataError, t(10_001))
                .unwrap()
                .is_none(),
            "latched"
        );
    }

    #[test]
    fn test_on_error_when_out_of_order_then_refused_and_counts_unchanged() {
        let mut r = ErrorRateRule::new(10, Duration::seconds(60));
        r.on_error(ErrorKind::BrokerError, t(5)).unwrap();
        assert!(r.on_error(ErrorKind::BrokerError, t(4)).is_err());
        assert_eq!(r.counts()[&ErrorKind::BrokerError], 1);
    }

    #[test]
    fn test_cleared_when_errors_age_out_then_per_kind_counts_fall() {
        let mut r = ErrorRateRule::new(1, Duration::seconds(60));
        r.on_error(ErrorKind::BrokerError, t(0)).unwrap();
        assert!(r.on_error(ErrorKind::DataError, t(1)).unwrap().is_some());
        assert!(r.cleared(t(60_000)));
        assert_eq!(r.counts()[&ErrorKind::BrokerError], 0);
        assert_eq!(r.counts()[&ErrorKind::DataError], 1);
        assert!(r.rearm(t(60_001)).is_none());
    }

    proptest! {
        /// Per-kind running totals never drift from a recount of the window (no negative or
        /// stale counters on eviction).
        #[test]
        fn prop_per_kind_counts_match_recount(
            events in proptest::collection::vec((0i64..2_000, 0usize..3), 1..300),
            max in 1usize..15,
        ) {
            let mut r = ErrorRateRule::new(max, Duration::seconds(3));
            let mut all: Vec<(DateTime<Utc>, ErrorKind)> = Vec::new();
            let mut now = 0;
            for (gap, k) in events {
                now += gap;
                let kind = ErrorKind::ALL[k];
                let at = t(now);
                all.push((at, kind));
                let tripped = r.on_error(kind, at).unwrap().is_some();
                let inside: Vec<_> = all.iter().filter(|(e, _)| *e > at - Duration::seconds(3)).collect();
                if inside.len() <= max + 1 {
                    for k in ErrorKind::ALL {
                        prop_assert_eq!(r.counts()[&k], inside.iter().filter(|(_, x)| *x == k).count());
                    }
                }
                if tripped {
                    prop_assert!(inside.len() > max);
                }
                let total: usize = r.counts().values().sum();
                prop_assert_eq!(total, inside.len().min(max + 1));
            }
        }
    }
}
