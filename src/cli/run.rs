//! `rustybt live run`: the engines behind the HTTP API, the dashboard and `/metrics`.

use crate::cluster::{BusConfig, BusControlStore, ClusterLink, LinkSettings};
use crate::config::Config;
use crate::engine::Engines;
use crate::server::FirmSetup;
use anyhow::Context;
use rustybt_actors::firm::{ControlStore, FirmHandle, FirmParts, SledControlStore};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Arguments of `live run`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  rustybt live run                      # demo strategy, simulated market, ./data\n  rustybt live run --config prod.toml   # every [[strategy]] of the file\n\nThe API token comes from RUSTYBT_API_TOKEN. On a loopback address without one, the token in\n<data_dir>/api-token is used, made there (owner-only) the first time and kept across restarts;\n`rustybt live stop|reset|status --config FILE` reads it from any directory."
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
    /// Tests only: the engines' clock follows the RFC 3339 instant in this file (running at
    /// wall speed from each rewrite), so a test can move the process across days.
    #[arg(long, hide = true)]
    pub clock_file: Option<PathBuf>,
}

/// Where `live run` writes a token it made, for the local CLI.
pub fn token_file(data_dir: &Path) -> PathBuf {
    data_dir.join("api-token")
}

/// The token of this run: RUSTYBT_API_TOKEN, or on loopback the one in
/// `<data_dir>/api-token`, made there (owner-only) the first time. Reused across restarts so
/// that operators, scripts and open dashboards keep working after one.
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
    let path = token_file(&config.data_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => {
            owner_only(&path)
                .with_context(|| format!("cannot make {} owner-only", path.display()))?;
            tracing::info!(
                file = %path.display(),
                "no RUSTYBT_API_TOKEN set: using the token kept in the data folder"
            );
            return Ok(text.trim().to_string());
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!(
            "cannot read {}: {e} (remove it to have a new token made, or set RUSTYBT_API_TOKEN)",
            path.display()
        ),
    }
    let token = rustybt_actors::actors::supervisor::random_token(32);
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    write_owner_only(&path, &token).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::warn!(
        file = %path.display(),
        "no RUSTYBT_API_TOKEN set: made a token, owner-only, kept for later runs"
    );
    Ok(token)
}

/// Writes `text` to a file readable by its owner only from the moment it exists.
fn write_owner_only(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    // An empty file that existed before keeps its old mode on open: narrow it before writing.
    owner_only(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Takes group and other permissions off the token file.
fn owner_only(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

pub use rustybt_actors::config::start::{start_engines, start_engines_on};

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
    let clock: Option<rustybt_actors::clock::SharedClock> = match &args.clock_file {
        Some(path) => {
            tracing::warn!(path = %path.display(), "the engines run on a clock read from a file (tests only)");
            Some(rustybt_actors::clock::FileClock::open(path).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    let engines = start_engines_on(&config, config.strategies.clone(), clock)?;
    for (name, engine) in engines.all() {
        let status = engine.status().await?;
        tracing::info!(
            strategy = %name,
            state = %status.state,
            reason = status.reason.as_deref().unwrap_or(""),
            "strategy started"
        );
    }
    let (firm, evaluate_every) = firm_setup(&config, &engines).await?;
    let server = crate::server::start_with_firm(
        engines.all().clone(),
        firm,
        evaluate_every,
        bind,
        token,
        false,
    )?;
    tracing::info!(addr = %server.addr, "serving the API, the dashboard and /metrics");
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
    tracing::info!("shutting down: finishing requests and flushing the checkpoint");
    if let Some(t) = demo_task {
        t.abort();
    }
    server.stop().await;
    engines.shutdown().await?;
    Ok(())
}

/// The firm of `engines`, and how often the server evaluates its breakers (`None`: none
/// configured). With `[cluster]`, its link to the bus is started here.
async fn firm_setup(
    config: &Config,
    engines: &Engines,
) -> anyhow::Result<(FirmSetup, Option<std::time::Duration>)> {
    let clock = engines
        .all()
        .values()
        .next()
        .map(|e| e.clock().clone())
        .unwrap_or_else(|| std::sync::Arc::new(rustybt_actors::clock::SystemClock::new()));
    // The firm: its record in this host's sled checkpoint (one process, no `[cluster]`), or
    // in the firm's bus (`[cluster]`), linked by this host's link to the bus.
    let (store, host_id, link): (std::sync::Arc<dyn ControlStore>, String, _) =
        match &config.cluster {
            None => (
                std::sync::Arc::new(SledControlStore::open(engines.store().clone())?),
                "local".to_string(),
                None,
            ),
            Some(c) => {
                let store = BusControlStore::new(&c.host_id, c.lease, clock.clone());
                let link = ClusterLink::new(
                    LinkSettings {
                        bus: BusConfig::new(&c.nats_url, &config.firm.name, &c.host_id),
                        lease: c.lease,
                        on_bus_loss: c.on_bus_loss,
                        publish_every: std::time::Duration::from_millis(100),
                    },
                    store.clone(),
                    clock.clone(),
                );
                (store, c.host_id.clone(), Some(link))
            }
        };
    let mut firm = FirmParts::local(&config.firm.name, engines.all().values(), store, clock);
    firm.host_id = host_id;
    firm.breakers = config.firm.breakers.clone();
    if let Some(s) = config.strategies.first() {
        firm.reset_ttl = s.reset_confirmation_ttl;
    }
    let b = &config.firm.breakers;
    let any_firm_breaker = b.drawdown.is_some() || b.daily_loss.is_some() || b.order_rate.is_some();
    let evaluate_every = any_firm_breaker.then(|| std::time::Duration::from_millis(100));
    let firm: FirmSetup = match link {
        None => firm.into(),
        Some(link) => {
            // Started here, before the server, so the link and the API share one firm.
            let handle = FirmHandle::start(firm).await?;
            tokio::spawn(link.run(handle.clone()));
            FirmSetup::Started(handle)
        }
    };
    Ok((firm, evaluate_every))
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
