//! Shared by the tests that run `rustybt live run` as a process: a free loopback port, a
//! configuration, the process, and waiting until it serves.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port free on 127.0.0.1 now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `rustybt live run --config CONFIG`, with no API token, no log filter and no configuration
/// inherited from the test's environment; the caller adds what it tests.
pub fn live_run_command(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rustybt"));
    cmd.args(["live", "run", "--config"])
        .arg(config)
        .env_remove("RUSTYBT_API_TOKEN")
        .env_remove("RUSTYBT_LOG")
        .env_remove("RUSTYBT_LOG_FORMAT")
        .stdin(Stdio::null());
    cmd
}

/// Starts `rustybt live run --config CONFIG` with `envs`; output captured when `capture`.
pub fn spawn_live_run(config: &Path, envs: &[(&str, &str)], capture: bool) -> Child {
    let output = || {
        if capture {
            Stdio::piped()
        } else {
            Stdio::null()
        }
    };
    Command::new(env!("CARGO_BIN_EXE_rustybt"))
        .args(["live", "run", "--config"])
        .arg(config)
        .envs(envs.iter().copied())
        .stdout(output())
        .stderr(output())
        .spawn()
        .expect("start rustybt live run")
}

/// Waits (blocking) until `GET {base}/healthz` answers 200, at most 30 s.
pub fn wait_healthy(base: &str) {
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !client
        .get(format!("{base}/healthz"))
        .send()
        .map(|r| r.status().is_success())
        .unwrap_or(false)
    {
        assert!(
            Instant::now() < deadline,
            "the service at {base} did not come up within 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes `DIR/service.toml`: one strategy named `strategy` (moderate profile), served on
/// 127.0.0.1:`port`, its data folder `DIR/data` (relative to the file, as the contract says).
pub fn write_config(dir: &Path, port: u16, strategy: &str) -> PathBuf {
    let config = dir.join("service.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\ndata_dir = \"data\"\n[server]\nbind = \"127.0.0.1:{port}\"\n[[strategy]]\nname = \"{strategy}\"\nprofile = \"moderate\"\n"
        ),
    )
    .unwrap();
    config
}

/// A `live run` process, killed when dropped.
pub struct LiveRun {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl LiveRun {
    /// Spawns `cmd` (from [`live_run_command`]) with output discarded and waits until it is
    /// healthy at `port`.
    pub fn start(mut cmd: Command, port: u16) -> Self {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rustybt live run");
        let run = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        wait_healthy(&run.base);
        run
    }

    /// Kills the process and waits for it to be gone (its sled lock released).
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LiveRun {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Spawns `cmd` with stderr piped and reads its lines until one contains `marker` (at most
/// 30 s), then kills it. Answers every stderr line read, the marker's included.
pub fn stderr_until(mut cmd: Command, marker: &str) -> Vec<String> {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rustybt");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let marker_owned = marker.to_string();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let done = line.contains(&marker_owned);
            lines.push(line);
            if done {
                break;
            }
        }
        let _ = tx.send(lines);
    });
    let lines = rx.recv_timeout(Duration::from_secs(30));
    let _ = child.kill();
    let _ = child.wait();
    let lines = lines.expect("stderr read within 30 s");
    assert!(
        lines.iter().any(|l| l.contains(marker)),
        "{marker:?} never logged: {lines:#?}"
    );
    lines
}
