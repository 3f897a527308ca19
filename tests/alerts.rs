//! Alerts against real servers on 127.0.0.1: an SMTP server (aiosmtpd), a webhook receiver
//! that checks signatures with the independent `standardwebhooks` package, and a stand-in for
//! Twilio's API. Failure cases go through a real engine.

use chrono::Duration;
use rust_decimal_macros::dec;
use rustybt::engine::{Engine, EngineBuilder};
use rustybt::{
    BreakerKind, Clock, OrderRequest, PortfolioSnapshot, Side, StrategySettings, TestClock,
};
use rustybt_actors::alerts::allowlist::Allowlist;
use rustybt_actors::alerts::email::{EmailChannel, SmtpSecurity, SmtpSettings};
use rustybt_actors::alerts::signing::WebhookSecret;
use rustybt_actors::alerts::sms::{AuthToken, SmsChannel};
use rustybt_actors::alerts::webhook::{BearerToken, WebhookBody, WebhookChannel};
use rustybt_actors::alerts::{AlertChannel, DeliveryStatus};
use rustybt_actors::settings::AlertSettings;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const BEARER: &str = "bearer-should-never-be-logged";
const TWILIO_TOKEN: &str = "twilio-token-should-never-be-logged";
const SMTP_PASSWORD: &str = "smtp-password-should-never-be-logged";

struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python(script: &str, extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port_file = dir.path().join("port");
    let log = dir.path().join("log");
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(script);
    // The test venv's python3, with aiosmtpd and standardwebhooks (made on first use).
    let python3 = crate::support::tools::python3();
    let mut cmd = Command::new(&python3);
    cmd.arg(&script).arg(&port_file);
    if script.ends_with("smtp_server.py") {
        cmd.arg(dir.path().join("maildir"));
    } else {
        cmd.arg(&log);
    }
    let child = cmd
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", python3.display()));
    let deadline = Instant::now() + std::time::Duration::from_secs(20);
    let port = loop {
        if let Ok(p) = std::fs::read_to_string(&port_file) {
            break p.trim().parse().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "{} did not start with {}",
            script.display(),
            python3.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(30));
    };
    Server {
        child,
        port,
        log,
        _dir: dir,
    }
}

impl Server {
    fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn mails(&self) -> Vec<String> {
        let new = self._dir.path().join("maildir/new");
        let mut out: Vec<String> = std::fs::read_dir(new)
            .map(|d| {
                d.flatten()
                    .map(|e| std::fs::read_to_string(e.path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

fn loopback_allowlist() -> Allowlist {
    Allowlist {
        hosts: vec![],
        allow_loopback_http: true,
    }
}

fn webhook(port: u16, path: &str) -> Arc<dyn AlertChannel> {
    Arc::new(
        WebhookChannel::new(
            &format!("http://127.0.0.1:{port}{path}"),
            WebhookBody::Json,
            Some(WebhookSecret::parse(SECRET).unwrap()),
            Some(BearerToken(BEARER.into())),
            loopback_allowlist(),
        )
        .unwrap(),
    )
}

fn email(port: u16) -> Arc<dyn AlertChannel> {
    Arc::new(
        EmailChannel::new(SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security: SmtpSecurity::None,
            credentials: None,
            from: "rustybt@example.test".into(),
            to: vec!["oncall@example.test".into()],
            timeout: std::time::Duration::from_secs(5),
            extra_root_pem: None,
        })
        .unwrap(),
    )
}

fn engine(
    dir: &Path,
    channels: Vec<Arc<dyn AlertChannel>>,
    attempt_timeout_ms: u64,
) -> (Engine, Arc<TestClock>) {
    let clock = TestClock::new("2026-03-09T14:00:00Z".parse().unwrap());
    let mut s = StrategySettings::moderate("momentum");
    s.tick_interval = None;
    s.breakers.daily_loss = None;
    s.breakers.stale_feed = None;
    s.alerts = AlertSettings {
        attempt_timeout: std::time::Duration::from_millis(attempt_timeout_ms),
        max_attempts: 3,
        retry_backoff: std::time::Duration::from_millis(50),
        ..AlertSettings::default()
    };
    let e = EngineBuilder::new(s)
        .clock(clock.clone())
        .data_dir(dir)
        .alert_channels(channels)
        .start()
        .unwrap();
    (e, clock)
}

async fn trip_drawdown(e: &Engine, clock: &TestClock) {
    clock.advance(Duration::seconds(1));
    e.submit_snapshot(PortfolioSnapshot::valued(clock.now(), dec!(100000)))
        .await
        .unwrap();
    clock.advance(Duration::seconds(1));
    e.submit_snapshot(PortfolioSnapshot::valued(clock.now(), dec!(89580)))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_trip_reaches_email_sms_and_signed_webhook() {
    let smtp = python("smtp_server.py", &[]);
    let hook = python("webhook_receiver.py", &[SECRET, "ok"]);
    let twilio = python("twilio_stub.py", &["AC123", TWILIO_TOKEN]);
    let sms: Arc<dyn AlertChannel> = Arc::new(
        SmsChannel::new(
            &format!("http://127.0.0.1:{}", twilio.port),
            "AC123".into(),
            AuthToken(TWILIO_TOKEN.into()),
            "+15551234567".into(),
            vec!["+15559876543".into()],
        )
        .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let (e, clock) = engine(
        dir.path(),
        vec![
            email(smtp.port),
            sms,
            webhook(hook.port, "/hook?token=query-secret"),
        ],
        5000,
    );
    trip_drawdown(&e, &clock).await;
    e.alerts_idle().await;

    // Email: headers and body.
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "one email");
    let m = &mails[0];
    assert!(
        m.contains("Subject: [TRIPPED] momentum: drawdown -10.42% <= -10%"),
        "{m}"
    );
    assert!(
        m.contains("From: rustybt@example.test") && m.contains("To: oncall@example.test"),
        "{m}"
    );
    assert!(
        m.contains("high_water_mark: 100000") && m.contains("portfolio_value: 89580"),
        "{m}"
    );
    assert!(m.contains("rustybt live reset --strategy momentum"), "{m}");

    // SMS: form fields and basic auth checked by the stand-in.
    let texts = twilio.records();
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0]["path_ok"], true);
    assert_eq!(texts[0]["auth_ok"], true);
    assert_eq!(texts[0]["form"]["To"], "+15559876543");
    assert_eq!(texts[0]["form"]["From"], "+15551234567");
    let body = texts[0]["form"]["Body"].as_str().unwrap();
    assert!(
        body.starts_with("[TRIPPED] momentum:") && body.chars().count() <= 160,
        "{body}"
    );

    // Webhook: API.md's payload, verified by standardwebhooks, with the bearer token.
    let hooks = hook.records();
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        hooks[0]["verified"], true,
        "standardwebhooks verified the signature"
    );
    assert_eq!(hooks[0]["authorization"], format!("Bearer {BEARER}"));
    let payload: Value = serde_json::from_str(hooks[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(payload["event_type"], "circuit_breaker_tripped");
    assert_eq!(payload["strategy_name"], "momentum");
    assert_eq!(payload["circuit_breaker_type"], "drawdown");
    assert_eq!(payload["details"]["drawdown"], "-0.1042");
    assert_eq!(payload["details"]["threshold"], "-0.10");
    assert_eq!(payload["details"]["high_water_mark"], "100000");

    let log = e.delivery_log(10).await.unwrap();
    let mut channels: Vec<_> = log.iter().map(|r| (r.channel.clone(), r.status)).collect();
    channels.sort();
    assert_eq!(
        channels,
        [
            ("email".to_string(), DeliveryStatus::Sent),
            ("sms".to_string(), DeliveryStatus::Sent),
            ("webhook:127.0.0.1".to_string(), DeliveryStatus::Sent)
        ]
    );

    // Secrets appear nowhere: delivery log, status, audit.
    let status = serde_json::to_string(&e.status().await.unwrap()).unwrap();
    let audit = serde_json::to_string(&e.audit().await.unwrap()).unwrap();
    let deliveries = serde_json::to_string(&log).unwrap();
    for secret in [
        BEARER,
        TWILIO_TOKEN,
        SMTP_PASSWORD,
        "C2FVsBQIhrscChlQIMV",
        "query-secret",
    ] {
        for (what, text) in [
            ("status", &status),
            ("audit", &audit),
            ("delivery log", &deliveries),
        ] {
            assert!(!text.contains(secret), "{secret} leaked into the {what}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_receiver_rejects_a_tampered_body() {
    let hook = python("webhook_receiver.py", &[SECRET, "ok"]);
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let ts = chrono::Utc::now().timestamp();
    let signed = br#"{"event_type":"manual_halt"}"#;
    let sig = secret.sign("msg_1", ts, signed);
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/hook", hook.port))
        .header("webhook-id", "msg_1")
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", sig)
        .body(r#"{"event_type":"reset_confirmed"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(hook.records()[0]["verified"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_smtp_down_and_webhook_500_then_200() {
    let hook = python("webhook_receiver.py", &[SECRET, "fail-first"]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let (e, clock) = engine(
        dir.path(),
        vec![email(closed), webhook(hook.port, "/hook")],
        2000,
    );
    trip_drawdown(&e, &clock).await;
    e.alerts_idle().await;
    let log = e.delivery_log(10).await.unwrap();
    let mail = log.iter().find(|r| r.channel == "email").unwrap();
    assert_eq!(mail.status, DeliveryStatus::Failed);
    assert_eq!(mail.attempts, 3);
    assert!(
        mail.error.as_deref().unwrap().contains("SMTP 127.0.0.1"),
        "{:?}",
        mail.error
    );
    let hook_rec = log
        .iter()
        .find(|r| r.channel.starts_with("webhook"))
        .unwrap();
    assert_eq!(hook_rec.status, DeliveryStatus::Sent, "{hook_rec:?}");
    assert_eq!(hook_rec.attempts, 2, "500, then 200");
    assert_eq!(hook.records().len(), 2);
    let status = e.status().await.unwrap();
    assert_eq!(status.alerts.counts["email"]["failed"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_webhook_that_never_answers_times_out_and_delays_nothing_else() {
    let hanging = python("webhook_receiver.py", &[SECRET, "hang"]);
    let good = python("webhook_receiver.py", &[SECRET, "ok"]);
    let dir = tempfile::tempdir().unwrap();
    let (e, clock) = engine(
        dir.path(),
        vec![webhook(hanging.port, "/slow"), webhook(good.port, "/fast")],
        300,
    );
    trip_drawdown(&e, &clock).await;
    // While the hanging webhook is being retried, the gate answers at once and correctly.
    let d = e
        .check_order(OrderRequest::market("o", "SPY", Side::Buy, dec!(1)))
        .unwrap();
    assert!(!d.is_accepted(), "TRIPPED refuses the order");
    e.alerts_idle().await;
    assert_eq!(good.records().len(), 1, "the other webhook was delivered");
    let log = e.delivery_log(10).await.unwrap();
    let slow = log
        .iter()
        .find(|r| r.status == DeliveryStatus::Failed)
        .expect("the hanging one failed");
    assert_eq!(slow.attempts, 3);
    assert!(
        slow.error.as_deref().unwrap().contains("timed out"),
        "{:?}",
        slow.error
    );
    assert_eq!(
        log.iter()
            .filter(|r| r.status == DeliveryStatus::Sent)
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_eleven_trips_in_an_hour_send_ten_then_report_the_suppressed() {
    let hook = python("webhook_receiver.py", &[SECRET, "ok"]);
    let dir = tempfile::tempdir().unwrap();
    let (e, clock) = engine(dir.path(), vec![webhook(hook.port, "/hook")], 2000);
    clock.advance(Duration::seconds(1));
    e.submit_snapshot(PortfolioSnapshot::valued(clock.now(), dec!(100000)))
        .await
        .unwrap();
    // The order-rate breaker trips and clears by itself: eleven times in 22 minutes.
    for round in 0..11 {
        for i in 0..101 {
            e.check_order(OrderRequest::market(
                format!("r{round}-{i}"),
                "SPY",
                Side::Buy,
                dec!(1),
            ))
            .unwrap();
        }
        clock.advance(Duration::seconds(120));
        e.submit_snapshot(PortfolioSnapshot::valued(clock.now(), dec!(100000)))
            .await
            .unwrap();
        e.tick().await;
        assert_eq!(
            e.status().await.unwrap().state,
            rustybt::EngineState::Normal,
            "round {round} cleared"
        );
    }
    e.alerts_idle().await;
    assert_eq!(hook.records().len(), 10, "ten alerts, then the limit");
    let log = e.delivery_log(20).await.unwrap();
    assert_eq!(
        log.iter()
            .filter(|r| r.status == DeliveryStatus::Suppressed)
            .count(),
        1
    );
    // An hour after the first, the next alert goes out carrying the suppressed count.
    clock.advance(Duration::minutes(40));
    for i in 0..101 {
        e.check_order(OrderRequest::market(
            format!("late-{i}"),
            "SPY",
            Side::Buy,
            dec!(1),
        ))
        .unwrap();
    }
    e.alerts_idle().await;
    let records = hook.records();
    assert_eq!(records.len(), 11);
    let last: Value = serde_json::from_str(records[10]["body"].as_str().unwrap()).unwrap();
    assert_eq!(last["suppressed_alerts"], 1, "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_refused_destinations_make_no_request() {
    // A host outside the allow-list is refused when the channel is built.
    let strict = Allowlist {
        hosts: vec!["hooks.slack.com".into()],
        allow_loopback_http: false,
    };
    let e = WebhookChannel::new(
        "https://evil.example/x?token=s3cret",
        WebhookBody::Json,
        None,
        None,
        strict.clone(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("evil.example") && !e.to_string().contains("s3cret"),
        "{e}"
    );
    assert!(
        WebhookChannel::new(
            "http://hooks.slack.com/x",
            WebhookBody::Json,
            None,
            None,
            strict
        )
        .is_err(),
        "https required"
    );

    // A name that is allow-listed but resolves to an internal address is refused at delivery,
    // before any connection: a listener on that port sees nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let by_name = Allowlist {
        hosts: vec!["localhost".into()],
        allow_loopback_http: false,
    };
    let ch: Arc<dyn AlertChannel> = Arc::new(
        WebhookChannel::new(
            &format!("https://localhost:{port}/x"),
            WebhookBody::Json,
            None,
            None,
            by_name,
        )
        .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let (eng, clock) = engine(dir.path(), vec![ch], 1000);
    trip_drawdown(&eng, &clock).await;
    eng.alerts_idle().await;
    let rec = &eng.delivery_log(5).await.unwrap()[0];
    assert_eq!(rec.status, DeliveryStatus::Failed);
    assert_eq!(rec.attempts, 1, "a refusal is not retried");
    assert!(
        rec.error
            .as_deref()
            .unwrap()
            .contains("loopback address; refused"),
        "{:?}",
        rec.error
    );
    assert!(listener.accept().is_err(), "no connection was made");
    // The metadata address itself is classified as link-local.
    assert_eq!(
        rustybt_actors::alerts::allowlist::internal_kind("169.254.169.254".parse().unwrap()),
        Some("link-local (cloud metadata)")
    );
}

#[test]
fn test_alerts_test_command_reports_each_channel() {
    let hook = python("webhook_receiver.py", &[SECRET, "ok"]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("alerts.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[[strategy]]
name = "momentum"
[alerts.email]
smtp_host = "127.0.0.1"
smtp_port = {closed}
tls = "none"
from = "rustybt@example.test"
to = ["oncall@example.test"]
[[alerts.webhook]]
url = "http://127.0.0.1:{}/hook"
secret_env = "TEST_WEBHOOK_SECRET"
[alerts.allowlist]
allow_loopback_http = true
"#,
            hook.port
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rustybt"))
        .args(["alerts", "test", "--timeout", "5", "--config"])
        .arg(&cfg)
        .env("TEST_WEBHOOK_SECRET", SECRET)
        .env_remove("SMTP_HOST")
        .env_remove("ALERT_WEBHOOK_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "a failed channel makes the exit code non-zero"
    );
    assert!(stdout.contains("webhook:127.0.0.1: delivered"), "{stdout}");
    assert!(
        stdout.contains("email: FAILED — SMTP 127.0.0.1"),
        "{stdout}"
    );
    assert_eq!(hook.records()[0]["verified"], true);
    let payload: Value = serde_json::from_str(hook.records()[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(payload["event_type"], "test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_email_over_starttls_with_a_private_ca() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let pems = tempfile::tempdir().unwrap();
    let (cert, key) = (pems.path().join("leaf.pem"), pems.path().join("leaf.key"));
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    let smtp = python(
        "smtp_server.py",
        &[cert.to_str().unwrap(), key.to_str().unwrap()],
    );
    let channel = |root: Option<String>| {
        EmailChannel::new(SmtpSettings {
            host: "localhost".into(),
            port: smtp.port,
            security: SmtpSecurity::StartTls,
            credentials: None,
            from: "rustybt@example.test".into(),
            to: vec!["oncall@example.test".into()],
            timeout: std::time::Duration::from_secs(5),
            extra_root_pem: root,
        })
        .unwrap()
    };
    let alert = rustybt_actors::alerts::Alert {
        id: "msg_tls".into(),
        event_type: rustybt_actors::alerts::AlertEventType::Test,
        strategy_name: "momentum".into(),
        circuit_breaker_type: BreakerKind::Manual,
        details: Default::default(),
        timestamp: chrono::Utc::now(),
        summary: "starttls check".into(),
        state: rustybt::EngineState::Normal,
        suppressed_since_last: 0,
    };
    // Without the private root the server's certificate is refused: nothing is sent in clear.
    let e = channel(None).deliver(&alert).await.unwrap_err();
    assert!(e.to_string().contains("SMTP localhost"), "{e}");
    assert!(smtp.mails().is_empty());
    channel(Some(ca.pem())).deliver(&alert).await.unwrap();
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("Subject: [NORMAL] momentum: starttls check"),
        "{}",
        mails[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_alerts_still_delivered_after_the_dispatcher_panics() {
    let hook = python("webhook_receiver.py", &[SECRET, "ok"]);
    let dir = tempfile::tempdir().unwrap();
    let (e, clock) = engine(dir.path(), vec![webhook(hook.port, "/hook")], 2000);
    e.inject_panic("alert_dispatcher").await;
    trip_drawdown(&e, &clock).await;
    e.alerts_idle().await;
    assert_eq!(
        hook.records().len(),
        1,
        "the restarted dispatcher delivered the trip alert"
    );
    assert_eq!(hook.records()[0]["verified"], true);
}
