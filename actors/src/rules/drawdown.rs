//! Drawdown = (value − high-water mark) / high-water mark; trips when drawdown ≤ threshold.

use crate::breaker::{BreakerKind, BreakerReading, Rule, Trip, Verdict};
use crate::domain::InputError;
use crate::domain::Valuation;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What survives a restart: the high-water mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawdownState {
    /// Highest portfolio value seen.
    pub high_water_mark: Decimal,
}

/// The drawdown rule.
#[derive(Debug, Clone)]
pub struct DrawdownRule {
    threshold: Decimal,
    high_water_mark: Option<Decimal>,
    last: Option<(Decimal, DateTime<Utc>)>,
    latched: bool,
}

impl DrawdownRule {
    /// A rule tripping at `threshold` (a ratio in (−1, 0), e.g. −0.10).
    pub fn new(threshold: Decimal) -> Self {
        Self {
            threshold,
            high_water_mark: None,
            last: None,
            latched: false,
        }
    }

    /// Restores the high-water mark from a checkpoint.
    pub fn restore(&mut self, state: DrawdownState) {
        self.high_water_mark = Some(state.high_water_mark);
    }

    /// The durable part, once a snapshot has been seen.
    pub fn durable_state(&self) -> Option<DrawdownState> {
        self.high_water_mark
            .map(|high_water_mark| DrawdownState { high_water_mark })
    }

    /// The high-water mark, if known.
    pub fn high_water_mark(&self) -> Option<Decimal> {
        self.high_water_mark
    }

    /// The drawdown of the last snapshot, as a ratio (≤ 0).
    pub fn drawdown(&self) -> Option<Decimal> {
        let (value, _) = self.last?;
        let hwm = self.high_water_mark?;
        Some((value - hwm) / hwm)
    }

    /// Judges a snapshot. Refuses non-positive values and timestamps older than the last one,
    /// changing nothing. Trips once per breach: it stays latched until [`Self::rearm`].
    pub fn on_snapshot(
        &mut self,
        value: Decimal,
        at: DateTime<Utc>,
    ) -> Result<Option<Trip>, InputError> {
        if value <= Decimal::ZERO {
            return Err(InputError::NotPositive {
                field: "portfolio_value",
                value,
            });
        }
        if let Some((_, previous)) = self.last {
            if at < previous {
                return Err(InputError::OutOfOrder {
                    field: "timestamp",
                    value: at,
                    previous,
                });
            }
        }
        let hwm = self.high_water_mark.map_or(value, |h| h.max(value));
        self.high_water_mark = Some(hwm);
        self.last = Some((value, at));
        Ok(self.judge_last(at))
    }

    /// Judges the last snapshot again (after a reset).
    pub fn judge_last(&mut self, at: DateTime<Utc>) -> Option<Trip> {
        let (value, _) = self.last?;
        let hwm = self.high_water_mark?;
        // Compare by multiplication so that "exactly at the threshold" is exact, with no
        // rounding from the division.
        let breached = value - hwm <= self.threshold * hwm;
        if !breached || self.latched {
            return None;
        }
        self.latched = true;
        let drawdown = ((value - hwm) / hwm).round_dp(6).normalize();
        let mut details = BTreeMap::new();
        details.insert("drawdown".into(), drawdown.to_string());
        details.insert("threshold".into(), self.threshold.to_string());
        details.insert("portfolio_value".into(), value.to_string());
        details.insert("high_water_mark".into(), hwm.to_string());
        Some(Trip {
            breaker: BreakerKind::Drawdown,
            at,
            value: drawdown,
            limit: self.threshold,
            summary: format!(
                "drawdown {} <= {} (value {value}, high-water mark {hwm})",
                super::percent(drawdown),
                super::percent(self.threshold)
            ),
            details,
        })
    }

    /// Lets the rule trip again. With `rebase`, the high-water mark becomes the last value.
    pub fn rearm(&mut self, rebase: bool) {
        self.latched = false;
        if rebase {
            if let Some((value, _)) = self.last {
                self.high_water_mark = Some(value);
            }
        }
    }

    /// Whether a snapshot has been seen since start (fail closed until then).
    pub fn has_input(&self) -> bool {
        self.last.is_some()
    }

    /// The reading for status pages.
    pub fn reading(&self, enabled: bool) -> BreakerReading {
        let mut details = BTreeMap::new();
        if let Some(h) = self.high_water_mark {
            details.insert("high_water_mark".into(), h.to_string());
        }
        BreakerReading {
            breaker: BreakerKind::Drawdown,
            enabled,
            ready: self.has_input(),
            value: self.drawdown().map(|d| d.round_dp(6).normalize()),
            limit: Some(self.threshold),
            details,
        }
    }
}

impl Rule for DrawdownRule {
    type Input = Valuation;
    type Durable = DrawdownState;

    fn kind(&self) -> BreakerKind {
        BreakerKind::Drawdown
    }

    fn evaluate(&mut self, v: &Valuation) -> Result<Verdict, InputError> {
        self.on_snapshot(v.value, v.at).map(Verdict::from)
    }

    fn durable_state(&self) -> Option<DrawdownState> {
        DrawdownRule::durable_state(self)
    }

    fn restore(&mut self, state: DrawdownState) {
        DrawdownRule::restore(self, state)
    }

    fn rearm(&mut self, rebase: bool, now: DateTime<Utc>) -> Option<Trip> {
        DrawdownRule::rearm(self, rebase);
        self.judge_last(now)
    }

    fn has_input(&self) -> bool {
        DrawdownRule::has_input(self)
    }

    fn reading(&self, _now: DateTime<Utc>) -> BreakerReading {
        DrawdownRule::reading(self, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use rust_decimal_macros::dec;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn test_on_snapshot_when_first_then_hwm_is_value_and_no_trip() {
        let mut r = DrawdownRule::new(dec!(-0.10));
        assert_eq!(r.on_snapshot(dec!(100000), t(0)).unwrap(), None);
        assert_eq!(r.high_water_mark(), Some(dec!(100000)));
        assert_eq!(r.drawdown(), Some(dec!(0)));
    }

    #[test]
    fn test_on_snapshot_when_exactly_at_threshold_then_trips() {
        let mut r = DrawdownRule::new(dec!(-0.10));
        r.on_snapshot(dec!(100000), t(0)).unwrap();
        let trip = r
            .on_snapshot(dec!(90000), t(1))
            .unwrap()
            .expect("trips at exactly -10%");
        assert_eq!(trip.breaker, BreakerKind::Drawdown);
        assert_eq!(trip.value, dec!(-0.1));
        assert_eq!(trip.details["high_water_mark"], "100000");
        assert!(trip.summary.contains("-10%"), "{}", trip.summary);
    }

    #[test]
    fn test_on_snapshot_when_one_cent_above_threshold_then_no_trip() {
        let mut r = DrawdownRule::new(dec!(-0.10));
        r.on_snapshot(dec!(100000.00), t(0)).unwrap();
        assert_eq!(r.on_snapshot(dec!(90000.01), t(1)).unwrap(), None);
    }

    #[test]
    fn test_on_snapshot_when_one_cent_below_threshold_then_trips() {
        let mut r = DrawdownRule::new(dec!(-0.10));
        r.on_snapshot(dec!(100000.00), t(0)).unwrap();
        assert!(r.on_snapshot(dec!(89999.99), t(1)).unwrap().is_some());
    }

    #[test]
    fn test_on_snapshot_when_high_precision_then_exact() {
        // A threshold and values with many decimals: the comparison must not round.
        let mut r = DrawdownRule::new(dec!(-0.1234567890123));
        r.on_snapshot(dec!(1000000.000000001), t(0)).unwrap();
        let at_threshold = dec!(1000000.000000001) * (Decimal::ONE + dec!(-0.1234567890123));
        assert!(r
            .on_snapshot(at_threshold + dec!(0.000000001), t(1))
            .unwrap()
            .is_none());
        assert!(r.on_snapshot(at_threshold, t(2)).unwrap().is_some());
    }

    #[test]
    fn test_on_snapshot_when_hwm_rises_then_drawdown_from_new_peak() {
        let mut r = DrawdownRule::new(dec!(-0.10));
        r.on_snapshot(dec!(100), t(0)).unwrap();
        r.on_snapshot(dec!(200), t(1)).unwrap();
        assert_eq!(r.on_snapshot(dec!(181), t(2)).unwrap(), None);
        assert!(r.on_snapshot(dec!(180), t(3)).unwrap().is_some());
    }

    #[test]
    fn test_on_snapshot_when_non_positive_then_refused_and_unchanged() {
        let mut r = DrawdownRule::new(dec!(-0.10));
        r.on_snapshot(dec!(100), t(0)).unwrap();
        for bad in [dec!(0), dec!(-1)] {
            let err = r.on_snapshot(bad, t(1)).unwrap_err();
            assert!(matches!(
                err,
                InputError::NotPositive {
                    field: "portfolio_value",
                    ..
                }
            ));
        }
        assert_eq!(r.high_water_mark(), Some(dec!(100)));
        assert_eq!(r.drawdown(), Some(dec!(0)));
    }

    #[test]
    fn test_on_snapshot_when_out_of_order_then_refused_and_unchanged() {
        let mut r = DrawdownRule::new(dec!(-0.10));
        r.on_snapshot(dec!(100), t(10)).unwrap();
        let err = r.on_snapshot(dec!(50), t(9)).unwrap_err();
        assert!(matches!(err, InputError::OutOfOrder { .. }));
        assert_eq!(r.drawdown(), Some(dec!(0)));
        // Equal timestamps are in order.
        assert!(r.on_snapshot(dec!(100), t(10)).is_ok());
    }

    #[test]
    fn test_on_snapshot_when_latched_then_trips_once_until_rearmed() {
        let mut r = DrawdownRule::new(dec!(-0.10));
        r.on_snapshot(dec!(100), t(0)).unwrap();
        assert!(r.on_snapshot(dec!(80), t(1)).unwrap().is_some());
        assert!(r.on_snapshot(dec!(79), t(2)).unwrap().is_none());
        r.rearm(false);
        assert!(
            r.judge_last(t(3)).is_some(),
            "condition still holds after reset: trips again"
        );
    }

    #[test]
    fn test_rearm_when_rebase_then_hwm_is_last_value() {
        let mut r = DrawdownRule::new(dec!(-0.10));
        r.on_snapshot(dec!(100), t(0)).unwrap();
        r.on_snapshot(dec!(80), t(1)).unwrap();
        r.rearm(true);
        assert_eq!(r.high_water_mark(), Some(dec!(80)));
        assert!(r.judge_last(t(2)).is_none());
    }

    #[test]
    fn test_restore_when_checkpointed_hwm_then_drawdown_from_it() {
        let mut r = DrawdownRule::new(dec!(-0.10));
        r.restore(DrawdownState {
            high_water_mark: dec!(1000),
        });
        assert!(!r.has_input());
        assert!(r
            .on_snapshot(dec!(900), t(0) + Duration::seconds(1))
            .unwrap()
            .is_some());
    }
}
