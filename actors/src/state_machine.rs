//! The global state machine, as one `match (state, trigger)` table.
//!
//! ```text
//! NORMAL ──trip──▶ TRIPPED ──request reset──▶ RESETTING ──confirm──▶ NORMAL
//!    └─────────halt──▶ MANUALLY_HALTED ──request reset──┘
//! RESETTING ──trip──▶ TRIPPED        RESETTING ──confirmation expires──▶ the state it came from
//! any state ──halt──▶ MANUALLY_HALTED
//! any state ──firm hold──▶ MANUALLY_HALTED (firm or desk halt) | TRIPPED (firm breaker)
//! held ──firm release──▶ the strategy's own state (its own halt or trips stay)
//! ```
//!
//! A firm hold sits above the strategy's own state: while it holds, the strategy's own halts
//! and trips are remembered, a strategy reset is refused, and when the firm lets go the
//! strategy returns to what its own rules say (a strategy halted or tripped on its own stays
//! so). Bus loss and its end are recorded without a change of state: the gate enforces them.
//!
//! Every control event leaves a record, including those that change no state (a second breaker
//! tripping while TRIPPED, a second halt, an actor restarting): the audit trail is the record
//! of every control event, not only of changes of state.

use crate::breaker::{BreakerKind, Trip};
use crate::supervision::{ActorName, Lifecycle};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
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

/// The state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachine {
    record: StateRecord,
}

impl StateMachine {
    /// A machine in NORMAL since `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            record: StateRecord {
                state: EngineState::Normal,
                since: at,
                reason: None,
                tripped: Vec::new(),
                pending_reset: None,
                firm_hold: None,
            },
        }
    }

    /// The firm's hold, while one is in force.
    pub fn firm_hold(&self) -> Option<&HeldByFirm> {
        self.record.firm_hold.as_ref()
    }

    /// A machine resumed from a checkpoint; refuses a record in an impossible combination.
    pub fn resume(record: StateRecord) -> Result<Self, String> {
        match record.inconsistency() {
            Some(why) => Err(why),
            None => Ok(Self { record }),
        }
    }

    /// The checkpointed part.
    pub fn record(&self) -> &StateRecord {
        &self.record
    }

    /// The current state.
    pub fn state(&self) -> EngineState {
        self.record.state
    }

    /// Breakers tripped and not yet reset or cleared.
    pub fn tripped_breakers(&self) -> BTreeSet<BreakerKind> {
        self.record.tripped.iter().map(|(k, _)| *k).collect()
    }

    /// Applies a trigger at `now`, letting a pending reset lapse first when its time is up.
    pub fn apply(&mut self, trigger: Trigger, now: DateTime<Utc>) -> Step {
        let lapse = self.expire(now);
        let expired_at = lapse.as_ref().map(|(_, at)| *at);
        let mut step = Step {
            records: lapse.map(|(t, _)| t).into_iter().collect(),
            refused: None,
        };
        if let (Trigger::ConfirmReset { .. }, Some(expired_at)) = (&trigger, expired_at) {
            // The confirmation came too late: the lapse is kept, the confirmation refused.
            step.refused = Some(TransitionError::ResetExpired { expired_at });
            return step;
        }
        match self.apply_now(trigger, now) {
            Ok(record) => step.records.extend(record),
            Err(e) => step.refused = Some(e),
        }
        step
    }

    fn apply_now(
        &mut self,
        trigger: Trigger,
        now: DateTime<Utc>,
    ) -> Result<Option<Transition>, TransitionError> {
        use EngineState::*;
        let state = self.record.state;
        let held = self.record.firm_hold.is_some();
        match (state, trigger) {
            (_, Trigger::Tick) => Ok(None),
            (_, Trigger::FirmHold(hold)) => Ok(Some(self.hold_for_firm(hold, now))),
            (_, Trigger::FirmRelease { .. }) if !held => Ok(None),
            (_, Trigger::FirmRelease { operator }) => {
                Ok(Some(self.release_from_firm(operator, now)))
            }
            (_, Trigger::BusLost { policy, since }) => Ok(Some(self.note(
                now,
                Cause::BusLost,
                None,
                serde_json::json!({"on_bus_loss": policy, "since": since}),
            ))),
            (_, Trigger::BusRestored) => Ok(Some(self.note(
                now,
                Cause::BusRestored,
                None,
                serde_json::json!({}),
            ))),
            (
                _,
                Trigger::FirmHostRemoved {
                    operator,
                    host_id,
                    strategies,
                    value,
                },
            ) => Ok(Some(self.note(
                now,
                Cause::FirmHostRemoved,
                Some(operator),
                serde_json::json!({"host_id": host_id, "strategies": strategies, "value": value}),
            ))),
            (_, Trigger::Reconciled { details }) => {
                Ok(Some(self.note(now, Cause::Reconciled, None, details)))
            }
            (_, Trigger::Halt { operator, reason }) if held => {
                // Remembered for when the firm lets go; the firm's hold stays in force.
                if let Some(h) = self.record.firm_hold.as_mut() {
                    h.resume_to = ManuallyHalted;
                    h.resume_reason = Some(reason.clone());
                }
                Ok(Some(self.note(
                    now,
                    Cause::ManualHalt,
                    Some(operator),
                    serde_json::json!({"reason": reason, "held_by_firm": true}),
                )))
            }
            (_, Trigger::Clear(kind)) if held => {
                let before = self.record.tripped.len();
                self.record.tripped.retain(|(k, _)| *k != kind);
                if self.record.tripped.len() == before {
                    return Ok(None);
                }
                Ok(Some(self.note(
                    now,
                    Cause::Cleared(kind),
                    None,
                    serde_json::json!({"breaker": kind, "held_by_firm": true}),
                )))
            }
            (_, Trigger::RequestReset { .. }) if held => Err(TransitionError::HeldByFirm {
                reason: self
                    .record
                    .firm_hold
                    .as_ref()
                    .map(|h| h.hold.reason.clone())
                    .unwrap_or_default(),
            }),
            (
                _,
                Trigger::Supervision {
                    actor,
                    event,
                    detail,
                },
            ) => Ok(Some(self.note(
                now,
                Cause::Supervision(actor, event),
                None,
                serde_json::json!({"actor": actor, "event": event, "detail": detail}),
            ))),
            (Normal | Resetting, Trigger::Trip(trip)) => {
                self.note_trip(&trip);
                self.record.pending_reset = None;
                self.record.reason = Some(trip.summary.clone());
                Ok(Some(self.enter(
                    Tripped,
                    now,
                    Cause::Trip(trip.breaker),
                    None,
                    trip_details(&trip),
                )))
            }
            (Tripped | ManuallyHalted, Trigger::Trip(trip)) => {
                self.note_trip(&trip);
                Ok(Some(self.note(
                    now,
                    Cause::Trip(trip.breaker),
                    None,
                    trip_details(&trip),
                )))
            }
            (_, Trigger::Clear(kind)) => {
                let before = self.record.tripped.len();
                self.record.tripped.retain(|(k, _)| *k != kind);
                if self.record.tripped.len() == before {
                    return Ok(None);
                }
                let details = serde_json::json!({"breaker": kind});
                if state == Tripped && self.record.tripped.is_empty() {
                    self.record.reason = None;
                    return Ok(Some(self.enter(
                        Normal,
                        now,
                        Cause::Cleared(kind),
                        None,
                        details,
                    )));
                }
                Ok(Some(self.note(now, Cause::Cleared(kind), None, details)))
            }
            (ManuallyHalted, Trigger::Halt { operator, reason }) => Ok(Some(self.note(
                now,
                Cause::ManualHalt,
                Some(operator),
                serde_json::json!({"reason": reason, "already_halted": true}),
            ))),
            (_, Trigger::Halt { operator, reason }) => {
                self.record.pending_reset = None;
                self.record.reason = Some(reason.clone());
                Ok(Some(self.enter(
                    ManuallyHalted,
                    now,
                    Cause::ManualHalt,
                    Some(operator),
                    serde_json::json!({"reason": reason}),
                )))
            }
            (Normal, Trigger::RequestReset { .. }) => Err(TransitionError::NothingToReset),
            (Resetting, Trigger::RequestReset { .. }) => {
                Err(TransitionError::ResetAlreadyPending {
                    expires_at: self
                        .record
                        .pending_reset
                        .as_ref()
                        .map_or(now, |p| p.expires_at),
                })
            }
            (
                Tripped | ManuallyHalted,
                Trigger::RequestReset {
                    operator,
                    token,
                    expires_at,
                },
            ) => {
                self.record.pending_reset = Some(PendingReset {
                    token,
                    expires_at,
                    operator: operator.clone(),
                    from: state,
                });
                Ok(Some(self.enter(
                    Resetting,
                    now,
                    Cause::ResetRequested,
                    Some(operator),
                    serde_json::json!({"expires_at": expires_at, "from": state}),
                )))
            }
            (Resetting, Trigger::ConfirmReset { operator, token }) => {
                // A resumed machine is checked for this; a missing one still refuses.
                let Some(pending) = self.record.pending_reset.as_ref() else {
                    return Err(TransitionError::NoResetPending { state });
                };
                if !constant_time_eq(pending.token.as_bytes(), token.as_bytes()) {
                    return Err(TransitionError::WrongToken);
                }
                let requested_by = pending.operator.clone();
                self.record.pending_reset = None;
                self.record.tripped.clear();
                self.record.reason = None;
                Ok(Some(self.enter(
                    Normal,
                    now,
                    Cause::ResetConfirmed,
                    Some(operator),
                    serde_json::json!({"requested_by": requested_by}),
                )))
            }
            (state, Trigger::ConfirmReset { .. }) => Err(TransitionError::NoResetPending { state }),
        }
    }

    /// Holds the strategy for the firm: enters the hold's state, remembering the strategy's
    /// own state the first time; the same hold again leaves a record and changes nothing.
    fn hold_for_firm(&mut self, hold: FirmHold, now: DateTime<Utc>) -> Transition {
        let details = serde_json::json!({
            "reason": hold.reason,
            "host_id": hold.host_id,
            "desk": hold.desk,
            "firm": true,
        });
        let (operator, cause, to) = (hold.operator.clone(), hold.cause(), hold.state());
        match self.record.firm_hold.as_mut() {
            Some(held) if held.hold.kind == hold.kind => {
                let mut details = details;
                details["already_held"] = serde_json::json!(true);
                self.note(now, cause, operator, details)
            }
            Some(held) => {
                held.hold = hold.clone();
                self.record.reason = Some(hold.reason);
                self.enter(to, now, cause, operator, details)
            }
            None => {
                // A pending reset is dropped, as a halt drops it; its origin is what to
                // return to.
                let resume_to = match &self.record.pending_reset {
                    Some(p) => p.from,
                    None => self.record.state,
                };
                self.record.pending_reset = None;
                self.record.firm_hold = Some(HeldByFirm {
                    hold: hold.clone(),
                    resume_to,
                    resume_reason: self.record.reason.clone(),
                });
                self.record.reason = Some(hold.reason);
                self.enter(to, now, cause, operator, details)
            }
        }
    }

    /// Lets go of the firm's hold: the strategy returns to its own state, re-read from its own
    /// halt and its own tripped breakers.
    fn release_from_firm(&mut self, operator: String, now: DateTime<Utc>) -> Transition {
        use EngineState::*;
        let Some(held) = self.record.firm_hold.take() else {
            return self.note(now, Cause::FirmReset, Some(operator), serde_json::json!({}));
        };
        let to = match (held.resume_to, self.record.tripped.is_empty()) {
            (ManuallyHalted, _) => ManuallyHalted,
            (_, false) => Tripped,
            (_, true) => Normal,
        };
        self.record.reason = match to {
            Normal => None,
            ManuallyHalted => held.resume_reason,
            _ => held
                .resume_reason
                .or_else(|| Some("tripped while the firm held the strategy".into())),
        };
        self.enter(
            to,
            now,
            Cause::FirmReset,
            Some(operator),
            serde_json::json!({"released": held.hold}),
        )
    }

    /// Lets a pending reset lapse at `now` if its time is up: back to the state it came from.
    /// Answers the record and when the request lapsed.
    fn expire(&mut self, now: DateTime<Utc>) -> Option<(Transition, DateTime<Utc>)> {
        let pending = self.record.pending_reset.as_ref()?;
        if self.record.state != EngineState::Resetting || now < pending.expires_at {
            return None;
        }
        let (back, expired_at) = (pending.from, pending.expires_at);
        self.record.pending_reset = None;
        self.record.reason = Some(format!("reset request expired at {expired_at}"));
        let record = self.enter(
            back,
            now,
            Cause::ResetExpired,
            None,
            serde_json::json!({"expired_at": expired_at}),
        );
        Some((record, expired_at))
    }

    fn note_trip(&mut self, trip: &Trip) {
        if !self.record.tripped.iter().any(|(k, _)| *k == trip.breaker) {
            self.record.tripped.push((trip.breaker, trip.at));
        }
    }

    /// A record of an event that leaves the state as it is.
    fn note(
        &self,
        now: DateTime<Utc>,
        cause: Cause,
        operator: Option<String>,
        details: serde_json::Value,
    ) -> Transition {
        Transition {
            at: now,
            from: self.record.state,
            to: self.record.state,
            cause,
            operator,
            details,
        }
    }

    fn enter(
        &mut self,
        to: EngineState,
        now: DateTime<Utc>,
        cause: Cause,
        operator: Option<String>,
        details: serde_json::Value,
    ) -> Transition {
        let from = self.record.state;
        self.record.state = to;
        self.record.since = now;
        Transition {
            at: now,
            from,
            to,
            cause,
            operator,
            details,
        }
    }
}

fn trip_details(trip: &Trip) -> serde_json::Value {
    serde_json::json!({
        "breaker": trip.breaker,
        "value": trip.value.to_string(),
        "limit": trip.limit.to_string(),
        "summary": trip.summary,
        "figures": trip.details,
    })
}

/// Compares secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use EngineState::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn trip(kind: BreakerKind) -> Trigger {
        Trigger::Trip(Trip {
            breaker: kind,
            at: t(0),
            value: dec!(-0.11),
            limit: dec!(-0.10),
            details: Default::default(),
            summary: "drawdown -11% <= -10%".into(),
        })
    }

    fn halt() -> Trigger {
        Trigger::Halt {
            operator: "alice".into(),
            reason: "fat finger".into(),
        }
    }

    fn request(token: &str, expires: i64) -> Trigger {
        Trigger::RequestReset {
            operator: "bob".into(),
            token: token.into(),
            expires_at: t(expires),
        }
    }

    fn confirm(token: &str) -> Trigger {
        Trigger::ConfirmReset {
            operator: "carol".into(),
            token: token.into(),
        }
    }

    fn machine_in(state: EngineState) -> StateMachine {
        let mut m = StateMachine::new(t(0));
        match state {
            Normal => {}
            Tripped => m.apply(trip(BreakerKind::Drawdown), t(1)).result().unwrap(),
            ManuallyHalted => m.apply(halt(), t(1)).result().unwrap(),
            Resetting => {
                m.apply(trip(BreakerKind::Drawdown), t(1)).result().unwrap();
                m.apply(request("tok", 100), t(2)).result().unwrap();
            }
        }
        assert_eq!(m.state(), state);
        m
    }

    /// Every (state, trigger) pair: the state after and how many records it leaves, or the
    /// refusal.
    #[test]
    fn test_apply_every_state_and_trigger() {
        let restarted = Trigger::Supervision {
            actor: ActorName::OrderGate,
            event: Lifecycle::Restarted,
            detail: None,
        };
        type Case = (
            EngineState,
            Trigger,
            Result<(EngineState, usize), TransitionError>,
        );
        let cases: Vec<Case> = vec![
            (Normal, trip(BreakerKind::Drawdown), Ok((Tripped, 1))),
            (Normal, halt(), Ok((ManuallyHalted, 1))),
            (
                Normal,
                request("x", 100),
                Err(TransitionError::NothingToReset),
            ),
            (
                Normal,
                confirm("x"),
                Err(TransitionError::NoResetPending { state: Normal }),
            ),
            (
                Normal,
                Trigger::Clear(BreakerKind::OrderRate),
                Ok((Normal, 0)),
            ),
            (Normal, restarted.clone(), Ok((Normal, 1))),
            (Normal, Trigger::Tick, Ok((Normal, 0))),
            // A second breaker while TRIPPED changes no state but is on record.
            (Tripped, trip(BreakerKind::ErrorRate), Ok((Tripped, 1))),
            (Tripped, halt(), Ok((ManuallyHalted, 1))),
            (Tripped, request("x", 100), Ok((Resetting, 1))),
            (
                Tripped,
                confirm("x"),
                Err(TransitionError::NoResetPending { state: Tripped }),
            ),
            (
                Tripped,
                Trigger::Clear(BreakerKind::Drawdown),
                Ok((Normal, 1)),
            ),
            (
                Tripped,
                Trigger::Clear(BreakerKind::OrderRate),
                Ok((Tripped, 0)),
            ),
            (Tripped, restarted.clone(), Ok((Tripped, 1))),
            (
                ManuallyHalted,
                trip(BreakerKind::Drawdown),
                Ok((ManuallyHalted, 1)),
            ),
            // A second stop is recorded with its reason.
            (ManuallyHalted, halt(), Ok((ManuallyHalted, 1))),
            (ManuallyHalted, request("x", 100), Ok((Resetting, 1))),
            (
                ManuallyHalted,
                confirm("x"),
                Err(TransitionError::NoResetPending {
                    state: ManuallyHalted,
                }),
            ),
            (
                ManuallyHalted,
                Trigger::Clear(BreakerKind::OrderRate),
                Ok((ManuallyHalted, 0)),
            ),
            (Resetting, trip(BreakerKind::OrderRate), Ok((Tripped, 1))),
            (Resetting, halt(), Ok((ManuallyHalted, 1))),
            (
                Resetting,
                request("y", 100),
                Err(TransitionError::ResetAlreadyPending { expires_at: t(100) }),
            ),
            (Resetting, confirm("tok"), Ok((Normal, 1))),
            (
                Resetting,
                confirm("wrong"),
                Err(TransitionError::WrongToken),
            ),
            // The drawdown trip stays noted while the reset is pending: clearing it is kept.
            (
                Resetting,
                Trigger::Clear(BreakerKind::Drawdown),
                Ok((Resetting, 1)),
            ),
            (Resetting, Trigger::Tick, Ok((Resetting, 0))),
            (Resetting, restarted, Ok((Resetting, 1))),
        ];
        for (from, trigger, expected) in cases {
            let mut m = machine_in(from);
            let before = m.clone();
            let step = m.apply(trigger.clone(), t(10));
            match expected {
                Ok((to, records)) => {
                    assert_eq!(step.refused, None, "{from} + {trigger:?}");
                    assert_eq!(m.state(), to, "{from} + {trigger:?}");
                    assert_eq!(step.records.len(), records, "{from} + {trigger:?}");
                    if let Some(tr) = step.records.last() {
                        assert_eq!((tr.from, tr.to), (from, to), "{from} + {trigger:?}");
                    }
                }
                Err(e) => {
                    assert_eq!(step.refused, Some(e), "{from} + {trigger:?}");
                    assert!(step.records.is_empty());
                    assert_eq!(m, before, "a refused transition changes nothing");
                }
            }
        }
    }

    #[test]
    fn test_confirm_when_expired_then_refused_and_back_to_origin() {
        let mut m = machine_in(Resetting);
        let step = m.apply(confirm("tok"), t(100));
        assert_eq!(
            step.refused,
            Some(TransitionError::ResetExpired { expired_at: t(100) })
        );
        let [lapse] = step.records.as_slice() else {
            panic!("one lapse: {step:?}");
        };
        assert_eq!(
            (lapse.from, lapse.to, &lapse.cause),
            (Resetting, Tripped, &Cause::ResetExpired)
        );
        assert_eq!(m.state(), Tripped);
        assert!(m.record().pending_reset.is_none());
    }

    #[test]
    fn test_tick_when_halted_origin_expires_then_back_to_halted() {
        let mut m = machine_in(ManuallyHalted);
        m.apply(request("tok", 50), t(2)).result().unwrap();
        assert!(m.apply(Trigger::Tick, t(49)).records.is_empty());
        assert_eq!(m.apply(Trigger::Tick, t(50)).records.len(), 1);
        assert_eq!(m.state(), ManuallyHalted);
    }

    #[test]
    fn test_halt_when_reset_lapsed_on_the_way_then_both_recorded() {
        let mut m = machine_in(Resetting);
        let step = m.apply(halt(), t(200));
        let causes: Vec<_> = step.records.iter().map(|r| r.cause.clone()).collect();
        assert_eq!(causes, vec![Cause::ResetExpired, Cause::ManualHalt]);
    }

    #[test]
    fn test_confirm_when_wrong_token_then_reset_stays_pending() {
        let mut m = machine_in(Resetting);
        assert_eq!(
            m.apply(confirm("nope"), t(5)).refused,
            Some(TransitionError::WrongToken)
        );
        assert_eq!(m.state(), Resetting);
        assert_eq!(m.apply(confirm("tok"), t(6)).records[0].to, Normal);
        assert!(m.tripped_breakers().is_empty());
    }

    #[test]
    fn test_clear_when_two_breakers_tripped_then_normal_only_after_both() {
        let mut m = machine_in(Normal);
        m.apply(trip(BreakerKind::OrderRate), t(1))
            .result()
            .unwrap();
        m.apply(trip(BreakerKind::StaleFeed), t(2))
            .result()
            .unwrap();
        let first = m.apply(Trigger::Clear(BreakerKind::OrderRate), t(3));
        assert_eq!(m.state(), Tripped);
        assert!(!first.changes_state());
        assert_eq!(
            first.records[0].cause,
            Cause::Cleared(BreakerKind::OrderRate)
        );
        let tr = &m
            .apply(Trigger::Clear(BreakerKind::StaleFeed), t(4))
            .records[0];
        assert_eq!(
            (tr.to, tr.cause.to_string().as_str()),
            (Normal, "cleared:stale_feed")
        );
    }

    #[test]
    fn test_halt_records_operator_and_reason() {
        let mut m = machine_in(Normal);
        let tr = m.apply(halt(), t(1)).records.remove(0);
        assert_eq!(tr.operator.as_deref(), Some("alice"));
        assert_eq!(tr.details["reason"], "fat finger");
        assert_eq!(m.record().reason.as_deref(), Some("fat finger"));
    }

    #[test]
    fn test_record_round_trips_through_json() {
        let m = machine_in(Resetting);
        let json = serde_json::to_string(m.record()).unwrap();
        let back: StateRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(StateMachine::resume(back).unwrap(), m);
    }

    #[test]
    fn test_resume_when_impossible_combination_then_refused() {
        let mut resetting_without_pending = machine_in(Resetting).record().clone();
        resetting_without_pending.pending_reset = None;
        let mut tripped_without_breaker = machine_in(Tripped).record().clone();
        tripped_without_breaker.tripped.clear();
        let mut normal_with_pending = machine_in(Resetting).record().clone();
        normal_with_pending.state = Normal;
        let mut back_to_normal = machine_in(Resetting).record().clone();
        if let Some(p) = back_to_normal.pending_reset.as_mut() {
            p.from = Normal;
        }
        for r in [
            resetting_without_pending,
            tripped_without_breaker,
            normal_with_pending,
            back_to_normal,
        ] {
            assert!(StateMachine::resume(r.clone()).is_err(), "{r:?}");
        }
    }

    #[test]
    fn test_cause_round_trips_through_its_name() {
        let causes = [
            Cause::Trip(BreakerKind::DailyLoss),
            Cause::Cleared(BreakerKind::OrderRate),
            Cause::ManualHalt,
            Cause::ResetRequested,
            Cause::ResetConfirmed,
            Cause::ResetExpired,
            Cause::Supervision(ActorName::Supervisor, Lifecycle::Panicked),
            Cause::Supervision(ActorName::Breaker(BreakerKind::Drawdown), Lifecycle::Ready),
            Cause::Other("a_cause_of_a_newer_version".into()),
            Cause::FirmHalt,
            Cause::FirmTrip(BreakerKind::OrderRate),
        ];
        for c in causes {
            assert_eq!(Cause::from(c.to_string()), c);
        }
        assert_eq!(
            Cause::Trip(BreakerKind::Drawdown).to_string(),
            "trip:drawdown"
        );
    }

    fn firm_halt() -> Trigger {
        Trigger::FirmHold(FirmHold {
            kind: FirmHoldKind::Halt,
            operator: Some("dana".into()),
            host_id: "host-a".into(),
            desk: Some("equities".into()),
            reason: "desk drill".into(),
        })
    }

    fn firm_trip() -> Trigger {
        Trigger::FirmHold(FirmHold {
            kind: FirmHoldKind::Trip(BreakerKind::Drawdown),
            operator: None,
            host_id: "host-b".into(),
            desk: None,
            reason: "firm drawdown -9% <= -8%".into(),
        })
    }

    fn release() -> Trigger {
        Trigger::FirmRelease {
            operator: "erin".into(),
        }
    }

    #[test]
    fn test_firm_halt_when_normal_then_halted_with_cause_firm_halt_and_back_on_release() {
        let mut m = StateMachine::new(t(0));
        let step = m.apply(firm_halt(), t(1));
        assert_eq!(m.state(), ManuallyHalted);
        let r = &step.records[0];
        assert_eq!(r.cause, "firm_halt");
        assert_eq!(r.operator.as_deref(), Some("dana"));
        assert_eq!(r.details["host_id"], "host-a");
        assert_eq!(r.details["desk"], "equities");
        let step = m.apply(release(), t(2));
        assert_eq!(m.state(), Normal);
        assert_eq!(step.records[0].cause, "firm_reset");
        assert!(m.record().inconsistency().is_none());
    }

    #[test]
    fn test_firm_release_when_strategy_halted_or_tripped_on_its_own_then_stays_so() {
        let mut m = StateMachine::new(t(0));
        let _ = m.apply(firm_halt(), t(1));
        let _ = m.apply(trip(BreakerKind::Drawdown), t(2));
        let _ = m.apply(release(), t(3));
        assert_eq!(m.state(), Tripped);

        let mut m = StateMachine::new(t(0));
        let _ = m.apply(halt(), t(1));
        let _ = m.apply(firm_trip(), t(2));
        assert_eq!(m.state(), Tripped);
        let _ = m.apply(release(), t(3));
        assert_eq!(m.state(), ManuallyHalted);
        assert_eq!(m.record().reason.as_deref(), Some("fat finger"));

        let mut m = StateMachine::new(t(0));
        let _ = m.apply(firm_trip(), t(1));
        let _ = m.apply(halt(), t(2));
        assert_eq!(m.state(), Tripped, "the firm's hold stays in force");
        let _ = m.apply(release(), t(3));
        assert_eq!(m.state(), ManuallyHalted);
    }

    #[test]
    fn test_firm_trip_when_normal_then_tripped_with_cause_firm_breaker() {
        let mut m = StateMachine::new(t(0));
        let step = m.apply(firm_trip(), t(1));
        assert_eq!(m.state(), Tripped);
        assert_eq!(step.records[0].cause, "firm:drawdown");
        assert!(m.record().inconsistency().is_none());
        let again = m.apply(firm_trip(), t(2));
        assert!(!again.changes_state());
        let halted = m.apply(firm_halt(), t(3));
        assert_eq!(m.state(), ManuallyHalted);
        assert!(halted.changes_state());
    }

    #[test]
    fn test_reset_when_held_by_firm_then_refused_and_nothing_changes() {
        let mut m = StateMachine::new(t(0));
        let _ = m.apply(firm_halt(), t(1));
        let before = m.clone();
        let step = m.apply(request("tok", 100), t(2));
        assert!(matches!(
            step.refused,
            Some(TransitionError::HeldByFirm { .. })
        ));
        assert_eq!(m, before);
    }

    #[test]
    fn test_firm_halt_when_resetting_then_pending_reset_dropped_and_origin_kept() {
        let mut m = StateMachine::new(t(0));
        let _ = m.apply(trip(BreakerKind::DailyLoss), t(1));
        let _ = m.apply(request("tok", 100), t(2));
        let _ = m.apply(firm_halt(), t(3));
        assert!(m.record().pending_reset.is_none());
        let _ = m.apply(release(), t(4));
        assert_eq!(m.state(), Tripped);
    }

    #[test]
    fn test_clear_when_held_by_firm_trip_then_stays_tripped() {
        let mut m = StateMachine::new(t(0));
        let _ = m.apply(trip(BreakerKind::OrderRate), t(1));
        let _ = m.apply(firm_trip(), t(2));
        let _ = m.apply(Trigger::Clear(BreakerKind::OrderRate), t(3));
        assert_eq!(m.state(), Tripped);
        let _ = m.apply(release(), t(4));
        assert_eq!(m.state(), Normal);
    }

    #[test]
    fn test_bus_lost_when_any_state_then_recorded_without_change() {
        for start in [Normal, Tripped, ManuallyHalted] {
            let mut m = StateMachine::new(t(0));
            match start {
                Tripped => drop(m.apply(trip(BreakerKind::Drawdown), t(0))),
                ManuallyHalted => drop(m.apply(halt(), t(0))),
                _ => {}
            }
            let lost = m.apply(
                Trigger::BusLost {
                    policy: "halt".into(),
                    since: t(1),
                },
                t(6),
            );
            assert_eq!(lost.records[0].cause, "bus_lost");
            assert!(!lost.changes_state());
            let back = m.apply(Trigger::BusRestored, t(9));
            assert_eq!(back.records[0].cause, "bus_restored");
            assert_eq!(m.state(), start);
        }
    }

    #[test]
    fn test_firm_causes_round_trip_through_their_names() {
        for name in [
            "firm_halt",
            "firm:drawdown",
            "firm_reset",
            "bus_lost",
            "bus_restored",
        ] {
            let cause = Cause::from(name.to_string());
            assert!(!matches!(cause, Cause::Other(_)), "{name}");
            assert_eq!(cause.to_string(), name);
        }
    }
}
