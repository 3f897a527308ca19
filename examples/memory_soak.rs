//! Resident memory over many events: feeds N events (default 10 million: snapshots, orders,
//! errors) through one engine and prints the resident set size as it goes. Flat is the goal:
//! windows, logs and histories are all bounded.
//!
//! Run: `cargo run --release --example memory_soak -- 10000000`

use chrono::Duration;
use rust_decimal::Decimal;
use rustybt::engine::EngineBuilder;
use rustybt::{
    Clock, ErrorKind, ErrorReport, OrderRequest, PortfolioSnapshot, Side, StrategySettings,
    TestClock,
};

fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let total: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let clock = TestClock::new("2026-03-09T14:00:00Z".parse()?);
    let mut settings = StrategySettings::moderate("soak");
    settings.tick_interval = None;
    settings.stale_feed = None;
    // Limits the soak never reaches (one order and one error per 10 ms of simulated time is
    // 6000 a minute), so every event takes the full path and the windows hold 6000 entries.
    settings.order_rate.as_mut().expect("on").max_orders = 10_000;
    settings.error_rate.as_mut().expect("on").max_errors = 10_000;
    let engine = EngineBuilder::new(settings)
        .clock(clock.clone())
        .temporary_checkpoint()
        .start()?;
    engine
        .submit_snapshot(PortfolioSnapshot::valued(
            clock.now(),
            Decimal::from(100_000),
        ))
        .await?;
    let start_rss = rss_mib();
    println!("events,rss_mib");
    println!("0,{start_rss:.1}");
    let started = std::time::Instant::now();
    let step = total / 10;
    for i in 1..=total {
        clock.advance(Duration::milliseconds(1));
        match i % 10 {
            0 => {
                let order = OrderRequest::market(format!("o{i}"), "SPY", Side::Buy, Decimal::ONE);
                engine.check_order(order)?;
            }
            5 => {
                engine
                    .report_error(ErrorReport {
                        kind: ErrorKind::BrokerError,
                        message: "soak".into(),
                        order_id: None,
                        timestamp: None,
                    })
                    .await?;
            }
            _ => {
                let v = Decimal::new(10_000_000 + (i % 5000) as i64, 2);
                let s = PortfolioSnapshot::valued(clock.now(), v);
                if i % 1000 == 1 {
                    engine.submit_snapshot(s).await?; // a barrier now and then bounds the mailbox
                } else {
                    engine.push_snapshots(vec![s]);
                }
            }
        }
        if step > 0 && i % step == 0 {
            println!("{i},{:.1}", rss_mib());
        }
    }
    let end_rss = rss_mib();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "# {total} events in {secs:.1} s ({:.0}/s); resident memory start {start_rss:.1} MiB, end {end_rss:.1} MiB",
        total as f64 / secs
    );
    engine.shutdown().await?;
    Ok(())
}
