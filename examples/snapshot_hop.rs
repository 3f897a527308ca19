//! The awaited snapshot against a bare cross-thread round trip, measured in one run:
//!
//! 1. Baseline: an actix message to an actor on another arbiter (its own thread) that answers
//!    at once, awaited from the host's thread.
//! 2. A snapshot awaited that trips nothing.
//! 3. A snapshot awaited that trips the drawdown breaker (an operator reset between rounds,
//!    outside the timing); the order gate must refuse at once after it.
//!
//! Prints p50 and p99 of each and the ratios to the baseline.
//!
//! Run: `cargo run --release --example snapshot_hop -- 2000`

use actix::prelude::*;
use chrono::Duration;
use rust_decimal::Decimal;
use rustybt::engine::EngineBuilder;
use rustybt::{Clock, OrderRequest, PortfolioSnapshot, Side, StrategySettings, TestClock};
use std::time::Instant;

/// Answers at once.
struct Echo;

impl Actor for Echo {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "u64")]
struct Ping(u64);

impl Handler<Ping> for Echo {
    type Result = u64;

    fn handle(&mut self, msg: Ping, _: &mut Context<Self>) -> u64 {
        msg.0
    }
}

fn settings() -> StrategySettings {
    let mut s = StrategySettings::moderate("hop");
    // Each trip round falls 20% from the high-water mark: only the drawdown breaker trips.
    s.breakers.daily_loss = None;
    s.breakers.stale_feed = None;
    s.tick_interval = None;
    s
}

fn percentiles(mut ns: Vec<u64>) -> (u64, u64) {
    ns.sort_unstable();
    let p = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)];
    (p(0.5), p(0.99))
}

fn report(name: &str, ns: Vec<u64>) -> (u64, u64) {
    let (p50, p99) = percentiles(ns);
    println!(
        "{name:<44} p50 {:>8.2} µs  p99 {:>8.2} µs",
        p50 as f64 / 1e3,
        p99 as f64 / 1e3
    );
    (p50, p99)
}

fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    // The echo actor lives in an actix system on a thread of its own, as the engine does.
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let echo_thread = std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let _ = addr_tx.send(Echo.start());
            let _ = stop_rx.await;
        })
    });
    let echo = addr_rx.recv()?;

    let clock = TestClock::new("2026-03-09T14:00:00Z".parse()?);
    let engine = EngineBuilder::new(settings())
        .clock(clock.clone())
        .temporary_checkpoint()
        .start()?;
    let order = OrderRequest::market("o", "SPY", Side::Buy, Decimal::ONE);
    let high = Decimal::from(100_000);
    let low = Decimal::from(80_000);

    let (bare, quiet, trips) = rt.block_on(async {
        let mut bare = Vec::with_capacity(rounds);
        let mut quiet = Vec::with_capacity(rounds);
        let mut trips = Vec::with_capacity(rounds);
        engine
            .submit_snapshot(PortfolioSnapshot::valued(clock.now(), high))
            .await?;
        for round in 0..rounds {
            // Interleaved, so all three see the same load from the rest of the machine.
            let t = Instant::now();
            let echoed = echo.send(Ping(round as u64)).await?;
            bare.push(t.elapsed().as_nanos() as u64);
            assert_eq!(echoed, round as u64);

            clock.advance(Duration::seconds(1));
            let calm = PortfolioSnapshot::valued(clock.now(), high);
            let t = Instant::now();
            engine.submit_snapshot(calm).await?;
            quiet.push(t.elapsed().as_nanos() as u64);
            assert!(
                engine.trading_allowed(),
                "round {round}: a calm snapshot tripped"
            );

            clock.advance(Duration::seconds(1));
            let breach = PortfolioSnapshot::valued(clock.now(), low);
            let t = Instant::now();
            engine.submit_snapshot(breach).await?;
            trips.push(t.elapsed().as_nanos() as u64);
            let refused = engine.check_order(order.clone())?;
            assert!(
                !refused.is_accepted(),
                "round {round}: gate open after a trip"
            );

            let op = engine.operator();
            let ticket = op.request_reset("bench", None).await?;
            op.confirm_reset("bench", &ticket.confirmation_token, true)
                .await?;
        }
        anyhow::Ok((bare, quiet, trips))
    })?;
    let _ = stop_tx.send(());
    let _ = echo_thread.join();
    rt.block_on(engine.shutdown())?;

    println!("{rounds} rounds");
    let (b50, b99) = report("baseline: actix message to another arbiter", bare);
    let (q50, q99) = report("snapshot awaited, no trip", quiet);
    let (t50, t99) = report("snapshot awaited, trips (gate closed)", trips);
    let ratio = |a: u64, b: u64| a as f64 / b as f64;
    println!(
        "no trip / baseline: p50 {:.2}, p99 {:.2}",
        ratio(q50, b50),
        ratio(q99, b99)
    );
    println!(
        "trip / baseline:    p50 {:.2}, p99 {:.2}",
        ratio(t50, b50),
        ratio(t99, b99)
    );
    Ok(())
}
