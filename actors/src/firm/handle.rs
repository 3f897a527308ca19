//! The firm in one process, and the seam to many: [`FirmHandle`] links the local strategies'
//! engines to the firm's control record, wherever that record lives ([`ControlStore`]: the sled
//! checkpoint without `[cluster]`, the NATS key-value bucket with it).
//!
//! - An operator's firm or desk halt, firm reset and its confirmation change the record
//!   (durable when answered), then the handle applies the record to every local strategy:
//!   each strategy's own state machine records the hold (`firm_halt`, `firm:<breaker>`) or
//!   its release (`firm_reset`).
//! - [`FirmHandle::evaluate`] feeds the firm breakers (the strategies' own pure rules) with the
//!   aggregate of every strategy of the firm (local ones, and those other hosts report through
//!   the store), writes a trip into the record once, and applies the record.
//! - [`FirmHandle::apply`] brings every local strategy in line with a record, whoever wrote it.
//!
//! Nothing here is on the order path: a strategy's gate closes when its Supervisor records the
//! hold, and never waits on the store.

use crate::breaker::BreakerKind;
use crate::clock::SharedClock;
use crate::engine::{BreakerCondition, BreakerStatus, EngineHandle};
use crate::error::EngineError;
use crate::firm::figures::{member_total, FirmTotal, OrderCounters};
use crate::firm::store::{ControlStore, FirmStoreError};
use crate::firm::views::{
    FirmPortfolioView, FirmResetTicket, FirmStrategyView, FirmView, HaltOutcome, HostView,
    RemoteStrategy, RemovedHost, StrategyRef,
};
use crate::firm::{
    FirmBreakerSettings, FirmBreakerState, FirmBreakers, FirmChange, FirmControl, FirmError,
    FirmTrigger, FirmTrip,
};
use crate::state_machine::{FirmHoldKind, Trigger};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// One local strategy of the firm.
#[derive(Clone)]
pub struct FirmMember {
    /// Its engine.
    pub engine: EngineHandle,
    /// Its desk label.
    pub desk: Option<String>,
}

impl FirmMember {
    /// The member for `engine`, on the desk its settings name.
    pub fn of(engine: &EngineHandle) -> Self {
        Self {
            engine: engine.clone(),
            desk: engine.desk().map(String::from),
        }
    }
}

impl FirmParts {
    /// A firm of `engines` alone, on this host (`local`), its record in `store`, no firm
    /// breaker, resets confirmed within 300 s.
    pub fn local<'a>(
        name: &str,
        engines: impl IntoIterator<Item = &'a EngineHandle>,
        store: Arc<dyn ControlStore>,
        clock: SharedClock,
    ) -> Self {
        Self {
            name: name.to_string(),
            host_id: "local".into(),
            breakers: FirmBreakerSettings::default(),
            members: engines.into_iter().map(FirmMember::of).collect(),
            store,
            clock,
            reset_ttl: Duration::seconds(300),
        }
    }
}

/// What [`FirmHandle::start`] needs.
#[derive(Clone)]
pub struct FirmParts {
    /// The firm's name.
    pub name: String,
    /// This host's id (`local` without `[cluster]`).
    pub host_id: String,
    /// The firm breakers.
    pub breakers: FirmBreakerSettings,
    /// The local strategies.
    pub members: Vec<FirmMember>,
    /// Where the control record lives.
    pub store: Arc<dyn ControlStore>,
    /// The engine's clock.
    pub clock: SharedClock,
    /// How long a firm reset waits for its confirmation.
    pub reset_ttl: Duration,
}

/// A firm operation that could not be done.
#[derive(Debug, Clone, Error)]
pub enum FirmOpError {
    /// Bad input: names the field and the value; nothing changed.
    #[error("{field}: {value:?} {problem}")]
    Input {
        /// The field.
        field: &'static str,
        /// The value.
        value: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The firm's state machine refused; nothing changed.
    #[error(transparent)]
    Refused(#[from] FirmError),
    /// The record could not be stored. For a halt, it is applied on this host all the same.
    #[error(transparent)]
    Store(#[from] FirmStoreError),
    /// No host of that id is known to the firm.
    #[error("host_id: {0:?} is no host of the firm")]
    UnknownHost(String),
    /// The host is connected (or is this one): only a decommissioned host is removed.
    #[error("host_id: {0:?} is connected; stop it before removing it from the firm")]
    HostConnected(String),
    /// A local strategy could not apply the record.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

struct Inner {
    parts: FirmParts,
    // One application at a time: two would both find a strategy unheld and both hold it.
    // The generation last applied: a record older than it (read before a newer one was
    // applied) is never applied after it.
    applying: tokio::sync::Mutex<u64>,
    // The hold each local strategy is known to be in (only this handle changes it): saves a
    // round trip to each Supervisor when a record arrives.
    holds: Mutex<std::collections::HashMap<String, Option<FirmHoldKind>>>,
    breakers: Mutex<FirmBreakers>,
    // Each strategy's submission count as last seen, for the firm's order rate.
    orders: Mutex<OrderCounters>,
    // The record last applied: whose strategies count in the figures.
    record: Mutex<FirmControl>,
}

/// The firm's handle: firm-wide and desk-wide control over every local strategy.
#[derive(Clone)]
pub struct FirmHandle {
    inner: Arc<Inner>,
}

fn required(field: &'static str, value: &str) -> Result<(), FirmOpError> {
    if value.trim().is_empty() {
        return Err(FirmOpError::Input {
            field,
            value: value.to_string(),
            problem: "must not be empty",
        });
    }
    Ok(())
}

impl FirmHandle {
    /// Starts the firm: reads the record in force and applies it to every local strategy, so
    /// a host that starts while a halt is in force comes up halted.
    /// When the store cannot be read (the bus out of reach at start-up), nothing is applied:
    /// every strategy keeps the hold its own checkpoint holds, and the host's link to the bus
    /// applies the record once it can read it.
    pub async fn start(parts: FirmParts) -> Result<Self, FirmOpError> {
        let control = match parts.store.load().await {
            Ok(control) => Some(control),
            Err(e) if parts.store.shared() => {
                tracing::error!(error = %e, "the firm's record is out of reach at start");
                None
            }
            Err(e) => return Err(e.into()),
        };
        let durable = control
            .as_ref()
            .map(|c| c.breakers.clone())
            .unwrap_or_default();
        let breakers = FirmBreakers::new(&parts.breakers, &durable);
        let handle = Self {
            inner: Arc::new(Inner {
                parts,
                applying: tokio::sync::Mutex::new(0),
                holds: Mutex::new(std::collections::HashMap::new()),
                breakers: Mutex::new(breakers),
                orders: Mutex::new(OrderCounters::default()),
                record: Mutex::new(FirmControl::default()),
            }),
        };
        if let Some(control) = control {
            handle.apply(&control).await?;
        }
        Ok(handle)
    }

    /// The firm's name.
    pub fn name(&self) -> &str {
        &self.inner.parts.name
    }

    /// This host's id.
    pub fn host_id(&self) -> &str {
        &self.inner.parts.host_id
    }

    /// The local strategies.
    pub fn members(&self) -> &[FirmMember] {
        &self.inner.parts.members
    }

    /// The store of the control record.
    pub fn store(&self) -> &Arc<dyn ControlStore> {
        &self.inner.parts.store
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.parts.clock.now()
    }

    /// Halts every strategy of the firm (`desk: None`) or of one desk: the record is stored
    /// (durable), then applied to every local strategy before this answers. When the store
    /// fails, the halt is applied on this host all the same and the error is answered.
    pub async fn halt(
        &self,
        operator: &str,
        reason: &str,
        desk: Option<&str>,
    ) -> Result<HaltOutcome, FirmOpError> {
        required("operator", operator)?;
        required("reason", reason)?;
        if let Some(d) = desk {
            required("desk", d)?;
            let known = self.members().iter().any(|m| m.desk.as_deref() == Some(d));
            if !known && !self.store().shared() {
                return Err(FirmOpError::Input {
                    field: "desk",
                    value: d.to_string(),
                    problem: "is no strategy's desk",
                });
            }
        }
        let trigger = FirmTrigger::Halt {
            operator: operator.to_string(),
            reason: reason.to_string(),
            host_id: self.host_id().to_string(),
            desk: desk.map(String::from),
        };
        let now = self.now();
        let stored = {
            let t = trigger.clone();
            self.store()
                .update(Box::new(move |c| c.apply(t.clone(), now)))
                .await
        };
        let control = match stored {
            Ok(Ok((_, control))) => control,
            Ok(Err(e)) => return Err(e.into()),
            Err(e) => {
                // Fail closed: the halt holds here even though the firm could not store it;
                // nothing else held is released.
                let mut alone = FirmControl::default();
                let _ = alone.apply(trigger, now);
                for member in self.members() {
                    if let Some(hold) = alone.hold_for(member.desk.as_deref()) {
                        member
                            .engine
                            .operator()
                            .apply_firm(Trigger::FirmHold(hold))
                            .await?;
                    }
                }
                // Held outside a record: read each strategy's hold again next time.
                self.inner
                    .holds
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clear();
                return Err(e.into());
            }
        };
        let halted = self.apply(&control).await?;
        let (remote, pending_hosts) = self.store().confirmations(control.generation, desk).await;
        let mut halted: Vec<StrategyRef> = halted
            .into_iter()
            .filter(|m| match desk {
                None => true,
                Some(d) => m.1.as_deref() == Some(d),
            })
            .map(|(name, _)| StrategyRef {
                host_id: self.host_id().to_string(),
                name,
            })
            .chain(remote)
            .collect();
        halted.sort();
        Ok(HaltOutcome {
            halted,
            pending_hosts,
            state: control.state(),
            generation: control.generation,
        })
    }

    /// First step of a firm reset (`desk: None`: the firm halt, the firm trips and every desk
    /// halt; `Some`: that desk's halt).
    pub async fn request_reset(
        &self,
        operator: &str,
        desk: Option<&str>,
    ) -> Result<FirmResetTicket, FirmOpError> {
        required("operator", operator)?;
        if let Some(d) = desk {
            required("desk", d)?;
        }
        let now = self.now();
        let token = crate::actors::supervisor::random_token(32);
        let expires_at = now + self.inner.parts.reset_ttl;
        let trigger = FirmTrigger::RequestReset {
            operator: operator.to_string(),
            token: token.clone(),
            expires_at,
            desk: desk.map(String::from),
        };
        self.store()
            .update(Box::new(move |c| c.apply(trigger.clone(), now)))
            .await??;
        Ok(FirmResetTicket {
            confirmation_token: token,
            expires_at,
        })
    }

    /// Second step of a firm reset: lifts the halts it names and applies the record; each
    /// strategy returns to what its own rules say. The firm breakers are re-armed: one whose
    /// condition still holds trips again at the next evaluation.
    pub async fn confirm_reset(
        &self,
        operator: &str,
        token: &str,
    ) -> Result<FirmControl, FirmOpError> {
        required("operator", operator)?;
        required("confirmation_token", token)?;
        let now = self.now();
        let trigger = FirmTrigger::ConfirmReset {
            operator: operator.to_string(),
            token: token.to_string(),
        };
        let (_, control) = self
            .store()
            .update(Box::new(move |c| {
                let change = c.apply(trigger.clone(), now)?;
                c.released_by = Some(match &trigger {
                    FirmTrigger::ConfirmReset { operator, .. } => operator.clone(),
                    _ => String::new(),
                });
                Ok(change)
            }))
            .await??;
        if control.trips.is_empty() {
            self.lock_breakers().rearm(now);
        }
        self.apply(&control).await?;
        Ok(control)
    }

    fn known_hold(&self, strategy: &str) -> Option<Option<FirmHoldKind>> {
        self.inner
            .holds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(strategy)
            .copied()
    }

    fn know_hold(&self, strategy: String, kind: Option<FirmHoldKind>) {
        self.inner
            .holds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(strategy, kind);
    }

    fn lock_breakers(&self) -> std::sync::MutexGuard<'_, FirmBreakers> {
        self.inner
            .breakers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Brings every local strategy in line with `control`: holds where it holds, releases
    /// where it no longer does. Answers every local strategy held now, with its desk.
    pub async fn apply(
        &self,
        control: &FirmControl,
    ) -> Result<Vec<(String, Option<String>)>, FirmOpError> {
        let mut last_applied = self.inner.applying.lock().await;
        if control.generation < *last_applied {
            return Ok(self
                .members()
                .iter()
                .filter(|m| control.hold_for(m.desk.as_deref()).is_some())
                .map(|m| (m.engine.name().to_string(), m.desk.clone()))
                .collect());
        }
        *last_applied = control.generation;
        self.lock_breakers().absorb(&control.breakers);
        {
            let mut record = self.record();
            if control.breakers.basis >= record.breakers.basis {
                *record = control.clone();
            }
        }
        // Every strategy at once: each waits for its own checkpoint, not for the others'.
        let applied = futures::future::join_all(self.members().iter().map(|member| async move {
            let wanted = control.hold_for(member.desk.as_deref());
            let name = member.engine.name().to_string();
            let known = self.known_hold(&name);
            let current = match known {
                Some(kind) => kind,
                None => member
                    .engine
                    .operator()
                    .firm_hold()
                    .await?
                    .map(|h| h.hold.kind),
            };
            match (&wanted, &current) {
                (Some(w), Some(c)) if w.kind == *c => {}
                (Some(w), _) => {
                    member
                        .engine
                        .operator()
                        .apply_firm(Trigger::FirmHold(w.clone()))
                        .await?;
                }
                (None, Some(_)) => {
                    member
                        .engine
                        .operator()
                        .apply_firm(Trigger::FirmRelease {
                            operator: control
                                .released_by
                                .clone()
                                .unwrap_or_else(|| crate::state_machine::ENGINE_OPERATOR.into()),
                        })
                        .await?;
                }
                (None, None) => {}
            }
            self.know_hold(name, wanted.as_ref().map(|w| w.kind));
            Ok::<_, EngineError>(wanted.is_some())
        }))
        .await;
        let mut held = Vec::new();
        let mut first_error = None;
        for (member, result) in self.members().iter().zip(applied) {
            match result {
                Ok(true) => held.push((member.engine.name().to_string(), member.desk.clone())),
                Ok(false) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(held),
        }
    }

    /// Every strategy of the firm as reported: the hosts' records when the figures must agree
    /// on every host, else the local strategies live and what other hosts report.
    async fn reported(&self) -> Result<Vec<RemoteStrategy>, FirmOpError> {
        if let Some(all) = self.store().firm_strategies() {
            return Ok(all);
        }
        let mut out = Vec::with_capacity(self.members().len());
        for member in self.members() {
            let status = member.engine.status().await?;
            out.push(RemoteStrategy {
                host_id: self.host_id().to_string(),
                name: status.name,
                desk: member.desk.clone(),
                state: status.state,
                portfolio_value: status.portfolio.value,
                daily_pnl: status.portfolio.daily_pnl,
                orders_submitted: status.orders_accepted
                    + status.orders_rejected.values().sum::<u64>(),
            });
        }
        out.extend(self.store().remote_strategies());
        Ok(out)
    }

    /// The control record this host applied last (its members and baselines included).
    pub fn applied_record(&self) -> FirmControl {
        self.record().clone()
    }

    fn record(&self) -> std::sync::MutexGuard<'_, FirmControl> {
        self.inner.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Feeds the firm breakers with the aggregate of every member strategy of the firm (local,
    /// and what other hosts report): strategies reporting a first value join the record's
    /// members first (compare-and-set, once), then the sum of the members' last known values
    /// is judged. Writes a trip into the record once (compare-and-set), keeps the breakers'
    /// durable state in the record, and applies the record. Answers the record.
    pub async fn evaluate(&self) -> Result<FirmControl, FirmOpError> {
        let now = self.now();
        let reported = self.reported().await?;
        let joining = {
            let record = self.record();
            reported
                .iter()
                .any(|s| s.portfolio_value.is_some() && !record.is_member(&s.host_id, &s.name))
        };
        if joining {
            let candidates = reported.clone();
            let (_, control) = self
                .store()
                .update(Box::new(move |c| {
                    Ok(match c.admit(&candidates)? {
                        0 => FirmChange::Unchanged,
                        _ => FirmChange::Changed,
                    })
                }))
                .await??;
            self.apply(&control).await?;
        }
        let total = member_total(&self.record(), &reported);
        let (trips, durable) = {
            let mut orders = self.inner.orders.lock().unwrap_or_else(|p| p.into_inner());
            let mut breakers = self.lock_breakers();
            let mut trips = Vec::new();
            match total {
                FirmTotal::Value(total) => trips.extend(breakers.on_total_value(total, now)),
                FirmTotal::Unjudged(bound) => trips.extend(breakers.on_total_unjudged(bound, now)),
                FirmTotal::Incomplete => {}
            }
            let new_orders = orders.advance(&reported);
            trips.extend(breakers.on_submissions(new_orders, now));
            (trips, breakers.durable_state())
        };
        let host_id = self.host_id().to_string();
        let (_, control) = self
            .store()
            .update(Box::new(move |c| {
                let mut change = FirmChange::Unchanged;
                let merged = merge_breaker_state(&c.breakers, &durable);
                if merged != c.breakers {
                    c.breakers = merged;
                    change = FirmChange::Changed;
                }
                for trip in &trips {
                    let t = FirmTrigger::Trip(FirmTrip {
                        trip: trip.clone(),
                        host_id: host_id.clone(),
                    });
                    if c.apply(t, now)? == FirmChange::Changed {
                        change = FirmChange::Changed;
                    }
                }
                Ok(change)
            }))
            .await??;
        self.apply(&control).await?;
        Ok(control)
    }

    /// Removes a decommissioned host's strategies from the firm's figures (`DELETE
    /// /api/v1/firm/hosts/{host_id}`): their last known values leave the value and the
    /// baselines alike, the host's record leaves the store, and every local strategy's audit
    /// trail records `firm_host_removed` with the operator. A connected host, or this one, is
    /// refused: it would join again with its next record.
    pub async fn remove_host(
        &self,
        operator: &str,
        host_id: &str,
    ) -> Result<RemovedHost, FirmOpError> {
        required("operator", operator)?;
        required("host_id", host_id)?;
        let live = self
            .store()
            .remote_hosts()
            .iter()
            .any(|h| h.host_id == host_id && h.connected);
        if host_id == self.host_id() || live {
            return Err(FirmOpError::HostConnected(host_id.to_string()));
        }
        let reported = self.reported().await?;
        let last_values: BTreeMap<String, Decimal> = reported
            .iter()
            .filter(|s| s.host_id == host_id)
            .filter_map(|s| Some((s.name.clone(), s.portfolio_value?)))
            .collect();
        let known = reported.iter().any(|s| s.host_id == host_id)
            || self.store().load().await?.members.contains_key(host_id);
        if !known {
            return Err(FirmOpError::UnknownHost(host_id.to_string()));
        }
        // The record first: with it gone the host cannot be admitted again.
        self.store().forget_host(host_id).await?;
        let leaving = host_id.to_string();
        let removed = std::sync::Arc::new(Mutex::new(Vec::new()));
        let answer = removed.clone();
        let (_, control) = self
            .store()
            .update(Box::new(move |c| {
                let names = c.remove_host(&leaving, &last_values)?;
                let change = if names.is_empty() {
                    FirmChange::Unchanged
                } else {
                    FirmChange::Changed
                };
                *answer.lock().unwrap_or_else(|p| p.into_inner()) = names;
                Ok(change)
            }))
            .await??;
        self.apply(&control).await?;
        let strategies = std::mem::take(&mut *removed.lock().unwrap_or_else(|p| p.into_inner()));
        let value = reported
            .iter()
            .filter(|s| s.host_id == host_id && strategies.contains(&s.name))
            .filter_map(|s| s.portfolio_value)
            .fold(Decimal::ZERO, |a, v| a.saturating_add(v));
        tracing::warn!(%operator, %host_id, ?strategies, %value, "host removed from the firm's figures");
        for member in self.members() {
            member
                .engine
                .operator()
                .apply_firm(Trigger::FirmHostRemoved {
                    operator: operator.to_string(),
                    host_id: host_id.to_string(),
                    strategies: strategies.clone(),
                    value,
                })
                .await?;
        }
        Ok(RemovedHost {
            host_id: host_id.to_string(),
            strategies,
            value,
        })
    }

    /// The firm view: every host and strategy with its state, the firm breakers, the figures.
    pub async fn view(&self) -> Result<FirmView, FirmOpError> {
        let now = self.now();
        let control = self.store().load().await?;
        let reported = self.reported().await?;
        let total = member_total(&control, &reported);
        let strategies = reported
            .into_iter()
            .map(|r| FirmStrategyView {
                host_id: r.host_id,
                name: r.name,
                desk: r.desk,
                state: r.state,
                portfolio_value: r.portfolio_value,
                daily_pnl: r.daily_pnl,
            })
            .collect();
        let mut hosts = vec![HostView {
            host_id: self.host_id().to_string(),
            connected: true,
            last_seen: now,
        }];
        hosts.extend(self.store().remote_hosts());
        let (readings, (high_water_mark, drawdown, daily_pnl)) = {
            let b = self.lock_breakers();
            (b.readings(now), b.figures())
        };
        let breakers = readings
            .into_iter()
            .map(|r| {
                let tripped_at = control
                    .trips
                    .iter()
                    .find(|t| t.trip.breaker == r.breaker)
                    .map(|t| t.trip.at);
                BreakerStatus {
                    kind: r.breaker,
                    status: if tripped_at.is_some() {
                        BreakerCondition::Tripped
                    } else {
                        BreakerCondition::Ok
                    },
                    enabled: r.enabled,
                    ready: r.ready,
                    value: r.value,
                    limit: r.limit,
                    tripped_at,
                    details: r.details,
                }
            })
            .chain(std::iter::once(manual_status(&control)))
            .collect();
        Ok(FirmView {
            firm: self.name().to_string(),
            state: control.state(),
            hosts,
            strategies,
            breakers,
            portfolio: FirmPortfolioView {
                value: total.shown(),
                high_water_mark,
                drawdown,
                daily_pnl,
            },
            control,
            bus: self.store().bus(),
        })
    }
}

fn manual_status(control: &FirmControl) -> BreakerStatus {
    let tripped_at = control.halt.as_ref().map(|h| h.at);
    let mut details = BTreeMap::new();
    // The names a strategy's manual breaker uses, so the dashboard shows both alike.
    if let Some(h) = &control.halt {
        details.insert("last_halt_operator".into(), h.operator.clone());
        details.insert("last_halt_reason".into(), h.reason.clone());
        details.insert("host_id".into(), h.host_id.clone());
    }
    for (desk, h) in &control.desk_halts {
        details.insert(
            format!("desk:{desk}"),
            format!("{} by {}: {}", h.at, h.operator, h.reason),
        );
    }
    BreakerStatus {
        kind: BreakerKind::Manual,
        status: if tripped_at.is_some() {
            BreakerCondition::Tripped
        } else {
            BreakerCondition::Ok
        },
        enabled: true,
        ready: true,
        value: None,
        limit: None,
        tripped_at,
        details,
    }
}

/// Merges this host's view of the firm breakers' durable state into the record's: the higher
/// high-water mark; the later session, and within one session the open value first written.
/// Baselines of an older basis than the record's (the membership changed since this host read
/// them) leave the record as it is.
pub fn merge_breaker_state(record: &FirmBreakerState, mine: &FirmBreakerState) -> FirmBreakerState {
    if mine.basis != record.basis {
        // A newer basis wins; a record whose basis went back was lost and written anew.
        return if mine.basis > record.basis {
            mine.clone()
        } else {
            record.clone()
        };
    }
    let drawdown = match (record.drawdown, mine.drawdown) {
        (Some(a), Some(b)) if b.high_water_mark > a.high_water_mark => Some(b),
        (Some(a), _) => Some(a),
        (None, b) => b,
    };
    let daily_loss = match (record.daily_loss, mine.daily_loss) {
        (Some(a), Some(b)) if b.session_date > a.session_date => Some(b),
        (Some(a), _) => Some(a),
        (None, b) => b,
    };
    FirmBreakerState {
        drawdown,
        daily_loss,
        basis: record.basis,
    }
}
