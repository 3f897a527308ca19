//! The alert channels (webhook, SMS, email) against real HTTP and SMTP servers on 127.0.0.1:
//! what each sends, and how each answer maps onto a transient or permanent delivery error.

mod support;

use rustybt_actors::alerts::allowlist::Allowlist;
use rustybt_actors::alerts::email::{email_body, EmailChannel, SmtpSecurity, SmtpSettings};
use rustybt_actors::alerts::signing::WebhookSecret;
use rustybt_actors::alerts::sms::{sms_text, AuthToken, SmsChannel};
use rustybt_actors::alerts::webhook::{BearerToken, WebhookBody, WebhookChannel};
use rustybt_actors::alerts::{Alert, AlertChannel, AlertEventType, DeliveryError};
use rustybt_actors::breaker::BreakerKind;
use rustybt_actors::state_machine::EngineState;
use std::collections::BTreeMap;
use support::{HttpServer, SmtpServer};

fn alert(summary: &str, suppressed: u64) -> Alert {
    let mut details = BTreeMap::new();
    details.insert("reason".to_string(), "operator test".to_string());
    Alert {
        id: "msg_1".into(),
        event_type: AlertEventType::ManualHalt,
        strategy_name: "alpha".into(),
        circuit_breaker_type: BreakerKind::Manual,
        details,
        timestamp: chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .expect("a valid time")
            .with_timezone(&chrono::Utc),
        summary: summary.into(),
        state: EngineState::ManuallyHalted,
        suppressed_since_last: suppressed,
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}

fn loopback_list() -> Allowlist {
    Allowlist {
        hosts: Vec::new(),
        allow_loopback_http: true,
    }
}

fn webhook(url: &str, body: WebhookBody) -> WebhookChannel {
    WebhookChannel::new(url, body, None, None, loopback_list()).expect("allowed")
}

#[test]
fn test_webhook_when_json_signed_with_bearer_then_receiver_gets_payload_signature_and_token() {
    let server = HttpServer::start(vec![200]);
    let secret = WebhookSecret::parse("whsec_c2VjcmV0LWtleQ==").expect("valid secret");
    let ch = WebhookChannel::new(
        &format!("{}/hook?token=abc", server.url()),
        WebhookBody::Json,
        Some(secret.clone()),
        Some(BearerToken("bearer-SECRET".into())),
        loopback_list(),
    )
    .expect("allowed");
    assert_eq!(ch.name(), "webhook:127.0.0.1");
    assert_eq!(ch.host(), "127.0.0.1");
    let shown = format!("{ch:?}");
    assert!(
        !shown.contains("token=abc") && !shown.contains("/hook"),
        "{shown}"
    );

    let a = alert("halted by the operator", 0);
    assert_eq!(block_on(ch.deliver(&a)), Ok(()));

    let req = server.requests().remove(0);
    assert!(
        req.head.starts_with("POST /hook?token=abc "),
        "{}",
        req.head
    );
    assert_eq!(req.header("webhook-id").as_deref(), Some("msg_1"));
    assert_eq!(
        req.header("authorization").as_deref(),
        Some("Bearer bearer-SECRET")
    );
    let ts: i64 = req
        .header("webhook-timestamp")
        .expect("a timestamp")
        .parse()
        .expect("an integer");
    assert_eq!(
        req.header("webhook-signature"),
        Some(secret.sign("msg_1", ts, &req.body))
    );
    let json: serde_json::Value = serde_json::from_slice(&req.body).expect("JSON body");
    assert_eq!(json, a.payload());
    assert_eq!(json["event_type"], "manual_halt");
    assert_eq!(json["strategy_name"], "alpha");
}

#[test]
fn test_webhook_when_slack_body_then_text_carries_subject_details_and_suppressed_count() {
    let server = HttpServer::start(vec![204]);
    let ch = webhook(&server.url(), WebhookBody::Slack);
    let a = alert("halted", 3);
    assert_eq!(block_on(ch.deliver(&a)), Ok(()));
    let req = server.requests().remove(0);
    assert_eq!(req.header("webhook-signature"), None);
    assert_eq!(req.header("authorization"), None);
    let json: serde_json::Value = serde_json::from_slice(&req.body).expect("JSON body");
    let text = json["text"].as_str().expect("a text field");
    assert!(text.starts_with(&format!("*{}*", a.subject())), "{text}");
    assert!(text.contains("• reason: operator test"), "{text}");
    assert!(text.contains("3 alerts suppressed"), "{text}");
}

#[test]
fn test_webhook_when_receiver_answers_error_status_then_mapped_to_transient_or_permanent() {
    let cases = [
        (302, false),
        (404, false),
        (408, true),
        (429, true),
        (500, true),
        (503, true),
    ];
    let server = HttpServer::start(cases.iter().map(|c| c.0).collect());
    let ch = webhook(&server.url(), WebhookBody::Json);
    for (status, transient) in cases {
        let got = block_on(ch.deliver(&alert("x", 0))).expect_err("an error status");
        match (&got, transient) {
            (DeliveryError::Transient(t), true) | (DeliveryError::Permanent(t), false) => {
                assert!(t.contains(&status.to_string()), "{status}: {t}");
                assert!(t.contains("127.0.0.1"), "{status}: {t}");
            }
            _ => panic!("{status}: wrong kind {got:?}"),
        }
    }
    assert_eq!(server.requests().len(), cases.len());
}

#[test]
fn test_webhook_when_nobody_listens_then_transient() {
    let url = support::closed_port_url();
    let got = block_on(webhook(&url, WebhookBody::Json).deliver(&alert("x", 0)));
    assert!(matches!(got, Err(DeliveryError::Transient(_))), "{got:?}");
}

#[test]
fn test_webhook_when_name_resolves_to_loopback_not_allowed_then_permanent_without_request() {
    // https to `localhost` passes the URL check by host name, but the address it resolves to
    // is loopback, which this allow-list does not let through.
    let list = Allowlist {
        hosts: vec!["localhost".into()],
        allow_loopback_http: false,
    };
    let ch = WebhookChannel::new("https://localhost:9/h", WebhookBody::Json, None, None, list)
        .expect("the URL itself is allowed");
    match block_on(ch.deliver(&alert("x", 0))) {
        Err(DeliveryError::Permanent(t)) => assert!(t.contains("allow-list"), "{t}"),
        other => panic!("expected a permanent refusal, got {other:?}"),
    }
}

#[test]
fn test_webhook_new_when_url_refused_then_error() {
    for url in ["http://example.com/h", "ftp://127.0.0.1/", "not a url"] {
        assert!(
            WebhookChannel::new(url, WebhookBody::Json, None, None, loopback_list()).is_err(),
            "{url}"
        );
    }
    let token = format!("{:?}", BearerToken("tok-SECRET".into()));
    assert!(!token.contains("SECRET"), "{token}");
}

fn sms(base: &str, to: &[&str]) -> SmsChannel {
    SmsChannel::new(
        base,
        "AC123".into(),
        AuthToken("token-SECRET".into()),
        "+15550001111".into(),
        to.iter().map(|s| s.to_string()).collect(),
    )
    .expect("loopback http is allowed")
}

#[test]
fn test_sms_when_twilio_accepts_then_one_form_post_per_recipient_with_basic_auth() {
    let server = HttpServer::start(vec![201, 201]);
    let ch = sms(
        &format!("{}/", server.url()),
        &["+15550002222", "+15550003333"],
    );
    assert_eq!(ch.name(), "sms");
    assert!(!format!("{ch:?}").contains("SECRET"));
    let a = alert("halted by the operator", 0);
    assert_eq!(block_on(ch.deliver(&a)), Ok(()));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    // Basic base64("AC123:token-SECRET").
    let auth = "Basic QUMxMjM6dG9rZW4tU0VDUkVU";
    for (req, to) in reqs.iter().zip(["%2B15550002222", "%2B15550003333"]) {
        assert!(
            req.head
                .starts_with("POST /2010-04-01/Accounts/AC123/Messages.json "),
            "{}",
            req.head
        );
        assert_eq!(req.header("authorization").as_deref(), Some(auth));
        let body = String::from_utf8(req.body.clone()).expect("form text");
        assert!(body.contains(&format!("To={to}")), "{body}");
        assert!(body.contains("From=%2B15550001111"), "{body}");
        assert!(body.contains("Body="), "{body}");
    }
}

#[test]
fn test_sms_when_twilio_refuses_then_permanent_for_4xx_transient_for_5xx_and_429() {
    let server = HttpServer::start(vec![400, 429, 500]);
    let ch = sms(&server.url(), &["+15550002222"]);
    let expect = [false, true, true];
    for (status, transient) in [400, 429, 500].into_iter().zip(expect) {
        let got = block_on(ch.deliver(&alert("x", 0))).expect_err("a refusal");
        match (&got, transient) {
            (DeliveryError::Transient(t), true) | (DeliveryError::Permanent(t), false) => {
                assert!(t.contains(&status.to_string()), "{t}");
                assert!(t.contains("+15550002222"), "{t}");
                // The server's body is quoted back, trimmed.
                assert!(t.contains("status body"), "{t}");
            }
            _ => panic!("{status}: wrong kind {got:?}"),
        }
    }
}

#[test]
fn test_sms_when_nobody_listens_then_transient() {
    let got = block_on(sms(&support::closed_port_url(), &["+1555"]).deliver(&alert("x", 0)));
    assert!(matches!(got, Err(DeliveryError::Transient(_))), "{got:?}");
}

#[test]
fn test_sms_text_when_summary_long_then_one_segment_ending_in_ellipsis() {
    let short = sms_text(&alert("halted", 0));
    assert_eq!(
        short,
        "[MANUALLY_HALTED] alpha: halted. rustybt live status --strategy alpha"
    );
    let long = sms_text(&alert(&"é".repeat(300), 0));
    assert_eq!(long.chars().count(), 160);
    assert!(long.starts_with("[MANUALLY_HALTED] alpha: é"), "{long}");
    assert!(long.ends_with('…'), "{long}");
}

fn smtp_settings(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: SmtpSecurity::None,
        credentials: None,
        from: "rustybt <alerts@example.com>".into(),
        to: vec!["ops@example.com".into(), "risk@example.com".into()],
        timeout: std::time::Duration::from_secs(30),
        extra_root_pem: None,
    }
}

#[test]
fn test_email_when_relay_accepts_then_message_carries_subject_body_and_every_recipient() {
    let server = SmtpServer::start(&[]);
    let ch = EmailChannel::new(smtp_settings(server.port)).expect("loopback relay");
    assert_eq!(ch.name(), "email");
    let a = alert("halted by the operator", 2);
    assert_eq!(block_on(ch.deliver(&a)), Ok(()));
    let session = server.session();
    assert!(
        session.contains("MAIL FROM:<alerts@example.com>"),
        "{session}"
    );
    assert!(session.contains("RCPT TO:<ops@example.com>"), "{session}");
    assert!(session.contains("RCPT TO:<risk@example.com>"), "{session}");
    assert!(
        session.contains("Subject: [MANUALLY_HALTED] alpha: halted by the operator"),
        "{session}"
    );
    assert!(session.contains("Strategy: alpha"), "{session}");
}

#[test]
fn test_email_when_relay_rejects_recipient_then_permanent_for_5xx_transient_for_4xx() {
    for (code, transient) in [("550", false), ("451", true)] {
        let server = SmtpServer::start(&[("RCPT", code)]);
        let ch = EmailChannel::new(smtp_settings(server.port)).expect("loopback relay");
        let got = block_on(ch.deliver(&alert("x", 0))).expect_err("a rejection");
        match (&got, transient) {
            (DeliveryError::Transient(t), true) | (DeliveryError::Permanent(t), false) => {
                assert!(t.starts_with("SMTP 127.0.0.1"), "{t}")
            }
            _ => panic!("{code}: wrong kind {got:?}"),
        }
    }
}

#[test]
fn test_email_body_when_details_and_suppressed_then_all_listed_with_next_steps() {
    let body = email_body(&alert("halted by the operator", 4));
    assert!(body.starts_with("halted by the operator\n"), "{body}");
    assert!(body.contains("Strategy: alpha"), "{body}");
    assert!(body.contains("Event: manual_halt"), "{body}");
    assert!(body.contains("State now: MANUALLY_HALTED"), "{body}");
    assert!(body.contains("  reason: operator test"), "{body}");
    assert!(body.contains("4 further alerts"), "{body}");
    let plain = email_body(&Alert {
        details: BTreeMap::new(),
        ..alert("x", 0)
    });
    assert!(!plain.contains("Details:") && !plain.contains("further alerts"));
}

#[test]
fn test_email_new_when_settings_invalid_then_error_names_the_field() {
    let cases: Vec<(SmtpSettings, &str)> = vec![
        (
            SmtpSettings {
                from: "not an address".into(),
                ..smtp_settings(25)
            },
            "alerts.email.from",
        ),
        (
            SmtpSettings {
                to: vec!["nope".into()],
                ..smtp_settings(25)
            },
            "alerts.email.to",
        ),
        (
            SmtpSettings {
                to: Vec::new(),
                ..smtp_settings(25)
            },
            "alerts.email.to: no recipient",
        ),
        (
            SmtpSettings {
                host: "smtp.example.com".into(),
                ..smtp_settings(25)
            },
            "alerts.email.tls",
        ),
        (
            SmtpSettings {
                security: SmtpSecurity::StartTls,
                extra_root_pem: Some("not a pem".into()),
                ..smtp_settings(587)
            },
            "alerts.email.ca_file",
        ),
    ];
    for (settings, field) in cases {
        match EmailChannel::new(settings) {
            Err(e) => assert!(e.starts_with(field), "{field}: {e}"),
            Ok(_) => panic!("{field}: accepted"),
        }
    }
}

#[test]
fn test_email_new_when_tls_modes_then_built_and_password_never_shown() {
    for security in [SmtpSecurity::StartTls, SmtpSecurity::Tls] {
        let s = SmtpSettings {
            host: "smtp.example.com".into(),
            security,
            credentials: Some(("user".into(), "pass-SECRET".into())),
            ..smtp_settings(465)
        };
        let shown = format!("{s:?}");
        assert!(
            shown.contains("user") && !shown.contains("SECRET"),
            "{shown}"
        );
        assert!(EmailChannel::new(s).is_ok(), "{security:?}");
    }
    let localhost = SmtpSettings {
        host: "localhost".into(),
        ..smtp_settings(25)
    };
    assert!(EmailChannel::new(localhost).is_ok());
}
