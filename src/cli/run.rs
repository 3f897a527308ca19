//! `rustybt live run`: the engines behind the HTTP API, the dashboard and `/metrics`.

use crate::config::Config;
use crate::engine::EngineBuilder;
use anyhow::Context;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Arguments of `live run`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  rustybt live run                      # demo strategy, simulated market, ./data\n  rustybt live run --config prod.toml   # every [[strategy]] of the file\n\nThe API token comes from RUSTYBT_API_TOKEN. On a loopback address without one, a token is\nmade and written to <data_dir>/api-token (read by `rustybt live stop|reset`)."
)]
pub struct RunArgs {
    /// Configuration file (TOML). Without it: one demo strategy fed by a simulated market.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Address to serve on, overriding `[server] bind`.
    #[arg(long)]
    pub bind: Option<String>,
    /// With no configuration, do not start the simulated market.
    #[arg(long)]
    pub no_demo: bool,
}

/// Where `live run` writes a token it made, for the local CLI.
pub fn token_file(data_dir: &Path) -> PathBuf {
    data_dir.join("api-token")
}

fn api_token(config: &Config, bind: &SocketAddr) -> anyhow::Result<String> {
    if let Some(t) = std::env::var("RUSTYBT_API_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        return Ok(t.trim().to_string());
    }
    if !bind.ip().is_loopback() {
        anyhow::bail!("refusing to serve on {bind} without RUSTYBT_API_TOKEN: off loopback every request needs a token");
    }
    let token = rustybt_actors::actors::supervisor::random_token(32);
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let path = token_file(&config.data_dir);
    std::fs::write(&path, &token).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    eprintln!(
        "no RUSTYBT_API_TOKEN set: made one for this run, in {} (owner-only)",
        path.display()
    );
    Ok(token)
}

/// Runs until SIGINT or SIGTERM, then stops serving and flushes the checkpoint.
pub async fn main(args: RunArgs) -> anyhow::Result<()> {
    let (config, demo) = match &args.config {
        Some(path) => (Config::load(path)?, false),
        None => (Config::embedded_default(), !args.no_demo),
    };
    let bind_text = args.bind.clone().unwrap_or_else(|| config.bind.clone());
    let bind: SocketAddr = bind_text.parse().with_context(|| {
        format!("--bind/[server] bind: {bind_text:?} is not an address like 127.0.0.1:8080")
    })?;
    let token = api_token(&config, &bind)?;
    let channels = crate::alerting::build_channels(&config.alerts, &crate::config::ProcessEnv)?;
    let engines = EngineBuilder::strategies(config.strategies.clone())
        .data_dir(config.data_dir.clone())
        .alert_channels(channels)
        .start_all()?;
    for (name, engine) in engines.all() {
        let status = engine.status().await?;
        eprintln!(
            "strategy {name}: {}{}",
            status.state,
            status.reason.map(|r| format!(" — {r}")).unwrap_or_default()
        );
    }
    let server = crate::server::start(engines.all().clone(), bind, token, false)?;
    println!(
        "rustybt live: dashboard on http://{}/  (API /api/v1, metrics /metrics)",
        server.addr
    );
    let demo_task = if demo {
        let engine = engines
            .get("demo")
            .cloned()
            .context("the embedded default has a demo strategy")?;
        println!("demo: a simulated market feeds strategy \"demo\"; breakers will trip every few minutes");
        Some(tokio::spawn(crate::demo::run(engine)))
    } else {
        None
    };

    shutdown_signal().await;
    eprintln!("shutting down: finishing requests and flushing the checkpoint");
    if let Some(t) = demo_task {
        t.abort();
    }
    server.stop().await;
    engines.shutdown().await?;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
