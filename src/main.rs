//! The `rustybt` binary: a thin shell over the library.

use clap::Parser;
use rustybt::cli::{operator, AlertsCommand, Cli, Command, LiveCommand};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUSTYBT_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Live(LiveCommand::Run(a)) => rustybt::cli::run::main(a).await,
            Command::Live(LiveCommand::Stop(a)) => operator::stop(a).await,
            Command::Live(LiveCommand::Reset(a)) => operator::reset(a).await,
            Command::Live(LiveCommand::Status(a)) => operator::status(a).await,
            Command::Live(LiveCommand::Replay(a)) => rustybt::cli::replay::main(a).await,
            Command::Alerts(AlertsCommand::Test(a)) => rustybt::cli::alerts_test::main(a).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
