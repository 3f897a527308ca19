//! Supervisor: owns the global state machine and the strategy's checkpoint, and supervises
//! every other actor of the strategy.
//!
//! Every trip, clear, halt, reset and lifecycle event goes through [`Supervisor::commit`], the
//! one commit path: the gate is told of any closing at once (it was usually closed already by
//! the breaker itself), the records are written and flushed in one sled batch, and only then
//! are the gate told of any opening, subscribers told, alerts raised and the caller answered.

use super::alert_dispatcher::Dispatch;
use super::messages::{
    CancelAllOrders, ClearReport, LifecycleReport, ReadBreaker, Rearm, Tick, TripReport,
};
use super::{guard, mark_ready, supervisee, Links, Supervisee};
use crate::alerts::{Alert, AlertEventType};
use crate::breaker::{BreakerKind, BreakerReading, Trip};
use crate::checkpoint::{CheckpointError, StrategyCheckpoint};
use crate::decision::{GateUpdate, NumberedTrip};
use crate::error::EngineError;
use crate::events::*;
use crate::state_machine::{EngineState, StateMachine, StateRecord, Step, Transition, Trigger};
use crate::supervision::ActorName;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use rand::Rng;
use std::collections::BTreeMap;

mod messages;
mod operator;

pub use messages::*;
pub use operator::read_breakers;

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
        GateUpdate::new(self.machine.record().clone(), self.applied_trips)
    }

    fn tell_gate(&self) {
        // The core is shared: set it directly so the word is in force before anything else.
        self.parts.core.apply(self.gate_update());
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
                operator: crate::state_machine::ENGINE_OPERATOR.into(),
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
            operator: Some(crate::state_machine::ENGINE_OPERATOR.into()),
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
