//! Pre-trade denials: more than `max_denials` orders denied by the pre-trade checks inside the
//! sliding window trips, on the denial that makes the count exceed the maximum (max 5: the 6th
//! trips). A strategy that keeps sending orders its limits refuse is misbehaving even though
//! each refusal protected the account. The gate counts its denials here as it counts
//! submissions in the [`OrderRateRule`](super::order_rate::OrderRateRule); the reset is manual by default
//! (decided by the settings, not here).

use crate::breaker::{BreakerKind, BreakerReading, Trip};
use crate::domain::InputError;
use crate::rules::windowed_limit::{Counted, WindowedLimit};
use chrono::{DateTime, Duration, Utc};

/// The pre-trade denial rule.
#[derive(Debug, Clone)]
pub struct PreTradeDenialRule {
    limit: WindowedLimit,
    last_check: Option<String>,
}

impl PreTradeDenialRule {
    /// At most `max_denials` (≥ 1) inside `window` (positive).
    ///
    /// # Panics
    ///
    /// When `max_denials` is 0 or `window` is not positive (configuration validates both).
    pub fn new(max_denials: usize, window: Duration) -> Self {
        Self {
            limit: WindowedLimit::new(
                BreakerKind::PreTrade,
                "denials",
                "pre-trade denials",
                max_denials,
                window,
            ),
            last_check: None,
        }
    }

    /// Counts a denial at `at` by the pre-trade check named `check` (`max_order_notional`...).
    /// Answers the trip when this denial made the count exceed the maximum, once per breach;
    /// its details carry `denials_in_window`, `max_denials`, `window_seconds` and `last_check`.
    /// An empty `check` or a time before the newest denial is refused and changes nothing.
    pub fn on_denial(
        &mut self,
        at: DateTime<Utc>,
        check: &str,
    ) -> Result<Option<Trip>, InputError> {
        if check.is_empty() {
            return Err(InputError::Empty { field: "check" });
        }
        let counted = self.limit.record(at)?;
        self.last_check = Some(check.to_owned());
        Ok(match counted {
            Counted::Within | Counted::Over => None,
            Counted::Tripped(trip) => Some(self.with_last_check(trip)),
        })
    }

    fn with_last_check(&self, mut trip: Trip) -> Trip {
        if let Some(check) = &self.last_check {
            trip.details.insert("last_check".into(), check.clone());
            trip.summary = format!("{}; last denied by {check}", trip.summary);
        }
        trip
    }

    /// Whether the trip condition has passed at `now` (the window holds `max_denials` or
    /// fewer); re-arms the rule when it has. Only an auto-reset breaker acts on it.
    pub fn cleared(&mut self, now: DateTime<Utc>) -> bool {
        self.limit.cleared(now)
    }

    /// Lets the rule trip again after a reset; trips at once (naming the last denial's check)
    /// if the window still exceeds the maximum at `now`.
    pub fn rearm(&mut self, now: DateTime<Utc>) -> Option<Trip> {
        self.limit.rearm(now).map(|trip| self.with_last_check(trip))
    }

    /// The reading for status pages: denials in the window as of the last denial or check
    /// (capped at `max_denials + 1`), the maximum, `window_seconds`, and `last_check` once a
    /// denial was counted.
    pub fn reading(&self, enabled: bool) -> BreakerReading {
        let mut reading = self.limit.reading(enabled);
        if let Some(check) = &self.last_check {
            reading.details.insert("last_check".into(), check.clone());
        }
        reading
    }
}

/// The pre-trade breaker's settings (`[strategy.circuit_breakers.pre_trade]`): more than `max`
/// denials in the window trips (the RTS 6 throttle); manual reset by default, so designated
/// staff re-enable the algorithm.
pub type PreTradeBreakerSettings = super::count_window::CountWindowSettings;

/// `[strategy.circuit_breakers.pre_trade]` as written: `{ max_denials, window }` (absent: off).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreTradeBreakerSection {
    /// Most denials in the window; the next one trips.
    pub max_denials: Option<i64>,
    /// The window (default 60 s).
    pub window: Option<crate::config::DurationValue>,
    /// Switch.
    pub enabled: Option<bool>,
    /// `manual` (default) | `auto`.
    pub reset: Option<crate::breaker::ResetPolicy>,
}

impl super::BreakerSpec for PreTradeDenialRule {
    type Settings = PreTradeBreakerSettings;
    type Section = PreTradeBreakerSection;
    const KIND: BreakerKind = BreakerKind::PreTrade;
    fn reset(settings: &PreTradeBreakerSettings) -> crate::breaker::ResetPolicy {
        settings.reset
    }
    fn settle(
        section: Option<&Self::Section>,
        _profile: crate::config::Profile,
        at: &dyn Fn(&str) -> String,
        problems: &mut Vec<String>,
    ) -> Option<Self::Settings> {
        // Absent: off, and a switched-off section is not read.
        let s = section.filter(|s| s.enabled.unwrap_or(true))?;
        super::count_window::CountWindowSection {
            count: s.max_denials,
            window: &s.window,
            enabled: s.enabled,
            reset: s.reset,
        }
        .settle(
            super::count_window::CountWindowDefaults {
                count_field: "max_denials",
                count: 5,
                reset: crate::breaker::ResetPolicy::Manual,
            },
            at,
            problems,
        )
    }
}

impl super::WindowBreaker for PreTradeDenialRule {
    fn limit(settings: &PreTradeBreakerSettings) -> (usize, Duration) {
        (settings.max, settings.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_700_000_000_000 + ms).unwrap()
    }

    fn five_a_minute() -> PreTradeDenialRule {
        PreTradeDenialRule::new(5, Duration::seconds(60))
    }

    #[test]
    fn test_on_denial_when_sixth_inside_window_then_trips_with_details() {
        let mut r = five_a_minute();
        for i in 0..5 {
            assert_eq!(
                r.on_denial(t(i * 1000), "max_position").unwrap(),
                None,
                "denial {}",
                i + 1
            );
        }
        let trip = r
            .on_denial(t(59_999), "max_order_notional")
            .unwrap()
            .expect("the 6th trips");
        assert_eq!(trip.breaker, BreakerKind::PreTrade);
        assert_eq!(trip.at, t(59_999));
        assert_eq!(
            (trip.value, trip.limit),
            (Decimal::from(6), Decimal::from(5))
        );
        assert_eq!(trip.details["denials_in_window"], "6");
        assert_eq!(trip.details["max_denials"], "5");
        assert_eq!(trip.details["window_seconds"], "60");
        assert_eq!(trip.details["last_check"], "max_order_notional");
        assert_eq!(
            trip.summary,
            "6 pre-trade denials within 60 s > 5; last denied by max_order_notional"
        );
    }

    #[test]
    fn test_on_denial_when_already_tripped_then_no_second_trip() {
        let mut r = five_a_minute();
        for i in 0..6 {
            r.on_denial(t(i), "price_collar").unwrap();
        }
        for i in 6..20 {
            assert_eq!(r.on_denial(t(i), "price_collar").unwrap(), None);
        }
    }

    #[test]
    fn test_on_denial_when_first_exactly_window_old_then_outside_and_no_trip() {
        let mut r = five_a_minute();
        for i in 0..5 {
            r.on_denial(t(i * 1000), "max_open_orders").unwrap();
        }
        assert_eq!(
            r.on_denial(t(60_000), "max_open_orders").unwrap(),
            None,
            "t(0) is exactly 60 s old: 5 inside"
        );
        assert!(r.on_denial(t(60_000), "max_open_orders").unwrap().is_some());
    }

    #[test]
    fn test_on_denial_when_max_one_then_second_trips() {
        let mut r = PreTradeDenialRule::new(1, Duration::seconds(1));
        assert_eq!(r.on_denial(t(0), "duplicate_order_id").unwrap(), None);
        assert!(r.on_denial(t(999), "duplicate_order_id").unwrap().is_some());
    }

    #[test]
    fn test_on_denial_when_check_empty_then_refused_and_unchanged() {
        let mut r = five_a_minute();
        r.on_denial(t(0), "max_position").unwrap();
        assert_eq!(
            r.on_denial(t(1), ""),
            Err(InputError::Empty { field: "check" })
        );
        let reading = r.reading(true);
        assert_eq!(reading.value, Some(Decimal::ONE));
        assert_eq!(reading.details["last_check"], "max_position");
    }

    #[test]
    fn test_on_denial_when_out_of_order_then_refused_and_unchanged() {
        let mut r = five_a_minute();
        r.on_denial(t(10), "max_position").unwrap();
        assert!(matches!(
            r.on_denial(t(9), "price_collar"),
            Err(InputError::OutOfOrder { .. })
        ));
        let reading = r.reading(true);
        assert_eq!(reading.value, Some(Decimal::ONE));
        assert_eq!(reading.details["last_check"], "max_position");
    }

    #[test]
    fn test_rearm_when_window_still_exceeds_then_trips_again_at_once() {
        let mut r = five_a_minute();
        for i in 0..6 {
            r.on_denial(t(i * 1000), "max_gross_exposure").unwrap();
        }
        let again = r.rearm(t(10_000)).expect("six still inside");
        assert_eq!(again.at, t(10_000));
        assert_eq!(again.details["last_check"], "max_gross_exposure");
        assert_eq!(again.details["denials_in_window"], "6");
        assert_eq!(
            r.on_denial(t(10_001), "max_gross_exposure").unwrap(),
            None,
            "latched by the rearm"
        );
    }

    #[test]
    fn test_rearm_when_window_drained_then_quiet_and_next_breach_trips() {
        let mut r = five_a_minute();
        for i in 0..6 {
            r.on_denial(t(i * 1000), "stale_reference_price").unwrap();
        }
        // At 61 s the denials at 0 s and 1 s have left: 4 inside.
        assert_eq!(r.rearm(t(61_000)), None);
        assert_eq!(r.on_denial(t(61_500), "max_order_quantity").unwrap(), None);
        let trip = r
            .on_denial(t(61_600), "max_order_quantity")
            .unwrap()
            .expect("6 inside again");
        assert_eq!(trip.details["last_check"], "max_order_quantity");
    }

    #[test]
    fn test_rearm_when_nothing_counted_then_quiet() {
        assert_eq!(five_a_minute().rearm(t(0)), None);
    }

    #[test]
    fn test_cleared_when_window_drains_then_true_once() {
        let mut r = PreTradeDenialRule::new(1, Duration::seconds(10));
        r.on_denial(t(0), "price_collar").unwrap();
        assert!(r.on_denial(t(1), "price_collar").unwrap().is_some());
        assert!(!r.cleared(t(9_999)));
        assert!(r.cleared(t(10_000)));
        assert!(!r.cleared(t(10_001)));
    }

    #[test]
    fn test_reading_when_fresh_then_zero_of_max_without_last_check() {
        let r = five_a_minute();
        let reading = r.reading(true);
        assert_eq!(reading.breaker, BreakerKind::PreTrade);
        assert_eq!(
            (reading.value, reading.limit),
            (Some(Decimal::ZERO), Some(Decimal::from(5)))
        );
        assert_eq!(reading.details["window_seconds"], "60");
        assert!(!reading.details.contains_key("last_check"));
        assert!(reading.enabled && reading.ready);
    }
}
