//! A Rust trading host embedding the engine: a random-walk strategy trades until a breaker
//! trips, then the host sees its orders refused, is told to cancel, and an operator resets.
//!
//! Run: `cargo run --example embedded_host`

use chrono::{Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use rustybt::engine::EngineBuilder;
use rustybt::{
    EngineEvent, OrderRequest, PortfolioSnapshot, Position, Side, StrategySettings, TestClock,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    // A simulated clock so a trading morning takes a second; a host in production leaves the
    // builder's wall clock in place.
    let start = Utc.with_ymd_and_hms(2026, 3, 9, 13, 30, 0).unwrap(); // 09:30 New York
    let clock = TestClock::new(start);
    let data_dir = std::env::temp_dir().join(format!("rustybt-example-{}", std::process::id()));

    let mut builder = EngineBuilder::new(StrategySettings::moderate("momentum"))
        .clock(clock.clone())
        .data_dir(&data_dir);
    let mut cancels = builder.cancel_orders_channel();
    let engine = builder.start()?;
    let mut events = engine.subscribe();

    // A random walk with a downward drift: sooner or later a breaker trips.
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut value = Decimal::new(10_000_000, 2);
    let mut shares = Decimal::from(100);
    let mut accepted = 0;
    let mut refused = 0;
    for step in 0..2_000 {
        clock.advance(Duration::seconds(1));
        let change_bp: i64 = rng.gen_range(-60..=50);
        value += value * Decimal::new(change_bp, 4) / Decimal::from(10);
        value = value.round_dp(2);
        let price = (value / Decimal::from(1000)).round_dp(2);
        engine
            .submit_snapshot(PortfolioSnapshot {
                timestamp: clock_now(&clock),
                portfolio_value: value,
                cash: None,
                positions: Some(vec![Position {
                    asset: "SPY".into(),
                    quantity: shares,
                    market_price: price,
                }]),
            })
            .await?;
        let side = if rng.gen_bool(0.5) {
            Side::Buy
        } else {
            Side::Sell
        };
        let order = OrderRequest::market(format!("o{step}"), "SPY", side, Decimal::ONE);
        let decision = engine.check_order(order)?;
        if decision.is_accepted() {
            accepted += 1;
            shares += if side == Side::Buy {
                Decimal::ONE
            } else {
                Decimal::NEGATIVE_ONE
            };
        } else {
            refused += 1;
            if refused == 1 {
                println!("step {step}: order refused: {decision:?}");
            }
        }
        if refused >= 5 {
            break;
        }
    }
    println!("orders accepted: {accepted}, refused: {refused}");

    while let Ok(event) = events.try_recv() {
        match event {
            EngineEvent::CircuitBreakerTripped(e) => {
                println!("TRIPPED: {} — {}", e.trip.breaker, e.trip.summary)
            }
            EngineEvent::StateChanged(e) => println!(
                "state {} -> {} ({})",
                e.transition.from, e.transition.to, e.transition.cause
            ),
            _ => {}
        }
    }
    if let Ok(cancel) = cancels.try_recv() {
        println!(
            "host told to cancel all open orders: {} ({})",
            cancel.state, cancel.reason
        );
    }

    // An operator resets: a request, then its confirmation, rebasing the high-water mark.
    let status = engine.status().await?;
    println!(
        "state now: {} — {}",
        status.state,
        status.reason.unwrap_or_default()
    );
    let ticket = engine
        .operator()
        .request_reset("alice", Some("reviewed the losses"))
        .await?;
    println!("reset requested; token expires at {}", ticket.expires_at);
    let record = engine
        .operator()
        .confirm_reset("alice", &ticket.confirmation_token, true)
        .await?;
    println!("after the confirmed reset: {}", record.state);
    if record.state != rustybt::EngineState::Normal {
        println!(
            "  (every breaker judged its input again before trading resumed: the loss still \
             breaches its limit, so it tripped again at once — by design)"
        );
    }
    let decision = engine.check_order(OrderRequest::market(
        "after-reset",
        "SPY",
        Side::Sell,
        Decimal::ONE,
    ))?;
    println!("next order: {decision:?}");
    println!("audit trail:");
    for entry in engine.audit().await? {
        println!(
            "  #{} {} {} -> {} ({})",
            entry.seq, entry.at, entry.from, entry.to, entry.cause
        );
    }
    engine.shutdown().await?;
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}

fn clock_now(clock: &TestClock) -> chrono::DateTime<Utc> {
    use rustybt::Clock;
    clock.now()
}
