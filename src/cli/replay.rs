//! `rustybt live replay`: when would these limits have tripped on this history?

use crate::config::{Config, Profile};
use crate::replay::{self, ReplayOptions, ReplayReport};
use anyhow::Context;
use rustybt_actors::breaker::BreakerKind;
use rustybt_actors::breakers::DailyLossLimit;
use rustybt_actors::pretrade::PreTradeCheck;
use rustybt_actors::settings::StrategySettings;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `live replay`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  rustybt live replay --config examples/config/moderate.toml examples/data/crash_day.jsonl\n  rustybt live replay --profile conservative --profile aggressive examples/data/calm_month.csv\n  rustybt live replay --config prod.toml --plot crash.svg examples/data/crash_day.jsonl\n\nEVENTS is JSON Lines (one {\"type\": \"portfolio\"|\"order\"|\"fill\"|\"error\"|\"prices\"|\"done\"|\"heartbeat\", ...} per line, the API's\nfield names, every event with a timestamp) or CSV (timestamp,portfolio_value)."
)]
pub struct ReplayArgs {
    /// Configuration file(s); each is one column of the comparison.
    #[arg(long, short)]
    pub config: Vec<PathBuf>,
    /// Profile(s) to compare as well: conservative, moderate or aggressive (on the first
    /// config's market, or New York 09:30).
    #[arg(long, value_parser = parse_profile)]
    pub profile: Vec<Profile>,
    /// The strategy to take from each config (default: its first).
    #[arg(long)]
    pub strategy: Option<String>,
    /// Skip malformed lines (counted) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad: bool,
    /// After a trip, confirm a reset this long after it (e.g. "30m") so later trips show too.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub auto_reset_after: Option<std::time::Duration>,
    /// Draw value, high-water mark and drawdown with the trips marked (SVG) for the first setting.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Orders refused to list one by one (the rest are counted).
    #[arg(long, default_value_t = 5)]
    pub show_refused: usize,
    /// The recorded history.
    pub events: PathBuf,
}

/// A profile by its configuration name, through the same serde names as the TOML.
fn parse_profile(name: &str) -> Result<Profile, String> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|e| e.to_string())
}

fn from_profile(p: Profile, base: &StrategySettings) -> StrategySettings {
    let (dd, dl, orders, errors) = p.numbers();
    let mut s = base.clone();
    s.name = p.as_str().to_string();
    if let Some(d) = s.breakers.drawdown.as_mut() {
        d.threshold = dd;
    }
    if let Some(d) = s.breakers.daily_loss.as_mut() {
        d.limit = DailyLossLimit::Fraction(dl);
    }
    if let Some(o) = s.breakers.order_rate.as_mut() {
        o.max = orders;
    }
    if let Some(e) = s.breakers.error_rate.as_mut() {
        e.max = errors;
    }
    s
}

/// The settings to compare, labelled.
fn settings(args: &ReplayArgs) -> anyhow::Result<Vec<(String, StrategySettings)>> {
    let mut out = Vec::new();
    for path in &args.config {
        let config = Config::load(path)?;
        let s = match &args.strategy {
            Some(name) => config
                .strategy(name)
                .cloned()
                .with_context(|| format!("{}: no strategy named {name:?}", path.display()))?,
            None => config.strategies[0].clone(),
        };
        out.push((format!("{} ({})", path.display(), s.name), s));
    }
    let base = out
        .first()
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| StrategySettings::moderate("replay"));
    for &p in &args.profile {
        out.push((format!("profile {}", p.as_str()), from_profile(p, &base)));
    }
    if out.is_empty() {
        out.push((
            "profile moderate".into(),
            from_profile(Profile::Moderate, &base),
        ));
    }
    Ok(out)
}

fn print_report(label: &str, r: &ReplayReport, show_refused: usize) {
    println!("== {label}");
    if r.trips.is_empty() {
        println!("   no breaker tripped");
    }
    for t in &r.trips {
        println!(
            "   {} {} {}",
            t.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            t.breaker,
            t.summary
        );
    }
    if !r.refused.is_empty() {
        println!(
            "   {} of {} orders would have been refused:",
            r.refused.len(),
            r.orders
        );
        for o in r.refused.iter().take(show_refused) {
            println!(
                "     line {} {} at {}: {}",
                o.line,
                o.order_id,
                o.at.to_rfc3339(),
                o.reason
            );
        }
        if r.refused.len() > show_refused {
            println!("     … and {} more", r.refused.len() - show_refused);
        }
    }
    if !r.denials.is_empty() {
        let by: Vec<String> = r.denials.iter().map(|(c, n)| format!("{c} {n}")).collect();
        println!("   pre-trade denials: {}", by.join(", "));
    }
    if r.auto_resets > 0 {
        println!("   {} automatic resets (--auto-reset-after)", r.auto_resets);
    }
    println!(
        "   final state: {}",
        r.final_state.map(|s| s.as_str()).unwrap_or("-")
    );
}

/// Pre-trade denials per check, one column per setting: how tighter or looser limits would
/// have judged the same orders. Only checks that denied something in some setting are shown.
fn print_denials_side_by_side(reports: &[(String, ReplayReport)]) {
    let checks: Vec<PreTradeCheck> = PreTradeCheck::ALL
        .into_iter()
        .filter(|c| reports.iter().any(|(_, r)| r.denials.contains_key(c)))
        .collect();
    if checks.is_empty() {
        return;
    }
    println!("\npre-trade denials");
    print!("{:<24}", "check");
    for (i, _) in reports.iter().enumerate() {
        print!(" {:>10}", format!("[{}]", i + 1));
    }
    println!();
    for c in checks {
        print!("{:<24}", c.as_str());
        for (_, r) in reports {
            print!(" {:>10}", r.denials.get(&c).copied().unwrap_or(0));
        }
        println!();
    }
    for (i, (label, _)) in reports.iter().enumerate() {
        println!("  [{}] {label}", i + 1);
    }
}

/// Runs the replay(s) and prints trips, refusals and the comparison.
pub async fn main(args: ReplayArgs) -> anyhow::Result<()> {
    let file = std::fs::File::open(&args.events)
        .with_context(|| format!("cannot open {}", args.events.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let csv = args
        .events
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let bar = if std::io::stderr().is_terminal() && size > 5_000_000 {
        indicatif::ProgressBar::new(size)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .expect("template"),
    );
    bar.set_message("reading");
    let started = Instant::now();
    let history = replay::read(std::io::BufReader::new(file), csv, args.skip_bad, |n| {
        bar.inc(n)
    })
    .map_err(|e| anyhow::anyhow!("{}: {e}", args.events.display()))?;
    bar.finish_and_clear();
    if !history.skipped.is_empty() {
        eprintln!(
            "skipped {} malformed lines (--skip-bad); the first: {}",
            history.skipped.len(),
            history.skipped[0]
        );
    }
    let settings = settings(&args)?;
    let auto_reset_after = match args.auto_reset_after {
        Some(d) => Some(chrono::Duration::from_std(d).map_err(|_| {
            super::CliError::new(
                super::Failure::Usage,
                format!(
                    "--auto-reset-after: {} is too long",
                    humantime::format_duration(d)
                ),
            )
        })?),
        None => None,
    };
    let options = ReplayOptions { auto_reset_after };
    let events = std::sync::Arc::new(history.events);
    let mut reports = Vec::new();
    for (label, s) in settings {
        let (ev, opts) = (events.clone(), options.clone());
        let report = tokio::task::spawn_blocking(move || {
            actix_rt::System::new().block_on(async move { replay::replay(s, &ev, &opts).await })
        })
        .await??;
        reports.push((label, report));
    }
    let secs = started.elapsed().as_secs_f64();
    for (label, r) in &reports {
        print_report(label, r, args.show_refused);
    }
    if reports.len() > 1 {
        // Every breaker a replay can trip (the manual one cannot).
        let kinds: Vec<BreakerKind> = BreakerKind::ALL
            .into_iter()
            .filter(|k| *k != BreakerKind::Manual)
            .collect();
        let width = reports
            .iter()
            .map(|(l, _)| l.len())
            .max()
            .unwrap_or(0)
            .max(24);
        print!("\n{:<width$}", "setting");
        for k in &kinds {
            print!(" {:>11}", k.as_str());
        }
        println!(" {:>9}  first trip", "refused");
        for (label, r) in &reports {
            print!("{label:<width$}");
            for k in &kinds {
                print!(" {:>11}", r.summary.get(k).map(|s| s.trips).unwrap_or(0));
            }
            println!(
                " {:>9}  {}",
                r.refused.len(),
                r.trips
                    .first()
                    .map(|t| t.at.to_rfc3339())
                    .unwrap_or_else(|| "-".into())
            );
        }
        print_denials_side_by_side(&reports);
    }
    let total: usize = reports.iter().map(|(_, r)| r.events).sum();
    eprintln!(
        "replayed {total} events in {secs:.2} s ({:.0} events/s)",
        total as f64 / secs
    );
    if let Some(path) = &args.plot {
        let (label, r) = &reports[0];
        replay::plot::draw(r, &format!("{} — {label}", args.events.display()), path)?;
        eprintln!("chart: {}", path.display());
    }
    Ok(())
}
