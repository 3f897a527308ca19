//! The order decision core: everything the gate needs to judge one order, behind one lock
//! that the host's own thread takes for the decision only. The OrderGate actor owns it and
//! keeps it current (state from the Supervisor, positions from the ledger feed); breakers
//! close it the instant they trip, before the Supervisor has persisted anything.
//!
//! Pre-trade checks ([`crate::pretrade`]) are judged here too, on every order in every
//! state, against the core's order book: no extra hop, one lock.
//!
//! A trip closed here but not yet applied by the Supervisor is "unconfirmed": it keeps the
//! gate closed whatever the Supervisor said before it, until the Supervisor's word carries a
//! sequence number at or past the trip's. So no message race can reopen the gate.

use crate::breaker::{BreakerKind, BreakerReading, Trip};
use crate::breakers::{OrderRateRule, OrderVerdict, PreTradeDenialRule};
use crate::checkpoint::StrategyCheckpoint;
use crate::domain::{Fill, InputError, OrderRequest, Position, VenueReport};
use crate::pretrade::book::OrderDays;
use crate::pretrade::journal::OpenOrderJournal;
use crate::pretrade::{checks, Denial, OpenOrder, OrderBook, PreTradeCheck, PreTradeLimits};
use crate::state_machine::EngineState;
use crate::supervision::{ActorName, HealthBoard};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

#[cfg(test)]
mod tests;
mod types;

pub use types::*;

const RECENT: usize = 200;

struct Judged {
    update: GateUpdate,
    unconfirmed: Vec<NumberedTrip>,
    reduce_only_when_tripped: bool,
    // Positions, open orders and reference prices: reduce-only and the pre-trade checks
    // judge against positions plus working orders, so five sells of 100 cannot each
    // reduce the same long of 100.
    book: OrderBook,
    pre_trade: PreTradeLimits,
    pre_trade_denials: Option<PreTradeDenialRule>,
    order_rate: Option<OrderRateRule>,
    last_decision_at: DateTime<Utc>,
    recent_orders: VecDeque<OrderRecord>,
    recent_fills: VecDeque<Fill>,
    // Day orders closed as expired on the order path, not yet recorded by the Supervisor.
    expired: Vec<OpenOrder>,
    accepted: u64,
    rejected: HashMap<String, u64>,
    denials: [u64; PreTradeCheck::COUNT],
    // After an unclean stop: denied unless reducing, until a venue report re-bases the book.
    unreconciled: bool,
}

/// What the gate does while the host has lost the firm's bus for longer than its lease
/// (CONFIG.md `[cluster] on_bus_loss`; `continue` never reaches the gate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusLossMode {
    /// Every order is refused with `"breaker": "bus"`.
    Halt,
    /// Only orders that reduce a position pass.
    ReduceOnly,
}

const BUS_OK: u8 = 0;
const BUS_HALT: u8 = 1;
const BUS_REDUCE_ONLY: u8 = 2;

/// The decision core. Shared by the host's handle, the OrderGate actor and the breakers.
pub struct DecisionCore {
    // The bus-loss rule in force (BUS_OK, BUS_HALT, BUS_REDUCE_ONLY): set by the host's link to
    // the bus, read by every decision without waiting on anything.
    bus_loss: AtomicU8,
    judged: Mutex<Judged>,
    health: Arc<HealthBoard>,
    // The effective state, readable without the lock: the host's `trading_allowed`.
    signal: AtomicU8,
    next_trip: AtomicU64,
    supervisor_alive: AtomicBool,
    state_watch: tokio::sync::watch::Sender<EngineState>,
    // Which open orders the checkpoint holds; taken only by whoever saves them, never by the
    // order path.
    journal: Mutex<OpenOrderJournal>,
    // Day orders were closed as expired outside the Supervisor's tick: it should record them.
    expired_waiting: AtomicBool,
}

impl std::fmt::Debug for DecisionCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionCore")
            .field("state", &self.effective_state())
            .finish_non_exhaustive()
    }
}

impl DecisionCore {
    /// A core starting with the Supervisor's first word.
    pub fn new(first: GateUpdate, rules: GateRules, health: Arc<HealthBoard>) -> Self {
        let GateRules {
            reduce_only_when_tripped,
            order_rate,
            pre_trade,
            pre_trade_denials,
            market,
        } = rules;
        let days = OrderDays::new(market, pre_trade.duplicate_window);
        let (state_watch, _) = tokio::sync::watch::channel(first.state());
        Self {
            bus_loss: AtomicU8::new(BUS_OK),
            signal: AtomicU8::new(first.state().code()),
            judged: Mutex::new(Judged {
                update: first,
                unconfirmed: Vec::new(),
                reduce_only_when_tripped,
                book: OrderBook::new().with_days(days),
                pre_trade,
                pre_trade_denials,
                order_rate,
                last_decision_at: DateTime::<Utc>::MIN_UTC,
                recent_orders: VecDeque::with_capacity(RECENT),
                recent_fills: VecDeque::with_capacity(RECENT),
                expired: Vec::new(),
                accepted: 0,
                rejected: HashMap::new(),
                denials: [0; PreTradeCheck::COUNT],
                unreconciled: false,
            }),
            health,
            next_trip: AtomicU64::new(1),
            supervisor_alive: AtomicBool::new(true),
            state_watch,
            journal: Mutex::new(OpenOrderJournal::default()),
            expired_waiting: AtomicBool::new(false),
        }
    }

    // Closes the day orders due at `now` (two comparisons when none is) and keeps them for
    // the Supervisor to record.
    fn expire_locked(&self, j: &mut Judged, now: DateTime<Utc>) {
        let expired = j.book.expire_due(now);
        if !expired.is_empty() {
            j.expired.extend(expired);
            self.expired_waiting.store(true, Ordering::Release);
        }
    }

    /// Closes the `day` orders whose session closed at or before `now` and answers them with
    /// any the order path closed since the last call: each is to be recorded as expired once.
    pub fn expire_due(&self, now: DateTime<Utc>) -> Vec<OpenOrder> {
        let mut j = self.lock();
        self.expire_locked(&mut j, now);
        self.expired_waiting.store(false, Ordering::Release);
        std::mem::take(&mut j.expired)
    }

    /// Whether day orders were closed as expired that the Supervisor has not recorded yet.
    pub fn expired_waiting(&self) -> bool {
        self.expired_waiting.load(Ordering::Acquire)
    }

    fn lock(&self) -> MutexGuard<'_, Judged> {
        // A panic while holding the lock leaves data that was consistent before each
        // statement; the decision reads it as is and the health board keeps the gate shut.
        self.judged.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Judges an order (already validated) as of `clock`'s time, read under the lock so that
    /// concurrent callers are timed in the order they are judged. Answers the decision and
    /// the trips this order caused (order rate, pre-trade denials), to report to the
    /// Supervisor.
    pub fn decide(
        &self,
        order: OrderRequest,
        clock: &dyn crate::clock::Clock,
    ) -> (OrderDecision, Vec<NumberedTrip>) {
        let mut j = self.lock();
        // A wall clock stepped back (NTP) must not make the window refuse orders.
        let now = clock.now().max(j.last_decision_at);
        j.last_decision_at = now;
        // A day order past its session's close no longer counts as open or working.
        self.expire_locked(&mut j, now);
        // Vec::new does not allocate: only an order that trips pays for it.
        let mut tripped = Vec::new();
        // The checks judge the order itself, in every state: a fat finger is named as one
        // even while the gate is shut for another reason.
        let denial = if j.unreconciled && !reduces_position(&j, &order) {
            Some(checks::unreconciled())
        } else if j.pre_trade.any() {
            checks::judge(&j.pre_trade, &j.book, &order, now).err()
        } else {
            // No check configured: only the bound on open orders, one comparison.
            checks::judge_open_orders(&j.pre_trade, &j.book).err()
        };
        let mut decision = match denial {
            Some(d) => Some(self.denied_locked(&mut j, &order, d, now, &mut tripped)),
            None => self.refusal(&j, &order),
        };
        self.count_submission(&mut j, now, &mut decision, &mut tripped);
        let decision = decision.unwrap_or(OrderDecision::Accepted);
        if decision.is_accepted() {
            j.book.accept(&order, now);
        }
        record(&mut j, now, order, &decision);
        (decision, tripped)
    }

    /// Counts a pre-trade denial; too many in the window trip the pre-trade breaker.
    fn denied_locked(
        &self,
        j: &mut Judged,
        order: &OrderRequest,
        d: Denial,
        now: DateTime<Utc>,
        tripped: &mut Vec<NumberedTrip>,
    ) -> OrderDecision {
        j.denials[d.check.slot()] += 1;
        // Too many denials in the window: the algorithm is off until staff re-enable it.
        // Waiting for a venue report is not the strategy's fault: it never trips the
        // pre-trade breaker.
        let counted = j
            .pre_trade_denials
            .as_mut()
            .filter(|_| d.check != PreTradeCheck::Unreconciled)
            .map(|rule| rule.on_denial(now, d.check.as_str()));
        if let Some(Ok(Some(mut trip))) = counted {
            // The audit of the trip names the denial that made it, figures and all.
            let last = [
                ("last_order_id", Some(order.order_id.clone())),
                ("last_limit", d.limit.map(|v| v.to_string())),
                ("last_value", d.value.map(|v| v.to_string())),
                ("last_reason", Some(d.reason.clone())),
            ];
            for (key, value) in last {
                if let Some(v) = value {
                    trip.details.insert(key.into(), v);
                }
            }
            tripped.push(self.close_locked(j, trip));
        }
        let (state, _, _) = self.effective(j);
        OrderDecision::denied(d, state)
    }

    /// Every submission counts toward the order rate, refused or not: a runaway loop keeps
    /// the breaker tripped for as long as it keeps sending.
    fn count_submission(
        &self,
        j: &mut Judged,
        now: DateTime<Utc>,
        decision: &mut Option<OrderDecision>,
        tripped: &mut Vec<NumberedTrip>,
    ) {
        let Some(rule) = j.order_rate.as_mut() else {
            return;
        };
        let verdict = rule.on_submission(now);
        if decision.is_none() {
            *decision = match verdict {
                Ok(OrderVerdict::WithinLimit) => None,
                Ok(OrderVerdict::OverLimit(ref _trip)) => Some(reject(
                    "order rate limit exceeded: this order is over the maximum in its window"
                        .into(),
                    j.update.state(),
                    Some(BreakerKind::OrderRate),
                )),
                Err(ref e) => Some(reject(
                    format!("order rate breaker refused the time: {e}"),
                    j.update.state(),
                    Some(BreakerKind::OrderRate),
                )),
            };
        }
        if let Ok(OrderVerdict::OverLimit(Some(trip))) = verdict {
            tripped.push(self.close_locked(j, trip));
        }
    }

    /// The state orders are refused in now, counting trips not yet confirmed.
    fn effective(&self, j: &Judged) -> (EngineState, Option<BreakerKind>, Option<String>) {
        let u = &j.update;
        // An operator's halt the Supervisor has not recorded yet is in force all the same.
        if let Some(h) = j
            .unconfirmed
            .iter()
            .find(|t| t.trip.breaker == BreakerKind::Manual)
        {
            return (
                EngineState::ManuallyHalted,
                Some(BreakerKind::Manual),
                Some(h.trip.summary.clone()),
            );
        }
        match (u.state(), j.unconfirmed.first()) {
            (EngineState::Normal | EngineState::Resetting, Some(t)) => (
                EngineState::Tripped,
                Some(t.trip.breaker),
                Some(t.trip.summary.clone()),
            ),
            (state, _) => (state, u.first_tripped(), u.record.reason.clone()),
        }
    }

    fn refusal(&self, j: &Judged, order: &OrderRequest) -> Option<OrderDecision> {
        let (state, breaker, reason) = self.effective(j);
        if !self.supervisor_alive.load(Ordering::Acquire) {
            return Some(reject(
                "the supervisor is gone: no trip or halt could be recorded, failing closed".into(),
                state,
                None,
            ));
        }
        let why = reason.as_deref().unwrap_or("no reason given");
        match self.bus_loss.load(Ordering::Acquire) {
            BUS_OK => {}
            BUS_REDUCE_ONLY if reduces_position(j, order) => {}
            mode => {
                let rule = if mode == BUS_HALT {
                    "halt"
                } else {
                    "reduce_only"
                };
                return Some(reject(
                    format!(
                        "the firm's bus is out of reach for longer than the lease: on_bus_loss = {rule}"
                    ),
                    state,
                    Some(BreakerKind::Bus),
                ));
            }
        }
        match state {
            EngineState::Normal => {}
            EngineState::Tripped if j.reduce_only_when_tripped && reduces_position(j, order) => {}
            EngineState::Tripped => {
                let names: Vec<String> = self
                    .tripped_names(j)
                    .into_iter()
                    .map(|k| k.to_string())
                    .collect();
                let by = if names.is_empty() {
                    "a breaker".to_string()
                } else {
                    format!("the {} breaker", names.join(", "))
                };
                return Some(reject(
                    format!("trading is TRIPPED by {by}: {why}"),
                    state,
                    breaker,
                ));
            }
            EngineState::ManuallyHalted => {
                return Some(reject(
                    format!("trading is MANUALLY_HALTED: {why}"),
                    state,
                    Some(BreakerKind::Manual),
                ))
            }
            EngineState::Resetting => {
                return Some(reject(
                    "trading is RESETTING: a reset awaits its confirmation".into(),
                    state,
                    breaker,
                ))
            }
        }
        if let Some(actor) = self.health.first_not_ready() {
            let breaker = match actor {
                ActorName::Breaker(k) => Some(k),
                _ => None,
            };
            return Some(reject(
                format!("the {actor} is not ready (restarting, or no input yet): failing closed"),
                state,
                breaker,
            ));
        }
        None
    }

    fn tripped_names(&self, j: &Judged) -> Vec<BreakerKind> {
        let mut names: Vec<BreakerKind> = j.update.record.tripped.iter().map(|(k, _)| *k).collect();
        for t in &j.unconfirmed {
            if !names.contains(&t.trip.breaker) {
                names.push(t.trip.breaker);
            }
        }
        names
    }

    fn close_locked(&self, j: &mut Judged, trip: Trip) -> NumberedTrip {
        let numbered = NumberedTrip {
            seq: self.next_trip.fetch_add(1, Ordering::AcqRel),
            trip,
        };
        j.unconfirmed.push(numbered.clone());
        self.publish(j);
        numbered
    }

    /// Puts `mode` in force while the host has lost the firm's bus (`None` lifts it). The next
    /// decision sees it; the state machine is not involved (each strategy keeps its state).
    pub fn set_bus_loss(&self, mode: Option<BusLossMode>) {
        let code = match mode {
            None => BUS_OK,
            Some(BusLossMode::Halt) => BUS_HALT,
            Some(BusLossMode::ReduceOnly) => BUS_REDUCE_ONLY,
        };
        self.bus_loss.store(code, Ordering::Release);
    }

    /// The bus-loss rule in force, if any.
    pub fn bus_loss(&self) -> Option<BusLossMode> {
        match self.bus_loss.load(Ordering::Acquire) {
            BUS_HALT => Some(BusLossMode::Halt),
            BUS_REDUCE_ONLY => Some(BusLossMode::ReduceOnly),
            _ => None,
        }
    }

    /// Closes the gate for a breaker's trip now, before the Supervisor hears of it. Answers
    /// the numbered trip to report.
    pub fn close_for(&self, trip: Trip) -> NumberedTrip {
        let mut j = self.lock();
        self.close_locked(&mut j, trip)
    }

    /// Takes the Supervisor's word.
    pub fn apply(&self, update: GateUpdate) {
        let mut j = self.lock();
        let applied = update.applied_trips;
        j.unconfirmed.retain(|t| t.seq > applied);
        j.update = update;
        self.publish(&j);
    }

    /// Trips closed here that the Supervisor has not confirmed: a restarted Supervisor
    /// applies them again, since the message that carried one may have died with it.
    pub fn unconfirmed(&self) -> Vec<NumberedTrip> {
        self.lock().unconfirmed.clone()
    }

    fn publish(&self, j: &Judged) {
        let (state, _, _) = self.effective(j);
        self.signal.store(state.code(), Ordering::Release);
        self.state_watch.send_if_modified(|s| {
            let changed = *s != state;
            *s = state;
            changed
        });
    }

    /// Whether the Supervisor can hear trips and halts; the gate refuses while it cannot.
    pub fn set_supervisor_alive(&self, alive: bool) {
        self.supervisor_alive.store(alive, Ordering::Release);
    }

    /// The state orders are judged against now, read without the lock.
    pub fn effective_state(&self) -> EngineState {
        EngineState::from_code(self.signal.load(Ordering::Acquire))
    }

    /// Whether an order could pass now (state NORMAL, every actor ready, the Supervisor
    /// alive), read without the lock: the host's fast path. The order rate is judged only by
    /// a real decision.
    pub fn trading_allowed(&self) -> bool {
        self.effective_state() == EngineState::Normal
            && self.supervisor_alive.load(Ordering::Acquire)
            && self.health.first_not_ready().is_none()
    }

    /// A watch of the effective state: changes as they happen, the newest always kept.
    pub fn watch(&self) -> tokio::sync::watch::Receiver<EngineState> {
        self.state_watch.subscribe()
    }

    /// Positions and prices from a snapshot taken at `at` (fills up to then are in them).
    pub fn on_snapshot(&self, at: DateTime<Utc>, positions: &[Position]) {
        self.lock().book.on_snapshot(at, positions);
    }

    /// A fill: moves the position, fills its open order, sets the reference price, and is
    /// kept for the activity log. A position that would overflow is refused, nothing changed.
    pub fn on_fill(&self, fill: Fill) -> Result<(), InputError> {
        let mut j = self.lock();
        j.book.on_fill(&fill)?;
        if j.recent_fills.len() == RECENT {
            j.recent_fills.pop_front();
        }
        j.recent_fills.push_back(fill);
        Ok(())
    }

    /// An open order ended without filling completely; answers it, or `None` when it had
    /// already closed. An id the gate does not hold at `now` (never accepted, forgotten, or
    /// closed as expired) is refused.
    pub fn on_done(
        &self,
        order_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<OpenOrder>, InputError> {
        let mut j = self.lock();
        self.expire_locked(&mut j, now);
        j.book.on_done(order_id, now)
    }

    /// Reference prices posted by the host at `at`.
    pub fn on_prices(&self, at: DateTime<Utc>, prices: &[(String, Decimal)]) {
        self.lock().book.on_prices(at, prices);
    }

    /// Puts back the open orders saved before a restart, and from now on notes every change
    /// to them for [`DecisionCore::save_open_orders`].
    pub fn restore_open_orders(
        &self,
        orders: Vec<(Arc<str>, OpenOrder)>,
        seen_ids: Vec<(Arc<str>, DateTime<Utc>)>,
        now: DateTime<Utc>,
    ) {
        let mut journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        *journal = OpenOrderJournal::holding(orders.iter().map(|(key, _)| key.clone()));
        let mut j = self.lock();
        j.book.restore_ids(seen_ids, now);
        j.book.restore_open(orders);
        j.book.note_changes();
    }

    /// After an unclean stop with `after_crash = "reconcile"`: deny every order that does not
    /// reduce a position until [`DecisionCore::rebase`].
    pub fn set_unreconciled(&self) {
        self.lock().unreconciled = true;
    }

    /// Whether the book waits for a venue report after an unclean stop.
    pub fn is_unreconciled(&self) -> bool {
        self.lock().unreconciled
    }

    /// A venue report while unreconciled: its positions and open orders become the book's
    /// (each part only when the report carries it), and orders are judged again. Answers what
    /// changed, for the audit; `None` when the book was not waiting for one.
    pub fn rebase(&self, report: &VenueReport) -> Option<serde_json::Value> {
        let mut j = self.lock();
        if !j.unreconciled {
            return None;
        }
        let now = j.last_decision_at.max(report.timestamp);
        let before_open = j.book.open_count();
        if let Some(positions) = &report.positions {
            let positions: Vec<Position> = positions
                .iter()
                .map(|p| Position {
                    asset: p.asset.clone(),
                    quantity: p.quantity,
                    market_price: Decimal::ZERO,
                })
                .collect();
            j.book.on_snapshot(report.timestamp, &positions);
        }
        if let Some(orders) = &report.open_orders {
            j.book.replace_open(orders, now);
        }
        j.unreconciled = false;
        Some(serde_json::json!({
            "venue_timestamp": report.timestamp,
            "positions": report.positions.as_ref().map(|p| p.len()),
            "open_orders_before": before_open,
            "open_orders_after": j.book.open_count(),
        }))
    }

    /// Stages the changes to open orders since the last call into `checkpoint`: a swap of
    /// tables under the gate's lock; the filtering, encoding and writing outside it.
    pub fn save_open_orders(&self, checkpoint: &StrategyCheckpoint) {
        let mut journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        let spare = journal.take_spare();
        let spare_ids = journal.take_spare_ids();
        let (changes, ids, now) = {
            let mut j = self.lock();
            let changes = j.book.take_changes(spare);
            (
                changes,
                j.book.take_id_changes(spare_ids),
                j.last_decision_at,
            )
        };
        // Nothing judged yet: nothing to remember or to drop.
        if now > DateTime::<Utc>::MIN_UTC {
            checkpoint.stage_seen_ids(&ids, now);
        }
        journal.keep_spare_ids(ids);
        checkpoint.stage_open_orders(journal.writes(changes));
    }

    /// The open orders, oldest first: what a cancel-all asks the host to cancel.
    pub fn open_orders(&self) -> Vec<OpenOrder> {
        let j = self.lock();
        sorted_open(&j.book)
    }

    /// Open orders, gross exposure and reference prices, for the status.
    pub fn book(&self) -> BookView {
        let j = self.lock();
        let mut references: Vec<_> = j
            .book
            .references()
            .map(|(a, r)| (a.to_string(), r))
            .collect();
        references.sort_by(|a, b| a.0.cmp(&b.0));
        BookView {
            open_orders: sorted_open(&j.book),
            gross_exposure: j.book.gross_exposure(),
            references,
        }
    }

    /// The pre-trade limits the core judges with.
    pub fn pre_trade_limits(&self) -> PreTradeLimits {
        self.lock().pre_trade.clone()
    }

    /// A window the core counts (order rate, pre-trade denials) at `now`: whether its
    /// auto-reset trip cleared. Other kinds: never.
    pub fn window_cleared(&self, kind: BreakerKind, now: DateTime<Utc>) -> bool {
        let mut j = self.lock();
        match kind {
            BreakerKind::OrderRate => j.order_rate.as_mut().is_some_and(|r| r.cleared(now)),
            BreakerKind::PreTrade => j.pre_trade_denials.as_mut().is_some_and(|r| r.cleared(now)),
            _ => false,
        }
    }

    /// After a confirmed reset: re-arms a window the core counts; its trip when the window
    /// still exceeds (the gate is closed for it here).
    pub fn rearm_window(&self, kind: BreakerKind, now: DateTime<Utc>) -> Option<NumberedTrip> {
        let mut j = self.lock();
        let trip = match kind {
            BreakerKind::OrderRate => j.order_rate.as_mut()?.rearm(now)?,
            BreakerKind::PreTrade => j.pre_trade_denials.as_mut()?.rearm(now)?,
            _ => return None,
        };
        Some(self.close_locked(&mut j, trip))
    }

    /// The reading of a window the core counts, if it is on.
    pub fn window_reading(&self, kind: BreakerKind) -> Option<BreakerReading> {
        let j = self.lock();
        match kind {
            BreakerKind::OrderRate => j.order_rate.as_ref().map(|r| r.reading(true)),
            BreakerKind::PreTrade => j.pre_trade_denials.as_ref().map(|r| r.reading(true)),
            _ => None,
        }
    }

    /// What the gate has seen.
    pub fn activity(&self) -> GateActivity {
        let j = self.lock();
        GateActivity {
            orders: j.recent_orders.iter().cloned().collect(),
            fills: j.recent_fills.iter().cloned().collect(),
            accepted: j.accepted,
            rejected: j.rejected.clone(),
            denials: j.denials,
        }
    }
}

fn reject(reason: String, state: EngineState, breaker: Option<BreakerKind>) -> OrderDecision {
    OrderDecision::Rejected {
        reason,
        state,
        breaker,
        check: None,
        limit: None,
        value: None,
    }
}

fn sorted_open(book: &OrderBook) -> Vec<OpenOrder> {
    let mut open: Vec<OpenOrder> = book.open_orders().cloned().collect();
    open.sort_by(|a, b| a.since.cmp(&b.since).then(a.order_id.cmp(&b.order_id)));
    open
}

/// Whether the order shrinks the position (positions now plus every open order) without
/// crossing through zero.
fn reduces_position(j: &Judged, order: &OrderRequest) -> bool {
    let held = j
        .book
        .asset(&order.asset)
        .map_or(Some(Decimal::ZERO), |a| a.exposure_position());
    held.is_some_and(|h| checks::reduces(h, order.side, order.quantity))
}

fn record(j: &mut Judged, at: DateTime<Utc>, order: OrderRequest, decision: &OrderDecision) {
    match decision {
        OrderDecision::Accepted => j.accepted += 1,
        OrderDecision::Rejected {
            breaker,
            state,
            check,
            ..
        } => {
            let key = match (check, breaker) {
                (Some(c), _) => c.as_str().to_string(),
                (None, Some(b)) => b.to_string(),
                (None, None) => state.as_str().to_string(),
            };
            *j.rejected.entry(key).or_default() += 1;
        }
    }
    if j.recent_orders.len() == RECENT {
        j.recent_orders.pop_front();
    }
    j.recent_orders.push_back(OrderRecord {
        at,
        order,
        decision: decision.clone(),
    });
}
