//! OrderGate: owns the order decision core ([`crate::decision`]) and keeps it current. The
//! host's thread judges each order in the core itself; this actor takes the Supervisor's
//! state and runs the order-rate rule's time-driven side (auto clear,
//! re-arm after a reset, reading).

use super::messages::{ClearReport, ReadBreaker, Rearm, Tick};
use super::{guard, Links};
use crate::breaker::{BreakerKind, BreakerReading, ResetPolicy};
use crate::decision::{DecisionCore, GateUpdate, NumberedTrip};
use crate::supervision::ActorName;
use actix::prelude::*;
use std::sync::Arc;

/// The Supervisor's word to the gate.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ApplyGateUpdate(pub GateUpdate);

/// The order gate actor.
pub struct OrderGate {
    core: Arc<DecisionCore>,
    order_rate_reset: ResetPolicy,
    links: Links,
}

impl OrderGate {
    /// A gate owning `core`.
    pub fn new(core: Arc<DecisionCore>, order_rate_reset: ResetPolicy, links: Links) -> Self {
        Self {
            core,
            order_rate_reset,
            links,
        }
    }
}

super::plain_supervisee!(OrderGate, ActorName::OrderGate);

impl Handler<ApplyGateUpdate> for OrderGate {
    type Result = ();

    fn handle(&mut self, msg: ApplyGateUpdate, _: &mut Context<Self>) {
        self.core.apply(msg.0);
    }
}

impl Handler<Tick> for OrderGate {
    type Result = ();

    fn handle(&mut self, msg: Tick, ctx: &mut Context<Self>) {
        let cleared = guard(self, ctx, |act| act.core.order_rate_cleared(msg.now));
        if cleared == Some(true) && self.order_rate_reset == ResetPolicy::Auto {
            self.links.supervisor.do_send(ClearReport {
                breaker: BreakerKind::OrderRate,
                at: msg.now,
            });
        }
    }
}

impl Handler<Rearm> for OrderGate {
    type Result = Option<NumberedTrip>;

    fn handle(&mut self, msg: Rearm, _: &mut Context<Self>) -> Self::Result {
        self.core.rearm_order_rate(msg.now)
    }
}

impl Handler<ReadBreaker> for OrderGate {
    type Result = MessageResult<ReadBreaker>;

    fn handle(&mut self, _: ReadBreaker, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            self.core
                .order_rate_reading()
                .unwrap_or_else(|| BreakerReading::disabled(BreakerKind::OrderRate)),
        )
    }
}
