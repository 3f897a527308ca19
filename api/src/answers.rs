//! Answers: the order gate's, the halt's, `{"status": "accepted"}`, health and the event stream's hello.

use crate::*;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustybt_actors::breaker::BreakerKind;
use rustybt_actors::decision::OrderDecision;
use rustybt_actors::pretrade::PreTradeCheck;
use rustybt_actors::state_machine::{EngineState, StateRecord};
use rustybt_actors::supervision::{ActorHealth, ActorName};
use serde::{Deserialize, Serialize};

/// The body of every 4xx and 5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A machine code: `unknown_strategy`, `reset_already_pending`, `invalid_decimal`...
    pub error: String,
    /// What was wrong, naming the field and the value where there is one.
    pub message: String,
}

/// The answer `202` of the host events that only need to arrive (`/portfolio`, `/fills`,
/// `/errors`): `{"status": "accepted"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// Always [`AcceptedStatus::Accepted`].
    pub status: AcceptedStatus,
}

/// The one value of [`Accepted::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcceptedStatus {
    /// The engine took the event.
    Accepted,
}

impl Accepted {
    /// `{"status": "accepted"}`.
    pub const ANSWER: Accepted = Accepted {
        status: AcceptedStatus::Accepted,
    };
}

/// The order gate's answer to `POST .../orders`. Unlike the engine's [`OrderDecision`], a
/// rejection always carries `breaker` (`null` when a state, not a breaker, refused it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum OrderAnswer {
    /// Send it.
    Accepted,
    /// Do not send it. Not an HTTP error: the call succeeded, the order did not.
    Rejected {
        /// Why, naming the state and the breaker.
        reason: String,
        /// The state the gate judged against.
        state: EngineState,
        /// The breaker that enforced it, if one did.
        breaker: Option<BreakerKind>,
        /// The pre-trade check that denied it (then `breaker` is null).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        check: Option<PreTradeCheck>,
        /// The check's limit (absent for `duplicate_order_id` and a missing reference price).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<Decimal>,
        /// The figure compared with the limit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<Decimal>,
    },
}

impl From<OrderDecision> for OrderAnswer {
    fn from(d: OrderDecision) -> Self {
        match d {
            OrderDecision::Accepted => OrderAnswer::Accepted,
            OrderDecision::Rejected {
                reason,
                state,
                breaker,
                check,
                limit,
                value,
            } => OrderAnswer::Rejected {
                reason,
                state,
                breaker,
                check,
                limit,
                value,
            },
        }
    }
}

/// The answer of `POST .../halt`: the status after the halt, and whether the strategy was
/// halted already (then the state and its first reason stay, and this halt is recorded in the
/// audit trail with its own operator and reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaltAnswer {
    /// The state after the halt.
    #[serde(flatten)]
    pub after: HaltedState,
    /// The strategy was MANUALLY_HALTED when this halt arrived.
    #[serde(default)]
    pub already_halted: bool,
}

/// What a halt answers with: the full status, or, when the status cannot be read (the
/// Supervisor is down and the halt went to the checkpoint directly), the record just written.
/// Either way the halt is durable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HaltedState {
    /// The status after the halt.
    Status(Box<StrategyStatus>),
    /// The checkpointed record.
    Record(Box<StateRecord>),
}

impl HaltedState {
    /// The state after the halt.
    pub fn state(&self) -> EngineState {
        match self {
            HaltedState::Status(s) => s.state,
            HaltedState::Record(r) => r.state,
        }
    }

    /// Since when the strategy is in that state.
    pub fn since(&self) -> DateTime<Utc> {
        match self {
            HaltedState::Status(s) => s.since,
            HaltedState::Record(r) => r.since,
        }
    }

    /// Why it is halted: the first halt's reason when it was halted already.
    pub fn reason(&self) -> Option<&str> {
        match self {
            HaltedState::Status(s) => s.reason.as_deref(),
            HaltedState::Record(r) => r.reason.as_deref(),
        }
    }
}

/// The first frame of `GET .../events` (`event: hello`): the state before any change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsHello {
    /// The strategy's name.
    pub strategy: String,
    /// Its state now.
    pub state: EngineState,
    /// Since when.
    pub since: DateTime<Utc>,
}

/// `GET /healthz` while every strategy's Supervisor answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`, or `degraded` while an actor is not ready (the gate refuses orders meanwhile).
    pub status: HealthStatus,
    /// How many strategies the service runs.
    pub strategies: usize,
    /// The actors not ready, over every strategy.
    pub not_ready: Vec<ActorNotReady>,
}

/// [`Health::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Every actor is up and judging.
    Ok,
    /// Some actor is restarting or waiting for its first input.
    Degraded,
}

/// An actor that is not ready, in [`Health`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorNotReady {
    /// The strategy it belongs to.
    pub strategy: String,
    /// The actor.
    pub actor: ActorName,
    /// Its restarts since start.
    pub restarts: u64,
}

/// `GET /healthz` answering `503`: a Supervisor is gone. The error body with every actor's
/// health of the strategy concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineUnavailable {
    /// `engine_unavailable` and what is down.
    #[serde(flatten)]
    pub error: ErrorBody,
    /// Every actor's health.
    pub actors: Vec<ActorHealth>,
}

/// The part of a server-sent event's data that names it: every event the engine publishes
/// carries its kind in the field `event` (its serde tag), which is also the frame's name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EventTag {
    /// `circuit_breaker_tripped`, `manual_halt`, `snapshot`...
    pub event: String,
}
