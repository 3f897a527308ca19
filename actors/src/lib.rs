//! # rustybt-actors: the engine
//!
//! The circuit-breaker engine that stands between a live strategy and its broker.
//!
//! - [`rules`]: pure, synchronous breaker rules (drawdown, daily loss, order rate, error rate,
//!   stale feed), tested exhaustively without actors.
//! - [`state_machine`]: NORMAL / TRIPPED / MANUALLY_HALTED / RESETTING as one transition table.
//! - [`checkpoint`]: the sled checkpoint, audit trail and delivery log.
//! - [`actors`]: thin actix shells around the rules: the ledger feed, one actor per breaker,
//!   the order gate, the alert dispatcher and the supervisor that owns the state machine.
//! - [`alerts`]: the alert channel interface, rate limit and delivery log.
//! - [`engine`]: spawns one strategy's actors and hands back an [`engine::EngineHandle`].
//!
//! Time comes only from an injected [`clock::Clock`]; money and ratios are `Decimal`.

pub mod actors;
pub mod alerts;
pub mod breaker;
pub mod checkpoint;
pub mod clock;
pub mod domain;
pub mod engine;
pub mod error;
pub mod events;
pub mod rules;
pub mod settings;
pub mod state_machine;
