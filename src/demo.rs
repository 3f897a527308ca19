//! The simulated market behind `rustybt live run` with no configuration: a random-walk
//! portfolio and a strategy that misbehaves now and then, so a newcomer watches the breakers
//! work. Every five minutes: a runaway burst of orders (order rate, clears by itself), a broker
//! outage (error rate, needs an operator's reset), and a slide of 12% (drawdown and daily loss;
//! the market recovers afterwards, so a reset then holds).

use chrono::Utc;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use rustybt_actors::domain::{
    ErrorKind, ErrorReport, OrderRequest, PortfolioSnapshot, Position, Side,
};
use rustybt_actors::engine::EngineHandle;
use std::time::Duration;

const TICK: Duration = Duration::from_millis(250);
/// Ticks in one five-minute cycle.
const CYCLE: u64 = 1200;

/// Runs until the task is dropped.
pub async fn run(engine: EngineHandle) {
    let mut rng = rand::rngs::StdRng::from_entropy();
    let mut price = Decimal::new(50_000, 2);
    let shares = Decimal::from(200);
    let cash = Decimal::from(0);
    let mut peak_price = price;
    let mut slide_left = 0u32;
    let mut recover = false;
    let mut order_seq = 0u64;
    let mut tick: u64 = 0;
    let mut interval = tokio::time::interval(TICK);
    loop {
        interval.tick().await;
        tick += 1;
        let phase = tick % CYCLE;

        // The market.
        if phase == 960 {
            slide_left = 40; // 10 s of falling
        }
        if slide_left > 0 {
            slide_left -= 1;
            price -= price * Decimal::new(32, 4); // -0.32% a tick: about -12% in 10 s
            if slide_left == 0 {
                recover = true;
            }
        } else if recover {
            price += price * Decimal::new(15, 4);
            if price >= peak_price {
                price = peak_price;
                recover = false;
            }
        } else {
            let bp: i64 = rng.gen_range(-8..=9);
            price += price * Decimal::new(bp, 4);
        }
        price = price.round_dp(2);
        if price > peak_price {
            peak_price = price;
        }
        let value = shares * price + cash;
        let snapshot = PortfolioSnapshot {
            timestamp: Utc::now(),
            portfolio_value: value,
            cash: Some(cash),
            positions: vec![Position {
                asset: "DEMO".into(),
                quantity: shares,
                market_price: price,
            }],
        };
        if let Err(e) = engine.submit_snapshot(snapshot).await {
            tracing::warn!(error = %e, "demo snapshot refused");
        }

        // The strategy: an order a second, a runaway burst at 60 s into the cycle.
        let orders = if (240..280).contains(&phase) {
            4
        } else {
            u64::from(tick.is_multiple_of(4))
        };
        for _ in 0..orders {
            order_seq += 1;
            let side = if rng.gen_bool(0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            let mut order =
                OrderRequest::market(format!("demo-{order_seq}"), "DEMO", side, Decimal::ONE);
            order.limit_price = Some(price);
            let _ = engine.check_order(order);
        }
        // The broker: an outage of twelve errors at 150 s into the cycle.
        if (600..612).contains(&phase) {
            let kind = if phase.is_multiple_of(2) {
                ErrorKind::BrokerError
            } else {
                ErrorKind::OrderRejected
            };
            let _ = engine
                .report_error(ErrorReport {
                    kind,
                    message: format!("simulated broker outage ({kind})"),
                    order_id: None,
                    timestamp: Some(Utc::now()),
                })
                .await;
        }
    }
}
