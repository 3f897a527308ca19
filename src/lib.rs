//! # rustybt: circuit breakers and monitoring for live trading
//!
//! The faces of the engine in [`rustybt_actors`]:
//!
//! - [`engine`]: start engines from a host (embedding), hiding actix (the engine crate's
//!   builder, re-exported; a host that embeds needs only `rustybt-actors`).
//! - [`config`]: the TOML configuration contract, profiles and validation (the engine
//!   crate's, re-exported).
//! - [`api_types`]: the HTTP API's bodies, shared by the server and [`client`], a typed
//!   client of that API (the CLI's, and any Rust program's).
//! - the `rustybt` binary: `live run` (HTTP API, dashboard, metrics), `live stop|reset|status`,
//!   `live replay`, `alerts test`.
//!
//! The engine's vocabulary is re-exported so a host needs only this crate.

pub use rustybt_api as api_types;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod demo;
pub mod replay;
pub mod server;

pub use rustybt_actors::builder as engine;
pub use rustybt_actors::config;
/// The alert channels of `[alerts]` (the engine crate's, re-exported).
pub use rustybt_actors::config::channels as alerting;
pub use rustybt_actors::{
    actors::messages::CancelAllOrders,
    breaker::{BreakerKind, ResetPolicy, Trip},
    clock::{Clock, SharedClock, SystemClock, TestClock},
    decision::OrderDecision,
    domain::{
        ErrorKind, ErrorReport, Fill, OrderRequest, PortfolioSnapshot, Position, Side, TimeInForce,
    },
    engine::{EngineHandle, EngineStatus, OperatorHandle},
    error::EngineError,
    events::{EngineEvent, TelemetryEvent},
    firm::{FirmHandle, FirmMember, FirmParts, FirmView, HaltOutcome, SledControlStore},
    settings::StrategySettings,
    state_machine::EngineState,
};
