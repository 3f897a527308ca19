//! The decision core judged without actors.

use super::*;
use crate::clock::TestClock;
use crate::domain::Side;
use crate::rules::MarketSession;
use chrono::Duration;
use rust_decimal_macros::dec;

fn t0() -> DateTime<Utc> {
    "2026-03-09T14:00:00Z".parse().unwrap()
}

fn update(state: EngineState, tripped: &[BreakerKind], applied: u64) -> GateUpdate {
    let mut record = crate::state_machine::StateMachine::new(t0())
        .record()
        .clone();
    record.state = state;
    record.tripped = tripped.iter().map(|k| (*k, t0())).collect();
    record.reason = Some("why".into());
    GateUpdate::new(record, applied)
}

fn core(state: EngineState, reduce_only: bool, order_rate: Option<OrderRateRule>) -> DecisionCore {
    let health = Arc::new(HealthBoard::new([ActorName::OrderGate], []));
    let tripped: &[BreakerKind] = if state == EngineState::Tripped {
        &[BreakerKind::Drawdown]
    } else {
        &[]
    };
    DecisionCore::new(
        update(state, tripped, 0),
        GateRules {
            reduce_only_when_tripped: reduce_only,
            order_rate,
            ..GateRules::default()
        },
        health,
    )
}

fn order(id: &str, side: Side, qty: Decimal) -> OrderRequest {
    OrderRequest::market(id, "SPY", side, qty)
}

fn trip(kind: BreakerKind) -> Trip {
    Trip {
        breaker: kind,
        at: t0(),
        value: dec!(-0.11),
        limit: dec!(-0.10),
        details: Default::default(),
        summary: format!("{kind} over its limit"),
    }
}

#[test]
fn test_decide_when_unreconciled_then_only_reducing_orders_pass_until_a_venue_report() {
    use crate::domain::{VenueOrder, VenuePosition, VenueReport};
    let c = core(EngineState::Normal, false, None);
    let clock = TestClock::new(t0());
    c.on_snapshot(
        t0(),
        &[Position {
            asset: "SPY".into(),
            quantity: dec!(10),
            market_price: dec!(100),
        }],
    );
    let report = VenueReport {
        timestamp: t0(),
        positions: Some(vec![VenuePosition {
            asset: "SPY".into(),
            quantity: dec!(4),
        }]),
        open_orders: Some(vec![VenueOrder {
            order_id: "at-venue".into(),
            asset: "SPY".into(),
            side: Side::Buy,
            quantity: dec!(3),
            filled: dec!(1),
        }]),
    };
    assert_eq!(c.rebase(&report), None, "a reconciled book is not re-based");
    c.set_unreconciled();
    let (d, _) = c.decide(order("grow", Side::Buy, dec!(1)), &*clock);
    assert_eq!(d.check(), Some(PreTradeCheck::Unreconciled), "{d:?}");
    assert_eq!(c.activity().denials[PreTradeCheck::Unreconciled.slot()], 1);
    let (d, _) = c.decide(order("shrink", Side::Sell, dec!(5)), &*clock);
    assert!(d.is_accepted(), "reducing a held long passes: {d:?}");
    // The venue's view becomes the book: position 4, one order with 2 left to fill.
    let details = c.rebase(&report).expect("re-based");
    assert_eq!(details["open_orders_before"], 1);
    assert_eq!(details["open_orders_after"], 1);
    assert!(!c.is_unreconciled());
    let open = c.open_orders();
    assert_eq!(open.len(), 1);
    assert_eq!(&*open[0].order_id, "at-venue");
    assert_eq!(open[0].signed_remaining(), dec!(2));
    let (d, _) = c.decide(order("after", Side::Buy, dec!(1)), &*clock);
    assert!(d.is_accepted(), "{d:?}");
    let (d, _) = c.decide(order("at-venue", Side::Buy, dec!(1)), &*clock);
    assert!(
        d.is_accepted(),
        "duplicate ids are off here; the venue's id is open: {d:?}"
    );
    assert_eq!(c.rebase(&report), None, "only the first report re-bases");
}

#[test]
fn test_decide_when_bus_lost_then_refused_by_bus_and_state_kept() {
    let c = core(EngineState::Normal, false, None);
    let clock = TestClock::new(t0());
    c.on_snapshot(
        t0(),
        &[Position {
            asset: "SPY".into(),
            quantity: dec!(100),
            market_price: dec!(500),
        }],
    );
    c.set_bus_loss(Some(BusLossMode::Halt));
    let (d, _) = c.decide(order("b1", Side::Sell, dec!(10)), clock.as_ref());
    let OrderDecision::Rejected { breaker, state, .. } = d else {
        panic!("an order passed while the bus was lost");
    };
    assert_eq!(
        (breaker, state),
        (Some(BreakerKind::Bus), EngineState::Normal)
    );
    c.set_bus_loss(Some(BusLossMode::ReduceOnly));
    assert!(c
        .decide(order("b2", Side::Sell, dec!(10)), clock.as_ref())
        .0
        .is_accepted());
    assert!(!c
        .decide(order("b3", Side::Buy, dec!(10)), clock.as_ref())
        .0
        .is_accepted());
    c.set_bus_loss(None);
    assert!(c
        .decide(order("b4", Side::Buy, dec!(10)), clock.as_ref())
        .0
        .is_accepted());
}

#[test]
fn test_decide_when_reduce_only_then_counts_orders_already_accepted() {
    let clock = TestClock::new(t0());
    let c = tripped_holding(dec!(100));
    let decisions: Vec<bool> = (0..5)
        .map(|i| sells(&c, &clock, &format!("s{i}"), dec!(100)))
        .collect();
    assert_eq!(decisions, [true, false, false, false, false]);
    // Two halves of the long pass; a third would cross through zero.
    let c = tripped_holding(dec!(100));
    let halves: Vec<bool> = (0..3)
        .map(|i| sells(&c, &clock, &format!("h{i}"), dec!(50)))
        .collect();
    assert_eq!(halves, [true, true, false]);
    // A new snapshot carries what was filled: the count starts again from it.
    // The two halves fill: the position is 0 and nothing is working.
    for i in 0..2 {
        c.on_fill(Fill {
            order_id: format!("h{i}"),
            asset: "SPY".into(),
            side: Side::Sell,
            quantity: dec!(50),
            price: dec!(500),
            timestamp: t0() + Duration::seconds(1),
        })
        .unwrap();
    }
    assert!(c.open_orders().is_empty());
    assert!(!sells(&c, &clock, "z", dec!(1)));
    // A snapshot says 30 are held again: 30 may be sold, not 31.
    c.on_snapshot(t0() + Duration::seconds(2), &[spy(dec!(30))]);
    assert!(!sells(&c, &clock, "n31", dec!(31)));
    assert!(sells(&c, &clock, "n", dec!(30)));
    assert!(!c
        .decide(order("m", Side::Buy, dec!(1)), clock.as_ref())
        .0
        .is_accepted());
}

fn spy(quantity: Decimal) -> Position {
    Position {
        asset: "SPY".into(),
        quantity,
        market_price: dec!(500),
    }
}

/// A reduce-only core, TRIPPED, holding `quantity` SPY.
fn tripped_holding(quantity: Decimal) -> DecisionCore {
    let c = core(EngineState::Tripped, true, None);
    c.on_snapshot(t0(), &[spy(quantity)]);
    c
}

/// Whether a sell of `quantity` is accepted.
fn sells(c: &DecisionCore, clock: &Arc<TestClock>, id: &str, quantity: Decimal) -> bool {
    c.decide(order(id, Side::Sell, quantity), clock.as_ref())
        .0
        .is_accepted()
}

#[test]
fn test_apply_when_update_predates_a_trip_then_gate_stays_closed() {
    let c = core(EngineState::Normal, false, None);
    let clock = TestClock::new(t0());
    let closed = c.close_for(trip(BreakerKind::DailyLoss));
    assert_eq!(c.effective_state(), EngineState::Tripped);
    // A NORMAL written before the Supervisor applied the trip cannot reopen the gate.
    c.apply(update(EngineState::Normal, &[], closed.seq - 1));
    let (d, _) = c.decide(order("o", Side::Buy, dec!(1)), clock.as_ref());
    let OrderDecision::Rejected { breaker, state, .. } = d else {
        panic!("an order passed an unconfirmed trip");
    };
    assert_eq!(
        (state, breaker),
        (EngineState::Tripped, Some(BreakerKind::DailyLoss))
    );
    assert_eq!(c.unconfirmed().len(), 1);
    // Once the Supervisor has applied it, its word is the state.
    c.apply(update(
        EngineState::Tripped,
        &[BreakerKind::DailyLoss],
        closed.seq,
    ));
    assert!(c.unconfirmed().is_empty());
    c.apply(update(EngineState::Normal, &[], closed.seq));
    assert!(c
        .decide(order("p", Side::Buy, dec!(1)), clock.as_ref())
        .0
        .is_accepted());
}

#[test]
fn test_close_for_when_halt_not_yet_recorded_then_manually_halted() {
    let c = core(EngineState::Tripped, true, None);
    c.close_for(trip(BreakerKind::Manual));
    assert_eq!(c.effective_state(), EngineState::ManuallyHalted);
    assert!(!c.trading_allowed());
}

#[test]
fn test_decide_when_supervisor_gone_then_refused_with_the_reason() {
    let c = core(EngineState::Normal, false, None);
    let clock = TestClock::new(t0());
    c.set_supervisor_alive(false);
    let (d, _) = c.decide(order("o", Side::Buy, dec!(1)), clock.as_ref());
    let OrderDecision::Rejected { reason, .. } = d else {
        panic!("an order passed with no supervisor");
    };
    assert!(reason.contains("supervisor is gone"), "{reason}");
    assert!(!c.trading_allowed());
}

#[test]
fn test_decide_when_an_actor_is_down_then_refused_naming_it() {
    let health = Arc::new(HealthBoard::new(
        [
            ActorName::OrderGate,
            ActorName::Breaker(BreakerKind::DailyLoss),
        ],
        [],
    ));
    let c = DecisionCore::new(
        update(EngineState::Normal, &[], 0),
        GateRules::default(),
        health.clone(),
    );
    let clock = TestClock::new(t0());
    health.set_ready(ActorName::Breaker(BreakerKind::DailyLoss), false);
    let (d, _) = c.decide(order("o", Side::Buy, dec!(1)), clock.as_ref());
    let OrderDecision::Rejected {
        reason, breaker, ..
    } = d
    else {
        panic!("an order passed while a breaker was down");
    };
    assert_eq!(breaker, Some(BreakerKind::DailyLoss));
    assert!(
        reason.contains("daily_loss_breaker is not ready"),
        "{reason}"
    );
    health.set_ready(ActorName::Breaker(BreakerKind::DailyLoss), true);
    assert!(c
        .decide(order("p", Side::Buy, dec!(1)), clock.as_ref())
        .0
        .is_accepted());
}

#[test]
fn test_decide_when_101st_order_in_window_then_refused_and_trip_numbered() {
    let c = core(
        EngineState::Normal,
        false,
        Some(OrderRateRule::new(100, Duration::seconds(60))),
    );
    let clock = TestClock::new(t0());
    for i in 0..100 {
        let (d, trip) = c.decide(order(&format!("o{i}"), Side::Buy, dec!(1)), clock.as_ref());
        assert!(d.is_accepted() && trip.is_empty(), "order {i}");
        clock.advance(Duration::milliseconds(10));
    }
    let (d, trip) = c.decide(order("o100", Side::Buy, dec!(1)), clock.as_ref());
    assert!(!d.is_accepted());
    let trip = trip.into_iter().next().expect("the 101st trips");
    assert_eq!(trip.trip.breaker, BreakerKind::OrderRate);
    assert_eq!(c.effective_state(), EngineState::Tripped);
    // A clock stepped back is judged at the newest time, never refused as out of order.
    clock.set(t0());
    let (d, trip) = c.decide(order("late", Side::Buy, dec!(1)), clock.as_ref());
    assert!(!d.is_accepted() && trip.is_empty());
    assert_eq!(c.activity().accepted, 100);
}

#[test]
fn test_decide_when_session_closed_then_day_order_expired_before_judging_and_reported_once() {
    let health = Arc::new(HealthBoard::new([ActorName::OrderGate], []));
    let market = MarketSession::new(
        chrono_tz::America::New_York,
        chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
        [],
    )
    .closing_at(chrono::NaiveTime::from_hms_opt(16, 0, 0).unwrap());
    let c = DecisionCore::new(
        update(EngineState::Normal, &[], 0),
        GateRules {
            pre_trade: PreTradeLimits {
                max_open_orders: Some(1),
                duplicate_order_id: true,
                ..PreTradeLimits::default()
            },
            market: Some(market),
            ..GateRules::default()
        },
        health,
    );
    let clock = TestClock::new(t0()); // Monday 10:00 New York
    assert!(c
        .decide(order("d", Side::Buy, dec!(1)), clock.as_ref())
        .0
        .is_accepted());
    let close: DateTime<Utc> = "2026-03-09T20:00:00Z".parse().unwrap();
    clock.set(close - Duration::nanoseconds(1));
    let (d, _) = c.decide(order("e", Side::Buy, dec!(1)), clock.as_ref());
    assert_eq!(d.check(), Some(PreTradeCheck::MaxOpenOrders), "still open");
    assert!(!c.expired_waiting());
    clock.set(close);
    // The close came: "d" no longer counts as open, so "e" fits; "d" is still a duplicate.
    assert!(c
        .decide(order("e", Side::Buy, dec!(1)), clock.as_ref())
        .0
        .is_accepted());
    assert!(c.expired_waiting());
    let expired = c.expire_due(close);
    assert_eq!(expired.len(), 1);
    assert_eq!(&*expired[0].order_id, "d");
    assert!(!c.expired_waiting() && c.expire_due(close).is_empty());
    assert!(matches!(
        c.on_done("d", close),
        Err(InputError::ExpiredOrder { .. })
    ));
    let (d, _) = c.decide(order("d", Side::Buy, dec!(1)), clock.as_ref());
    assert_eq!(d.check(), Some(PreTradeCheck::DuplicateOrderId));
}

#[test]
fn test_decide_when_no_pre_trade_section_then_only_the_open_order_bound_applies() {
    let c = core(EngineState::Normal, false, None);
    let clock = TestClock::new(t0());
    for i in 0..crate::pretrade::limits::DEFAULT_MAX_OPEN_ORDERS {
        assert!(c
            .decide(
                order(&format!("o{i}"), Side::Buy, Decimal::MAX),
                clock.as_ref()
            )
            .0
            .is_accepted());
    }
    let (d, _) = c.decide(order("one-more", Side::Buy, dec!(1)), clock.as_ref());
    assert_eq!(d.check(), Some(PreTradeCheck::MaxOpenOrders));
    c.on_done("o0", t0()).unwrap();
    assert!(c
        .decide(order("one-more", Side::Buy, dec!(1)), clock.as_ref())
        .0
        .is_accepted());
}
