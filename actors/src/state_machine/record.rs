//! The checkpointed record of the state machine: states, causes, triggers and transitions.

use crate::breaker::{BreakerKind, Trip};
use crate::supervision::{ActorName, Lifecycle};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The engine's global trading state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EngineState {
    /// Orders pass.
    Normal,
    /// A breaker tripped: orders are refused (reduce-only ones may pass, where configured).
    Tripped,
    /// An operator stopped trading: every order is refused.
    ManuallyHalted,
    /// A reset was requested and awaits its confirmation: orders are refused.
    Resetting,
}

impl EngineState {
    /// Every state, in gauge order.
    pub const ALL: [EngineState; 4] = [
        EngineState::Normal,
        EngineState::Tripped,
        EngineState::ManuallyHalted,
        EngineState::Resetting,
    ];

    /// The name used by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineState::Normal => "NORMAL",
            EngineState::Tripped => "TRIPPED",
            EngineState::ManuallyHalted => "MANUALLY_HALTED",
            EngineState::Resetting => "RESETTING",
        }
    }

    /// A small number for gauges: 0 normal, 1 tripped, 2 halted, 3 resetting.
    pub fn code(self) -> u8 {
        match self {
            EngineState::Normal => 0,
            EngineState::Tripped => 1,
            EngineState::ManuallyHalted => 2,
            EngineState::Resetting => 3,
        }
    }

    /// The state of a gauge code; unknown codes read as MANUALLY_HALTED (fail closed).
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => EngineState::Normal,
            1 => EngineState::Tripped,
            3 => EngineState::Resetting,
            _ => EngineState::ManuallyHalted,
        }
    }
}

impl std::fmt::Display for EngineState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a record was written, in the API's words (`trip:drawdown`, `manual_halt`,
/// `cleared:order_rate`, `actor_restarted:order_gate`...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Cause {
    /// A breaker reached its limit.
    Trip(BreakerKind),
    /// An auto-reset breaker's condition passed.
    Cleared(BreakerKind),
    /// An operator's emergency stop (also: the engine halting itself on an unusable checkpoint).
    ManualHalt,
    /// The first step of a reset.
    ResetRequested,
    /// The second step of a reset.
    ResetConfirmed,
    /// A reset request that was never confirmed lapsed.
    ResetExpired,
    /// An actor of the strategy stopped, panicked, restarted or became ready again.
    Supervision(ActorName, Lifecycle),
    /// A firm-wide or desk-wide halt entered by an operator (desk in the details).
    FirmHalt,
    /// A firm breaker (over the sum of every strategy of the firm) reached its limit.
    FirmTrip(BreakerKind),
    /// The firm's hold on the strategy was lifted by a confirmed firm reset.
    FirmReset,
    /// The host lost the bus for longer than its lease: `on_bus_loss` applies.
    BusLost,
    /// The host caught up with the bus again: `on_bus_loss` no longer applies.
    BusRestored,
    /// An operator removed a decommissioned host's strategies from the firm's figures.
    FirmHostRemoved,
    /// After an unclean stop, the first venue report re-based the book (its positions and
    /// open orders became the engine's); the state does not change.
    Reconciled,
    /// `day` orders still open at their session's close were closed as expired (their ids in
    /// the details' `order_ids`); the state does not change.
    OrderExpired,
    /// A cause this build does not know (a record written by a newer version).
    Other(String),
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Trip(k) => write!(f, "trip:{k}"),
            Cause::Cleared(k) => write!(f, "cleared:{k}"),
            Cause::ManualHalt => f.write_str("manual_halt"),
            Cause::ResetRequested => f.write_str("reset_requested"),
            Cause::ResetConfirmed => f.write_str("reset_confirmed"),
            Cause::ResetExpired => f.write_str("reset_expired"),
            Cause::Supervision(actor, event) => write!(f, "actor_{event}:{actor}"),
            Cause::FirmHalt => f.write_str("firm_halt"),
            Cause::FirmTrip(k) => write!(f, "firm:{k}"),
            Cause::FirmReset => f.write_str("firm_reset"),
            Cause::BusLost => f.write_str("bus_lost"),
            Cause::BusRestored => f.write_str("bus_restored"),
            Cause::FirmHostRemoved => f.write_str("firm_host_removed"),
            Cause::Reconciled => f.write_str("reconciled"),
            Cause::OrderExpired => f.write_str("order_expired"),
            Cause::Other(s) => f.write_str(s),
        }
    }
}

impl PartialEq<&str> for Cause {
    fn eq(&self, other: &&str) -> bool {
        *other == self.to_string().as_str()
    }
}

impl From<Cause> for String {
    fn from(c: Cause) -> String {
        c.to_string()
    }
}

impl From<String> for Cause {
    fn from(s: String) -> Cause {
        let breaker = |name: &str| BreakerKind::ALL.into_iter().find(|k| k.as_str() == name);
        let parsed = match s.split_once(':') {
            Some(("trip", k)) => breaker(k).map(Cause::Trip),
            Some(("cleared", k)) => breaker(k).map(Cause::Cleared),
            Some(("firm", k)) => breaker(k).map(Cause::FirmTrip),
            Some((event, actor)) => event
                .strip_prefix("actor_")
                .and_then(Lifecycle::parse)
                .zip(ActorName::parse(actor))
                .map(|(e, a)| Cause::Supervision(a, e)),
            None => match s.as_str() {
                "manual_halt" => Some(Cause::ManualHalt),
                "reset_requested" => Some(Cause::ResetRequested),
                "reset_confirmed" => Some(Cause::ResetConfirmed),
                "reset_expired" => Some(Cause::ResetExpired),
                "firm_halt" => Some(Cause::FirmHalt),
                "firm_reset" => Some(Cause::FirmReset),
                "bus_lost" => Some(Cause::BusLost),
                "bus_restored" => Some(Cause::BusRestored),
                "firm_host_removed" => Some(Cause::FirmHostRemoved),
                "reconciled" => Some(Cause::Reconciled),
                "order_expired" => Some(Cause::OrderExpired),
                _ => None,
            },
        };
        parsed.unwrap_or(Cause::Other(s))
    }
}

/// A reset waiting for its confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReset {
    /// The token the confirmation must carry.
    pub token: String,
    /// When the request lapses.
    pub expires_at: DateTime<Utc>,
    /// Who asked.
    pub operator: String,
    /// The state to return to if the confirmation never comes.
    pub from: EngineState,
}

/// What the firm holds a strategy in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirmHoldKind {
    /// A firm-wide or desk-wide halt: the strategy reads MANUALLY_HALTED.
    Halt,
    /// A firm breaker tripped: the strategy reads TRIPPED.
    Trip(BreakerKind),
}

/// The firm's hold on one strategy: why, and who asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmHold {
    /// Halt or firm breaker trip.
    pub kind: FirmHoldKind,
    /// The operator of a halt; `None` for a firm breaker's trip.
    pub operator: Option<String>,
    /// The host the halt was entered on, or whose figures tripped the firm breaker.
    pub host_id: String,
    /// The desk of a desk halt; `None` for a firm-wide halt or trip.
    pub desk: Option<String>,
    /// Why, as the operator wrote it or as the firm breaker summarised it.
    pub reason: String,
}

impl FirmHold {
    /// The state a strategy reads while held.
    pub fn state(&self) -> EngineState {
        match self.kind {
            FirmHoldKind::Halt => EngineState::ManuallyHalted,
            FirmHoldKind::Trip(_) => EngineState::Tripped,
        }
    }

    /// The cause its record carries: `firm_halt` or `firm:<breaker>`.
    pub fn cause(&self) -> Cause {
        match self.kind {
            FirmHoldKind::Halt => Cause::FirmHalt,
            FirmHoldKind::Trip(k) => Cause::FirmTrip(k),
        }
    }
}

/// A strategy held by the firm, with what its own rules would have it be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldByFirm {
    /// The hold in force.
    pub hold: FirmHold,
    /// The strategy's own state to return to when the firm lets go (TRIPPED is re-read from
    /// its own tripped breakers then).
    pub resume_to: EngineState,
    /// The strategy's own reason to return with.
    pub resume_reason: Option<String>,
}

/// What can move the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A breaker reached its limit.
    Trip(Trip),
    /// An auto-reset breaker's condition passed.
    Clear(BreakerKind),
    /// An operator's emergency stop.
    Halt {
        /// Who asked for it.
        operator: String,
        /// Why, as the operator wrote it.
        reason: String,
    },
    /// The first step of a reset.
    RequestReset {
        /// Who asked for it.
        operator: String,
        /// The token to hand back to the operator.
        token: String,
        /// When the request lapses.
        expires_at: DateTime<Utc>,
    },
    /// The second step of a reset.
    ConfirmReset {
        /// Who confirmed.
        operator: String,
        /// The token from the request.
        token: String,
    },
    /// An actor's lifecycle event, recorded without a change of state.
    Supervision {
        /// Which actor.
        actor: ActorName,
        /// What happened to it.
        event: Lifecycle,
        /// The panic message or other detail.
        detail: Option<String>,
    },
    /// Time passed: a pending reset may lapse.
    Tick,
    /// The firm holds the strategy (a firm or desk halt, or a firm breaker's trip).
    FirmHold(FirmHold),
    /// The firm lets go of the strategy (a confirmed firm or desk reset).
    FirmRelease {
        /// Who confirmed the firm reset.
        operator: String,
    },
    /// The bus was out of reach for longer than the lease: recorded, the gate enforces it.
    BusLost {
        /// What `on_bus_loss` does meanwhile (`halt`, `reduce_only`, `continue`).
        policy: String,
        /// Since when the bus was out of reach.
        since: DateTime<Utc>,
    },
    /// The host caught up with the bus again.
    BusRestored,
    /// An operator removed a decommissioned host's strategies from the firm's figures:
    /// recorded without a change of state.
    FirmHostRemoved {
        /// Who removed it.
        operator: String,
        /// The host removed.
        host_id: String,
        /// Its strategies that left the figures.
        strategies: Vec<String>,
        /// The sum of their last known values, taken off the firm's value and baselines.
        value: rust_decimal::Decimal,
    },
    /// The first venue report after an unclean stop re-based the book: recorded without a
    /// change of state.
    Reconciled {
        /// What changed (counts, the report's time).
        details: serde_json::Value,
    },
}

/// A transition the machine refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransitionError {
    /// Reset requested while trading normally.
    #[error("nothing to reset: the state is NORMAL")]
    NothingToReset,
    /// A second reset request while one is pending.
    #[error("a reset is already pending until {expires_at}; confirm it or let it expire")]
    ResetAlreadyPending {
        /// When the pending one lapses.
        expires_at: DateTime<Utc>,
    },
    /// Confirmation with no reset pending.
    #[error("no reset is pending (state {state})")]
    NoResetPending {
        /// The current state.
        state: EngineState,
    },
    /// Confirmation with the wrong token.
    #[error("the confirmation token does not match the pending reset")]
    WrongToken,
    /// A strategy reset while the firm holds the strategy: only a firm reset lifts it.
    #[error("the firm holds this strategy ({reason}); only a firm reset lifts it")]
    HeldByFirm {
        /// The firm's reason.
        reason: String,
    },
    /// Confirmation after the request lapsed.
    #[error("the reset request expired at {expired_at}; request a new one")]
    ResetExpired {
        /// When it lapsed.
        expired_at: DateTime<Utc>,
    },
}

/// One control event for the audit trail and subscribers: a change of state, or, with
/// `from == to`, an event that changed none (a trip absorbed while TRIPPED, a second halt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// When, by the engine's clock.
    pub at: DateTime<Utc>,
    /// The state before.
    pub from: EngineState,
    /// The state after.
    pub to: EngineState,
    /// Why.
    pub cause: Cause,
    /// The operator, for operator actions.
    pub operator: Option<String>,
    /// Figures and reasons.
    pub details: serde_json::Value,
}

impl Transition {
    /// Whether the state changed.
    pub fn changes_state(&self) -> bool {
        self.from != self.to
    }
}

/// The checkpointed part of the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateRecord {
    /// The state.
    pub state: EngineState,
    /// Since when.
    pub since: DateTime<Utc>,
    /// Why it is in this state, for anything but NORMAL.
    pub reason: Option<String>,
    /// Breakers tripped and not yet reset or cleared, with when they tripped.
    pub tripped: Vec<(BreakerKind, DateTime<Utc>)>,
    /// A reset awaiting confirmation.
    pub pending_reset: Option<PendingReset>,
    /// The firm's hold, while one is in force (absent in checkpoints written before firms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firm_hold: Option<HeldByFirm>,
}

impl StateRecord {
    /// Why this record cannot be true, if it cannot: a decodable checkpoint in an impossible
    /// combination is treated like an unreadable one.
    pub fn inconsistency(&self) -> Option<String> {
        use EngineState::*;
        if let Some(held) = &self.firm_hold {
            return match (self.state == held.hold.state(), &self.pending_reset) {
                (false, _) => Some(format!(
                    "state {} while the firm holds it {}",
                    self.state,
                    held.hold.state()
                )),
                (true, Some(_)) => Some("a pending reset while the firm holds it".into()),
                (true, None) => None,
            };
        }
        match (self.state, &self.pending_reset) {
            (Resetting, None) => Some("state RESETTING with no pending reset".into()),
            (Resetting, Some(p)) if !matches!(p.from, Tripped | ManuallyHalted) => {
                Some(format!("a pending reset that would return to {}", p.from))
            }
            (Normal | Tripped | ManuallyHalted, Some(_)) => {
                Some(format!("state {} with a pending reset", self.state))
            }
            (Normal, None) if !self.tripped.is_empty() => {
                Some("state NORMAL with tripped breakers".into())
            }
            (Tripped, None) if self.tripped.is_empty() => {
                Some("state TRIPPED with no tripped breaker".into())
            }
            _ => None,
        }
    }
}

/// What one trigger did: the records to audit (possibly several: a lapsed reset found on the
/// way, then the trigger's own), and the refusal, if it was refused. A refusal changes nothing
/// but the lapse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Step {
    /// Records to write, oldest first.
    pub records: Vec<Transition>,
    /// Why the trigger itself was refused.
    pub refused: Option<TransitionError>,
}

impl Step {
    /// Whether any record changes the state.
    pub fn changes_state(&self) -> bool {
        self.records.iter().any(Transition::changes_state)
    }

    /// The refusal as an error, after the records are kept.
    pub fn result(&self) -> Result<(), TransitionError> {
        self.refused.clone().map_or(Ok(()), Err)
    }
}
