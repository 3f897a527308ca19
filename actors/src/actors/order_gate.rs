//! OrderGate: owns the order decision core ([`crate::decision`]) and keeps it current. The
//! host's thread judges each order in the core itself; this actor takes the Supervisor's
//! state. In other instances it is the shell of a window breaker the core counts (order
//! rate, pre-trade denials): the time-driven side (auto clear, re-arm after a reset, reading),
//! so the windows themselves stay on the order path with no extra hop. The gate also
//! saves the open orders that changed to the checkpoint, every [`SAVE_OPEN_ORDERS_EVERY`]:
//! off the order path, which only notes the change under the lock it already holds.

use super::messages::{ClearReport, ReadBreaker, Rearm, Tick};
use super::{guard, Links};
use crate::breaker::{BreakerKind, BreakerReading, ResetPolicy};
use crate::checkpoint::StrategyCheckpoint;
use crate::decision::{DecisionCore, NumberedTrip};
use crate::supervision::ActorName;
use actix::prelude::*;
use std::sync::Arc;

/// How often the open orders that changed are saved: what a crash of the process may lose.
pub const SAVE_OPEN_ORDERS_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

/// The order gate actor, or the shell of a window breaker the core counts.
pub struct OrderGate {
    core: Arc<DecisionCore>,
    /// `None`: the gate itself; otherwise the window breaker this shell runs.
    window: Option<BreakerKind>,
    reset: ResetPolicy,
    links: Links,
    open_orders_to: Option<StrategyCheckpoint>,
}

impl OrderGate {
    /// The gate owning `core`.
    pub fn new(core: Arc<DecisionCore>, links: Links) -> Self {
        Self {
            core,
            window: None,
            reset: ResetPolicy::Manual,
            links,
            open_orders_to: None,
        }
    }

    /// The shell of a window breaker the core counts (order rate, pre-trade denials): ticks,
    /// re-arm and reading only; the Supervisor's word goes to the gate.
    pub fn window(
        core: Arc<DecisionCore>,
        window: BreakerKind,
        reset: ResetPolicy,
        links: Links,
    ) -> Self {
        Self {
            core,
            window: Some(window),
            reset,
            links,
            open_orders_to: None,
        }
    }

    /// The same gate, saving the open orders to `checkpoint`.
    pub fn saving_open_orders_to(mut self, checkpoint: StrategyCheckpoint) -> Self {
        self.open_orders_to = Some(checkpoint);
        self
    }

    fn save_open_orders(&self) {
        if let Some(checkpoint) = &self.open_orders_to {
            self.core.save_open_orders(checkpoint);
        }
    }
}

impl super::Supervisee for OrderGate {
    fn name(&self) -> ActorName {
        match self.window {
            None => ActorName::OrderGate,
            Some(kind) => ActorName::Breaker(kind),
        }
    }

    fn links(&self) -> &Links {
        &self.links
    }
}

impl Actor for OrderGate {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if self.open_orders_to.is_some() {
            ctx.run_interval(SAVE_OPEN_ORDERS_EVERY, |act, _| act.save_open_orders());
        }
        super::mark_ready(self);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.save_open_orders();
    }
}

super::supervisee!(OrderGate);

impl Handler<Tick> for OrderGate {
    type Result = ();

    fn handle(&mut self, msg: Tick, ctx: &mut Context<Self>) {
        let Some(kind) = self.window else {
            return;
        };
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
        self.core.rearm_window(self.window?, msg.now)
    }
}

impl Handler<ReadBreaker> for OrderGate {
    type Result = MessageResult<ReadBreaker>;

    fn handle(&mut self, _: ReadBreaker, _: &mut Context<Self>) -> Self::Result {
        let kind = self.window.unwrap_or(BreakerKind::OrderRate);
        MessageResult(
            self.core
                .window_reading(kind)
                .unwrap_or_else(|| BreakerReading::disabled(kind)),
        )
    }
}
