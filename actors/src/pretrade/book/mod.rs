//! What the pre-trade checks judge against: per asset the position (the last snapshot's
//! quantity plus fills since), the signed remaining quantity of its open orders and its
//! reference price; the open orders themselves, from acceptance to full fill or done; and the
//! gross exposure, kept as a running sum of per-asset terms so that judging one order never
//! walks every asset.
//!
//! Nothing here grows with how long the engine runs: an accepted id is remembered only within
//! the duplicate window (the current session and the one before, or the last
//! `duplicate_window` of the engine's clock), kept in a table by id and a queue in order of
//! forgetting that each accept and tick trims from the front; a `day` order still open at its
//! session's close is closed as expired, found by one walk of the open orders when the
//! earliest expiry is due (at most once a session), never by an index per order.

use crate::domain::{Fill, InputError, OrderRequest, Position, Side, TimeInForce};
use crate::rules::MarketSession;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
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
    /// When the gate closes it as expired, by the engine's clock: a `day` order's session
    /// close. Absent for `gtc`, and in checkpoints written before time in force existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
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

/// How long accepted ids are remembered and when `day` orders expire: the market's sessions,
/// or a window of the engine's clock for ids. Without a calendar (a bare book in a test) day
/// orders never expire and, without a window, ids are never forgotten.
#[derive(Debug, Clone, Default)]
pub struct OrderDays {
    market: Option<MarketSession>,
    window: Option<Duration>,
    // The calendar's last answer: for instants in [from, close) a day order expires at
    // `close`, and an id is forgotten at `next_close` (the close of the session after). The
    // clock only moves forward, so the calendar is asked about once a session.
    cached: Option<(DateTime<Utc>, DateTime<Utc>, DateTime<Utc>)>,
}

impl OrderDays {
    /// Sessions from `market` (day orders and, without `window`, ids); ids remembered for
    /// `window` when it is set.
    pub fn new(market: Option<MarketSession>, window: Option<Duration>) -> Self {
        Self {
            market,
            window,
            cached: None,
        }
    }

    // (close of the session `at` belongs to, close of the session after).
    fn closes(&mut self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if let Some((from, close, next)) = self.cached {
            if from <= at && at < close {
                return Some((close, next));
            }
        }
        let market = self.market.as_ref()?;
        let close = market.day_order_expiry(at);
        let next = market.day_order_expiry(close);
        self.cached = Some((at, close, next));
        Some((close, next))
    }

    /// When a `day` order accepted at `at` expires; `None` without a calendar.
    pub fn expiry(&mut self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.closes(at).map(|(close, _)| close)
    }

    /// From when an id accepted at `at` is forgotten: `at` + the window, else the close of the
    /// session after the one `at` belongs to; `None` (never) without either.
    pub fn forget_at(&mut self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self.window {
            Some(w) => Some(at.checked_add_signed(w).unwrap_or(DateTime::<Utc>::MAX_UTC)),
            None => self.closes(at).map(|(_, next)| next),
        }
    }
}

/// An id accepted within the window.
#[derive(Debug, Clone, Copy)]
struct IdMark {
    // Forgotten from this instant on (the newest acceptance's).
    forget_at: DateTime<Utc>,
    // Its order was closed as expired (then `/done` for it is refused).
    expired: bool,
}

/// Open orders changed, by their key in the book, each as it is now (`None`: closed).
pub type OpenOrderChanges = FxHashMap<Arc<str>, Option<OpenOrder>>;

/// Positions, open orders, reference prices and gross exposure of one strategy.
#[derive(Debug, Clone, Default)]
pub struct OrderBook {
    pub(crate) assets: FxHashMap<Arc<str>, AssetBook>,
    open: FxHashMap<Arc<str>, OpenOrder>,
    // Ids accepted within the duplicate window, and the same in order of forgetting (an id
    // accepted again is queued again; the older entry finds a newer mark and leaves it).
    ids: FxHashMap<Arc<str>, IdMark>,
    forgetting: VecDeque<(DateTime<Utc>, Arc<str>)>,
    days: OrderDays,
    // No open order expires before this (it may be earlier than the true earliest after the
    // earliest closed; the walk it causes then finds the true one).
    next_expiry: Option<DateTime<Utc>>,
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
    // The ids remembered since the last `take_id_changes`, each with the instant it is
    // forgotten at; `None` while nobody saves them. Bounded by the ids of one save period.
    id_changes: Option<IdChanges>,
}

/// Ids remembered since the last save, each with the instant it is forgotten at.
pub type IdChanges = Vec<(Arc<str>, DateTime<Utc>)>;

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

    /// The calendar and window that bound ids and expire day orders.
    pub fn with_days(mut self, days: OrderDays) -> Self {
        self.days = days;
        self
    }

    /// Starts noting which open orders change, for [`OrderBook::take_changes`].
    pub fn note_changes(&mut self) {
        self.changed.get_or_insert_with(OpenOrderChanges::default);
        self.id_changes.get_or_insert_with(IdChanges::default);
    }

    /// The remembered ids changed since the last call (see [`OrderBook::take_changes`]).
    pub fn take_id_changes(&mut self, mut spare: IdChanges) -> IdChanges {
        spare.clear();
        match self.id_changes.as_mut() {
            Some(changed) => std::mem::replace(changed, spare),
            None => spare,
        }
    }

    /// Puts back the ids remembered before a restart (each with the instant it is forgotten
    /// at): a duplicate inside its window is still refused after a crash. Ids whose window
    /// ended by `now` are left out.
    pub fn restore_ids(&mut self, mut ids: Vec<(Arc<str>, DateTime<Utc>)>, now: DateTime<Utc>) {
        ids.retain(|(_, forget_at)| *forget_at > now);
        ids.sort_by_key(|(_, forget_at)| *forget_at);
        for (id, forget_at) in ids {
            if self.ids.contains_key(&id) {
                continue;
            }
            self.ids.insert(
                id.clone(),
                IdMark {
                    forget_at,
                    expired: false,
                },
            );
            self.forgetting.push_back((forget_at, id));
        }
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
    pub fn restore_open(&mut self, mut orders: Vec<(Arc<str>, OpenOrder)>) {
        // Oldest first, so that the ids queue in order of forgetting.
        orders.sort_by_key(|(_, o)| o.since);
        for (key, mut order) in orders {
            let remaining = order.signed_remaining();
            if remaining.is_zero() || self.open.contains_key(&key) {
                continue;
            }
            order.order_id = self.remember(&order.order_id, order.since);
            if let Some(at) = order.expires_at {
                self.next_expiry = Some(self.next_expiry.map_or(at, |n| n.min(at)));
            }
            self.update_asset(&order.asset, |a| {
                a.open_signed = a.open_signed.saturating_add(remaining);
            });
            if let Some((asset, _)) = self.assets.get_key_value(&*order.asset) {
                order.asset = asset.clone();
            }
            self.open.insert(key, order);
        }
    }

    /// The venue's open orders become the book's (a re-base after a crash): every open order
    /// the venue does not list is closed, each it lists is open with its own figures, its id
    /// remembered. The venue's orders carry no time in force here: they stay open until
    /// filled or done.
    pub fn replace_open(&mut self, orders: &[crate::domain::VenueOrder], now: DateTime<Utc>) {
        let keys: Vec<Arc<str>> = self.open.keys().cloned().collect();
        for key in keys {
            if let Some(o) = self.open.remove(&key) {
                let remaining = o.signed_remaining();
                self.update_asset(&o.asset, |a| {
                    a.open_signed = a.open_signed.saturating_sub(remaining);
                });
                self.touch(&key);
            }
        }
        self.next_expiry = None;
        for v in orders {
            let id = self.remember(&v.order_id, now);
            let order = OpenOrder {
                order_id: id.clone(),
                asset: Arc::from(v.asset.as_str()),
                side: v.side,
                quantity: v.quantity,
                filled: v.filled,
                limit_price: None,
                since: now,
                expires_at: None,
            };
            let remaining = order.signed_remaining();
            if remaining.is_zero() {
                continue;
            }
            self.update_asset(&order.asset, |a| {
                a.open_signed = a.open_signed.saturating_add(remaining);
            });
            self.open.insert(id.clone(), order);
            self.touch(&id);
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

    /// Whether `order_id` counts as seen at `now`: open, or accepted within the duplicate
    /// window.
    pub fn was_accepted(&self, order_id: &str, now: DateTime<Utc>) -> bool {
        self.open.contains_key(order_id)
            || self.ids.get(order_id).is_some_and(|m| now < m.forget_at)
    }

    /// How many ids are remembered (the duplicate window's size; open orders' ids aside).
    pub fn remembered_ids(&self) -> usize {
        self.ids.len()
    }

    // Notes `id` as accepted at `at` and answers the book's shared copy of it.
    fn remember(&mut self, id: &str, at: DateTime<Utc>) -> Arc<str> {
        let forget_at = self.days.forget_at(at).unwrap_or(DateTime::<Utc>::MAX_UTC);
        let (shared, queue) = match self.ids.get_key_value(id) {
            Some((known, mark)) => (known.clone(), mark.forget_at != forget_at),
            None => (Arc::from(id), true),
        };
        self.ids.insert(
            shared.clone(),
            IdMark {
                forget_at,
                expired: false,
            },
        );
        if queue && forget_at != DateTime::<Utc>::MAX_UTC {
            self.forgetting.push_back((forget_at, shared.clone()));
            if let Some(changes) = self.id_changes.as_mut() {
                changes.push((shared.clone(), forget_at));
            }
        }
        shared
    }

    /// Forgets the ids whose window ended at or before `now`: from the front of the queue,
    /// so each id costs O(1) once.
    pub fn forget_due(&mut self, now: DateTime<Utc>) {
        while let Some((at, _)) = self.forgetting.front() {
            if *at > now {
                break;
            }
            let Some((at, id)) = self.forgetting.pop_front() else {
                break;
            };
            // An id accepted again since carries a later mark: it stays.
            if self.ids.get(&id).is_some_and(|m| m.forget_at <= at) {
                self.ids.remove(&id);
            }
        }
    }

    /// Closes every `day` order whose session closed at or before `now`, as `/done` would,
    /// and answers them; forgets ids past their window too. Walks the open orders only when
    /// the earliest expiry is due.
    pub fn expire_due(&mut self, now: DateTime<Utc>) -> Vec<OpenOrder> {
        self.forget_due(now);
        match self.next_expiry {
            Some(at) if at <= now => {}
            _ => return Vec::new(),
        }
        let due: Vec<Arc<str>> = self
            .open
            .iter()
            .filter(|(_, o)| o.expires_at.is_some_and(|e| e <= now))
            .map(|(k, _)| k.clone())
            .collect();
        let mut expired = Vec::with_capacity(due.len());
        for key in due {
            let Some(order) = self.open.remove(&key) else {
                continue;
            };
            self.touch(&key);
            let remaining = order.signed_remaining();
            self.update_asset(&order.asset, |a| a.open_signed -= remaining);
            if let Some(mark) = self.ids.get_mut(&*order.order_id) {
                mark.expired = true;
            }
            expired.push(order);
        }
        self.next_expiry = self.open.values().filter_map(|o| o.expires_at).min();
        expired
    }

    /// The earliest instant an open order may expire, if any may.
    pub fn next_expiry(&self) -> Option<DateTime<Utc>> {
        self.next_expiry
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
        self.forget_due(now);
        let id = self.remember(&order.order_id, now);
        let expires_at = match order.time_in_force {
            TimeInForce::Day => self.days.expiry(now),
            TimeInForce::Gtc => None,
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
                        expires_at,
                    },
                );
                if let Some(at) = expires_at {
                    self.next_expiry = Some(self.next_expiry.map_or(at, |n| n.min(at)));
                }
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
    /// within the window that is no longer open (already filled or done): nothing to do. An
    /// id the gate does not hold (never accepted, or closed and forgotten by `now`) is
    /// refused, and so is one the gate closed as expired.
    pub fn on_done(
        &mut self,
        order_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<OpenOrder>, InputError> {
        let Some((key, order)) = self.open.remove_entry(order_id) else {
            return match self.ids.get(order_id) {
                Some(m) if now < m.forget_at && !m.expired => Ok(None),
                Some(m) if now < m.forget_at => Err(InputError::ExpiredOrder {
                    order_id: order_id.to_string(),
                }),
                _ => Err(InputError::UnknownOrder {
                    order_id: order_id.to_string(),
                }),
            };
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
mod tests;
