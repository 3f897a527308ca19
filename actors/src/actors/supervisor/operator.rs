//! The operator's messages to the Supervisor: halt, firm triggers, reset, and the state read.

use super::*;

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
