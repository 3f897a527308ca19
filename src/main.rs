//! The `rustybt` binary: a thin shell over the library.

use clap::Parser;
use rustybt::cli::logging::{self, LogProfile};
use rustybt::cli::{operator, AlertsCommand, Cli, Command, LiveCommand};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let profile = match cli.command {
        Command::Live(LiveCommand::Replay(_)) => LogProfile::Replay,
        _ => LogProfile::Service,
    };
    logging::init(cli.log_format, profile, cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
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
            std::process::ExitCode::from(rustybt::cli::exit_code(&e))
        }
    }
}
