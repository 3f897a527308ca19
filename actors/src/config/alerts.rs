//! `[alerts]`: the channel settings as written, with the environment variables of the story
//! applied over them. Secrets are never read from here: only from the environment.

use super::Env;
use serde::Deserialize;

/// `[alerts]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertsSection {
    /// Alerts per breaker per hour (default 10).
    pub max_per_breaker_per_hour: Option<u32>,
    /// `[alerts.email]`.
    pub email: Option<EmailSection>,
    /// `[alerts.sms]`.
    pub sms: Option<SmsSection>,
    /// `[[alerts.webhook]]`.
    #[serde(default)]
    pub webhook: Vec<WebhookSection>,
    /// `[alerts.allowlist]`.
    pub allowlist: Option<AllowlistSection>,
}

/// SMTP transport security.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// STARTTLS upgrade (port 587).
    #[default]
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
    /// No TLS: loopback hosts only.
    None,
}

/// `[alerts.email]`; SMTP_HOST, SMTP_PORT, SMTP_USERNAME, ALERT_EMAIL override; SMTP_PASSWORD
/// is read from the environment only.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EmailSection {
    /// SMTP server.
    pub smtp_host: Option<String>,
    /// SMTP port.
    pub smtp_port: Option<u16>,
    /// Security.
    pub tls: Option<SmtpTls>,
    /// Login name (the password comes from SMTP_PASSWORD).
    pub username: Option<String>,
    /// Sender.
    pub from: Option<String>,
    /// Recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// A PEM file with an extra trusted root, for a relay with a private CA (relative paths
    /// are relative to the configuration file).
    pub ca_file: Option<std::path::PathBuf>,
}

/// `[alerts.sms]`; TWILIO_ACCOUNT_SID, TWILIO_FROM_NUMBER, ALERT_PHONE override;
/// TWILIO_AUTH_TOKEN is read from the environment only.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SmsSection {
    /// Recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// Sender.
    pub from: Option<String>,
    /// Account SID.
    pub account_sid: Option<String>,
    /// Twilio's API base (tests point it at a local server).
    pub api_base: Option<String>,
}

/// Webhook body format.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// API.md's payload.
    #[default]
    Json,
    /// `{"text": ...}` for Slack incoming webhooks.
    Slack,
}

/// `[[alerts.webhook]]`; ALERT_WEBHOOK_URL adds one (comma-separated for several).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// Destination.
    pub url: Option<String>,
    /// Body format.
    pub format: Option<WebhookFormat>,
    /// Names the variable holding the `whsec_` signing secret.
    pub secret_env: Option<String>,
    /// Names the variable holding a bearer token.
    pub bearer_token_env: Option<String>,
}

/// `[alerts.allowlist]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AllowlistSection {
    /// Host patterns webhooks may reach (`hooks.slack.com`, `*.example.com`, `10.0.0.7`).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Let `http://` through to loopback hosts.
    pub allow_loopback_http: Option<bool>,
}

/// Whether `name` can name an environment variable: ASCII letters, digits and `_`, not
/// starting with a digit (POSIX's portable names).
pub fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `name` is written the way variables conventionally are (`ALERT_WEBHOOK_SECRET`):
/// only such a name is repeated in messages, since a secret can be a valid name too.
pub fn is_conventional_env_name(name: &str) -> bool {
    is_env_var_name(name)
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The problem with `value` in `field`, a field that must name an environment variable, if it
/// cannot be a name. The value is never shown: it may be the secret itself, pasted there by
/// mistake, and errors reach logs and terminals.
pub fn env_name_problem(field: &str, value: &str) -> Option<String> {
    (!is_env_var_name(value)).then(|| {
        format!(
            "{field}: the value is not a valid environment variable name (letters, digits and _, not starting with a digit); this field names the variable that holds the secret and must never hold the secret itself (the value is not shown)"
        )
    })
}

impl AlertsSection {
    /// Applies the story's environment variables over the file's values.
    pub fn apply_env(&mut self, env: &dyn Env) {
        let email_vars = ["SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "ALERT_EMAIL"];
        if self.email.is_some() || email_vars.iter().any(|v| env.var(v).is_some()) {
            let e = self.email.get_or_insert_with(Default::default);
            if let Some(v) = env.var("SMTP_HOST") {
                e.smtp_host = Some(v);
            }
            if let Some(v) = env.var("SMTP_PORT").and_then(|p| p.parse().ok()) {
                e.smtp_port = Some(v);
            }
            if let Some(v) = env.var("SMTP_USERNAME") {
                e.username = Some(v);
            }
            if let Some(v) = env.var("ALERT_EMAIL") {
                e.to = v
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
            }
        }
        let sms_vars = ["TWILIO_ACCOUNT_SID", "TWILIO_FROM_NUMBER", "ALERT_PHONE"];
        if self.sms.is_some() || sms_vars.iter().any(|v| env.var(v).is_some()) {
            let s = self.sms.get_or_insert_with(Default::default);
            if let Some(v) = env.var("TWILIO_ACCOUNT_SID") {
                s.account_sid = Some(v);
            }
            if let Some(v) = env.var("TWILIO_FROM_NUMBER") {
                s.from = Some(v);
            }
            if let Some(v) = env.var("ALERT_PHONE") {
                s.to = v
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
            }
        }
        if let Some(urls) = env.var("ALERT_WEBHOOK_URL") {
            for url in urls.split(',').map(str::trim).filter(|u| !u.is_empty()) {
                if !self.webhook.iter().any(|w| w.url.as_deref() == Some(url)) {
                    self.webhook.push(WebhookSection {
                        url: Some(url.to_string()),
                        ..Default::default()
                    });
                }
            }
        }
    }

    /// Checks what can be checked without the network; problems name the field and value.
    pub fn validate(&self, problems: &mut Vec<String>) {
        if let Some(0) = self.max_per_breaker_per_hour {
            problems.push("alerts.max_per_breaker_per_hour: 0 must be at least 1".into());
        }
        for (i, w) in self.webhook.iter().enumerate() {
            for (field, value) in [
                ("secret_env", &w.secret_env),
                ("bearer_token_env", &w.bearer_token_env),
            ] {
                if let Some(p) = value
                    .as_deref()
                    .and_then(|v| env_name_problem(&format!("alerts.webhook[{i}].{field}"), v))
                {
                    problems.push(p);
                }
            }
            match &w.url {
                None => problems.push(format!("alerts.webhook[{i}].url: missing")),
                Some(u) => {
                    if url::Url::parse(u).is_err() {
                        problems.push(format!("alerts.webhook[{i}].url: {u:?} is not a URL"));
                    }
                }
            }
        }
        if let Some(e) = &self.email {
            if e.smtp_host.is_none() {
                problems.push("alerts.email.smtp_host: missing (or set SMTP_HOST)".into());
            }
            if e.to.is_empty() {
                problems.push("alerts.email.to: no recipient (or set ALERT_EMAIL)".into());
            }
        }
        if let Some(s) = &self.sms {
            if s.to.is_empty() {
                problems.push("alerts.sms.to: no recipient (or set ALERT_PHONE)".into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_is_env_var_name_when_names_and_non_names_then_told_apart() {
        for ok in ["ALERT_WEBHOOK_SECRET", "_X", "hook_secret2", "A"] {
            assert!(is_env_var_name(ok), "{ok}");
        }
        for bad in [
            "",
            "2FA",
            "hunter2-real-secret",
            "whsec_c2VjcmV0+/=",
            "A B",
            "ÄRGER",
        ] {
            assert!(!is_env_var_name(bad), "{bad}");
        }
        assert!(is_conventional_env_name("HOOK_SECRET_2"));
        assert!(!is_conventional_env_name("hookSecretAbc123"));
    }

    #[test]
    fn test_validate_when_a_secret_is_written_as_the_variable_name_then_error_hides_it() {
        let section = AlertsSection {
            webhook: vec![WebhookSection {
                url: Some("https://hooks.example.com/x".into()),
                secret_env: Some("whsec_hunter2-real-secret".into()),
                bearer_token_env: Some("hunter2-real-bearer".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut problems = Vec::new();
        section.validate(&mut problems);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "alerts.webhook[0].secret_env: the value is not a valid environment variable name"
            ),
            "{problems:?}"
        );
        assert!(problems[1].starts_with("alerts.webhook[0].bearer_token_env: the value is not a valid environment variable name"), "{problems:?}");
        let all = problems.join("\n");
        assert!(!all.contains("hunter2"), "{all}");
    }
}
