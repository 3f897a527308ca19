//! Supervisor: owns the global state machine and the strategy's checkpoint, and supervises
//! every other actor of the strategy.
//!
//! Every trip, clear, halt, reset and lifecycle event goes through [`Supervisor::commit`], the
//! one commit path: the gate is told of any closing at once (it was usually closed already by
//! the breaker itself), the records are written and flushed in one sled batch, and only then
//! are the gate told of any opening, subscribers told, alerts raised and the caller answered.

use super::alert_dispatcher::{AlertDispatcher, Dispatch};
use super::messages::{
    CancelAllOrders, CancelSink, ClearReport, LifecycleReport, ReadBreaker, Rearm, Tick, TripReport,
};
use super::order_gate::{ApplyGateUpdate, OrderGate};
use super::{guard, mark_ready, supervisee, Links, Supervisee};
use crate::alerts::{Alert, AlertEventType};
use crate::breaker::{BreakerKind, BreakerReading, Trip};
use crate::checkpoint::{CheckpointError, StrategyCheckpoint};
use crate::clock::SharedClock;
use crate::decision::{DecisionCore, GateUpdate, NumberedTrip};
use crate::error::EngineError;
use crate::events::*;
use crate::state_machine::{EngineState, StateMachine, StateRecord, Step, Transition, Trigger};
use crate::supervision::{ActorName, HealthBoard};
use actix::prelude::*;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    pub panic: Recipient<super::messages::InjectPanic>,
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
pub trait FaultHook: Handler<super::messages::InjectPanic> {}
#[cfg(feature = "test-util")]
impl<A: Handler<super::messages::InjectPanic>> FaultHook for A {}
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

/// The supervisor actor.
pub struct Supervisor {
    parts: SupervisorParts,
    machine: StateMachine,
    applied_trips: u64,
    actors: StrategyActors,
    links: Links,
}

impl Supervisor {
    /// A supervisor; `addr` is its own address (from `Supervisor::create`).
    pub fn new(mut parts: SupervisorParts, addr: Addr<Supervisor>) -> Self {
        let machine = parts.machine.clone();
        let links = Links {
            supervisor: addr,
            health: parts.health.clone(),
        };
        parts.startup.shrink_to_fit();
        Self {
            parts,
            machine,
            applied_trips: 0,
            actors: StrategyActors::default(),
            links,
        }
    }

    /// Hands over the actors, once they exist.
    pub fn set_actors(&mut self, actors: StrategyActors) {
        self.actors = actors;
    }

    /// What the gate must be told now.
    pub fn gate_update(&self) -> GateUpdate {
        let record = self.machine.record();
        GateUpdate {
            state: record.state,
            tripped: record.tripped.iter().map(|(k, _)| *k).collect(),
            reason: record.reason.clone(),
            applied_trips: self.applied_trips,
        }
    }

    fn tell_gate(&self) {
        // The core is shared: set it directly so the word is in force before anything else.
        self.parts.core.apply(self.gate_update());
        if let Some(gate) = &self.actors.gate {
            gate.do_send(ApplyGateUpdate(self.gate_update()));
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.parts.clock.now()
    }

    fn alert(
        &self,
        event_type: AlertEventType,
        breaker: BreakerKind,
        summary: String,
        details: BTreeMap<String, String>,
        at: DateTime<Utc>,
    ) -> Alert {
        Alert {
            id: format!("msg_{}", random_token(24)),
            event_type,
            strategy_name: self.parts.strategy.clone(),
            circuit_breaker_type: breaker,
            details,
            timestamp: at,
            summary,
            state: self.machine.state(),
            suppressed_since_last: 0,
        }
    }

    fn trip_outputs(&self, trip: &Trip) -> (EngineEvent, Alert) {
        (
            EngineEvent::CircuitBreakerTripped(CircuitBreakerTrippedEvent {
                strategy: self.parts.strategy.clone(),
                trip: trip.clone(),
            }),
            self.alert(
                AlertEventType::CircuitBreakerTripped,
                trip.breaker,
                format!(
                    "{} {}",
                    trip.breaker,
                    trip.summary
                        .trim_start_matches(trip.breaker.as_str())
                        .trim()
                ),
                trip.details.clone(),
                trip.at,
            ),
        )
    }

    /// Applies a trip the gate closed for.
    fn apply_trip(&mut self, numbered: NumberedTrip, out: &mut Outputs) {
        let now = self.now();
        self.applied_trips = self.applied_trips.max(numbered.seq);
        out.step(
            self.machine
                .apply(Trigger::Trip(numbered.trip.clone()), now),
        );
        let (event, alert) = self.trip_outputs(&numbered.trip);
        out.events.push(event);
        out.alerts.push(alert);
    }

    /// The one commit path. `before` is the machine as it was before these records: if they
    /// open the gate and cannot be made durable, the machine goes back to it.
    fn commit(
        &mut self,
        before: StateMachine,
        out: Outputs,
    ) -> ResponseActFuture<Self, Result<(), EngineError>> {
        let Outputs {
            records,
            events,
            alerts,
        } = out;
        if records.is_empty() {
            self.publish(events, alerts);
            return Box::pin(fut::ready(Ok(())));
        }
        let opens = self.machine.state() == EngineState::Normal;
        if !opens {
            // Fail closed in memory first: the gate and the host hear before the disk does.
            self.tell_gate();
            self.cancel_open_orders(&records);
        }
        let record = self.machine.record().clone();
        let cp = self.parts.checkpoint.clone();
        Box::pin(
            async move {
                // Let the breaker, the feed and the host run first: the gate is already closed.
                tokio::task::yield_now().await;
                cp.commit(&record, &records).await.map(|_| records)
            }
            .into_actor(self)
            .map(move |res, act, _| match res {
                Ok(records) => {
                    act.tell_gate();
                    for t in &records {
                        tracing::warn!(from = %t.from, to = %t.to, cause = %t.cause, operator = ?t.operator, "control event");
                    }
                    let mut all: Vec<EngineEvent> = records
                        .iter()
                        .filter(|t| t.changes_state())
                        .map(|t| {
                            EngineEvent::StateChanged(StateChangedEvent {
                                strategy: act.parts.strategy.clone(),
                                transition: t.clone(),
                            })
                        })
                        .collect();
                    all.extend(events);
                    act.publish(all, alerts);
                    Ok(())
                }
                Err(e) => {
                    tracing::error!(error = %e, "checkpoint of a control event failed");
                    if opens {
                        // Not durable: take it back; the gate never opened.
                        act.machine = before;
                        act.tell_gate();
                    }
                    Err(e.into())
                }
            }),
        )
    }

    /// Commits while the mailbox waits: nobody reads a state that is not yet durable.
    fn commit_before_next(&mut self, ctx: &mut Context<Self>, before: StateMachine, out: Outputs) {
        let fut = self.commit(before, out);
        ctx.wait(fut.map(|_, _, _| ()));
    }

    /// Applies a trigger no caller waits for; `event` is published when it leaves a record.
    fn apply_unanswered(
        &mut self,
        ctx: &mut Context<Self>,
        trigger: Trigger,
        now: DateTime<Utc>,
        event: Option<EngineEvent>,
    ) {
        let before = self.machine.clone();
        let mut out = Outputs::default();
        let _ = out.step(self.machine.apply(trigger, now));
        if !out.records.is_empty() {
            out.events.extend(event);
        }
        self.commit_before_next(ctx, before, out);
    }

    fn publish(&self, events: Vec<EngineEvent>, alerts: Vec<Alert>) {
        for e in &events {
            if let EngineEvent::CircuitBreakerTripped(t) = e {
                tracing::error!(breaker = %t.trip.breaker, summary = %t.trip.summary, "circuit breaker tripped");
            }
            self.parts.control.publish(e);
        }
        if let Some(d) = &self.actors.dispatcher {
            for a in alerts {
                d.do_send(Dispatch(a));
            }
        }
    }

    fn cancel_open_orders(&self, records: &[Transition]) {
        if let Some(t) = records.iter().rev().find(|t| {
            matches!(t.to, EngineState::Tripped | EngineState::ManuallyHalted) && t.changes_state()
        }) {
            let cancel = CancelAllOrders {
                strategy: self.parts.strategy.clone(),
                state: t.to,
                reason: self.machine.record().reason.clone().unwrap_or_default(),
                at: t.at,
                open_orders: self.parts.core.open_orders(),
            };
            self.parts
                .control
                .publish(&EngineEvent::CancelAllOrders(cancel.clone()));
            self.parts.cancel.send(cancel);
        }
    }

    fn tick_all(&self, now: DateTime<Utc>) {
        for b in &self.actors.breakers {
            b.tick.do_send(Tick { now });
        }
    }

    /// Resumes the machine from the checkpoint (after a restart of this actor).
    fn resume(&mut self) {
        let now = self.now();
        let (machine, startup) = resume_machine(&self.parts.checkpoint, now);
        self.machine = machine;
        self.parts.startup.extend(startup);
        // Trips the gate closed for may have died with the old instance: apply them again.
        self.applied_trips = 0;
    }
}

/// The records one control event leaves, with what to publish and alert once they are durable.
#[derive(Default)]
struct Outputs {
    records: Vec<Transition>,
    events: Vec<EngineEvent>,
    alerts: Vec<Alert>,
}

impl Outputs {
    fn step(&mut self, step: Step) -> Option<crate::state_machine::TransitionError> {
        self.records.extend(step.records);
        step.refused
    }
}

/// The machine a checkpoint resumes, with the records of a halt when it cannot be trusted:
/// unreadable, or readable in an impossible combination, never resumes NORMAL.
pub fn resume_machine(
    checkpoint: &StrategyCheckpoint,
    now: DateTime<Utc>,
) -> (StateMachine, Vec<Transition>) {
    let distrust = |why: String| {
        let mut m = StateMachine::new(now);
        let step = m.apply(
            Trigger::Halt {
                operator: crate::engine::ENGINE_OPERATOR.into(),
                reason: format!(
                    "checkpoint unreadable at start, trading halted until an operator resets: {why}"
                ),
            },
            now,
        );
        tracing::error!(reason = %why, "checkpoint unusable: starting MANUALLY_HALTED");
        (m, step.records)
    };
    match checkpoint.load_state() {
        Ok(Some(record)) => match StateMachine::resume(record) {
            Ok(m) => (m, Vec::new()),
            Err(why) => distrust(format!("impossible state record: {why}")),
        },
        Ok(None) => (StateMachine::new(now), Vec::new()),
        Err(e) => distrust(e.to_string()),
    }
}

/// A random token of `len` alphanumeric characters.
pub fn random_token(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

impl Supervisee for Supervisor {
    fn name(&self) -> ActorName {
        ActorName::Supervisor
    }

    fn links(&self) -> &Links {
        &self.links
    }

    fn reload(&mut self) {
        self.parts.core.set_supervisor_alive(false);
        self.resume();
    }
}

supervisee!(Supervisor);

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.parts.core.set_supervisor_alive(true);
        let before = self.machine.clone();
        let mut out = Outputs {
            records: std::mem::take(&mut self.parts.startup),
            ..Outputs::default()
        };
        for numbered in self.parts.core.unconfirmed() {
            self.apply_trip(numbered, &mut out);
        }
        self.tell_gate();
        self.commit_before_next(ctx, before, out);
        mark_ready(self);
        if let Some(every) = self.parts.tick_interval {
            ctx.run_interval(every, |act, ctx| {
                let now = act.now();
                act.tick_all(now);
                <Self as Handler<Tick>>::handle(act, Tick { now }, ctx);
            });
        }
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        // Until a restarted instance says otherwise, nobody can record a trip or a halt.
        self.parts.core.set_supervisor_alive(false);
    }
}

impl Handler<TripReport> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: TripReport, ctx: &mut Context<Self>) {
        let before = self.machine.clone();
        let Some(out) = guard(self, ctx, |act| {
            let mut out = Outputs::default();
            act.apply_trip(msg.0, &mut out);
            out
        }) else {
            return;
        };
        self.commit_before_next(ctx, before, out);
    }
}

impl Handler<ClearReport> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: ClearReport, ctx: &mut Context<Self>) {
        let cleared = EngineEvent::BreakerCleared(BreakerClearedEvent {
            strategy: self.parts.strategy.clone(),
            breaker: msg.breaker,
            at: msg.at,
        });
        let now = self.now();
        self.apply_unanswered(ctx, Trigger::Clear(msg.breaker), now, Some(cleared));
    }
}

impl Handler<LifecycleReport> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: LifecycleReport, ctx: &mut Context<Self>) {
        let trigger = Trigger::Supervision {
            actor: msg.actor,
            event: msg.event,
            detail: msg.detail,
        };
        let now = self.now();
        self.apply_unanswered(ctx, trigger, now, None);
    }
}

impl Handler<Tick> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: Tick, ctx: &mut Context<Self>) {
        self.apply_unanswered(ctx, Trigger::Tick, msg.now, None);
        self.record_expired(ctx, msg.now);
    }
}

impl Handler<RecordExpired> for Supervisor {
    type Result = ();

    fn handle(&mut self, _: RecordExpired, ctx: &mut Context<Self>) {
        let now = self.now();
        self.record_expired(ctx, now);
    }
}

impl Supervisor {
    /// Closes the day orders due by `now` and records them: one `order_expired` entry in the
    /// audit trail naming every id closed in this sweep (one a session close, so the trail
    /// grows with sessions, not with orders), then one `order_expired` event per order on the
    /// stream. The commit path: durable before it is heard.
    fn record_expired(&mut self, ctx: &mut Context<Self>, now: DateTime<Utc>) {
        let expired = self.parts.core.expire_due(now);
        if expired.is_empty() {
            return;
        }
        let before = self.machine.clone();
        let state = self.machine.state();
        let ids: Vec<&str> = expired.iter().map(|o| &*o.order_id).collect();
        tracing::info!(strategy = %self.parts.strategy, count = ids.len(), "day orders expired");
        let mut out = Outputs::default();
        out.records.push(Transition {
            at: now,
            from: state,
            to: state,
            cause: crate::state_machine::Cause::OrderExpired,
            operator: Some(crate::engine::ENGINE_OPERATOR.into()),
            details: serde_json::json!({
                "count": ids.len(),
                "order_ids": ids,
                "session_close": expired.iter().filter_map(|o| o.expires_at).min(),
            }),
        });
        for order in expired {
            out.events
                .push(EngineEvent::OrderExpired(OrderExpiredEvent {
                    strategy: self.parts.strategy.clone(),
                    order_id: order.order_id.to_string(),
                    order,
                    at: now,
                }));
        }
        self.commit_before_next(ctx, before, out);
    }
}

impl Handler<TickAll> for Supervisor {
    type Result = ();

    fn handle(&mut self, _: TickAll, ctx: &mut Context<Self>) {
        let now = self.now();
        self.tick_all(now);
        <Self as Handler<Tick>>::handle(self, Tick { now }, ctx);
    }
}

impl Handler<ApplyHalt> for Supervisor {
    type Result = AtomicResponse<Self, Result<StateRecord, EngineError>>;

    fn handle(&mut self, msg: ApplyHalt, _: &mut Context<Self>) -> Self::Result {
        let before = self.machine.clone();
        let now = self.now();
        self.applied_trips = self.applied_trips.max(msg.seq);
        let was_halted = self.machine.state() == EngineState::ManuallyHalted;
        let mut out = Outputs::default();
        let _ = out.step(self.machine.apply(
            Trigger::Halt {
                operator: msg.operator.clone(),
                reason: msg.reason.clone(),
            },
            now,
        ));
        if !was_halted {
            out.events.push(EngineEvent::ManualHalt(ManualHaltEvent {
                strategy: self.parts.strategy.clone(),
                reason: msg.reason.clone(),
                operator: msg.operator.clone(),
                at: now,
            }));
            let mut details = BTreeMap::new();
            details.insert("operator".into(), msg.operator.clone());
            details.insert("reason".into(), msg.reason.clone());
            out.alerts.push(self.alert(
                AlertEventType::ManualHalt,
                BreakerKind::Manual,
                format!("manual halt by {}: {}", msg.operator, msg.reason),
                details,
                now,
            ));
        }
        AtomicResponse::new(Box::pin(
            self.commit(before, out)
                .map(|r, act, _| r.map(|_| act.machine.record().clone())),
        ))
    }
}

impl Supervisor {
    /// The alert a firm-level trigger raises when it changes the strategy's state (a firm or
    /// desk halt, a firm breaker's trip) or puts `on_bus_loss` in force.
    fn firm_alert(&self, trigger: &Trigger, now: DateTime<Utc>) -> Option<Alert> {
        use crate::state_machine::FirmHoldKind;
        let mut details = BTreeMap::new();
        details.insert("scope".to_string(), "firm".to_string());
        match trigger {
            Trigger::FirmHold(hold) => {
                details.insert("host_id".into(), hold.host_id.clone());
                if let Some(d) = &hold.desk {
                    details.insert("desk".into(), d.clone());
                }
                match hold.kind {
                    FirmHoldKind::Halt => {
                        let operator = hold.operator.clone().unwrap_or_default();
                        details.insert("operator".into(), operator.clone());
                        details.insert("reason".into(), hold.reason.clone());
                        let scope = hold
                            .desk
                            .as_ref()
                            .map_or_else(|| "firm".to_string(), |d| format!("desk {d}"));
                        Some(self.alert(
                            AlertEventType::ManualHalt,
                            BreakerKind::Manual,
                            format!("{scope} halt by {operator}: {}", hold.reason),
                            details,
                            now,
                        ))
                    }
                    FirmHoldKind::Trip(kind) => Some(self.alert(
                        AlertEventType::CircuitBreakerTripped,
                        kind,
                        format!("firm {kind} breaker tripped: {}", hold.reason),
                        details,
                        now,
                    )),
                }
            }
            Trigger::BusLost { policy, since } => {
                details.insert("on_bus_loss".into(), policy.clone());
                details.insert("since".into(), since.to_rfc3339());
                Some(self.alert(
                    AlertEventType::CircuitBreakerTripped,
                    BreakerKind::Bus,
                    format!("the firm's bus is lost since {since}: on_bus_loss = {policy}"),
                    details,
                    now,
                ))
            }
            _ => None,
        }
    }
}

impl Handler<ApplyFirm> for Supervisor {
    type Result = AtomicResponse<Self, Result<StateRecord, EngineError>>;

    fn handle(&mut self, msg: ApplyFirm, _: &mut Context<Self>) -> Self::Result {
        let before = self.machine.clone();
        let now = self.now();
        if let Some(seq) = msg.seq {
            self.applied_trips = self.applied_trips.max(seq);
        }
        let mut out = Outputs::default();
        let alert = self.firm_alert(&msg.trigger, now);
        let refused = out.step(self.machine.apply(msg.trigger, now));
        if out.records.iter().any(Transition::changes_state)
            || out
                .records
                .iter()
                .any(|t| t.cause == crate::state_machine::Cause::BusLost)
        {
            out.alerts.extend(alert);
        }
        AtomicResponse::new(Box::pin(self.commit(before, out).map(move |r, act, _| {
            r?;
            match refused {
                Some(e) => Err(e.into()),
                None => Ok(act.machine.record().clone()),
            }
        })))
    }
}

impl Handler<ApplyResetRequest> for Supervisor {
    type Result = AtomicResponse<Self, Result<ResetTicket, EngineError>>;

    fn handle(&mut self, msg: ApplyResetRequest, _: &mut Context<Self>) -> Self::Result {
        if let Some(why) = self.parts.checkpoint.degraded() {
            let err = EngineError::Checkpoint(CheckpointError::Unavailable(format!(
                "{why}: resets are refused until the checkpoint is repaired"
            )));
            return AtomicResponse::new(Box::pin(fut::ready(Err(err))));
        }
        let before = self.machine.clone();
        let now = self.now();
        let token = random_token(32);
        let expires_at = now + self.parts.reset_ttl;
        let mut out = Outputs::default();
        let refused = out.step(self.machine.apply(
            Trigger::RequestReset {
                operator: msg.operator.clone(),
                token: token.clone(),
                expires_at,
            },
            now,
        ));
        if refused.is_none() {
            out.events
                .push(EngineEvent::ResetRequested(ResetRequestedEvent {
                    strategy: self.parts.strategy.clone(),
                    operator: msg.operator.clone(),
                    expires_at,
                    at: now,
                }));
            let mut details = BTreeMap::new();
            details.insert("operator".into(), msg.operator.clone());
            details.insert("expires_at".into(), expires_at.to_rfc3339());
            if let Some(r) = &msg.reason {
                details.insert("reason".into(), r.clone());
            }
            out.alerts.push(self.alert(
                AlertEventType::ResetRequested,
                BreakerKind::Manual,
                format!(
                    "reset requested by {}; it needs a confirmation before {expires_at}",
                    msg.operator
                ),
                details,
                now,
            ));
        }
        // A lapse found on the way is kept even when the request itself is refused.
        AtomicResponse::new(Box::pin(self.commit(before, out).map(move |r, _, _| {
            r?;
            match refused {
                Some(e) => Err(e.into()),
                None => Ok(ResetTicket {
                    state: EngineState::Resetting,
                    confirmation_token: token,
                    expires_at,
                }),
            }
        })))
    }
}

impl Handler<ApplyResetConfirm> for Supervisor {
    type Result = AtomicResponse<Self, Result<StateRecord, EngineError>>;

    fn handle(&mut self, msg: ApplyResetConfirm, _: &mut Context<Self>) -> Self::Result {
        let before = self.machine.clone();
        let now = self.now();
        let mut out = Outputs::default();
        if let Some(e) = out.step(self.machine.apply(
            Trigger::ConfirmReset {
                operator: msg.operator.clone(),
                token: msg.token.clone(),
            },
            now,
        )) {
            return AtomicResponse::new(Box::pin(
                self.commit(before, out)
                    .map(move |r, _, _| r.and(Err(e.into()))),
            ));
        }
        // Before the gate opens, every breaker judges its current input again; one whose
        // condition still holds trips at once (closing the gate for it) and the gate never
        // opens.
        let rearm = Rearm {
            rebase_high_water_mark: msg.rebase_high_water_mark,
            now,
        };
        let asked: Vec<_> = self
            .actors
            .breakers
            .iter()
            .map(|b| b.rearm.send(rearm))
            .collect();
        let operator = msg.operator;
        AtomicResponse::new(Box::pin(
            futures::future::join_all(asked)
                .into_actor(self)
                .then(move |answers, act, _| {
                    out.events
                        .push(EngineEvent::ResetConfirmed(ResetConfirmedEvent {
                            strategy: act.parts.strategy.clone(),
                            operator: operator.clone(),
                            at: now,
                        }));
                    let mut details = BTreeMap::new();
                    details.insert("operator".into(), operator.clone());
                    out.alerts.push(act.alert(
                        AlertEventType::ResetConfirmed,
                        BreakerKind::Manual,
                        format!("reset confirmed by {operator}: trading resumes"),
                        details,
                        now,
                    ));
                    for answer in answers {
                        match answer {
                            Ok(Some(numbered)) => act.apply_trip(numbered, &mut out),
                            Ok(None) => {}
                            // A breaker that cannot answer is down: the health board keeps
                            // the gate shut until it is back.
                            Err(e) => tracing::error!(error = %e, "a breaker could not re-arm"),
                        }
                    }
                    act.commit(before, out)
                        .map(|r, act, _| r.map(|_| act.machine.record().clone()))
                }),
        ))
    }
}

impl Handler<ReadState> for Supervisor {
    type Result = MessageResult<ReadState>;

    fn handle(&mut self, _: ReadState, _: &mut Context<Self>) -> Self::Result {
        MessageResult((
            self.machine.record().clone(),
            self.parts.checkpoint.degraded().map(String::from),
        ))
    }
}

/// Reads every breaker; a breaker that cannot answer reads as not ready.
pub async fn read_breakers(links: &[BreakerLink]) -> Vec<BreakerReading> {
    let asked = links.iter().map(|l| async move {
        l.read.send(ReadBreaker).await.unwrap_or_else(|_| {
            let mut r = BreakerReading::disabled(l.kind);
            r.enabled = true;
            r.ready = false;
            r
        })
    });
    futures::future::join_all(asked).await
}
