//! Drawdown = (value − high-water mark) / high-water mark; trips when drawdown ≤ threshold,
//! and when there is no positive high-water mark to judge a value against.

use crate::breaker::{BreakerKind, BreakerReading, Rule, Trip, Verdict};
use crate::domain::InputError;
use crate::domain::Valuation;
use crate::rules::exact;
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
///
/// A value may be zero or negative (a margin account's equity after losses): against a
/// positive high-water mark it is a drawdown below −100% and trips. Without a positive
/// high-water mark (a first value ≤ 0) the drawdown cannot be judged, and the rule trips with
/// that reason: fail closed, never refused and never ignored. The comparison is exact at every
/// scale (see [`crate::rules::exact`]); the figures a trip reports never read the other side of the
/// limit.
#[derive(Debug, Clone)]
pub struct DrawdownRule {
    threshold: Decimal,
    /// The highest value seen, once a positive one has been: a drawdown is measured from a
    /// positive peak only.
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

    /// Restores the high-water mark from a checkpoint (a mark that is not positive, which no
    /// version wrote, is no mark).
    pub fn restore(&mut self, state: DrawdownState) {
        self.high_water_mark =
            (state.high_water_mark > Decimal::ZERO).then_some(state.high_water_mark);
    }

    /// The durable part, once a positive value has been seen.
    pub fn durable_state(&self) -> Option<DrawdownState> {
        self.high_water_mark
            .map(|high_water_mark| DrawdownState { high_water_mark })
    }

    /// The high-water mark, if a positive value has been seen.
    pub fn high_water_mark(&self) -> Option<Decimal> {
        self.high_water_mark
    }

    /// The drawdown of the last snapshot, as a ratio (≤ 0; below −1 for a value below zero),
    /// `Decimal::MIN` when it is too large for a decimal. `None` before a snapshot and without
    /// a positive high-water mark.
    pub fn drawdown(&self) -> Option<Decimal> {
        let (value, _) = self.last?;
        let hwm = self.high_water_mark?;
        Some(ratio(value, hwm).unwrap_or(Decimal::MIN))
    }

    /// Judges a snapshot. Refuses timestamps older than the last one, changing nothing. Trips
    /// once per breach: it stays latched until [`Self::rearm`].
    pub fn on_snapshot(
        &mut self,
        value: Decimal,
        at: DateTime<Utc>,
    ) -> Result<Option<Trip>, InputError> {
        if let Some((_, previous)) = self.last {
            if at < previous {
                return Err(InputError::OutOfOrder {
                    field: "timestamp",
                    value: at,
                    previous,
                });
            }
        }
        if value > Decimal::ZERO {
            self.high_water_mark = Some(self.high_water_mark.map_or(value, |h| h.max(value)));
        }
        self.last = Some((value, at));
        Ok(self.judge_last(at))
    }

    /// Judges the last snapshot again (after a reset).
    pub fn judge_last(&mut self, at: DateTime<Utc>) -> Option<Trip> {
        let (value, _) = self.last?;
        if self.latched {
            return None;
        }
        let Some(hwm) = self.high_water_mark else {
            self.latched = true;
            return Some(self.unjudged(value, at, "no positive high-water mark"));
        };
        // Compare by multiplication so that "exactly at the threshold" is exact, with no
        // rounding from the division; and on exact numbers, because Decimal's own product
        // rounds below its 28th decimal (−0.1 × 1E-28 is 0, which tripped a first value of
        // 1E-28 at "drawdown 0% <= -10%").
        if !exact::diff_at_most_product(value, hwm, self.threshold, hwm) {
            return None;
        }
        self.latched = true;
        let drawdown = crate::rules::reported_ratio(ratio(value, hwm), self.threshold);
        let (drawdown_text, threshold_text) =
            crate::rules::percent_against(drawdown, self.threshold);
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
                "drawdown {drawdown_text} <= {threshold_text} (value {value}, high-water mark {hwm})"
            ),
            details,
        })
    }

    /// Trips because a value cannot be judged, for `reason` (a firm's sum that does not fit a
    /// decimal): fail closed. Latched like any trip: `None` when already latched.
    pub fn trip_unjudged(
        &mut self,
        value: Decimal,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Option<Trip> {
        if self.latched {
            return None;
        }
        self.latched = true;
        Some(self.unjudged(value, at, reason))
    }

    /// The trip of a value that cannot be judged (no positive high-water mark to measure a
    /// drawdown from). Its `value` is the portfolio value.
    fn unjudged(&self, value: Decimal, at: DateTime<Utc>, reason: &str) -> Trip {
        let mut details = BTreeMap::new();
        details.insert("portfolio_value".into(), value.to_string());
        details.insert("threshold".into(), self.threshold.to_string());
        details.insert("reason".into(), reason.into());
        Trip {
            breaker: BreakerKind::Drawdown,
            at,
            value,
            limit: self.threshold,
            summary: format!("drawdown cannot be judged: value {value}, {reason} (fail closed)"),
            details,
        }
    }

    /// Lets the rule trip again. With `rebase`, the high-water mark becomes the last value
    /// (none when that is ≤ 0: the next judgment fails closed).
    pub fn rearm(&mut self, rebase: bool) {
        self.latched = false;
        if rebase {
            if let Some((value, _)) = self.last {
                // A value ≤ 0 is no peak to measure from: the rule goes on failing closed.
                self.high_water_mark = (value > Decimal::ZERO).then_some(value);
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

/// `(value − hwm) / hwm` as a decimal, `None` when it does not fit one.
fn ratio(value: Decimal, hwm: Decimal) -> Option<Decimal> {
    value.checked_sub(hwm)?.checked_div(hwm)
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

/// The drawdown breaker's settings (`[strategy.circuit_breakers.drawdown]`).
#[derive(Debug, Clone, PartialEq)]
pub struct DrawdownSettings {
    /// Trips at drawdown ≤ threshold, a ratio in (−1, 0).
    pub threshold: Decimal,
    /// How it resets.
    pub reset: crate::breaker::ResetPolicy,
}

/// `[strategy.circuit_breakers.drawdown]` as written (absent: on, with the profile's threshold).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawdownSection {
    /// Trips at drawdown ≤ threshold.
    pub threshold: Option<crate::config::DecimalValue>,
    /// Switch.
    pub enabled: Option<bool>,
    /// `manual` | `auto`.
    pub reset: Option<crate::breaker::ResetPolicy>,
}

impl super::BreakerSpec for DrawdownRule {
    type Settings = DrawdownSettings;
    type Section = DrawdownSection;
    const KIND: BreakerKind = BreakerKind::Drawdown;
    const LISTED_WHEN_OFF: bool = true;
    fn reset(settings: &DrawdownSettings) -> crate::breaker::ResetPolicy {
        settings.reset
    }
    fn settle(
        section: Option<&Self::Section>,
        profile: crate::config::Profile,
        at: &dyn Fn(&str) -> String,
        problems: &mut Vec<String>,
    ) -> Option<Self::Settings> {
        let d = section.cloned().unwrap_or_default();
        let threshold = d
            .threshold
            .as_ref()
            .and_then(|v| v.to_decimal(&at("threshold"), problems))
            .unwrap_or(profile.numbers().0);
        if threshold <= Decimal::NEGATIVE_ONE || threshold >= Decimal::ZERO {
            problems.push(format!(
                "{}: {threshold} must be a ratio in (-1, 0), e.g. \"-0.10\" for a 10% drawdown",
                at("threshold")
            ));
        }
        d.enabled.unwrap_or(true).then_some(DrawdownSettings {
            threshold,
            reset: d.reset.unwrap_or(crate::breaker::ResetPolicy::Manual),
        })
    }
}

impl super::ActorBreaker for DrawdownRule {
    const NEEDS_FIRST_INPUT: bool = true;
    fn build(settings: &DrawdownSettings, _: &super::RuleContext) -> Self {
        DrawdownRule::new(settings.threshold)
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
    fn test_on_snapshot_when_zero_after_positive_then_trips_at_minus_100_percent() {
        let mut r = DrawdownRule::new(dec!(-0.10));
        r.on_snapshot(dec!(100), t(0)).unwrap();
        let trip = r
            .on_snapshot(dec!(0), t(1))
            .unwrap()
            .expect("0 after 100 trips");
        assert_eq!((trip.value, trip.limit), (dec!(-1), dec!(-0.10)));
        assert!(
            trip.summary.starts_with("drawdown -100% <= -10%"),
            "{}",
            trip.summary
        );
        assert_eq!(r.high_water_mark(), Some(dec!(100)));
        assert_eq!(r.drawdown(), Some(dec!(-1)));
    }

    #[test]
    fn test_on_snapshot_when_minus_80_after_100_then_trips_below_minus_100_percent() {
        let mut r = DrawdownRule::new(dec!(-0.10));
        r.on_snapshot(dec!(100), t(0)).unwrap();
        let trip = r
            .on_snapshot(dec!(-80), t(1))
            .unwrap()
            .expect("-80 after 100 trips");
        assert_eq!(trip.value, dec!(-1.8));
        assert_eq!(trip.details["portfolio_value"], "-80");
        assert_eq!(trip.details["high_water_mark"], "100");
        assert!(
            trip.summary.starts_with("drawdown -180% <= -10%"),
            "{}",
            trip.summary
        );
        assert_eq!(r.drawdown(), Some(dec!(-1.8)));
        // Still judged after a reset: the condition holds, it trips again.
        r.rearm(false);
        assert!(r.judge_last(t(2)).is_some());
    }

    #[test]
    fn test_on_snapshot_when_first_value_not_positive_then_trips_cannot_be_judged() {
        for first in [dec!(0), dec!(-80), -Decimal::new(1, 28), Decimal::MIN] {
            let mut r = DrawdownRule::new(dec!(-0.10));
            let trip = r
                .on_snapshot(first, t(0))
                .unwrap()
                .unwrap_or_else(|| panic!("a first value of {first} trips"));
            assert_eq!(trip.breaker, BreakerKind::Drawdown);
            assert_eq!(trip.value, first);
            assert_eq!(trip.details["reason"], "no positive high-water mark");
            assert!(
                trip.summary.starts_with("drawdown cannot be judged: value"),
                "{}",
                trip.summary
            );
            assert_eq!(r.high_water_mark(), None);
            assert_eq!(r.durable_state(), None);
            assert_eq!(r.drawdown(), None);
            assert!(r.has_input(), "judged (fail closed), not ignored");
            // After a reset, still no positive mark: it trips again, even rebased.
            r.rearm(true);
            assert!(r.judge_last(t(1)).is_some());
            // A positive value gives it a mark to judge from.
            r.rearm(false);
            assert_eq!(r.on_snapshot(dec!(50), t(2)).unwrap(), None);
            assert_eq!(r.high_water_mark(), Some(dec!(50)));
        }
    }

    #[test]
    fn test_on_snapshot_when_first_value_tiny_then_judged_exactly() {
        // 1E-28 used to trip at once: −0.1 × 1E-28 rounds to 0 in Decimal, and 0 <= 0.
        let tiny = Decimal::new(1, 28);
        let mut r = DrawdownRule::new(dec!(-0.10));
        assert_eq!(r.on_snapshot(tiny, t(0)).unwrap(), None);
        assert_eq!(r.high_water_mark(), Some(tiny));
        assert_eq!(r.drawdown(), Some(dec!(0)));
        assert_eq!(r.on_snapshot(tiny, t(1)).unwrap(), None);
        // A fall from 1E-28 to zero is −100%.
        let trip = r
            .on_snapshot(dec!(0), t(2))
            .unwrap()
            .expect("to zero trips");
        assert_eq!(trip.value, dec!(-1));
        // And −1E-28 is −200%.
        let mut r = DrawdownRule::new(dec!(-0.10));
        r.on_snapshot(tiny, t(0)).unwrap();
        let trip = r
            .on_snapshot(-tiny, t(1))
            .unwrap()
            .expect("below zero trips");
        assert_eq!(trip.value, dec!(-2));
        assert!(
            trip.summary.starts_with("drawdown -200% <= -10%"),
            "{}",
            trip.summary
        );
    }

    #[test]
    fn test_on_snapshot_when_tiny_threshold_and_tiny_values_then_exact_both_sides() {
        // Threshold −1E-28 on a mark of 1: trips only at a fall of 1E-28 or more, which Decimal
        // can hold; on a mark of 2, 2 − 1E-28 is −0.5E-28: not a breach.
        let tiny = Decimal::new(1, 28);
        let mut r = DrawdownRule::new(-tiny);
        r.on_snapshot(dec!(1), t(0)).unwrap();
        let trip = r
            .on_snapshot(Decimal::ONE - tiny, t(1))
            .unwrap()
            .expect("at the threshold");
        assert!(trip.value <= trip.limit, "{trip:?}");
        let mut r = DrawdownRule::new(-tiny);
        r.on_snapshot(dec!(2), t(0)).unwrap();
        assert_eq!(r.on_snapshot(dec!(2) - tiny, t(1)).unwrap(), None);
    }

    #[test]
    fn test_on_snapshot_when_huge_mark_and_value_far_below_zero_then_trips_without_overflow() {
        let mut r = DrawdownRule::new(dec!(-0.10));
        r.on_snapshot(Decimal::new(1, 28), t(0)).unwrap();
        // (MIN − 1E-28) / 1E-28 does not fit a decimal: reported at the bound, still a trip.
        let trip = r.on_snapshot(Decimal::MIN, t(1)).unwrap().expect("trips");
        assert_eq!(trip.value, Decimal::MIN);
        assert!(trip.value <= trip.limit);
        assert_eq!(r.drawdown(), Some(Decimal::MIN));
        let mut r = DrawdownRule::new(dec!(-0.10));
        r.on_snapshot(Decimal::MAX, t(0)).unwrap();
        assert!(r.on_snapshot(Decimal::MIN, t(1)).unwrap().is_some());
        assert_eq!(r.drawdown(), Some(Decimal::MIN));
    }

    #[test]
    fn test_judge_last_when_threshold_has_many_decimals_then_message_keeps_order() {
        // Rounded to two decimals the ratio would read -10.02% against a limit of -10.03%.
        let mut r = DrawdownRule::new(dec!(-0.10025001));
        r.on_snapshot(dec!(100000000), t(0)).unwrap();
        let trip = r
            .on_snapshot(dec!(89974999), t(1))
            .unwrap()
            .expect("at the threshold");
        assert_eq!(trip.value, dec!(-0.10025001));
        assert!(
            trip.summary
                .starts_with("drawdown -10.025001% <= -10.025001%"),
            "{}",
            trip.summary
        );
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
