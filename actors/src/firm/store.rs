//! Where the firm's control record lives: the [`ControlStore`] seam, and the sled store of a
//! single process (the NATS store of many hosts is in the root crate's `cluster`).

use super::views::{BusView, HostView, RemoteStrategy, StrategyRef};
use crate::checkpoint::{CheckpointError, CheckpointStore};
use crate::firm::{FirmChange, FirmControl, FirmError};
use futures::future::BoxFuture;
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
