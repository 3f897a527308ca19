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

mod record;
#[cfg(test)]
mod tests;

pub use record::*;

use crate::breaker::{BreakerKind, Trip};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// The operator name the engine records for its own automatic transitions.
pub const ENGINE_OPERATOR: &str = "rustybt";

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
        let held = self.record.firm_hold.is_some();
        match trigger {
            Trigger::Tick => Ok(None),
            Trigger::FirmHold(hold) => Ok(Some(self.hold_for_firm(hold, now))),
            Trigger::FirmRelease { .. } if !held => Ok(None),
            Trigger::FirmRelease { operator } => Ok(Some(self.release_from_firm(operator, now))),
            Trigger::Halt { operator, reason } if held => {
                Ok(Some(self.halt_held(operator, reason, now)))
            }
            Trigger::Clear(kind) if held => Ok(self.clear(kind, now, true)),
            Trigger::RequestReset { .. } if held => Err(TransitionError::HeldByFirm {
                reason: self
                    .record
                    .firm_hold
                    .as_ref()
                    .map(|h| h.hold.reason.clone())
                    .unwrap_or_default(),
            }),
            Trigger::Trip(trip) => Ok(Some(self.trip(trip, now))),
            Trigger::Clear(kind) => Ok(self.clear(kind, now, false)),
            Trigger::Halt { operator, reason } => Ok(Some(self.halt(operator, reason, now))),
            Trigger::RequestReset {
                operator,
                token,
                expires_at,
            } => self.request_reset(operator, token, expires_at, now),
            Trigger::ConfirmReset { operator, token } => self.confirm_reset(operator, token, now),
            // Recorded without a change of state: the gate enforces bus loss itself.
            Trigger::BusLost { policy, since } => Ok(Some(self.note(
                now,
                Cause::BusLost,
                None,
                serde_json::json!({"on_bus_loss": policy, "since": since}),
            ))),
            Trigger::BusRestored => Ok(Some(self.note(
                now,
                Cause::BusRestored,
                None,
                serde_json::json!({}),
            ))),
            Trigger::FirmHostRemoved {
                operator,
                host_id,
                strategies,
                value,
            } => Ok(Some(self.note(
                now,
                Cause::FirmHostRemoved,
                Some(operator),
                serde_json::json!({"host_id": host_id, "strategies": strategies, "value": value}),
            ))),
            Trigger::Reconciled { details } => {
                Ok(Some(self.note(now, Cause::Reconciled, None, details)))
            }
            Trigger::Supervision {
                actor,
                event,
                detail,
            } => Ok(Some(self.note(
                now,
                Cause::Supervision(actor, event),
                None,
                serde_json::json!({"actor": actor, "event": event, "detail": detail}),
            ))),
        }
    }

    fn trip(&mut self, trip: Trip, now: DateTime<Utc>) -> Transition {
        self.note_trip(&trip);
        let cause = Cause::Trip(trip.breaker);
        match self.record.state {
            EngineState::Normal | EngineState::Resetting => {
                self.record.pending_reset = None;
                self.record.reason = Some(trip.summary.clone());
                self.enter(EngineState::Tripped, now, cause, None, trip_details(&trip))
            }
            EngineState::Tripped | EngineState::ManuallyHalted => {
                self.note(now, cause, None, trip_details(&trip))
            }
        }
    }

    /// A breaker's condition passed: TRIPPED returns to NORMAL once none is left, unless the
    /// firm holds the strategy.
    fn clear(&mut self, kind: BreakerKind, now: DateTime<Utc>, held: bool) -> Option<Transition> {
        let before = self.record.tripped.len();
        self.record.tripped.retain(|(k, _)| *k != kind);
        if self.record.tripped.len() == before {
            return None;
        }
        let cause = Cause::Cleared(kind);
        if held {
            let details = serde_json::json!({"breaker": kind, "held_by_firm": true});
            return Some(self.note(now, cause, None, details));
        }
        let details = serde_json::json!({"breaker": kind});
        if self.record.state == EngineState::Tripped && self.record.tripped.is_empty() {
            self.record.reason = None;
            return Some(self.enter(EngineState::Normal, now, cause, None, details));
        }
        Some(self.note(now, cause, None, details))
    }

    /// An operator's halt while the firm holds: remembered for when the firm lets go.
    fn halt_held(&mut self, operator: String, reason: String, now: DateTime<Utc>) -> Transition {
        if let Some(h) = self.record.firm_hold.as_mut() {
            h.resume_to = EngineState::ManuallyHalted;
            h.resume_reason = Some(reason.clone());
        }
        let details = serde_json::json!({"reason": reason, "held_by_firm": true});
        self.note(now, Cause::ManualHalt, Some(operator), details)
    }

    fn halt(&mut self, operator: String, reason: String, now: DateTime<Utc>) -> Transition {
        if self.record.state == EngineState::ManuallyHalted {
            let details = serde_json::json!({"reason": reason, "already_halted": true});
            return self.note(now, Cause::ManualHalt, Some(operator), details);
        }
        self.record.pending_reset = None;
        self.record.reason = Some(reason.clone());
        let details = serde_json::json!({"reason": reason});
        self.enter(
            EngineState::ManuallyHalted,
            now,
            Cause::ManualHalt,
            Some(operator),
            details,
        )
    }

    fn request_reset(
        &mut self,
        operator: String,
        token: String,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Transition>, TransitionError> {
        let from = self.record.state;
        match from {
            EngineState::Normal => Err(TransitionError::NothingToReset),
            EngineState::Resetting => Err(TransitionError::ResetAlreadyPending {
                expires_at: self
                    .record
                    .pending_reset
                    .as_ref()
                    .map_or(now, |p| p.expires_at),
            }),
            EngineState::Tripped | EngineState::ManuallyHalted => {
                self.record.pending_reset = Some(PendingReset {
                    token,
                    expires_at,
                    operator: operator.clone(),
                    from,
                });
                Ok(Some(self.enter(
                    EngineState::Resetting,
                    now,
                    Cause::ResetRequested,
                    Some(operator),
                    serde_json::json!({"expires_at": expires_at, "from": from}),
                )))
            }
        }
    }

    fn confirm_reset(
        &mut self,
        operator: String,
        token: String,
        now: DateTime<Utc>,
    ) -> Result<Option<Transition>, TransitionError> {
        let state = self.record.state;
        // A resumed machine is checked for a missing pending reset; one missing still refuses.
        let pending = match (state, self.record.pending_reset.as_ref()) {
            (EngineState::Resetting, Some(pending)) => pending,
            _ => return Err(TransitionError::NoResetPending { state }),
        };
        if !constant_time_eq(pending.token.as_bytes(), token.as_bytes()) {
            return Err(TransitionError::WrongToken);
        }
        let requested_by = pending.operator.clone();
        self.record.pending_reset = None;
        self.record.tripped.clear();
        self.record.reason = None;
        Ok(Some(self.enter(
            EngineState::Normal,
            now,
            Cause::ResetConfirmed,
            Some(operator),
            serde_json::json!({"requested_by": requested_by}),
        )))
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
