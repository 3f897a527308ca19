//! The breakers through the actors, driven by message injection on a hand-moved clock.

use crate::support::engine::*;
use chrono::Duration;
use rust_decimal_macros::dec;
use rustybt::{BreakerKind, EngineEvent, EngineState, ErrorKind, ErrorReport, OrderDecision};

fn rejected_by(d: &OrderDecision) -> Option<(EngineState, Option<BreakerKind>)> {
    match d {
        OrderDecision::Rejected { state, breaker, .. } => Some((*state, *breaker)),
        OrderDecision::Accepted => None,
    }
}

#[tokio::test]
async fn test_drawdown_when_portfolio_falls_10_percent_then_trips_and_refuses_orders() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.breakers.daily_loss = None; // a 10% fall would trip the moderate daily loss (-5%) first
    let mut h = start(dir.path(), s, monday_morning());
    let mut events = h.engine.subscribe();
    h.value(Duration::seconds(1), dec!(100000)).await;
    assert!(h.order("o1").await.is_accepted());
    h.value(Duration::seconds(1), dec!(90000.01)).await;
    assert!(
        h.order("o2").await.is_accepted(),
        "one cent short of -10% does not trip"
    );
    h.value(Duration::seconds(1), dec!(90000.00)).await;
    // submit_snapshot returned: the trip is already in force at the gate.
    let d = h.order("o3").await;
    assert_eq!(
        rejected_by(&d),
        Some((EngineState::Tripped, Some(BreakerKind::Drawdown))),
        "{d:?}"
    );
    if let OrderDecision::Rejected { reason, .. } = &d {
        assert!(
            reason.contains("TRIPPED") && reason.contains("drawdown"),
            "{reason}"
        );
    }
    let status = h.engine.status().await.unwrap();
    assert_eq!(status.state, EngineState::Tripped);
    let dd = status
        .breakers
        .iter()
        .find(|b| b.kind == BreakerKind::Drawdown)
        .unwrap();
    assert_eq!(dd.status, rustybt_actors::engine::BreakerCondition::Tripped);
    assert_eq!(dd.value, Some(dec!(-0.1)));
    let cancel = h
        .cancels
        .try_recv()
        .expect("the host is told to cancel open orders");
    assert_eq!(cancel.state, EngineState::Tripped);
    let mut saw_trip = false;
    while let Ok(e) = events.try_recv() {
        if let EngineEvent::CircuitBreakerTripped(t) = e {
            assert_eq!(t.trip.breaker, BreakerKind::Drawdown);
            assert_eq!(t.trip.details["high_water_mark"], "100000");
            saw_trip = true;
        }
    }
    assert!(saw_trip, "a CircuitBreakerTrippedEvent was published");
}

#[tokio::test]
async fn test_drawdown_when_value_falls_below_zero_then_accepted_and_trips_below_minus_100_percent()
{
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.breakers.daily_loss = None;
    let h = start(dir.path(), s, monday_morning());
    h.value(Duration::seconds(1), dec!(100)).await;
    assert!(h.order("o1").await.is_accepted());
    h.value(Duration::seconds(1), dec!(-80)).await;
    assert_eq!(
        rejected_by(&h.order("o2").await),
        Some((EngineState::Tripped, Some(BreakerKind::Drawdown)))
    );
    let status = h.engine.status().await.unwrap();
    assert_eq!(status.portfolio.value, Some(dec!(-80)));
    assert_eq!(status.portfolio.drawdown, Some(dec!(-1.8)));
    let audit = h.engine.audit().await.unwrap();
    let text = serde_json::to_string(&audit).unwrap();
    assert!(text.contains("drawdown -180% <= -10%"), "{text}");
}

#[tokio::test]
async fn test_portfolio_breakers_when_first_value_not_positive_then_trip_fail_closed() {
    for first in [dec!(0), dec!(-80)] {
        let dir = tempfile::tempdir().unwrap();
        let h = start(dir.path(), settings(), monday_morning());
        h.value(Duration::seconds(1), first).await;
        let status = h.engine.status().await.unwrap();
        assert_eq!(status.state, EngineState::Tripped, "{first}");
        let tripped: Vec<_> = status
            .breakers
            .iter()
            .filter(|b| b.status == rustybt_actors::engine::BreakerCondition::Tripped)
            .map(|b| b.kind)
            .collect();
        // moderate: drawdown −10% (no positive high-water mark) and daily loss −5% (a
        // fraction of an open value ≤ 0): neither can be judged, both trip.
        assert_eq!(
            tripped,
            [BreakerKind::Drawdown, BreakerKind::DailyLoss],
            "{first}"
        );
        assert!(!h.order("o1").await.is_accepted());
    }
}

#[tokio::test]
async fn test_daily_loss_when_limit_reached_then_trips() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.breakers.daily_loss = Some(rustybt_actors::settings::DailyLossSettings {
        limit: rustybt_actors::breakers::DailyLossLimit::Amount(dec!(-5000)),
        reset: rustybt::ResetPolicy::Manual,
    });
    s.breakers.drawdown = None;
    let h = start(dir.path(), s, monday_morning());
    h.value(Duration::seconds(1), dec!(200000)).await;
    h.value(Duration::minutes(5), dec!(195000.01)).await;
    assert!(h.order("o1").await.is_accepted());
    h.value(Duration::minutes(5), dec!(195000.00)).await;
    assert_eq!(
        rejected_by(&h.order("o2").await),
        Some((EngineState::Tripped, Some(BreakerKind::DailyLoss)))
    );
}

#[tokio::test]
async fn test_order_rate_when_150_orders_in_a_minute_then_101st_trips_and_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    h.value(Duration::seconds(1), dec!(100000)).await;
    let mut first_rejected = None;
    for i in 1..=150 {
        h.clock.advance(Duration::milliseconds(350)); // 150 orders in 52.5 s
        let d = h.order(&format!("o{i}")).await;
        if !d.is_accepted() && first_rejected.is_none() {
            first_rejected = Some((i, rejected_by(&d)));
        }
        if i > 100 {
            assert!(!d.is_accepted(), "order {i} must be refused");
        }
    }
    let (n, by) = first_rejected.expect("the breaker tripped");
    assert_eq!(n, 101, "the 101st order trips and is itself rejected");
    assert_eq!(by.unwrap().1, Some(BreakerKind::OrderRate));
    assert_eq!(h.engine.status().await.unwrap().state, EngineState::Tripped);
}

#[tokio::test]
async fn test_order_rate_when_window_clears_then_auto_reset_to_normal() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    h.value(Duration::seconds(1), dec!(100000)).await;
    for i in 0..101 {
        h.order(&format!("o{i}")).await;
    }
    assert_eq!(h.engine.status().await.unwrap().state, EngineState::Tripped);
    h.clock.advance(Duration::seconds(30));
    h.engine.tick().await;
    assert_eq!(
        h.engine.status().await.unwrap().state,
        EngineState::Tripped,
        "still 101 in the window"
    );
    h.clock.advance(Duration::seconds(31));
    h.value(Duration::zero(), dec!(100000)).await; // keep the feed fresh
    h.engine.tick().await;
    assert_eq!(
        h.engine.status().await.unwrap().state,
        EngineState::Normal,
        "order rate resets itself"
    );
    assert!(h.order("after").await.is_accepted());
    let audit = h.engine.audit().await.unwrap();
    assert_eq!(audit.last().unwrap().cause, "cleared:order_rate");
}

#[tokio::test]
async fn test_error_rate_when_15_errors_in_a_minute_then_11th_trips() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    h.value(Duration::seconds(1), dec!(100000)).await;
    let kinds = [
        ErrorKind::OrderRejected,
        ErrorKind::BrokerError,
        ErrorKind::DataError,
    ];
    for i in 1..=15 {
        h.clock.advance(Duration::seconds(3));
        h.engine
            .report_error(ErrorReport {
                kind: kinds[i % 3],
                message: format!("error {i}"),
                order_id: None,
                timestamp: None,
            })
            .await
            .unwrap();
        let state = h.engine.status().await.unwrap().state;
        if i <= 10 {
            assert_eq!(state, EngineState::Normal, "error {i}");
        } else {
            assert_eq!(state, EngineState::Tripped, "error {i}");
        }
    }
    let status = h.engine.status().await.unwrap();
    let er = status
        .breakers
        .iter()
        .find(|b| b.kind == BreakerKind::ErrorRate)
        .unwrap();
    assert_eq!(er.status, rustybt_actors::engine::BreakerCondition::Tripped);
    assert_eq!(status.error_totals["broker_error"], 5);
    let audit = h.engine.audit().await.unwrap();
    assert_eq!(audit[0].cause, "trip:error_rate");
    assert_eq!(audit[0].details["figures"]["errors_in_window"], "11");
}

#[tokio::test]
async fn test_stale_feed_when_silent_during_session_then_trips_and_clears_on_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    h.value(Duration::seconds(1), dec!(100000)).await;
    h.clock.advance(Duration::seconds(60));
    h.engine.tick().await;
    assert_eq!(h.engine.status().await.unwrap().state, EngineState::Normal);
    h.clock.advance(Duration::seconds(1));
    h.engine.tick().await;
    assert_eq!(h.engine.status().await.unwrap().state, EngineState::Tripped);
    assert_eq!(
        rejected_by(&h.order("o").await).unwrap().1,
        Some(BreakerKind::StaleFeed)
    );
    h.value(Duration::seconds(1), dec!(100000)).await;
    h.engine.tick().await;
    assert_eq!(h.engine.status().await.unwrap().state, EngineState::Normal);
}

#[tokio::test]
async fn test_gate_when_no_snapshot_yet_then_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    let d = h.order("early").await;
    assert_eq!(
        rejected_by(&d),
        Some((EngineState::Normal, Some(BreakerKind::Drawdown))),
        "{d:?}"
    );
    assert!(!h.engine.trading_allowed());
    h.value(Duration::seconds(1), dec!(1000)).await;
    assert!(h.engine.trading_allowed());
    assert!(h.order("later").await.is_accepted());
}

#[tokio::test]
async fn test_snapshot_when_invalid_then_refused_naming_field_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    h.value(Duration::seconds(10), dec!(1000)).await;
    // (A portfolio value of −5 is no bad input: the breakers judge it.)
    let bad = rustybt::PortfolioSnapshot::valued(h.now(), dec!(-5)).with_positions(vec![
        rustybt::Position {
            asset: "SPY".into(),
            quantity: dec!(1),
            market_price: dec!(-5),
        },
    ]);
    let e = h.engine.submit_snapshot(bad).await.unwrap_err();
    assert!(e.to_string().contains("positions.market_price: -5"), "{e}");
    let old = rustybt::PortfolioSnapshot::valued(h.now() - Duration::seconds(5), dec!(1));
    let e = h.engine.submit_snapshot(old).await.unwrap_err();
    assert!(e.to_string().contains("out of order"), "{e}");
    let status = h.engine.status().await.unwrap();
    assert_eq!(status.state, EngineState::Normal);
    assert_eq!(status.portfolio.value, Some(dec!(1000)));
    assert_eq!(status.portfolio.snapshots_refused, 2);
}

#[tokio::test]
async fn test_daily_loss_resets_at_0930_new_york_on_both_sides_of_dst() {
    // 2026-03-06 (Fri, EST): open 14:30Z. 2026-03-09 (Mon, EDT): open 13:30Z.
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.breakers.drawdown = None;
    s.breakers.stale_feed = None;
    s.breakers.daily_loss = Some(rustybt_actors::settings::DailyLossSettings {
        limit: rustybt_actors::breakers::DailyLossLimit::Amount(dec!(-100)),
        reset: rustybt::ResetPolicy::Manual,
    });
    let start_at = "2026-03-06T14:29:00Z".parse().unwrap();
    let h = start(dir.path(), s, start_at);
    h.value(Duration::zero(), dec!(1000)).await; // 09:29 EST: before the open, no session
    let st = h.engine.status().await.unwrap();
    let dl = st
        .breakers
        .iter()
        .find(|b| b.kind == BreakerKind::DailyLoss)
        .unwrap();
    assert!(
        !dl.details.contains_key("session_date"),
        "pre-open snapshots count toward no session"
    );
    h.value(Duration::minutes(1), dec!(1000)).await; // 09:30 EST = 14:30Z: the open value
    let st = h.engine.status().await.unwrap();
    let dl = st
        .breakers
        .iter()
        .find(|b| b.kind == BreakerKind::DailyLoss)
        .unwrap();
    assert_eq!(dl.details["session_date"], "2026-03-06");
    assert_eq!(dl.details["open_value"], "1000");
    h.value(Duration::hours(6), dec!(950)).await; // Friday afternoon: -50
                                                  // Monday 13:29Z is 09:29 EDT: before the open; 13:30Z is the open.
    h.clock.set("2026-03-09T13:29:00Z".parse().unwrap());
    h.engine.tick().await;
    h.value(Duration::zero(), dec!(850)).await;
    assert_eq!(
        h.engine.status().await.unwrap().state,
        EngineState::Normal,
        "before Monday's open nothing counts"
    );
    h.clock.set("2026-03-09T13:30:00Z".parse().unwrap());
    h.engine.tick().await;
    h.value(Duration::zero(), dec!(850)).await;
    let st = h.engine.status().await.unwrap();
    let dl = st
        .breakers
        .iter()
        .find(|b| b.kind == BreakerKind::DailyLoss)
        .unwrap();
    assert_eq!(
        dl.details["session_date"], "2026-03-09",
        "the session rolled at 09:30 EDT = 13:30Z"
    );
    assert_eq!(dl.details["open_value"], "850");
    h.value(Duration::minutes(1), dec!(750)).await;
    assert_eq!(h.engine.status().await.unwrap().state, EngineState::Tripped);
}

#[tokio::test]
async fn test_snapshot_when_far_in_the_future_then_refused_and_breakers_keep_seeing_losses() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    h.value(Duration::seconds(1), dec!(100000)).await;
    let future = rustybt::PortfolioSnapshot::valued(h.now() + Duration::days(365), dec!(100000));
    let e = h.engine.submit_snapshot(future).await.unwrap_err();
    assert!(
        e.to_string().starts_with("timestamp: ")
            && e.to_string().contains("ahead of the engine's clock"),
        "{e}"
    );
    // Real snapshots after it are still judged: the drawdown is seen.
    h.value(Duration::seconds(1), dec!(89000)).await;
    assert_eq!(
        rejected_by(&h.order("o").await),
        Some((EngineState::Tripped, Some(BreakerKind::Drawdown)))
    );
}

#[tokio::test]
async fn test_feed_when_every_snapshot_refused_then_stale_feed_trips() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    h.value(Duration::seconds(1), dec!(100000)).await;
    for _ in 0..7 {
        h.clock.advance(Duration::seconds(10));
        let bad = rustybt::PortfolioSnapshot::valued(h.now() + Duration::hours(1), dec!(100000));
        assert!(h.engine.submit_snapshot(bad).await.is_err());
        h.engine.tick().await;
    }
    let status = h.engine.status().await.unwrap();
    assert_eq!(
        status.state,
        EngineState::Tripped,
        "a refused feed ends in a trip"
    );
    assert_eq!(status.portfolio.snapshots_refused, 7);
    assert!(status
        .portfolio
        .last_refusal
        .unwrap()
        .contains("ahead of the engine's clock"));
    assert_eq!(
        rejected_by(&h.order("o").await).unwrap().1,
        Some(BreakerKind::StaleFeed)
    );
}

#[tokio::test]
async fn test_snapshot_when_values_extreme_then_no_breaker_dies_and_halt_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    // A tiny then an enormous value: the daily-loss ratio overflows a decimal.
    h.value(Duration::seconds(1), rust_decimal::Decimal::new(1, 28))
        .await;
    h.value(Duration::seconds(1), rust_decimal::Decimal::MAX)
        .await;
    h.value(Duration::seconds(1), dec!(1)).await;
    let status = h.engine.status().await.unwrap();
    assert!(
        status.actors.iter().all(|a| a.ready && a.restarts == 0),
        "{:?}",
        status.actors
    );
    // A position whose market value overflows is refused, naming the field.
    let mut s = rustybt::PortfolioSnapshot::valued(h.now(), dec!(1));
    s.positions
        .get_or_insert_with(Vec::new)
        .push(rustybt::Position {
            asset: "X".into(),
            quantity: rust_decimal::Decimal::MAX,
            market_price: dec!(10),
        });
    let e = h.engine.submit_snapshot(s).await.unwrap_err();
    assert!(e.to_string().starts_with("positions.market_price:"), "{e}");
    let rec = h
        .engine
        .operator()
        .halt("alice", "extreme values")
        .await
        .unwrap();
    assert_eq!(rec.state, EngineState::ManuallyHalted);
}
