//! `rustybt live replay`: a recorded history through the live engine on a simulated clock —
//! with these limits, when would the breakers have tripped?

pub mod events;
pub mod plot;
pub mod runner;

pub use events::{read, BadLine, EventKind, History, ReplayEvent};
pub use runner::{replay, BreakerSummary, RefusedOrder, ReplayOptions, ReplayReport};
