//! The firm's control record and its transitions.
//!
//! - [`FirmControl`]: the firm's control record (firm halt, desk halts, firm breaker trips, a
//!   pending firm reset, the firm breakers' durable state). One process keeps it in its sled
//!   checkpoint; hosts joined through NATS keep it in the firm's key-value bucket and change it
//!   only by compare-and-set. Its transitions are one `match (state, trigger)` table,
//!   [`FirmControl::apply`].
//! - [`FirmControl::hold_for`]: what the record means for one strategy (the
//!   [`FirmHold`] its own state machine applies, or none).

use crate::breaker::{BreakerKind, Trip};
use crate::breakers::{DailyLossState, DrawdownState};
use crate::state_machine::{constant_time_eq, EngineState, FirmHold, FirmHoldKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use thiserror::Error;

/// A firm-wide or desk-wide halt as the control record keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaltOrder {
    /// Who asked for it.
    pub operator: String,
    /// Why, as the operator wrote it.
    pub reason: String,
    /// The host whose API took the request.
    pub host_id: String,
    /// When, by the answering host's clock.
    pub at: DateTime<Utc>,
}

/// A firm breaker's trip as the control record keeps it: written once, by compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmTrip {
    /// The trip as the rule reported it (over the firm's aggregate).
    pub trip: Trip,
    /// The host that evaluated the aggregate and wrote the trip.
    pub host_id: String,
}

/// A firm reset waiting for its confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmPendingReset {
    /// The token the confirmation must carry.
    pub token: String,
    /// When the request lapses.
    pub expires_at: DateTime<Utc>,
    /// Who asked.
    pub operator: String,
    /// `None`: the firm halt, the firm trips and every desk halt; `Some`: that desk's halt only.
    pub desk: Option<String>,
}

/// The firm breakers' durable state: what survives a restart of every host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmBreakerState {
    /// The firm's high-water mark.
    pub drawdown: Option<DrawdownState>,
    /// The firm's session and its value at the open.
    pub daily_loss: Option<DailyLossState>,
    /// Counts the changes of the firm's membership (each moves the baselines): a host whose
    /// breakers hold an older basis takes these baselines as they are
    /// (see [`crate::firm::figures`]).
    #[serde(default)]
    pub basis: u64,
}

/// The firm's control record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmControl {
    /// Counts every change; hosts acknowledge the generation they applied.
    pub generation: u64,
    /// The firm-wide halt, while in force.
    pub halt: Option<HaltOrder>,
    /// Desk halts in force, by desk.
    pub desk_halts: BTreeMap<String, HaltOrder>,
    /// Firm breakers tripped and not yet reset, first tripped first.
    pub trips: Vec<FirmTrip>,
    /// A firm reset awaiting its confirmation.
    pub pending_reset: Option<FirmPendingReset>,
    /// The firm breakers' durable state.
    pub breakers: FirmBreakerState,
    /// Who confirmed the last firm reset (each released strategy's record names them).
    #[serde(default)]
    pub released_by: Option<String>,
    /// The strategies counted in the firm's figures, by host: each joined with its first value
    /// and leaves only by the operator's call ([`crate::firm::figures`]).
    #[serde(default)]
    pub members: BTreeMap<String, BTreeSet<String>>,
}

/// What can change the firm's control record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirmTrigger {
    /// A firm-wide halt (`desk: None`) or a desk halt.
    Halt {
        /// Who asked for it.
        operator: String,
        /// Why.
        reason: String,
        /// The host that took the request.
        host_id: String,
        /// The desk, for a desk halt.
        desk: Option<String>,
    },
    /// A firm breaker reached its limit.
    Trip(FirmTrip),
    /// The first step of a firm reset.
    RequestReset {
        /// Who asked.
        operator: String,
        /// The token to hand back.
        token: String,
        /// When the request lapses.
        expires_at: DateTime<Utc>,
        /// The desk whose halt to lift, or `None` for the whole firm.
        desk: Option<String>,
    },
    /// The second step of a firm reset.
    ConfirmReset {
        /// Who confirmed.
        operator: String,
        /// The token from the request.
        token: String,
    },
    /// Time passed: a pending firm reset may lapse.
    Tick,
}

/// A firm transition that was refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FirmError {
    /// A reset with nothing to lift.
    #[error("nothing to reset: {0}")]
    NothingToReset(String),
    /// A second reset request while one is pending.
    #[error("a firm reset is already pending until {expires_at}; confirm it or let it expire")]
    ResetAlreadyPending {
        /// When the pending one lapses.
        expires_at: DateTime<Utc>,
    },
    /// A confirmation with no reset pending.
    #[error("no firm reset is pending")]
    NoResetPending,
    /// A confirmation with the wrong token.
    #[error("the confirmation token does not match the pending firm reset")]
    WrongToken,
    /// A confirmation after the request lapsed.
    #[error("the firm reset request expired at {expired_at}; request a new one")]
    ResetExpired {
        /// When it lapsed.
        expired_at: DateTime<Utc>,
    },
    /// A change of the firm's members that cannot be made.
    #[error(transparent)]
    Membership(#[from] crate::firm::figures::MembershipError),
}

/// What an accepted trigger did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirmChange {
    /// Nothing changed (a second halt of the same scope, a tick with nothing to lapse).
    Unchanged,
    /// The record changed; the generation was bumped.
    Changed,
}

impl FirmControl {
    /// The firm-level state: RESETTING while a firm-wide reset awaits confirmation, else
    /// MANUALLY_HALTED under a firm halt, else TRIPPED with a firm breaker tripped, else NORMAL.
    /// Desk halts do not change the firm's state: they show in [`FirmControl::desk_halts`].
    pub fn state(&self) -> EngineState {
        let firm_reset_pending = self
            .pending_reset
            .as_ref()
            .is_some_and(|p| p.desk.is_none());
        match (firm_reset_pending, &self.halt, self.trips.is_empty()) {
            (true, _, _) => EngineState::Resetting,
            (false, Some(_), _) => EngineState::ManuallyHalted,
            (false, None, false) => EngineState::Tripped,
            (false, None, true) => EngineState::Normal,
        }
    }

    /// What the record holds a strategy of `desk` in, if anything: a halt (firm-wide first,
    /// then its desk's) before a firm breaker's trip.
    pub fn hold_for(&self, desk: Option<&str>) -> Option<FirmHold> {
        let halt = |h: &HaltOrder, desk: Option<String>| FirmHold {
            kind: FirmHoldKind::Halt,
            operator: Some(h.operator.clone()),
            host_id: h.host_id.clone(),
            desk,
            reason: h.reason.clone(),
        };
        if let Some(h) = &self.halt {
            return Some(halt(h, None));
        }
        if let Some((name, h)) = desk.and_then(|d| self.desk_halts.get_key_value(d)) {
            return Some(halt(h, Some(name.clone())));
        }
        self.trips.first().map(|t| FirmHold {
            kind: FirmHoldKind::Trip(t.trip.breaker),
            operator: None,
            host_id: t.host_id.clone(),
            desk: None,
            reason: format!("firm {}", t.trip.summary),
        })
    }

    /// Whether `breaker` is tripped at the firm level.
    pub fn is_tripped(&self, breaker: BreakerKind) -> bool {
        self.trips.iter().any(|t| t.trip.breaker == breaker)
    }

    /// Applies a trigger at `now`; a refusal changes nothing. A pending reset whose time is up
    /// lapses first (and a confirmation that finds it lapsed is refused).
    pub fn apply(
        &mut self,
        trigger: FirmTrigger,
        now: DateTime<Utc>,
    ) -> Result<FirmChange, FirmError> {
        let lapsed = match &self.pending_reset {
            Some(p) if now >= p.expires_at => Some(p.expires_at),
            _ => None,
        };
        if let Some(expired_at) = lapsed {
            self.pending_reset = None;
            self.generation += 1;
            if matches!(trigger, FirmTrigger::ConfirmReset { .. }) {
                return Err(FirmError::ResetExpired { expired_at });
            }
        }
        let change = match trigger {
            FirmTrigger::Tick => FirmChange::Unchanged,
            FirmTrigger::Halt {
                operator,
                reason,
                host_id,
                desk,
            } => {
                let order = HaltOrder {
                    operator,
                    reason,
                    host_id,
                    at: now,
                };
                self.halt(order, desk)
            }
            FirmTrigger::Trip(trip) => self.trip(trip),
            FirmTrigger::RequestReset {
                operator,
                token,
                expires_at,
                desk,
            } => self.request_reset(FirmPendingReset {
                token,
                expires_at,
                operator,
                desk,
            })?,
            FirmTrigger::ConfirmReset { token, .. } => self.confirm_reset(&token)?,
        };
        if change == FirmChange::Changed {
            self.generation += 1;
        }
        Ok(if lapsed.is_some() {
            FirmChange::Changed
        } else {
            change
        })
    }

    fn halt(&mut self, order: HaltOrder, desk: Option<String>) -> FirmChange {
        match desk {
            None if self.halt.is_some() => FirmChange::Unchanged,
            None => {
                // A halt drops a pending firm-wide reset, as a strategy's does.
                self.pending_reset = None;
                self.halt = Some(order);
                FirmChange::Changed
            }
            Some(d) if self.desk_halts.contains_key(&d) => FirmChange::Unchanged,
            Some(d) => {
                if self.pending_reset.as_ref().and_then(|p| p.desk.as_ref()) == Some(&d) {
                    self.pending_reset = None;
                }
                self.desk_halts.insert(d, order);
                FirmChange::Changed
            }
        }
    }

    fn trip(&mut self, trip: FirmTrip) -> FirmChange {
        if self.is_tripped(trip.trip.breaker) {
            return FirmChange::Unchanged;
        }
        // A trip drops a pending firm-wide reset: the reset was asked for before it.
        if self.state() == EngineState::Resetting {
            self.pending_reset = None;
        }
        self.trips.push(trip);
        FirmChange::Changed
    }

    fn request_reset(&mut self, pending: FirmPendingReset) -> Result<FirmChange, FirmError> {
        if let Some(p) = &self.pending_reset {
            return Err(FirmError::ResetAlreadyPending {
                expires_at: p.expires_at,
            });
        }
        match &pending.desk {
            Some(d) if !self.desk_halts.contains_key(d) => {
                return Err(FirmError::NothingToReset(format!(
                    "desk {d:?} is not halted"
                )))
            }
            None if self.state() == EngineState::Normal && self.desk_halts.is_empty() => {
                return Err(FirmError::NothingToReset(
                    "the firm is NORMAL and no desk is halted".into(),
                ))
            }
            _ => {}
        }
        self.pending_reset = Some(pending);
        Ok(FirmChange::Changed)
    }

    fn confirm_reset(&mut self, token: &str) -> Result<FirmChange, FirmError> {
        let Some(pending) = self.pending_reset.as_ref() else {
            return Err(FirmError::NoResetPending);
        };
        if !constant_time_eq(pending.token.as_bytes(), token.as_bytes()) {
            return Err(FirmError::WrongToken);
        }
        match pending.desk.clone() {
            Some(d) => {
                self.desk_halts.remove(&d);
            }
            None => {
                self.halt = None;
                self.trips.clear();
                self.desk_halts.clear();
            }
        }
        self.pending_reset = None;
        Ok(FirmChange::Changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn halt(desk: Option<&str>) -> FirmTrigger {
        FirmTrigger::Halt {
            operator: "alice".into(),
            reason: "drill".into(),
            host_id: "host-a".into(),
            desk: desk.map(String::from),
        }
    }

    fn request(desk: Option<&str>) -> FirmTrigger {
        FirmTrigger::RequestReset {
            operator: "bob".into(),
            token: "tok".into(),
            expires_at: t(100),
            desk: desk.map(String::from),
        }
    }

    fn confirm(token: &str) -> FirmTrigger {
        FirmTrigger::ConfirmReset {
            operator: "carol".into(),
            token: token.into(),
        }
    }

    fn firm_trip(kind: BreakerKind) -> FirmTrigger {
        FirmTrigger::Trip(FirmTrip {
            trip: Trip {
                breaker: kind,
                at: t(0),
                value: dec!(-0.09),
                limit: dec!(-0.08),
                details: Default::default(),
                summary: "drawdown -9% <= -8%".into(),
            },
            host_id: "host-b".into(),
        })
    }

    #[test]
    fn test_halt_when_normal_then_halted_and_every_strategy_held() {
        let mut c = FirmControl::default();
        assert_eq!(c.apply(halt(None), t(1)), Ok(FirmChange::Changed));
        assert_eq!(c.state(), EngineState::ManuallyHalted);
        assert_eq!(c.generation, 1);
        let hold = c.hold_for(Some("rates")).unwrap();
        assert_eq!(hold.kind, FirmHoldKind::Halt);
        assert_eq!(hold.host_id, "host-a");
        assert_eq!(c.apply(halt(None), t(2)), Ok(FirmChange::Unchanged));
        assert_eq!(c.generation, 1);
    }

    #[test]
    fn test_desk_halt_when_other_desk_then_only_that_desk_held() {
        let mut c = FirmControl::default();
        let _ = c.apply(halt(Some("equities")), t(1));
        assert_eq!(c.state(), EngineState::Normal);
        assert_eq!(
            c.hold_for(Some("equities")).unwrap().desk.as_deref(),
            Some("equities")
        );
        assert!(c.hold_for(Some("rates")).is_none());
        assert!(c.hold_for(None).is_none());
    }

    #[test]
    fn test_reset_when_desk_given_then_only_that_desk_lifted() {
        let mut c = FirmControl::default();
        let _ = c.apply(halt(Some("equities")), t(1));
        let _ = c.apply(halt(Some("rates")), t(1));
        c.apply(request(Some("equities")), t(2)).unwrap();
        assert_eq!(
            c.state(),
            EngineState::Normal,
            "a desk reset leaves the firm's state"
        );
        c.apply(confirm("tok"), t(3)).unwrap();
        assert!(c.hold_for(Some("equities")).is_none());
        assert!(c.hold_for(Some("rates")).is_some());
    }

    #[test]
    fn test_reset_when_firm_wide_then_halt_trips_and_desks_lifted() {
        let mut c = FirmControl::default();
        let _ = c.apply(halt(None), t(1));
        let _ = c.apply(halt(Some("rates")), t(1));
        let _ = c.apply(firm_trip(BreakerKind::Drawdown), t(1));
        c.apply(request(None), t(2)).unwrap();
        assert_eq!(c.state(), EngineState::Resetting);
        assert!(c.hold_for(None).is_some(), "held until confirmed");
        c.apply(confirm("tok"), t(3)).unwrap();
        assert_eq!(c.state(), EngineState::Normal);
        assert!(c.hold_for(Some("rates")).is_none());
    }

    #[test]
    fn test_confirm_when_wrong_or_expired_token_then_refused_and_nothing_changes() {
        let mut c = FirmControl::default();
        let _ = c.apply(halt(None), t(1));
        c.apply(request(None), t(2)).unwrap();
        let before = c.clone();
        assert_eq!(c.apply(confirm("nope"), t(3)), Err(FirmError::WrongToken));
        assert_eq!(c, before);
        assert_eq!(
            c.apply(confirm("tok"), t(100)),
            Err(FirmError::ResetExpired { expired_at: t(100) })
        );
        assert_eq!(c.state(), EngineState::ManuallyHalted);
    }

    #[test]
    fn test_request_reset_when_nothing_held_then_refused() {
        let mut c = FirmControl::default();
        assert!(matches!(
            c.apply(request(None), t(1)),
            Err(FirmError::NothingToReset(_))
        ));
        assert!(matches!(
            c.apply(request(Some("rates")), t(1)),
            Err(FirmError::NothingToReset(_))
        ));
        assert_eq!(c, FirmControl::default());
    }

    #[test]
    fn test_trip_when_same_breaker_tripped_then_written_once() {
        let mut c = FirmControl::default();
        assert_eq!(
            c.apply(firm_trip(BreakerKind::Drawdown), t(1)),
            Ok(FirmChange::Changed)
        );
        assert_eq!(
            c.apply(firm_trip(BreakerKind::Drawdown), t(2)),
            Ok(FirmChange::Unchanged)
        );
        assert_eq!(c.trips.len(), 1);
        assert_eq!(c.state(), EngineState::Tripped);
        let hold = c.hold_for(None).unwrap();
        assert_eq!(hold.kind, FirmHoldKind::Trip(BreakerKind::Drawdown));
    }

    #[test]
    fn test_control_when_round_tripped_through_json_then_equal() {
        let mut c = FirmControl::default();
        let _ = c.apply(halt(Some("rates")), t(1));
        let _ = c.apply(firm_trip(BreakerKind::DailyLoss), t(1));
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<FirmControl>(&json).unwrap(), c);
    }
}
