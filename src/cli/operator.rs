//! Placeholder until these commands land; they exit non-zero saying so.

/// Arguments of `live stop`.
#[derive(Debug, clap::Args)]
pub struct StopArgs {}
/// Arguments of `live reset`.
#[derive(Debug, clap::Args)]
pub struct ResetArgs {}
/// Arguments of `live status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {}

/// `live stop`.
pub async fn stop(_args: StopArgs) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
/// `live reset`.
pub async fn reset(_args: ResetArgs) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
/// `live status`.
pub async fn status(_args: StatusArgs) -> anyhow::Result<()> {
    anyhow::bail!("this command is not built yet")
}
