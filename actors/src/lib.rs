//! # rustybt-actors: the engine
//!
//! The circuit-breaker engine that stands between a live strategy and its broker.
//!
//! - [`breaker`]: what every breaker shares, and the [`breaker::Rule`] trait.
//! - [`breakers`]: one file per breaker (its pure rule, settings and tests) and the registry
//!   that names each once; [`rules`]: the windows and market session they share.
//! - [`pretrade`]: the pre-trade checks and the book they judge against.
//! - [`decision`]: the order decision core the host's own thread locks for each order.
//! - [`supervision`]: actor names, lifecycle events and the health board.
//! - [`state_machine`]: NORMAL / TRIPPED / MANUALLY_HALTED / RESETTING as one transition table.
//! - [`checkpoint`]: the sled checkpoint, audit trail and delivery log.
//! - [`actors`]: thin actix shells: the ledger feed, one generic breaker actor per rule, the
//!   order gate, the alert dispatcher and the Supervisor that owns the state machine.
//! - [`alerts`]: the alert channel interface, rate limit and delivery log.
//! - [`engine`]: spawns one strategy's actors and hands back an [`engine::EngineHandle`]
//!   (the host's calls) and an [`engine::OperatorHandle`] (halt and reset).
//! - [`firm`]: the firm level: the control record and its transitions, the firm breakers over
//!   the aggregate, the store seam, the firm handle (firm and desk halts, resets, the view).
//! - [`builder`]: starts engines on a thread of their own for hosts that know nothing of actix.
//! - [`config`]: the TOML configuration contract (profiles, environment overrides,
//!   validation) and the engines it starts.
//!
//! Time comes only from an injected [`clock::Clock`]; money and ratios are `Decimal`.

pub mod actors;
pub mod alerts;
pub mod breaker;
pub mod breakers;
pub mod builder;
pub mod checkpoint;
pub mod clock;
pub mod config;
pub mod decision;
pub mod domain;
pub mod engine;
pub mod error;
pub mod events;
pub mod firm;
pub mod pretrade;
pub mod rules;
pub mod settings;
pub mod state_machine;
pub mod supervision;
