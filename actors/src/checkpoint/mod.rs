//! The sled checkpoint: the global state, each breaker's durable state, the audit trail and
//! the alert delivery log, one tree per strategy.
//!
//! sled writes are not durable until flushed, so a transition is written and flushed on the
//! writer thread before the caller hears it is done. Breaker state (high-water mark, session
//! open) changes with every snapshot; it is staged, coalesced per key, and made durable by the
//! next flush (sled flushes by itself every 500 ms, and every transition flushes). Open orders
//! are staged the same way, by key, and flushed at once.

use crate::breaker::BreakerKind;
use crate::pretrade::OpenOrder;
use crate::state_machine::{StateRecord, Transition};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use thiserror::Error;
use tokio::sync::oneshot;

/// A checkpoint that could not be read or written.
#[derive(Debug, Clone, Error)]
pub enum CheckpointError {
    /// sled failed.
    #[error("checkpoint storage failed: {0}")]
    Storage(String),
    /// A record did not decode.
    #[error("checkpoint record {key} is corrupt: {why}")]
    Corrupt {
        /// The record's key.
        key: String,
        /// The decoder's complaint.
        why: String,
    },
    /// The checkpoint could not be opened at start: the engine runs halted.
    #[error("checkpoint unavailable: {0}")]
    Unavailable(String),
    /// The writer thread is gone.
    #[error("checkpoint writer stopped")]
    WriterStopped,
}

impl From<sled::Error> for CheckpointError {
    fn from(e: sled::Error) -> Self {
        CheckpointError::Storage(e.to_string())
    }
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the trail, increasing.
    pub seq: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// State before.
    pub from: crate::state_machine::EngineState,
    /// State after.
    pub to: crate::state_machine::EngineState,
    /// Why.
    pub cause: crate::state_machine::Cause,
    /// Who, for operator actions.
    pub operator: Option<String>,
    /// Figures and reasons.
    pub details: serde_json::Value,
}

enum Job {
    // `None` removes the key.
    Stage {
        tree: sled::Tree,
        key: Vec<u8>,
        value: Option<Vec<u8>>,
    },
    Append {
        tree: sled::Tree,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Commit {
        tree: sled::Tree,
        batch: sled::Batch,
        done: oneshot::Sender<Result<(), CheckpointError>>,
    },
    Flush {
        done: oneshot::Sender<Result<(), CheckpointError>>,
    },
    // Removes every key in [from, until).
    RemoveRange {
        tree: sled::Tree,
        from: Vec<u8>,
        until: Vec<u8>,
    },
}

/// (tree name, key) → (tree, newest value, `None` once removed).
type StagedValues = HashMap<(Vec<u8>, Vec<u8>), (sled::Tree, Option<Vec<u8>>)>;

#[derive(Default)]
struct Queue {
    // Staged values coalesce: only the newest per (tree, key) is written.
    staged: StagedValues,
    jobs: Vec<Job>,
    closed: bool,
}

struct Writer {
    queue: Mutex<Queue>,
    wake: Condvar,
    // Makes appended keys unique within a process.
    serial: std::sync::atomic::AtomicU64,
}

impl Writer {
    fn next_serial(&self) -> u64 {
        self.serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    fn push(&self, job: Job) {
        self.push_all([job]);
    }

    fn push_all(&self, jobs: impl IntoIterator<Item = Job>) {
        let mut q = self.queue.lock().expect("checkpoint queue poisoned");
        for job in jobs {
            match job {
                Job::Stage { tree, key, value } => {
                    q.staged.insert((tree.name().to_vec(), key), (tree, value));
                }
                other => q.jobs.push(other),
            }
        }
        drop(q);
        self.wake.notify_one();
    }

    fn run(self: Arc<Self>, db: sled::Db) {
        loop {
            let (staged, jobs) = {
                let mut q = self.queue.lock().expect("checkpoint queue poisoned");
                while q.staged.is_empty() && q.jobs.is_empty() && !q.closed {
                    q = self.wake.wait(q).expect("checkpoint queue poisoned");
                }
                if q.closed && q.staged.is_empty() && q.jobs.is_empty() {
                    let _ = db.flush();
                    return;
                }
                (std::mem::take(&mut q.staged), std::mem::take(&mut q.jobs))
            };
            let mut failure: Option<CheckpointError> = None;
            // Staged values (a breaker's high-water mark, the session's open value, open
            // orders) are made durable in this round too, not at sled's next timed flush: a
            // SIGKILL half a second after a day's first snapshot must not lose its open value.
            let wrote_staged = !staged.is_empty()
                || jobs
                    .iter()
                    .any(|j| matches!(j, Job::Append { .. } | Job::RemoveRange { .. }));
            for ((_, key), (tree, value)) in staged {
                let written = match value {
                    Some(value) => tree.insert(key, value),
                    None => tree.remove(key),
                };
                if let Err(e) = written {
                    failure = Some(e.into());
                }
            }
            let mut waiting = Vec::new();
            for job in jobs {
                match job {
                    Job::Stage { .. } => unreachable!("staged values are coalesced"),
                    Job::Append { tree, key, value } => {
                        if let Err(e) = tree.insert(key, value) {
                            failure = Some(e.into());
                        }
                    }
                    Job::Commit { tree, batch, done } => {
                        let r = tree.apply_batch(batch).map_err(CheckpointError::from);
                        waiting.push((done, r));
                    }
                    Job::Flush { done } => waiting.push((done, Ok(()))),
                    Job::RemoveRange { tree, from, until } => {
                        let keys: Vec<sled::IVec> = tree
                            .range(from..until)
                            .keys()
                            .filter_map(Result::ok)
                            .collect();
                        for key in keys {
                            if let Err(e) = tree.remove(key) {
                                failure = Some(e.into());
                            }
                        }
                    }
                }
            }
            if let Some(e) = &failure {
                tracing::error!(error = %e, "checkpoint write failed");
            }
            if !waiting.is_empty() || wrote_staged {
                // One flush makes every commit of this round durable before any is acknowledged.
                let flushed = db.flush().map(|_| ()).map_err(CheckpointError::from);
                for (done, r) in waiting {
                    let _ = done.send(r.and(flushed.clone()));
                }
            }
        }
    }
}

/// How long opening a folder waits for a lock this process's previous store still holds.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether sled refused the folder because its lock file is held.
fn is_lock_held(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

/// Closes the writer thread when the last handle goes, and waits for it to drain, flush and
/// release the database, so the folder can be opened again at once.
struct WriterHandle(Arc<Writer>, Mutex<Option<std::thread::JoinHandle<()>>>);

impl Drop for WriterHandle {
    fn drop(&mut self) {
        self.0
            .queue
            .lock()
            .expect("checkpoint queue poisoned")
            .closed = true;
        self.0.wake.notify_one();
        if let Some(t) = self.1.lock().expect("writer join poisoned").take() {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

impl std::ops::Deref for WriterHandle {
    type Target = Writer;
    fn deref(&self) -> &Writer {
        &self.0
    }
}

/// The sled database under a data directory, with its writer thread.
#[derive(Clone)]
pub struct CheckpointStore {
    db: sled::Db,
    writer: Arc<WriterHandle>,
    degraded: Option<String>,
    last_stop: LastStop,
}

impl CheckpointStore {
    /// Opens (or creates) the database in `dir`, waiting up to 5 s for a lock still held by a
    /// store this process has just closed.
    pub fn open(dir: &Path) -> Result<Self, CheckpointError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            CheckpointError::Storage(format!("cannot create {}: {e}", dir.display()))
        })?;
        Self::open_waiting(dir, LOCK_WAIT)
    }

    fn open_waiting(dir: &Path, lock_wait: std::time::Duration) -> Result<Self, CheckpointError> {
        let config = sled::Config::new()
            .path(dir.join("checkpoint.sled"))
            .flush_every_ms(Some(500));
        // The race (sled 0.34): the lock is held by the file inside sled's `IoBufs`, and each
        // log write runs on sled's thread pool with its own clone of that `Arc`
        // (`iobuf.rs`, `threadpool::spawn(move || iobufs.write_to_log(..))`). The write makes
        // its bytes durable, which lets `flush` return, and only then does the task end and
        // drop its clone. So after this process drops its last handle, the file (and its
        // lock) can outlive it by however long that pool thread takes to finish: nothing in
        // sled's API waits for it. Hence a bounded wait here, for this process's own lock
        // only; another process holding it holds it for good.
        let deadline = std::time::Instant::now() + lock_wait;
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                Err(e) if is_lock_held(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) if is_lock_held(&e) => {
                    return Err(CheckpointError::Storage(format!(
                        "cannot open {}: another process holds it (is another rustybt running on this folder?): {e}",
                        dir.display()
                    )))
                }
                Err(e) => {
                    return Err(CheckpointError::Storage(format!(
                        "cannot open {}: {e}",
                        dir.display()
                    )))
                }
            }
        };
        Ok(Self::start(db, None))
    }

    /// A database that lives in a temporary file and vanishes on drop: replays, benchmarks.
    pub fn temporary() -> Result<Self, CheckpointError> {
        let db = sled::Config::new().temporary(true).open()?;
        Ok(Self::start(db, None))
    }

    /// Opens `dir`, or, if it cannot be opened, a temporary database marked degraded: every
    /// engine on it starts MANUALLY_HALTED with the reason, and refuses resets.
    pub fn open_or_degraded(dir: &Path) -> Self {
        match Self::open(dir) {
            Ok(store) => store,
            Err(e) => {
                tracing::error!(error = %e, "checkpoint unreadable: running halted");
                let db = sled::Config::new()
                    .temporary(true)
                    .open()
                    .expect("temporary sled database");
                Self::start(db, Some(e.to_string()))
            }
        }
    }

    fn start(db: sled::Db, degraded: Option<String>) -> Self {
        // How the last process ended, then: this one is running (durable before any engine
        // acts, so a crash from here on reads as one).
        let last_stop = match db.get(RUN_KEY) {
            Ok(Some(v)) if v.as_ref() == b"running" => LastStop::Unclean,
            Ok(_) => LastStop::Clean,
            Err(e) => {
                tracing::error!(error = %e, "cannot read how the last run stopped: counted as a crash");
                LastStop::Unclean
            }
        };
        if db
            .insert(RUN_KEY, b"running".as_slice())
            .and_then(|_| db.flush())
            .is_err()
        {
            tracing::error!("cannot record this run as started");
        }
        let writer = Arc::new(Writer {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            serial: std::sync::atomic::AtomicU64::new(0),
        });
        let w = writer.clone();
        let d = db.clone();
        let thread = std::thread::Builder::new()
            .name("rustybt-checkpoint".into())
            .spawn(move || w.run(d))
            .expect("spawn checkpoint writer");
        Self {
            db,
            writer: Arc::new(WriterHandle(writer, Mutex::new(Some(thread)))),
            degraded,
            last_stop,
        }
    }

    /// How the process that used this folder before ended.
    pub fn last_stop(&self) -> LastStop {
        self.last_stop
    }

    /// Records a clean stop, durable when it answers: call it last in a graceful shutdown.
    pub async fn record_clean_stop(&self) -> Result<(), CheckpointError> {
        self.db.insert(RUN_KEY, b"clean".as_slice())?;
        self.flush().await
    }

    /// Why the checkpoint could not be opened, when it could not.
    pub fn degraded(&self) -> Option<&str> {
        self.degraded.as_deref()
    }

    /// The checkpoint of one strategy.
    pub fn strategy(&self, name: &str) -> Result<StrategyCheckpoint, CheckpointError> {
        let tree = self.db.open_tree(format!("strategy/{name}"))?;
        Ok(StrategyCheckpoint {
            db: self.db.clone(),
            tree,
            writer: self.writer.clone(),
            degraded: self.degraded.clone(),
            last_stop: self.last_stop,
        })
    }

    /// The firm's control record kept here (one process, no `[cluster]`); `Ok(None)` on a
    /// fresh database. An unusable checkpoint reads as an error: the firm then starts halted.
    pub fn load_firm(&self) -> Result<Option<crate::firm::FirmControl>, CheckpointError> {
        if let Some(why) = &self.degraded {
            return Err(CheckpointError::Unavailable(why.clone()));
        }
        match self.db.get(FIRM_KEY)? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| CheckpointError::Corrupt {
                        key: String::from_utf8_lossy(FIRM_KEY).into_owned(),
                        why: e.to_string(),
                    })
            }
        }
    }

    /// Writes the firm's control record and flushes it: durable when this resolves.
    pub async fn save_firm(
        &self,
        control: &crate::firm::FirmControl,
    ) -> Result<(), CheckpointError> {
        let value = serde_json::to_vec(control)
            .map_err(|e| CheckpointError::Storage(format!("firm record: {e}")))?;
        self.db.insert(FIRM_KEY, value)?;
        self.db.flush_async().await?;
        Ok(())
    }

    /// Waits until everything written so far is on disk.
    pub async fn flush(&self) -> Result<(), CheckpointError> {
        let (done, rx) = oneshot::channel();
        self.writer.push(Job::Flush { done });
        rx.await.map_err(|_| CheckpointError::WriterStopped)?
    }
}

const STATE_KEY: &[u8] = b"state";
const FIRM_KEY: &[u8] = b"firm/control";

/// Whether the process that used the folder last stopped cleanly: `running` from open to a
/// graceful shutdown, `clean` after it. Absent on a fresh folder (its first start is clean).
const RUN_KEY: &[u8] = b"run";

/// How the process that used a checkpoint folder last ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastStop {
    /// A graceful shutdown recorded itself (SIGTERM, `live stop`, the handle's shutdown), or
    /// the folder is new.
    Clean,
    /// The process ended without recording a stop (a crash, SIGKILL, power loss): what the
    /// checkpoint holds may miss the last moments (open orders, breaker figures).
    Unclean,
}
const AUDIT_PREFIX: &[u8] = b"audit/";
const DELIVERY_PREFIX: &[u8] = b"delivery/";
const OPEN_ORDER_PREFIX: &[u8] = b"open_order/";
/// Ids accepted within the duplicate window, each with the instant it is forgotten at.
const SEEN_ID_PREFIX: &[u8] = b"seen_id/";

/// An order id remembered for the duplicate check, with the instant it is forgotten at.
pub type SeenId = (Arc<str>, DateTime<Utc>);

fn breaker_key(kind: BreakerKind) -> Vec<u8> {
    format!("breaker/{kind}").into_bytes()
}

/// One strategy's records.
#[derive(Clone)]
pub struct StrategyCheckpoint {
    db: sled::Db,
    tree: sled::Tree,
    writer: Arc<WriterHandle>,
    degraded: Option<String>,
    last_stop: LastStop,
}

impl StrategyCheckpoint {
    /// How the process that used this checkpoint before ended.
    pub fn last_stop(&self) -> LastStop {
        self.last_stop
    }

    /// Why the checkpoint is unusable, when it is.
    pub fn degraded(&self) -> Option<&str> {
        self.degraded.as_deref()
    }

    /// The checkpointed global state; `Ok(None)` on a fresh database.
    pub fn load_state(&self) -> Result<Option<StateRecord>, CheckpointError> {
        if let Some(why) = &self.degraded {
            return Err(CheckpointError::Unavailable(why.clone()));
        }
        self.read(STATE_KEY)
    }

    /// A breaker's durable state, if any was saved. A corrupt record reads as an error.
    pub fn load_breaker<T: DeserializeOwned>(
        &self,
        kind: BreakerKind,
    ) -> Result<Option<T>, CheckpointError> {
        self.read(&breaker_key(kind))
    }

    fn read<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, CheckpointError> {
        match self.tree.get(key)? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| CheckpointError::Corrupt {
                        key: String::from_utf8_lossy(key).into_owned(),
                        why: e.to_string(),
                    })
            }
        }
    }

    /// Saves a breaker's durable state without waiting: made durable by the next flush.
    pub fn stage_breaker<T: Serialize>(&self, kind: BreakerKind, state: &T) {
        let value = serde_json::to_vec(state).expect("breaker state serialises");
        self.writer.push(Job::Stage {
            tree: self.tree.clone(),
            key: breaker_key(kind),
            value: Some(value),
        });
    }

    /// The open orders saved by [`StrategyCheckpoint::stage_open_orders`], each with the
    /// book's key for it. A corrupt record reads as an error.
    pub fn load_open_orders(&self) -> Result<Vec<(Arc<str>, OpenOrder)>, CheckpointError> {
        // A degraded checkpoint reads its empty stand-in, as the breakers' state does: the
        // engine is halted for it already.
        self.tree
            .scan_prefix(OPEN_ORDER_PREFIX)
            .map(|item| {
                let (key, bytes) = item?;
                let order: OpenOrder =
                    serde_json::from_slice(&bytes).map_err(|e| CheckpointError::Corrupt {
                        key: String::from_utf8_lossy(&key).into_owned(),
                        why: e.to_string(),
                    })?;
                let book_key = String::from_utf8_lossy(&key[OPEN_ORDER_PREFIX.len()..]);
                Ok((Arc::from(&*book_key), order))
            })
            .collect()
    }

    /// The ids saved by [`StrategyCheckpoint::stage_seen_ids`], each with the instant it is
    /// forgotten at. A corrupt record reads as an error.
    pub fn load_seen_ids(&self) -> Result<Vec<SeenId>, CheckpointError> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(SEEN_ID_PREFIX) {
            let (key, bytes) = item?;
            let corrupt = |why: String| CheckpointError::Corrupt {
                key: String::from_utf8_lossy(&key).into_owned(),
                why,
            };
            let nanos: i64 = std::str::from_utf8(&key[SEEN_ID_PREFIX.len()..])
                .ok()
                .and_then(|k| k.split('/').next())
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| corrupt("no instant in the key".into()))?;
            let forget_at = DateTime::<Utc>::from_timestamp_nanos(nanos);
            let ids: Vec<String> =
                serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
            out.extend(ids.into_iter().map(|id| (Arc::from(id), forget_at)));
        }
        Ok(out)
    }

    /// Saves ids remembered since the last save without waiting: one record per instant of
    /// forgetting (a save period's ids share one or two), and drops the records whose
    /// instant is at or before `now`. Writes grow with the save periods, not the orders.
    pub fn stage_seen_ids(&self, ids: &[SeenId], now: DateTime<Utc>) {
        let nanos = |at: DateTime<Utc>| at.timestamp_nanos_opt().unwrap_or(i64::MAX).max(0);
        let mut groups: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
        for (id, at) in ids {
            groups.entry(nanos(*at)).or_default().push(id);
        }
        let saved_at = nanos(now);
        let mut jobs = Vec::with_capacity(groups.len() + 1);
        for (forget, group) in groups {
            let key = format!(
                "{}{forget:020}/{saved_at:020}/{}",
                String::from_utf8_lossy(SEEN_ID_PREFIX),
                self.writer.next_serial()
            );
            jobs.push(Job::Append {
                tree: self.tree.clone(),
                key: key.into_bytes(),
                value: serde_json::to_vec(&group).expect("a list of strings serialises"),
            });
        }
        let mut until = SEEN_ID_PREFIX.to_vec();
        until.extend_from_slice(format!("{:020}/~", saved_at).as_bytes());
        jobs.push(Job::RemoveRange {
            tree: self.tree.clone(),
            from: SEEN_ID_PREFIX.to_vec(),
            until,
        });
        self.writer.push_all(jobs);
    }

    /// Saves the open orders that changed (`None`: closed) without waiting, and asks the
    /// writer for a flush: durable within one flush of the call.
    pub fn stage_open_orders(
        &self,
        changes: impl IntoIterator<Item = (Arc<str>, Option<OpenOrder>)>,
    ) {
        let mut jobs: Vec<Job> = changes
            .into_iter()
            .map(|(book_key, order)| {
                let mut key = OPEN_ORDER_PREFIX.to_vec();
                key.extend_from_slice(book_key.as_bytes());
                let value = order.map(|o| serde_json::to_vec(&o).expect("open order serialises"));
                Job::Stage {
                    tree: self.tree.clone(),
                    key,
                    value,
                }
            })
            .collect();
        if jobs.is_empty() {
            return;
        }
        // Nobody waits for this flush: the answer is dropped.
        let (done, _) = oneshot::channel();
        jobs.push(Job::Flush { done });
        // One lock and one wake for them all.
        self.writer.push_all(jobs);
    }

    /// Writes the new state and its transitions to the audit trail in one atomic batch and
    /// flushes it; resolves once it is on disk.
    pub async fn commit(
        &self,
        record: &StateRecord,
        transitions: &[Transition],
    ) -> Result<(), CheckpointError> {
        let mut batch = sled::Batch::default();
        batch.insert(
            STATE_KEY,
            serde_json::to_vec(record).expect("state serialises"),
        );
        for t in transitions {
            let seq = self.db.generate_id()?;
            let entry = AuditEntry {
                seq,
                at: t.at,
                from: t.from,
                to: t.to,
                cause: t.cause.clone(),
                operator: t.operator.clone(),
                details: t.details.clone(),
            };
            let mut key = AUDIT_PREFIX.to_vec();
            key.extend_from_slice(&seq.to_be_bytes());
            batch.insert(
                key,
                serde_json::to_vec(&entry).expect("audit entry serialises"),
            );
        }
        let (done, rx) = oneshot::channel();
        self.writer.push(Job::Commit {
            tree: self.tree.clone(),
            batch,
            done,
        });
        rx.await.map_err(|_| CheckpointError::WriterStopped)?
    }

    /// The audit trail, oldest first.
    pub fn audit(&self) -> Result<Vec<AuditEntry>, CheckpointError> {
        self.scan(AUDIT_PREFIX)
    }

    /// Appends a record to the alert delivery log (durable by the next flush).
    pub fn append_delivery<T: Serialize>(&self, record: &T) -> Result<(), CheckpointError> {
        let seq = self.db.generate_id()?;
        let mut key = DELIVERY_PREFIX.to_vec();
        key.extend_from_slice(&seq.to_be_bytes());
        self.writer.push(Job::Append {
            tree: self.tree.clone(),
            key,
            value: serde_json::to_vec(record).expect("delivery record serialises"),
        });
        Ok(())
    }

    /// Waits until everything staged or appended so far is written and flushed.
    pub async fn flush(&self) -> Result<(), CheckpointError> {
        let (done, rx) = oneshot::channel();
        self.writer.push(Job::Flush { done });
        rx.await.map_err(|_| CheckpointError::WriterStopped)?
    }

    /// The newest `limit` delivery records, oldest first.
    pub fn deliveries<T: DeserializeOwned>(&self, limit: usize) -> Result<Vec<T>, CheckpointError> {
        let mut out: Vec<T> = Vec::new();
        for item in self.tree.scan_prefix(DELIVERY_PREFIX).rev().take(limit) {
            let (key, bytes) = item?;
            out.push(
                serde_json::from_slice(&bytes).map_err(|e| CheckpointError::Corrupt {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    why: e.to_string(),
                })?,
            );
        }
        out.reverse();
        Ok(out)
    }

    fn scan<T: DeserializeOwned>(&self, prefix: &[u8]) -> Result<Vec<T>, CheckpointError> {
        self.tree
            .scan_prefix(prefix)
            .map(|item| {
                let (key, bytes) = item?;
                serde_json::from_slice(&bytes).map_err(|e| CheckpointError::Corrupt {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    why: e.to_string(),
                })
            })
            .collect()
    }

    /// Overwrites the state record with bytes that do not decode: tests of the corrupt path.
    #[doc(hidden)]
    pub fn corrupt_state_for_test(&self) -> Result<(), CheckpointError> {
        self.tree.insert(STATE_KEY, b"{not json".to_vec())?;
        self.db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
