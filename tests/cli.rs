//! The operator CLI as a process against a running service: exit codes (docs/operations.md),
//! token discovery from any directory, the operator's name in the audit trail, pending resets,
//! and the log on stderr.

use crate::support::service::{free_port, live_run_command, stderr_until, write_config, LiveRun};
use rust_decimal::Decimal;
use rustybt::api_types::{AuditEntry, ResetRequest};
use rustybt::client::Client;
use rustybt::engine::{EngineBuilder, Engines};
use rustybt::server::RunningServer;
use rustybt::{EngineState, PortfolioSnapshot, StrategySettings};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const TOKEN: &str = "cli-token";

/// `rustybt ARGS` with nothing inherited that could find a service or a token by accident.
fn cli(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rustybt"));
    cmd.args(args)
        .env_remove("RUSTYBT_API_TOKEN")
        .env_remove("RUSTYBT_URL")
        .env_remove("RUSTYBT_CONFIG")
        .env_remove("RUSTYBT_LOG_FORMAT")
        .env("RUSTYBT_LOG", "error")
        .stdin(Stdio::null());
    cmd
}

/// `rustybt ARGS --url URL --token-file /nonexistent/api-token`, with `token` in the
/// environment when given.
fn at(args: &[&str], url: &str, token: Option<&str>) -> Command {
    let mut cmd = cli(args);
    cmd.args(["--url", url, "--token-file", "/nonexistent/api-token"]);
    if let Some(t) = token {
        cmd.env("RUSTYBT_API_TOKEN", t);
    }
    cmd
}

fn run(mut cmd: Command) -> Output {
    cmd.output().expect("run rustybt")
}

/// Runs the CLI off the async runtime that serves the in-process engines.
async fn run_async(cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || run(cmd)).await.unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Asserts the exit code and that the output says `needle`.
fn assert_exit(o: &Output, code: i32, needle: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", text(o));
    assert!(text(o).contains(needle), "{needle:?} not in: {}", text(o));
}

/// One strategy `momentum` (stale feed off) valued at 1000, served in this process.
struct InProcess {
    engines: Engines,
    server: RunningServer,
    url: String,
    _dir: tempfile::TempDir,
}

impl InProcess {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut s = StrategySettings::moderate("momentum");
        s.breakers.stale_feed = None;
        let engines = EngineBuilder::new(s)
            .data_dir(dir.path())
            .start_all()
            .unwrap();
        let server = crate::support::serve(&engines, TOKEN);
        let me = Self {
            url: format!("http://{}", server.addr),
            server,
            engines,
            _dir: dir,
        };
        me.value(1000).await;
        me
    }

    async fn value(&self, v: i64) {
        self.engines
            .get("momentum")
            .unwrap()
            .submit_snapshot(PortfolioSnapshot::valued(
                chrono::Utc::now(),
                Decimal::from(v),
            ))
            .await
            .unwrap();
    }

    async fn audit(&self) -> Vec<AuditEntry> {
        self.engines.get("momentum").unwrap().audit().await.unwrap()
    }

    async fn state(&self) -> EngineState {
        self.engines
            .get("momentum")
            .unwrap()
            .status()
            .await
            .unwrap()
            .state
    }

    fn client(&self) -> Client {
        Client::new(&self.url, Some(TOKEN.into())).unwrap()
    }

    async fn stop(self) {
        self.server.stop().await;
        self.engines.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_stop_status_reset_when_session_then_exit_0_and_audit_names_operators() {
    let svc = InProcess::start().await;
    let url = svc.url.as_str();
    let list = run_async(at(&["live", "status"], url, None)).await;
    assert_exit(&list, 0, "momentum");
    assert!(text(&list).contains("NORMAL"), "{}", text(&list));
    let stop = run_async(at(
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
        url,
        Some(TOKEN),
    ))
    .await;
    assert_exit(&stop, 0, "momentum is MANUALLY_HALTED");
    let one = run_async(at(&["live", "status", "--strategy", "momentum"], url, None)).await;
    assert_exit(&one, 0, "reason    drill");
    let declined = run_async(at(
        &["live", "reset", "--strategy", "momentum"],
        url,
        Some(TOKEN),
    ))
    .await;
    assert_exit(
        &declined,
        7,
        "reset cancelled: momentum stays MANUALLY_HALTED",
    );
    let reset = run_async(at(
        &[
            "live",
            "reset",
            "--strategy",
            "momentum",
            "--yes",
            "--operator",
            "bob",
        ],
        url,
        Some(TOKEN),
    ))
    .await;
    assert_exit(&reset, 0, "momentum reset: NORMAL");
    let again = run_async(at(
        &["live", "reset", "--strategy", "momentum", "--yes"],
        url,
        Some(TOKEN),
    ))
    .await;
    assert_exit(&again, 0, "nothing to reset: momentum is NORMAL");

    let audit = svc.audit().await;
    let causes: Vec<_> = audit.iter().map(|a| a.cause.to_string()).collect();
    assert_eq!(
        causes,
        ["manual_halt", "reset_requested", "reset_confirmed"]
    );
    assert_eq!(audit[0].operator.as_deref(), Some("alice"));
    assert_eq!(audit[2].operator.as_deref(), Some("bob"));
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_cli_when_each_failure_then_its_documented_exit_code() {
    let svc = InProcess::start().await;
    let url = svc.url.as_str();
    let stop = |name: &'static str, reason: &'static str| {
        vec!["live", "stop", "--strategy", name, "--reason", reason]
    };

    // 1: the engine refused the input (422), or the configuration cannot be read.
    let empty_reason = run_async(at(&stop("momentum", " "), url, Some(TOKEN))).await;
    assert_exit(&empty_reason, 1, "the engine refused (422 invalid_value)");
    let bad_config = run_async({
        let mut c = cli(&["live", "status", "--config", "/nonexistent/service.toml"]);
        c.args(["--url", url]);
        c
    })
    .await;
    assert_exit(&bad_config, 1, "--config /nonexistent/service.toml");
    // 2: usage.
    let missing = run_async(at(&["live", "stop", "--reason", "x"], url, Some(TOKEN))).await;
    assert_exit(&missing, 2, "--strategy");
    let bad_url = run_async(at(&stop("momentum", "x"), "127.0.0.1:8080", Some(TOKEN))).await;
    assert_exit(
        &bad_url,
        2,
        "--url: \"127.0.0.1:8080\" is not an http(s) URL",
    );
    let nobody = run_async({
        let mut c = at(&stop("momentum", "x"), url, Some(TOKEN));
        c.args(["--operator", ""]);
        c
    })
    .await;
    assert_exit(&nobody, 2, "--operator");
    // 3: unreachable, the URL named.
    let unreachable = run_async(at(&["live", "status"], "http://127.0.0.1:9", None)).await;
    assert_exit(
        &unreachable,
        3,
        "cannot reach the engine at http://127.0.0.1:9",
    );
    // 4: no token (the files tried named), or a wrong one.
    let no_token = run_async(at(&stop("momentum", "x"), url, None)).await;
    assert_exit(&no_token, 4, "tried /nonexistent/api-token (not found)");
    let wrong = run_async(at(&stop("momentum", "x"), url, Some("wrong"))).await;
    assert_exit(&wrong, 4, "unauthorized");
    assert!(text(&wrong).contains("was refused"), "{}", text(&wrong));
    // 5: unknown strategy.
    let unknown = run_async(at(&stop("nope", "x"), url, Some(TOKEN))).await;
    assert_exit(&unknown, 5, "no strategy named \"nope\"");
    // 6: a refused transition: confirming when no reset is pending.
    let refused = run_async(at(
        &[
            "live",
            "reset",
            "--strategy",
            "momentum",
            "--yes",
            "--confirm-pending",
            "x",
        ],
        url,
        Some(TOKEN),
    ))
    .await;
    assert_exit(&refused, 6, "refused (no_reset_pending)");
    assert!(
        svc.audit().await.is_empty(),
        "nothing above changed anything"
    );
    // 8: the drawdown still holds after the reset (-15% against -10%): it trips again.
    svc.value(850).await;
    assert_eq!(svc.state().await, EngineState::Tripped);
    let tripped = run_async(at(
        &["live", "reset", "--strategy", "momentum", "--yes"],
        url,
        Some(TOKEN),
    ))
    .await;
    assert_exit(&tripped, 8, "momentum tripped again at once");
    assert_eq!(svc.state().await, EngineState::Tripped);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_stop_when_already_halted_then_second_reason_recorded_and_reported() {
    let svc = InProcess::start().await;
    let url = svc.url.as_str();
    let stop = |reason: &'static str| {
        at(
            &[
                "live",
                "stop",
                "--strategy",
                "momentum",
                "--reason",
                reason,
                "--operator",
                "alice",
            ],
            url,
            Some(TOKEN),
        )
    };
    let first = run_async(stop("drill")).await;
    assert_exit(&first, 0, "momentum is MANUALLY_HALTED");
    let second = run_async(stop("still runaway")).await;
    assert_exit(&second, 0, "was MANUALLY_HALTED already");
    assert!(
        text(&second).contains("(drill)") && text(&second).contains("\"still runaway\""),
        "{}",
        text(&second)
    );
    let audit = svc.audit().await;
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[1].cause.to_string(), "manual_halt");
    assert_eq!(audit[1].details["reason"], "still runaway");
    assert_eq!(audit[1].details["already_halted"], true);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_reset_when_pending_then_refused_and_confirm_or_cancel_pending_works() {
    let svc = InProcess::start().await;
    let url = svc.url.as_str();
    let client = svc.client();
    let reset = |extra: &[&str]| {
        let mut args = vec!["live", "reset", "--strategy", "momentum", "--yes"];
        args.extend_from_slice(extra);
        at(&args, url, Some(TOKEN))
    };
    let halt = rustybt::api_types::HaltRequest {
        operator: "alice".into(),
        reason: "drill".into(),
    };
    client.halt("momentum", &halt).await.unwrap();
    let request = ResetRequest {
        operator: "carol".into(),
        reason: None,
    };
    let ticket = client.request_reset("momentum", &request).await.unwrap();

    let plain = run_async(reset(&[])).await;
    assert_exit(&plain, 6, "requested by carol is already pending");
    assert!(
        text(&plain).contains("--confirm-pending"),
        "{}",
        text(&plain)
    );
    let wrong = run_async(reset(&["--confirm-pending", "wrong"])).await;
    assert_exit(&wrong, 6, "wrong_confirmation_token");
    assert_eq!(svc.state().await, EngineState::Resetting, "still pending");

    let cancel = run_async(reset(&["--cancel-pending"])).await;
    assert_exit(
        &cancel,
        0,
        "pending reset cancelled: momentum is MANUALLY_HALTED",
    );
    assert_eq!(svc.state().await, EngineState::ManuallyHalted);
    let stale = run_async(reset(&["--confirm-pending", &ticket.confirmation_token])).await;
    assert_exit(&stale, 6, "refused");
    let nothing = run_async(reset(&["--cancel-pending"])).await;
    assert_exit(&nothing, 6, "no reset is pending");

    let ticket = client.request_reset("momentum", &request).await.unwrap();
    let confirm = run_async(reset(&[
        "--confirm-pending",
        &ticket.confirmation_token,
        "--operator",
        "dave",
    ]))
    .await;
    assert_exit(&confirm, 0, "momentum reset: NORMAL");
    let audit = svc.audit().await;
    let last = audit.last().unwrap();
    assert_eq!(last.cause.to_string(), "reset_confirmed");
    assert_eq!(last.operator.as_deref(), Some("dave"));
    assert!(
        audit
            .iter()
            .any(|a| a.details["reason"] == "cancelled the pending reset requested by carol"),
        "{audit:?}"
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_stop_when_no_operator_given_then_audit_names_the_user() {
    let svc = InProcess::start().await;
    let url = svc.url.as_str();
    let mut as_user = at(
        &["live", "stop", "--strategy", "momentum", "--reason", "one"],
        url,
        Some(TOKEN),
    );
    as_user.env("USER", "erin").env_remove("LOGNAME");
    assert_exit(&run_async(as_user).await, 0, "MANUALLY_HALTED");
    let mut by_uid = at(
        &["live", "stop", "--strategy", "momentum", "--reason", "two"],
        url,
        Some(TOKEN),
    );
    by_uid.env_remove("USER").env_remove("LOGNAME");
    assert_exit(&run_async(by_uid).await, 0, "MANUALLY_HALTED");
    let id = Command::new("id").arg("-un").output().unwrap();
    let me = String::from_utf8_lossy(&id.stdout).trim().to_string();
    assert!(!me.is_empty(), "id -un names the test's user");

    let operators: Vec<_> = svc
        .audit()
        .await
        .into_iter()
        .map(|a| a.operator.unwrap_or_default())
        .collect();
    assert_eq!(operators, ["erin".to_string(), me]);
    svc.stop().await;
}

fn audit_over_http(base: &str) -> Vec<AuditEntry> {
    reqwest::blocking::get(format!("{base}/api/v1/strategies/momentum/audit"))
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn test_stop_when_run_elsewhere_with_config_then_token_found_in_its_data_folder() {
    let service_dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(service_dir.path(), port, "momentum");
    // Started from its own folder, as a service manager would; no token in the environment.
    let mut cmd = live_run_command(&config);
    cmd.current_dir(service_dir.path());
    let svc = LiveRun::start(cmd, port);
    assert!(service_dir.path().join("data/api-token").is_file());

    // From another folder, with only --config: the address and the token come from it.
    let mut stop = cli(&[
        "live",
        "stop",
        "--strategy",
        "momentum",
        "--reason",
        "drill",
        "--config",
    ]);
    stop.arg(&config)
        .current_dir(elsewhere.path())
        .env("USER", "dora");
    let out = run(stop);
    assert_exit(&out, 0, "momentum is MANUALLY_HALTED");
    let audit = audit_over_http(&svc.base);
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].operator.as_deref(), Some("dora"));
    assert_eq!(audit[0].details["reason"], "drill");
    svc.stop();
}

#[test]
fn test_stop_when_no_token_found_then_exit_4_listing_the_files_tried() {
    let service_dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let config = write_config(service_dir.path(), free_port(), "momentum");
    let named = elsewhere.path().join("my-token");
    let mut stop = cli(&["live", "stop", "--strategy", "momentum", "--reason", "x"]);
    stop.arg("--config")
        .arg(&config)
        .arg("--token-file")
        .arg(&named)
        .current_dir(elsewhere.path());
    let out = run(stop);
    let data_token = service_dir.path().join("data").join("api-token");
    assert_exit(&out, 4, "no API token");
    for tried in [&named, &data_token] {
        assert!(
            text(&out).contains(&format!("{} (not found)", tried.display())),
            "{} not listed: {}",
            tried.display(),
            text(&out)
        );
    }

    // With neither --config nor --token-file: ./data/api-token of the current folder.
    let mut bare = cli(&["live", "stop", "--strategy", "momentum", "--reason", "x"]);
    bare.current_dir(elsewhere.path());
    let out = run(bare);
    let here = elsewhere.path().join("data").join("api-token");
    assert_exit(&out, 4, &format!("{} (not found)", here.display()));
}

#[test]
fn test_live_run_when_restarted_then_keeps_its_token() {
    let service_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(service_dir.path(), port, "momentum");
    let token_file = service_dir.path().join("data/api-token");
    let svc = LiveRun::start(live_run_command(&config), port);
    let first = std::fs::read_to_string(&token_file).unwrap();
    svc.stop();

    let svc = LiveRun::start(live_run_command(&config), port);
    assert_eq!(std::fs::read_to_string(&token_file).unwrap(), first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "owner-only: {mode:o}");
    }
    // The token an operator copied before the restart still works.
    let mut stop = cli(&[
        "live",
        "stop",
        "--strategy",
        "momentum",
        "--reason",
        "after restart",
        "--operator",
        "ops",
        "--url",
        &svc.base,
    ]);
    stop.env("RUSTYBT_API_TOKEN", first.trim());
    assert_exit(&run(stop), 0, "MANUALLY_HALTED");
    svc.stop();
}

/// The line `live run` logs once it serves.
const SERVING: &str = "serving the API";

#[test]
fn test_live_run_when_stderr_piped_then_no_ansi_codes() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), free_port(), "momentum");
    let lines = stderr_until(live_run_command(&config), SERVING);
    assert!(
        lines.iter().any(|l| l.contains("made a token")),
        "{lines:#?}"
    );
    for line in &lines {
        assert!(!line.contains('\u{1b}'), "escape code in {line:?}");
    }
}

#[test]
fn test_live_run_when_log_format_json_then_every_line_parses() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), free_port(), "momentum");
    let mut cmd = live_run_command(&config);
    cmd.args(["--log-format", "json"]);
    let lines = stderr_until(cmd, SERVING);
    let parsed: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    let token_line = parsed
        .iter()
        .find(|v| {
            v["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("made a token"))
        })
        .unwrap_or_else(|| panic!("{parsed:#?}"));
    assert_eq!(token_line["level"], "WARN");
    assert_eq!(token_line["target"], "rustybt::cli::run");
    assert!(token_line["fields"]["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("api-token")));
    assert!(token_line["timestamp"].as_str().is_some());
}

fn crash_day() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/crash_day.jsonl")
}

#[test]
fn test_replay_when_default_then_no_trip_log_lines_and_verbose_shows_them() {
    let mut quiet = cli(&["live", "replay"]);
    quiet.arg(crash_day()).env_remove("RUSTYBT_LOG");
    let out = run(quiet);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("drawdown"),
        "the report names the trips: {stdout}"
    );
    for line in stderr.lines() {
        assert!(
            !line.contains("circuit breaker tripped") && !line.contains("control event"),
            "log line in a replay: {line}"
        );
    }

    let mut verbose = cli(&["live", "replay", "-v"]);
    verbose.arg(crash_day()).env_remove("RUSTYBT_LOG");
    let out = run(verbose);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("circuit breaker tripped"),
        "-v shows the engine's lines: {}",
        text(&out)
    );
}

#[test]
fn test_help_when_any_command_then_usage_and_exit_0() {
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
fn test_run_when_config_invalid_then_exit_1_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[[strategy]]\nname = \"s\"\n[strategy.circuit_breakers]\ndrawdown = { threshold = \"-2\" }\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_rustybt"))
        .args(["live", "run", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("strategy[0].circuit_breakers.drawdown.threshold: -2"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_python_client_example_when_run_against_the_service_then_halts_its_own_strategy() {
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
    let server = crate::support::serve(&engines, TOKEN);
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
                .expect(
                    "python3 (standard library only) not found: run `sudo apt-get install python3`",
                )
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
