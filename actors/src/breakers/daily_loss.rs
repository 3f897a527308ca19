//! Daily loss = value − value at the session's open (the first snapshot at or after the open);
//! trips when the loss reaches the limit, as an amount or as a fraction of the open value. A
//! fraction of an open value ≤ 0 cannot be judged: the rule trips with that reason.

use crate::breaker::{BreakerKind, BreakerReading, Rule, Trip, Verdict};
use crate::domain::InputError;
use crate::domain::Valuation;
use crate::rules::exact;
use crate::rules::market_session::{MarketSession, SessionSpan};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The daily loss limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DailyLossLimit {
    /// A fraction of the open value in (−1, 0): −0.05 is a 5% loss.
    Fraction(Decimal),
    /// An amount below zero: −5000.
    Amount(Decimal),
}

/// What survives a restart: the session and its open value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyLossState {
    /// The session's local date.
    pub session_date: NaiveDate,
    /// The value of the first snapshot at or after the open.
    pub open_value: Decimal,
}

/// The daily loss rule.
#[derive(Debug, Clone)]
pub struct DailyLossRule {
    limit: DailyLossLimit,
    market: MarketSession,
    session: Option<DailyLossState>,
    last: Option<(Decimal, DateTime<Utc>)>,
    latched: bool,
    // The span of time over which `session_of` is constant: time-zone arithmetic on every
    // snapshot cost more than the rest of the rule.
    span: Option<SessionSpan>,
}

impl DailyLossRule {
    /// A rule with `limit` on `market`'s sessions.
    pub fn new(limit: DailyLossLimit, market: MarketSession) -> Self {
        Self {
            limit,
            market,
            session: None,
            last: None,
            latched: false,
            span: None,
        }
    }

    /// The session `at` belongs to, from the cached span when `at` falls inside it.
    fn session_of(&mut self, at: DateTime<Utc>) -> Option<NaiveDate> {
        match self.span {
            Some(s) if s.contains(at) => s.session,
            _ => {
                let s = self.market.session_span(at);
                self.span = Some(s);
                s.session
            }
        }
    }

    /// Restores the session from a checkpoint.
    pub fn restore(&mut self, state: DailyLossState) {
        self.session = Some(state);
    }

    /// The durable part, once a session has opened.
    pub fn durable_state(&self) -> Option<DailyLossState> {
        self.session
    }

    /// The market calendar.
    pub fn market(&self) -> &MarketSession {
        &self.market
    }

    /// Profit or loss since the open of the current session, if one is open.
    pub fn daily_pnl(&self) -> Option<Decimal> {
        let (value, at) = self.last?;
        let session = self.session?;
        (self.market.session_of(at) == Some(session.session_date))
            .then(|| pnl_of(value, session.open_value))
    }

    /// Judges a snapshot (any value: zero and below included); refuses out-of-order
    /// timestamps, changing nothing. A snapshot outside any session counts toward none.
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
        self.last = Some((value, at));
        let Some(date) = self.session_of(at) else {
            return Ok(None);
        };
        if self.session.map(|s| s.session_date) != Some(date) {
            self.session = Some(DailyLossState {
                session_date: date,
                open_value: value,
            });
        }
        Ok(self.judge_last(at))
    }

    /// Forgets the previous session at the open: the next snapshot sets the open value.
    /// Returns whether anything changed.
    pub fn on_session_open(&mut self, at: DateTime<Utc>) -> bool {
        match (self.market.session_of(at), self.session) {
            (Some(date), Some(s)) if s.session_date != date => {
                self.session = None;
                true
            }
            _ => false,
        }
    }

    /// Judges the last snapshot again (after a reset).
    pub fn judge_last(&mut self, at: DateTime<Utc>) -> Option<Trip> {
        let (value, last_at) = self.last?;
        let session = self.session?;
        if self.latched || self.session_of(last_at) != Some(session.session_date) {
            return None;
        }
        let open = session.open_value;
        // Compared on exact numbers: Decimal's own difference and product round below the
        // 28th decimal and at 28 digits, and would judge the rounding (see `crate::rules::exact`).
        let breached = match self.limit {
            DailyLossLimit::Amount(limit) => exact::diff_at_most(value, open, limit),
            DailyLossLimit::Fraction(_) if open <= Decimal::ZERO => {
                self.latched = true;
                return Some(self.cannot_judge(value, session, at));
            }
            DailyLossLimit::Fraction(f) => exact::diff_at_most_product(value, open, f, open),
        };
        if !breached {
            return None;
        }
        self.latched = true;
        let pnl = pnl_of(value, open);
        let mut details = BTreeMap::new();
        details.insert("open_value".into(), open.to_string());
        details.insert("portfolio_value".into(), value.to_string());
        details.insert("session_date".into(), session.session_date.to_string());
        let (value_reported, limit, pnl, fraction_text, limit_text) = match self.limit {
            DailyLossLimit::Amount(l) => {
                // Never reported above the limit: a rounded difference cannot undo a breach.
                let pnl = pnl.min(l);
                details.insert("limit_amount".into(), l.to_string());
                let fraction = (open > Decimal::ZERO).then(|| fraction_of(pnl, open));
                if let Some(f) = fraction {
                    details.insert("daily_pnl_fraction".into(), f.to_string());
                }
                (
                    pnl,
                    l,
                    pnl,
                    fraction.map(crate::rules::percent),
                    l.to_string(),
                )
            }
            DailyLossLimit::Fraction(f) => {
                let fraction = crate::rules::reported_ratio(pnl.checked_div(open), f);
                details.insert("daily_pnl_fraction".into(), fraction.to_string());
                details.insert("limit".into(), f.to_string());
                let (fraction_text, limit_text) = crate::rules::percent_against(fraction, f);
                (fraction, f, pnl, Some(fraction_text), limit_text)
            }
        };
        details.insert("daily_pnl".into(), pnl.to_string());
        let fraction_text = fraction_text.map_or(String::new(), |f| format!(" ({f})"));
        Some(Trip {
            breaker: BreakerKind::DailyLoss,
            at,
            value: value_reported,
            limit,
            summary: format!(
                "daily loss {pnl}{fraction_text} <= {limit_text} since the {} open at {open}",
                session.session_date,
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
        let limit = match self.limit {
            DailyLossLimit::Fraction(f) | DailyLossLimit::Amount(f) => f,
        };
        let mut details = BTreeMap::new();
        details.insert("portfolio_value".into(), value.to_string());
        details.insert("limit".into(), limit.to_string());
        details.insert("reason".into(), reason.into());
        if let Some(s) = self.session {
            details.insert("session_date".into(), s.session_date.to_string());
            details.insert("open_value".into(), s.open_value.to_string());
        }
        Some(Trip {
            breaker: BreakerKind::DailyLoss,
            at,
            value,
            limit,
            summary: format!("daily loss cannot be judged: value {value}, {reason} (fail closed)"),
            details,
        })
    }

    /// The trip of a fractional limit against an open value ≤ 0, of which no fraction can be
    /// taken. Its `value` is the daily P&L as an amount.
    fn cannot_judge(&self, value: Decimal, session: DailyLossState, at: DateTime<Utc>) -> Trip {
        let pnl = pnl_of(value, session.open_value);
        let limit = match self.limit {
            DailyLossLimit::Fraction(f) | DailyLossLimit::Amount(f) => f,
        };
        let mut details = BTreeMap::new();
        details.insert("daily_pnl".into(), pnl.to_string());
        details.insert("open_value".into(), session.open_value.to_string());
        details.insert("portfolio_value".into(), value.to_string());
        details.insert("session_date".into(), session.session_date.to_string());
        details.insert("limit".into(), limit.to_string());
        details.insert("reason".into(), "open value not positive".into());
        Trip {
            breaker: BreakerKind::DailyLoss,
            at,
            value: pnl,
            limit,
            summary: format!(
                "daily loss cannot be judged against {}: the {} open value {} is not positive \
                 (daily P&L {pnl}; fail closed)",
                crate::rules::percent(limit),
                session.session_date,
                session.open_value
            ),
            details,
        }
    }

    /// Lets the rule trip again.
    pub fn rearm(&mut self) {
        self.latched = false;
    }

    /// Whether a snapshot has been seen since start.
    pub fn has_input(&self) -> bool {
        self.last.is_some()
    }

    /// The reading for status pages.
    pub fn reading(&self, enabled: bool) -> BreakerReading {
        let mut details = BTreeMap::new();
        if let Some(s) = self.session {
            details.insert("session_date".into(), s.session_date.to_string());
            details.insert("open_value".into(), s.open_value.to_string());
        }
        if let Some(pnl) = self.daily_pnl() {
            details.insert("daily_pnl".into(), pnl.to_string());
        }
        let (value, limit) = match self.limit {
            DailyLossLimit::Amount(l) => (self.daily_pnl(), l),
            DailyLossLimit::Fraction(f) => (
                self.daily_pnl()
                    .zip(self.session)
                    .filter(|(_, s)| s.open_value > Decimal::ZERO)
                    .map(|(p, s)| fraction_of(p, s.open_value)),
                f,
            ),
        };
        BreakerReading {
            breaker: BreakerKind::DailyLoss,
            enabled,
            ready: self.has_input(),
            value,
            limit: Some(limit),
            details,
        }
    }
}

/// `value − open`, saturated at the decimal bound of its sign when it does not fit.
fn pnl_of(value: Decimal, open: Decimal) -> Decimal {
    value.checked_sub(open).unwrap_or(if value < open {
        Decimal::MIN
    } else {
        Decimal::MAX
    })
}

/// `pnl / open` for an open value above zero, rounded for reports. A tiny open value and a huge move overflow `Decimal`:
/// the ratio then saturates at the bound of its sign instead of panicking.
fn fraction_of(pnl: Decimal, open: Decimal) -> Decimal {
    match pnl.checked_div(open) {
        Some(f) => f.round_dp(6).normalize(),
        None if pnl.is_sign_negative() => Decimal::MIN,
        None => Decimal::MAX,
    }
}

impl Rule for DailyLossRule {
    type Input = Valuation;
    type Durable = DailyLossState;

    fn kind(&self) -> BreakerKind {
        BreakerKind::DailyLoss
    }

    fn evaluate(&mut self, v: &Valuation) -> Result<Verdict, InputError> {
        self.on_snapshot(v.value, v.at).map(Verdict::from)
    }

    fn on_tick(&mut self, now: DateTime<Utc>) -> Verdict {
        if self.on_session_open(now) {
            tracing::info!(at = %now, "daily loss: new session, waiting for the first snapshot");
        }
        Verdict::Quiet
    }

    fn durable_state(&self) -> Option<DailyLossState> {
        DailyLossRule::durable_state(self)
    }

    fn restore(&mut self, state: DailyLossState) {
        DailyLossRule::restore(self, state)
    }

    fn rearm(&mut self, _rebase: bool, now: DateTime<Utc>) -> Option<Trip> {
        DailyLossRule::rearm(self);
        self.judge_last(now)
    }

    fn has_input(&self) -> bool {
        DailyLossRule::has_input(self)
    }

    fn reading(&self, _now: DateTime<Utc>) -> BreakerReading {
        DailyLossRule::reading(self, true)
    }
}

/// The daily-loss breaker's settings (`[strategy.circuit_breakers.daily_loss]`).
#[derive(Debug, Clone, PartialEq)]
pub struct DailyLossSettings {
    /// The limit, as a fraction or an amount.
    pub limit: DailyLossLimit,
    /// How it resets.
    pub reset: crate::breaker::ResetPolicy,
}

/// `[strategy.circuit_breakers.daily_loss]` as written (absent: on, with the profile's limit).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyLossSection {
    /// Fraction of the open value.
    pub limit: Option<crate::config::DecimalValue>,
    /// Amount.
    pub limit_amount: Option<crate::config::DecimalValue>,
    /// Switch.
    pub enabled: Option<bool>,
    /// `manual` | `auto`.
    pub reset: Option<crate::breaker::ResetPolicy>,
}

/// The limit of `l`, or `None` after a problem.
fn section_limit(
    l: &DailyLossSection,
    fraction: Decimal,
    at: &dyn Fn(&str) -> String,
    problems: &mut Vec<String>,
) -> Option<DailyLossLimit> {
    match (&l.limit, &l.limit_amount) {
        (Some(_), Some(_)) => {
            problems.push(format!(
                "{}: give either limit (a fraction) or limit_amount, not both",
                at("")
            ));
            None
        }
        (None, Some(a)) => a.to_decimal(&at("limit_amount"), problems).map(|a| {
            if a >= Decimal::ZERO {
                problems.push(format!(
                    "{}: {a} must be below zero, e.g. \"-5000\"",
                    at("limit_amount")
                ));
            }
            DailyLossLimit::Amount(a)
        }),
        (f, None) => {
            let f = f
                .as_ref()
                .and_then(|v| v.to_decimal(&at("limit"), problems))
                .unwrap_or(fraction);
            if f <= Decimal::NEGATIVE_ONE || f >= Decimal::ZERO {
                problems.push(format!(
                    "{}: {f} must be a fraction in (-1, 0), e.g. \"-0.05\"; use limit_amount for an amount",
                    at("limit")
                ));
            }
            Some(DailyLossLimit::Fraction(f))
        }
    }
}

impl super::BreakerSpec for DailyLossRule {
    type Settings = DailyLossSettings;
    type Section = DailyLossSection;
    const KIND: BreakerKind = BreakerKind::DailyLoss;
    const LISTED_WHEN_OFF: bool = true;
    fn reset(settings: &DailyLossSettings) -> crate::breaker::ResetPolicy {
        settings.reset
    }
    fn settle(
        section: Option<&Self::Section>,
        profile: crate::config::Profile,
        at: &dyn Fn(&str) -> String,
        problems: &mut Vec<String>,
    ) -> Option<Self::Settings> {
        let l = section.cloned().unwrap_or_default();
        let limit = section_limit(&l, profile.numbers().1, at, problems);
        match (l.enabled.unwrap_or(true), limit) {
            (true, Some(limit)) => Some(DailyLossSettings {
                limit,
                reset: l.reset.unwrap_or(crate::breaker::ResetPolicy::Manual),
            }),
            _ => None,
        }
    }
}

impl super::ActorBreaker for DailyLossRule {
    const NEEDS_FIRST_INPUT: bool = true;
    fn build(settings: &DailyLossSettings, context: &super::RuleContext) -> Self {
        DailyLossRule::new(settings.limit, context.market.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;
    use rust_decimal_macros::dec;

    fn market() -> MarketSession {
        MarketSession::new(
            chrono_tz::America::New_York,
            NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
            [NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()],
        )
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn test_on_snapshot_when_amount_limit_reached_exactly_then_trips() {
        let mut r = DailyLossRule::new(DailyLossLimit::Amount(dec!(-5000)), market());
        assert!(r
            .on_snapshot(dec!(100000), utc("2026-03-09T13:30:00Z"))
            .unwrap()
            .is_none());
        assert!(r
            .on_snapshot(dec!(95000.01), utc("2026-03-09T14:00:00Z"))
            .unwrap()
            .is_none());
        let trip = r
            .on_snapshot(dec!(95000.00), utc("2026-03-09T15:00:00Z"))
            .unwrap()
            .unwrap();
        assert_eq!(trip.value, dec!(-5000));
        assert_eq!(trip.details["session_date"], "2026-03-09");
    }

    #[test]
    fn test_on_snapshot_when_fraction_limit_then_one_cent_either_side() {
        let mut r = DailyLossRule::new(DailyLossLimit::Fraction(dec!(-0.05)), market());
        r.on_snapshot(dec!(100000.00), utc("2026-03-09T13:31:00Z"))
            .unwrap();
        assert!(r
            .on_snapshot(dec!(95000.01), utc("2026-03-09T14:00:00Z"))
            .unwrap()
            .is_none());
        let trip = r
            .on_snapshot(dec!(94999.99), utc("2026-03-09T14:01:00Z"))
            .unwrap()
            .unwrap();
        assert_eq!(trip.limit, dec!(-0.05));
    }

    #[test]
    fn test_on_snapshot_when_before_open_then_counts_toward_no_session() {
        let mut r = DailyLossRule::new(DailyLossLimit::Amount(dec!(-10)), market());
        assert!(r
            .on_snapshot(dec!(100), utc("2026-03-09T13:00:00Z"))
            .unwrap()
            .is_none());
        assert_eq!(r.durable_state(), None);
        // The open value is the first snapshot at or after the open, not the pre-open one.
        r.on_snapshot(dec!(50), utc("2026-03-09T13:30:00Z"))
            .unwrap();
        assert_eq!(r.durable_state().unwrap().open_value, dec!(50));
    }

    #[test]
    fn test_on_snapshot_when_next_day_then_new_open_value() {
        let mut r = DailyLossRule::new(DailyLossLimit::Amount(dec!(-10)), market());
        r.on_snapshot(dec!(100), utc("2026-03-06T15:00:00Z"))
            .unwrap(); // Fri, winter: open 14:30Z
        assert!(r
            .on_snapshot(dec!(91), utc("2026-03-06T20:00:00Z"))
            .unwrap()
            .is_none());
        // Monday after the DST change opens at 13:30Z.
        assert!(r
            .on_snapshot(dec!(85), utc("2026-03-09T13:29:00Z"))
            .unwrap()
            .is_none());
        r.on_snapshot(dec!(85), utc("2026-03-09T13:30:00Z"))
            .unwrap();
        assert_eq!(r.durable_state().unwrap().open_value, dec!(85));
        assert!(r
            .on_snapshot(dec!(75), utc("2026-03-09T14:00:00Z"))
            .unwrap()
            .is_some());
    }

    #[test]
    fn test_on_snapshot_when_holiday_then_no_session() {
        let mut r = DailyLossRule::new(DailyLossLimit::Amount(dec!(-10)), market());
        assert!(r
            .on_snapshot(dec!(100), utc("2026-03-10T15:00:00Z"))
            .unwrap()
            .is_none());
        assert!(r
            .on_snapshot(dec!(1), utc("2026-03-10T16:00:00Z"))
            .unwrap()
            .is_none());
        assert_eq!(r.durable_state(), None);
    }

    #[test]
    fn test_on_snapshot_when_out_of_order_then_refused_and_unchanged() {
        let mut r = DailyLossRule::new(DailyLossLimit::Amount(dec!(-10)), market());
        r.on_snapshot(dec!(100), utc("2026-03-09T14:00:00Z"))
            .unwrap();
        assert!(matches!(
            r.on_snapshot(dec!(50), utc("2026-03-09T13:59:00Z")),
            Err(InputError::OutOfOrder { .. })
        ));
        assert_eq!(r.daily_pnl(), Some(dec!(0)));
    }

    #[test]
    fn test_on_snapshot_when_value_falls_to_zero_or_below_then_judged_and_trips() {
        for (limit, to) in [
            (DailyLossLimit::Amount(dec!(-10)), dec!(0)),
            (DailyLossLimit::Amount(dec!(-10)), dec!(-80)),
            (DailyLossLimit::Fraction(dec!(-0.05)), dec!(0)),
            (DailyLossLimit::Fraction(dec!(-0.05)), dec!(-80)),
        ] {
            let mut r = DailyLossRule::new(limit, market());
            r.on_snapshot(dec!(100), utc("2026-03-09T14:00:00Z"))
                .unwrap();
            let trip = r
                .on_snapshot(to, utc("2026-03-09T14:01:00Z"))
                .unwrap()
                .unwrap_or_else(|| panic!("{to} after an open of 100 trips {limit:?}"));
            assert!(trip.value <= trip.limit, "{trip:?}");
            assert_eq!(trip.details["daily_pnl"], (to - dec!(100)).to_string());
            assert_eq!(r.daily_pnl(), Some(to - dec!(100)));
        }
    }

    #[test]
    fn test_on_snapshot_when_fraction_limit_and_open_not_positive_then_trips_cannot_be_judged() {
        for open in [dec!(0), dec!(-80), -Decimal::new(1, 28)] {
            let mut r = DailyLossRule::new(DailyLossLimit::Fraction(dec!(-0.05)), market());
            let trip = r
                .on_snapshot(open, utc("2026-03-09T14:00:00Z"))
                .unwrap()
                .unwrap_or_else(|| panic!("an open value of {open} trips"));
            assert_eq!(trip.breaker, BreakerKind::DailyLoss);
            assert_eq!((trip.value, trip.limit), (dec!(0), dec!(-0.05)));
            assert_eq!(trip.details["reason"], "open value not positive");
            assert!(
                trip.summary
                    .starts_with("daily loss cannot be judged against -5%"),
                "{}",
                trip.summary
            );
            assert_eq!(r.durable_state().unwrap().open_value, open);
            // A gain does not make a fraction of it judgeable: after a reset, it trips again.
            assert!(r
                .on_snapshot(dec!(1000), utc("2026-03-09T14:01:00Z"))
                .unwrap()
                .is_none());
            r.rearm();
            assert!(r.judge_last(utc("2026-03-09T14:02:00Z")).is_some());
            assert_eq!(r.reading(true).value, None);
        }
    }

    #[test]
    fn test_on_snapshot_when_amount_limit_and_open_not_positive_then_judged() {
        let mut r = DailyLossRule::new(DailyLossLimit::Amount(dec!(-10)), market());
        assert!(r
            .on_snapshot(dec!(0), utc("2026-03-09T14:00:00Z"))
            .unwrap()
            .is_none());
        assert!(r
            .on_snapshot(dec!(-9.99), utc("2026-03-09T14:01:00Z"))
            .unwrap()
            .is_none());
        let trip = r
            .on_snapshot(dec!(-10), utc("2026-03-09T14:02:00Z"))
            .unwrap()
            .expect("a loss of exactly 10 from an open of 0 trips");
        assert_eq!((trip.value, trip.limit), (dec!(-10), dec!(-10)));
        assert_eq!(trip.details["limit_amount"], "-10");
        assert!(!trip.details.contains_key("daily_pnl_fraction"));
        assert!(
            trip.summary.starts_with("daily loss -10 <= -10 since"),
            "{}",
            trip.summary
        );
    }

    #[test]
    fn test_on_snapshot_when_open_value_tiny_then_fraction_judged_exactly() {
        // −0.05 × 1E-28 rounds to 0 in Decimal: an unchanged value used to trip.
        let tiny = Decimal::new(1, 28);
        let mut r = DailyLossRule::new(DailyLossLimit::Fraction(dec!(-0.05)), market());
        assert!(r
            .on_snapshot(tiny, utc("2026-03-09T14:00:00Z"))
            .unwrap()
            .is_none());
        assert!(r
            .on_snapshot(tiny, utc("2026-03-09T14:01:00Z"))
            .unwrap()
            .is_none());
        let trip = r
            .on_snapshot(dec!(0), utc("2026-03-09T14:02:00Z"))
            .unwrap()
            .expect("a fall of 100% trips");
        assert_eq!(trip.value, dec!(-1));
        assert!(trip.summary.contains("(-100%) <= -5%"), "{}", trip.summary);
    }

    #[test]
    fn test_on_snapshot_when_amount_limit_and_values_far_apart_then_exact_and_no_overflow() {
        // 1E28 − 1E-28 rounds to 1E28 in Decimal; judged exactly it is above −1E28 + ...
        let mut r = DailyLossRule::new(
            DailyLossLimit::Amount(dec!(-10000000000000000000000000000)),
            market(),
        );
        r.on_snapshot(
            dec!(10000000000000000000000000000),
            utc("2026-03-09T14:00:00Z"),
        )
        .unwrap();
        assert!(
            r.on_snapshot(Decimal::new(1, 28), utc("2026-03-09T14:01:00Z"))
                .unwrap()
                .is_none(),
            "a loss of 1E28 − 1E-28 is above a limit of −1E28"
        );
        let trip = r
            .on_snapshot(Decimal::MIN, utc("2026-03-09T14:02:00Z"))
            .unwrap()
            .expect("MIN − 1E28 trips");
        assert_eq!(trip.value, Decimal::MIN, "saturated, not panicked");
        assert_eq!(r.daily_pnl(), Some(Decimal::MIN));
    }

    #[test]
    fn test_on_session_open_when_new_day_then_forgets_old_open() {
        let mut r = DailyLossRule::new(DailyLossLimit::Amount(dec!(-10)), market());
        r.on_snapshot(dec!(100), utc("2026-03-06T15:00:00Z"))
            .unwrap();
        assert!(!r.on_session_open(utc("2026-03-06T16:00:00Z")));
        assert!(r.on_session_open(utc("2026-03-09T13:30:00Z")));
        assert_eq!(r.durable_state(), None);
        assert_eq!(r.daily_pnl(), None);
    }

    #[test]
    fn test_evaluate_when_latched_then_once_until_rearm() {
        let mut r = DailyLossRule::new(DailyLossLimit::Amount(dec!(-10)), market());
        r.on_snapshot(dec!(100), utc("2026-03-09T14:00:00Z"))
            .unwrap();
        assert!(r
            .on_snapshot(dec!(90), utc("2026-03-09T14:01:00Z"))
            .unwrap()
            .is_some());
        assert!(r
            .on_snapshot(dec!(80), utc("2026-03-09T14:02:00Z"))
            .unwrap()
            .is_none());
        r.rearm();
        assert!(r.judge_last(utc("2026-03-09T14:03:00Z")).is_some());
    }

    #[test]
    fn test_restore_when_same_session_then_open_value_kept() {
        let mut r = DailyLossRule::new(DailyLossLimit::Amount(dec!(-10)), market());
        r.restore(DailyLossState {
            session_date: NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
            open_value: dec!(100),
        });
        assert!(r
            .on_snapshot(dec!(90), utc("2026-03-09T18:00:00Z"))
            .unwrap()
            .is_some());
    }
}
