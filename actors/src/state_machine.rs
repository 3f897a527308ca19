//! The global state machine, as one `match (state, trigger)` table.
//!
//! ```text
//! NORMAL ──trip──▶ TRIPPED ──request reset──▶ RESETTING ──confirm──▶ NORMAL
//!    └─────────halt──▶ MANUALLY_HALTED ──request reset──┘
//! RESETTING ──trip──▶ TRIPPED        RESETTING ──confirmation expires──▶ the state it came from
//! any state ──halt──▶ MANUALLY_HALTED
//! ```

use crate::breaker::{BreakerKind, Trip};
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
}

impl std::fmt::Display for EngineState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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

/// What can move the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A breaker reached its limit.
    Trip(Trip),
    /// An auto-reset breaker's condition passed.
    Clear(BreakerKind),
    /// An operator's emergency stop.
    Halt {
        /// Who.
        operator: String,
        /// Why.
        reason: String,
    },
    /// The first step of a reset.
    RequestReset {
        /// Who.
        operator: String,
        /// The token to hand back to the operator.
        token: String,
        /// When the request lapses.
        expires_at: DateTime<Utc>,
    },
    /// The second step of a reset.
    ConfirmReset {
        /// Who.
        operator: String,
        /// The token from the request.
        token: String,
    },
    /// Time passed: a pending reset may lapse.
    Tick,
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
    /// Confirmation after the request lapsed.
    #[error("the reset request expired at {expired_at}; request a new one")]
    ResetExpired {
        /// When it lapsed.
        expired_at: DateTime<Utc>,
    },
}

/// One change of state, for the audit trail and subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// When.
    pub at: DateTime<Utc>,
    /// The state before.
    pub from: EngineState,
    /// The state after.
    pub to: EngineState,
    /// Why, in the API's words: `trip:drawdown`, `manual_halt`, `reset_requested`,
    /// `reset_confirmed`, `reset_expired`, `cleared:order_rate`.
    pub cause: String,
    /// The operator, for operator actions.
    pub operator: Option<String>,
    /// Figures and reasons.
    pub details: serde_json::Value,
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
            },
        }
    }

    /// A machine resumed from a checkpoint.
    pub fn resume(record: StateRecord) -> Self {
        Self { record }
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

    /// Applies a trigger. `Ok(Some(_))` is a change of state, `Ok(None)` a trigger absorbed
    /// without one (a second trip while TRIPPED, a halt while halted); `Err` is refused and
    /// changes nothing.
    pub fn apply(
        &mut self,
        trigger: Trigger,
        now: DateTime<Utc>,
    ) -> Result<Option<Transition>, TransitionError> {
        use EngineState::*;
        let state = self.record.state;
        match (state, trigger) {
            (_, Trigger::Tick) => Ok(self.expire(now)),
            (Normal | Resetting, Trigger::Trip(trip)) => {
                self.note_trip(&trip);
                self.record.pending_reset = None;
                self.record.reason = Some(trip.summary.clone());
                Ok(Some(self.enter(
                    Tripped,
                    now,
                    &format!("trip:{}", trip.breaker),
                    None,
                    trip_details(&trip),
                )))
            }
            (Tripped | ManuallyHalted, Trigger::Trip(trip)) => {
                self.note_trip(&trip);
                Ok(None)
            }
            (_, Trigger::Clear(kind)) => {
                let before = self.record.tripped.len();
                self.record.tripped.retain(|(k, _)| *k != kind);
                if state == Tripped && before > 0 && self.record.tripped.is_empty() {
                    self.record.reason = None;
                    return Ok(Some(self.enter(
                        Normal,
                        now,
                        &format!("cleared:{kind}"),
                        None,
                        serde_json::json!({"breaker": kind}),
                    )));
                }
                Ok(None)
            }
            (ManuallyHalted, Trigger::Halt { .. }) => Ok(None),
            (_, Trigger::Halt { operator, reason }) => {
                self.record.pending_reset = None;
                self.record.reason = Some(reason.clone());
                Ok(Some(self.enter(
                    ManuallyHalted,
                    now,
                    "manual_halt",
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
                    "reset_requested",
                    Some(operator),
                    serde_json::json!({"expires_at": expires_at, "from": state}),
                )))
            }
            (Resetting, Trigger::ConfirmReset { operator, token }) => {
                let pending = self
                    .record
                    .pending_reset
                    .as_ref()
                    .expect("RESETTING has a pending reset");
                if now >= pending.expires_at {
                    return Err(TransitionError::ResetExpired {
                        expired_at: pending.expires_at,
                    });
                }
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
                    "reset_confirmed",
                    Some(operator),
                    serde_json::json!({"requested_by": requested_by}),
                )))
            }
            (state, Trigger::ConfirmReset { .. }) => Err(TransitionError::NoResetPending { state }),
        }
    }

    /// Lets a pending reset lapse at `now` if its time is up: back to the state it came from.
    /// Call before any trigger but a confirmation, and after a confirmation refused as expired.
    pub fn expire(&mut self, now: DateTime<Utc>) -> Option<Transition> {
        let pending = self.record.pending_reset.as_ref()?;
        if self.record.state != EngineState::Resetting || now < pending.expires_at {
            return None;
        }
        let (back, expired_at) = (pending.from, pending.expires_at);
        self.record.pending_reset = None;
        self.record.reason = Some(format!("reset request expired at {expired_at}"));
        Some(self.enter(
            back,
            now,
            "reset_expired",
            None,
            serde_json::json!({"expired_at": expired_at}),
        ))
    }

    fn note_trip(&mut self, trip: &Trip) {
        if !self.record.tripped.iter().any(|(k, _)| *k == trip.breaker) {
            self.record.tripped.push((trip.breaker, trip.at));
        }
    }

    fn enter(
        &mut self,
        to: EngineState,
        now: DateTime<Utc>,
        cause: &str,
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
            cause: cause.to_string(),
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
    use chrono::Duration;
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
            Tripped => {
                m.apply(trip(BreakerKind::Drawdown), t(1)).unwrap();
            }
            ManuallyHalted => {
                m.apply(halt(), t(1)).unwrap();
            }
            Resetting => {
                m.apply(trip(BreakerKind::Drawdown), t(1)).unwrap();
                m.apply(request("tok", 100), t(2)).unwrap();
            }
        }
        assert_eq!(m.state(), state);
        m
    }

    /// Every (state, trigger) pair: the state after, or the refusal.
    #[test]
    fn test_apply_every_state_and_trigger() {
        let cases: Vec<(EngineState, Trigger, Result<EngineState, TransitionError>)> = vec![
            (Normal, trip(BreakerKind::Drawdown), Ok(Tripped)),
            (Normal, halt(), Ok(ManuallyHalted)),
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
            (Normal, Trigger::Clear(BreakerKind::OrderRate), Ok(Normal)),
            (Tripped, trip(BreakerKind::ErrorRate), Ok(Tripped)),
            (Tripped, halt(), Ok(ManuallyHalted)),
            (Tripped, request("x", 100), Ok(Resetting)),
            (
                Tripped,
                confirm("x"),
                Err(TransitionError::NoResetPending { state: Tripped }),
            ),
            (Tripped, Trigger::Clear(BreakerKind::Drawdown), Ok(Normal)),
            (Tripped, Trigger::Clear(BreakerKind::OrderRate), Ok(Tripped)),
            (
                ManuallyHalted,
                trip(BreakerKind::Drawdown),
                Ok(ManuallyHalted),
            ),
            (ManuallyHalted, halt(), Ok(ManuallyHalted)),
            (ManuallyHalted, request("x", 100), Ok(Resetting)),
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
                Ok(ManuallyHalted),
            ),
            (Resetting, trip(BreakerKind::OrderRate), Ok(Tripped)),
            (Resetting, halt(), Ok(ManuallyHalted)),
            (
                Resetting,
                request("y", 100),
                Err(TransitionError::ResetAlreadyPending { expires_at: t(100) }),
            ),
            (Resetting, confirm("tok"), Ok(Normal)),
            (
                Resetting,
                confirm("wrong"),
                Err(TransitionError::WrongToken),
            ),
            (
                Resetting,
                Trigger::Clear(BreakerKind::Drawdown),
                Ok(Resetting),
            ),
            (Resetting, Trigger::Tick, Ok(Resetting)),
        ];
        for (from, trigger, expected) in cases {
            let mut m = machine_in(from);
            let before = m.clone();
            let got = m.apply(trigger.clone(), t(10));
            match expected {
                Ok(to) => {
                    assert!(got.is_ok(), "{from} + {trigger:?}: {got:?}");
                    assert_eq!(m.state(), to, "{from} + {trigger:?}");
                    if let Ok(Some(tr)) = got {
                        assert_eq!((tr.from, tr.to), (from, to));
                    }
                }
                Err(e) => {
                    assert_eq!(got, Err(e), "{from} + {trigger:?}");
                    assert_eq!(m, before, "a refused transition changes nothing");
                }
            }
        }
    }

    #[test]
    fn test_confirm_when_expired_then_refused_and_expire_returns_to_origin() {
        let mut m = machine_in(Resetting);
        let before = m.clone();
        assert_eq!(
            m.apply(confirm("tok"), t(100)),
            Err(TransitionError::ResetExpired { expired_at: t(100) })
        );
        assert_eq!(m, before);
        let lapse = m.expire(t(100)).expect("lapses");
        assert_eq!(
            (lapse.from, lapse.to, lapse.cause.as_str()),
            (Resetting, Tripped, "reset_expired")
        );
        assert_eq!(m.state(), Tripped);
        assert!(m.record().pending_reset.is_none());
    }

    #[test]
    fn test_expire_when_halted_origin_then_back_to_halted() {
        let mut m = machine_in(ManuallyHalted);
        m.apply(request("tok", 50), t(2)).unwrap();
        assert!(m.expire(t(49)).is_none());
        m.expire(t(50)).unwrap();
        assert_eq!(m.state(), ManuallyHalted);
    }

    #[test]
    fn test_confirm_when_wrong_token_then_reset_stays_pending() {
        let mut m = machine_in(Resetting);
        assert_eq!(
            m.apply(confirm("nope"), t(5)),
            Err(TransitionError::WrongToken)
        );
        assert_eq!(m.state(), Resetting);
        assert_eq!(m.apply(confirm("tok"), t(6)).unwrap().unwrap().to, Normal);
        assert!(m.tripped_breakers().is_empty());
    }

    #[test]
    fn test_clear_when_two_breakers_tripped_then_normal_only_after_both() {
        let mut m = machine_in(Normal);
        m.apply(trip(BreakerKind::OrderRate), t(1)).unwrap();
        m.apply(trip(BreakerKind::StaleFeed), t(2)).unwrap();
        assert_eq!(
            m.apply(Trigger::Clear(BreakerKind::OrderRate), t(3))
                .unwrap(),
            None
        );
        assert_eq!(m.state(), Tripped);
        let tr = m
            .apply(Trigger::Clear(BreakerKind::StaleFeed), t(4))
            .unwrap()
            .unwrap();
        assert_eq!((tr.to, tr.cause.as_str()), (Normal, "cleared:stale_feed"));
    }

    #[test]
    fn test_halt_records_operator_and_reason() {
        let mut m = machine_in(Normal);
        let tr = m.apply(halt(), t(1)).unwrap().unwrap();
        assert_eq!(tr.operator.as_deref(), Some("alice"));
        assert_eq!(tr.details["reason"], "fat finger");
        assert_eq!(m.record().reason.as_deref(), Some("fat finger"));
    }

    #[test]
    fn test_record_round_trips_through_json() {
        let m = machine_in(Resetting);
        let json = serde_json::to_string(m.record()).unwrap();
        let back: StateRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(StateMachine::resume(back), m);
        let _ = Duration::seconds(1);
    }
}
