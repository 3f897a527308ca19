//! The firm breakers: the strategies' own pure rules (drawdown, daily loss, order rate) fed
//! with the firm's aggregate, the sum of every member's value and every member's submissions.
//! In: the firm's total value and submission counts from the firm handle. Out: trips, written
//! once into the firm's control record.

use super::FirmBreakerState;
use crate::breaker::Trip;
use crate::breakers::{DailyLossLimit, DailyLossRule, DrawdownRule, OrderRateRule, OrderVerdict};
use crate::rules::MarketSession;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

/// The firm breakers' settings (`[firm.circuit_breakers]`); each absent one is off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirmBreakerSettings {
    /// Trips at the firm's drawdown ≤ this ratio (e.g. −0.08).
    pub drawdown: Option<Decimal>,
    /// The firm's daily loss limit, with the market whose open starts the firm's session.
    pub daily_loss: Option<(DailyLossLimit, MarketSession)>,
    /// At most this many orders over all strategies inside the window.
    pub order_rate: Option<(usize, Duration)>,
}

/// The firm breakers: the strategies' own pure rules fed with the firm's aggregate.
#[derive(Debug, Clone)]
pub struct FirmBreakers {
    drawdown: Option<DrawdownRule>,
    daily_loss: Option<DailyLossRule>,
    order_rate: Option<OrderRateRule>,
    last_value: Option<Decimal>,
    basis: u64,
}

impl FirmBreakers {
    /// The rules of `settings`, resumed from `durable`.
    pub fn new(settings: &FirmBreakerSettings, durable: &FirmBreakerState) -> Self {
        let drawdown = settings.drawdown.map(|threshold| {
            let mut rule = DrawdownRule::new(threshold);
            if let Some(state) = durable.drawdown {
                rule.restore(state);
            }
            rule
        });
        let daily_loss = settings.daily_loss.clone().map(|(limit, market)| {
            let mut rule = DailyLossRule::new(limit, market);
            if let Some(state) = durable.daily_loss {
                rule.restore(state);
            }
            rule
        });
        Self {
            drawdown,
            daily_loss,
            order_rate: settings
                .order_rate
                .map(|(max, window)| OrderRateRule::new(max, window)),
            last_value: None,
            basis: durable.basis,
        }
    }

    /// Judges the firm's total value at `at` (any value: zero and below included, judged as a
    /// strategy's is); answers the trips, firm-wide. A total older than the last is not judged.
    /// Call it once at least one strategy has reported a value.
    pub fn on_total_value(&mut self, total: Decimal, at: DateTime<Utc>) -> Vec<Trip> {
        self.last_value = Some(total);
        let mut trips = Vec::new();
        if let Some(rule) = self.drawdown.as_mut() {
            if let Ok(Some(trip)) = rule.on_snapshot(total, at) {
                trips.push(firm_summary(trip));
            }
        }
        if let Some(rule) = self.daily_loss.as_mut() {
            if let Ok(Some(trip)) = rule.on_snapshot(total, at) {
                trips.push(firm_summary(trip));
            }
        }
        trips
    }

    /// The strategies' values at `at` do not add up to a decimal (`saturated`: the bound of the
    /// sum's sign): the firm's drawdown and daily loss cannot be judged and trip, fail closed.
    pub fn on_total_unjudged(&mut self, saturated: Decimal, at: DateTime<Utc>) -> Vec<Trip> {
        const REASON: &str = "the sum of the strategies' values does not fit a decimal";
        let mut trips = Vec::new();
        if let Some(rule) = self.drawdown.as_mut() {
            trips.extend(rule.trip_unjudged(saturated, at, REASON).map(firm_summary));
        }
        if let Some(rule) = self.daily_loss.as_mut() {
            trips.extend(rule.trip_unjudged(saturated, at, REASON).map(firm_summary));
        }
        trips
    }

    /// Counts `count` submissions (over all strategies) at `at`; answers a trip the first time
    /// the count inside the window exceeds the maximum.
    pub fn on_submissions(&mut self, count: u64, at: DateTime<Utc>) -> Option<Trip> {
        let rule = self.order_rate.as_mut()?;
        let mut tripped = None;
        for _ in 0..count {
            if let Ok(OrderVerdict::OverLimit(Some(trip))) = rule.on_submission(at) {
                tripped = Some(firm_summary(trip));
            }
        }
        tripped
    }

    /// Takes in the durable state another host wrote into the record: the higher high-water
    /// mark; a session at least as recent (its open value as first written).
    /// A record of a newer basis (the membership changed) is taken as it is.
    pub fn absorb(&mut self, record: &FirmBreakerState) {
        if record.basis > self.basis {
            self.basis = record.basis;
            if let (Some(rule), Some(theirs)) = (self.drawdown.as_mut(), record.drawdown) {
                rule.restore(theirs);
            }
            if let (Some(rule), Some(theirs)) = (self.daily_loss.as_mut(), record.daily_loss) {
                rule.restore(theirs);
            }
            return;
        }
        if let (Some(rule), Some(theirs)) = (self.drawdown.as_mut(), record.drawdown) {
            if rule
                .high_water_mark()
                .is_none_or(|mine| theirs.high_water_mark > mine)
            {
                rule.restore(theirs);
            }
        }
        if let (Some(rule), Some(theirs)) = (self.daily_loss.as_mut(), record.daily_loss) {
            if rule
                .durable_state()
                .is_none_or(|mine| theirs.session_date >= mine.session_date)
            {
                rule.restore(theirs);
            }
        }
    }

    /// Re-arms every rule after a confirmed firm reset (without rebasing the high-water mark).
    pub fn rearm(&mut self, now: DateTime<Utc>) {
        if let Some(r) = self.drawdown.as_mut() {
            r.rearm(false);
        }
        if let Some(r) = self.daily_loss.as_mut() {
            r.rearm();
        }
        if let Some(r) = self.order_rate.as_mut() {
            let _ = r.rearm(now);
        }
    }

    /// The durable part, to keep in the control record.
    pub fn durable_state(&self) -> FirmBreakerState {
        FirmBreakerState {
            drawdown: self.drawdown.as_ref().and_then(DrawdownRule::durable_state),
            daily_loss: self
                .daily_loss
                .as_ref()
                .and_then(DailyLossRule::durable_state),
            basis: self.basis,
        }
    }

    /// The firm's figures: (high-water mark, drawdown, daily P&L), each when known.
    pub fn figures(&self) -> (Option<Decimal>, Option<Decimal>, Option<Decimal>) {
        (
            self.drawdown
                .as_ref()
                .and_then(DrawdownRule::high_water_mark),
            self.drawdown.as_ref().and_then(DrawdownRule::drawdown),
            self.daily_loss.as_ref().and_then(DailyLossRule::daily_pnl),
        )
    }

    /// Each firm breaker's reading, in the shape of a strategy's.
    pub fn readings(&self, now: DateTime<Utc>) -> Vec<crate::breaker::BreakerReading> {
        let mut out = Vec::new();
        if let Some(r) = &self.drawdown {
            out.push(r.reading(true));
        }
        if let Some(r) = &self.daily_loss {
            out.push(r.reading(true));
        }
        if let Some(r) = &self.order_rate {
            let _ = now;
            out.push(r.reading(true));
        }
        out
    }
}

fn firm_summary(mut trip: Trip) -> Trip {
    trip.details.insert("scope".into(), "firm".into());
    trip
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::BreakerKind;
    use rust_decimal_macros::dec;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn test_firm_drawdown_when_total_falls_to_threshold_then_trips_once() {
        let settings = FirmBreakerSettings {
            drawdown: Some(dec!(-0.08)),
            ..Default::default()
        };
        let mut b = FirmBreakers::new(&settings, &FirmBreakerState::default());
        assert!(b.on_total_value(dec!(200000), t(0)).is_empty());
        assert!(b.on_total_value(dec!(184001), t(1)).is_empty());
        let trips = b.on_total_value(dec!(184000), t(2));
        assert_eq!(trips.len(), 1, "exactly -8% trips");
        assert!(b.on_total_value(dec!(180000), t(3)).is_empty(), "latched");
        assert_eq!(
            b.durable_state().drawdown.unwrap().high_water_mark,
            dec!(200000)
        );
    }

    #[test]
    fn test_firm_drawdown_when_total_falls_below_zero_then_trips_below_minus_100_percent() {
        let settings = FirmBreakerSettings {
            drawdown: Some(dec!(-0.08)),
            ..Default::default()
        };
        let mut b = FirmBreakers::new(&settings, &FirmBreakerState::default());
        assert!(b.on_total_value(dec!(100), t(0)).is_empty());
        let trips = b.on_total_value(dec!(-80), t(1));
        assert_eq!(
            trips.len(),
            1,
            "a total of -80 after 100 is judged and trips"
        );
        assert_eq!(trips[0].value, dec!(-1.8));
        assert_eq!(trips[0].details["scope"], "firm");
        assert_eq!(b.figures().1, Some(dec!(-1.8)));
    }

    #[test]
    fn test_firm_breakers_when_first_total_not_positive_then_trip_cannot_be_judged() {
        for first in [dec!(0), dec!(-80)] {
            let market = MarketSession::new(
                chrono_tz::America::New_York,
                chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
                [],
            )
            .trading_every_day();
            let settings = FirmBreakerSettings {
                drawdown: Some(dec!(-0.08)),
                daily_loss: Some((DailyLossLimit::Fraction(dec!(-0.05)), market)),
                ..Default::default()
            };
            let mut b = FirmBreakers::new(&settings, &FirmBreakerState::default());
            let trips = b.on_total_value(first, t(0));
            let kinds: Vec<_> = trips.iter().map(|t| t.breaker).collect();
            assert_eq!(
                kinds,
                [BreakerKind::Drawdown, BreakerKind::DailyLoss],
                "{first}"
            );
            assert!(trips.iter().all(|t| t.details.contains_key("reason")));
        }
    }

    #[test]
    fn test_firm_breakers_when_sum_overflows_then_trip_cannot_be_judged_once() {
        let settings = FirmBreakerSettings {
            drawdown: Some(dec!(-0.08)),
            ..Default::default()
        };
        let mut b = FirmBreakers::new(&settings, &FirmBreakerState::default());
        assert!(b.on_total_value(dec!(100), t(0)).is_empty());
        let trips = b.on_total_unjudged(Decimal::MAX, t(1));
        assert_eq!(trips.len(), 1);
        assert!(
            trips[0].summary.contains("does not fit a decimal"),
            "{}",
            trips[0].summary
        );
        assert!(
            b.on_total_unjudged(Decimal::MAX, t(2)).is_empty(),
            "latched"
        );
    }

    #[test]
    fn test_firm_order_rate_when_over_max_then_trips_on_the_first_over() {
        let settings = FirmBreakerSettings {
            order_rate: Some((3, Duration::seconds(60))),
            ..Default::default()
        };
        let mut b = FirmBreakers::new(&settings, &FirmBreakerState::default());
        assert!(b.on_submissions(3, t(0)).is_none());
        assert!(b.on_submissions(1, t(1)).is_some());
    }
}
