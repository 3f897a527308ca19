//! Shared by the tests that run `rustybt live run` as a process: a free loopback port, the
//! process, and waiting until it serves.

#![allow(dead_code)]

use std::path::Path;
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
