//! Secrets never leak: with every secret set and debug logging on, `rustybt live run` raises
//! alerts through failing channels; its logs, status, metrics and audit trail hold none of them.

use serde_json::json;
use std::io::Read;

use crate::support::service::{free_port, spawn_live_run, wait_healthy};
use std::process::Command;
use std::time::{Duration, Instant};

const API_TOKEN: &str = "api-token-SECRET-1f9c";
const SMTP_PASSWORD: &str = "smtp-password-SECRET-77aa";
const TWILIO_TOKEN: &str = "twilio-token-SECRET-3b2d";
const WEBHOOK_SECRET: &str = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0";
const WEBHOOK_BEARER: &str = "webhook-bearer-SECRET-9e0f";

#[test]
fn test_secrets_absent_from_logs_status_metrics_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let closed = free_port();
    let config = dir.path().join("secure.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[engine]
data_dir = "data"
[server]
bind = "127.0.0.1:{port}"
[[strategy]]
name = "s"
[alerts.email]
smtp_host = "127.0.0.1"
smtp_port = {closed}
tls = "none"
username = "alerts@example.test"
from = "alerts@example.test"
to = ["oncall@example.test"]
[alerts.sms]
to = ["+15559876543"]
from = "+15551234567"
account_sid = "AC123"
api_base = "http://127.0.0.1:{closed}"
[[alerts.webhook]]
url = "http://127.0.0.1:{closed}/hook?token=QUERY-SECRET-55"
secret_env = "HOOK_SECRET"
bearer_token_env = "HOOK_BEARER"
[alerts.allowlist]
allow_loopback_http = true
"#
        ),
    )
    .unwrap();
    let mut child = spawn_live_run(
        &config,
        &[
            ("RUSTYBT_API_TOKEN", API_TOKEN),
            ("SMTP_PASSWORD", SMTP_PASSWORD),
            ("TWILIO_AUTH_TOKEN", TWILIO_TOKEN),
            ("HOOK_SECRET", WEBHOOK_SECRET),
            ("HOOK_BEARER", WEBHOOK_BEARER),
            ("RUSTYBT_LOG", "debug"),
        ],
        true,
    );
    let http = reqwest::blocking::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base);
    // A halt and a wrong-token attempt: alerts go out and fail on every channel.
    let r = http
        .post(format!("{base}/api/v1/strategies/s/halt"))
        .bearer_auth(API_TOKEN)
        .json(&json!({"operator": "sec", "reason": "leak check"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = http
        .post(format!("{base}/api/v1/strategies/s/halt"))
        .bearer_auth("api-token-SECRET-wrong")
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r401 = r.text().unwrap();
    // Wait until every channel has an outcome.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let s: serde_json::Value = http
            .get(format!("{base}/api/v1/strategies/s"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if s["alerts"]["recent"]
            .as_array()
            .map(|a| a.len())
            .unwrap_or(0)
            >= 3
        {
            break s.to_string();
        }
        assert!(Instant::now() < deadline, "alerts did not finish: {s}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let audit = http
        .get(format!("{base}/api/v1/strategies/s/audit"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let mut logs = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(
        logs.contains("alert delivery failed"),
        "the failures were logged:\n{logs}"
    );
    assert!(status.contains("\"failed\""), "{status}");
    for secret in [
        API_TOKEN,
        SMTP_PASSWORD,
        TWILIO_TOKEN,
        "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0",
        WEBHOOK_BEARER,
        "QUERY-SECRET-55",
        "SECRET-wrong",
    ] {
        for (what, text) in [
            ("logs", &logs),
            ("status", &status),
            ("metrics", &metrics),
            ("audit", &audit),
            ("401 body", &r401),
        ] {
            assert!(!text.contains(secret), "{secret} leaked into the {what}");
        }
    }
}

#[test]
fn test_run_when_a_secret_is_written_where_a_variable_name_belongs_then_error_hides_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pasted.toml");
    std::fs::write(
        &config,
        r#"
[[strategy]]
name = "s"
[[alerts.webhook]]
url = "https://hooks.example.com/x"
secret_env = "whsec_hunter2-real-secret"
bearer_token_env = "hunter2-real-bearer"
"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rustybt"))
        .args(["live", "run", "--config"])
        .arg(&config)
        .env_remove("ALERT_WEBHOOK_URL")
        .output()
        .unwrap();
    let err = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{err}");
    for field in ["secret_env", "bearer_token_env"] {
        assert!(
            err.contains(&format!(
                "alerts.webhook[0].{field}: the value is not a valid environment variable name"
            )),
            "{err}"
        );
    }
    assert!(!err.contains("hunter2"), "a pasted secret leaked:\n{err}");
}
