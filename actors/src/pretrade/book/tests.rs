//! The order book's tests: fills, snapshots, ids remembered across sessions, expiry.

use super::*;
use rust_decimal_macros::dec;

fn t(s: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_773_064_800 + s, 0).unwrap()
}

fn order(id: &str, asset: &str, side: Side, qty: Decimal) -> OrderRequest {
    OrderRequest::market(id, asset, side, qty)
}

fn fill(id: &str, asset: &str, side: Side, qty: Decimal, price: Decimal, at: i64) -> Fill {
    Fill {
        order_id: id.into(),
        asset: asset.into(),
        side,
        quantity: qty,
        price,
        timestamp: t(at),
    }
}

fn pos(asset: &str, q: Decimal, p: Decimal) -> Position {
    Position {
        asset: asset.into(),
        quantity: q,
        market_price: p,
    }
}

#[test]
fn test_on_fill_when_cumulative_fills_reach_quantity_then_order_closes() {
    let mut b = OrderBook::new();
    b.accept(&order("o1", "AAPL", Side::Buy, dec!(100)), t(0));
    b.on_fill(&fill("o1", "AAPL", Side::Buy, dec!(40), dec!(10), 1))
        .unwrap();
    assert_eq!(b.open_count(), 1);
    assert_eq!(b.position("AAPL"), dec!(40));
    assert_eq!(b.asset("AAPL").unwrap().open_signed, dec!(60));
    b.on_fill(&fill("o1", "AAPL", Side::Buy, dec!(60), dec!(11), 2))
        .unwrap();
    assert_eq!(b.open_count(), 0);
    assert_eq!(b.position("AAPL"), dec!(100));
    assert_eq!(b.asset("AAPL").unwrap().open_signed, dec!(0));
    assert_eq!(b.reference("AAPL").unwrap().price, dec!(11));
    assert_eq!(b.gross_exposure(), Some(dec!(1100)));
}

// The newest change per key, as the checkpoint writer keeps them.
fn changes(b: &mut OrderBook) -> Vec<(String, Option<Decimal>)> {
    let newest: std::collections::BTreeMap<_, _> = b
        .take_changes(OpenOrderChanges::default())
        .into_iter()
        .map(|(k, o)| (k.to_string(), o.map(|o| o.filled)))
        .collect();
    newest.into_iter().collect()
}

#[test]
fn test_take_changes_when_noting_then_every_accept_fill_and_done_once() {
    let mut b = OrderBook::new();
    b.accept(&order("before", "AAPL", Side::Buy, dec!(1)), t(0));
    assert!(
        b.take_changes(OpenOrderChanges::default()).is_empty(),
        "nothing noted until asked"
    );
    b.note_changes();
    b.accept(&order("o1", "AAPL", Side::Buy, dec!(100)), t(0));
    b.accept(&order("o2", "MSFT", Side::Sell, dec!(5)), t(0));
    b.on_fill(&fill("o1", "AAPL", Side::Buy, dec!(40), dec!(10), 1))
        .unwrap();
    assert_eq!(
        changes(&mut b),
        [("o1".into(), Some(dec!(40))), ("o2".into(), Some(dec!(0)))]
    );
    assert!(
        b.take_changes(OpenOrderChanges::default()).is_empty(),
        "taken once"
    );
    b.on_done("o2", t(0)).unwrap();
    b.on_fill(&fill("o1", "AAPL", Side::Buy, dec!(60), dec!(10), 2))
        .unwrap();
    assert_eq!(changes(&mut b), [("o1".into(), None), ("o2".into(), None)]);
    // A fill of an order not open changes no open order.
    b.on_fill(&fill("x", "AAPL", Side::Buy, dec!(1), dec!(10), 3))
        .unwrap();
    assert!(b.take_changes(OpenOrderChanges::default()).is_empty());
}

#[test]
fn test_restore_open_when_saved_orders_then_open_accepted_and_working() {
    let mut first = OrderBook::new();
    first.note_changes();
    first.accept(&order("o1", "AAPL", Side::Buy, dec!(100)), t(0));
    first.accept(&order("o2", "AAPL", Side::Sell, dec!(30)), t(0));
    first
        .on_fill(&fill("o1", "AAPL", Side::Buy, dec!(40), dec!(10), 1))
        .unwrap();
    let newest: std::collections::BTreeMap<_, _> = first
        .take_changes(OpenOrderChanges::default())
        .into_iter()
        .collect();
    let saved: Vec<_> = newest
        .into_iter()
        .filter_map(|(k, o)| Some((k, o?)))
        .collect();
    let mut b = OrderBook::new();
    b.restore_open(saved.clone());
    assert_eq!(b.open_count(), 2);
    assert!(b.was_accepted("o1", t(0)) && b.was_accepted("o2", t(0)));
    // 60 left to buy, 30 to sell.
    assert_eq!(b.asset("AAPL").unwrap().open_signed, dec!(30));
    // Restoring again changes nothing.
    b.restore_open(saved);
    assert_eq!(b.asset("AAPL").unwrap().open_signed, dec!(30));
    b.on_done("o2", t(0)).unwrap();
    assert_eq!(b.asset("AAPL").unwrap().open_signed, dec!(60));
}

#[test]
fn test_on_snapshot_when_fill_predates_it_then_not_counted_twice() {
    let mut b = OrderBook::new();
    b.accept(&order("o1", "AAPL", Side::Sell, dec!(10)), t(0));
    b.on_snapshot(t(5), &[pos("AAPL", dec!(90), dec!(20))]);
    // The fill at t(3) is already in the snapshot at t(5): the position stays 90.
    b.on_fill(&fill("o1", "AAPL", Side::Sell, dec!(10), dec!(19), 3))
        .unwrap();
    assert_eq!(b.position("AAPL"), dec!(90));
    assert_eq!(b.open_count(), 0);
    // The snapshot's price is newer than the fill's.
    assert_eq!(b.reference("AAPL").unwrap().price, dec!(20));
    // A fill after the snapshot moves the position.
    b.on_fill(&fill("x", "AAPL", Side::Sell, dec!(5), dec!(21), 6))
        .unwrap();
    assert_eq!(b.position("AAPL"), dec!(85));
    assert_eq!(b.gross_exposure(), Some(dec!(1785)));
}

#[test]
fn test_on_snapshot_when_asset_left_out_then_flat() {
    let mut b = OrderBook::new();
    b.on_snapshot(
        t(0),
        &[pos("A", dec!(1), dec!(1)), pos("B", dec!(2), dec!(1))],
    );
    b.on_snapshot(t(1), &[pos("A", dec!(1), dec!(1))]);
    assert_eq!(b.position("B"), dec!(0));
    assert_eq!(b.gross_exposure(), Some(dec!(1)));
}

#[test]
fn test_on_done_when_never_accepted_then_refused_and_nothing_changes() {
    let mut b = OrderBook::new();
    b.accept(&order("o1", "AAPL", Side::Buy, dec!(5)), t(0));
    let err = b.on_done("nope", t(0)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "order_id: \"nope\" was never accepted by the gate"
    );
    assert_eq!(b.open_count(), 1);
    let closed = b.on_done("o1", t(0)).unwrap().unwrap();
    assert_eq!(&*closed.order_id, "o1");
    assert_eq!(b.open_count(), 0);
    assert_eq!(b.asset("AAPL").unwrap().open_signed, dec!(0));
    // Done again: accepted before, no longer open.
    assert_eq!(b.on_done("o1", t(0)).unwrap(), None);
}

#[test]
fn test_gross_exposure_when_asset_unpriced_then_none_until_priced() {
    let mut b = OrderBook::new();
    b.accept(&order("o1", "NEW", Side::Buy, dec!(5)), t(0));
    assert_eq!(b.gross_exposure(), None);
    b.on_prices(t(1), &[("NEW".into(), dec!(3))]);
    assert_eq!(b.gross_exposure(), Some(dec!(15)));
    // An older price does not replace a newer one.
    b.on_prices(t(0), &[("NEW".into(), dec!(4))]);
    assert_eq!(b.reference("NEW").unwrap().price, dec!(3));
    b.on_done("o1", t(0)).unwrap();
    assert_eq!(b.gross_exposure(), Some(dec!(0)));
}

#[test]
fn test_accept_when_id_reused_for_other_asset_then_both_tracked() {
    let mut b = OrderBook::new();
    b.accept(&order("o1", "A", Side::Buy, dec!(1)), t(0));
    b.accept(&order("o1", "B", Side::Buy, dec!(2)), t(0));
    b.accept(&order("o1", "A", Side::Buy, dec!(3)), t(0));
    assert_eq!(b.open_count(), 2);
    assert_eq!(b.asset("A").unwrap().open_signed, dec!(4));
    assert_eq!(b.asset("B").unwrap().open_signed, dec!(2));
}

#[test]
fn test_running_gross_when_values_overflow_then_recovers_after_they_shrink() {
    let mut b = OrderBook::new();
    b.on_prices(
        t(0),
        &[("A".into(), Decimal::MAX), ("B".into(), Decimal::MAX)],
    );
    b.on_snapshot(t(0), &[]);
    b.accept(&order("a", "A", Side::Buy, dec!(1)), t(1));
    b.accept(&order("b", "B", Side::Buy, dec!(1)), t(1));
    assert_eq!(b.gross_exposure(), None);
    b.on_done("b", t(0)).unwrap();
    assert_eq!(b.gross_exposure(), Some(Decimal::MAX));
}

/// New York, 09:30-16:00: in March 2026 after the 8th, 13:30Z-20:00Z.
fn nyse() -> MarketSession {
    MarketSession::new(
        chrono_tz::America::New_York,
        chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
        [],
    )
    .closing_at(chrono::NaiveTime::from_hms_opt(16, 0, 0).unwrap())
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn ns() -> Duration {
    Duration::nanoseconds(1)
}

fn session_book() -> OrderBook {
    OrderBook::new().with_days(OrderDays::new(Some(nyse()), None))
}

#[test]
fn test_was_accepted_when_next_session_closes_then_forgotten_and_not_a_nanosecond_before() {
    let mut b = session_book();
    // Monday 10:00 New York, filled at once: closed, remembered.
    b.accept(
        &order("a", "AAPL", Side::Buy, dec!(1)),
        utc("2026-03-09T14:00:00Z"),
    );
    b.on_fill(&fill("a", "AAPL", Side::Buy, dec!(1), dec!(10), 0))
        .unwrap();
    let tuesday_close = utc("2026-03-10T20:00:00Z");
    // Through Monday and all of Tuesday's session: the current session and the one before.
    assert!(b.was_accepted("a", utc("2026-03-09T20:00:00Z")));
    assert!(b.was_accepted("a", tuesday_close - ns()));
    assert_eq!(b.on_done("a", tuesday_close - ns()), Ok(None));
    // Forgotten at Tuesday's close exactly, and may be used again.
    assert!(!b.was_accepted("a", tuesday_close));
    b.forget_due(tuesday_close - ns());
    assert_eq!(b.remembered_ids(), 1, "not dropped before its time");
    b.forget_due(tuesday_close);
    assert_eq!(b.remembered_ids(), 0);
    assert!(matches!(
        b.on_done("a", tuesday_close),
        Err(InputError::UnknownOrder { .. })
    ));
}

#[test]
fn test_generations_when_accepted_either_side_of_the_close_then_roll_exactly_there() {
    let mut b = session_book();
    let monday_close = utc("2026-03-09T20:00:00Z");
    let gtc = |id: &str| order(id, "AAPL", Side::Buy, dec!(1)).good_till_cancelled();
    b.accept(&gtc("last"), monday_close - ns());
    b.accept(&gtc("after"), monday_close);
    b.on_done("last", monday_close).unwrap();
    b.on_done("after", monday_close).unwrap();
    // "last" is Monday's: forgotten at Tuesday's close. "after" came outside a session:
    // it is Tuesday's, forgotten at Wednesday's close.
    let tuesday_close = utc("2026-03-10T20:00:00Z");
    let wednesday_close = utc("2026-03-11T20:00:00Z");
    assert!(b.was_accepted("last", tuesday_close - ns()));
    assert!(!b.was_accepted("last", tuesday_close));
    assert!(b.was_accepted("after", tuesday_close));
    assert!(b.was_accepted("after", wednesday_close - ns()));
    assert!(!b.was_accepted("after", wednesday_close));
    // Over a weekend: Friday's ids live through Monday's session.
    let mut b = session_book();
    b.accept(&gtc("fri"), utc("2026-03-13T15:00:00Z"));
    b.on_done("fri", utc("2026-03-13T15:00:00Z")).unwrap();
    assert!(b.was_accepted("fri", utc("2026-03-16T19:59:59Z")));
    assert!(!b.was_accepted("fri", utc("2026-03-16T20:00:00Z")));
}

#[test]
fn test_was_accepted_when_order_still_open_then_never_forgotten() {
    let mut b = session_book();
    let gtc = order("g", "AAPL", Side::Buy, dec!(5)).good_till_cancelled();
    b.accept(&gtc, utc("2026-03-09T14:00:00Z"));
    let month_later = utc("2026-04-09T14:00:00Z");
    b.forget_due(month_later);
    assert_eq!(b.remembered_ids(), 0, "the window's table holds it no more");
    assert!(b.was_accepted("g", month_later), "open: still seen");
    assert!(b.expire_due(month_later).is_empty(), "gtc never expires");
    assert_eq!(
        b.on_done("g", month_later).unwrap().unwrap().quantity,
        dec!(5)
    );
    // Closed and forgotten.
    assert!(!b.was_accepted("g", month_later));
    assert!(b.on_done("g", month_later).is_err());
}

#[test]
fn test_duplicate_window_when_set_then_forgotten_exactly_window_after_newest_acceptance() {
    let mut b =
        OrderBook::new().with_days(OrderDays::new(Some(nyse()), Some(Duration::seconds(60))));
    let t0 = utc("2026-03-09T14:00:00Z");
    b.accept(&order("w", "AAPL", Side::Buy, dec!(1)), t0);
    b.on_done("w", t0).unwrap();
    assert!(b.was_accepted("w", t0 + Duration::seconds(60) - ns()));
    assert!(!b.was_accepted("w", t0 + Duration::seconds(60)));
    // Accepted again at +30 s: remembered until +90 s, the older queue entry notwithstanding.
    b.accept(
        &order("w", "AAPL", Side::Buy, dec!(1)),
        t0 + Duration::seconds(30),
    );
    b.on_done("w", t0 + Duration::seconds(30)).unwrap();
    b.forget_due(t0 + Duration::seconds(60));
    assert!(b.was_accepted("w", t0 + Duration::seconds(90) - ns()));
    assert_eq!(b.remembered_ids(), 1);
    b.forget_due(t0 + Duration::seconds(90));
    assert_eq!(b.remembered_ids(), 0);
    assert!(!b.was_accepted("w", t0 + Duration::seconds(90)));
}

#[test]
fn test_id_changes_when_saved_and_restored_then_window_survives_a_restart() {
    let days = || OrderDays::new(Some(nyse()), Some(Duration::seconds(60)));
    let mut b = OrderBook::new().with_days(days());
    b.note_changes();
    let t0 = utc("2026-03-09T14:00:00Z");
    b.accept(&order("a", "AAPL", Side::Buy, dec!(1)), t0);
    b.on_done("a", t0).unwrap();
    b.accept(
        &order("b", "AAPL", Side::Buy, dec!(1)),
        t0 + Duration::seconds(30),
    );
    b.on_done("b", t0 + Duration::seconds(30)).unwrap();
    let saved = b.take_id_changes(IdChanges::default());
    assert_eq!(
        saved,
        vec![
            (Arc::from("a"), t0 + Duration::seconds(60)),
            (Arc::from("b"), t0 + Duration::seconds(90)),
        ]
    );
    assert!(b.take_id_changes(IdChanges::default()).is_empty());
    // A new process, 45 s on: "a" is still inside its window, "b" too.
    let mut after = OrderBook::new().with_days(days());
    after.restore_ids(saved.clone(), t0 + Duration::seconds(45));
    assert!(after.was_accepted("a", t0 + Duration::seconds(45)));
    assert!(after.was_accepted("b", t0 + Duration::seconds(89)));
    after.forget_due(t0 + Duration::seconds(60));
    assert!(!after.was_accepted("a", t0 + Duration::seconds(60)));
    assert_eq!(after.remembered_ids(), 1);
    // Restored past "a"'s window: left out.
    let mut late = OrderBook::new().with_days(days());
    late.restore_ids(saved, t0 + Duration::seconds(60));
    assert_eq!(late.remembered_ids(), 1);
}

#[test]
fn test_expire_due_when_session_closes_then_day_order_expired_at_the_close_not_before() {
    let mut b = session_book();
    b.note_changes();
    let close = utc("2026-03-09T20:00:00Z");
    b.accept(
        &order("d", "AAPL", Side::Buy, dec!(7)),
        utc("2026-03-09T14:00:00Z"),
    );
    b.on_fill(&fill("d", "AAPL", Side::Buy, dec!(2), dec!(10), 0))
        .unwrap();
    b.accept(
        &order("g", "AAPL", Side::Sell, dec!(3)).good_till_cancelled(),
        utc("2026-03-09T14:00:00Z"),
    );
    assert_eq!(b.next_expiry(), Some(close));
    let _ = b.take_changes(OpenOrderChanges::default());
    assert!(b.expire_due(close - ns()).is_empty());
    assert_eq!(b.open_count(), 2);
    let expired = b.expire_due(close);
    assert_eq!(expired.len(), 1);
    assert_eq!((&*expired[0].order_id, expired[0].filled), ("d", dec!(2)));
    assert_eq!(expired[0].expires_at, Some(close));
    // It left the open orders and the working sum exactly as `/done` would: only the
    // gtc sell of 3 works now.
    assert_eq!(b.open_count(), 1);
    assert_eq!(b.asset("AAPL").unwrap().open_signed, dec!(-3));
    assert_eq!(b.position("AAPL"), dec!(2));
    assert_eq!(changes(&mut b), [("d".into(), None)]);
    // `/done` for it is refused, and the id is still a duplicate within the window.
    assert!(matches!(
        b.on_done("d", close),
        Err(InputError::ExpiredOrder { .. })
    ));
    assert!(b.was_accepted("d", close));
    assert!(b.expire_due(close + Duration::days(30)).is_empty());
    assert_eq!(b.next_expiry(), None);
}

#[test]
fn test_expiry_when_accepted_outside_a_session_then_next_session_close() {
    let mut b = session_book();
    // Monday after the close, Saturday, and Monday before the open.
    for (at, expires) in [
        ("2026-03-09T21:00:00Z", "2026-03-10T20:00:00Z"),
        ("2026-03-14T15:00:00Z", "2026-03-16T20:00:00Z"),
        ("2026-03-16T12:00:00Z", "2026-03-16T20:00:00Z"),
    ] {
        b.accept(&order(at, "AAPL", Side::Buy, dec!(1)), utc(at));
        let o = b.open_orders().find(|o| &*o.order_id == at).unwrap();
        assert_eq!(o.expires_at, Some(utc(expires)), "accepted {at}");
    }
    // Without a close, a session runs to the next open.
    let mut b = OrderBook::new().with_days(OrderDays::new(
        Some(MarketSession::new(
            chrono_tz::America::New_York,
            chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
            [],
        )),
        None,
    ));
    b.accept(
        &order("x", "AAPL", Side::Buy, dec!(1)),
        utc("2026-03-13T21:00:00Z"),
    );
    let o = b.open_orders().next().unwrap();
    assert_eq!(o.expires_at, Some(utc("2026-03-16T13:30:00Z")));
}

#[test]
fn test_expire_due_when_market_always_open_then_at_next_days_open() {
    let crypto = MarketSession::new(chrono_tz::UTC, chrono::NaiveTime::MIN, []).always_open();
    let mut b = OrderBook::new().with_days(OrderDays::new(Some(crypto), None));
    // A Saturday: 24/7 has a session every day, each to the next day's open.
    b.accept(
        &order("c", "BTC", Side::Buy, dec!(1)),
        utc("2026-03-07T12:00:00Z"),
    );
    let midnight = utc("2026-03-08T00:00:00Z");
    assert!(b.expire_due(midnight - ns()).is_empty());
    assert_eq!(b.expire_due(midnight).len(), 1);
    // The id lives through Sunday's session too.
    assert!(b.was_accepted("c", utc("2026-03-09T00:00:00Z") - ns()));
    assert!(!b.was_accepted("c", utc("2026-03-09T00:00:00Z")));
}

#[test]
fn test_restore_open_when_saved_with_expiry_then_expires_after_restart() {
    let mut first = session_book();
    first.note_changes();
    first.accept(
        &order("d", "AAPL", Side::Buy, dec!(4)),
        utc("2026-03-09T14:00:00Z"),
    );
    let saved: Vec<_> = first
        .take_changes(OpenOrderChanges::default())
        .into_iter()
        .filter_map(|(k, o)| Some((k, o?)))
        .collect();
    // Through the checkpoint's encoding, and one written before expiries existed.
    let json = serde_json::to_string(&saved[0].1).unwrap();
    let back: OpenOrder = serde_json::from_str(&json).unwrap();
    assert_eq!(back.expires_at, Some(utc("2026-03-09T20:00:00Z")));
    let old: OpenOrder =
        serde_json::from_str(&json.replace(",\"expires_at\":\"2026-03-09T20:00:00Z\"", ""))
            .unwrap();
    assert_eq!(old.expires_at, None);
    let mut b = session_book();
    b.restore_open(vec![(saved[0].0.clone(), back)]);
    assert!(b.was_accepted("d", utc("2026-03-09T19:00:00Z")));
    assert_eq!(b.expire_due(utc("2026-03-09T20:00:00Z")).len(), 1);
    assert_eq!(b.asset("AAPL").unwrap().open_signed, dec!(0));
}
