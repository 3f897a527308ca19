//! The breaker rules: pure, synchronous structs with no I/O and no clock of their own.
//! Each takes its input and the time, and answers with an optional [`Trip`](crate::breaker::Trip).

pub mod daily_loss;
pub mod drawdown;
pub mod error_rate;
pub mod host_silent;
pub mod market_session;
pub mod order_rate;
pub mod pre_trade_denials;
pub mod silence;
pub mod sliding_window;
pub mod stale_feed;
pub mod windowed_limit;

pub use daily_loss::{DailyLossLimit, DailyLossRule, DailyLossState};
pub use drawdown::{DrawdownRule, DrawdownState};
pub use error_rate::{ErrorArrival, ErrorRateRule};
pub use host_silent::{HostBeacon, HostSilentRule};
pub use market_session::MarketSession;
pub use order_rate::{OrderRateRule, OrderVerdict};
pub use pre_trade_denials::PreTradeDenialRule;
pub use silence::{Awaited, Heard, SilenceRule};
pub use sliding_window::SlidingWindow;
pub use stale_feed::StaleFeedRule;
pub use windowed_limit::{Counted, WindowedLimit};

/// Formats a ratio as a percentage with two decimals: `-0.1042` → `-10.42%`.
pub fn percent(ratio: rust_decimal::Decimal) -> String {
    match ratio.checked_mul(rust_decimal::Decimal::ONE_HUNDRED) {
        Some(p) => format!("{}%", p.round_dp(2).normalize()),
        None => format!("{}×100%", ratio.normalize()),
    }
}

/// Extreme decimals from the host: 28-digit mantissas, scale 28, values at `Decimal::MAX`.
/// Whatever the rules are fed, they answer; they never panic.
#[cfg(test)]
mod extreme_values {
    use crate::breaker::Rule;
    use crate::decision::{DecisionCore, GateRules, GateUpdate};
    use crate::domain::{OrderRequest, PortfolioSnapshot, Position, Side, Valuation};
    use crate::rules::{DailyLossLimit, DailyLossRule, DrawdownRule, MarketSession};
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
                let _ = super::percent(*v);
            }
            let _ = Rule::rearm(&mut dd, true, t(100));
            let _ = Rule::rearm(&mut dl, false, t(100));
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
                GateUpdate { state: EngineState::Tripped, tripped: vec![], reason: None, applied_trips: 0 },
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
}
