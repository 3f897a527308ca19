//! Placeholder until this command lands; it exits non-zero saying so.

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct AlertsTestArgs {}

/// Runs the command.
pub async fn main(_args: AlertsTestArgs) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
