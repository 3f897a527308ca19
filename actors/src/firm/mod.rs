//! The firm level: the strategies' machinery one level up.
//!
//! In: every member strategy's figures (local engines, and other hosts' through the store),
//! operators' firm and desk halts and resets. Out: the firm's control record, applied to every
//! local strategy as a hold (`firm_halt`, `firm:<breaker>`) or its release (`firm_reset`).
//!
//! - [`control`]: the firm's control record ([`FirmControl`]) and its transition table.
//! - [`breakers`]: the firm breakers, the strategies' own pure rules over the firm's aggregate.
//! - [`figures`]: the firm's figures through restarts, joins and departures.
//! - [`store`]: where the record lives ([`ControlStore`]): sled for one process, NATS for many.
//! - [`handle`]: the firm in one process ([`FirmHandle`]): firm operations, the aggregate fed to
//!   the firm breakers, the record applied to every local strategy.
//! - [`views`]: what the firm view and firm operations answer.

pub mod breakers;
pub mod control;
pub mod figures;
pub mod handle;
pub mod store;
pub mod views;

pub use breakers::{FirmBreakerSettings, FirmBreakers};
pub use control::{
    FirmBreakerState, FirmChange, FirmControl, FirmError, FirmPendingReset, FirmTrigger, FirmTrip,
    HaltOrder,
};
pub use handle::{FirmHandle, FirmMember, FirmOpError, FirmParts};
pub use store::{ControlChange, ControlStore, ControlUpdate, FirmStoreError, SledControlStore};
pub use views::{
    BusView, FirmPortfolioView, FirmResetTicket, FirmStrategyView, FirmView, HaltOutcome, HostView,
    RemoteStrategy, RemovedHost, StrategyRef,
};
