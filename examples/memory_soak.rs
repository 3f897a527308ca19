//! Resident memory over many orders (API v1.2: "Resident memory depends on the configuration,
//! never on how long the engine has run or how many orders it has judged").
//!
//! Feeds N orders (default 10 million), each with a distinct id, through one engine with every
//! pre-trade check on (quantity, notional, position, gross exposure, collar, reference age, open
//! orders, duplicate id) at limits the soak never reaches. Most orders fill (`report_fill`), one
//! in ten is cancelled (`order_done`), one in a thousand is a `day` order the host never reports
//! again: the gate must close it as expired at the session's close. Time is simulated on the
//! injected clock: 100,000 orders a trading day on a New York 09:30-16:00 calendar, the clock
//! set to each close (a tick expires day orders and rolls the duplicate-id window) and on to the
//! next open, weekends skipped. Snapshots, prices and the odd broker error flow as well.
//!
//! It prints the resident set size as it goes and, at the end, whether it stayed within 10% of
//! its size after the first million orders ("flat"), computed from the figures it printed.
//!
//! Run: `cargo run --release --example memory_soak -- 10000000`

use chrono::{Duration, NaiveTime};
use rust_decimal::Decimal;
use rustybt::engine::EngineBuilder;
use rustybt::{
    Clock, EngineEvent, ErrorKind, ErrorReport, Fill, OrderRequest, PortfolioSnapshot, Position,
    Side, StrategySettings, TestClock,
};
use rustybt_actors::pretrade::{AssetLimits, DoneStatus, PreTradeLimits};
use rustybt_actors::rules::MarketSession;

const ORDERS_PER_DAY: u64 = 100_000;
const ASSETS: [&str; 4] = ["SPY", "QQQ", "IWM", "DIA"];
const FLAT_AFTER: u64 = 1_000_000;

fn rss_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

fn price(asset: usize) -> Decimal {
    Decimal::from(100 + 50 * asset as i64)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let total: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let market = MarketSession::new(
        chrono_tz::America::New_York,
        NaiveTime::from_hms_opt(9, 30, 0).expect("valid time"),
        [],
    )
    .closing_at(NaiveTime::from_hms_opt(16, 0, 0).expect("valid time"));
    // Monday 2026-03-09, 09:30 New York.
    let clock = TestClock::new("2026-03-09T13:30:00Z".parse()?);
    let mut settings = StrategySettings::moderate("soak");
    settings.market = market.clone();
    settings.tick_interval = None;
    settings.breakers.stale_feed = None;
    // Limits the soak never reaches, so every order takes the full path.
    settings.breakers.order_rate.as_mut().expect("on").max = 100_000;
    settings.breakers.error_rate.as_mut().expect("on").max = 100_000;
    settings.pre_trade = PreTradeLimits {
        per_order: AssetLimits {
            max_order_quantity: Some(Decimal::from(1_000)),
            max_order_notional: Some(Decimal::from(10_000_000)),
            max_position: Some(Decimal::from(1_000_000)),
            price_collar: Some(Decimal::new(5, 2)),
        },
        max_gross_exposure: Some(Decimal::from(1_000_000_000)),
        max_reference_age: Some(Duration::hours(1)),
        max_open_orders: Some(10_000),
        duplicate_order_id: true,
        duplicate_window: None,
        assets: Default::default(),
    };
    let engine = EngineBuilder::new(settings)
        .clock(clock.clone())
        .temporary_checkpoint()
        .start()?;
    let mut events = engine.subscribe();
    let post_prices = |at| {
        let prices = (0..ASSETS.len())
            .map(|a| (ASSETS[a].to_string(), price(a)))
            .collect();
        engine.post_prices(at, prices)
    };
    let snapshot = |at, value: Decimal| {
        let mut s = PortfolioSnapshot::valued(at, value);
        s.positions = Some(
            (0..ASSETS.len())
                .map(|a| Position {
                    asset: ASSETS[a].into(),
                    quantity: Decimal::ZERO,
                    market_price: price(a),
                })
                .collect(),
        );
        s
    };
    post_prices(clock.now())?;
    engine
        .submit_snapshot(snapshot(clock.now(), Decimal::from(1_000_000)))
        .await?;

    let session =
        market.close_instant(market.session_of(clock.now()).expect("in session")) - clock.now();
    let step = session / ORDERS_PER_DAY as i32;
    let start_rss = rss_mib();
    println!("orders,rss_mib,open_orders,day");
    println!("0,{start_rss:.1},0,0");
    let report_every = (total / 20).max(1);
    let started = std::time::Instant::now();
    let (mut unreported, mut expired, mut denied, mut days) = (0u64, 0u64, 0u64, 0u64);
    let mut after_first_million: Option<f64> = None;
    let mut peak_after = 0.0f64;
    let drain = |events: &mut tokio::sync::mpsc::UnboundedReceiver<EngineEvent>| {
        let mut n = 0;
        while let Ok(e) = events.try_recv() {
            if matches!(e, EngineEvent::OrderExpired(_)) {
                n += 1;
            }
        }
        n
    };
    for i in 1..=total {
        clock.advance(step);
        let now = clock.now();
        if market.session_of(now).is_none() {
            // The close: a tick closes the day's unreported orders and rolls the id window.
            let close = market.day_order_expiry(now - step);
            clock.set(close);
            engine.tick().await;
            expired += drain(&mut events);
            days += 1;
            clock.set(market.next_open_after(close));
            post_prices(clock.now())?;
            engine
                .submit_snapshot(snapshot(clock.now(), Decimal::from(1_000_000)))
                .await?;
        }
        let now = clock.now();
        let a = (i % ASSETS.len() as u64) as usize;
        let side = if (i / 4) % 2 == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        let mut order = OrderRequest::market(format!("o{i}"), ASSETS[a], side, Decimal::ONE);
        order.limit_price = Some(price(a));
        if i % 1000 == 500 {
            order = order.good_till_cancelled();
        }
        let decision = engine.check_order(order)?;
        if !decision.is_accepted() {
            denied += 1;
            if denied <= 3 {
                eprintln!("order o{i} denied: {decision:?}");
            }
            continue;
        }
        if i % 1000 == 0 {
            unreported += 1; // a day order the host never reports: it must expire
        } else if i % 10 == 0 {
            engine.order_done(&format!("o{i}"), DoneStatus::Cancelled, Some(now))?;
        } else {
            engine.report_fill(Fill {
                order_id: format!("o{i}"),
                asset: ASSETS[a].into(),
                side,
                quantity: Decimal::ONE,
                price: price(a),
                timestamp: now,
            })?;
        }
        if i % 100 == 0 {
            let v = Decimal::from(1_000_000) + Decimal::from(i % 5000);
            if i % 10_000 == 0 {
                engine.submit_snapshot(snapshot(now, v)).await?; // a barrier bounds the mailbox
                post_prices(now)?;
            } else {
                engine.push_snapshots(vec![PortfolioSnapshot::valued(now, v)]);
            }
        }
        if i % 5_000 == 0 {
            engine
                .report_error(ErrorReport {
                    kind: ErrorKind::BrokerError,
                    message: "soak".into(),
                    order_id: None,
                    timestamp: None,
                })
                .await?;
        }
        if i % report_every == 0 || i == FLAT_AFTER {
            let rss = rss_mib();
            let open = engine.book().open_orders.len();
            println!("{i},{rss:.1},{open},{days}");
            if i == FLAT_AFTER {
                after_first_million = Some(rss);
            }
            if i >= FLAT_AFTER {
                peak_after = peak_after.max(rss);
            }
        }
    }
    // The last session's close, so that its unreported orders expire too.
    let close = market.day_order_expiry(clock.now());
    clock.set(close);
    engine.tick().await;
    engine.settle().await?;
    expired += drain(&mut events);
    let end_rss = rss_mib();
    let secs = started.elapsed().as_secs_f64();
    let open_left = engine.book().open_orders.len();
    println!(
        "# {total} orders over {} trading days in {secs:.1} s ({:.0}/s); resident memory start {start_rss:.1} MiB, end {end_rss:.1} MiB",
        days + 1,
        total as f64 / secs
    );
    println!(
        "# denied {denied}; day orders never reported {unreported}, expired {expired}; gtc orders left open {open_left}"
    );
    match after_first_million {
        Some(base) => {
            let growth = (peak_after.max(end_rss) / base - 1.0) * 100.0;
            let flat = growth <= 10.0;
            println!(
                "# after the first million: {base:.1} MiB, peak since {:.1} MiB ({growth:+.1}%): {}",
                peak_after.max(end_rss),
                if flat {
                    "flat (within 10%)"
                } else {
                    "NOT flat (more than 10%)"
                }
            );
        }
        None => println!("# fewer than {FLAT_AFTER} orders: flatness not judged"),
    }
    engine.shutdown().await?;
    Ok(())
}
