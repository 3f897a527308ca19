//! SMS through Twilio's Messages API: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`
//! with form fields To, From, Body and basic auth; 201 is sent. The base URL is configurable
//! so tests point it at a local server.

use super::channel::{Alert, AlertChannel, DeliveryError};
use futures::future::BoxFuture;

/// A Twilio auth token. Its Debug never shows it.
#[derive(Clone)]
pub struct AuthToken(pub String);

impl std::fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthToken(<redacted>)")
    }
}

/// Twilio SMS to one or more numbers.
#[derive(Debug)]
pub struct SmsChannel {
    api_base: String,
    account_sid: String,
    auth_token: AuthToken,
    from: String,
    to: Vec<String>,
    client: reqwest::Client,
}

/// The text: one SMS segment (160 GSM-7 characters) where possible.
pub fn sms_text(alert: &Alert) -> String {
    let text = format!(
        "[{}] {}: {}. rustybt live status --strategy {}",
        alert.state.as_str(),
        alert.strategy_name,
        alert.summary,
        alert.strategy_name
    );
    if text.chars().count() <= 160 {
        return text;
    }
    let head = format!("[{}] {}: ", alert.state.as_str(), alert.strategy_name);
    let room = 160usize.saturating_sub(head.chars().count() + 1);
    let summary: String = alert.summary.chars().take(room).collect();
    format!("{head}{summary}…")
}

impl SmsChannel {
    /// A channel sending from `from` to every number in `to`.
    pub fn new(
        api_base: &str,
        account_sid: String,
        auth_token: AuthToken,
        from: String,
        to: Vec<String>,
    ) -> Self {
        Self {
            api_base: api_base.trim_end_matches('/').to_string(),
            account_sid,
            auth_token,
            from,
            to,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
        }
    }

    async fn send(&self, alert: &Alert) -> Result<(), DeliveryError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.api_base, self.account_sid
        );
        let body = sms_text(alert);
        for to in &self.to {
            let resp = self
                .client
                .post(&url)
                .basic_auth(&self.account_sid, Some(&self.auth_token.0))
                .form(&[
                    ("To", to.as_str()),
                    ("From", self.from.as_str()),
                    ("Body", body.as_str()),
                ])
                .send()
                .await
                .map_err(|e| {
                    DeliveryError::Transient(format!("Twilio API: {}", e.without_url()))
                })?;
            let status = resp.status();
            if status.as_u16() != 201 {
                let detail = resp.text().await.unwrap_or_default();
                let detail: String = detail.chars().take(200).collect();
                let err = format!("Twilio API answered {status} for {to}: {detail}");
                return Err(if status.is_server_error() || status.as_u16() == 429 {
                    DeliveryError::Transient(err)
                } else {
                    DeliveryError::Permanent(err)
                });
            }
        }
        Ok(())
    }
}

impl AlertChannel for SmsChannel {
    fn name(&self) -> String {
        "sms".into()
    }

    fn deliver<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.send(alert))
    }
}
