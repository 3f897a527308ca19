//! The order decision core: everything the gate needs to judge one order, behind one lock
//! that the host's own thread takes for the decision only. The OrderGate actor owns it and
//! keeps it current (state from the Supervisor, positions from the ledger feed); breakers
//! close it the instant they trip, before the Supervisor has persisted anything.
//!
//! A trip closed here but not yet applied by the Supervisor is "unconfirmed": it keeps the
//! gate closed whatever the Supervisor said before it, until the Supervisor's word carries a
//! sequence number at or past the trip's. So no message race can reopen the gate.

use crate::breaker::{BreakerKind, BreakerReading, Trip};
use crate::domain::{Fill, OrderRequest, Position, Side};
use crate::rules::{OrderRateRule, OrderVerdict};
use crate::state_machine::EngineState;
use crate::supervision::{ActorName, HealthBoard};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

const RECENT: usize = 200;

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum OrderDecision {
    /// Send it.
    Accepted,
    /// Do not send it.
    Rejected {
        /// Why, naming the state and the breaker.
        reason: String,
        /// The state the gate judged against.
        state: EngineState,
        /// The breaker that enforced it, if one did.
        #[serde(skip_serializing_if = "Option::is_none")]
        breaker: Option<BreakerKind>,
    },
}

impl OrderDecision {
    /// Whether the order may be sent.
    pub fn is_accepted(&self) -> bool {
        matches!(self, OrderDecision::Accepted)
    }
}

/// One order as decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// When the gate decided.
    pub at: DateTime<Utc>,
    /// The order.
    pub order: OrderRequest,
    /// The decision.
    pub decision: OrderDecision,
}

/// What the gate has seen.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GateActivity {
    /// Recent orders, newest last.
    pub orders: Vec<OrderRecord>,
    /// Recent fills, newest last.
    pub fills: Vec<Fill>,
    /// Orders accepted since start.
    pub accepted: u64,
    /// Orders rejected since start, by the breaker or state that refused them.
    pub rejected: HashMap<String, u64>,
}

/// The Supervisor's word: the state orders are judged against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateUpdate {
    /// The global state.
    pub state: EngineState,
    /// Every breaker tripped and not yet reset or cleared, first tripped first.
    pub tripped: Vec<BreakerKind>,
    /// Why, named in rejections.
    pub reason: Option<String>,
    /// Trips with a sequence number up to this one are applied by the Supervisor.
    pub applied_trips: u64,
}

/// A trip the core closed the gate for, numbered so the Supervisor's acknowledgement can be
/// matched to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedTrip {
    /// Order of closing, from 1.
    pub seq: u64,
    /// The trip.
    pub trip: Trip,
}

struct Judged {
    update: GateUpdate,
    unconfirmed: Vec<NumberedTrip>,
    reduce_only_when_tripped: bool,
    // Positions of the last snapshot, and what accepted orders added since: reduce-only
    // judges against both, so five sells of 100 cannot each reduce the same long of 100.
    positions: HashMap<String, Decimal>,
    in_flight: HashMap<String, Decimal>,
    order_rate: Option<OrderRateRule>,
    last_decision_at: DateTime<Utc>,
    recent_orders: VecDeque<OrderRecord>,
    recent_fills: VecDeque<Fill>,
    accepted: u64,
    rejected: HashMap<String, u64>,
}

/// The decision core. Shared by the host's handle, the OrderGate actor and the breakers.
pub struct DecisionCore {
    judged: Mutex<Judged>,
    health: Arc<HealthBoard>,
    // The effective state, readable without the lock: the host's `trading_allowed`.
    signal: AtomicU8,
    next_trip: AtomicU64,
    supervisor_alive: AtomicBool,
    state_watch: tokio::sync::watch::Sender<EngineState>,
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
    pub fn new(
        first: GateUpdate,
        reduce_only_when_tripped: bool,
        order_rate: Option<OrderRateRule>,
        health: Arc<HealthBoard>,
    ) -> Self {
        let (state_watch, _) = tokio::sync::watch::channel(first.state);
        Self {
            signal: AtomicU8::new(first.state.code()),
            judged: Mutex::new(Judged {
                update: first,
                unconfirmed: Vec::new(),
                reduce_only_when_tripped,
                positions: HashMap::new(),
                in_flight: HashMap::new(),
                order_rate,
                last_decision_at: DateTime::<Utc>::MIN_UTC,
                recent_orders: VecDeque::with_capacity(RECENT),
                recent_fills: VecDeque::with_capacity(RECENT),
                accepted: 0,
                rejected: HashMap::new(),
            }),
            health,
            next_trip: AtomicU64::new(1),
            supervisor_alive: AtomicBool::new(true),
            state_watch,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Judged> {
        // A panic while holding the lock leaves data that was consistent before each
        // statement; the decision reads it as is and the health board keeps the gate shut.
        self.judged.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Judges an order (already validated) as of `clock`'s time, read under the lock so that
    /// concurrent callers are timed in the order they are judged. Answers the decision and,
    /// when this order tripped the order-rate breaker, the trip to report to the Supervisor.
    pub fn decide(
        &self,
        order: OrderRequest,
        clock: &dyn crate::clock::Clock,
    ) -> (OrderDecision, Option<NumberedTrip>) {
        let mut j = self.lock();
        // A wall clock stepped back (NTP) must not make the window refuse orders.
        let now = clock.now().max(j.last_decision_at);
        j.last_decision_at = now;
        let mut tripped = None;
        let mut decision = self.refusal(&j, &order);
        // Every submission counts toward the order rate, refused or not: a runaway loop
        // keeps the breaker tripped for as long as it keeps sending.
        if let Some(rule) = j.order_rate.as_mut() {
            let verdict = rule.on_submission(now);
            if decision.is_none() {
                decision = match verdict {
                    Ok(OrderVerdict::WithinLimit) => None,
                    Ok(OrderVerdict::OverLimit(ref _trip)) => Some(reject(
                        "order rate limit exceeded: this order is over the maximum in its window"
                            .into(),
                        j.update.state,
                        Some(BreakerKind::OrderRate),
                    )),
                    Err(ref e) => Some(reject(
                        format!("order rate breaker refused the time: {e}"),
                        j.update.state,
                        Some(BreakerKind::OrderRate),
                    )),
                };
            }
            if let Ok(OrderVerdict::OverLimit(Some(trip))) = verdict {
                tripped = Some(self.close_locked(&mut j, trip));
            }
        }
        let decision = decision.unwrap_or(OrderDecision::Accepted);
        if decision.is_accepted() {
            let held = j.in_flight.entry(order.asset.clone()).or_default();
            // Quantities were bounded at the edge; saturate rather than panic all the same.
            *held =
                held.checked_add(order.signed_quantity())
                    .unwrap_or(if order.side == Side::Buy {
                        Decimal::MAX
                    } else {
                        Decimal::MIN
                    });
        }
        record(&mut j, now, order, &decision);
        (decision, tripped)
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
        match (u.state, j.unconfirmed.first()) {
            (EngineState::Normal | EngineState::Resetting, Some(t)) => (
                EngineState::Tripped,
                Some(t.trip.breaker),
                Some(t.trip.summary.clone()),
            ),
            (state, _) => (state, u.tripped.first().copied(), u.reason.clone()),
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
        let mut names = j.update.tripped.clone();
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

    /// New positions from a snapshot: what accepted orders added before it is now in them.
    pub fn set_positions(&self, positions: &[Position]) {
        let mut j = self.lock();
        j.positions = positions
            .iter()
            .map(|p| (p.asset.clone(), p.quantity))
            .collect();
        j.in_flight.clear();
    }

    /// Records a fill for the activity log.
    pub fn record_fill(&self, fill: Fill) {
        let mut j = self.lock();
        if j.recent_fills.len() == RECENT {
            j.recent_fills.pop_front();
        }
        j.recent_fills.push_back(fill);
    }

    /// The order-rate window at `now`: whether an auto-reset trip cleared.
    pub fn order_rate_cleared(&self, now: DateTime<Utc>) -> bool {
        self.lock()
            .order_rate
            .as_mut()
            .is_some_and(|r| r.cleared(now))
    }

    /// After a confirmed reset: re-arms the order-rate rule; its trip when the window still
    /// exceeds (the gate is closed for it here).
    pub fn rearm_order_rate(&self, now: DateTime<Utc>) -> Option<NumberedTrip> {
        let mut j = self.lock();
        let trip = j.order_rate.as_mut()?.rearm(now)?;
        Some(self.close_locked(&mut j, trip))
    }

    /// The order-rate breaker's reading, if it is on.
    pub fn order_rate_reading(&self) -> Option<BreakerReading> {
        self.lock().order_rate.as_ref().map(|r| r.reading(true))
    }

    /// What the gate has seen.
    pub fn activity(&self) -> GateActivity {
        let j = self.lock();
        GateActivity {
            orders: j.recent_orders.iter().cloned().collect(),
            fills: j.recent_fills.iter().cloned().collect(),
            accepted: j.accepted,
            rejected: j.rejected.clone(),
        }
    }
}

fn reject(reason: String, state: EngineState, breaker: Option<BreakerKind>) -> OrderDecision {
    OrderDecision::Rejected {
        reason,
        state,
        breaker,
    }
}

/// Whether the order shrinks the position (last snapshot plus accepted orders since) without
/// crossing through zero.
fn reduces_position(j: &Judged, order: &OrderRequest) -> bool {
    let snapshot = j.positions.get(&order.asset).copied().unwrap_or_default();
    let pending = j.in_flight.get(&order.asset).copied().unwrap_or_default();
    let Some(held) = snapshot.checked_add(pending) else {
        return false;
    };
    match order.side {
        Side::Sell => held > Decimal::ZERO && order.quantity <= held,
        Side::Buy => held < Decimal::ZERO && order.quantity <= -held,
    }
}

fn record(j: &mut Judged, at: DateTime<Utc>, order: OrderRequest, decision: &OrderDecision) {
    match decision {
        OrderDecision::Accepted => j.accepted += 1,
        OrderDecision::Rejected { breaker, state, .. } => {
            let key = breaker.map_or_else(|| state.as_str().to_string(), |b| b.to_string());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use chrono::Duration;
    use rust_decimal_macros::dec;

    fn t0() -> DateTime<Utc> {
        "2026-03-09T14:00:00Z".parse().unwrap()
    }

    fn update(state: EngineState, tripped: &[BreakerKind], applied: u64) -> GateUpdate {
        GateUpdate {
            state,
            tripped: tripped.to_vec(),
            reason: Some("why".into()),
            applied_trips: applied,
        }
    }

    fn core(
        state: EngineState,
        reduce_only: bool,
        order_rate: Option<OrderRateRule>,
    ) -> DecisionCore {
        let health = Arc::new(HealthBoard::new([ActorName::OrderGate], []));
        let tripped: &[BreakerKind] = if state == EngineState::Tripped {
            &[BreakerKind::Drawdown]
        } else {
            &[]
        };
        DecisionCore::new(update(state, tripped, 0), reduce_only, order_rate, health)
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
    fn test_decide_when_reduce_only_then_counts_orders_already_accepted() {
        let c = core(EngineState::Tripped, true, None);
        let clock = TestClock::new(t0());
        c.set_positions(&[Position {
            asset: "SPY".into(),
            quantity: dec!(100),
            market_price: dec!(500),
        }]);
        let decisions: Vec<bool> = (0..5)
            .map(|i| {
                c.decide(
                    order(&format!("s{i}"), Side::Sell, dec!(100)),
                    clock.as_ref(),
                )
                .0
                .is_accepted()
            })
            .collect();
        assert_eq!(decisions, [true, false, false, false, false]);
        // Two halves of the long pass; a third would cross through zero.
        let c = core(EngineState::Tripped, true, None);
        c.set_positions(&[Position {
            asset: "SPY".into(),
            quantity: dec!(100),
            market_price: dec!(500),
        }]);
        let halves: Vec<bool> = (0..3)
            .map(|i| {
                c.decide(
                    order(&format!("h{i}"), Side::Sell, dec!(50)),
                    clock.as_ref(),
                )
                .0
                .is_accepted()
            })
            .collect();
        assert_eq!(halves, [true, true, false]);
        // A new snapshot carries what was filled: the count starts again from it.
        c.set_positions(&[Position {
            asset: "SPY".into(),
            quantity: dec!(30),
            market_price: dec!(500),
        }]);
        assert!(c
            .decide(order("n", Side::Sell, dec!(30)), clock.as_ref())
            .0
            .is_accepted());
        assert!(!c
            .decide(order("m", Side::Buy, dec!(1)), clock.as_ref())
            .0
            .is_accepted());
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
            false,
            None,
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
            assert!(d.is_accepted() && trip.is_none(), "order {i}");
            clock.advance(Duration::milliseconds(10));
        }
        let (d, trip) = c.decide(order("o100", Side::Buy, dec!(1)), clock.as_ref());
        assert!(!d.is_accepted());
        let trip = trip.expect("the 101st trips");
        assert_eq!(trip.trip.breaker, BreakerKind::OrderRate);
        assert_eq!(c.effective_state(), EngineState::Tripped);
        // A clock stepped back is judged at the newest time, never refused as out of order.
        clock.set(t0());
        let (d, trip) = c.decide(order("late", Side::Buy, dec!(1)), clock.as_ref());
        assert!(!d.is_accepted() && trip.is_none());
        assert_eq!(c.activity().accepted, 100);
    }
}
