//! Builds the alert channels from `[alerts]`, reading secrets only from the environment.

use crate::config::alerts::{AlertsSection, SmtpTls, WebhookFormat};
use crate::config::{ConfigError, Env};
use rustybt_actors::alerts::allowlist::Allowlist;
use rustybt_actors::alerts::email::{EmailChannel, SmtpSecurity, SmtpSettings};
use rustybt_actors::alerts::signing::WebhookSecret;
use rustybt_actors::alerts::sms::{AuthToken, SmsChannel};
use rustybt_actors::alerts::webhook::{BearerToken, WebhookBody, WebhookChannel};
use rustybt_actors::alerts::AlertChannel;
use std::sync::Arc;

/// Twilio's API, unless `api_base` says otherwise.
pub const TWILIO_API: &str = "https://api.twilio.com";

/// Every configured channel. Problems name the field (never a secret's value).
pub fn build_channels(
    alerts: &AlertsSection,
    env: &dyn Env,
) -> Result<Vec<Arc<dyn AlertChannel>>, ConfigError> {
    let mut problems = Vec::new();
    let mut channels: Vec<Arc<dyn AlertChannel>> = Vec::new();

    if let Some(e) = &alerts.email {
        let security = match e.tls.unwrap_or_default() {
            SmtpTls::Starttls => SmtpSecurity::StartTls,
            SmtpTls::Tls => SmtpSecurity::Tls,
            SmtpTls::None => SmtpSecurity::None,
        };
        let port = e.smtp_port.unwrap_or(match security {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        });
        let credentials = match (e.username.clone(), env.var("SMTP_PASSWORD")) {
            (Some(u), Some(p)) => Some((u, p)),
            (Some(_), None) => {
                problems.push(
                    "alerts.email.username is set but SMTP_PASSWORD is not in the environment"
                        .into(),
                );
                None
            }
            _ => None,
        };
        let host = e.smtp_host.clone().unwrap_or_default();
        let extra_root_pem = match &e.ca_file {
            None => None,
            Some(path) => match std::fs::read_to_string(path) {
                Ok(pem) => Some(pem),
                Err(err) => {
                    problems.push(format!(
                        "alerts.email.ca_file: cannot read {}: {err}",
                        path.display()
                    ));
                    None
                }
            },
        };
        let from = e
            .from
            .clone()
            .or_else(|| e.username.clone())
            .unwrap_or_else(|| format!("rustybt@{host}"));
        match EmailChannel::new(SmtpSettings {
            host,
            port,
            security,
            credentials,
            from,
            to: e.to.clone(),
            timeout: std::time::Duration::from_secs(10),
            extra_root_pem,
        }) {
            Ok(c) => channels.push(Arc::new(c)),
            Err(p) => problems.push(p),
        }
    }

    if let Some(s) = &alerts.sms {
        let sid = s.account_sid.clone();
        let token = env.var("TWILIO_AUTH_TOKEN");
        let from = s.from.clone();
        match (sid, token, from) {
            (Some(sid), Some(token), Some(from)) => channels.push(Arc::new(SmsChannel::new(
                s.api_base.as_deref().unwrap_or(TWILIO_API),
                sid,
                AuthToken(token),
                from,
                s.to.clone(),
            ))),
            (sid, token, from) => {
                for (missing, what) in [
                    (
                        sid.is_none(),
                        "alerts.sms.account_sid (or TWILIO_ACCOUNT_SID)",
                    ),
                    (token.is_none(), "TWILIO_AUTH_TOKEN in the environment"),
                    (from.is_none(), "alerts.sms.from (or TWILIO_FROM_NUMBER)"),
                ] {
                    if missing {
                        problems.push(format!("alerts.sms: missing {what}"));
                    }
                }
            }
        }
    }

    let allow = alerts.allowlist.clone().unwrap_or_default();
    let allowlist = Allowlist {
        hosts: allow.hosts,
        allow_loopback_http: allow.allow_loopback_http.unwrap_or(false),
    };
    for (i, w) in alerts.webhook.iter().enumerate() {
        let Some(url) = &w.url else { continue };
        let secret = match &w.secret_env {
            None => None,
            Some(var) => match env.var(var) {
                None => {
                    problems.push(format!(
                        "alerts.webhook[{i}].secret_env: {var} is not set in the environment"
                    ));
                    None
                }
                Some(v) => match WebhookSecret::parse(&v) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        problems.push(format!("alerts.webhook[{i}].secret_env: {var}: {e}"));
                        None
                    }
                },
            },
        };
        let bearer = match &w.bearer_token_env {
            None => None,
            Some(var) => {
                match env.var(var) {
                    None => {
                        problems.push(format!("alerts.webhook[{i}].bearer_token_env: {var} is not set in the environment"));
                        None
                    }
                    Some(v) => Some(BearerToken(v)),
                }
            }
        };
        let body = match w.format.unwrap_or_default() {
            WebhookFormat::Json => WebhookBody::Json,
            WebhookFormat::Slack => WebhookBody::Slack,
        };
        match WebhookChannel::new(url, body, secret, bearer, allowlist.clone()) {
            Ok(c) => channels.push(Arc::new(c)),
            Err(e) => problems.push(format!("alerts.webhook[{i}].url: refused: {e}")),
        }
    }

    if problems.is_empty() {
        Ok(channels)
    } else {
        Err(ConfigError {
            source_name: None,
            problems,
        })
    }
}
