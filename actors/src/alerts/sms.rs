//! SMS through Twilio's Messages API: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`
//! with form fields To, From, Body and basic auth; 201 is sent. The base URL is configurable
//! so tests point it at a local server, but only https, or plain http to a loopback host: the
//! account SID and auth token travel in every request.

use super::allowlist::{Allowlist, Refused};
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

/// Whether `api_base` may carry the credentials: the webhook policy's scheme rule (https, or
/// http to loopback), without its host list, which is about where alerts go, not Twilio.
fn check_api_base(api_base: &str) -> Result<(), Refused> {
    let scheme_rule = Allowlist {
        hosts: Vec::new(),
        allow_loopback_http: true,
    };
    match scheme_rule.check_url(api_base) {
        // The host list is empty, so this refusal comes only after the scheme passed.
        Ok(_) | Err(Refused::NotAllowed(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The base URL as an error may show it: without user, password, query or fragment.
fn shown(api_base: &str) -> String {
    match url::Url::parse(api_base) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => api_base.to_string(),
    }
}

impl SmsChannel {
    /// A channel sending from `from` to every number in `to`. Refuses an `api_base` that is
    /// not https, unless its host is loopback (127.0.0.0/8, ::1, localhost): the error names
    /// `alerts.sms.api_base` and the value, and no connection is ever made.
    pub fn new(
        api_base: &str,
        account_sid: String,
        auth_token: AuthToken,
        from: String,
        to: Vec<String>,
    ) -> Result<Self, String> {
        check_api_base(api_base).map_err(|e| {
            let why = match e {
                Refused::PlainHttp(host) => format!(
                    "plain http to {host} would send the Twilio credentials in the clear; use https (http only to a loopback host)"
                ),
                other => other.to_string(),
            };
            format!("alerts.sms.api_base: {:?}: {why}", shown(api_base))
        })?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("alerts.sms: cannot build the HTTP client: {e}"))?;
        Ok(Self {
            api_base: api_base.trim_end_matches('/').to_string(),
            account_sid,
            auth_token,
            from,
            to,
            client,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(api_base: &str) -> Result<SmsChannel, String> {
        SmsChannel::new(
            api_base,
            "AC123".into(),
            AuthToken("twilio-token-SECRET".into()),
            "+15551234567".into(),
            vec!["+15559876543".into()],
        )
    }

    #[test]
    fn test_new_when_api_base_is_plain_http_off_loopback_then_refused_naming_field_and_value() {
        for base in [
            "http://api.twilio.com",
            "http://10.0.0.7:8080/",
            "http://192.168.1.2",
            "http://localhost.evil.example",
        ] {
            let e = channel(base).unwrap_err();
            assert!(e.starts_with("alerts.sms.api_base: "), "{e}");
            assert!(e.contains(base.trim_end_matches('/')), "{e}");
            assert!(e.contains("plain http"), "{e}");
            assert!(!e.contains("SECRET"), "{e}");
        }
    }

    #[test]
    fn test_new_when_api_base_is_not_http_then_refused() {
        for base in ["ftp://api.twilio.com", "api.twilio.com", ""] {
            let e = channel(base).unwrap_err();
            assert!(e.starts_with("alerts.sms.api_base: "), "{base}: {e}");
        }
    }

    #[test]
    fn test_new_when_https_or_loopback_http_then_built() {
        for base in [
            "https://api.twilio.com",
            "https://twilio.internal.example:8443/",
            "http://127.0.0.1:9",
            "http://127.8.9.10:9",
            "http://[::1]:9",
            "http://localhost:9",
            "http://LOCALHOST:9",
        ] {
            assert!(channel(base).is_ok(), "{base}");
        }
    }

    #[test]
    fn test_refusal_when_api_base_has_userinfo_or_query_then_they_are_not_shown() {
        let e = channel("http://AC123:pass-SECRET@api.twilio.com/?k=q-SECRET").unwrap_err();
        assert!(e.contains("api.twilio.com") && !e.contains("SECRET"), "{e}");
    }
}
