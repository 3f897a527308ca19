//! The state machine's table, tried state by state and trigger by trigger.

use super::*;
use crate::supervision::{ActorName, Lifecycle};
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

/// A state, a trigger, and the state after with how many records it leaves, or the refusal.
type Case = (
    EngineState,
    Trigger,
    Result<(EngineState, usize), TransitionError>,
);

fn restarted() -> Trigger {
    Trigger::Supervision {
        actor: ActorName::OrderGate,
        event: Lifecycle::Restarted,
        detail: None,
    }
}

fn cases_from_normal_or_tripped() -> Vec<Case> {
    vec![
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
        (Normal, restarted(), Ok((Normal, 1))),
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
        (Tripped, restarted(), Ok((Tripped, 1))),
    ]
}

fn cases_from_halted_or_resetting() -> Vec<Case> {
    vec![
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
        (Resetting, restarted(), Ok((Resetting, 1))),
    ]
}

/// Every (state, trigger) pair: the state after and how many records it leaves, or the
/// refusal.
#[test]
fn test_apply_every_state_and_trigger() {
    for (from, trigger, expected) in cases_from_normal_or_tripped()
        .into_iter()
        .chain(cases_from_halted_or_resetting())
    {
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
