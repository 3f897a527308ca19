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
    last: Mutex<Aggregate>,
}

#[derive(Debug, Default, Clone)]
struct Aggregate {
    orders_submitted: Option<u64>,
    value: Option<Decimal>,
}

/// The firm's handle: firm-wide and desk-wide control over every local strategy.
#[derive(Clone)]
pub struct FirmHandle {
    inner: Arc<Inner>,
}

/// Adds a strategy's value to the firm's sum; `None` once the sum does not fit a decimal, with
/// `overflow` the bound of the sign it went past.
fn add_value(total: &mut Option<Decimal>, overflow: &mut Decimal, v: Decimal) {
    if let Some(t) = *total {
        *total = t.checked_add(v);
        if total.is_none() {
            *overflow = if v < Decimal::ZERO {
                Decimal::MIN
            } else {
                Decimal::MAX
            };
        }
    }
}

/// `total + v` for the firm view, saturated at the decimal bounds.
fn saturating_sum(total: Option<Decimal>, v: Decimal) -> Decimal {
    let t = total.unwrap_or(Decimal::ZERO);
    t.checked_add(v).unwrap_or(if v < Decimal::ZERO {
        Decimal::MIN
    } else {
        Decimal::MAX
    })
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
                last: Mutex::new(Aggregate::default()),
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

    /// Feeds the firm breakers with the aggregate of every strategy of the firm (local, and
    /// what other hosts report), writes a trip into the record once (compare-and-set), keeps
    /// the breakers' durable state in the record, and applies the record. Answers the record.
    pub async fn evaluate(&self) -> Result<FirmControl, FirmOpError> {
        let now = self.now();
        // `None` once the sum no longer fits a decimal; the sign of the overflow kept aside.
        let mut total = Some(Decimal::ZERO);
        let mut overflow = Decimal::MAX;
        let mut valued = 0usize;
        let mut submitted = 0u64;
        let reported = self.store().firm_strategies();
        if reported.is_none() {
            for member in self.members() {
                let status = member.engine.status().await?;
                if let Some(v) = status.portfolio.value {
                    add_value(&mut total, &mut overflow, v);
                    valued += 1;
                }
                submitted += status.orders_accepted + status.orders_rejected.values().sum::<u64>();
            }
        }
        for remote in reported.unwrap_or_else(|| self.store().remote_strategies()) {
            if let Some(v) = remote.portfolio_value {
                add_value(&mut total, &mut overflow, v);
                valued += 1;
            }
            submitted += remote.orders_submitted;
        }
        let (trips, durable) = {
            let mut last = self.inner.last.lock().unwrap_or_else(|p| p.into_inner());
            let mut breakers = self.lock_breakers();
            let mut trips = Vec::new();
            match total {
                _ if valued == 0 => {}
                Some(total) => {
                    last.value = Some(total);
                    trips.extend(breakers.on_total_value(total, now));
                }
                None => {
                    last.value = Some(overflow);
                    trips.extend(breakers.on_total_unjudged(overflow, now));
                }
            }
            let new_orders = last
                .orders_submitted
                .map_or(0, |before| submitted.saturating_sub(before));
            last.orders_submitted = Some(submitted);
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

    /// The firm view: every host and strategy with its state, the firm breakers, the figures.
    pub async fn view(&self) -> Result<FirmView, FirmOpError> {
        let now = self.now();
        let control = self.store().load().await?;
        let mut strategies = Vec::new();
        let mut total: Option<Decimal> = None;
        let reported = self.store().firm_strategies();
        let local = if reported.is_some() {
            &[][..]
        } else {
            self.members()
        };
        for member in local {
            let status = member.engine.status().await?;
            if let Some(v) = status.portfolio.value {
                *total.get_or_insert(Decimal::ZERO) = saturating_sum(total, v);
            }
            strategies.push(FirmStrategyView {
                host_id: self.host_id().to_string(),
                name: status.name,
                desk: member.desk.clone(),
                state: status.state,
                portfolio_value: status.portfolio.value,
                daily_pnl: status.portfolio.daily_pnl,
            });
        }
        for r in reported.unwrap_or_else(|| self.store().remote_strategies()) {
            if let Some(v) = r.portfolio_value {
                *total.get_or_insert(Decimal::ZERO) = saturating_sum(total, v);
            }
            strategies.push(FirmStrategyView {
                host_id: r.host_id,
                name: r.name,
                desk: r.desk,
                state: r.state,
                portfolio_value: r.portfolio_value,
                daily_pnl: r.daily_pnl,
            });
        }
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
                value: total,
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
pub fn merge_breaker_state(record: &FirmBreakerState, mine: &FirmBreakerState) -> FirmBreakerState {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_add_value_when_sum_overflows_then_none_with_the_bound_of_its_sign() {
        let (mut total, mut overflow) = (Some(Decimal::ZERO), Decimal::ZERO);
        add_value(&mut total, &mut overflow, Decimal::new(-80, 0));
        assert_eq!(
            total,
            Some(Decimal::new(-80, 0)),
            "values below zero add up"
        );
        add_value(&mut total, &mut overflow, Decimal::MIN);
        assert_eq!((total, overflow), (None, Decimal::MIN));
        add_value(&mut total, &mut overflow, Decimal::MAX);
        assert_eq!(total, None, "once past a bound, the sum stays unjudgeable");
        assert_eq!(
            saturating_sum(Some(Decimal::MAX), Decimal::ONE),
            Decimal::MAX
        );
        assert_eq!(
            saturating_sum(Some(Decimal::MIN), -Decimal::ONE),
            Decimal::MIN
        );
    }
}
