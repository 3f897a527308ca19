//! # rustybt-actors: the engine
//!
//! The circuit-breaker engine that stands between a live strategy and its broker.
//!
//! - [`breaker`]: what every breaker shares, and the [`breaker::Rule`] trait.
//! - [`rules`]: pure, synchronous breaker rules (drawdown, daily loss, order rate, error rate,
//!   stale feed, pre-trade denials, the host-silent dead-man's switch), tested exhaustively
//!   without actors.
//! - [`decision`]: the order decision core the host's own thread locks for each order.
//! - [`supervision`]: actor names, lifecycle events and the health board.
//! - [`state_machine`]: NORMAL / TRIPPED / MANUALLY_HALTED / RESETTING as one transition table.
//! - [`checkpoint`]: the sled checkpoint, audit trail and delivery log.
//! - [`actors`]: thin actix shells: the ledger feed, one generic breaker actor per rule, the
//!   order gate, the alert dispatcher and the Supervisor that owns the state machine.
//! - [`alerts`]: the alert channel interface, rate limit and delivery log.
//! - [`engine`]: spawns one strategy's actors and hands back an [`engine::EngineHandle`]
//!   (the host's calls) and an [`engine::OperatorHandle`] (halt and reset).
//! - [`firm`]: the firm level: the firm control record, its transitions, the firm breakers.
//! - [`firm_handle`]: the firm in one process and the seam to many: firm and desk halts, firm
//!   resets, the firm breakers over the aggregate, the firm view.
//! - [`builder`]: starts engines on a thread of their own for hosts that know nothing of actix.
//!
//! Time comes only from an injected [`clock::Clock`]; money and ratios are `Decimal`.

pub mod actors;
pub mod alerts;
pub mod breaker;
pub mod builder;
pub mod checkpoint;
pub mod clock;
pub mod decision;
pub mod domain;
pub mod engine;
pub mod error;
pub mod events;
pub mod firm;
pub mod firm_figures;
pub mod firm_handle;
pub mod pretrade;
pub mod rules;
pub mod settings;
pub mod state_machine;
pub mod supervision;
