//! Order rate: more than `max_orders` submissions inside the sliding window trips, on the
//! submission that makes the count exceed the maximum, and that submission is itself refused.

use crate::breaker::{BreakerKind, BreakerReading, Trip};
use crate::domain::InputError;
use crate::rules::windowed_limit::{Counted, WindowedLimit};
use chrono::{DateTime, Duration, Utc};

/// The order-rate rule's answer to one submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderVerdict {
    /// Inside the limit.
    WithinLimit,
    /// Over the limit: refuse the order. Carries the trip when this submission caused it.
    OverLimit(Option<Trip>),
}

/// The order-rate rule.
#[derive(Debug, Clone)]
pub struct OrderRateRule {
    limit: WindowedLimit,
}

impl OrderRateRule {
    /// At most `max_orders` (≥ 1) inside `window` (positive).
    pub fn new(max_orders: usize, window: Duration) -> Self {
        Self {
            limit: WindowedLimit::new(
                BreakerKind::OrderRate,
                "orders",
                "orders",
                max_orders,
                window,
            ),
        }
    }

    /// Counts a submission at `at`.
    pub fn on_submission(&mut self, at: DateTime<Utc>) -> Result<OrderVerdict, InputError> {
        Ok(match self.limit.record(at)? {
            Counted::Within => OrderVerdict::WithinLimit,
            Counted::Over => OrderVerdict::OverLimit(None),
            Counted::Tripped(trip) => OrderVerdict::OverLimit(Some(trip)),
        })
    }

    /// Whether the trip condition has passed at `now` (the window holds `max` or fewer):
    /// an auto-reset breaker clears then. Re-arms the rule when it has.
    pub fn cleared(&mut self, now: DateTime<Utc>) -> bool {
        self.limit.cleared(now)
    }

    /// Lets the rule trip again after a reset; trips at once if the window still exceeds.
    pub fn rearm(&mut self, now: DateTime<Utc>) -> Option<Trip> {
        self.limit.rearm(now)
    }

    /// The reading for status pages.
    pub fn reading(&self, enabled: bool) -> BreakerReading {
        self.limit.reading(enabled)
    }
}

/// The order-rate breaker's settings (`[strategy.circuit_breakers.order_rate]`): `max` orders.
pub type OrderRateSettings = super::count_window::CountWindowSettings;

/// `[strategy.circuit_breakers.order_rate]` as written (absent: on, with the profile's maximum).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRateSection {
    /// Most orders in the window.
    pub max_orders: Option<i64>,
    /// The window.
    pub window: Option<crate::config::DurationValue>,
    /// Switch.
    pub enabled: Option<bool>,
    /// `manual` | `auto`.
    pub reset: Option<crate::breaker::ResetPolicy>,
}

impl super::BreakerSpec for OrderRateRule {
    type Settings = OrderRateSettings;
    type Section = OrderRateSection;
    const KIND: BreakerKind = BreakerKind::OrderRate;
    const LISTED_WHEN_OFF: bool = true;
    fn reset(settings: &OrderRateSettings) -> crate::breaker::ResetPolicy {
        settings.reset
    }
    fn settle(
        section: Option<&Self::Section>,
        profile: crate::config::Profile,
        at: &dyn Fn(&str) -> String,
        problems: &mut Vec<String>,
    ) -> Option<Self::Settings> {
        let o = section.cloned().unwrap_or_default();
        super::count_window::CountWindowSection {
            count: o.max_orders,
            window: &o.window,
            enabled: o.enabled,
            reset: o.reset,
        }
        .settle(
            super::count_window::CountWindowDefaults {
                count_field: "max_orders",
                count: profile.numbers().2,
                reset: crate::breaker::ResetPolicy::Auto,
            },
            at,
            problems,
        )
    }
}

impl super::WindowBreaker for OrderRateRule {
    fn limit(settings: &OrderRateSettings) -> (usize, Duration) {
        (settings.max, settings.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use OrderVerdict::OverLimit;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap()
    }

    #[test]
    fn test_on_submission_when_101st_in_minute_then_trips_and_refuses_it() {
        let mut r = OrderRateRule::new(100, Duration::seconds(60));
        for i in 0..100 {
            assert_eq!(
                r.on_submission(t(i * 400)).unwrap(),
                OrderVerdict::WithinLimit,
                "order {}",
                i + 1
            );
        }
        let OrderVerdict::OverLimit(Some(trip)) = r.on_submission(t(40_000)).unwrap() else {
            panic!("the 101st order must trip");
        };
        assert_eq!(trip.value, Decimal::from(101));
        assert_eq!(trip.breaker, BreakerKind::OrderRate);
        assert_eq!(trip.summary, "101 orders within 60 s > 100");
        assert_eq!(trip.details["orders_in_window"], "101");
        assert_eq!(trip.details["max_orders"], "100");
        assert_eq!(trip.details["window_seconds"], "60");
        assert_eq!(
            r.on_submission(t(40_001)).unwrap(),
            OrderVerdict::OverLimit(None)
        );
    }

    #[test]
    fn test_on_submission_when_spread_over_window_then_no_trip() {
        let mut r = OrderRateRule::new(100, Duration::seconds(60));
        for i in 0..1000 {
            assert_eq!(
                r.on_submission(t(i * 600)).unwrap(),
                OrderVerdict::WithinLimit
            );
        }
    }

    #[test]
    fn test_cleared_when_window_drains_then_rearms() {
        let mut r = OrderRateRule::new(2, Duration::seconds(10));
        r.on_submission(t(0)).unwrap();
        r.on_submission(t(1)).unwrap();
        assert!(matches!(
            r.on_submission(t(2)).unwrap(),
            OrderVerdict::OverLimit(Some(_))
        ));
        assert!(!r.cleared(t(9_999)));
        assert!(
            r.cleared(t(10_000)),
            "the first order left the window: 2 remain"
        );
        // t(1) has left too; t(2) and this one are inside: within the limit again.
        assert_eq!(
            r.on_submission(t(10_001)).unwrap(),
            OrderVerdict::WithinLimit
        );
        assert!(
            matches!(r.on_submission(t(10_001)).unwrap(), OverLimit(Some(_))),
            "t(2) and two at t(10_001): 3 > 2"
        );
    }

    #[test]
    fn test_rearm_when_still_exceeded_then_trips_again() {
        let mut r = OrderRateRule::new(1, Duration::seconds(10));
        r.on_submission(t(0)).unwrap();
        r.on_submission(t(1)).unwrap();
        assert!(r.rearm(t(2)).is_some());
        assert!(r.rearm(t(10_001)).is_none());
    }
}
