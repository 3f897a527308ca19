//! The `rustybt` command line.

pub mod alerts_test;
pub mod connect;
pub mod logging;
pub mod operator;
pub mod replay;
pub mod run;

use clap::{Parser, Subcommand};

/// Circuit breakers and monitoring for live algorithmic trading.
#[derive(Debug, Parser)]
#[command(
    name = "rustybt",
    version,
    about,
    after_help = "Exit codes: 0 success, 1 failure, 2 usage, 3 engine unreachable, 4 unauthorized or no token,\n5 unknown strategy, 6 refused by the engine (409), 7 reset declined, 8 tripped again after a reset\n(docs/operations.md)."
)]
pub struct Cli {
    /// Log lines on stderr: `text` for people (coloured only on a terminal), `json` for
    /// machines (one JSON object a line).
    #[arg(long, global = true, value_enum, default_value_t = logging::LogFormat::Text, env = "RUSTYBT_LOG_FORMAT")]
    pub log_format: logging::LogFormat,
    /// More log detail: `-v` info (for `live replay`, the engine's own lines too), `-vv` debug.
    /// RUSTYBT_LOG, when set, decides instead (e.g. `RUSTYBT_LOG=rustybt=debug`).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Why a command failed, as its exit code. `docs/operations.md` lists the same table; a script
/// can tell "try again" (3) from "fix the token" (4) from "the engine said no" (6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Anything else: a bad configuration, an answer the CLI cannot read, `live run` failing.
    Other,
    /// The command line is wrong (clap's own errors exit with it too).
    Usage,
    /// The engine could not be reached at the URL.
    Unreachable,
    /// No token found, or the engine refused the token (401).
    Unauthorized,
    /// The engine has no such strategy (404).
    UnknownStrategy,
    /// The engine refused the transition (409): nothing to reset, a reset already pending, a
    /// wrong or expired confirmation token.
    Refused,
    /// The operator answered no to the reset question (or stdin was closed).
    Declined,
    /// The reset was confirmed, and a breaker whose condition still holds tripped at once.
    TrippedAgain,
}

impl Failure {
    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Failure::Other => 1,
            Failure::Usage => 2,
            Failure::Unreachable => 3,
            Failure::Unauthorized => 4,
            Failure::UnknownStrategy => 5,
            Failure::Refused => 6,
            Failure::Declined => 7,
            Failure::TrippedAgain => 8,
        }
    }
}

/// A failed command: what to print, and the exit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    /// Decides the exit code.
    pub failure: Failure,
    /// One message an operator can act on.
    pub message: String,
}

impl CliError {
    /// A failure with its message.
    pub fn new(failure: Failure, message: impl Into<String>) -> Self {
        Self {
            failure,
            message: message.into(),
        }
    }
}

/// The exit code of a command's error: its [`CliError`]'s, or 1.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    e.chain()
        .find_map(|c| c.downcast_ref::<CliError>())
        .map_or(Failure::Other.exit_code(), |c| c.failure.exit_code())
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Live trading: run the engine, operate it, replay history.
    #[command(subcommand)]
    Live(LiveCommand),
    /// Alert channels.
    #[command(subcommand)]
    Alerts(AlertsCommand),
}

/// `rustybt live ...`.
#[derive(Debug, Subcommand)]
pub enum LiveCommand {
    /// Run the engine for every configured strategy behind the HTTP API and dashboard.
    Run(run::RunArgs),
    /// Emergency stop: halt a strategy now (its open orders are cancelled).
    Stop(operator::StopArgs),
    /// Reset a tripped or halted strategy (asks for confirmation).
    Reset(operator::ResetArgs),
    /// Show the state of one or every strategy.
    Status(operator::StatusArgs),
    /// Replay a recorded history through the breakers: when would they have tripped?
    Replay(replay::ReplayArgs),
}

/// `rustybt alerts ...`.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Send a test alert through every configured channel and report each outcome.
    Test(alerts_test::AlertsTestArgs),
}
