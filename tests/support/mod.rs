//! Shared by the integration tests: an engine on a hand-moved clock, and `live run` as a process.

pub mod engine;
pub mod service;
