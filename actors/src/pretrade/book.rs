//! What the pre-trade checks judge against: per asset the position (the last snapshot's
//! quantity plus fills since), the signed remaining quantity of its open orders and its
//! reference price; the open orders themselves, from acceptance to full fill or done; and the
//! gross exposure, kept as a running sum of per-asset terms so that judging one order never
//! walks every asset.

use crate::domain::{Fill, InputError, OrderRequest, Position, Side};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How an open order ended other than by filling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DoneStatus {
    /// The host or the broker cancelled it.
    Cancelled,
    /// Its time in force ran out.
    Expired,
    /// The broker refused it after the gate accepted it.
    Rejected,
}

impl DoneStatus {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            DoneStatus::Cancelled => "cancelled",
            DoneStatus::Expired => "expired",
            DoneStatus::Rejected => "rejected",
        }
    }
}

/// The latest price of an asset and the time of the event that carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferencePrice {
    /// The price.
    pub price: Decimal,
    /// The `timestamp` of the snapshot, fill or price post that carried it.
    pub at: DateTime<Utc>,
}

/// An order the gate accepted that is neither fully filled nor done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenOrder {
    /// The host's id (shared with the book's tables: accepting an order copies it once).
    pub order_id: Arc<str>,
    /// Instrument (shared with the book's own key for it).
    pub asset: Arc<str>,
    /// Buy or sell.
    pub side: Side,
    /// Quantity ordered.
    pub quantity: Decimal,
    /// Quantity filled so far (cumulative over its fills).
    pub filled: Decimal,
    /// Its limit price; absent for a market order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<Decimal>,
    /// When the gate accepted it, by the engine's clock.
    pub since: DateTime<Utc>,
}

impl OpenOrder {
    /// Quantity still to fill, signed as the order (buys positive).
    pub fn signed_remaining(&self) -> Decimal {
        let left = (self.quantity - self.filled).max(Decimal::ZERO);
        match self.side {
            Side::Buy => left,
            Side::Sell => -left,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct AssetBook {
    pub(crate) position: Decimal,
    pub(crate) open_signed: Decimal,
    pub(crate) reference: Option<ReferencePrice>,
    // |position + open_signed| × reference price; None while unpriced or overflowing.
    term: Option<Decimal>,
}

impl Default for AssetBook {
    fn default() -> Self {
        Self {
            position: Decimal::ZERO,
            open_signed: Decimal::ZERO,
            reference: None,
            // Nothing held, nothing working: valued at zero.
            term: Some(Decimal::ZERO),
        }
    }
}

impl AssetBook {
    /// Position now plus every open order's remaining quantity.
    pub(crate) fn exposure_position(&self) -> Option<Decimal> {
        self.position.checked_add(self.open_signed)
    }

    /// |position + open remaining| × reference price; `None` while unpriced or too large.
    pub(crate) fn term(&self) -> Option<Decimal> {
        self.term
    }

    fn compute_term(&self) -> Option<Decimal> {
        let held = self.exposure_position()?;
        if held.is_zero() {
            return Some(Decimal::ZERO);
        }
        held.abs().checked_mul(self.reference?.price)
    }
}

const OPEN_CAPACITY: usize = 1024;

/// Open orders changed, by their key in the book, each as it is now (`None`: closed).
pub type OpenOrderChanges = FxHashMap<Arc<str>, Option<OpenOrder>>;

/// Positions, open orders, reference prices and gross exposure of one strategy.
#[derive(Debug, Clone, Default)]
pub struct OrderBook {
    pub(crate) assets: FxHashMap<Arc<str>, AssetBook>,
    open: FxHashMap<Arc<str>, OpenOrder>,
    accepted: FxHashSet<Arc<str>>,
    // Σ of the priced terms, exact; None once a sum overflowed (recomputed on the next change).
    gross: Option<Decimal>,
    // Assets holding or working a quantity whose term cannot be computed (no reference
    // price, or a product too large): gross exposure cannot be judged while any exists.
    unvalued: usize,
    snapshot_at: Option<DateTime<Utc>>,
    // The open orders changed since the last `take_changes`, each as it is now (`None`:
    // closed); `None` while nobody saves them. A table by key, so that a host re-using one id
    // all day keeps one entry; taking it is a swap with the saver's emptied table.
    changed: Option<OpenOrderChanges>,
}

impl OrderBook {
    /// An empty book.
    pub fn new() -> Self {
        Self {
            gross: Some(Decimal::ZERO),
            // Orders come and go all day: a table kept sparse never fills with tombstones,
            // so no insert pays for rehashing it in place (a microsecond every hundred orders
            // when it ran near full).
            open: FxHashMap::with_capacity_and_hasher(OPEN_CAPACITY, Default::default()),
            ..Self::default()
        }
    }

    /// Starts noting which open orders change, for [`OrderBook::take_changes`].
    pub fn note_changes(&mut self) {
        self.changed.get_or_insert_with(OpenOrderChanges::default);
    }

    /// The open orders changed since the last call, each by its key as it is now (`None`:
    /// closed); `spare` (emptied) takes their place, so that a caller handing back the last
    /// table keeps the order path from allocating. Empty unless [`OrderBook::note_changes`]
    /// was called.
    pub fn take_changes(&mut self, mut spare: OpenOrderChanges) -> OpenOrderChanges {
        spare.clear();
        match self.changed.as_mut() {
            Some(changed) => std::mem::replace(changed, spare),
            None => spare,
        }
    }

    /// Puts back the open orders saved before a restart: each is open again, its id accepted
    /// and its remaining quantity working in its asset. Keys already open are left alone.
    pub fn restore_open(&mut self, orders: Vec<(Arc<str>, OpenOrder)>) {
        for (key, mut order) in orders {
            let remaining = order.signed_remaining();
            if remaining.is_zero() || self.open.contains_key(&key) {
                continue;
            }
            let id = match self.accepted.get(&order.order_id) {
                Some(known) => known.clone(),
                None => order.order_id.clone(),
            };
            self.accepted.insert(id.clone());
            order.order_id = id;
            self.update_asset(&order.asset, |a| {
                a.open_signed = a.open_signed.saturating_add(remaining);
            });
            if let Some((asset, _)) = self.assets.get_key_value(&*order.asset) {
                order.asset = asset.clone();
            }
            self.open.insert(key, order);
        }
    }

    // Notes `key`'s open order as it is now: call it after the change.
    fn touch(&mut self, key: &Arc<str>) {
        if let Some(changed) = self.changed.as_mut() {
            changed.insert(key.clone(), self.open.get(key).cloned());
        }
    }

    /// The open orders, in no particular order.
    pub fn open_orders(&self) -> impl Iterator<Item = &OpenOrder> {
        self.open.values()
    }

    /// How many orders are open.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Whether the gate accepted `order_id` before.
    pub fn was_accepted(&self, order_id: &str) -> bool {
        self.accepted.contains(order_id)
    }

    /// Σ |position + open remaining| × reference price over assets; `None` while an asset
    /// with a quantity has no reference price or the sum does not fit a decimal.
    pub fn gross_exposure(&self) -> Option<Decimal> {
        if self.unvalued > 0 {
            return None;
        }
        self.gross
    }

    /// The position now in `asset` (snapshot plus fills since).
    pub fn position(&self, asset: &str) -> Decimal {
        self.assets.get(asset).map_or(Decimal::ZERO, |a| a.position)
    }

    /// The reference price of `asset`, if one was seen.
    pub fn reference(&self, asset: &str) -> Option<ReferencePrice> {
        self.assets.get(asset).and_then(|a| a.reference)
    }

    /// Every asset's reference price.
    pub fn references(&self) -> impl Iterator<Item = (&str, ReferencePrice)> {
        self.assets
            .iter()
            .filter_map(|(k, a)| a.reference.map(|r| (&**k, r)))
    }

    /// Every asset's position now (snapshot plus fills since), non-zero only.
    pub fn positions(&self) -> impl Iterator<Item = (&str, Decimal)> {
        self.assets
            .iter()
            .filter(|(_, a)| !a.position.is_zero())
            .map(|(k, a)| (&**k, a.position))
    }

    pub(crate) fn asset(&self, asset: &str) -> Option<&AssetBook> {
        self.assets.get(asset)
    }

    pub(crate) fn unvalued(&self) -> usize {
        self.unvalued
    }

    pub(crate) fn gross_sum(&self) -> Option<Decimal> {
        self.gross
    }

    /// Applies `change` to `asset`'s book and keeps the running sums right.
    fn update_asset(&mut self, asset: &str, change: impl FnOnce(&mut AssetBook)) {
        let entry = match self.assets.get_mut(asset) {
            Some(e) => e,
            None => self.assets.entry(Arc::from(asset)).or_default(),
        };
        let old = entry.term;
        change(entry);
        let new = entry.compute_term();
        entry.term = new;
        match (old.is_none(), new.is_none()) {
            (true, false) => self.unvalued -= 1,
            (false, true) => self.unvalued += 1,
            _ => {}
        }
        self.gross = self.gross.and_then(|g| {
            g.checked_sub(old.unwrap_or_default())?
                .checked_add(new.unwrap_or_default())
        });
        if self.gross.is_none() {
            self.recompute();
        }
    }

    /// Walks every asset again: after a snapshot, or once a running sum overflowed.
    fn recompute(&mut self) {
        let mut gross = Some(Decimal::ZERO);
        let mut unvalued = 0;
        for a in self.assets.values_mut() {
            a.term = a.compute_term();
            match a.term {
                Some(t) => gross = gross.and_then(|g| g.checked_add(t)),
                None => unvalued += 1,
            }
        }
        self.gross = gross;
        self.unvalued = unvalued;
    }

    /// Records an order the gate accepted: it is open until filled or done. The id is copied
    /// once, into an `Arc` both tables share; the asset is the book's own key.
    pub fn accept(&mut self, order: &OrderRequest, now: DateTime<Utc>) {
        let id: Arc<str> = match self.accepted.get(order.order_id.as_str()) {
            Some(known) => known.clone(),
            None => {
                let id: Arc<str> = Arc::from(order.order_id.as_str());
                self.accepted.insert(id.clone());
                id
            }
        };
        let signed = order.signed_quantity();
        self.update_asset(&order.asset, |a| {
            // Quantities were bounded at the edge; saturate rather than panic all the same.
            a.open_signed =
                a.open_signed
                    .checked_add(signed)
                    .unwrap_or(if signed > Decimal::ZERO {
                        Decimal::MAX
                    } else {
                        Decimal::MIN
                    });
        });
        let asset = match self.assets.get_key_value(order.asset.as_str()) {
            Some((key, _)) => key.clone(),
            None => Arc::from(order.asset.as_str()),
        };
        let key = self.free_key(&id, order);
        match self.open.get_mut(&key) {
            // The same id again (duplicate ids allowed): one working order, grown.
            Some(o) => o.quantity = o.quantity.saturating_add(order.quantity),
            None => {
                self.open.insert(
                    key.clone(),
                    OpenOrder {
                        order_id: id,
                        asset,
                        side: order.side,
                        quantity: order.quantity,
                        filled: Decimal::ZERO,
                        limit_price: order.limit_price,
                        since: now,
                    },
                );
            }
        }
        self.touch(&key);
    }

    // Where a re-used id goes when duplicate ids are allowed: merged into the open order of
    // the same asset and side, else tracked beside it.
    fn free_key(&self, id: &Arc<str>, order: &OrderRequest) -> Arc<str> {
        let mut key = id.clone();
        let mut n = 1;
        while let Some(o) = self.open.get(&key) {
            if *o.asset == *order.asset && o.side == order.side {
                break;
            }
            n += 1;
            key = Arc::from(format!("{}#{n}", order.order_id));
        }
        key
    }

    /// A portfolio snapshot: its positions are now the positions (assets it leaves out are
    /// flat), its prices the references where newer. Fills at or before it are in it.
    pub fn on_snapshot(&mut self, at: DateTime<Utc>, positions: &[Position]) {
        self.snapshot_at = Some(self.snapshot_at.map_or(at, |s| s.max(at)));
        for a in self.assets.values_mut() {
            a.position = Decimal::ZERO;
        }
        for p in positions {
            let a = match self.assets.get_mut(p.asset.as_str()) {
                Some(a) => a,
                None => self.assets.entry(Arc::from(p.asset.as_str())).or_default(),
            };
            a.position = a.position.saturating_add(p.quantity);
            if p.market_price > Decimal::ZERO && a.reference.is_none_or(|r| r.at <= at) {
                a.reference = Some(ReferencePrice {
                    price: p.market_price,
                    at,
                });
            }
        }
        self.recompute();
    }

    /// A fill: the position moves (unless a snapshot at or after it already holds it), the
    /// open order fills (closing when complete), the price becomes the reference if newest.
    pub fn on_fill(&mut self, fill: &Fill) -> Result<(), InputError> {
        let signed = match fill.side {
            Side::Buy => fill.quantity,
            Side::Sell => -fill.quantity,
        };
        let counts = self.snapshot_at.is_none_or(|s| fill.timestamp > s);
        let current = self.position(&fill.asset);
        let position = if counts {
            current
                .checked_add(signed)
                .ok_or_else(|| InputError::Overflow {
                    field: "quantity",
                    detail: format!("position {current} + fill {signed} in {}", fill.asset),
                })?
        } else {
            current
        };
        let mut open_change = Decimal::ZERO;
        let mut closed = false;
        let mut touched = false;
        if let Some(o) = self.open.get_mut(fill.order_id.as_str()) {
            if *o.asset == *fill.asset {
                let before = o.signed_remaining();
                o.filled = o.filled.saturating_add(fill.quantity);
                let after = o.signed_remaining();
                open_change = after - before;
                closed = after.is_zero();
                touched = true;
            }
        }
        let key = match (touched, &self.changed) {
            (true, Some(_)) => self
                .open
                .get_key_value(fill.order_id.as_str())
                .map(|(k, _)| k.clone()),
            _ => None,
        };
        if closed {
            self.open.remove(fill.order_id.as_str());
        }
        if let Some(key) = key {
            self.touch(&key);
        }
        self.update_asset(&fill.asset, |a| {
            a.position = position;
            a.open_signed += open_change;
            if a.reference.is_none_or(|r| r.at <= fill.timestamp) {
                a.reference = Some(ReferencePrice {
                    price: fill.price,
                    at: fill.timestamp,
                });
            }
        });
        Ok(())
    }

    /// An open order ended without filling completely. `Ok(None)` for an order accepted
    /// before that is no longer open (already filled or done): nothing to do. An id the gate
    /// never accepted is refused.
    pub fn on_done(&mut self, order_id: &str) -> Result<Option<OpenOrder>, InputError> {
        if !self.accepted.contains(order_id) {
            return Err(InputError::UnknownOrder {
                order_id: order_id.to_string(),
            });
        }
        let Some((key, order)) = self.open.remove_entry(order_id) else {
            return Ok(None);
        };
        self.touch(&key);
        let remaining = order.signed_remaining();
        self.update_asset(&order.asset, |a| a.open_signed -= remaining);
        Ok(Some(order))
    }

    /// Prices posted by the host: each becomes its asset's reference where it is the newest.
    pub fn on_prices(&mut self, at: DateTime<Utc>, prices: &[(String, Decimal)]) {
        for (asset, price) in prices {
            if self.reference(asset).is_none_or(|r| r.at <= at) {
                self.update_asset(asset, |a| {
                    a.reference = Some(ReferencePrice { price: *price, at })
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
        b.on_done("o2").unwrap();
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
        assert!(b.was_accepted("o1") && b.was_accepted("o2"));
        // 60 left to buy, 30 to sell.
        assert_eq!(b.asset("AAPL").unwrap().open_signed, dec!(30));
        // Restoring again changes nothing.
        b.restore_open(saved);
        assert_eq!(b.asset("AAPL").unwrap().open_signed, dec!(30));
        b.on_done("o2").unwrap();
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
        let err = b.on_done("nope").unwrap_err();
        assert_eq!(
            err.to_string(),
            "order_id: \"nope\" was never accepted by the gate"
        );
        assert_eq!(b.open_count(), 1);
        let closed = b.on_done("o1").unwrap().unwrap();
        assert_eq!(&*closed.order_id, "o1");
        assert_eq!(b.open_count(), 0);
        assert_eq!(b.asset("AAPL").unwrap().open_signed, dec!(0));
        // Done again: accepted before, no longer open.
        assert_eq!(b.on_done("o1").unwrap(), None);
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
        b.on_done("o1").unwrap();
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
        b.on_done("b").unwrap();
        assert_eq!(b.gross_exposure(), Some(Decimal::MAX));
    }
}
