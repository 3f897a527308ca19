//! The Supervisor's messages and the parts it is built from.

use crate::actors::alert_dispatcher::AlertDispatcher;
use crate::actors::messages::{CancelSink, ReadBreaker, Rearm, Tick};
use crate::actors::order_gate::OrderGate;
use crate::breaker::BreakerKind;
use crate::checkpoint::StrategyCheckpoint;
use crate::clock::SharedClock;
use crate::decision::DecisionCore;
use crate::error::EngineError;
use crate::events::ControlEvents;
use crate::state_machine::{EngineState, StateMachine, StateRecord, Transition, Trigger};
use crate::supervision::HealthBoard;
use actix::prelude::*;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The token and deadline of a requested reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetTicket {
    /// Always RESETTING.
    pub state: EngineState,
    /// Hand it back to confirm.
    pub confirmation_token: String,
    /// After this the request lapses.
    pub expires_at: DateTime<Utc>,
}

/// Halt. The gate was closed for it already under `seq`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<StateRecord, EngineError>")]
pub struct ApplyHalt {
    /// Who asked for it.
    pub operator: String,
    /// Why, as the operator wrote it.
    pub reason: String,
    /// When the handle took it.
    pub at: DateTime<Utc>,
    /// The number under which the gate closed for it.
    pub seq: u64,
}

/// A firm-level trigger for this strategy: a firm or desk hold, its release, bus loss or its
/// end. Answered once the record is durable (the gate closed before the disk was written).
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<StateRecord, EngineError>")]
pub struct ApplyFirm {
    /// The trigger.
    pub trigger: Trigger,
    /// The number under which the gate closed for a hold already, if it did.
    pub seq: Option<u64>,
}

/// Reset request.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<ResetTicket, EngineError>")]
pub struct ApplyResetRequest {
    /// Who asked for it.
    pub operator: String,
    /// Why, if the operator said.
    pub reason: Option<String>,
}

/// Reset confirmation.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<StateRecord, EngineError>")]
pub struct ApplyResetConfirm {
    /// Who confirmed.
    pub operator: String,
    /// The token from the request.
    pub token: String,
    /// Rebase the drawdown high-water mark.
    pub rebase_high_water_mark: bool,
}

/// Asks for the state record and whether the checkpoint is degraded.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "(StateRecord, Option<String>)")]
pub struct ReadState;

/// Records the `day` orders the gate closed as expired and not yet recorded (sent by the
/// host's handle when its order path closed some).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct RecordExpired;

/// Runs every actor's time-driven checks once, as of the clock's now.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct TickAll;

/// How the Supervisor reaches one breaker, whatever its rule.
#[derive(Clone)]
pub struct BreakerLink {
    /// Which breaker.
    pub kind: BreakerKind,
    /// Its time-driven checks.
    pub tick: Recipient<Tick>,
    /// Its re-arm after a confirmed reset.
    pub rearm: Recipient<Rearm>,
    /// Its reading.
    pub read: Recipient<ReadBreaker>,
    /// Its fault hook.
    #[cfg(feature = "test-util")]
    pub panic: Recipient<crate::actors::messages::InjectPanic>,
}

impl BreakerLink {
    /// The link of any actor that handles the breaker messages.
    pub fn of<A>(kind: BreakerKind, addr: &Addr<A>) -> Self
    where
        A: Actor<Context = Context<A>>
            + Handler<Tick>
            + Handler<Rearm>
            + Handler<ReadBreaker>
            + FaultHook,
    {
        Self {
            kind,
            tick: addr.clone().recipient(),
            rearm: addr.clone().recipient(),
            read: addr.clone().recipient(),
            #[cfg(feature = "test-util")]
            panic: addr.clone().recipient(),
        }
    }
}

/// Handles the fault-injection hook when the feature is on; nothing otherwise.
#[cfg(feature = "test-util")]
pub trait FaultHook: Handler<crate::actors::messages::InjectPanic> {}
#[cfg(feature = "test-util")]
impl<A: Handler<crate::actors::messages::InjectPanic>> FaultHook for A {}
/// Handles the fault-injection hook when the feature is on; nothing otherwise.
#[cfg(not(feature = "test-util"))]
pub trait FaultHook {}
#[cfg(not(feature = "test-util"))]
impl<A> FaultHook for A {}

/// The actors the Supervisor drives, once they exist.
#[derive(Clone, Default)]
pub struct StrategyActors {
    /// The gate (also the order-rate breaker's shell).
    pub gate: Option<Addr<OrderGate>>,
    /// Every breaker that judges input or time, the order-rate one through the gate.
    pub breakers: Vec<BreakerLink>,
    /// The alert dispatcher.
    pub dispatcher: Option<Addr<AlertDispatcher>>,
}

/// What the Supervisor needs.
pub struct SupervisorParts {
    /// The strategy's name.
    pub strategy: String,
    /// The machine resumed from the checkpoint.
    pub machine: StateMachine,
    /// Records to write first thing (resuming from an unusable checkpoint).
    pub startup: Vec<Transition>,
    /// The strategy's checkpoint.
    pub checkpoint: StrategyCheckpoint,
    /// The engine's clock.
    pub clock: SharedClock,
    /// How long a reset request waits for its confirmation.
    pub reset_ttl: Duration,
    /// How often time-driven checks run; `None`: only on request.
    pub tick_interval: Option<std::time::Duration>,
    /// The gate's decision core.
    pub core: Arc<DecisionCore>,
    /// The health board.
    pub health: Arc<HealthBoard>,
    /// Control events.
    pub control: Arc<ControlEvents>,
    /// Where cancel-all orders go.
    pub cancel: CancelSink,
}
