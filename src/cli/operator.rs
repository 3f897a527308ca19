//! `rustybt live stop | reset | status`: operators' commands, through the typed API client.
//! Exit codes: [`super::Failure`].

pub use super::connect::ApiArgs;
use super::connect::{operator_name, Connection};
use super::{CliError, Failure};
use crate::api_types::{
    wire_name, ConfirmResetRequest, FirmHaltRequest, FirmStatus, HaltRequest, ResetRequest,
    ResetTicket, StrategyStatus,
};
use crate::client::ClientError;
use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use rustybt_actors::state_machine::EngineState;
use std::io::{BufRead, Write};

/// Arguments of `live stop`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  rustybt live stop --strategy momentum --reason \"runaway orders\"\n  rustybt live stop --config /etc/rustybt/prod.toml --strategy momentum --reason \"runaway orders\" --operator alice\n\nA stop while the strategy is halted already keeps it halted with its first reason and records\nthis one in the audit trail."
)]
pub struct StopArgs {
    /// The strategy to halt.
    #[arg(long, required_unless_present_any = ["all", "desk"], conflicts_with_all = ["all", "desk"])]
    pub strategy: Option<String>,
    /// Halt every strategy of the firm, on every host (`POST /api/v1/halt`).
    #[arg(long, conflicts_with = "desk")]
    pub all: bool,
    /// Halt every strategy of this desk, on every host (`POST /api/v1/halt` with `desk`).
    #[arg(long, value_name = "NAME")]
    pub desk: Option<String>,
    /// Why (kept in the audit trail and sent in alerts).
    #[arg(long)]
    pub reason: String,
    /// Who, for the audit trail [default: $USER, $LOGNAME, or the name of your user id].
    #[arg(long)]
    pub operator: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub api: ApiArgs,
}

/// Arguments of `live reset`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  rustybt live reset --strategy momentum            # shows the state, asks y/N\n  rustybt live reset --strategy momentum --yes      # no question\n  rustybt live reset --strategy momentum --confirm-pending TOKEN   # confirm a reset requested elsewhere\n  rustybt live reset --strategy momentum --cancel-pending          # drop it: halts the strategy again\n\nA pending reset lapses by itself at its expiry; the strategy then returns to the state it came from."
)]
pub struct ResetArgs {
    /// The strategy to reset.
    #[arg(long)]
    pub strategy: String,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Why (kept in the audit trail).
    #[arg(long)]
    pub reason: Option<String>,
    /// Who, for the audit trail [default: $USER, $LOGNAME, or the name of your user id].
    #[arg(long)]
    pub operator: Option<String>,
    /// Make the current portfolio value the drawdown breaker's new high-water mark.
    #[arg(long)]
    pub rebase_high_water_mark: bool,
    /// Confirm a reset that is already pending, with the confirmation token its request
    /// answered (the API's `confirmation_token`, or the one this command printed).
    #[arg(long, value_name = "TOKEN", conflicts_with = "cancel_pending")]
    pub confirm_pending: Option<String>,
    /// Cancel a pending reset. The API has no cancel: this halts the strategy again
    /// (MANUALLY_HALTED, whatever it came from), recorded with --reason.
    #[arg(long)]
    pub cancel_pending: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub api: ApiArgs,
}

/// Arguments of `live status`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  rustybt live status\n  rustybt live status --strategy momentum\n  rustybt live status --config /etc/rustybt/prod.toml"
)]
pub struct StatusArgs {
    /// One strategy in detail (default: every strategy, one line each).
    #[arg(long, conflicts_with = "firm")]
    pub strategy: Option<String>,
    /// The firm view: every host and strategy, the firm breakers (`GET /api/v1/firm`).
    #[arg(long)]
    pub firm: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub api: ApiArgs,
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn figure(d: Option<Decimal>) -> String {
    d.map_or_else(|| "-".into(), |d| d.to_string())
}

fn print_status(s: &StrategyStatus) {
    println!("strategy  {}", s.name);
    println!("state     {}  since {}", s.state, time(s.since));
    if let Some(r) = &s.reason {
        println!("reason    {r}");
    }
    if let Some(p) = &s.pending_reset {
        println!(
            "reset     requested by {}, expires {}",
            p.operator,
            time(p.expires_at)
        );
    }
    if let Some(e) = &s.checkpoint_error {
        println!("checkpoint UNUSABLE: {e}");
    }
    let p = &s.portfolio;
    println!(
        "portfolio value {}  high-water mark {}  drawdown {}  daily PnL {}",
        figure(p.value),
        figure(p.high_water_mark),
        figure(p.drawdown),
        figure(p.daily_pnl)
    );
    println!(
        "{:<12} {:<8} {:>16} {:>16}  tripped at",
        "breaker", "status", "value", "limit"
    );
    for b in s.breakers.iter().filter(|b| b.enabled) {
        println!(
            "{:<12} {:<8} {:>16} {:>16}  {}",
            b.kind.to_string(),
            wire_name(&b.status),
            figure(b.value),
            figure(b.limit),
            b.tripped_at.map_or_else(|| "-".into(), time)
        );
    }
}

fn print_firm(f: &FirmStatus) {
    println!("firm      {}", f.firm);
    println!("state     {}", f.state);
    let p = &f.portfolio;
    println!(
        "portfolio value {}  high-water mark {}  drawdown {}  daily PnL {}",
        figure(p.value),
        figure(p.high_water_mark),
        figure(p.drawdown),
        figure(p.daily_pnl)
    );
    for d in &f.desk_halts {
        println!(
            "desk {} HALTED by {} at {}: {}",
            d.desk,
            d.operator,
            time(d.at),
            d.reason
        );
    }
    println!("{:<16} {:<10} last seen", "host", "connected");
    for h in &f.hosts {
        println!(
            "{:<16} {:<10} {}",
            h.host_id,
            h.connected,
            time(h.last_seen)
        );
    }
    println!(
        "{:<16} {:<20} {:<12} {:<16} {:>16} {:>12}",
        "host", "strategy", "desk", "state", "value", "daily PnL"
    );
    for s in &f.strategies {
        println!(
            "{:<16} {:<20} {:<12} {:<16} {:>16} {:>12}",
            s.host_id,
            s.name,
            s.desk.as_deref().unwrap_or("-"),
            s.state.to_string(),
            figure(s.portfolio_value),
            figure(s.daily_pnl)
        );
    }
    println!(
        "{:<12} {:<8} {:>16} {:>16}  tripped at",
        "breaker", "status", "value", "limit"
    );
    for b in f.breakers.iter().filter(|b| b.enabled) {
        println!(
            "{:<12} {:<8} {:>16} {:>16}  {}",
            b.kind.to_string(),
            wire_name(&b.status),
            figure(b.value),
            figure(b.limit),
            b.tripped_at.map_or_else(|| "-".into(), time)
        );
    }
}

/// Asks `question` on stdout and reads y/N from stdin; a closed stdin is a no.
fn ask(question: &str) -> anyhow::Result<bool> {
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the answer")?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// `live stop`.
pub async fn stop(args: StopArgs) -> anyhow::Result<()> {
    let who = operator_name(args.operator.as_deref())?;
    let api = Connection::open(&args.api, true)?;
    let Some(strategy) = args.strategy.clone() else {
        let request = FirmHaltRequest {
            operator: who,
            reason: args.reason.clone(),
            desk: args.desk.clone(),
        };
        let answer = api
            .client
            .firm_halt(&request)
            .await
            .map_err(|e| api.explain(e))?;
        let scope = match &args.desk {
            Some(d) => format!("desk {d}"),
            None => "the firm".to_string(),
        };
        println!(
            "halted {scope}: {} strateg{} confirmed, firm state {}",
            answer.halted.len(),
            if answer.halted.len() == 1 { "y" } else { "ies" },
            answer.state
        );
        for s in &answer.halted {
            println!("  {}/{}", s.host_id, s.name);
        }
        if !answer.pending_hosts.is_empty() {
            println!("not confirmed yet by: {}", answer.pending_hosts.join(", "));
        }
        return Ok(());
    };
    let request = HaltRequest {
        operator: who,
        reason: args.reason.clone(),
    };
    let answer = api
        .client
        .halt(&strategy, &request)
        .await
        .map_err(|e| api.explain(e))?;
    let state = answer.after.state();
    if answer.already_halted {
        println!(
            "{} was {state} already, since {} ({}): it stays halted; this stop and its reason {:?} are recorded in the audit trail",
            strategy,
            time(answer.after.since()),
            answer.after.reason().unwrap_or("-"),
            args.reason
        );
    } else {
        println!(
            "{} is {state}: orders refused, open orders cancelled",
            strategy
        );
    }
    Ok(())
}

/// The message for a reset that is pending already.
fn pending_message(s: &StrategyStatus) -> String {
    let (by, until) = s.pending_reset.as_ref().map_or_else(
        || ("another operator".to_string(), "its expiry".to_string()),
        |p| (p.operator.clone(), time(p.expires_at)),
    );
    format!(
        "a reset of {name} requested by {by} is already pending until {until}. Confirm it with `rustybt live reset --strategy {name} --confirm-pending TOKEN` (the confirmation_token its request answered), cancel it with --cancel-pending (halts {name} again), or let it lapse ({name} then returns to the state it came from)",
        name = s.name
    )
}

/// `live reset`.
pub async fn reset(args: ResetArgs) -> anyhow::Result<()> {
    let who = operator_name(args.operator.as_deref())?;
    let api = Connection::open(&args.api, true)?;
    let name = args.strategy.as_str();
    let status = api.client.status(name).await.map_err(|e| api.explain(e))?;
    print_status(&status);

    if args.cancel_pending {
        return cancel_pending(&api, &args, who, &status).await;
    }
    if let Some(token) = &args.confirm_pending {
        if !args.yes
            && !ask(&format!(
                "Confirm the pending reset of {name} and resume trading?"
            ))?
        {
            return Err(declined(&status).into());
        }
        return confirm(&api, &args, who, token, None).await;
    }
    match status.state {
        EngineState::Normal => {
            println!("nothing to reset: {name} is NORMAL");
            return Ok(());
        }
        EngineState::Resetting => {
            return Err(CliError::new(Failure::Refused, pending_message(&status)).into())
        }
        EngineState::Tripped | EngineState::ManuallyHalted => {}
    }
    if !args.yes && !ask(&format!("Reset {name} and resume trading?"))? {
        return Err(declined(&status).into());
    }
    let request = ResetRequest {
        operator: who.clone(),
        reason: args.reason.clone(),
    };
    let ticket = match api.client.request_reset(name, &request).await {
        Ok(t) => t,
        // Someone else asked between the status and this request.
        Err(e) if e.code() == Some("reset_already_pending") => {
            let now = api.client.status(name).await.unwrap_or(status);
            return Err(CliError::new(Failure::Refused, pending_message(&now)).into());
        }
        Err(e) => return Err(api.explain(e).into()),
    };
    let token = ticket.confirmation_token.clone();
    confirm(&api, &args, who, &token, Some(ticket)).await
}

fn declined(status: &StrategyStatus) -> CliError {
    CliError::new(
        Failure::Declined,
        format!("reset cancelled: {} stays {}", status.name, status.state),
    )
}

/// The second step, with the ticket when this command requested the reset itself (so that a
/// confirmation that fails for the network names the token to confirm with later).
async fn confirm(
    api: &Connection,
    args: &ResetArgs,
    who: String,
    token: &str,
    ticket: Option<ResetTicket>,
) -> anyhow::Result<()> {
    let name = args.strategy.as_str();
    let request = ConfirmResetRequest {
        operator: who,
        confirmation_token: token.to_string(),
        rebase_high_water_mark: args.rebase_high_water_mark,
    };
    let after = match api.client.confirm_reset(name, &request).await {
        Ok(after) => after,
        Err(e) => {
            let unanswered = matches!(e, ClientError::Unreachable { .. });
            let mut failure = api.explain(e);
            if let (true, Some(t)) = (unanswered, ticket) {
                failure.message = format!(
                    "{}. The reset may still be pending until {}: confirm it with `rustybt live reset --strategy {name} --confirm-pending {}`, or cancel it with --cancel-pending",
                    failure.message,
                    time(t.expires_at),
                    t.confirmation_token
                );
            }
            return Err(failure.into());
        }
    };
    if after.state == EngineState::Normal {
        println!("{name} reset: NORMAL, trading resumes");
        Ok(())
    } else {
        Err(CliError::new(
            Failure::TrippedAgain,
            format!(
                "{name} tripped again at once: {} — the condition still holds",
                after.reason.as_deref().unwrap_or("-")
            ),
        )
        .into())
    }
}

/// `--cancel-pending`: the API drops a pending reset only by a halt.
async fn cancel_pending(
    api: &Connection,
    args: &ResetArgs,
    who: String,
    status: &StrategyStatus,
) -> anyhow::Result<()> {
    let name = args.strategy.as_str();
    let Some(pending) = &status.pending_reset else {
        return Err(CliError::new(
            Failure::Refused,
            format!(
                "no reset is pending: {name} is {}; nothing cancelled",
                status.state
            ),
        )
        .into());
    };
    let reason = args.reason.clone().unwrap_or_else(|| {
        format!(
            "cancelled the pending reset requested by {}",
            pending.operator
        )
    });
    let answer = api
        .client
        .halt(
            name,
            &HaltRequest {
                operator: who,
                reason,
            },
        )
        .await
        .map_err(|e| api.explain(e))?;
    println!(
        "pending reset cancelled: {name} is {} (a halt is the API's way to cancel a reset); run `rustybt live reset --strategy {name}` to reset it",
        answer.after.state()
    );
    Ok(())
}

/// `live status`.
pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    // GETs need no token on loopback; one is sent when found, for a service off loopback.
    let api = Connection::open(&args.api, false)?;
    if args.firm {
        print_firm(&api.client.firm().await.map_err(|e| api.explain(e))?);
        return Ok(());
    }
    match &args.strategy {
        Some(name) => print_status(&api.client.status(name).await.map_err(|e| api.explain(e))?),
        None => {
            let all = api.client.list().await.map_err(|e| api.explain(e))?;
            println!("{:<20} {:<16} {:<26} reason", "strategy", "state", "since");
            for s in all {
                println!(
                    "{:<20} {:<16} {:<26} {}",
                    s.name,
                    s.state.to_string(),
                    time(s.since),
                    s.reason.unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}
