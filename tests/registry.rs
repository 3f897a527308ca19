//! The breaker registry is complete: every breaker it names can be configured (the example that
//! switches every breaker on shows its section), is listed in the status, has its metrics
//! series, gets a dashboard card and a column in the replay's comparison. Adding a breaker
//! (docs/architecture/adding-a-breaker.md) without one of these fails here.

use rustybt::config::Config;
use rustybt::engine::EngineBuilder;
use rustybt_actors::breaker::BreakerKind;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const TOKEN: &str = "test-token";

/// The example configuration that switches every breaker on.
fn every_breaker() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/config/pre_trade.toml")
}

/// The registry's breakers: every kind but the bus (enforced by the gate, never configured per
/// strategy) and the manual stop (always there).
fn registered() -> Vec<BreakerKind> {
    BreakerKind::ALL
        .into_iter()
        .filter(|k| !matches!(k, BreakerKind::Bus | BreakerKind::Manual))
        .collect()
}

#[test]
fn test_registry_when_example_config_loaded_then_every_breaker_is_configured() {
    let config = Config::load(&every_breaker()).unwrap();
    let enabled = config.strategies[0].breakers.enabled();
    for kind in registered() {
        assert!(
            enabled.contains(&kind),
            "{} is not switched on by {}: add its [strategy.circuit_breakers] entry",
            kind.as_str(),
            every_breaker().display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_registry_when_every_breaker_on_then_each_has_status_metrics_and_card() {
    let config = Config::load(&every_breaker()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engines = EngineBuilder::new(config.strategies[0].clone())
        .data_dir(dir.path())
        .start_all()
        .unwrap();
    let server = rustybt::server::start(
        engines.all().clone(),
        "127.0.0.1:0".parse().unwrap(),
        TOKEN.into(),
        false,
    )
    .unwrap();
    let base = format!("http://{}", server.addr);
    let name = &config.strategies[0].name;
    let status: Value = reqwest::get(format!("{base}/api/v1/strategies/{name}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = status["breakers"]
        .as_array()
        .unwrap_or_else(|| panic!("{status}"))
        .iter()
        .filter_map(|b| b["type"].as_str())
        .collect();
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for kind in BreakerKind::ALL {
        let k = kind.as_str();
        assert!(listed.contains(&k), "{k} missing from the status: {status}");
        for series in [
            "rustybt_breaker_tripped",
            "rustybt_breaker_value",
            "rustybt_breaker_limit",
        ] {
            let labels = format!("{series}{{strategy=\"{name}\",breaker=\"{k}\"}}");
            let labels_swapped = format!("{series}{{breaker=\"{k}\",strategy=\"{name}\"}}");
            assert!(
                metrics.contains(&labels) || metrics.contains(&labels_swapped),
                "{series} for {k} missing from /metrics"
            );
        }
    }
    // The dashboard draws one card per breaker the status lists, named by its type: so every
    // breaker listed above has its card, with no per-breaker code to forget.
    let app = reqwest::get(format!("{base}/assets/app.js"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        app.contains("for (const b of breakers.filter(")
            && app.contains("d.dataset.testid = \"breaker-\" + b.type"),
        "the dashboard no longer draws a card for every listed breaker"
    );
}

#[test]
fn test_registry_when_replays_compared_then_every_breaker_has_a_column() {
    let history = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/fat_finger.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_rustybt"))
        .args(["live", "replay", "--config"])
        .arg(every_breaker())
        .args(["--profile", "moderate"])
        .arg(&history)
        .env("RUSTYBT_LOG", "error")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = stdout
        .lines()
        .find(|l| l.starts_with("setting"))
        .unwrap_or_else(|| panic!("no comparison table: {stdout}"));
    for kind in registered() {
        assert!(
            header.split_whitespace().any(|c| c == kind.as_str()),
            "{} has no column: {header}",
            kind.as_str()
        );
    }
}
