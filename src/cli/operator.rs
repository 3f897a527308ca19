//! `rustybt live stop | reset | status`: operators' commands, through the HTTP API.

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Where the engine is and how to authenticate.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    /// The engine's address.
    #[arg(long, env = "RUSTYBT_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// File holding the API token when RUSTYBT_API_TOKEN is not set (written by `live run`).
    #[arg(long, default_value = "data/api-token")]
    pub token_file: PathBuf,
}

/// Arguments of `live stop`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  rustybt live stop --strategy momentum --reason \"runaway orders\" --operator alice"
)]
pub struct StopArgs {
    /// The strategy to halt.
    #[arg(long)]
    pub strategy: String,
    /// Why (kept in the audit trail and sent in alerts).
    #[arg(long)]
    pub reason: String,
    /// Who (default: $USER).
    #[arg(long)]
    pub operator: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub api: ApiArgs,
}

/// Arguments of `live reset`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  rustybt live reset --strategy momentum            # shows the state, asks y/N\n  rustybt live reset --strategy momentum --yes      # no question"
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
    /// Who (default: $USER).
    #[arg(long)]
    pub operator: Option<String>,
    /// Make the current portfolio value the drawdown breaker's new high-water mark.
    #[arg(long)]
    pub rebase_high_water_mark: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub api: ApiArgs,
}

/// Arguments of `live status`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  rustybt live status\n  rustybt live status --strategy momentum"
)]
pub struct StatusArgs {
    /// One strategy in detail (default: every strategy, one line each).
    #[arg(long)]
    pub strategy: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub api: ApiArgs,
}

fn operator(given: &Option<String>) -> String {
    given
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|o| !o.trim().is_empty())
        .unwrap_or_else(|| "operator".into())
}

struct Api {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Api {
    fn new(args: &ApiArgs) -> Self {
        let token = std::env::var("RUSTYBT_API_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .or_else(|| {
                std::fs::read_to_string(&args.token_file)
                    .ok()
                    .map(|t| t.trim().to_string())
            });
        Self {
            base: args.url.trim_end_matches('/').to_string(),
            token,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(15))
                .build()
                .expect("http client"),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| {
            anyhow!(
                "cannot reach the engine at {}: {}",
                self.base,
                root_cause(&e)
            )
        })?;
        let code = resp.status().as_u16();
        let value: Value = resp.json().await.unwrap_or(Value::Null);
        match code {
            200..=299 => Ok((code, value)),
            401 => bail!(
                "unauthorized: {} (set RUSTYBT_API_TOKEN to the engine's token)",
                value["message"].as_str().unwrap_or("no or wrong token")
            ),
            404 => bail!("{}", value["message"].as_str().unwrap_or("not found")),
            _ => bail!(
                "the engine refused ({code} {}): {}",
                value["error"].as_str().unwrap_or("error"),
                value["message"].as_str().unwrap_or("")
            ),
        }
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self.call(reqwest::Method::GET, path, None).await?.1)
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        Ok(self.call(reqwest::Method::POST, path, Some(body)).await?.1)
    }
}

fn root_cause(e: &reqwest::Error) -> String {
    let mut s: &dyn std::error::Error = e;
    while let Some(next) = s.source() {
        s = next;
    }
    s.to_string()
}

fn strategy_path(name: &str) -> String {
    format!("/api/v1/strategies/{name}")
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_status(s: &Value) {
    println!("strategy  {}", show(&s["name"]));
    println!(
        "state     {}  since {}",
        show(&s["state"]),
        show(&s["since"])
    );
    if let Some(r) = s["reason"].as_str() {
        println!("reason    {r}");
    }
    if let Some(p) = s["pending_reset"].as_object() {
        println!(
            "reset     requested by {}, expires {}",
            show(&p["operator"]),
            show(&p["expires_at"])
        );
    }
    let p = &s["portfolio"];
    println!(
        "portfolio value {}  high-water mark {}  drawdown {}  daily PnL {}",
        show(&p["value"]),
        show(&p["high_water_mark"]),
        show(&p["drawdown"]),
        show(&p["daily_pnl"])
    );
    println!(
        "{:<12} {:<8} {:>16} {:>16}  tripped at",
        "breaker", "status", "value", "limit"
    );
    for b in s["breakers"].as_array().into_iter().flatten() {
        if b["enabled"] == json!(false) {
            continue;
        }
        println!(
            "{:<12} {:<8} {:>16} {:>16}  {}",
            show(&b["type"]),
            show(&b["status"]),
            show(&b["value"]),
            show(&b["limit"]),
            show(&b["tripped_at"])
        );
    }
}

/// `live stop`.
pub async fn stop(args: StopArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.api);
    let s = api
        .post(
            &format!("{}/halt", strategy_path(&args.strategy)),
            json!({"operator": operator(&args.operator), "reason": args.reason}),
        )
        .await?;
    println!(
        "{} is {}: orders refused, open orders cancelled",
        args.strategy,
        show(&s["state"])
    );
    Ok(())
}

/// `live reset`.
pub async fn reset(args: ResetArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.api);
    let path = strategy_path(&args.strategy);
    let status = api.get(&path).await?;
    print_status(&status);
    if status["state"] == "NORMAL" {
        println!("nothing to reset: {} is NORMAL", args.strategy);
        return Ok(());
    }
    if !args.yes {
        print!("Reset {} and resume trading? [y/N] ", args.strategy);
        std::io::stdout().flush()?;
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the answer")?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            bail!(
                "reset cancelled: {} stays {}",
                args.strategy,
                show(&status["state"])
            );
        }
    }
    let who = operator(&args.operator);
    let ticket = api
        .post(
            &format!("{path}/reset"),
            json!({"operator": who, "reason": args.reason}),
        )
        .await?;
    let after = api
        .post(
            &format!("{path}/reset/confirm"),
            json!({
                "operator": who,
                "confirmation_token": ticket["confirmation_token"],
                "rebase_high_water_mark": args.rebase_high_water_mark,
            }),
        )
        .await?;
    if after["state"] == "NORMAL" {
        println!("{} reset: NORMAL, trading resumes", args.strategy);
        Ok(())
    } else {
        bail!(
            "{} tripped again at once: {} — the condition still holds",
            args.strategy,
            show(&after["reason"])
        )
    }
}

/// `live status`.
pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.api);
    match &args.strategy {
        Some(name) => print_status(&api.get(&strategy_path(name)).await?),
        None => {
            let all = api.get("/api/v1/strategies").await?;
            println!("{:<20} {:<16} {:<26} reason", "strategy", "state", "since");
            for s in all.as_array().into_iter().flatten() {
                println!(
                    "{:<20} {:<16} {:<26} {}",
                    show(&s["name"]),
                    show(&s["state"]),
                    show(&s["since"]),
                    s["reason"].as_str().unwrap_or("")
                );
            }
        }
    }
    Ok(())
}
