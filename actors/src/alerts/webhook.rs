//! Webhooks: API.md's JSON payload (or a Slack `{"text": ...}` body), signed per Standard
//! Webhooks and/or with a bearer token, sent only where the allow-list permits: the host is
//! resolved first, its addresses checked, and the request pinned to a checked address so a
//! second lookup cannot lead elsewhere. Redirects are never followed.

use super::allowlist::{Allowlist, Refused};
use super::channel::{Alert, AlertChannel, DeliveryError};
use super::signing::WebhookSecret;
use futures::future::BoxFuture;
use std::net::{IpAddr, SocketAddr};

/// The body's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookBody {
    /// API.md's payload.
    Json,
    /// `{"text": ...}` for Slack incoming webhooks.
    Slack,
}

/// A bearer token. Its Debug never shows it.
#[derive(Clone)]
pub struct BearerToken(pub String);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// A webhook destination.
pub struct WebhookChannel {
    url: url::Url,
    host: String,
    body: WebhookBody,
    secret: Option<WebhookSecret>,
    bearer: Option<BearerToken>,
    allowlist: Allowlist,
}

impl std::fmt::Debug for WebhookChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The path and query of a webhook URL are often its secret (Slack): host only.
        f.debug_struct("WebhookChannel")
            .field("host", &self.host)
            .field("body", &self.body)
            .finish()
    }
}

impl WebhookChannel {
    /// A channel to `url`, refused at once if the URL itself breaks the allow-list.
    pub fn new(
        url: &str,
        body: WebhookBody,
        secret: Option<WebhookSecret>,
        bearer: Option<BearerToken>,
        allowlist: Allowlist,
    ) -> Result<Self, Refused> {
        let (url, host) = allowlist.check_url(url)?;
        Ok(Self {
            url,
            host,
            body,
            secret,
            bearer,
            allowlist,
        })
    }

    /// The destination host.
    pub fn host(&self) -> &str {
        &self.host
    }

    fn body_bytes(&self, alert: &Alert) -> Vec<u8> {
        let value = match self.body {
            WebhookBody::Json => alert.payload(),
            WebhookBody::Slack => {
                let mut text = format!("*{}*", alert.subject());
                for (k, v) in &alert.details {
                    text.push_str(&format!("\n• {k}: {v}"));
                }
                if alert.suppressed_since_last > 0 {
                    text.push_str(&format!(
                        "\n({} alerts suppressed by the rate limit since the last one)",
                        alert.suppressed_since_last
                    ));
                }
                serde_json::json!({ "text": text })
            }
        };
        serde_json::to_vec(&value).expect("JSON serialises")
    }

    async fn resolve(&self) -> Result<SocketAddr, DeliveryError> {
        let port = self.url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<IpAddr> = match self.host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => tokio::net::lookup_host((self.host.as_str(), port))
                .await
                .map(|it| it.map(|a| a.ip()).collect())
                .unwrap_or_default(),
        };
        self.allowlist
            .check_addresses(&self.host, &addrs)
            .map_err(|e| DeliveryError::Permanent(format!("refused by the allow-list: {e}")))?;
        Ok(SocketAddr::new(addrs[0], port))
    }

    async fn send(&self, alert: &Alert) -> Result<(), DeliveryError> {
        let pinned = self.resolve().await?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&self.host, pinned)
            .build()
            .map_err(|e| DeliveryError::Permanent(format!("http client: {}", e.without_url())))?;
        let body = self.body_bytes(alert);
        // Receivers check the signing time against their own clock: wall time, not the
        // engine's (which may be simulated).
        let timestamp = chrono::Utc::now().timestamp();
        let mut req = client
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &alert.id)
            .header("webhook-timestamp", timestamp.to_string());
        if let Some(secret) = &self.secret {
            req = req.header(
                "webhook-signature",
                secret.sign(&alert.id, timestamp, &body),
            );
        }
        if let Some(token) = &self.bearer {
            req = req.bearer_auth(&token.0);
        }
        let resp =
            req.body(body).send().await.map_err(|e| {
                DeliveryError::Transient(format!("{}: {}", self.host, e.without_url()))
            })?;
        let status = resp.status();
        match status.as_u16() {
            200..=299 => Ok(()),
            300..=399 => Err(DeliveryError::Permanent(format!(
                "{}: answered {status}; redirects are not followed",
                self.host
            ))),
            408 | 429 | 500..=599 => Err(DeliveryError::Transient(format!(
                "{}: answered {status}",
                self.host
            ))),
            _ => Err(DeliveryError::Permanent(format!(
                "{}: answered {status}",
                self.host
            ))),
        }
    }
}

impl AlertChannel for WebhookChannel {
    fn name(&self) -> String {
        format!("webhook:{}", self.host)
    }

    fn deliver<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.send(alert))
    }
}
