//! The dashboard in a real headless Chromium (Debian's `chromium` + `chromium-driver`, driven with
//! fantoccini) against the real server and a real engine on 127.0.0.1: it loads and shows the
//! state, the breakers, positions, orders, fills and errors (filterable by kind); fits a laptop
//! screen without horizontal scrolling; shows a 401 clearly when the token is missing; halts from
//! the HALT button's dialog and resets through request then confirm, each checked through the
//! API. It shows the truth: neutral while loading, an alarm when the API cannot be reached, gains
//! as gains, every tripped breaker with its value at the trip, the chart's limits and markers
//! with time zones, tables that wrap rather than cut. Saves target/dashboard.png (1366×768
//! window), target/dashboard-full.png (whole page), target/dashboard-unreachable.png and
//! target/dashboard-tripped{,-full}.png.
//!
//! Network conditions and the time zone are set through Chromium's DevTools protocol
//! (chromedriver's `goog/cdp/execute`): requests to the API held (the page before its first
//! status) or failing (the API out of reach), and the zone fixed so labels are predictable.
//!
//! Without chromedriver or chromium the test fails: install them (`apt-get install chromium
//! chromium-driver`; `bash .ci/run` does).

use fantoccini::{Client, ClientBuilder, Locator};
use futures::future::BoxFuture;
use rust_decimal_macros::dec;
use rustybt::engine::EngineBuilder;
use rustybt::{
    ErrorKind, ErrorReport, Fill, OrderRequest, PortfolioSnapshot, Position, Side, StrategySettings,
};
use rustybt_actors::alerts::{Alert, AlertChannel, DeliveryError};
use rustybt_actors::rules::MarketSession;
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "browser-token";
const CHROMEDRIVERS: [&str; 2] = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];
const CHROMIUM: &str = "/usr/bin/chromium";
/// What installs both (root: named in the README's setup line).
const INSTALL: &str = "sudo apt-get install chromium chromium-driver";
/// Each breaker on the page: `{type: status}`.
const BREAKERS_JS: &str =
    "return Object.fromEntries([...document.querySelectorAll('[data-breaker]')]\
    .map(b => [b.dataset.breaker, b.dataset.status]))";
/// How long the page may take to show something; generous, and only an upper bound.
const PATIENCE: Duration = Duration::from_secs(20);
/// The browser's time zone in these tests (set through the DevTools protocol).
const BROWSER_TZ: &str = "America/New_York";
/// Every table cell whose text does not fit its box (cut, or hidden behind an ellipsis).
const CUT_CELLS_JS: &str =
    "return [...document.querySelectorAll('#orders td, #errors td, #audit td, #alerts td')]\
    .filter(td => td.scrollWidth > td.clientWidth + 1 || td.scrollHeight > td.clientHeight + 1)\
    .map(td => td.textContent)";

/// A DevTools-protocol command through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (reqwest::Method, Option<String>) {
        (
            reqwest::Method::POST,
            Some(json!({"cmd": self.cmd, "params": self.params}).to_string()),
        )
    }
}

async fn cdp(c: &Client, cmd: &'static str, params: Value) {
    c.issue_cmd(Cdp { cmd, params })
        .await
        .unwrap_or_else(|e| panic!("DevTools {cmd}: {e}"));
}

/// Fixes the page's time zone and locale, so time labels carry a known zone name (EST/EDT)
/// whatever the machine's own settings.
async fn browser_time_zone(c: &Client) {
    cdp(c, "Emulation.setLocaleOverride", json!({"locale": "en-US"})).await;
    cdp(
        c,
        "Emulation.setTimezoneOverride",
        json!({"timezoneId": BROWSER_TZ}),
    )
    .await;
}

/// Cuts the browser off the network (`true`), or reconnects it: the API cannot be reached.
async fn offline(c: &Client, off: bool) {
    cdp(c, "Network.enable", json!({})).await;
    cdp(
        c,
        "Network.emulateNetworkConditions",
        json!({"offline": off, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
    )
    .await;
}

/// A market that is always in session (UTC, from midnight, every day): the daily P&L exists
/// whenever the test runs.
fn always_open() -> MarketSession {
    MarketSession::new(
        chrono_tz::UTC,
        chrono::NaiveTime::from_hms_opt(0, 0, 0).unwrap(),
        [],
    )
    .trading_every_day()
}

/// Whether a time label ends with the browser's zone (New York: EST or EDT).
fn has_zone(label: &str) -> bool {
    label.ends_with(" EST") || label.ends_with(" EDT")
}

/// An alert channel inside the test: delivers, or fails with `error`, so the page has rows.
struct TestChannel {
    name: &'static str,
    error: Option<&'static str>,
}

impl AlertChannel for TestChannel {
    fn name(&self) -> String {
        self.name.into()
    }

    fn deliver<'a>(&'a self, _: &'a Alert) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            match self.error {
                Some(e) => Err(DeliveryError::Permanent(e.into())),
                None => Ok(()),
            }
        })
    }
}

/// chromedriver as a child process in a process group of its own; dropping it kills that group
/// (chromedriver and the Chromium it started), also when an assertion failed half way.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver() -> (Driver, u16) {
    let path = crate::support::tools::require_installed("chromedriver", &CHROMEDRIVERS, INSTALL);
    crate::support::tools::require_installed("chromium", &[CHROMIUM], INSTALL);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&path)
        .process_group(0)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
    let driver = Driver(child);
    let deadline = Instant::now() + PATIENCE;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (driver, port)
}

async fn browser(port: u16, profile: &Path) -> Client {
    // Several rustls back ends are linked into the test build; fantoccini needs one chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1366,768",
                format!("--user-data-dir={}", profile.display())
            ]
        }),
    );
    ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a chromium session from chromedriver")
}

async fn el(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: not on the page: {e}"))
}

async fn click(c: &Client, css: &str) {
    el(c, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let e = el(c, css).await;
    e.clear().await.unwrap();
    e.send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

async fn text_of(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits until the text of `css` contains `want`; fails with what the page shows instead.
async fn wait_text(c: &Client, css: &str, want: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = text_of(c, css).await;
        if got.contains(want) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{css}: wanted {want:?}, the page shows {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the text content of `css` (the DOM's text, whatever the line breaks on screen)
/// contains `want`; fails with what the page has instead.
async fn wait_content(c: &Client, css: &str, want: &str) -> String {
    let script = format!(
        "const e = document.querySelector({}); return e ? e.textContent : ''",
        json!(css)
    );
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = c.execute(&script, vec![]).await.unwrap();
        let got = got.as_str().unwrap_or_default().to_string();
        if got.contains(want) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{css}: wanted {want:?}, the page has {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `script` (a function body returning JSON) returns `want`.
async fn wait_js(c: &Client, script: &str, want: Value) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = c.execute(script, vec![]).await.unwrap();
        if got == want {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{script}: wanted {want}, got {got}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_dashboard_when_operated_in_chromium_then_shows_state_halts_and_resets() {
    // A real engine with some history: snapshots, orders, a fill and errors of two kinds.
    let dir = tempfile::tempdir().unwrap();
    let mut settings = StrategySettings::moderate("momentum");
    settings.breakers.stale_feed = None;
    settings.market = always_open();
    let engines = EngineBuilder::new(settings)
        .data_dir(dir.path())
        .alert_channels(vec![
            Arc::new(TestChannel {
                name: "webhook:ops",
                error: None,
            }),
            Arc::new(TestChannel {
                name: "sms",
                error: Some("403 from the SMS provider: number not verified"),
            }),
        ])
        .start_all()
        .unwrap();
    let engine = engines.get("momentum").unwrap().clone();
    let now = chrono::Utc::now();
    let values = [
        dec!(100000),
        dec!(100500),
        dec!(101200),
        dec!(100800),
        dec!(101900),
        dec!(101400.50),
    ];
    for (i, v) in values.into_iter().enumerate() {
        engine
            .submit_snapshot(PortfolioSnapshot {
                timestamp: now + chrono::Duration::seconds(i as i64),
                portfolio_value: v,
                cash: Some(dec!(1900)),
                positions: Some(vec![
                    Position {
                        asset: "SPY".into(),
                        quantity: dec!(150),
                        market_price: dec!(500.25),
                    },
                    Position {
                        asset: "QQQ".into(),
                        quantity: dec!(50),
                        market_price: (v - dec!(1900) - dec!(75037.50)) / dec!(50),
                    },
                ]),
            })
            .await
            .unwrap();
    }
    for (id, side) in [("ord-1", Side::Buy), ("ord-2", Side::Sell)] {
        engine
            .check_order(OrderRequest::market(id, "SPY", side, dec!(10)))
            .unwrap();
    }
    engine
        .report_fill(Fill {
            order_id: "ord-1".into(),
            asset: "SPY".into(),
            side: Side::Buy,
            quantity: dec!(10),
            price: dec!(500.25),
            timestamp: now,
        })
        .unwrap();
    for (kind, message) in [
        (
            ErrorKind::BrokerError,
            "gateway timeout talking to the broker",
        ),
        (ErrorKind::DataError, "quote for QQQ is missing"),
        (ErrorKind::BrokerError, "connection reset by peer"),
    ] {
        engine
            .report_error(ErrorReport {
                kind,
                message: message.into(),
                order_id: None,
                timestamp: None,
            })
            .await
            .unwrap();
    }

    let server = crate::support::serve(&engines, TOKEN);
    let base = format!("http://{}", server.addr);
    let status_url = format!("{base}/api/v1/strategies/momentum");

    let (_driver, port) = chromedriver();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(port, profile.path()).await;

    browser_time_zone(&c).await;

    // Before the first status arrives (the API's answers held back): a neutral banner that
    // says it is loading, never the green of NORMAL, and no HALT offered for no strategy.
    cdp(
        &c,
        "Fetch.enable",
        json!({"patterns": [{"urlPattern": "*/api/v1/*"}]}),
    )
    .await;
    c.goto(&base).await.unwrap();
    let loading = c
        .execute(
            "const b = document.getElementById('banner'); return [b.className, b.dataset.state, \
             document.getElementById('state').textContent, getComputedStyle(b).backgroundColor, \
             document.getElementById('halt-button').disabled]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        loading,
        json!([
            "banner state-LOADING",
            "LOADING",
            "LOADING",
            "rgb(107, 114, 128)",
            true
        ]),
        "the page before its first status"
    );
    cdp(&c, "Fetch.disable", json!({})).await;

    // The page loads and shows what the engine knows.
    c.goto(&base).await.unwrap();
    wait_text(&c, "#state", "NORMAL").await;
    wait_text(&c, "#value", "101400.50").await;
    wait_text(&c, "#hwm", "101900").await;
    // The page re-renders every few seconds: read each breaker in one script, not by handle.
    wait_js(
        &c,
        BREAKERS_JS,
        json!({
            "drawdown": "ok", "daily_loss": "ok", "order_rate": "ok",
            "error_rate": "ok", "stale_feed": "ok", "manual": "ok",
        }),
    )
    .await;
    wait_content(
        &c,
        "[data-breaker=drawdown] .vl",
        "now -0.49% / limit -10.00%",
    )
    .await;
    // A gain reads as a gain: signed, and named so, on the figure and on the daily-loss card.
    wait_text(&c, "#pnl", "+1400.50").await;
    wait_text(&c, "#pnl-kind", "gain since the open").await;
    wait_content(
        &c,
        "[data-breaker=daily_loss] .vl",
        "now +1.40% gain / limit -5.00%",
    )
    .await;
    // The token field says what it takes, where to find it and what it is for.
    let token_help = text_of(&c, "#token-help").await;
    for want in ["live run", "data/api-token", "halt and reset"] {
        assert!(
            token_help.contains(want),
            "token help lacks {want:?}: {token_help}"
        );
    }
    let placeholder = el(&c, "#token")
        .await
        .attr("placeholder")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(placeholder.contains("halt and reset"), "{placeholder}");
    // The chart: the high-water mark, the drawdown limit against it (101900 × 0.90) and the
    // daily-loss limit against the open (100000 × 0.95), labelled; times with their zone.
    wait_js(
        &c,
        "const d = JSON.parse(document.getElementById('chart').dataset.drawn || '{}'); \
         return (d.lines || []).map(l => [l.kind, l.value])",
        json!([
            ["hwm", "101900"],
            ["daily_loss_limit", "95000.00"],
            ["drawdown_limit", "91710.00"]
        ]),
    )
    .await;
    wait_text(&c, "#chart-legend", "high-water mark 101900").await;
    wait_text(&c, "#chart-legend", "drawdown limit 91710.00").await;
    wait_text(&c, "#chart-legend", "daily-loss limit 95000.00").await;
    let x_labels = c
        .execute(
            "return JSON.parse(document.getElementById('chart').dataset.drawn).x_labels",
            vec![],
        )
        .await
        .unwrap();
    let x_labels: Vec<String> = serde_json::from_value(x_labels).unwrap();
    assert_eq!(x_labels.len(), 2, "{x_labels:?}");
    assert!(x_labels.iter().all(|l| has_zone(l)), "{x_labels:?}");
    wait_text(&c, "#positions", "SPY").await;
    wait_text(&c, "#positions", "75037.5").await; // market value, as the API's decimal
    wait_text(&c, "#orders", "ord-2").await;
    wait_text(&c, "#fills", "500.25").await;
    wait_text(&c, "#errors", "quote for QQQ is missing").await;
    wait_text(&c, "#strategy-select", "momentum — NORMAL").await;
    assert_eq!(
        c.execute("return document.getElementById('banner').className", vec![])
            .await
            .unwrap(),
        json!("banner state-NORMAL")
    );

    // Errors filter by kind.
    el(&c, "#error-filter")
        .await
        .select_by_value("broker_error")
        .await
        .unwrap();
    wait_js(
        &c,
        "return [...document.querySelectorAll('#errors tr')].map(r => r.dataset.kind)",
        json!(["broker_error", "broker_error"]),
    )
    .await;
    el(&c, "#error-filter")
        .await
        .select_by_value("")
        .await
        .unwrap();
    wait_js(
        &c,
        "return document.querySelectorAll('#errors tr').length",
        json!(3),
    )
    .await;

    // A laptop screen: nothing wider than the window.
    let widths = c
        .execute(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth]",
            vec![],
        )
        .await
        .unwrap();
    let w: Vec<u64> = serde_json::from_value(widths.clone()).unwrap();
    assert!(w[2] >= 1300, "the window is a laptop's: {widths}");
    assert!(w[0] <= w[1], "horizontal scroll at 1366 px: {widths}");

    // Halting without the token: a clear 401, and nothing changes.
    click(&c, "#halt-button").await;
    type_into(&c, "#halt-operator", "browser-test").await;
    type_into(&c, "#halt-reason", "no token yet").await;
    click(&c, "#halt-confirm").await;
    let shown = wait_text(&c, "#message", "401").await;
    assert!(shown.contains("token"), "{shown}");
    wait_js(
        &c,
        "return document.getElementById('message').dataset.kind",
        json!("auth"),
    )
    .await;
    let status = get_json(&status_url).await;
    assert_eq!(status["state"], "NORMAL", "{status}");
    assert_eq!(text_of(&c, "#state").await, "NORMAL");

    // Halt from the page: token, button, operator and reason, confirm.
    type_into(&c, "#token", TOKEN).await;
    assert_eq!(
        c.execute("return sessionStorage.getItem('rustybt-token')", vec![])
            .await
            .unwrap(),
        json!(TOKEN)
    );
    click(&c, "#halt-button").await;
    type_into(&c, "#halt-reason", "halted from the dashboard").await;
    click(&c, "#halt-confirm").await;
    wait_text(&c, "#state", "MANUALLY_HALTED").await;
    wait_text(&c, "#state-reason", "halted from the dashboard").await;
    let status = get_json(&status_url).await;
    assert_eq!(status["state"], "MANUALLY_HALTED", "{status}");
    assert_eq!(status["reason"], "halted from the dashboard", "{status}");
    let audit = get_json(&format!("{status_url}/audit")).await;
    assert_eq!(audit.as_array().unwrap().len(), 1, "one halt: {audit}");
    assert_eq!(audit[0]["operator"], "browser-test", "{audit}");
    wait_text(&c, "#audit", "manual_halt").await;
    wait_text(&c, "#message", "Halted by browser-test").await;
    wait_js(
        &c,
        "return document.querySelector('[data-breaker=manual]').dataset.status",
        json!("tripped"),
    )
    .await;
    wait_text(&c, "#strategy-select", "momentum — MANUALLY_HALTED").await;
    wait_text(&c, "#alerts", "webhook:ops").await;
    wait_text(&c, "#alerts", "number not verified").await;
    // Halted: HALT is no longer offered, and the page says why.
    wait_js(
        &c,
        "return document.getElementById('halt-button').disabled",
        json!(true),
    )
    .await;
    wait_text(&c, "#halt-note", "Already halted").await;
    // The halt is marked on the chart, at its time, with its zone.
    wait_js(
        &c,
        "return JSON.parse(document.getElementById('chart').dataset.drawn).markers\
         .filter(m => m.kind === 'halt').map(m => m.label.startsWith('halt by browser-test'))",
        json!([true]),
    )
    .await;
    let halt_label = c
        .execute(
            "return JSON.parse(document.getElementById('chart').dataset.drawn).markers[0].label",
            vec![],
        )
        .await
        .unwrap();
    assert!(has_zone(halt_label.as_str().unwrap()), "{halt_label}");

    // Screenshots: the laptop window, then the whole page.
    let out = target_dir();
    std::fs::create_dir_all(&out).unwrap();
    let png = c.screenshot().await.unwrap();
    assert!(png.len() > 10_000, "a real screenshot");
    std::fs::write(out.join("dashboard.png"), &png).unwrap();
    let height = c
        .execute("return document.documentElement.scrollHeight", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    c.set_window_size(1366, (height + 200).min(4000) as u32)
        .await
        .unwrap();
    let full = c.screenshot().await.unwrap();
    std::fs::write(out.join("dashboard-full.png"), &full).unwrap();
    c.set_window_size(1366, 768).await.unwrap();

    // Reset from the page: request (shows the expiry), then confirm; trading resumes.
    click(&c, "#reset-request").await;
    type_into(&c, "#reset-operator", "browser-test").await;
    click(&c, "#reset-step").await;
    wait_text(&c, "#reset-ticket", "Confirm before").await;
    wait_text(&c, "#state", "RESETTING").await;
    wait_text(&c, "#pending-reset", "Reset requested by browser-test").await;
    let status = get_json(&status_url).await;
    assert_eq!(status["state"], "RESETTING", "{status}");
    let page_expires = c
        .execute(
            "return document.getElementById('reset-expires').textContent",
            vec![],
        )
        .await
        .unwrap();
    let api_expires = chrono::DateTime::parse_from_rfc3339(
        status["pending_reset"]["expires_at"].as_str().unwrap(),
    )
    .unwrap();
    let page_expires = chrono::DateTime::parse_from_rfc3339(page_expires.as_str().unwrap())
        .unwrap_or_else(|e| panic!("the page's expiry {page_expires}: {e}"));
    assert_eq!(
        page_expires, api_expires,
        "the page shows the token's expiry"
    );
    click(&c, "#reset-confirm").await;
    wait_text(&c, "#state", "NORMAL").await;
    wait_text(&c, "#message", "trading resumes").await;
    let status = get_json(&status_url).await;
    assert_eq!(status["state"], "NORMAL", "{status}");
    let audit = get_json(&format!("{status_url}/audit")).await;
    let causes: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["cause"].as_str().unwrap())
        .collect();
    assert_eq!(
        causes,
        ["manual_halt", "reset_requested", "reset_confirmed"]
    );
    wait_js(
        &c,
        "return document.getElementById('halt-button').disabled",
        json!(false),
    )
    .await;

    // The API out of reach: the banner stops showing NORMAL and says so; back when it answers.
    offline(&c, true).await;
    wait_js(
        &c,
        "return document.getElementById('banner').dataset.state",
        json!("UNREACHABLE"),
    )
    .await;
    assert_eq!(text_of(&c, "#state").await, "NO CONNECTION");
    assert_eq!(
        c.execute("return document.getElementById('banner').className", vec![])
            .await
            .unwrap(),
        json!("banner state-UNREACHABLE")
    );
    wait_text(&c, "#tripped", "Last known state NORMAL").await;
    wait_text(&c, "#strategy-select", "momentum — state unknown").await;
    std::fs::write(
        out.join("dashboard-unreachable.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    offline(&c, false).await;
    wait_text(&c, "#state", "NORMAL").await;
    wait_text(&c, "#strategy-select", "momentum — NORMAL").await;

    c.close().await.unwrap();
    // Not `server.stop()`: a graceful stop waits for the page's open event stream until actix's
    // 30 s shutdown timeout. The server thread ends with the test process.
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_dashboard_when_breakers_tripped_then_shows_each_with_its_value_at_the_trip() {
    // Two breakers trip on one snapshot (a fall of 11.88% from the high-water mark, 11% below
    // the open); the market then recovers a little, so the value now differs from the value at
    // the trip.
    let dir = tempfile::tempdir().unwrap();
    let mut settings = StrategySettings::moderate("momentum");
    settings.breakers.stale_feed = None;
    settings.market = always_open();
    settings.pre_trade.per_order.max_order_quantity = Some(dec!(100));
    let engines = EngineBuilder::new(settings)
        .data_dir(dir.path())
        .start_all()
        .unwrap();
    let engine = engines.get("momentum").unwrap().clone();
    let now = chrono::Utc::now();
    for (i, v) in [dec!(100000), dec!(101000), dec!(89000), dec!(90500)]
        .into_iter()
        .enumerate()
    {
        if i == 1 {
            // Before the trip: one order working, one with an extra zero denied.
            let mut working = OrderRequest::market("working-1", "SPY", Side::Buy, dec!(10));
            working.limit_price = Some(dec!(500));
            assert!(engine.check_order(working).unwrap().is_accepted());
            let fat = OrderRequest::market("fat-1", "SPY", Side::Buy, dec!(1000));
            assert!(!engine.check_order(fat).unwrap().is_accepted());
        }
        engine
            .submit_snapshot(PortfolioSnapshot {
                timestamp: now + chrono::Duration::seconds(i as i64),
                portfolio_value: v,
                cash: Some(v),
                positions: Some(vec![]),
            })
            .await
            .unwrap();
    }
    let long_error = "broker said: order 7f3c-long-identifier-0000000000000000000000000000 \
                      refused because the account's intraday buying power is exhausted \
                      and the risk desk has to raise it before any new order";
    engine
        .report_error(ErrorReport {
            kind: ErrorKind::BrokerError,
            message: long_error.into(),
            order_id: None,
            timestamp: None,
        })
        .await
        .unwrap();
    let rejected = engine
        .check_order(OrderRequest::market(
            "ord-after-trip",
            "SPY",
            Side::Buy,
            dec!(5),
        ))
        .unwrap();
    assert!(
        matches!(rejected, rustybt::OrderDecision::Rejected { .. }),
        "{rejected:?}"
    );

    let server = crate::support::serve(&engines, TOKEN);
    let base = format!("http://{}", server.addr);
    let status_url = format!("{base}/api/v1/strategies/momentum");
    let status = get_json(&status_url).await;
    assert_eq!(status["state"], "TRIPPED", "{status}");

    let (_driver, port) = chromedriver();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(port, profile.path()).await;
    browser_time_zone(&c).await;
    c.goto(&base).await.unwrap();
    wait_text(&c, "#state", "TRIPPED").await;
    wait_js(
        &c,
        BREAKERS_JS,
        json!({
            "drawdown": "tripped", "daily_loss": "tripped", "order_rate": "ok",
            "error_rate": "ok", "stale_feed": "ok", "manual": "ok",
        }),
    )
    .await;

    // The order book and the pre-trade denials.
    wait_content(&c, "[data-testid=open-orders]", "working-1").await;
    wait_content(&c, "[data-testid=open-count]", "1").await;
    wait_content(&c, "[data-testid=denials]", "max_order_quantity1").await;
    wait_content(
        &c,
        "[data-testid=last-denial]",
        "order quantity 1000 > max 100 (SPY)",
    )
    .await;
    wait_content(&c, "[data-testid=orders]", "denied by max_order_quantity").await;

    // Each tripped card: the value now, and the value at the trip from the audit trail.
    wait_content(
        &c,
        "[data-breaker=drawdown] .vl",
        "now -10.39% / limit -10.00%",
    )
    .await;
    wait_content(
        &c,
        "[data-breaker=drawdown] .trip",
        "at trip -11.88% / limit -10.00%",
    )
    .await;
    wait_content(
        &c,
        "[data-breaker=daily_loss] .vl",
        "now -9.50% loss / limit -5.00%",
    )
    .await;
    wait_content(
        &c,
        "[data-breaker=daily_loss] .trip",
        "at trip -11.00% loss / limit -5.00%",
    )
    .await;
    wait_text(&c, "#pnl", "-9500").await;
    wait_text(&c, "#pnl-kind", "loss since the open").await;

    // The banner names every tripped breaker, not only the first.
    let tripped = wait_text(&c, "#tripped", "Tripped breakers (2)").await;
    assert!(
        tripped.contains("drawdown at -11.88% (limit -10.00%)"),
        "{tripped}"
    );
    assert!(
        tripped.contains("daily loss at -11.00% loss (limit -5.00%)"),
        "{tripped}"
    );

    // So does the reset dialog.
    click(&c, "#reset-request").await;
    wait_js(
        &c,
        "return [...document.querySelectorAll('#reset-breakers li')].map(li => li.dataset.breaker)",
        json!(["drawdown", "daily_loss"]),
    )
    .await;
    let listed = text_of(&c, "#reset-breakers").await;
    assert!(listed.contains("drawdown at -11.88%"), "{listed}");
    assert!(listed.contains("now -10.39%"), "{listed}");
    assert!(listed.contains("daily loss at -11.00% loss"), "{listed}");
    click(&c, "#reset-cancel").await;

    // The chart marks both trips, with the time and its zone.
    let marks = wait_js(
        &c,
        "return JSON.parse(document.getElementById('chart').dataset.drawn).markers\
         .map(m => m.label.split(' ').slice(0, 2).join(' '))",
        json!(["trip: drawdown", "trip: daily_loss"]),
    )
    .await;
    assert_eq!(marks.as_array().unwrap().len(), 2);
    let labels = c
        .execute(
            "return JSON.parse(document.getElementById('chart').dataset.drawn).markers.map(m => m.label)",
            vec![],
        )
        .await
        .unwrap();
    let labels: Vec<String> = serde_json::from_value(labels).unwrap();
    assert!(labels.iter().all(|l| has_zone(l)), "{labels:?}");
    wait_text(&c, "#chart-legend", "trip: drawdown").await;

    // A halt on top, by an operator with a long name and a long reason: the tables wrap every
    // reason and operator whole, none is cut.
    let operator = "risk-operator.with.a.rather.long.name@trading-desk.example.com";
    let reason = "halting while the broker investigates the rejected orders and the buying \
                  power problem reported at the open";
    let res = reqwest::Client::new()
        .post(format!("{status_url}/halt"))
        .bearer_auth(TOKEN)
        .json(&json!({"operator": operator, "reason": reason}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    wait_text(&c, "#state", "MANUALLY_HALTED").await;
    wait_text(&c, "#audit", operator).await;
    wait_text(&c, "#audit", reason).await;
    wait_text(&c, "#errors", long_error).await;
    wait_text(&c, "#orders", "ord-after-trip").await;
    wait_js(&c, CUT_CELLS_JS, json!([])).await;
    let wide = c
        .execute(
            "return [...document.querySelectorAll('.panel table')]\
             .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1).length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(wide, json!(0), "a table wider than its panel");
    wait_text(&c, "#tripped", "Tripped breakers (3)").await;
    wait_text(&c, "#halt-note", "Already halted").await;
    assert_eq!(
        c.execute(
            "return document.getElementById('halt-button').disabled",
            vec![]
        )
        .await
        .unwrap(),
        json!(true)
    );

    let out = target_dir();
    std::fs::create_dir_all(&out).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(out.join("dashboard-tripped.png"), &png).unwrap();
    let height = c
        .execute("return document.documentElement.scrollHeight", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    c.set_window_size(1366, (height + 200).min(4000) as u32)
        .await
        .unwrap();
    let full = c.screenshot().await.unwrap();
    std::fs::write(out.join("dashboard-tripped-full.png"), &full).unwrap();

    c.close().await.unwrap();
    // As above: not a graceful stop, which would wait for the page's event stream.
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_dashboard_when_firm_halt_pressed_then_every_strategy_halted_and_firm_panel_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let strategy = |name: &str, desk: &str| {
        let mut s = StrategySettings::moderate(name);
        s.breakers.stale_feed = None;
        s.market = always_open();
        s.desk = Some(desk.into());
        s
    };
    let engines = EngineBuilder::strategies(vec![
        strategy("alpha", "equities"),
        strategy("gamma", "rates"),
    ])
    .data_dir(dir.path())
    .start_all()
    .unwrap();
    let server = crate::support::serve(&engines, TOKEN);
    let base = format!("http://{}", server.addr);

    let (_driver, port) = chromedriver();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(port, profile.path()).await;
    c.goto(&base).await.unwrap();
    type_into(&c, "#token", TOKEN).await;
    wait_text(&c, "#firm-name", "default").await;
    wait_text(&c, "#firm-state", "NORMAL").await;
    wait_content(&c, "#firm-strategies", "gamma").await;
    wait_content(&c, "#firm-bus", "none (one host)").await;
    click(&c, "#firm-halt-button").await;
    type_into(&c, "#firm-halt-operator", "browser-test").await;
    type_into(&c, "#firm-halt-reason", "firm drill from the dashboard").await;
    click(&c, "#firm-halt-confirm").await;
    wait_text(&c, "#message", "Firm halted by browser-test").await;
    wait_text(&c, "#firm-state", "MANUALLY_HALTED").await;
    for name in ["alpha", "gamma"] {
        let s = get_json(&format!("{base}/api/v1/strategies/{name}")).await;
        assert_eq!(s["state"], "MANUALLY_HALTED", "{name}: {s}");
        let audit = get_json(&format!("{base}/api/v1/strategies/{name}/audit")).await;
        let last = audit.as_array().unwrap().last().cloned().unwrap();
        assert_eq!(last["cause"], "firm_halt", "{last}");
        assert_eq!(last["operator"], "browser-test");
    }
    c.screenshot()
        .await
        .map(|png| std::fs::write(target_dir().join("dashboard-firm.png"), png))
        .ok();
    c.close().await.unwrap();
}
