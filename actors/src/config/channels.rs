//! Builds the alert channels from `[alerts]`, reading secrets only from the environment.

use crate::alerts::allowlist::Allowlist;
use crate::alerts::email::{EmailChannel, SmtpSecurity, SmtpSettings};
use crate::alerts::signing::WebhookSecret;
use crate::alerts::sms::{AuthToken, SmsChannel};
use crate::alerts::webhook::{BearerToken, WebhookBody, WebhookChannel};
use crate::alerts::AlertChannel;
use crate::config::alerts::{
    env_name_problem, is_conventional_env_name, AlertsSection, EmailSection, SmsSection, SmtpTls,
    WebhookFormat,
};
use crate::config::{ConfigError, Env};
use std::sync::Arc;

/// Twilio's API, unless `api_base` says otherwise.
pub const TWILIO_API: &str = "https://api.twilio.com";

/// The value of the variable that `field` names. A value that cannot be a variable's name
/// may be the secret itself, written there by mistake: the problem then never shows it.
fn env_secret(field: &str, var: &str, env: &dyn Env) -> Result<String, String> {
    if let Some(p) = env_name_problem(field, var) {
        return Err(p);
    }
    env.var(var).ok_or_else(|| {
        if is_conventional_env_name(var) {
            format!("{field}: {var} is not set in the environment")
        } else {
            // A valid name all the same, but secrets can look like one too.
            format!("{field}: the variable it names is not set in the environment")
        }
    })
}

/// Every configured channel. Problems name the field (never a secret's value).
pub fn build_channels(
    alerts: &AlertsSection,
    env: &dyn Env,
) -> Result<Vec<Arc<dyn AlertChannel>>, ConfigError> {
    let mut problems = Vec::new();
    let mut channels: Vec<Arc<dyn AlertChannel>> = Vec::new();
    if let Some(e) = &alerts.email {
        if let Some(c) = email_channel(e, env, &mut problems) {
            channels.push(Arc::new(c));
        }
    }
    if let Some(s) = &alerts.sms {
        if let Some(c) = sms_channel(s, env, &mut problems) {
            channels.push(Arc::new(c));
        }
    }
    webhook_channels(alerts, env, &mut channels, &mut problems);
    if problems.is_empty() {
        Ok(channels)
    } else {
        Err(ConfigError {
            source_name: None,
            problems,
        })
    }
}

/// The channel of `[alerts.email]`, `None` after a problem.
fn email_channel(
    e: &EmailSection,
    env: &dyn Env,
    problems: &mut Vec<String>,
) -> Option<EmailChannel> {
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
                "alerts.email.username is set but SMTP_PASSWORD is not in the environment".into(),
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
    EmailChannel::new(SmtpSettings {
        host,
        port,
        security,
        credentials,
        from,
        to: e.to.clone(),
        timeout: std::time::Duration::from_secs(10),
        extra_root_pem,
    })
    .map_err(|p| problems.push(p))
    .ok()
}

/// The channel of `[alerts.sms]`, `None` after a problem.
fn sms_channel(s: &SmsSection, env: &dyn Env, problems: &mut Vec<String>) -> Option<SmsChannel> {
    let sid = s.account_sid.clone();
    let token = env.var("TWILIO_AUTH_TOKEN");
    let from = s.from.clone();
    match (sid, token, from) {
        (Some(sid), Some(token), Some(from)) => SmsChannel::new(
            s.api_base.as_deref().unwrap_or(TWILIO_API),
            sid,
            AuthToken(token),
            from,
            s.to.clone(),
        )
        .map_err(|p| problems.push(p))
        .ok(),
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
            None
        }
    }
}

/// The channels of every `[[alerts.webhook]]` with a URL, each behind the allowlist.
fn webhook_channels(
    alerts: &AlertsSection,
    env: &dyn Env,
    channels: &mut Vec<Arc<dyn AlertChannel>>,
    problems: &mut Vec<String>,
) {
    let allow = alerts.allowlist.clone().unwrap_or_default();
    let allowlist = Allowlist {
        hosts: allow.hosts,
        allow_loopback_http: allow.allow_loopback_http.unwrap_or(false),
    };
    for (i, w) in alerts.webhook.iter().enumerate() {
        let Some(url) = &w.url else { continue };
        let secret = match &w.secret_env {
            None => None,
            Some(var) => match env_secret(&format!("alerts.webhook[{i}].secret_env"), var, env) {
                Err(p) => {
                    problems.push(p);
                    None
                }
                Ok(v) => match WebhookSecret::parse(&v) {
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
                match env_secret(&format!("alerts.webhook[{i}].bearer_token_env"), var, env) {
                    Err(p) => {
                        problems.push(p);
                        None
                    }
                    Ok(v) => Some(BearerToken(v)),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::alerts::{SmsSection, WebhookSection};
    use std::collections::HashMap;

    fn webhook(secret_env: &str, bearer_token_env: &str) -> AlertsSection {
        AlertsSection {
            webhook: vec![WebhookSection {
                url: Some("https://hooks.example.com/x".into()),
                secret_env: Some(secret_env.into()),
                bearer_token_env: Some(bearer_token_env.into()),
                ..Default::default()
            }],
            allowlist: Some(crate::config::alerts::AllowlistSection {
                hosts: vec!["hooks.example.com".into()],
                allow_loopback_http: None,
            }),
            ..Default::default()
        }
    }

    fn problems(alerts: &AlertsSection, env: &HashMap<String, String>) -> String {
        match build_channels(alerts, env) {
            Ok(c) => panic!("{} channels built", c.len()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn test_build_when_a_secret_is_written_as_the_variable_name_then_error_hides_it() {
        let e = problems(
            &webhook("whsec_hunter2-real-secret", "hunter2-real-bearer"),
            &HashMap::new(),
        );
        assert!(
            e.contains("alerts.webhook[0].secret_env: the value is not a valid environment variable name")
                && e.contains("alerts.webhook[0].bearer_token_env: the value is not a valid environment variable name"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn test_build_when_a_named_variable_is_unset_then_only_a_conventional_name_is_shown() {
        let e = problems(
            &webhook("HOOK_SECRET", "hunter2RealBearer"),
            &HashMap::new(),
        );
        assert!(
            e.contains("alerts.webhook[0].secret_env: HOOK_SECRET is not set in the environment"),
            "{e}"
        );
        assert!(
            e.contains(
                "alerts.webhook[0].bearer_token_env: the variable it names is not set in the environment"
            ),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn test_build_when_sms_api_base_is_plain_http_off_loopback_then_config_error() {
        let alerts = AlertsSection {
            sms: Some(SmsSection {
                to: vec!["+15559876543".into()],
                from: Some("+15551234567".into()),
                account_sid: Some("AC123".into()),
                api_base: Some("http://api.twilio.example".into()),
            }),
            ..Default::default()
        };
        let env: HashMap<String, String> =
            [("TWILIO_AUTH_TOKEN".to_string(), "tw-SECRET".to_string())].into();
        let e = problems(&alerts, &env);
        assert!(
            e.contains("alerts.sms.api_base: \"http://api.twilio.example/\""),
            "{e}"
        );
        assert!(!e.contains("tw-SECRET"), "{e}");
    }
}
