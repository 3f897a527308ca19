//! The operator's calls: halt, firm triggers and the two-step reset.

use super::*;

impl OperatorHandle {
    /// Emergency stop: every order refused from the moment this is called, open orders
    /// cancelled; durable when it returns. Works while actors are down: without the manual
    /// breaker it goes to the Supervisor; without the Supervisor it is written to the
    /// checkpoint directly.
    pub async fn halt(&self, operator: &str, reason: &str) -> Result<StateRecord, EngineError> {
        required("operator", operator)?;
        required("reason", reason)?;
        let i = &self.inner;
        let at = i.clock.now();
        let closed = i.core.close_for(Trip {
            breaker: BreakerKind::Manual,
            at,
            value: Decimal::ZERO,
            limit: Decimal::ZERO,
            details: BTreeMap::new(),
            summary: reason.to_string(),
        });
        let msg = ApplyHalt {
            operator: operator.into(),
            reason: reason.into(),
            at,
            seq: closed.seq,
        };
        if let Ok(answer) = i.manual.send(msg.clone()).await {
            return answer;
        }
        if let Ok(answer) = i.supervisor.send(msg.clone()).await {
            return answer;
        }
        tracing::error!("supervisor unreachable: writing the halt to the checkpoint directly");
        let (mut machine, mut records) = resume_machine(&i.checkpoint, at);
        let step = machine.apply(
            crate::state_machine::Trigger::Halt {
                operator: msg.operator,
                reason: msg.reason,
            },
            at,
        );
        records.extend(step.records);
        i.checkpoint.commit(machine.record(), &records).await?;
        Ok(machine.record().clone())
    }

    /// Applies the firm's word to this strategy: a firm or desk hold
    /// ([`crate::state_machine::Trigger::FirmHold`]), its release, or bus loss and its end.
    /// Durable when it returns; the gate closes for a hold before the disk is written. Any
    /// other trigger is refused as unavailable: operators halt and reset through the calls
    /// above.
    pub async fn apply_firm(
        &self,
        trigger: crate::state_machine::Trigger,
    ) -> Result<StateRecord, EngineError> {
        use crate::state_machine::Trigger;
        if !matches!(
            trigger,
            Trigger::FirmHold(_)
                | Trigger::FirmRelease { .. }
                | Trigger::BusLost { .. }
                | Trigger::BusRestored
                | Trigger::FirmHostRemoved { .. }
                | Trigger::Reconciled { .. }
        ) {
            return Err(EngineError::Unavailable(
                "apply_firm takes firm holds, firm releases and bus events only".into(),
            ));
        }
        // A hold closes the gate now, in memory, as an operator's halt does: the next order is
        // refused before the Supervisor has written anything.
        let seq = match &trigger {
            Trigger::FirmHold(hold) if hold.kind == crate::state_machine::FirmHoldKind::Halt => {
                let closed = self.inner.core.close_for(Trip {
                    breaker: BreakerKind::Manual,
                    at: self.inner.clock.now(),
                    value: Decimal::ZERO,
                    limit: Decimal::ZERO,
                    details: BTreeMap::new(),
                    summary: hold.reason.clone(),
                });
                Some(closed.seq)
            }
            _ => None,
        };
        self.inner
            .supervisor
            .send(ApplyFirm { trigger, seq })
            .await?
    }

    /// The firm's hold on this strategy, while one is in force.
    pub async fn firm_hold(&self) -> Result<Option<crate::state_machine::HeldByFirm>, EngineError> {
        let (record, _) = self.inner.supervisor.send(ReadState).await?;
        Ok(record.firm_hold)
    }

    /// First step of a reset: answers the confirmation token.
    pub async fn request_reset(
        &self,
        operator: &str,
        reason: Option<&str>,
    ) -> Result<ResetTicket, EngineError> {
        required("operator", operator)?;
        self.inner
            .manual
            .send(ApplyResetRequest {
                operator: operator.into(),
                reason: reason.map(String::from),
            })
            .await?
    }

    /// Second step of a reset. Durable when it returns.
    pub async fn confirm_reset(
        &self,
        operator: &str,
        token: &str,
        rebase_high_water_mark: bool,
    ) -> Result<StateRecord, EngineError> {
        required("operator", operator)?;
        required("confirmation_token", token)?;
        self.inner
            .manual
            .send(ApplyResetConfirm {
                operator: operator.into(),
                token: token.into(),
                rebase_high_water_mark,
            })
            .await?
    }
}
