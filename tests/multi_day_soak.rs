//! Days, not minutes: one `rustybt live run` process on a clock the test moves
//! (`--clock-file`) through trading days across a daylight-saving change. Each day opens,
//! trades, trips the daily-loss breaker, resets, and closes; the process is killed with
//! SIGKILL at random steps and restarted. After every step:
//!
//! - no acknowledged transition is lost (the audit trail before a kill is a prefix of the
//!   one after) and the state served is the last audited one;
//! - the daily loss is measured from each day's own open;
//! - an order id is refused within its window (this session and the one before) and accepted
//!   again once forgotten;
//! - resident memory stays bounded.
//!
//! 5 days by default (CI); `RUSTYBT_SOAK_DAYS=60 cargo test --release --test integration
//! multi_day -- --nocapture` for a longer run (it crosses both changes of 2026).

use crate::support::service::{free_port, live_run_command, wait_healthy};
use chrono::{DateTime, Datelike, Duration as Days, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::America::New_York;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

const TOKEN: &str = "multi-day-soak";

struct Soak {
    config: PathBuf,
    clock: PathBuf,
    base: String,
    child: Option<Child>,
    http: reqwest::blocking::Client,
    now: DateTime<Utc>,
    audit: Vec<Value>,
    kills: usize,
    peak_rss_kib: u64,
}

impl Drop for Soak {
    // A failed assertion must not leave the process running.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn local(date: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    New_York
        .from_local_datetime(&date.and_hms_opt(h, m, 0).unwrap())
        .single()
        .expect("an unambiguous local time")
        .with_timezone(&Utc)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

impl Soak {
    fn new(dir: &Path, start: DateTime<Utc>) -> Self {
        let port = free_port();
        let config = dir.join("soak.toml");
        std::fs::write(
            &config,
            format!(
                "[engine]\ndata_dir = \"data\"\n[server]\nbind = \"127.0.0.1:{port}\"\n\
                 [[strategy]]\nname = \"days\"\n\
                 [strategy.market]\ntimezone = \"America/New_York\"\nopen = \"09:30\"\nclose = \"16:00\"\n\
                 [strategy.pre_trade]\nduplicate_order_id = true\n\
                 [strategy.circuit_breakers]\ndrawdown = {{ threshold = \"-0.5\" }}\n\
                 daily_loss = {{ limit = \"-0.05\" }}\nstale_feed = {{ enabled = false }}\n\
                 order_rate = {{ enabled = false }}\nerror_rate = {{ enabled = false }}\n"
            ),
        )
        .unwrap();
        let mut soak = Self {
            config,
            clock: dir.join("now"),
            base: format!("http://127.0.0.1:{port}"),
            child: None,
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            now: start,
            audit: Vec::new(),
            kills: 0,
            peak_rss_kib: 0,
        };
        soak.set_clock(start);
        soak.start();
        soak
    }

    fn set_clock(&mut self, at: DateTime<Utc>) {
        self.now = at;
        // Written whole and renamed: the process never reads half an instant.
        let tmp = self.clock.with_extension("tmp");
        std::fs::write(&tmp, at.to_rfc3339()).unwrap();
        std::fs::rename(&tmp, &self.clock).unwrap();
        // The process looks at the file every 2 ms.
        std::thread::sleep(Duration::from_millis(10));
    }

    fn start(&mut self) {
        let child = live_run_command(&self.config)
            .arg("--clock-file")
            .arg(&self.clock)
            .env("RUSTYBT_API_TOKEN", TOKEN)
            .env("RUSTYBT_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start rustybt live run");
        self.child = Some(child);
        wait_healthy(&self.base);
    }

    /// SIGKILL, restart, and check that nothing acknowledged was lost.
    fn kill_and_restart(&mut self, step: &str) {
        if let Some(mut child) = self.child.take() {
            self.peak_rss_kib = self.peak_rss_kib.max(rss_kib(child.id()));
            let _ = child.kill();
            let _ = child.wait();
        }
        self.kills += 1;
        self.start();
        let after = self.audit_now();
        assert!(
            after.len() >= self.audit.len() && after[..self.audit.len()] == self.audit[..],
            "{step}: an acknowledged transition was lost in the restart\nbefore: {:?}\nafter: {:?}",
            self.audit,
            after
        );
        let state = self.status()["state"].clone();
        let last = after.last().map_or(json!("NORMAL"), |e| e["to"].clone());
        assert_eq!(
            state, last,
            "{step}: the state served is not the last audited"
        );
        self.audit = after;
    }

    fn audit_now(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/api/v1/strategies/days/audit", self.base))
            .send()
            .and_then(|r| r.json::<Value>())
            .ok()
            .and_then(|v| v.as_array().cloned())
            .expect("the audit trail")
    }

    fn status(&self) -> Value {
        self.http
            .get(format!("{}/api/v1/strategies/days", self.base))
            .send()
            .and_then(|r| r.json())
            .expect("the status")
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/api/v1/strategies/days{path}", self.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .expect("the service answers");
        let code = r.status().as_u16();
        (code, r.json().unwrap_or(Value::Null))
    }

    fn snapshot(&self, value: &str) {
        let (code, v) = self.post(
            "/portfolio",
            json!({"timestamp": self.now.to_rfc3339(), "portfolio_value": value}),
        );
        assert_eq!(code, 202, "{v}");
    }

    fn order(&self, id: &str) -> Value {
        let (code, v) = self.post(
            "/orders",
            json!({"order_id": id, "asset": "SPY", "side": "buy", "quantity": "1"}),
        );
        assert_eq!(code, 200, "{v}");
        v
    }

    /// Gives the checkpoint its round: a breaker's durable figures (the day's open value) are
    /// flushed right after the snapshot is taken, open orders and ids every 50 ms.
    fn settle(&self) {
        std::thread::sleep(Duration::from_millis(120));
    }

    /// Waits for the state (the Supervisor records after the answer).
    fn wait_state(&self, want: &str, step: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.status()["state"] != want {
            assert!(
                std::time::Instant::now() < deadline,
                "{step}: not {want}: {}",
                self.status()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn trading_days(from: NaiveDate, n: usize) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut d = from;
    while out.len() < n {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            out.push(d);
        }
        d += Days::days(1);
    }
    out
}

#[test]
fn test_multi_day_soak_when_killed_at_random_steps_across_dst_then_every_invariant_holds() {
    let days: usize = std::env::var("RUSTYBT_SOAK_DAYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let seed: u64 = rand::thread_rng().gen();
    eprintln!("multi-day soak: {days} days, seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // Thursday 5 March 2026: New York moves to daylight time on Sunday the 8th.
    let calendar = trading_days(NaiveDate::from_ymd_opt(2026, 3, 5).unwrap(), days);
    let dir = tempfile::tempdir().unwrap();
    let mut soak = Soak::new(dir.path(), local(calendar[0], 8, 0));
    let mut maybe_kill = |soak: &mut Soak, step: &str| {
        if rng.gen_bool(0.3) {
            // Open orders and remembered ids reach the checkpoint every 50 ms (a crash inside
            // that period is what `after_crash = "reconcile"` is for).
            soak.settle();
            soak.kill_and_restart(step);
        }
    };
    let started = std::time::Instant::now();
    for (d, date) in calendar.iter().enumerate() {
        let step = |what: &str| format!("day {d} ({date}): {what}");
        // The open, in the exchange's time zone whatever the offset that day.
        soak.set_clock(local(*date, 9, 31));
        let open_value = 100_000 + 1_000 * d as i64;
        soak.snapshot(&open_value.to_string());
        soak.settle();
        maybe_kill(&mut soak, &step("after the open"));
        // Measured from this day's open, which survived whatever restart came since.
        soak.set_clock(local(*date, 9, 32));
        soak.snapshot(&(open_value + 500).to_string());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while soak.status()["portfolio"]["daily_pnl"] != json!("500") {
            assert!(
                std::time::Instant::now() < deadline,
                "{}: the daily loss is not measured from this day's open: {}",
                step("open"),
                soak.status()["portfolio"]
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        for k in 0..3 {
            let id = format!("d{d}-o{k}");
            assert_eq!(soak.order(&id)["decision"], "accepted", "{}", step(&id));
            let (code, v) = soak.post(
                &format!("/orders/{id}/done"),
                json!({"status": "cancelled"}),
            );
            assert!(code < 300, "{}: {v}", step("done"));
        }
        if d >= 1 {
            // Yesterday's id: still inside its window (this session and the one before).
            let v = soak.order(&format!("d{}-o0", d - 1));
            assert_eq!(
                v["check"],
                "duplicate_order_id",
                "{}: {v}",
                step("yesterday's id")
            );
        }
        if d >= 2 {
            // The day before yesterday's: forgotten, usable again.
            let v = soak.order(&format!("d{}-o1", d - 2));
            assert_eq!(v["decision"], "accepted", "{}: {v}", step("an old id"));
        }
        maybe_kill(&mut soak, &step("after trading"));
        // A 6% fall from this day's open trips the daily loss (limit 5%).
        let fallen = open_value * 94 / 100;
        soak.set_clock(local(*date, 11, 0));
        soak.snapshot(&fallen.to_string());
        soak.wait_state("TRIPPED", &step("trip"));
        soak.audit = soak.audit_now();
        maybe_kill(&mut soak, &step("after the trip"));
        // The loss recovers; the breaker holds until an operator resets it.
        soak.set_clock(local(*date, 11, 5));
        soak.snapshot(&open_value.to_string());
        let (code, ticket) = soak.post("/reset", json!({"operator": "ops"}));
        assert_eq!(code, 202, "{}: {ticket}", step("reset request"));
        soak.audit = soak.audit_now();
        maybe_kill(&mut soak, &step("after the reset request"));
        let (code, v) = soak.post(
            "/reset/confirm",
            json!({"operator": "ops", "confirmation_token": ticket["confirmation_token"]}),
        );
        assert!(
            code == 200 || code == 409 || code == 410,
            "{}: {v}",
            step("reset confirm")
        );
        if code == 200 {
            soak.wait_state("NORMAL", &step("confirmed"));
        }
        soak.audit = soak.audit_now();
        maybe_kill(&mut soak, &step("after the reset"));
        // The close.
        soak.set_clock(local(*date, 16, 1));
        maybe_kill(&mut soak, &step("after the close"));
        if let Some(child) = &soak.child {
            soak.peak_rss_kib = soak.peak_rss_kib.max(rss_kib(child.id()));
        }
        let state = soak.status()["state"].clone();
        if state != "NORMAL" {
            // A restart between request and confirm leaves the reset pending or lapsed:
            // finish it so the next day starts trading.
            let (code, ticket) = soak.post("/reset", json!({"operator": "ops"}));
            assert_eq!(code, 202, "{}: {ticket}", step("late reset"));
            let (code, v) = soak.post(
                "/reset/confirm",
                json!({"operator": "ops", "confirmation_token": ticket["confirmation_token"]}),
            );
            assert_eq!(code, 200, "{}: {v}", step("late confirm"));
            soak.wait_state("NORMAL", &step("late reset"));
        }
        soak.audit = soak.audit_now();
    }
    let trips = soak
        .audit
        .iter()
        .filter(|e| e["cause"] == "trip:daily_loss")
        .count();
    assert!(trips >= days, "{trips} daily-loss trips in {days} days");
    eprintln!(
        "{days} days in {:?}: {} kills, {} audited transitions, {trips} daily-loss trips, peak RSS {} KiB",
        started.elapsed(),
        soak.kills,
        soak.audit.len(),
        soak.peak_rss_kib
    );
    assert!(
        soak.peak_rss_kib < 256 * 1024,
        "resident memory {} KiB",
        soak.peak_rss_kib
    );
    if let Some(mut child) = soak.child.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}
