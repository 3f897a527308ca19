//! Many hosts, one firm: the bus layer over NATS JetStream (`[cluster]` in CONFIG.md).
//!
//! What lives where in the firm's NATS account:
//!
//! - a key-value bucket `rustybt_firm_<firm>` (replicated on every server of a three-node
//!   cluster) holding
//!   - `control`: the firm's control record ([`FirmControl`]: firm halt, desk halts, firm
//!     breaker trips, a pending firm reset, the firm breakers' durable state), changed only by
//!     compare-and-set ([`FirmBus::update_control`]: read the revision, write with it, retry on
//!     a conflict), so a firm breaker's trip is written exactly once whichever hosts race;
//!   - `hosts.<host_id>`: each host's record ([`HostRecord`]: its strategies' state and values,
//!     `last_seen`);
//!   - `acks.<host_id>`: the last control generation the host has applied;
//! - a stream `RUSTYBT_<FIRM>_TELEMETRY` (subjects `rustybt.<firm>.telemetry.<host_id>`) where
//!   hosts publish what happened, for whoever wants the firm's history.
//!
//! Bus health ([`BusHealth`]) follows the client's connection events, stamped by the injected
//! clock. Nothing here is on the order path: the gate never waits on the bus.

use async_nats::jetstream::{self, kv, stream};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use rust_decimal::Decimal;
use rustybt_actors::clock::SharedClock;
use rustybt_actors::firm::FirmControl;
use rustybt_actors::state_machine::EngineState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::watch;

pub mod link;
pub use link::{BusControlStore, ClusterLink, LinkSettings};

/// The key of the firm's control record in the bucket.
pub const CONTROL_KEY: &str = "control";

/// How many times a compare-and-set is retried before giving up: each retry means another host
/// wrote in between, so this many in a row means something is wrong, not busy.
const MAX_CAS_ATTEMPTS: usize = 64;

/// What went wrong on the bus.
#[derive(Debug, Error)]
pub enum BusError {
    /// No server could be reached.
    #[error("cannot connect to NATS at {urls}: {message}")]
    Connect {
        /// The URLs tried.
        urls: String,
        /// The client's reason.
        message: String,
    },
    /// JetStream refused or did not answer (no quorum, timeout).
    #[error("NATS JetStream {operation} failed: {message}")]
    JetStream {
        /// What was being done.
        operation: &'static str,
        /// The client's reason.
        message: String,
    },
    /// A record in the bucket could not be read.
    #[error("the firm record {key:?} is unreadable: {message}")]
    Decode {
        /// Which key.
        key: String,
        /// Why.
        message: String,
    },
    /// Compare-and-set lost every race it tried.
    #[error("the firm control record kept changing under {attempts} compare-and-set attempts")]
    Contended {
        /// How many attempts.
        attempts: usize,
    },
    /// A name that NATS cannot carry in a bucket, key or subject.
    #[error("{field}: {value:?} may hold only letters, digits, '-' and '_'")]
    InvalidName {
        /// The configuration field.
        field: &'static str,
        /// The value.
        value: String,
    },
}

fn js_err(operation: &'static str) -> impl FnOnce(&dyn std::fmt::Display) -> BusError {
    move |e| BusError::JetStream {
        operation,
        message: e.to_string(),
    }
}

/// Checks that `value` can be used in NATS bucket names, keys and subjects.
pub fn check_name(field: &'static str, value: &str) -> Result<(), BusError> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(BusError::InvalidName {
            field,
            value: value.to_string(),
        })
    }
}

/// How to join the firm's bus.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// Server URLs, comma-separated (`nats://127.0.0.1:4222,nats://127.0.0.1:4223`).
    pub urls: String,
    /// The firm's name: names the bucket and the stream.
    pub firm: String,
    /// This host's id: names its keys and telemetry subject.
    pub host_id: String,
    /// Replicas of the bucket and stream: 3 on a three-server cluster, 1 on one server.
    pub replicas: usize,
    /// How long the first connection may take.
    pub connect_timeout: Duration,
}

impl BusConfig {
    /// A configuration with one replica per server named in `urls` (at most 3) and a 1 s
    /// connection timeout.
    pub fn new(urls: &str, firm: &str, host_id: &str) -> Self {
        let servers = urls.split(',').filter(|u| !u.trim().is_empty()).count();
        Self {
            urls: urls.to_string(),
            firm: firm.to_string(),
            host_id: host_id.to_string(),
            replicas: servers.clamp(1, 3),
            // Also each reconnection's attempt: one spent on a server the network cut off must
            // not use up a host's lease before it tries the next.
            connect_timeout: Duration::from_secs(1),
        }
    }

    fn bucket(&self) -> String {
        format!("rustybt_firm_{}", self.firm)
    }

    fn bucket_config(&self) -> kv::Config {
        kv::Config {
            bucket: self.bucket(),
            description: format!("rustybt firm {} control and host records", self.firm),
            history: 5,
            num_replicas: self.replicas,
            storage: stream::StorageType::File,
            ..Default::default()
        }
    }

    fn stream(&self) -> String {
        format!("RUSTYBT_{}_TELEMETRY", self.firm.to_uppercase())
    }

    fn telemetry_subject(&self) -> String {
        format!("rustybt.{}.telemetry.{}", self.firm, self.host_id)
    }
}

/// The bus connection as last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusStatus {
    /// Whether the client holds a connection to a server now.
    pub connected: bool,
    /// Since when the connection is lost, while it is.
    pub lost_since: Option<DateTime<Utc>>,
}

/// The connection's health, fed by the client's events and stamped by the injected clock.
pub struct BusHealth {
    clock: SharedClock,
    status: watch::Sender<BusStatus>,
    // Connections made so far: a reconnection too brief for any poll to see still counts.
    connections: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for BusHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusHealth")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl BusHealth {
    /// A health board that reads lost since `clock`'s now until a connection is made.
    pub fn new(clock: SharedClock) -> Arc<Self> {
        let lost = BusStatus {
            connected: false,
            lost_since: Some(clock.now()),
        };
        Arc::new(Self {
            clock,
            status: watch::channel(lost).0,
            connections: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// How many connections the client has made (the first one and every reconnection).
    pub fn connections(&self) -> u64 {
        self.connections.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The status now.
    pub fn status(&self) -> BusStatus {
        *self.status.borrow()
    }

    /// Follows every change of status.
    pub fn watch(&self) -> watch::Receiver<BusStatus> {
        self.status.subscribe()
    }

    /// Records that a connection is held.
    pub fn connected(&self) {
        self.connections
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.status.send_if_modified(|s| {
            let changed = !s.connected;
            *s = BusStatus {
                connected: true,
                lost_since: None,
            };
            changed
        });
    }

    /// Records that the connection is lost (the first loss's time is kept).
    pub fn lost(&self) {
        let now = self.clock.now();
        self.status.send_if_modified(|s| {
            if !s.connected {
                return false;
            }
            *s = BusStatus {
                connected: false,
                lost_since: Some(now),
            };
            true
        });
    }
}

/// One strategy as its host reports it to the firm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStrategy {
    /// The strategy's name (unique on its host).
    pub name: String,
    /// Its desk label, if any.
    pub desk: Option<String>,
    /// Its state.
    pub state: EngineState,
    /// Its last portfolio value, once one is known.
    pub portfolio_value: Option<Decimal>,
    /// Its profit or loss since the session's open, once a session is open.
    pub daily_pnl: Option<Decimal>,
    /// Orders submitted since the host started (every submission, accepted or not).
    pub orders_submitted: u64,
}

/// What a host publishes about itself under `hosts.<host_id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRecord {
    /// The host's id.
    pub host_id: String,
    /// When the host wrote this record, by its clock.
    pub last_seen: DateTime<Utc>,
    /// The control generation the host has applied to every strategy.
    pub applied_generation: u64,
    /// Its strategies.
    pub strategies: Vec<HostStrategy>,
}

/// A change of one host's record, as the watch brings it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostChange {
    /// The host wrote its record.
    Put(HostRecord),
    /// The host's record was removed (the operator's removal of a decommissioned host).
    Gone(String),
}

/// One telemetry message on the firm's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryRecord {
    /// The host that saw it.
    pub host_id: String,
    /// When, by the host's clock.
    pub at: DateTime<Utc>,
    /// What kind of thing happened (`state_changed`, `firm_trip`, `bus_lost`, ...).
    pub kind: String,
    /// The figures.
    pub details: serde_json::Value,
}

/// A connection to the firm's bus: the bucket, the stream and the connection's health.
#[derive(Clone)]
pub struct FirmBus {
    config: BusConfig,
    client: async_nats::Client,
    jetstream: jetstream::Context,
    kv: kv::Store,
    health: Arc<BusHealth>,
    // The record and revision last read, written or watched: a compare-and-set tries it first
    // and reads only when another host wrote since (one round trip instead of two).
    last_known: Arc<std::sync::Mutex<Option<(FirmControl, u64)>>>,
}

impl std::fmt::Debug for FirmBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirmBus")
            .field("firm", &self.config.firm)
            .field("host_id", &self.config.host_id)
            .field("health", &self.health.status())
            .finish_non_exhaustive()
    }
}

impl FirmBus {
    /// Connects, then opens (or creates) the firm's bucket and telemetry stream. Fails when no
    /// server answers within the timeout or JetStream cannot create them (no quorum).
    pub async fn connect(config: BusConfig, clock: SharedClock) -> Result<Self, BusError> {
        check_name("firm.name", &config.firm)?;
        check_name("cluster.host_id", &config.host_id)?;
        let health = BusHealth::new(clock);
        let events = health.clone();
        let options = async_nats::ConnectOptions::new()
            .name(format!("rustybt-{}", config.host_id))
            .connection_timeout(config.connect_timeout)
            .request_timeout(Some(Duration::from_secs(5)))
            // A server cut off by the network sends no reset: the client learns only when its
            // pings go unanswered. The default (a ping a minute) left a host on the majority
            // side tied to a dead server for minutes; a ping a second notices in about three.
            .ping_interval(Duration::from_secs(1))
            .max_reconnects(None)
            .event_callback(move |event| {
                let events = events.clone();
                async move {
                    match event {
                        async_nats::Event::Connected => events.connected(),
                        async_nats::Event::Disconnected | async_nats::Event::Closed => {
                            events.lost()
                        }
                        _ => {}
                    }
                }
            });
        let urls: Vec<async_nats::ServerAddr> = config
            .urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| u.parse())
            .collect::<Result<_, _>>()
            .map_err(|e: std::io::Error| BusError::Connect {
                urls: config.urls.clone(),
                message: e.to_string(),
            })?;
        let connect_error = |message: String| BusError::Connect {
            urls: config.urls.clone(),
            message,
        };
        let client = tokio::time::timeout(config.connect_timeout, options.connect(urls))
            .await
            .map_err(|_| connect_error("no server answered in time".into()))?
            .map_err(|e| connect_error(e.to_string()))?;
        if client.connection_state() == async_nats::connection::State::Connected {
            health.connected();
        }
        let jetstream = jetstream::new(client.clone());
        // Create first: creating a bucket that exists with the same configuration answers the
        // bucket at once, where asking for a missing one may wait out a request timeout. Hosts
        // starting together race here; the loser reads what the winner made.
        let bucket = config.bucket_config();
        let mut attempt = 0;
        let kv = loop {
            attempt += 1;
            match jetstream.create_key_value(bucket.clone()).await {
                Ok(store) => break store,
                Err(created) => match jetstream.get_key_value(config.bucket()).await {
                    Ok(store) => break store,
                    Err(_) if attempt < 3 => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(_) => return Err(js_err("create key-value bucket")(&created)),
                },
            }
        };
        jetstream
            .get_or_create_stream(stream::Config {
                name: config.stream(),
                subjects: vec![format!("rustybt.{}.telemetry.>", config.firm)],
                num_replicas: config.replicas,
                max_age: Duration::from_secs(7 * 24 * 3600),
                max_messages: 1_000_000,
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| js_err("create telemetry stream")(&e))?;
        let bus = Self {
            config,
            client,
            jetstream,
            kv,
            health,
            last_known: Arc::default(),
        };
        // A bucket just created may not answer until its stream has elected a leader: joined
        // means the record can be read.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match bus.read_control().await {
                Ok(_) => return Ok(bus),
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// This host's id.
    pub fn host_id(&self) -> &str {
        &self.config.host_id
    }

    /// The firm's name.
    pub fn firm(&self) -> &str {
        &self.config.firm
    }

    /// The connection's health.
    pub fn health(&self) -> &Arc<BusHealth> {
        &self.health
    }

    /// Whether the client holds a connection now (asked of the client itself).
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Makes the firm's bucket again when it is gone (deleted by hand, or a server's JetStream
    /// store wiped): answers whether it had to. The handles already held address the bucket
    /// by name, so they work again once it exists.
    pub async fn ensure_bucket(&self) -> Result<bool, BusError> {
        use async_nats::jetstream::context::GetStreamErrorKind;
        use async_nats::jetstream::ErrorCode;
        match self
            .jetstream
            .get_stream(format!("KV_{}", self.config.bucket()))
            .await
        {
            Ok(_) => Ok(false),
            Err(e)
                if matches!(e.kind(), GetStreamErrorKind::JetStream(j)
                    if j.error_code() == ErrorCode::STREAM_NOT_FOUND) =>
            {
                self.jetstream
                    .create_key_value(self.config.bucket_config())
                    .await
                    .map_err(|e| js_err("create key-value bucket")(&e))?;
                *self.last_known.lock().unwrap_or_else(|p| p.into_inner()) = None;
                Ok(true)
            }
            Err(e) => Err(js_err("look up key-value bucket")(&e)),
        }
    }

    /// Writes `control` back as the record when none is there (the bucket was wiped):
    /// compare-and-set on "no record", so the first host to try restores it and the others
    /// find it restored. Answers the record in force.
    pub async fn restore_control(&self, control: &FirmControl) -> Result<FirmControl, BusError> {
        let written = self
            .update_control(|c| {
                if c.generation == 0 && *c == FirmControl::default() {
                    *c = control.clone();
                }
                Ok::<_, std::convert::Infallible>(())
            })
            .await?;
        match written {
            Ok(((), record, _)) => Ok(record),
            Err(never) => match never {},
        }
    }

    /// The control record and its revision (0: never written).
    pub async fn read_control(&self) -> Result<(FirmControl, u64), BusError> {
        let entry = self
            .kv
            .entry(CONTROL_KEY)
            .await
            .map_err(|e| js_err("read control record")(&e))?;
        let read = match entry {
            Some(e) if e.operation == kv::Operation::Put => {
                (decode(CONTROL_KEY, &e.value)?, e.revision)
            }
            Some(e) => (FirmControl::default(), e.revision),
            None => (FirmControl::default(), 0),
        };
        self.remember(&read.0, read.1);
        Ok(read)
    }

    fn remember(&self, control: &FirmControl, revision: u64) {
        remember(&self.last_known, control, revision);
    }

    fn last_known(&self) -> Option<(FirmControl, u64)> {
        self.last_known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Changes the control record by compare-and-set: reads it with its revision, lets `change`
    /// edit a copy, writes the copy only if the revision is still the one read, and on a
    /// conflict reads again and retries. `change` may run several times: it must be a function
    /// of the record it is given. An `Err` from `change` writes nothing; a copy left equal to
    /// the record read writes nothing. Answers `change`'s answer with the record in force and
    /// its revision.
    pub async fn update_control<R, E>(
        &self,
        mut change: impl FnMut(&mut FirmControl) -> Result<R, E>,
    ) -> Result<Result<(R, FirmControl, u64), E>, BusError> {
        let mut cached = self.last_known();
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (current, revision) = match cached.take() {
                Some(known) => known,
                None => self.read_control().await?,
            };
            let mut next = current.clone();
            let answer = match change(&mut next) {
                Ok(answer) => answer,
                Err(e) => return Ok(Err(e)),
            };
            if next == current {
                return Ok(Ok((answer, current, revision)));
            }
            let bytes = encode(&next);
            let written = if revision == 0 {
                self.kv
                    .create(CONTROL_KEY, bytes.into())
                    .await
                    .map_err(|e| match e.kind() {
                        kv::CreateErrorKind::AlreadyExists => None,
                        _ => Some(js_err("create control record")(&e)),
                    })
            } else {
                self.kv
                    .update(CONTROL_KEY, bytes.into(), revision)
                    .await
                    .map_err(|e| match e.kind() {
                        kv::UpdateErrorKind::WrongLastRevision => None,
                        _ => Some(js_err("update control record")(&e)),
                    })
            };
            match written {
                Ok(new_revision) => {
                    self.remember(&next, new_revision);
                    return Ok(Ok((answer, next, new_revision)));
                }
                // Another host wrote first: read what it wrote and decide again.
                Err(None) => continue,
                Err(Some(e)) => return Err(e),
            }
        }
        Err(BusError::Contended {
            attempts: MAX_CAS_ATTEMPTS,
        })
    }

    /// Follows the control record: the record in force first (the default one, revision 0,
    /// if none was ever written), then every change, each with its revision.
    pub async fn watch_control(
        &self,
    ) -> Result<impl Stream<Item = Result<(FirmControl, u64), BusError>> + Send + 'static, BusError>
    {
        let (first, revision) = self.read_control().await?;
        let watch = self
            .kv
            .watch_from_revision(CONTROL_KEY, revision + 1)
            .await
            .map_err(|e| js_err("watch control record")(&e))?;
        let last_known = self.last_known.clone();
        let changes = watch.map(move |entry| {
            let entry = entry.map_err(|e| js_err("watch control record")(&e))?;
            let record = match entry.operation {
                kv::Operation::Put => decode(CONTROL_KEY, &entry.value)?,
                _ => FirmControl::default(),
            };
            remember(&last_known, &record, entry.revision);
            Ok((record, entry.revision))
        });
        Ok(futures::stream::once(async move { Ok((first, revision)) }).chain(changes))
    }

    /// Publishes this host's record.
    pub async fn publish_host(&self, record: &HostRecord) -> Result<u64, BusError> {
        self.kv
            .put(
                format!("hosts.{}", self.config.host_id),
                encode(record).into(),
            )
            .await
            .map_err(|e| js_err("publish host record")(&e))
    }

    /// Every host's record, by host id.
    pub async fn hosts(&self) -> Result<BTreeMap<String, HostRecord>, BusError> {
        let mut keys = self
            .kv
            .keys()
            .await
            .map_err(|e| js_err("list host records")(&e))?;
        let mut names = Vec::new();
        while let Some(key) = keys.next().await {
            let key = key.map_err(|e| js_err("list host records")(&e))?;
            if key.starts_with("hosts.") {
                names.push(key);
            }
        }
        let mut out = BTreeMap::new();
        for key in names {
            let value = self
                .kv
                .get(key.as_str())
                .await
                .map_err(|e| js_err("read host record")(&e))?;
            if let Some(value) = value {
                let record: HostRecord = decode(&key, &value)?;
                out.insert(record.host_id.clone(), record);
            }
        }
        Ok(out)
    }

    /// Follows every host's record: what is there first, then every change (a record
    /// deleted or purged: [`HostChange::Gone`]).
    pub async fn watch_hosts(
        &self,
    ) -> Result<impl Stream<Item = Result<HostChange, BusError>> + Send + 'static, BusError> {
        let watch = self
            .kv
            .watch_with_history("hosts.*")
            .await
            .map_err(|e| js_err("watch host records")(&e))?;
        Ok(watch.map(|entry| {
            let e = entry.map_err(|e| js_err("watch host records")(&e))?;
            match e.operation {
                kv::Operation::Put => decode(&e.key, &e.value).map(HostChange::Put),
                _ => Ok(HostChange::Gone(
                    e.key.strip_prefix("hosts.").unwrap_or(&e.key).to_string(),
                )),
            }
        }))
    }

    /// Removes a decommissioned host's record and acknowledgements, history included.
    pub async fn forget_host(&self, host_id: &str) -> Result<(), BusError> {
        for key in [format!("hosts.{host_id}"), format!("acks.{host_id}")] {
            self.kv
                .purge(key.as_str())
                .await
                .map_err(|e| js_err("remove host record")(&e))?;
        }
        Ok(())
    }

    /// Records that this host has applied control generation `generation` to every strategy.
    pub async fn acknowledge(&self, generation: u64) -> Result<(), BusError> {
        self.kv
            .put(
                format!("acks.{}", self.config.host_id),
                generation.to_string().into_bytes().into(),
            )
            .await
            .map(|_| ())
            .map_err(|e| js_err("acknowledge control generation")(&e))
    }

    /// Follows every host's acknowledgement: what is there first, then every change, as
    /// (host id, generation).
    pub async fn watch_acknowledgements(
        &self,
    ) -> Result<impl Stream<Item = Result<(String, u64), BusError>> + Send + 'static, BusError>
    {
        let watch = self
            .kv
            .watch_with_history("acks.*")
            .await
            .map_err(|e| js_err("watch acknowledgements")(&e))?;
        Ok(watch.filter_map(|entry| async move {
            match entry {
                Err(e) => Some(Err(js_err("watch acknowledgements")(&e))),
                Ok(e) if e.operation == kv::Operation::Put => {
                    let host = e.key.strip_prefix("acks.")?.to_string();
                    let generation = std::str::from_utf8(&e.value).ok()?.parse().ok()?;
                    Some(Ok((host, generation)))
                }
                Ok(_) => None,
            }
        }))
    }

    /// The control generation each host last acknowledged.
    pub async fn acknowledgements(&self) -> Result<BTreeMap<String, u64>, BusError> {
        let mut keys = self
            .kv
            .keys()
            .await
            .map_err(|e| js_err("list acknowledgements")(&e))?;
        let mut out = BTreeMap::new();
        while let Some(key) = keys.next().await {
            let key = key.map_err(|e| js_err("list acknowledgements")(&e))?;
            let Some(host) = key.strip_prefix("acks.") else {
                continue;
            };
            let value = self
                .kv
                .get(key.as_str())
                .await
                .map_err(|e| js_err("read acknowledgement")(&e))?;
            if let Some(generation) = value
                .as_deref()
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.parse().ok())
            {
                out.insert(host.to_string(), generation);
            }
        }
        Ok(out)
    }

    /// Publishes a telemetry record on the firm's stream and waits for the stream's
    /// acknowledgement (stored on a quorum of servers).
    pub async fn publish_telemetry(&self, record: &TelemetryRecord) -> Result<u64, BusError> {
        let ack = self
            .jetstream
            .publish(self.config.telemetry_subject(), encode(record).into())
            .await
            .map_err(|e| js_err("publish telemetry")(&e))?;
        let ack = ack.await.map_err(|e| js_err("publish telemetry")(&e))?;
        Ok(ack.sequence)
    }

    /// How many telemetry messages the firm's stream holds.
    pub async fn telemetry_count(&self) -> Result<u64, BusError> {
        let mut stream = self
            .jetstream
            .get_stream(self.config.stream())
            .await
            .map_err(|e| js_err("read telemetry stream")(&e))?;
        let info = stream
            .info()
            .await
            .map_err(|e| js_err("read telemetry stream")(&e))?;
        Ok(info.state.messages)
    }
}

/// Keeps `control` as the last known record unless a later revision is known already.
fn remember(
    last_known: &std::sync::Mutex<Option<(FirmControl, u64)>>,
    control: &FirmControl,
    revision: u64,
) {
    let mut last = last_known.lock().unwrap_or_else(|p| p.into_inner());
    if last.as_ref().is_none_or(|(_, r)| *r <= revision) {
        *last = Some((control.clone(), revision));
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain records cannot fail: no maps with non-string keys, no floats.
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode<T: for<'de> Deserialize<'de>>(key: &str, bytes: &[u8]) -> Result<T, BusError> {
    serde_json::from_slice(bytes).map_err(|e| BusError::Decode {
        key: key.to_string(),
        message: e.to_string(),
    })
}
