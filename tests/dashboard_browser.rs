//! The dashboard in a real headless Chromium (Debian's chromium + chromedriver, driven with
//! fantoccini): it loads, shows the state, its halt button halts the strategy and its reset
//! flow resets it, each confirmed through the API. Saves target/dashboard.png.

use fantoccini::{ClientBuilder, Locator};
use rust_decimal_macros::dec;
use rustybt::engine::EngineBuilder;
use rustybt::{PortfolioSnapshot, Position, StrategySettings};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "browser-token";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver() -> (Driver, u16) {
    let path = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("chromedriver not found: install Debian's chromium and chromium-driver (bash .ci/run does)");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (Driver(child), port)
}

async fn wait_text(c: &fantoccini::Client, css: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = match c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if got.contains(want) {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{css}: wanted {want:?}, page shows {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_dashboard_loads_shows_state_and_halts_from_the_button() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = StrategySettings::moderate("momentum");
    s.stale_feed = None;
    let engines = EngineBuilder::new(s)
        .data_dir(dir.path())
        .start_all()
        .unwrap();
    let engine = engines.get("momentum").unwrap().clone();
    let now = chrono::Utc::now();
    for (i, v) in [
        dec!(100000),
        dec!(100500),
        dec!(101200),
        dec!(100800),
        dec!(101900),
    ]
    .into_iter()
    .enumerate()
    {
        engine
            .submit_snapshot(PortfolioSnapshot {
                timestamp: now + chrono::Duration::seconds(i as i64),
                portfolio_value: v,
                cash: Some(dec!(1900)),
                positions: vec![Position {
                    asset: "SPY".into(),
                    quantity: dec!(200),
                    market_price: (v - dec!(1900)) / dec!(200),
                }],
            })
            .await
            .unwrap();
    }
    let server = rustybt::server::start(
        engines.all().clone(),
        "127.0.0.1:0".parse().unwrap(),
        TOKEN.into(),
        false,
    )
    .unwrap();
    let base = format!("http://{}", server.addr);

    // Several rustls back ends are linked into the test build; fantoccini needs one chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (_driver, port) = chromedriver();
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1366,768", format!("--user-data-dir={}", profile.path().display())
            ]
        }),
    );
    let c = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a chromium session");

    c.goto(&base).await.unwrap();
    wait_text(&c, "#state", "NORMAL").await;
    wait_text(&c, "#value", "101900").await;
    let dd = c
        .find(Locator::Css("[data-breaker=drawdown]"))
        .await
        .unwrap();
    assert_eq!(dd.attr("data-status").await.unwrap().as_deref(), Some("ok"));
    wait_text(&c, "#positions", "SPY").await;

    // Halt from the page: token, button, operator and reason, confirm.
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(TOKEN)
        .await
        .unwrap();
    c.find(Locator::Id("halt-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("halt-operator"))
        .await
        .unwrap()
        .send_keys("browser-test")
        .await
        .unwrap();
    c.find(Locator::Id("halt-reason"))
        .await
        .unwrap()
        .send_keys("halted from the dashboard")
        .await
        .unwrap();
    c.find(Locator::Id("halt-confirm"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "#state", "MANUALLY_HALTED").await;
    wait_text(&c, "#state-reason", "halted from the dashboard").await;

    let status: Value = reqwest::get(format!("{base}/api/v1/strategies/momentum"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "MANUALLY_HALTED", "{status}");
    let audit: Value = reqwest::get(format!("{base}/api/v1/strategies/momentum/audit"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit[0]["operator"], "browser-test");
    wait_text(&c, "#audit", "manual_halt").await;

    let png = c.screenshot().await.unwrap();

    // Reset from the page: request, then confirm; trading resumes.
    c.find(Locator::Id("reset-request"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("reset-operator"))
        .await
        .unwrap()
        .send_keys("browser-test")
        .await
        .unwrap();
    c.find(Locator::Id("reset-step"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "#reset-ticket", "Confirm before").await;
    wait_text(&c, "#state", "RESETTING").await;
    c.find(Locator::Id("reset-confirm"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "#state", "NORMAL").await;
    let status: Value = reqwest::get(format!("{base}/api/v1/strategies/momentum"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "NORMAL", "{status}");
    let audit: Value = reqwest::get(format!("{base}/api/v1/strategies/momentum/audit"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard.png");
    std::fs::write(&out, &png).unwrap();
    assert!(png.len() > 10_000, "a real screenshot");
    c.close().await.unwrap();
    server.stop().await;
}
