#![allow(clippy::vec_init_then_push)] // one CLI call per line reads as the session it is
//! The operator CLI as a process against a running service, with its exit codes.

use rustybt::engine::EngineBuilder;
use rustybt::{PortfolioSnapshot, StrategySettings};
use std::process::{Command, Output, Stdio};

const TOKEN: &str = "cli-token";

fn rustybt(args: &[&str], url: &str, token: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rustybt"));
    cmd.args(args)
        .args(["--url", url])
        .env_remove("RUSTYBT_API_TOKEN")
        .env("RUSTYBT_LOG", "error");
    cmd.args(["--token-file", "/nonexistent/api-token"]);
    if let Some(t) = token {
        cmd.env("RUSTYBT_API_TOKEN", t);
    }
    cmd.stdin(Stdio::null()).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_stop_status_reset_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = StrategySettings::moderate("momentum");
    s.stale_feed = None;
    let engines = EngineBuilder::new(s)
        .data_dir(dir.path())
        .start_all()
        .unwrap();
    engines
        .get("momentum")
        .unwrap()
        .submit_snapshot(PortfolioSnapshot::valued(
            chrono::Utc::now(),
            rust_decimal::Decimal::from(1000),
        ))
        .await
        .unwrap();
    let server = rustybt::server::start(
        engines.all().clone(),
        "127.0.0.1:0".parse().unwrap(),
        TOKEN.into(),
        false,
    )
    .unwrap();
    let url = format!("http://{}", server.addr);

    let out = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            #[allow(clippy::vec_init_then_push)] // one call per line reads as the session it is
            let mut outs = Vec::new();
            outs.push(rustybt(&["live", "status"], &url, None));
            outs.push(rustybt(
                &[
                    "live",
                    "stop",
                    "--strategy",
                    "momentum",
                    "--reason",
                    "drill",
                    "--operator",
                    "alice",
                ],
                &url,
                Some(TOKEN),
            ));
            outs.push(rustybt(
                &["live", "status", "--strategy", "momentum"],
                &url,
                None,
            ));
            outs.push(rustybt(
                &["live", "reset", "--strategy", "momentum"],
                &url,
                Some(TOKEN),
            ));
            outs.push(rustybt(
                &[
                    "live",
                    "reset",
                    "--strategy",
                    "momentum",
                    "--yes",
                    "--operator",
                    "bob",
                ],
                &url,
                Some(TOKEN),
            ));
            outs.push(rustybt(
                &["live", "stop", "--strategy", "momentum", "--reason", "x"],
                &url,
                None,
            ));
            outs.push(rustybt(
                &["live", "stop", "--strategy", "momentum", "--reason", "x"],
                &url,
                Some("wrong"),
            ));
            outs.push(rustybt(
                &["live", "stop", "--strategy", "nope", "--reason", "x"],
                &url,
                Some(TOKEN),
            ));
            outs.push(rustybt(&["live", "status"], "http://127.0.0.1:9", None));
            outs
        }
    })
    .await
    .unwrap();

    let [list, stop, one, reset_no, reset_yes, no_token, wrong_token, unknown, unreachable] =
        <[Output; 9]>::try_from(out).unwrap();
    assert!(list.status.success(), "{}", text(&list));
    assert!(
        text(&list).contains("momentum") && text(&list).contains("NORMAL"),
        "{}",
        text(&list)
    );
    assert!(stop.status.success(), "{}", text(&stop));
    assert!(text(&stop).contains("MANUALLY_HALTED"), "{}", text(&stop));
    assert!(text(&one).contains("reason    drill"), "{}", text(&one));
    assert!(
        !reset_no.status.success(),
        "no answer on stdin means no reset: {}",
        text(&reset_no)
    );
    assert!(
        text(&reset_no).contains("reset cancelled"),
        "{}",
        text(&reset_no)
    );
    assert!(reset_yes.status.success(), "{}", text(&reset_yes));
    assert!(text(&reset_yes).contains("NORMAL"), "{}", text(&reset_yes));
    assert!(
        !no_token.status.success() && text(&no_token).contains("unauthorized"),
        "{}",
        text(&no_token)
    );
    assert!(
        !wrong_token.status.success() && text(&wrong_token).contains("unauthorized"),
        "{}",
        text(&wrong_token)
    );
    assert!(
        !unknown.status.success() && text(&unknown).contains("no strategy named \"nope\""),
        "{}",
        text(&unknown)
    );
    assert!(!unreachable.status.success(), "{}", text(&unreachable));
    assert!(
        text(&unreachable).contains("cannot reach the engine at http://127.0.0.1:9"),
        "{}",
        text(&unreachable)
    );

    let audit = engines.get("momentum").unwrap().audit().await.unwrap();
    let causes: Vec<_> = audit.iter().map(|a| a.cause.to_string()).collect();
    assert_eq!(
        causes,
        ["manual_halt", "reset_requested", "reset_confirmed"]
    );
    assert_eq!(audit[0].operator.as_deref(), Some("alice"));
    assert_eq!(audit[2].operator.as_deref(), Some("bob"));
    server.stop().await;
}

#[test]
fn test_help_on_every_command() {
    for args in [
        vec!["--help"],
        vec!["live", "--help"],
        vec!["live", "run", "--help"],
        vec!["live", "stop", "--help"],
        vec!["live", "reset", "--help"],
        vec!["live", "status", "--help"],
        vec!["live", "replay", "--help"],
        vec!["alerts", "test", "--help"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_rustybt"))
            .args(&args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn test_run_with_bad_config_exits_nonzero_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[[strategy]]\nname = \"s\"\n[strategy.circuit_breakers]\ndrawdown = { threshold = \"-2\" }\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rustybt"))
        .args(["live", "run", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("strategy[0].circuit_breakers.drawdown.threshold: -2"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_python_client_example_against_the_service() {
    // The service has the example's own strategy and the simulated market's `demo` beside it:
    // the example must write into its own and never into `demo`.
    let dir = tempfile::tempdir().unwrap();
    let engines = EngineBuilder::strategies(vec![
        StrategySettings::moderate("python-example"),
        StrategySettings::moderate("demo"),
    ])
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
    let url = format!("http://{}", server.addr);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/python/client.py");
    let run = |args: Vec<String>| {
        let script = script.clone();
        tokio::task::spawn_blocking(move || {
            Command::new("python3")
                .arg(script)
                .args(args)
                .env("RUSTYBT_API_TOKEN", TOKEN)
                .output()
                .expect("python3 (bash .ci/run installs it)")
        })
    };
    // No --strategy: the example's own.
    let out = run(vec!["--url".into(), url.clone(), "--halt".into()])
        .await
        .unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("order py-1: accepted"), "{t}");
    assert!(t.contains("state: NORMAL | value: 100000.00"), "{t}");
    assert!(t.contains("halted: MANUALLY_HALTED"), "{t}");
    let status = engines
        .get("python-example")
        .unwrap()
        .status()
        .await
        .unwrap();
    assert_eq!(status.error_totals["data_error"], 1);
    // --strategy demo is refused before any request.
    let out = run(vec![
        "--url".into(),
        url.clone(),
        "--strategy".into(),
        "demo".into(),
        "--halt".into(),
    ])
    .await
    .unwrap();
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("--strategy demo: that strategy is fed by the simulated market"),
        "{t}"
    );
    let demo = engines.get("demo").unwrap().status().await.unwrap();
    assert_eq!(demo.state.as_str(), "NORMAL");
    assert_eq!(demo.portfolio.snapshots_accepted, 0);
    assert_eq!(demo.orders_accepted, 0);
    assert!(demo.recent_orders.is_empty() && demo.recent_errors.is_empty());
    server.stop().await;
}
