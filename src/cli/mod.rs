//! The `rustybt` command line.

pub mod alerts_test;
pub mod operator;
pub mod replay;
pub mod run;

use clap::{Parser, Subcommand};

/// Circuit breakers and monitoring for live algorithmic trading.
#[derive(Debug, Parser)]
#[command(name = "rustybt", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
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
