//! `rustybt alerts test`: one test alert through every configured channel, with each
//! channel's outcome.

use crate::config::{Config, ProcessEnv};
use rustybt_actors::alerts::{Alert, AlertEventType, DeliveryError};
use rustybt_actors::breaker::BreakerKind;
use rustybt_actors::state_machine::EngineState;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `alerts test`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  rustybt alerts test --config prod.toml\n\nExits non-zero if any channel failed; secrets come from the environment or a .env beside the file."
)]
pub struct AlertsTestArgs {
    /// Configuration file whose [alerts] to test.
    #[arg(long, short)]
    pub config: PathBuf,
    /// Seconds to wait for each channel.
    #[arg(long, default_value_t = 15)]
    pub timeout: u64,
}

/// Sends the test alert and prints `channel: delivered` or the reason it failed.
pub async fn main(args: AlertsTestArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let channels = crate::alerting::build_channels(&config.alerts, &ProcessEnv)?;
    if channels.is_empty() {
        anyhow::bail!(
            "no alert channels are configured in {}",
            args.config.display()
        );
    }
    let strategy = config
        .strategies
        .first()
        .map(|s| s.name.clone())
        .unwrap_or_else(|| "test".into());
    let alert = Alert {
        id: format!(
            "msg_test_{}",
            rustybt_actors::actors::supervisor::random_token(16)
        ),
        event_type: AlertEventType::Test,
        strategy_name: strategy,
        circuit_breaker_type: BreakerKind::Manual,
        details: [(
            "note".to_string(),
            "a test from `rustybt alerts test`; nothing tripped".to_string(),
        )]
        .into(),
        timestamp: chrono::Utc::now(),
        summary: "test alert: this channel works".into(),
        state: EngineState::Normal,
        suppressed_since_last: 0,
    };
    let wait = Duration::from_secs(args.timeout);
    let outcomes = futures::future::join_all(channels.iter().map(|c| {
        let alert = &alert;
        async move {
            let r = match tokio::time::timeout(wait, c.deliver(alert)).await {
                Ok(r) => r,
                Err(_) => Err(DeliveryError::TimedOut(wait)),
            };
            (c.name(), r)
        }
    }))
    .await;
    let mut failed = 0;
    for (name, r) in outcomes {
        match r {
            Ok(()) => println!("{name}: delivered"),
            Err(e) => {
                failed += 1;
                println!("{name}: FAILED — {e}");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} channel(s) failed");
    }
    Ok(())
}
