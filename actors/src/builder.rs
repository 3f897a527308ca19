//! Embedding: start engines from a host that knows nothing of actix.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use rustybt_actors::builder::EngineBuilder;
//! use rustybt_actors::settings::StrategySettings;
//! let engine = EngineBuilder::new(StrategySettings::moderate("momentum"))
//!     .data_dir("./data")
//!     .start()?;
//! let status = engine.status().await?;
//! println!("{}", status.state);
//! # Ok(()) }
//! ```
//!
//! The actors run on a thread of their own with an actix System, so the host may call the
//! handle from any runtime or thread, and nothing the host does shares a thread with the gate.

use crate::actors::messages::{CancelAllOrders, CancelSink};
use crate::alerts::AlertChannel;
use crate::checkpoint::{CheckpointError, CheckpointStore};
use crate::clock::{SharedClock, SystemClock};
use crate::engine::{spawn_engine, EngineHandle, EngineParts};
use crate::settings::StrategySettings;
use actix::prelude::*;
use std::collections::BTreeMap;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;

/// The thread the actors live on, with a second arbiter thread for alert delivery.
pub struct EngineRuntime {
    arbiter: ArbiterHandle,
    alerts: ArbiterHandle,
    system: actix_rt::System,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EngineRuntime {
    /// Starts the threads.
    pub fn start() -> Arc<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("rustybt-engine".into())
            .spawn(move || {
                let sys = actix_rt::System::new();
                let alerts = Arbiter::new();
                tx.send((
                    actix_rt::System::current(),
                    Arbiter::current(),
                    alerts.handle(),
                ))
                .expect("runtime handshake");
                sys.run().expect("engine system");
                // The alert arbiter holds the checkpoint too: wait for it so the folder is free.
                alerts.stop();
                let _ = alerts.join();
            })
            .expect("spawn engine thread");
        let (system, arbiter, alerts) = rx.recv().expect("engine thread started");
        Arc::new(Self {
            arbiter,
            alerts,
            system,
            thread: Some(thread),
        })
    }

    /// Spawns one strategy's engine on the runtime.
    pub fn spawn(&self, mut parts: EngineParts) -> EngineHandle {
        let (tx, rx) = std::sync::mpsc::channel();
        parts
            .alert_arbiter
            .get_or_insert_with(|| self.alerts.clone());
        self.arbiter.spawn_fn(move || {
            let _ = tx.send(spawn_engine(parts));
        });
        rx.recv().expect("engine spawned")
    }
}

impl Drop for EngineRuntime {
    fn drop(&mut self) {
        self.system.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Where the checkpoint lives.
#[derive(Debug, Clone)]
enum Storage {
    Dir(PathBuf),
    Temporary,
}

/// Builds one or more engines.
pub struct EngineBuilder {
    strategies: Vec<StrategySettings>,
    storage: Storage,
    clock: SharedClock,
    cancel: CancelSink,
    channels: Vec<Arc<dyn AlertChannel>>,
    store: Option<CheckpointStore>,
}

impl EngineBuilder {
    /// One strategy, wall clock, sled in `./data`, no alert channels.
    pub fn new(settings: StrategySettings) -> Self {
        Self {
            strategies: vec![settings],
            storage: Storage::Dir(PathBuf::from("data")),
            clock: Arc::new(SystemClock::new()),
            cancel: CancelSink::Nobody,
            channels: Vec::new(),
            store: None,
        }
    }

    /// Several strategies, each with its own engine, sharing one checkpoint folder.
    pub fn strategies(strategies: Vec<StrategySettings>) -> Self {
        Self {
            strategies,
            ..Self::new(StrategySettings::moderate("unused"))
        }
    }

    /// The clock every actor reads (a `TestClock` in tests and replays).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Keeps the checkpoint in `dir`.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.storage = Storage::Dir(dir.into());
        self
    }

    /// Keeps the checkpoint in a temporary database that vanishes at the end (replays).
    pub fn temporary_checkpoint(mut self) -> Self {
        self.storage = Storage::Temporary;
        self
    }

    /// Uses an already open checkpoint store.
    pub fn checkpoint_store(mut self, store: CheckpointStore) -> Self {
        self.store = Some(store);
        self
    }

    /// Sends cancel-all orders to an actix actor of the host's.
    pub fn cancel_orders_to(mut self, recipient: Recipient<CancelAllOrders>) -> Self {
        self.cancel = CancelSink::Recipient(recipient);
        self
    }

    /// Sends cancel-all orders down a channel; returns the end the host reads.
    pub fn cancel_orders_channel(
        &mut self,
    ) -> tokio::sync::mpsc::UnboundedReceiver<CancelAllOrders> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.cancel = CancelSink::Channel(tx);
        rx
    }

    /// Alert channels shared by every strategy.
    pub fn alert_channels(mut self, channels: Vec<Arc<dyn AlertChannel>>) -> Self {
        self.channels = channels;
        self
    }

    fn open_store(&self) -> Result<CheckpointStore, CheckpointError> {
        if let Some(s) = &self.store {
            return Ok(s.clone());
        }
        Ok(match &self.storage {
            Storage::Dir(dir) => CheckpointStore::open_or_degraded(dir),
            Storage::Temporary => CheckpointStore::temporary()?,
        })
    }

    /// Starts every strategy's engine on a new runtime (a thread of its own).
    pub fn start_all(self) -> Result<Engines, CheckpointError> {
        let runtime = EngineRuntime::start();
        self.spawn_with(|parts| runtime.spawn(parts), Some(runtime.clone()))
    }

    /// Starts every strategy's engine on the calling thread's actix System (a host that runs
    /// on `actix_rt` itself): the gate is then a same-thread message away, the fastest path.
    /// Alert delivery still gets an arbiter thread of its own. Panics outside an actix System.
    pub fn start_all_in_current_system(self) -> Result<Engines, CheckpointError> {
        let alerts = Arbiter::new();
        let handle = alerts.handle();
        let engines = self.spawn_with(
            |mut parts| {
                parts.alert_arbiter = Some(handle.clone());
                spawn_engine(parts)
            },
            None,
        )?;
        Ok(Engines {
            alert_arbiter: Some(alerts),
            ..engines
        })
    }

    fn spawn_with(
        self,
        spawn: impl Fn(EngineParts) -> EngineHandle,
        runtime: Option<Arc<EngineRuntime>>,
    ) -> Result<Engines, CheckpointError> {
        let store = self.open_store()?;
        let mut handles = BTreeMap::new();
        for settings in self.strategies {
            let checkpoint = store.strategy(&settings.name)?;
            let name = settings.name.clone();
            let handle = spawn(EngineParts {
                settings,
                clock: self.clock.clone(),
                checkpoint,
                channels: self.channels.clone(),
                cancel: self.cancel.clone(),
                alert_arbiter: None,
            });
            handles.insert(name, handle);
        }
        Ok(Engines {
            handles,
            store,
            runtime,
            alert_arbiter: None,
        })
    }

    /// Starts the (first) strategy's engine.
    pub fn start(self) -> Result<Engine, CheckpointError> {
        let engines = self.start_all()?;
        let handle = engines
            .handles
            .values()
            .next()
            .cloned()
            .expect("one strategy");
        Ok(Engine { handle, engines })
    }
}

/// Every strategy's engine, on one runtime.
pub struct Engines {
    handles: BTreeMap<String, EngineHandle>,
    store: CheckpointStore,
    runtime: Option<Arc<EngineRuntime>>,
    alert_arbiter: Option<Arbiter>,
}

impl Engines {
    /// The engine of `name`.
    pub fn get(&self, name: &str) -> Option<&EngineHandle> {
        self.handles.get(name)
    }

    /// Every engine, by name.
    pub fn all(&self) -> &BTreeMap<String, EngineHandle> {
        &self.handles
    }

    /// The checkpoint store.
    pub fn store(&self) -> &CheckpointStore {
        &self.store
    }

    /// Flushes the checkpoint, then stops the actors: graceful shutdown.
    pub async fn shutdown(self) -> Result<(), CheckpointError> {
        for handle in self.handles.values() {
            handle.save_open_orders();
        }
        let r = match self.store.flush().await {
            // Only a stop whose state is all on disk is a clean one.
            Ok(()) => self.store.record_clean_stop().await,
            Err(e) => Err(e),
        };
        drop(self.handles);
        if let Some(a) = self.alert_arbiter {
            a.stop();
        }
        if let Some(runtime) = self.runtime {
            // Joining the engine thread blocks: do it off the async runtime.
            let _ = tokio::task::spawn_blocking(move || drop(runtime)).await;
        }
        r
    }
}

/// One engine: derefs to its [`EngineHandle`].
pub struct Engine {
    handle: EngineHandle,
    engines: Engines,
}

impl Engine {
    /// The handle, to clone into tasks.
    pub fn handle(&self) -> EngineHandle {
        self.handle.clone()
    }

    /// Flushes and stops.
    pub async fn shutdown(self) -> Result<(), CheckpointError> {
        self.engines.shutdown().await
    }
}

impl Deref for Engine {
    type Target = EngineHandle;
    fn deref(&self) -> &EngineHandle {
        &self.handle
    }
}
