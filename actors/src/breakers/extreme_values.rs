//! Extreme decimals from the host: 28-digit mantissas, scale 28, values at `Decimal::MAX`.
//! Whatever the portfolio breakers and the gate are fed, they answer; they never panic, and
//! each trip agrees with the exact numbers.

use crate::breaker::{Rule, Trip};
use crate::breakers::{DailyLossLimit, DailyLossRule, DrawdownRule};
use crate::decision::{DecisionCore, GateRules, GateUpdate};
use crate::domain::{OrderRequest, PortfolioSnapshot, Position, Side, Valuation};
use crate::rules::exact::Exact;
use crate::rules::MarketSession;
use crate::state_machine::EngineState;
use crate::supervision::HealthBoard;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::sync::Arc;

/// Any decimal a parser accepts, weighted toward the edges.
fn extreme() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        Just(Decimal::MAX),
        Just(Decimal::MIN),
        Just(Decimal::new(1, 28)),
        Just(Decimal::from_i128_with_scale(
            9_999_999_999_999_999_999_999_999_999,
            28
        )),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            0u32..=28
        )
            .prop_map(|(lo, mid, hi, neg, scale)| Decimal::from_parts(lo, mid, hi, neg, scale)),
        (1i64..1_000_000_000).prop_map(Decimal::from),
    ]
}

/// Values at the smallest scales and around zero: ±k × 1E-28, ±k × 1E-27, 0, −80.
fn small_scale() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        Just(Decimal::ZERO),
        Just(Decimal::new(-80, 0)),
        Just(Decimal::new(100, 0)),
        (-1000i64..=1000, 26u32..=28).prop_map(|(k, scale)| Decimal::new(k, scale)),
        (-1000i64..=1000).prop_map(|k| Decimal::new(k, 0) + Decimal::new(1, 28)),
    ]
}

/// Limits as ratios in (−1, 0): plain, with many decimals, and the smallest.
fn threshold() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        Just(Decimal::new(-10, 2)),
        Just(Decimal::new(-1, 28)),
        Just(Decimal::new(-10025001, 8)),
        Just(Decimal::from_i128_with_scale(
            -9_999_999_999_999_999_999_999_999_999,
            28
        )),
        (1i64..1_000_000, 6u32..=28)
            .prop_map(|(k, scale)| Decimal::new(-k, scale))
            .prop_filter("in (-1, 0)", |d| *d > Decimal::NEGATIVE_ONE),
    ]
}

/// The two percentages after `marker` in a summary (`A% <= B%`), as exact numbers; a
/// percentage too large to print reads `R×100%`.
fn percents(summary: &str, marker: &str) -> (Exact, Exact) {
    let rest =
        &summary[summary.find(marker).unwrap_or_else(|| panic!("{summary}")) + marker.len()..];
    let rest = rest.trim_start_matches('(');
    let mut parts = rest.split(" <= ");
    let first = parts.next().unwrap_or_default();
    let second = parts.next().unwrap_or_default();
    let read = |p: &str| -> Exact {
        let p = p.split('%').next().unwrap_or_default();
        let p = p.trim_start_matches('(');
        match p.split_once("×100") {
            Some((r, _)) => {
                Exact::from(r.parse::<Decimal>().unwrap_or_else(|_| panic!("{summary}")))
                    .mul(&Exact::from(Decimal::ONE_HUNDRED))
            }
            None => Exact::from(p.parse::<Decimal>().unwrap_or_else(|_| panic!("{summary}"))),
        }
    };
    (read(first), read(second))
}

fn t(i: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_773_064_800, 0).unwrap() + Duration::seconds(i)
}

fn market() -> MarketSession {
    MarketSession::new(
        chrono_tz::America::New_York,
        NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
        [],
    )
    .trading_every_day()
}

/// A drawdown trip (or silence) against the exact fall of `v` from the high-water mark.
fn check_drawdown(
    trip: Option<Trip>,
    v: Decimal,
    hwm: Option<Decimal>,
    threshold: Decimal,
    latched: &mut bool,
) -> Result<(), TestCaseError> {
    let breached = |h: Decimal| {
        Exact::from(v).sub(&Exact::from(h)) <= Exact::from(threshold).mul(&Exact::from(h))
    };
    match (hwm, trip, *latched) {
        (_, None, true) => {}
        (None, Some(trip), false) => {
            prop_assert_eq!(&trip.details["reason"], "no positive high-water mark");
            *latched = true;
        }
        (Some(h), Some(trip), false) => {
            prop_assert!(breached(h), "tripped without a breach: {} from {}", v, h);
            prop_assert!(trip.value <= trip.limit, "{:?}", trip);
            let (d, l) = percents(&trip.summary, "drawdown ");
            prop_assert!(d <= l, "{}", trip.summary);
            *latched = true;
        }
        (Some(h), None, false) => {
            prop_assert!(!breached(h), "a breach not tripped: {} from {}", v, h)
        }
        (h, trip, latched) => prop_assert!(false, "{:?} {:?} {}", h, trip, latched),
    }
    Ok(())
}

/// A daily-loss trip (or silence) against the exact loss as a fraction of the open value.
fn check_daily_fraction(
    trip: Option<Trip>,
    pnl: &Exact,
    open_value: Decimal,
    threshold: Decimal,
    latched: &mut bool,
) -> Result<(), TestCaseError> {
    let limit = Exact::from(threshold).mul(&Exact::from(open_value));
    match (trip, *latched) {
        (None, true) => {}
        (Some(trip), false) if open_value <= Decimal::ZERO => {
            prop_assert_eq!(&trip.details["reason"], "open value not positive");
            *latched = true;
        }
        (Some(trip), false) => {
            prop_assert!(*pnl <= limit);
            prop_assert!(trip.value <= trip.limit, "{:?}", trip);
            let (d, l) = percents(&trip.summary, " (");
            prop_assert!(d <= l, "{}", trip.summary);
            *latched = true;
        }
        (None, false) => {
            prop_assert!(open_value > Decimal::ZERO);
            prop_assert!(*pnl > limit);
        }
        (trip, latched) => prop_assert!(false, "{:?} {}", trip, latched),
    }
    Ok(())
}

/// A daily-loss trip (or silence) against the exact loss as an amount.
fn check_daily_amount(
    trip: Option<Trip>,
    pnl: &Exact,
    amount: Decimal,
    latched: &mut bool,
) -> Result<(), TestCaseError> {
    match (trip, *latched) {
        (None, true) => {}
        (Some(trip), false) => {
            prop_assert!(*pnl <= Exact::from(amount));
            prop_assert!(trip.value <= trip.limit, "{:?}", trip);
            let loss: Decimal = trip.summary["daily loss ".len()..]
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{}", trip.summary));
            prop_assert!(loss <= amount, "{}", trip.summary);
            *latched = true;
        }
        (None, false) => prop_assert!(*pnl > Exact::from(amount)),
        (trip, latched) => prop_assert!(false, "{:?} {}", trip, latched),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn prop_portfolio_rules_when_values_extreme_then_never_panic(
        values in proptest::collection::vec(extreme(), 1..8),
        threshold in prop_oneof![Just(Decimal::new(-10, 2)), Just(Decimal::new(-1, 28))],
    ) {
        let mut dd = DrawdownRule::new(threshold);
        let mut dl = DailyLossRule::new(DailyLossLimit::Fraction(Decimal::new(-5, 2)), market());
        let mut dla = DailyLossRule::new(DailyLossLimit::Amount(Decimal::new(-5000, 0)), market());
        for (i, v) in values.iter().enumerate() {
            let input = Valuation { value: *v, at: t(i as i64), received_at: t(i as i64) };
            let _ = Rule::evaluate(&mut dd, &input);
            let _ = Rule::evaluate(&mut dl, &input);
            let _ = Rule::evaluate(&mut dla, &input);
            let _ = Rule::reading(&dd, t(i as i64));
            let _ = Rule::reading(&dl, t(i as i64));
            let _ = Rule::reading(&dla, t(i as i64));
            let _ = crate::rules::percent(*v);
        }
        let _ = Rule::rearm(&mut dd, true, t(100));
        let _ = Rule::rearm(&mut dl, false, t(100));
    }

    /// At every scale, zero and below included: each trip is an exact breach (or a value
    /// that cannot be judged), each silence an exact non-breach, and a trip's figures and
    /// message never read the other side of its limit.
    #[test]
    fn prop_portfolio_rules_when_values_tiny_or_not_positive_then_trips_agree_with_numbers(
        values in proptest::collection::vec(prop_oneof![small_scale(), extreme()], 1..10),
        threshold in threshold(),
        amount in prop_oneof![Just(Decimal::new(-5000, 0)), Just(Decimal::new(-1, 28)), Just(Decimal::new(-10, 0))],
    ) {
        let mut dd = DrawdownRule::new(threshold);
        let mut dl = DailyLossRule::new(DailyLossLimit::Fraction(threshold), market());
        let mut dla = DailyLossRule::new(DailyLossLimit::Amount(amount), market());
        let (mut hwm, mut open) = (None::<Decimal>, None::<Decimal>);
        let (mut dd_latched, mut dl_latched, mut dla_latched) = (false, false, false);
        for (i, v) in values.iter().copied().enumerate() {
            let at = t(i as i64);
            if v > Decimal::ZERO {
                hwm = Some(hwm.map_or(v, |h| h.max(v)));
            }
            let open_value = *open.get_or_insert(v);
            let pnl = Exact::from(v).sub(&Exact::from(open_value));
            let trip = dd.on_snapshot(v, at).unwrap();
            check_drawdown(trip, v, hwm, threshold, &mut dd_latched)?;
            let trip = dl.on_snapshot(v, at).unwrap();
            check_daily_fraction(trip, &pnl, open_value, threshold, &mut dl_latched)?;
            let trip = dla.on_snapshot(v, at).unwrap();
            check_daily_amount(trip, &pnl, amount, &mut dla_latched)?;
            let _ = Rule::reading(&dd, at);
            let _ = Rule::reading(&dl, at);
            let _ = Rule::reading(&dla, at);
        }
    }

    #[test]
    fn prop_snapshot_and_gate_when_positions_extreme_then_never_panic(
        quantities in proptest::collection::vec(extreme(), 1..4),
        prices in proptest::collection::vec(extreme(), 1..4),
        order_qty in extreme(),
        sell in any::<bool>(),
    ) {
        let positions: Vec<Position> = quantities.iter().zip(prices.iter()).map(|(q, p)| Position {
            asset: "SPY".into(),
            quantity: *q,
            market_price: *p,
        }).collect();
        let mut snapshot = PortfolioSnapshot::valued(t(0), Decimal::ONE);
        snapshot.positions = Some(positions.clone());
        let _ = snapshot.validate();
        for p in &positions {
            let _ = p.market_value();
        }
        let health = Arc::new(HealthBoard::new([], []));
        let core = DecisionCore::new(
            {
                let mut record = crate::state_machine::StateMachine::new(t(0)).record().clone();
                record.state = EngineState::Tripped;
                GateUpdate::new(record, 0)
            },
            GateRules { reduce_only_when_tripped: true, ..GateRules::default() },
            health,
        );
        core.on_snapshot(t(0), &positions);
        let clock = crate::clock::TestClock::new(t(0));
        let side = if sell { Side::Sell } else { Side::Buy };
        for i in 0..3 {
            let order = OrderRequest::market(format!("o{i}"), "SPY", side, order_qty.abs().max(Decimal::new(1, 28)));
            let _ = core.decide(order, clock.as_ref());
        }
    }
}
