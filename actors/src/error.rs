//! The errors the engine's handle answers with.

use crate::checkpoint::CheckpointError;
use crate::domain::InputError;
use crate::state_machine::TransitionError;
use thiserror::Error;

/// Why an engine call failed. Nothing changed unless the variant says otherwise.
#[derive(Debug, Clone, Error)]
pub enum EngineError {
    /// Bad input: names the field and value.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A refused state transition.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The checkpoint failed. For a halt, the halt is in force in memory but not durable.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// An actor is down or restarting; retry shortly.
    #[error("engine unavailable: {0}")]
    Unavailable(String),
}

impl From<actix::MailboxError> for EngineError {
    fn from(e: actix::MailboxError) -> Self {
        EngineError::Unavailable(e.to_string())
    }
}
