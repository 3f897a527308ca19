//! One host's link to the firm's bus: [`BusControlStore`] keeps the firm's control record in
//! the NATS key-value bucket (compare-and-set), and [`ClusterLink`] links the local engines to
//! the bus:
//!
//! - it watches the control record and applies every change to every local strategy, then
//!   acknowledges the generation it applied (a firm halt's answer waits for those);
//! - it publishes this host's record (its strategies' state, values and orders) and follows
//!   every other host's, so every host judges the firm breakers on the same figures;
//! - it follows the bus's health: lost for longer than `lease` (disconnected, or connected
//!   while fewer than a majority of the configured servers accept a connection; connected
//!   but unable to write for longer than `lease` + [`LEADER_ELECTION`]), it applies `on_bus_loss` to
//!   every strategy (the gate refuses with `"breaker": "bus"`, the audit trail says
//!   `bus_lost`); back, it catches up with the record first, then lifts it (`bus_restored`).
//!
//! A host whose bus is out of reach at start-up starts with `on_bus_loss` applied and keeps
//! trying. The gate never waits on any of this.

use super::{BusConfig, FirmBus, HostChange, HostRecord, HostStrategy, TelemetryRecord};
use crate::config::BusLossPolicy;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::StreamExt;
use rustybt_actors::clock::SharedClock;
use rustybt_actors::decision::BusLossMode;
use rustybt_actors::firm::FirmControl;
use rustybt_actors::firm::{
    BusView, ControlChange, ControlStore, ControlUpdate, FirmHandle, FirmStoreError, HostView,
    RemoteStrategy, StrategyRef,
};
use rustybt_actors::state_machine::Trigger;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

/// How long a firm halt may wait for the bus to store it before it is answered
/// `503 bus_unavailable` (API.md).
pub const STORE_TIMEOUT: Duration = Duration::from_secs(10);

/// The pause between two tries of a read or write the bus refused (a stream electing its
/// leader after a node was lost).
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// How long a firm halt's answer waits for the other hosts' confirmations.
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the link reads what its watches follow. A watch can stall without an error (its
/// consumer lost with a node, recreated only after a missed heartbeat); the read bounds how long
/// such a stall may keep a firm halt from this host.
const RECONCILE_EVERY: Duration = Duration::from_millis(250);

/// How many reconciliations pass between two reads of every host's record and
/// acknowledgement (a listing of the bucket's keys, dearer than one read).
const RECONCILE_HOSTS_EVERY: u32 = 4;

/// How long a JetStream stream may go without a leader after losing its leader's node:
/// nats-server's followers wait 4 to 9 s without a heartbeat before they campaign, then vote.
/// A connected host whose writes fail for less than `lease` plus this is waiting out an
/// election, not without its bus.
pub const LEADER_ELECTION: Duration = Duration::from_secs(10);

/// How often the link counts the servers that accept a connection.
const PROBE_EVERY: Duration = Duration::from_millis(250);

/// `host:port` of each configured server URL (`nats://127.0.0.1:4222` → `127.0.0.1:4222`;
/// 4222 when none is given).
fn server_addresses(urls: &str) -> Vec<String> {
    urls.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| {
            let rest = u.split_once("://").map_or(u, |(_, r)| r);
            let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            let hostport = hostport.split('/').next().unwrap_or(hostport);
            if hostport
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            {
                hostport.to_string()
            } else {
                format!("{hostport}:4222")
            }
        })
        .collect()
}

fn unavailable(e: impl std::fmt::Display) -> FirmStoreError {
    FirmStoreError::BusUnavailable(e.to_string())
}

/// The firm's control record in the bus, with what the other hosts report.
pub struct BusControlStore {
    host_id: String,
    lease: chrono::Duration,
    clock: SharedClock,
    bus: RwLock<Option<FirmBus>>,
    hosts: Mutex<BTreeMap<String, HostRecord>>,
    acks: Mutex<BTreeMap<String, u64>>,
    loss_applied: std::sync::atomic::AtomicBool,
}

impl BusControlStore {
    /// A store for host `host_id`, not connected yet; another host counts as connected while
    /// it reported within twice the `lease`.
    pub fn new(host_id: &str, lease: chrono::Duration, clock: SharedClock) -> Arc<Self> {
        Arc::new(Self {
            host_id: host_id.to_string(),
            lease,
            clock,
            bus: RwLock::new(None),
            hosts: Mutex::new(BTreeMap::new()),
            acks: Mutex::new(BTreeMap::new()),
            loss_applied: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The bus, once connected.
    pub fn bus(&self) -> Option<FirmBus> {
        self.bus.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_bus(&self, bus: FirmBus) {
        *self.bus.write().unwrap_or_else(|p| p.into_inner()) = Some(bus);
    }

    fn connected_bus(&self) -> Result<FirmBus, FirmStoreError> {
        self.bus()
            .ok_or_else(|| unavailable("not connected to the firm's bus yet"))
    }

    fn host_records(&self) -> BTreeMap<String, HostRecord> {
        self.hosts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Keeps `record` unless a later one from the same host is known (a periodic read may
    /// return a record older than the watch's newest).
    fn note_host(&self, record: HostRecord) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let newer = hosts
            .get(&record.host_id)
            .is_none_or(|known| known.last_seen <= record.last_seen);
        if newer {
            hosts.insert(record.host_id.clone(), record);
        }
    }

    /// Forgets a host whose record was removed.
    fn forget(&self, host_id: &str) {
        self.hosts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(host_id);
        self.acks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(host_id);
    }

    /// Takes a full read of the host records: hosts no longer there are forgotten.
    fn note_hosts(&self, records: BTreeMap<String, HostRecord>) {
        let gone: Vec<String> = self
            .host_records()
            .into_keys()
            .filter(|h| !records.contains_key(h))
            .collect();
        for host in gone {
            self.forget(&host);
        }
        for record in records.into_values() {
            self.note_host(record);
        }
    }

    fn note_ack(&self, host: String, generation: u64) {
        let mut acks = self.acks.lock().unwrap_or_else(|p| p.into_inner());
        let known = acks.entry(host).or_default();
        *known = (*known).max(generation);
    }

    fn acks(&self) -> BTreeMap<String, u64> {
        self.acks.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn is_live(&self, record: &HostRecord, now: DateTime<Utc>) -> bool {
        now - record.last_seen <= self.lease * 2
    }
}

fn strategies_of(record: &HostRecord) -> impl Iterator<Item = RemoteStrategy> + '_ {
    record.strategies.iter().map(|s| RemoteStrategy {
        host_id: record.host_id.clone(),
        name: s.name.clone(),
        desk: s.desk.clone(),
        state: s.state,
        portfolio_value: s.portfolio_value,
        daily_pnl: s.daily_pnl,
        orders_submitted: s.orders_submitted,
    })
}

impl ControlStore for BusControlStore {
    fn load(&self) -> BoxFuture<'_, Result<FirmControl, FirmStoreError>> {
        Box::pin(async move {
            let bus = self.connected_bus()?;
            // A node lost a moment ago leaves a stream electing its leader: retry until then.
            let deadline = tokio::time::Instant::now() + STORE_TIMEOUT;
            loop {
                match tokio::time::timeout_at(deadline, bus.read_control()).await {
                    Ok(Ok((control, _))) => return Ok(control),
                    Ok(Err(e)) if tokio::time::Instant::now() + RETRY_PAUSE < deadline => {
                        tracing::debug!(error = %e, "reading the firm's record again");
                        tokio::time::sleep(RETRY_PAUSE).await;
                    }
                    Ok(Err(e)) => return Err(unavailable(e)),
                    Err(_) => return Err(unavailable("the bus did not answer within 10 s")),
                }
            }
        })
    }

    fn update<'a>(&'a self, mut change: ControlChange<'a>) -> BoxFuture<'a, ControlUpdate> {
        Box::pin(async move {
            let bus = self.connected_bus()?;
            let deadline = tokio::time::Instant::now() + STORE_TIMEOUT;
            loop {
                match tokio::time::timeout_at(deadline, bus.update_control(|c| change(c))).await {
                    Ok(Ok(written)) => {
                        return Ok(written.map(|(answer, control, _)| (answer, control)))
                    }
                    Ok(Err(e)) if tokio::time::Instant::now() + RETRY_PAUSE < deadline => {
                        tracing::debug!(error = %e, "storing the firm's record again");
                        tokio::time::sleep(RETRY_PAUSE).await;
                    }
                    Ok(Err(e)) => return Err(unavailable(e)),
                    Err(_) => {
                        return Err(unavailable(
                            "the bus could not store the change within 10 s",
                        ))
                    }
                }
            }
        })
    }

    fn shared(&self) -> bool {
        true
    }

    fn bus(&self) -> Option<BusView> {
        let bus = self.bus();
        Some(BusView {
            connected: bus.as_ref().is_some_and(FirmBus::is_connected),
            lost_since: match &bus {
                Some(b) if b.is_connected() => None,
                Some(b) => b.health().status().lost_since,
                None => None,
            },
            on_bus_loss_applied: self.loss_applied.load(std::sync::atomic::Ordering::Acquire),
        })
    }

    fn remote_strategies(&self) -> Vec<RemoteStrategy> {
        self.host_records()
            .values()
            .filter(|h| h.host_id != self.host_id)
            .flat_map(|h| strategies_of(h).collect::<Vec<_>>())
            .collect()
    }

    fn remote_hosts(&self) -> Vec<HostView> {
        let now = self.clock.now();
        self.host_records()
            .values()
            .filter(|h| h.host_id != self.host_id)
            .map(|h| HostView {
                host_id: h.host_id.clone(),
                connected: self.is_live(h, now),
                last_seen: h.last_seen,
            })
            .collect()
    }

    fn firm_strategies(&self) -> Option<Vec<RemoteStrategy>> {
        Some(
            self.host_records()
                .values()
                .flat_map(|h| strategies_of(h).collect::<Vec<_>>())
                .collect(),
        )
    }

    fn forget_host<'a>(&'a self, host_id: &'a str) -> BoxFuture<'a, Result<(), FirmStoreError>> {
        Box::pin(async move {
            let bus = self.connected_bus()?;
            match tokio::time::timeout(STORE_TIMEOUT, bus.forget_host(host_id)).await {
                Ok(Ok(())) => {
                    self.forget(host_id);
                    Ok(())
                }
                Ok(Err(e)) => Err(unavailable(e)),
                Err(_) => Err(unavailable("the bus did not answer within 10 s")),
            }
        })
    }

    fn confirmations<'a>(
        &'a self,
        generation: u64,
        desk: Option<&'a str>,
    ) -> BoxFuture<'a, (Vec<StrategyRef>, Vec<String>)> {
        Box::pin(async move {
            if self.bus().is_none() {
                return (Vec::new(), Vec::new());
            }
            let now = self.clock.now();
            let waiting: Vec<HostRecord> = self
                .host_records()
                .into_values()
                .filter(|h| h.host_id != self.host_id && self.is_live(h, now))
                .collect();
            let deadline = tokio::time::Instant::now() + CONFIRM_TIMEOUT;
            let mut acks;
            loop {
                // Followed by the link's watch of the acknowledgements: no round trip here.
                acks = self.acks();
                let all = waiting
                    .iter()
                    .all(|h| acks.get(&h.host_id).is_some_and(|g| *g >= generation));
                if all || tokio::time::Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let mut halted = Vec::new();
            let mut pending = Vec::new();
            // The strategies of a host that confirmed, as its freshest record names them.
            let records = self.host_records();
            for host in &waiting {
                if acks.get(&host.host_id).is_some_and(|g| *g >= generation) {
                    let record = records.get(&host.host_id).unwrap_or(host);
                    halted.extend(
                        record
                            .strategies
                            .iter()
                            .filter(|s| desk.is_none() || s.desk.as_deref() == desk)
                            .map(|s| StrategyRef {
                                host_id: host.host_id.clone(),
                                name: s.name.clone(),
                            }),
                    );
                } else {
                    pending.push(host.host_id.clone());
                }
            }
            (halted, pending)
        })
    }
}

/// How the link behaves.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// Where the bus is and who this host is.
    pub bus: BusConfig,
    /// How long without the bus before `on_bus_loss` applies.
    pub lease: chrono::Duration,
    /// What applies then.
    pub on_bus_loss: BusLossPolicy,
    /// How often this host publishes its record.
    pub publish_every: Duration,
}

/// One host's link to the firm's bus.
pub struct ClusterLink {
    settings: LinkSettings,
    store: Arc<BusControlStore>,
    clock: SharedClock,
    // Whether `on_bus_loss` is in force on this host's strategies.
    loss_applied: Mutex<bool>,
    // When a write to the bus last succeeded (a connection without a quorum is no bus).
    last_bus_ok: Mutex<Option<DateTime<Utc>>>,
    reconnected: Notify,
    publish_now: Notify,
    applied_generation: std::sync::atomic::AtomicU64,
    // Since when fewer than a majority of the configured servers accept a connection: the
    // survivor a host is connected to cannot store anything then, so waiting out an election
    // would only delay `on_bus_loss`.
    minority_since: Mutex<Option<DateTime<Utc>>>,
    // This host's strategies as its record before this start had them: their last values
    // stand until each reports again, their submission counts carry on from there.
    carried: Mutex<BTreeMap<String, HostStrategy>>,
}

impl ClusterLink {
    /// A link for `store`'s host.
    pub fn new(
        settings: LinkSettings,
        store: Arc<BusControlStore>,
        clock: SharedClock,
    ) -> Arc<Self> {
        Arc::new(Self {
            settings,
            store,
            clock,
            loss_applied: Mutex::new(false),
            last_bus_ok: Mutex::new(None),
            reconnected: Notify::new(),
            publish_now: Notify::new(),
            applied_generation: std::sync::atomic::AtomicU64::new(0),
            carried: Mutex::new(BTreeMap::new()),
            minority_since: Mutex::new(None),
        })
    }

    /// Whether `on_bus_loss` is in force on this host now.
    pub fn bus_loss_applied(&self) -> bool {
        *self.loss_applied.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Connects (with `on_bus_loss` applied while the bus is out of reach), then runs the
    /// watches, the publisher and the health check for as long as the process lives.
    pub async fn run(self: Arc<Self>, firm: FirmHandle) {
        let started = self.clock.now();
        // Until this host has read the firm's record, it is not protected by it: the gate
        // holds `on_bus_loss` in memory from the first instant (recorded only if the bus stays
        // out of reach).
        let mode = self.loss_mode();
        for member in firm.members() {
            member.engine.set_bus_loss(mode);
        }
        let bus = loop {
            match FirmBus::connect(self.settings.bus.clone(), self.clock.clone()).await {
                Ok(bus) => break bus,
                Err(e) => {
                    tracing::error!(error = %e, "the firm's bus is out of reach");
                    // Never NORMAL-and-unprotected: out of reach at start-up applies at once.
                    self.apply_loss(&firm, started).await;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        };
        self.carry_over(&bus).await;
        self.store.set_bus(bus.clone());
        *self.last_bus_ok.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.clock.now());
        tracing::info!(
            firm = bus.firm(),
            host_id = bus.host_id(),
            "joined the firm's bus"
        );
        if self.bus_loss_applied() {
            self.catch_up(&firm, &bus).await;
        } else {
            loop {
                match tokio::time::timeout(Duration::from_secs(5), bus.read_control()).await {
                    Ok(Ok((control, _))) if firm.apply(&control).await.is_ok() => {
                        self.applied_generation
                            .fetch_max(control.generation, std::sync::atomic::Ordering::AcqRel);
                        let _ = bus.acknowledge(control.generation).await;
                        break;
                    }
                    _ => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
            for member in firm.members() {
                member.engine.set_bus_loss(None);
            }
        }
        tokio::spawn(self.clone().watch_control(firm.clone(), bus.clone()));
        tokio::spawn(self.clone().watch_hosts(bus.clone()));
        tokio::spawn(self.clone().watch_acks(bus.clone()));
        tokio::spawn(self.clone().publish(firm.clone(), bus.clone()));
        tokio::spawn(self.clone().reconcile(firm.clone(), bus.clone()));
        tokio::spawn(self.clone().probe_servers());
        self.health(firm, bus).await;
    }

    /// Reads the control record, the host records and the acknowledgements on a timer and
    /// applies what the watches have not brought.
    async fn reconcile(self: Arc<Self>, firm: FirmHandle, bus: FirmBus) {
        let mut ticks = tokio::time::interval(RECONCILE_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut round: u32 = 0;
        loop {
            ticks.tick().await;
            round = round.wrapping_add(1);
            let read = tokio::time::timeout(Duration::from_secs(2), bus.read_control()).await;
            let read = match read {
                Ok(Ok(read)) => Some(read),
                Ok(Err(e)) if bus.is_connected() => {
                    self.recreate_if_wiped(&bus, &e).await;
                    None
                }
                _ => None,
            };
            if let Some((control, revision)) = read {
                let applied = self
                    .applied_generation
                    .load(std::sync::atomic::Ordering::Acquire);
                if revision == 0 && applied > 0 {
                    self.restore_wiped_record(&firm, &bus).await;
                } else if control.generation > applied {
                    tracing::debug!(
                        generation = control.generation,
                        "control generation read before the watch brought it"
                    );
                    self.apply_control(&firm, &bus, &control).await;
                }
            }
            if !round.is_multiple_of(RECONCILE_HOSTS_EVERY) {
                continue;
            }
            if let Ok(Ok(hosts)) = tokio::time::timeout(Duration::from_secs(2), bus.hosts()).await {
                self.store.note_hosts(hosts);
            }
            if let Ok(Ok(acks)) =
                tokio::time::timeout(Duration::from_secs(2), bus.acknowledgements()).await
            {
                for (host, generation) in acks {
                    self.store.note_ack(host, generation);
                }
            }
        }
    }

    /// A read that failed because the bucket is gone makes it again (a host must not stay
    /// without its bus until it restarts).
    async fn recreate_if_wiped(&self, bus: &FirmBus, error: &super::BusError) {
        match tokio::time::timeout(Duration::from_secs(2), bus.ensure_bucket()).await {
            Ok(Ok(true)) => {
                tracing::error!(%error, "the firm's bucket was gone: made it again");
                // Watches on the old stream end without an error: start them again.
                self.reconnected.notify_waiters();
                self.publish_now.notify_one();
            }
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "cannot look up the firm's bucket"),
            Err(_) => {}
        }
    }

    /// The control record is gone while this host has applied one: write back the record this
    /// host applied last (the first host to do so wins), so no halt is lost with the bucket.
    async fn restore_wiped_record(&self, firm: &FirmHandle, bus: &FirmBus) {
        let last = firm.applied_record();
        match tokio::time::timeout(Duration::from_secs(2), bus.restore_control(&last)).await {
            Ok(Ok(record)) => {
                tracing::error!(
                    generation = record.generation,
                    "the firm's control record was gone: written back from this host's last"
                );
                self.apply_control(firm, bus, &record).await;
                self.reconnected.notify_waiters();
                self.publish_now.notify_one();
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot write the firm's record back"),
            Err(_) => tracing::warn!("cannot write the firm's record back within 2 s"),
        }
    }

    async fn watch_control(self: Arc<Self>, firm: FirmHandle, bus: FirmBus) {
        loop {
            match bus.watch_control().await {
                Ok(stream) => {
                    let mut stream = Box::pin(stream);
                    loop {
                        tokio::select! {
                            item = stream.next() => match item {
                                Some(Ok((control, _))) => self.apply_control(&firm, &bus, &control).await,
                                Some(Err(e)) => {
                                    tracing::warn!(error = %e, "the control watch failed");
                                    break;
                                }
                                None => break,
                            },
                            _ = self.reconnected.notified() => break,
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "cannot watch the control record"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn apply_control(&self, firm: &FirmHandle, bus: &FirmBus, control: &FirmControl) {
        match firm.apply(control).await {
            Ok(_) => {
                self.applied_generation
                    .fetch_max(control.generation, std::sync::atomic::Ordering::AcqRel);
                if let Err(e) = bus.acknowledge(control.generation).await {
                    tracing::warn!(error = %e, "cannot acknowledge the control record");
                }
                self.publish_now.notify_one();
            }
            Err(e) => tracing::error!(error = %e, "cannot apply the firm's control record"),
        }
    }

    async fn watch_hosts(self: Arc<Self>, bus: FirmBus) {
        loop {
            match bus.watch_hosts().await {
                Ok(stream) => {
                    let mut stream = Box::pin(stream);
                    loop {
                        tokio::select! {
                            item = stream.next() => match item {
                                Some(Ok(HostChange::Put(record))) => self.store.note_host(record),
                                Some(Ok(HostChange::Gone(host))) => self.store.forget(&host),
                                Some(Err(e)) => {
                                    tracing::warn!(error = %e, "the host watch failed");
                                    break;
                                }
                                None => break,
                            },
                            _ = self.reconnected.notified() => break,
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "cannot watch the host records"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn watch_acks(self: Arc<Self>, bus: FirmBus) {
        loop {
            match bus.watch_acknowledgements().await {
                Ok(stream) => {
                    let mut stream = Box::pin(stream);
                    loop {
                        tokio::select! {
                            item = stream.next() => match item {
                                Some(Ok((host, generation))) => self.store.note_ack(host, generation),
                                Some(Err(e)) => {
                                    tracing::warn!(error = %e, "the acknowledgement watch failed");
                                    break;
                                }
                                None => break,
                            },
                            _ = self.reconnected.notified() => break,
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "cannot watch the acknowledgements"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Reads this host's record as the last run left it, before anything is published: a
    /// restart must not take its strategies' values out of the firm's sum.
    async fn carry_over(&self, bus: &FirmBus) {
        for _ in 0..10 {
            match tokio::time::timeout(Duration::from_secs(2), bus.hosts()).await {
                Ok(Ok(mut hosts)) => {
                    if let Some(mine) = hosts.remove(&self.store.host_id) {
                        let carried = mine
                            .strategies
                            .into_iter()
                            .map(|s| (s.name.clone(), s))
                            .collect();
                        *self.carried.lock().unwrap_or_else(|p| p.into_inner()) = carried;
                    }
                    return;
                }
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        tracing::error!("cannot read this host's last record: its strategies' values leave the firm's figures until each reports again");
    }

    async fn host_record(&self, firm: &FirmHandle, applied: u64) -> HostRecord {
        let mut strategies = Vec::new();
        let carried = self
            .carried
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for member in firm.members() {
            let engine = &member.engine;
            let (value, pnl, submitted) = match engine.status().await {
                Ok(s) => (
                    s.portfolio.value,
                    s.portfolio.daily_pnl,
                    s.orders_accepted + s.orders_rejected.values().sum::<u64>(),
                ),
                Err(_) => (None, None, 0),
            };
            let before = carried.get(engine.name());
            strategies.push(HostStrategy {
                name: engine.name().to_string(),
                desk: member.desk.clone(),
                state: engine.state(),
                portfolio_value: value.or(before.and_then(|b| b.portfolio_value)),
                daily_pnl: pnl.or(before.and_then(|b| b.daily_pnl)),
                orders_submitted: before
                    .map_or(0, |b| b.orders_submitted)
                    .saturating_add(submitted),
            });
        }
        HostRecord {
            host_id: self.store.host_id.clone(),
            last_seen: self.clock.now(),
            applied_generation: applied,
            strategies,
        }
    }

    async fn publish(self: Arc<Self>, firm: FirmHandle, bus: FirmBus) {
        let mut ticks = tokio::time::interval(self.settings.publish_every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing_since: Option<DateTime<Utc>> = None;
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = self.publish_now.notified() => {}
            }
            let applied = self
                .applied_generation
                .load(std::sync::atomic::Ordering::Acquire);
            let record = self.host_record(&firm, applied).await;
            let published =
                tokio::time::timeout(Duration::from_secs(2), bus.publish_host(&record)).await;
            let now = self.clock.now();
            if let Ok(Ok(_)) = published {
                if let Some(since) = failing_since.take() {
                    tracing::info!(
                        after_ms = (now - since).num_milliseconds(),
                        "writes reach the firm's bus again"
                    );
                }
                *self.last_bus_ok.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
                self.store.note_host(record);
            } else if failing_since.is_none() {
                failing_since = Some(now);
                let error = match published {
                    Ok(Err(e)) => e.to_string(),
                    _ => "no answer within 2 s".into(),
                };
                tracing::warn!(%error, "a write to the firm's bus did not get through (a stream electing its leader, or no quorum)");
            }
        }
    }

    /// Counts, every 250 ms, the configured servers that accept a TCP connection, and notes
    /// since when they are fewer than a majority. With one server configured it never is.
    async fn probe_servers(self: Arc<Self>) {
        let servers = server_addresses(&self.settings.bus.urls);
        let majority = servers.len() / 2 + 1;
        let mut ticks = tokio::time::interval(PROBE_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let answers = futures::future::join_all(servers.iter().map(|addr| async move {
                matches!(
                    tokio::time::timeout(
                        PROBE_EVERY,
                        tokio::net::TcpStream::connect(addr.as_str())
                    )
                    .await,
                    Ok(Ok(_))
                )
            }))
            .await;
            let reachable = answers.into_iter().filter(|up| *up).count();
            let now = self.clock.now();
            let mut since = self
                .minority_since
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match (reachable < majority, *since) {
                (true, None) => {
                    tracing::warn!(
                        reachable,
                        of = servers.len(),
                        "fewer than a majority of the firm's NATS servers answer"
                    );
                    *since = Some(now);
                }
                (false, Some(_)) => *since = None,
                _ => {}
            }
        }
    }

    async fn health(self: Arc<Self>, firm: FirmHandle, bus: FirmBus) {
        let mut ticks = tokio::time::interval(Duration::from_millis(50));
        let mut connections = bus.health().connections();
        loop {
            ticks.tick().await;
            let now = self.clock.now();
            let connected = bus.is_connected();
            let last_ok = *self.last_bus_ok.lock().unwrap_or_else(|p| p.into_inner());
            let minority = *self
                .minority_since
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let lost_since = Self::earliest_loss(
                now,
                [
                    // Disconnected: since the connection dropped (or the last write that got
                    // through, or now, when the client does not say).
                    (!connected).then(|| {
                        let since = bus.health().status().lost_since.or(last_ok).unwrap_or(now);
                        (since, self.settings.lease)
                    }),
                    // Fewer than a majority of the configured servers accept a connection from
                    // here: this side of the network holds no quorum, however the writes fare.
                    minority.map(|since| (since, self.settings.lease)),
                    // Connected, but no write got through: an election or no quorum; only after
                    // the longest election is it counted as the bus lost.
                    connected
                        .then_some(last_ok)
                        .flatten()
                        .map(|ok| (ok, self.no_quorum_after())),
                ],
            );
            let made = bus.health().connections();
            if connected && made != connections {
                // Watches may have died with the connection, however briefly it was lost:
                // start them again.
                connections = made;
                self.reconnected.notify_waiters();
            }
            if let Some(since) = lost_since {
                self.apply_loss(&firm, since).await;
            }
            // Connected again: try to catch up (a read, then a write that needs a quorum);
            // only a write that gets through lifts `on_bus_loss`.
            if connected && self.bus_loss_applied() {
                self.catch_up(&firm, &bus).await;
            }
        }
    }

    /// The start of the bus loss whose lease ran out first, if any has. Each piece of evidence
    /// (a dropped connection, a minority of servers, failing writes) keeps its own start: a
    /// host cut off first sees a minority and only later its connection drop, and the lease
    /// runs from the first sign, not the last.
    fn earliest_loss(
        now: DateTime<Utc>,
        signs: [Option<(DateTime<Utc>, chrono::Duration)>; 3],
    ) -> Option<DateTime<Utc>> {
        signs
            .into_iter()
            .flatten()
            .filter(|(since, limit)| now - *since >= *limit)
            .map(|(since, _)| since)
            .min()
    }

    /// How long a connected host may fail to write before it counts the bus as lost: the
    /// lease after the longest election a stream may hold after losing one node.
    fn no_quorum_after(&self) -> chrono::Duration {
        self.settings.lease + chrono::Duration::from_std(LEADER_ELECTION).unwrap_or_default()
    }

    fn loss_mode(&self) -> Option<BusLossMode> {
        match self.settings.on_bus_loss {
            BusLossPolicy::Halt => Some(BusLossMode::Halt),
            BusLossPolicy::ReduceOnly => Some(BusLossMode::ReduceOnly),
            BusLossPolicy::Continue => None,
        }
    }

    /// Applies `on_bus_loss` to every local strategy, once per loss.
    async fn apply_loss(&self, firm: &FirmHandle, since: DateTime<Utc>) {
        {
            let mut applied = self.loss_applied.lock().unwrap_or_else(|p| p.into_inner());
            if *applied {
                return;
            }
            *applied = true;
        }
        self.store
            .loss_applied
            .store(true, std::sync::atomic::Ordering::Release);
        let policy = self.settings.on_bus_loss;
        let mode = self.loss_mode();
        tracing::error!(on_bus_loss = policy.as_str(), %since, "the firm's bus is lost: on_bus_loss applies");
        for member in firm.members() {
            // The gate first, in memory; the audit record after.
            member.engine.set_bus_loss(mode);
        }
        for member in firm.members() {
            let recorded = member
                .engine
                .operator()
                .apply_firm(Trigger::BusLost {
                    policy: policy.as_str().into(),
                    since,
                })
                .await;
            if let Err(e) = recorded {
                tracing::error!(strategy = member.engine.name(), error = %e, "cannot record the bus loss");
            }
        }
    }

    /// Catches up with the control record, then lifts `on_bus_loss` (a firm halt that arrived
    /// meanwhile holds on in each strategy's state).
    async fn catch_up(&self, firm: &FirmHandle, bus: &FirmBus) {
        let control = match tokio::time::timeout(Duration::from_secs(5), bus.read_control()).await {
            Ok(Ok((control, _))) => control,
            _ => return,
        };
        if firm.apply(&control).await.is_err() {
            return;
        }
        self.applied_generation
            .fetch_max(control.generation, std::sync::atomic::Ordering::AcqRel);
        let acknowledged =
            tokio::time::timeout(Duration::from_secs(5), bus.acknowledge(control.generation)).await;
        if !matches!(acknowledged, Ok(Ok(()))) {
            return;
        }
        {
            let mut applied = self.loss_applied.lock().unwrap_or_else(|p| p.into_inner());
            if !*applied {
                return;
            }
            *applied = false;
        }
        self.store
            .loss_applied
            .store(false, std::sync::atomic::Ordering::Release);
        *self.last_bus_ok.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.clock.now());
        tracing::warn!("the firm's bus is back and caught up: on_bus_loss lifted");
        for member in firm.members() {
            member.engine.set_bus_loss(None);
            let _ = member
                .engine
                .operator()
                .apply_firm(Trigger::BusRestored)
                .await;
        }
        let _ = bus
            .publish_telemetry(&TelemetryRecord {
                host_id: bus.host_id().to_string(),
                at: self.clock.now(),
                kind: "bus_restored".into(),
                details: serde_json::json!({"generation": control.generation}),
            })
            .await;
        self.publish_now.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::{server_addresses, ClusterLink};
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn test_server_addresses_when_urls_vary_then_host_and_port_of_each() {
        assert_eq!(
            server_addresses("nats://127.0.0.1:4222, tls://u:p@nats.example.com:7422,nats-b ,"),
            ["127.0.0.1:4222", "nats.example.com:7422", "nats-b:4222"]
        );
        assert!(server_addresses("").is_empty());
    }

    #[test]
    fn test_earliest_loss_when_minority_seen_before_the_connection_drops_then_the_lease_runs_from_the_minority(
    ) {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap();
        let lease = Duration::seconds(3);
        let minority = Some((t0, lease));
        let dropped = Some((t0 + Duration::seconds(3), lease));
        let at = |s| t0 + Duration::milliseconds(s);
        // 3 s after the minority, 0 s after the drop: lost, since the minority.
        assert_eq!(
            ClusterLink::earliest_loss(at(3000), [dropped, minority, None]),
            Some(t0)
        );
        assert_eq!(
            ClusterLink::earliest_loss(at(2999), [dropped, minority, None]),
            None
        );
        // Failing writes alone wait out their longer limit.
        let writes = Some((t0, Duration::seconds(13)));
        assert_eq!(
            ClusterLink::earliest_loss(at(12_999), [None, None, writes]),
            None
        );
        assert_eq!(
            ClusterLink::earliest_loss(at(13_000), [None, None, writes]),
            Some(t0)
        );
        assert_eq!(
            ClusterLink::earliest_loss(at(60_000), [None, None, None]),
            None
        );
    }
}
