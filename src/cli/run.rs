//! Placeholder until this command lands; it exits non-zero saying so.

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct RunArgs {}

/// Runs the command.
pub async fn main(_args: RunArgs) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
