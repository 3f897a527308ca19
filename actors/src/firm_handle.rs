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
use crate::checkpoint::{CheckpointError, CheckpointStore};
use crate::clock::SharedClock;
use crate::engine::{BreakerCondition, BreakerStatus, EngineHandle};
use crate::error::EngineError;
use crate::firm::{
    FirmBreakerSettings, FirmBreakerState, FirmBreakers, FirmChange, FirmControl, FirmError,
    FirmTrigger, FirmTrip,
};
use crate::firm_figures::{member_total, FirmTotal, OrderCounters};
use crate::state_machine::{EngineState, FirmHoldKind, Trigger};
use chrono::{DateTime, Duration, Utc};
use futures::future::BoxFuture;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// The firm's store could not be read or written.
#[derive(Debug, Clone, Error)]
pub enum FirmStoreError {
    /// The sled checkpoint failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The bus could not store or read the record in time.
    #[error("bus unavailable: {0}")]
    BusUnavailable(String),
}

/// A change to the control record, run by the store (possibly several times, against the
/// record in force each time: compare-and-set).
pub type ControlChange<'a> =
    Box<dyn FnMut(&mut FirmControl) -> Result<FirmChange, FirmError> + Send + 'a>;

/// What a store's update answers: the store's failure outside, the firm's refusal inside, or
/// what the change did with the record now in force.
pub type ControlUpdate = Result<Result<(FirmChange, FirmControl), FirmError>, FirmStoreError>;

/// One strategy of another host, as that host reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteStrategy {
    /// The host that runs it.
    pub host_id: String,
    /// Its name.
    pub name: String,
    /// Its desk label.
    pub desk: Option<String>,
    /// Its state.
    pub state: EngineState,
    /// Its last portfolio value.
    pub portfolio_value: Option<Decimal>,
    /// Its profit or loss since the open.
    pub daily_pnl: Option<Decimal>,
    /// Orders submitted since its host started.
    pub orders_submitted: u64,
}

/// A host of the firm, as the firm view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostView {
    /// Its id.
    pub host_id: String,
    /// Whether it is reachable: for this host, whether it holds the bus (always, without one);
    /// for another, whether it reported within the lease.
    pub connected: bool,
    /// When it last reported.
    pub last_seen: DateTime<Utc>,
}

/// This host's link to the firm's bus, as the firm view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusView {
    /// Whether the client holds a connection to a NATS server now.
    pub connected: bool,
    /// Since when the bus is out of reach, while it is.
    pub lost_since: Option<DateTime<Utc>>,
    /// Whether `on_bus_loss` is in force on this host's strategies.
    pub on_bus_loss_applied: bool,
}

/// Where the firm's control record lives.
pub trait ControlStore: Send + Sync + 'static {
    /// The record in force.
    fn load(&self) -> BoxFuture<'_, Result<FirmControl, FirmStoreError>>;
    /// Runs `change` against the record in force and stores the result, durable when it
    /// resolves; answers `change`'s refusal, or the record now in force with the change.
    fn update<'a>(&'a self, change: ControlChange<'a>) -> BoxFuture<'a, ControlUpdate>;
    /// Whether other hosts share the record (desks may then live on other hosts).
    fn shared(&self) -> bool {
        false
    }
    /// The strategies other hosts report, for the aggregate and the firm view.
    fn remote_strategies(&self) -> Vec<RemoteStrategy> {
        Vec::new()
    }
    /// The other hosts, for the firm view.
    fn remote_hosts(&self) -> Vec<HostView> {
        Vec::new()
    }
    /// This host's link to the bus; `None` without one.
    fn bus(&self) -> Option<BusView> {
        None
    }
    /// Every strategy of the firm as the hosts reported it, this host's included, when the
    /// figures must be the same on every host (many hosts); `None`: judge the local ones live.
    fn firm_strategies(&self) -> Option<Vec<RemoteStrategy>> {
        None
    }
    /// Deletes `host_id`'s record and acknowledgements from the store (the operator's removal
    /// of a decommissioned host).
    fn forget_host<'a>(&'a self, host_id: &'a str) -> BoxFuture<'a, Result<(), FirmStoreError>> {
        let _ = host_id;
        Box::pin(async { Ok(()) })
    }
    /// Waits (at most 2 s) for the other connected hosts to confirm they applied control
    /// generation `generation`; answers the strategies of `desk` (all, with `None`) on the
    /// hosts that confirmed, and the hosts that did not.
    fn confirmations<'a>(
        &'a self,
        generation: u64,
        desk: Option<&'a str>,
    ) -> BoxFuture<'a, (Vec<StrategyRef>, Vec<String>)> {
        let _ = (generation, desk);
        Box::pin(async { (Vec::new(), Vec::new()) })
    }
}

/// The control record in the sled checkpoint: one process, no `[cluster]`.
pub struct SledControlStore {
    store: CheckpointStore,
    // Serialises changes; holds the record in force.
    current: tokio::sync::Mutex<FirmControl>,
}

impl SledControlStore {
    /// Opens the record kept in `store` (a fresh one on a fresh database).
    pub fn open(store: CheckpointStore) -> Result<Self, FirmStoreError> {
        let current = store.load_firm()?.unwrap_or_default();
        Ok(Self {
            store,
            current: tokio::sync::Mutex::new(current),
        })
    }
}

impl ControlStore for SledControlStore {
    fn load(&self) -> BoxFuture<'_, Result<FirmControl, FirmStoreError>> {
        Box::pin(async move { Ok(self.current.lock().await.clone()) })
    }

    fn update<'a>(&'a self, mut change: ControlChange<'a>) -> BoxFuture<'a, ControlUpdate> {
        Box::pin(async move {
            let mut current = self.current.lock().await;
            let mut next = current.clone();
            let answer = match change(&mut next) {
                Ok(a) => a,
                Err(e) => return Ok(Err(e)),
            };
            if next != *current {
                self.store.save_firm(&next).await?;
                *current = next;
            }
            Ok(Ok((answer, current.clone())))
        })
    }
}

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

/// The answer to a firm or desk halt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HaltOutcome {
    /// The strategies confirmed halted, each with its host.
    pub halted: Vec<StrategyRef>,
    /// Hosts that have not confirmed yet.
    pub pending_hosts: Vec<String>,
    /// The firm's state after the halt.
    pub state: EngineState,
    /// The control generation the halt was written under.
    pub generation: u64,
}

/// The answer to removing a decommissioned host from the firm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedHost {
    /// The host removed.
    pub host_id: String,
    /// Its strategies that left the firm's figures.
    pub strategies: Vec<String>,
    /// The sum of their last known values, taken off the value and the baselines.
    pub value: Decimal,
}

/// A strategy on a host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct StrategyRef {
    /// The host.
    pub host_id: String,
    /// The strategy.
    pub name: String,
}

/// The token and deadline of a firm reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirmResetTicket {
    /// Hand it back to confirm.
    pub confirmation_token: String,
    /// After this the request lapses.
    pub expires_at: DateTime<Utc>,
}

/// One strategy in the firm view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirmStrategyView {
    /// Its host.
    pub host_id: String,
    /// Its name.
    pub name: String,
    /// Its desk label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desk: Option<String>,
    /// Its state.
    pub state: EngineState,
    /// Its last portfolio value.
    pub portfolio_value: Option<Decimal>,
    /// Its profit or loss since the open.
    pub daily_pnl: Option<Decimal>,
}

/// The firm's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirmPortfolioView {
    /// The sum of the strategies' portfolio values.
    pub value: Option<Decimal>,
    /// The firm drawdown breaker's high-water mark.
    pub high_water_mark: Option<Decimal>,
    /// The firm's drawdown, as a ratio (≤ 0).
    pub drawdown: Option<Decimal>,
    /// The firm's profit or loss since the open.
    pub daily_pnl: Option<Decimal>,
}

/// Everything the firm view shows (`GET /api/v1/firm`).
#[derive(Debug, Clone, Serialize)]
pub struct FirmView {
    /// The firm's name.
    pub firm: String,
    /// The firm-level state.
    pub state: EngineState,
    /// Every host.
    pub hosts: Vec<HostView>,
    /// Every strategy of every host.
    pub strategies: Vec<FirmStrategyView>,
    /// The firm breakers, in the shape of a strategy's.
    pub breakers: Vec<BreakerStatus>,
    /// The firm's figures.
    pub portfolio: FirmPortfolioView,
    /// The control record (firm halt, desk halts, trips, pending reset).
    pub control: FirmControl,
    /// This host's link to the firm's bus; `None` without `[cluster]`.
    pub bus: Option<BusView>,
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
                                .unwrap_or_else(|| crate::engine::ENGINE_OPERATOR.into()),
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
