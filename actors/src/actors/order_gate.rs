//! OrderGate: answers every order the host wants to send. Orders pass only in NORMAL, only
//! while every enabled breaker is up and has seen its first input, and only inside the order
//! rate; optionally, orders that shrink a position pass while TRIPPED (never while halted).

use super::guard;
use super::health::HealthBoard;
use super::messages::GateUpdate;
use super::order_rate_breaker::{OrderRateBreaker, RecordSubmission};
use crate::breaker::BreakerKind;
use crate::clock::SharedClock;
use crate::domain::{Fill, InputError, OrderRequest, Position, Side};
use crate::state_machine::EngineState;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

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

/// Asks whether an order may be sent. Every submission counts toward the order rate.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<OrderDecision, InputError>")]
pub struct CheckOrder(pub OrderRequest);

/// Reports a fill (kept for the activity log).
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<(), InputError>")]
pub struct ReportFill(pub Fill);

/// The latest positions, for reduce-only decisions.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct PositionsUpdate(pub Vec<Position>);

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

/// Asks for the gate's activity.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "GateActivity")]
pub struct ReadActivity;

/// The state the gate last heard, readable without a message: the host's fast path.
#[derive(Debug, Default)]
pub struct GateSignal(AtomicU8);

impl GateSignal {
    /// The state as last published.
    pub fn state(&self) -> EngineState {
        match self.0.load(Ordering::Acquire) {
            0 => EngineState::Normal,
            1 => EngineState::Tripped,
            2 => EngineState::ManuallyHalted,
            _ => EngineState::Resetting,
        }
    }

    fn set(&self, state: EngineState) {
        self.0.store(state.code(), Ordering::Release);
    }
}

/// The order gate actor.
pub struct OrderGate {
    state: EngineState,
    breaker: Option<BreakerKind>,
    reason: Option<String>,
    reduce_only_when_tripped: bool,
    positions: HashMap<String, Decimal>,
    order_rate: Option<Addr<OrderRateBreaker>>,
    health: Arc<HealthBoard>,
    signal: Arc<GateSignal>,
    clock: SharedClock,
    activity: GateActivity,
    recent_orders: VecDeque<OrderRecord>,
    recent_fills: VecDeque<Fill>,
}

impl OrderGate {
    /// A gate starting in `state`.
    pub fn new(
        state: GateUpdate,
        reduce_only_when_tripped: bool,
        order_rate: Option<Addr<OrderRateBreaker>>,
        health: Arc<HealthBoard>,
        signal: Arc<GateSignal>,
        clock: SharedClock,
    ) -> Self {
        signal.set(state.state);
        Self {
            state: state.state,
            breaker: state.breaker,
            reason: state.reason,
            reduce_only_when_tripped,
            positions: HashMap::new(),
            order_rate,
            health,
            signal,
            clock,
            activity: GateActivity::default(),
            recent_orders: VecDeque::with_capacity(RECENT),
            recent_fills: VecDeque::with_capacity(RECENT),
        }
    }

    /// Whether the order shrinks an existing position without crossing through zero.
    fn reduces_position(&self, order: &OrderRequest) -> bool {
        let held = self
            .positions
            .get(&order.asset)
            .copied()
            .unwrap_or_default();
        match order.side {
            Side::Sell => held > Decimal::ZERO && order.quantity <= held,
            Side::Buy => held < Decimal::ZERO && order.quantity <= -held,
        }
    }

    /// The refusal the state and breaker health demand, before the order rate is consulted.
    fn refusal(&self, order: &OrderRequest) -> Option<OrderDecision> {
        let reject = |reason: String, breaker| {
            Some(OrderDecision::Rejected {
                reason,
                state: self.state,
                breaker,
            })
        };
        let why = self.reason.as_deref().unwrap_or("no reason given");
        match self.state {
            EngineState::Normal => {}
            EngineState::Tripped
                if self.reduce_only_when_tripped && self.reduces_position(order) => {}
            EngineState::Tripped => {
                let by = self.breaker.map_or("a".to_string(), |b| b.to_string());
                return reject(
                    format!("trading is TRIPPED by the {by} breaker: {why}"),
                    self.breaker,
                );
            }
            EngineState::ManuallyHalted => {
                return reject(
                    format!("trading is MANUALLY_HALTED: {why}"),
                    Some(BreakerKind::Manual),
                )
            }
            EngineState::Resetting => {
                return reject(
                    "trading is RESETTING: a reset awaits its confirmation".into(),
                    self.breaker,
                )
            }
        }
        if let Some(kind) = self.health.first_not_ready() {
            return reject(
                format!(
                    "the {kind} breaker is not ready (restarting, or no input yet): failing closed"
                ),
                Some(kind),
            );
        }
        None
    }

    fn record(&mut self, at: DateTime<Utc>, order: OrderRequest, decision: &OrderDecision) {
        match decision {
            OrderDecision::Accepted => self.activity.accepted += 1,
            OrderDecision::Rejected { breaker, state, .. } => {
                let key = breaker.map_or_else(|| state.as_str().to_string(), |b| b.to_string());
                *self.activity.rejected.entry(key).or_default() += 1;
            }
        }
        if self.recent_orders.len() == RECENT {
            self.recent_orders.pop_front();
        }
        self.recent_orders.push_back(OrderRecord {
            at,
            order,
            decision: decision.clone(),
        });
    }
}

impl Actor for OrderGate {
    type Context = Context<Self>;
}

impl Supervised for OrderGate {}

impl Handler<CheckOrder> for OrderGate {
    type Result = ResponseActFuture<Self, Result<OrderDecision, InputError>>;

    fn handle(&mut self, msg: CheckOrder, ctx: &mut Context<Self>) -> Self::Result {
        let order = msg.0;
        let refusal = match guard(
            self,
            ctx,
            "order_gate",
            |_| {},
            |act| order.validate().map(|_| act.refusal(&order)),
        ) {
            Some(Ok(r)) => r,
            Some(Err(e)) => return Box::pin(fut::ready(Err(e))),
            None => {
                return Box::pin(fut::ready(Ok(OrderDecision::Rejected {
                    reason: "the order gate failed and is restarting: failing closed".into(),
                    state: self.state,
                    breaker: None,
                })))
            }
        };
        let at = self.clock.now();
        let rate = self
            .order_rate
            .as_ref()
            .map(|a| a.send(RecordSubmission { at }));
        Box::pin(
            async move {
                match rate {
                    None => Ok(true),
                    Some(f) => f.await.map_err(|_| ()).and_then(|r| r.map_err(|_| ())),
                }
            }
            .into_actor(self)
            .map(move |within, act, _| {
                let decision = match (refusal, within) {
                    (Some(r), _) => r,
                    (None, Ok(true)) => OrderDecision::Accepted,
                    (None, Ok(false)) => OrderDecision::Rejected {
                        reason: "order rate limit exceeded: this order is over the maximum in its window".into(),
                        state: act.state,
                        breaker: Some(BreakerKind::OrderRate),
                    },
                    (None, Err(())) => OrderDecision::Rejected {
                        reason: "the order_rate breaker is restarting: failing closed".into(),
                        state: act.state,
                        breaker: Some(BreakerKind::OrderRate),
                    },
                };
                act.record(at, order, &decision);
                Ok(decision)
            }),
        )
    }
}

impl Handler<GateUpdate> for OrderGate {
    type Result = ();

    fn handle(&mut self, msg: GateUpdate, _: &mut Context<Self>) {
        self.state = msg.state;
        self.breaker = msg.breaker;
        self.reason = msg.reason;
        self.signal.set(msg.state);
    }
}

impl Handler<PositionsUpdate> for OrderGate {
    type Result = ();

    fn handle(&mut self, msg: PositionsUpdate, _: &mut Context<Self>) {
        self.positions = msg.0.into_iter().map(|p| (p.asset, p.quantity)).collect();
    }
}

impl Handler<ReportFill> for OrderGate {
    type Result = Result<(), InputError>;

    fn handle(&mut self, msg: ReportFill, _: &mut Context<Self>) -> Self::Result {
        msg.0.validate()?;
        if self.recent_fills.len() == RECENT {
            self.recent_fills.pop_front();
        }
        self.recent_fills.push_back(msg.0);
        Ok(())
    }
}

impl Handler<ReadActivity> for OrderGate {
    type Result = MessageResult<ReadActivity>;

    fn handle(&mut self, _: ReadActivity, _: &mut Context<Self>) -> Self::Result {
        let mut a = self.activity.clone();
        a.orders = self.recent_orders.iter().cloned().collect();
        a.fills = self.recent_fills.iter().cloned().collect();
        MessageResult(a)
    }
}

#[cfg(feature = "fault-injection")]
impl Handler<super::messages::InjectPanic> for OrderGate {
    type Result = ();

    fn handle(&mut self, _: super::messages::InjectPanic, ctx: &mut Context<Self>) {
        guard(
            self,
            ctx,
            "order_gate",
            |_| {},
            |_| panic!("injected fault"),
        );
    }
}
