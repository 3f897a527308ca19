//! OrderGate: owns the order decision core ([`crate::decision`]) and keeps it current. The
//! host's thread judges each order in the core itself; this actor takes the Supervisor's
//! state and runs the time-driven side (auto clear, re-arm after a reset, reading) of a
//! window the core counts: the order-rate breaker, and in a second instance the pre-trade
//! breaker (denials), so both windows stay on the order path with no extra hop.

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

/// The order gate actor, or the shell of one more window the core counts.
pub struct OrderGate {
    core: Arc<DecisionCore>,
    window: BreakerKind,
    reset: ResetPolicy,
    links: Links,
}

impl OrderGate {
    /// The gate owning `core`, shell of the order-rate breaker.
    pub fn new(core: Arc<DecisionCore>, order_rate_reset: ResetPolicy, links: Links) -> Self {
        Self::window(core, BreakerKind::OrderRate, order_rate_reset, links)
    }

    /// The shell of another window the core counts (the pre-trade breaker): ticks, re-arm
    /// and reading only; the Supervisor's word goes to the gate.
    pub fn window(
        core: Arc<DecisionCore>,
        window: BreakerKind,
        reset: ResetPolicy,
        links: Links,
    ) -> Self {
        Self {
            core,
            window,
            reset,
            links,
        }
    }
}

impl super::Supervisee for OrderGate {
    fn name(&self) -> ActorName {
        match self.window {
            BreakerKind::OrderRate => ActorName::OrderGate,
            other => ActorName::Breaker(other),
        }
    }

    fn links(&self) -> &Links {
        &self.links
    }
}

impl Actor for OrderGate {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        super::mark_ready(self);
    }
}

super::supervisee!(OrderGate);

impl Handler<ApplyGateUpdate> for OrderGate {
    type Result = ();

    fn handle(&mut self, msg: ApplyGateUpdate, _: &mut Context<Self>) {
        self.core.apply(msg.0);
    }
}

impl Handler<Tick> for OrderGate {
    type Result = ();

    fn handle(&mut self, msg: Tick, ctx: &mut Context<Self>) {
        let kind = self.window;
        let cleared = guard(self, ctx, |act| act.core.window_cleared(kind, msg.now));
        if cleared == Some(true) && self.reset == ResetPolicy::Auto {
            self.links.supervisor.do_send(ClearReport {
                breaker: kind,
                at: msg.now,
            });
        }
    }
}

impl Handler<Rearm> for OrderGate {
    type Result = Option<NumberedTrip>;

    fn handle(&mut self, msg: Rearm, _: &mut Context<Self>) -> Self::Result {
        self.core.rearm_window(self.window, msg.now)
    }
}

impl Handler<ReadBreaker> for OrderGate {
    type Result = MessageResult<ReadBreaker>;

    fn handle(&mut self, _: ReadBreaker, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            self.core
                .window_reading(self.window)
                .unwrap_or_else(|| BreakerReading::disabled(self.window)),
        )
    }
}
