//! `rustybt live replay` on the sample histories: each gives the trips it was made to produce,
//! and the replay's trips equal what the live engine does with the same events.

use rustybt::config::Config;
use rustybt::engine::EngineBuilder;
use rustybt::replay::{self, EventKind, ReplayOptions};
use rustybt::{BreakerKind, EngineEvent, StrategySettings, TestClock};
use std::path::{Path, PathBuf};
use std::process::Command;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data")
        .join(name)
}

fn moderate() -> StrategySettings {
    let c =
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/config/moderate.toml"))
            .unwrap();
    c.strategies[0].clone()
}

fn history(name: &str) -> Vec<replay::ReplayEvent> {
    let file = std::fs::File::open(sample(name)).unwrap();
    replay::read(
        std::io::BufReader::new(file),
        name.ends_with(".csv"),
        false,
        |_| {},
    )
    .unwrap()
    .events
}

fn run(settings: StrategySettings, name: &str) -> replay::ReplayReport {
    let events = history(name);
    actix_rt::System::new().block_on(async move {
        replay::replay(settings, &events, &ReplayOptions::default())
            .await
            .unwrap()
    })
}

fn breakers(r: &replay::ReplayReport) -> Vec<BreakerKind> {
    r.trips.iter().map(|t| t.breaker).collect()
}

#[test]
fn test_calm_month_trips_nothing() {
    let r = run(moderate(), "calm_month.csv");
    assert!(r.trips.is_empty(), "{:?}", r.trips);
    assert_eq!(r.events, 8580);
}

#[test]
fn test_crash_day_trips_daily_loss_then_drawdown() {
    let r = run(moderate(), "crash_day.jsonl");
    assert_eq!(
        breakers(&r),
        [BreakerKind::DailyLoss, BreakerKind::Drawdown]
    );
    assert!(r.trips[0].at < r.trips[1].at);
    assert!(!r.refused.is_empty());
    assert!(
        r.refused.iter().all(|o| o.at >= r.trips[0].at),
        "nothing refused before the first trip"
    );
}

#[test]
fn test_runaway_orders_trip_order_rate_on_the_101st() {
    let r = run(moderate(), "runaway_orders.jsonl");
    assert_eq!(breakers(&r), [BreakerKind::OrderRate]);
    assert_eq!(
        r.refused[0].order_id, "loop-101",
        "the 101st order trips and is itself refused"
    );
    assert_eq!(r.refused.len(), 50);
}

#[test]
fn test_broker_outage_trips_error_rate_on_the_11th() {
    let r = run(moderate(), "broker_outage.jsonl");
    assert_eq!(breakers(&r), [BreakerKind::ErrorRate]);
    assert_eq!(r.trips[0].details["errors_in_window"], "11");
    assert_eq!(r.refused[0].order_id, "out-12");
}

fn pre_trade() -> StrategySettings {
    let c =
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/config/pre_trade.toml"))
            .unwrap();
    c.strategies[0].clone()
}

#[test]
fn test_fat_finger_when_checks_configured_then_each_catches_its_order() {
    use rustybt_actors::pretrade::PreTradeCheck::*;
    let r = run(pre_trade(), "fat_finger.jsonl");
    let check_of = |id: &str| {
        r.refused
            .iter()
            .find(|o| o.order_id == id)
            .and_then(|o| o.check)
    };
    assert_eq!(check_of("ff-aapl"), Some(MaxOrderQuantity), "an extra zero");
    assert_eq!(check_of("ff-msft"), Some(MaxOrderNotional), "an extra zero");
    assert_eq!(
        check_of("through"),
        Some(PriceCollar),
        "far through the market"
    );
    assert_eq!(
        check_of("stale-mkt"),
        Some(StaleReferencePrice),
        "the feed went quiet"
    );
    assert_eq!(
        check_of("ord-17"),
        Some(DuplicateOrderId),
        "re-sent after the outage"
    );
    assert_eq!(
        breakers(&r),
        [BreakerKind::PreTrade],
        "the 6th denial in a minute"
    );
    assert_eq!(r.trips[0].details["denials_in_window"], "6");
    // Before the first fat finger nothing was denied; the strategy's own orders passed.
    assert!(r.refused.iter().all(|o| o.order_id != "ord-1"));
    // The same history without checks sends every one of those orders.
    let bare = run(moderate(), "fat_finger.jsonl");
    assert!(bare.refused.is_empty() && bare.trips.is_empty());
}

#[test]
fn test_replay_equals_the_live_engine_fed_the_same_events() {
    for name in [
        "crash_day.jsonl",
        "runaway_orders.jsonl",
        "broker_outage.jsonl",
        "fat_finger.jsonl",
    ] {
        let settings = if name == "fat_finger.jsonl" {
            pre_trade()
        } else {
            moderate()
        };
        let replayed = run(settings.clone(), name);
        // The same events straight into an engine through its handle, one awaited call each.
        let events = history(name);
        let live = actix_rt::System::new().block_on(async move {
            let clock = TestClock::new(events[0].at);
            let mut s = settings;
            s.tick_interval = None;
            let dir = tempfile::tempdir().unwrap();
            let e = EngineBuilder::new(s)
                .clock(clock.clone())
                .data_dir(dir.path())
                .start()
                .unwrap();
            let mut sub = e.subscribe();
            let mut refused = Vec::new();
            let mut last_tick = events[0].at;
            for ev in &events {
                if ev.at - last_tick >= chrono::Duration::seconds(1) {
                    clock.set(ev.at - chrono::Duration::nanoseconds(1));
                    e.tick().await;
                    last_tick = ev.at;
                }
                clock.set(ev.at);
                match &ev.kind {
                    EventKind::Portfolio(p) => e.submit_snapshot(p.clone()).await.unwrap(),
                    EventKind::Order(o) => {
                        if !e.check_order(o.clone()).unwrap().is_accepted() {
                            refused.push(o.order_id.clone());
                        }
                    }
                    EventKind::Fill(f) => e.report_fill(f.clone()).unwrap(),
                    EventKind::Error(r) => e.report_error(r.clone()).await.unwrap(),
                    EventKind::Prices(p) => e.post_prices(ev.at, p.clone()).unwrap(),
                    EventKind::Done { order_id, status } => {
                        let _ = e.order_done(order_id, *status, Some(ev.at));
                    }
                    EventKind::Heartbeat => e.heartbeat(Some(ev.at)).unwrap(),
                }
            }
            e.alerts_idle().await;
            let mut trips = Vec::new();
            while let Ok(ev) = sub.try_recv() {
                if let EngineEvent::CircuitBreakerTripped(t) = ev {
                    trips.push((t.trip.breaker, t.trip.at, t.trip.summary));
                }
            }
            e.shutdown().await.unwrap();
            (trips, refused)
        });
        let replay_trips: Vec<_> = replayed
            .trips
            .iter()
            .map(|t| (t.breaker, t.at, t.summary.clone()))
            .collect();
        assert_eq!(replay_trips, live.0, "{name}: trips");
        let replay_refused: Vec<_> = replayed
            .refused
            .iter()
            .map(|o| o.order_id.clone())
            .collect();
        assert_eq!(
            replay_refused,
            live.1,
            "{name}: refused orders {:?}",
            replayed
                .refused
                .iter()
                .take(3)
                .map(|r| r.reason.clone())
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn test_profiles_compare_side_by_side_on_the_crash_day() {
    let out = Command::new(env!("CARGO_BIN_EXE_rustybt"))
        .args([
            "live",
            "replay",
            "--profile",
            "conservative",
            "--profile",
            "aggressive",
        ])
        .arg(sample("crash_day.jsonl"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{label} in {text}"))
            .to_string()
    };
    let conservative: Vec<String> = row("profile conservative ")
        .split_whitespace()
        .map(String::from)
        .collect();
    let aggressive: Vec<String> = row("profile aggressive ")
        .split_whitespace()
        .map(String::from)
        .collect();
    // Columns: label(2 words), drawdown, daily_loss, ...: conservative trips both, aggressive
    // (-20% drawdown, -10% daily loss) trips only the daily loss.
    assert_eq!(
        (conservative[2].as_str(), conservative[3].as_str()),
        ("1", "1"),
        "{text}"
    );
    assert_eq!(
        (aggressive[2].as_str(), aggressive[3].as_str()),
        ("0", "1"),
        "{text}"
    );
}

#[test]
fn test_bad_input_is_reported_with_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"type\":\"portfolio\",\"timestamp\":\"2026-03-09T14:00:00Z\",\"portfolio_value\":\"100\"}\n{\"type\":\"portfolio\",\"timestamp\":\"2026-03-09T14:00:01Z\",\"portfolio_value\":\"abc\"}\n{\"type\":\"portfolio\",\"timestamp\":\"2026-03-09T14:00:02Z\",\"portfolio_value\":\"90\"}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rustybt"))
        .args(["live", "replay"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2: portfolio_value: \"abc\" is not a decimal"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_rustybt"))
        .args(["live", "replay", "--skip-bad"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("skipped 1 malformed lines"));
    let order = dir.path().join("order.csv");
    std::fs::write(
        &order,
        "timestamp,portfolio_value\n2026-03-09T14:00:01Z,100\n2026-03-09T14:00:00Z,100\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rustybt"))
        .args(["live", "replay"])
        .arg(&order)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 3: timestamp"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn test_plot_draws_an_svg_with_the_trips() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("crash.svg");
    let out = Command::new(env!("CARGO_BIN_EXE_rustybt"))
        .args(["live", "replay", "--plot"])
        .arg(&svg)
        .arg(sample("crash_day.jsonl"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"));
    assert!(
        text.contains("daily_loss trips") && text.contains("drawdown trips"),
        "trip labels drawn"
    );
}

/// A long history with trips late in it: the report must name every trip the engine made,
/// read from a stream that cannot drop them (a bounded stream lost them on long histories).
#[test]
fn test_replay_when_history_is_long_then_every_trip_is_reported() {
    let start: chrono::DateTime<chrono::Utc> = "2026-03-09T13:30:00Z".parse().unwrap();
    let mut events = Vec::new();
    let n = 120_000;
    for i in 0..n {
        // Dense, gently rising values across the session, then a fall near the end.
        let at = start + chrono::Duration::milliseconds(i as i64 * 100);
        let value = if i < n - 50 {
            rust_decimal::Decimal::from(1_000_000 + i as i64)
        } else {
            rust_decimal::Decimal::from(900_000)
        };
        events.push(replay::ReplayEvent {
            line: i + 1,
            at,
            kind: EventKind::Portfolio(rustybt::PortfolioSnapshot::valued(at, value)),
        });
    }
    let report = actix_rt::System::new().block_on(async move {
        replay::replay(moderate(), &events, &ReplayOptions::default())
            .await
            .unwrap()
    });
    assert_eq!(report.events, n);
    let mut kinds = breakers(&report);
    kinds.sort();
    assert_eq!(
        kinds,
        [BreakerKind::Drawdown, BreakerKind::DailyLoss],
        "both trips near the end are reported: {:?}",
        report.trips
    );
    for t in &report.trips {
        assert!(t.at >= start + chrono::Duration::milliseconds((n as i64 - 50) * 100));
    }
}
