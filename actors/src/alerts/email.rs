//! Email through SMTP (lettre's async transport): STARTTLS, implicit TLS, or plain to a
//! loopback relay only.

use super::channel::{Alert, AlertChannel, DeliveryError};
use futures::future::BoxFuture;
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// STARTTLS upgrade (587).
    StartTls,
    /// Implicit TLS (465).
    Tls,
    /// None: loopback relays only.
    None,
}

/// SMTP settings. The password's Debug is redacted.
#[derive(Clone)]
pub struct SmtpSettings {
    /// Server.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Security.
    pub security: SmtpSecurity,
    /// Login, if the server needs one.
    pub credentials: Option<(String, String)>,
    /// Sender.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Per-attempt timeout.
    pub timeout: std::time::Duration,
    /// An extra trusted root (PEM) for a relay with a private CA; the public roots stay.
    pub extra_root_pem: Option<String>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.credentials.as_ref().map(|c| &c.0))
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}

/// Email alerts.
pub struct EmailChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    host: String,
}

fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// The body: what happened, every figure, and what to do next.
pub fn email_body(alert: &Alert) -> String {
    let mut b = format!(
        "{}\n\nStrategy: {}\nEvent: {}\nBreaker: {}\nState now: {}\nAt: {}\n",
        alert.summary,
        alert.strategy_name,
        alert.event_type.as_str(),
        alert.circuit_breaker_type,
        alert.state.as_str(),
        alert.timestamp.to_rfc3339()
    );
    if !alert.details.is_empty() {
        b.push_str("\nDetails:\n");
        for (k, v) in &alert.details {
            b.push_str(&format!("  {k}: {v}\n"));
        }
    }
    if alert.suppressed_since_last > 0 {
        b.push_str(&format!(
            "\n{} further alerts for this breaker were held back by the rate limit since the last one.\n",
            alert.suppressed_since_last
        ));
    }
    b.push_str(&format!(
        "\nWhat to do next:\n  Inspect:  rustybt live status --strategy {0}\n            GET /api/v1/strategies/{0}  (and /audit for the trail)\n  Reset:    rustybt live reset --strategy {0}   (a request, then a confirmation)\n  Halt:     rustybt live stop --strategy {0} --reason \"...\"\n\nA breaker whose condition still holds trips again at once after a reset.\n",
        alert.strategy_name
    ));
    b
}

impl EmailChannel {
    /// A channel from settings; refuses plain SMTP to anything but loopback.
    pub fn new(s: SmtpSettings) -> Result<Self, String> {
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|e| format!("alerts.email.from: {:?}: {e}", s.from))?;
        let to =
            s.to.iter()
                .map(|t| {
                    t.parse::<Mailbox>()
                        .map_err(|e| format!("alerts.email.to: {t:?}: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
        if to.is_empty() {
            return Err("alerts.email.to: no recipient".into());
        }
        let builder = match s.security {
            SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                .map_err(|e| format!("alerts.email.smtp_host: {:?}: {e}", s.host))?,
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                .map_err(|e| format!("alerts.email.smtp_host: {:?}: {e}", s.host))?,
            SmtpSecurity::None if is_loopback_host(&s.host) => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
            }
            SmtpSecurity::None => {
                return Err(format!(
                    "alerts.email.tls: \"none\" is allowed only to a loopback host, not {:?}",
                    s.host
                ))
            }
        };
        let mut builder = builder.port(s.port).timeout(Some(s.timeout));
        if let Some(pem) = &s.extra_root_pem {
            // The parser takes text without any certificate block as an empty list: refuse it
            // here, or a mistyped CA file would leave the relay's TLS unverifiable at send time.
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(
                    "alerts.email.ca_file: not a PEM certificate (no BEGIN CERTIFICATE block)"
                        .into(),
                );
            }
            let root = Certificate::from_pem(pem.as_bytes())
                .map_err(|e| format!("alerts.email.ca_file: not a PEM certificate: {e}"))?;
            let params = TlsParameters::builder(s.host.clone())
                .add_root_certificate(root)
                .build()
                .map_err(|e| format!("alerts.email: TLS settings: {e}"))?;
            builder = match s.security {
                SmtpSecurity::StartTls => builder.tls(Tls::Required(params)),
                SmtpSecurity::Tls => builder.tls(Tls::Wrapper(params)),
                SmtpSecurity::None => builder,
            };
        }
        if let Some((user, pass)) = s.credentials {
            builder = builder.credentials(Credentials::new(user, pass));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            to,
            host: s.host,
        })
    }

    async fn send(&self, alert: &Alert) -> Result<(), DeliveryError> {
        let mut m = Message::builder()
            .from(self.from.clone())
            .subject(alert.subject());
        for to in &self.to {
            m = m.to(to.clone());
        }
        let msg = m
            .header(ContentType::TEXT_PLAIN)
            .body(email_body(alert))
            .map_err(|e| DeliveryError::Permanent(format!("building the message: {e}")))?;
        self.transport.send(msg).await.map(|_| ()).map_err(|e| {
            let text = format!("SMTP {}: {e}", self.host);
            if e.is_permanent() {
                DeliveryError::Permanent(text)
            } else {
                DeliveryError::Transient(text)
            }
        })
    }
}

impl AlertChannel for EmailChannel {
    fn name(&self) -> String {
        "email".into()
    }

    fn deliver<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.send(alert))
    }
}
