//! Engines from a validated [`Config`]: what `live run` and an in-process host (the Python
//! package) both start.

use super::{Config, ProcessEnv};
use crate::builder::{EngineBuilder, Engines};
use crate::clock::SharedClock;
use crate::settings::StrategySettings;

/// Starts the engines of `strategies` the way `live run` does: the sled checkpoint in the
/// configuration's `data_dir`, the alert channels of its `[alerts]` (secrets from the process
/// environment), each engine on the builder's own thread. `live run` passes every strategy of
/// the file; an in-process host (the Python package) passes the one it runs.
pub fn start_engines(
    config: &Config,
    strategies: Vec<StrategySettings>,
) -> anyhow::Result<Engines> {
    start_engines_on(config, strategies, None)
}

/// [`start_engines`] on `clock` (`None`: the system clock).
pub fn start_engines_on(
    config: &Config,
    strategies: Vec<StrategySettings>,
    clock: Option<SharedClock>,
) -> anyhow::Result<Engines> {
    let channels = super::channels::build_channels(&config.alerts, &ProcessEnv)?;
    let builder = EngineBuilder::strategies(strategies);
    let builder = match clock {
        Some(clock) => builder.clock(clock),
        None => builder,
    };
    Ok(builder
        .data_dir(config.data_dir.clone())
        .alert_channels(channels)
        .start_all()?)
}
