//! Shared by the integration tests: an engine on a hand-moved clock, and `live run` as a process.

pub mod engine;
pub mod nats;
pub mod netns;
pub mod service;
pub mod tools;

/// Serves every engine of `engines` over the HTTP API on a loopback port the OS picks.
pub fn serve(engines: &rustybt::engine::Engines, token: &str) -> rustybt::server::RunningServer {
    rustybt::server::start(
        engines.all().clone(),
        "127.0.0.1:0".parse().expect("loopback address"),
        token.into(),
        false,
    )
    .expect("server starts on loopback")
}
