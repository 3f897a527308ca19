//! How an operator command finds the engine, its token and the operator's name, from any
//! directory: `--url`, `--token`, `--token-file` and `--config` (the service's own
//! configuration, whose data folder holds the token `live run` made and whose `[server] bind`
//! is the address).

use super::{CliError, Failure};
use crate::client::{Client, ClientError};
use crate::config::Config;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// Where the engine is when neither `--url` nor `--config` says.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// Where the engine is and how to authenticate.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ApiArgs {
    /// The engine's address [default: `[server] bind` of --config, else http://127.0.0.1:8080].
    #[arg(long, env = "RUSTYBT_URL", value_name = "URL")]
    pub url: Option<String>,
    /// The API token. Prefer the environment variable: a flag's value shows in `ps`.
    #[arg(
        long,
        env = "RUSTYBT_API_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// A file holding the API token (tried when no token is given).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The service's configuration: the token `live run` wrote to its data folder (or
    /// RUSTYBT_API_TOKEN in the `.env` beside it), and its address. Without --config and
    /// --token-file, ./data/api-token is tried.
    #[arg(long, short, env = "RUSTYBT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// A place a token was looked for and not found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tried {
    /// The file.
    pub path: PathBuf,
    /// Why it gave no token: not found, empty, permission denied...
    pub why: String,
}

/// The token and where it came from, or every file tried.
#[derive(Debug, Clone, Default)]
pub struct TokenSearch {
    /// The token and its source, in words.
    pub found: Option<(String, String)>,
    /// The files tried before it, or all of them when none had one.
    pub tried: Vec<Tried>,
}

impl TokenSearch {
    /// The tried files in one line: `a (not found), b (empty)`.
    pub fn tried_list(&self) -> String {
        if self.tried.is_empty() {
            return "no token file was named".into();
        }
        self.tried
            .iter()
            .map(|t| format!("{} ({})", t.path.display(), t.why))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn missing(&self) -> CliError {
        CliError::new(
            Failure::Unauthorized,
            format!(
                "unauthorized: no API token: RUSTYBT_API_TOKEN and --token are unset, and no token file gave one; tried {}. Pass --config with the service's configuration, --token-file FILE, or set RUSTYBT_API_TOKEN",
                self.tried_list()
            ),
        )
    }
}

/// Reads a token file: the trimmed content, or why there is none.
pub fn read_token_file(path: &Path) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Err("empty".into()),
        Ok(text) => Ok(text.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err("not found".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Looks for the token in order: `--token`/RUSTYBT_API_TOKEN, `--token-file`, RUSTYBT_API_TOKEN
/// from the `.env` beside `--config` (loaded with it), `--config`'s data folder, and, with
/// neither a token file nor a configuration named, `./data/api-token`.
pub fn find_token(args: &ApiArgs, config: Option<&Config>) -> TokenSearch {
    let mut search = TokenSearch::default();
    if let Some(token) = non_empty(args.token.clone()) {
        search.found = Some((token, "RUSTYBT_API_TOKEN or --token".into()));
        return search;
    }
    let mut files = Vec::new();
    files.extend(args.token_file.clone());
    if let Some(config) = config {
        // Loading the configuration read its `.env` into the environment.
        if let Some(token) = non_empty(std::env::var("RUSTYBT_API_TOKEN").ok()) {
            search.found = Some((
                token,
                "RUSTYBT_API_TOKEN of the .env beside --config".into(),
            ));
            return search;
        }
        files.push(super::run::token_file(&config.data_dir));
    }
    if files.is_empty() {
        let here = std::env::current_dir().unwrap_or_default();
        files.push(super::run::token_file(&here.join("data")));
    }
    for path in files {
        match read_token_file(&path) {
            Ok(token) => {
                search.found = Some((token, path.display().to_string()));
                return search;
            }
            Err(why) => search.tried.push(Tried { path, why }),
        }
    }
    search
}

/// The address of a service bound to `bind`: an unspecified address (0.0.0.0, ::) is
/// reached on loopback.
pub fn url_of_bind(bind: &str) -> Option<String> {
    let mut addr: SocketAddr = bind.parse().ok()?;
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => addr.set_ip(Ipv4Addr::LOCALHOST.into()),
        IpAddr::V6(ip) if ip.is_unspecified() => addr.set_ip(Ipv6Addr::LOCALHOST.into()),
        _ => {}
    }
    Some(format!("http://{addr}"))
}

/// A client of the engine, and how its token was found (for messages).
pub struct Connection {
    /// The typed API client.
    pub client: Client,
    /// The token search.
    pub token: TokenSearch,
}

impl Connection {
    /// Resolves the address and the token. With `need_token` (every POST needs one) a missing
    /// token fails here, listing the files tried, before anything is sent.
    pub fn open(args: &ApiArgs, need_token: bool) -> Result<Self, CliError> {
        let config = match &args.config {
            Some(path) => Some(Config::load(path).map_err(|e| {
                CliError::new(Failure::Other, format!("--config {}: {e}", path.display()))
            })?),
            None => None,
        };
        let url = non_empty(args.url.clone())
            .or_else(|| config.as_ref().and_then(|c| url_of_bind(&c.bind)))
            .unwrap_or_else(|| DEFAULT_URL.to_string());
        let token = find_token(args, config.as_ref());
        if need_token && token.found.is_none() {
            return Err(token.missing());
        }
        let client = Client::new(&url, token.found.as_ref().map(|(t, _)| t.clone()))
            .map_err(|e| CliError::new(Failure::Usage, format!("--url: {e}")))?;
        Ok(Self { client, token })
    }

    /// The operator's words and exit code for a failed call.
    pub fn explain(&self, e: ClientError) -> CliError {
        let status = match &e {
            ClientError::Api { status, .. } => *status,
            ClientError::BadUrl { .. } => {
                return CliError::new(Failure::Usage, format!("--url: {e}"))
            }
            ClientError::Unreachable { .. } => {
                return CliError::new(Failure::Unreachable, e.to_string())
            }
            ClientError::Setup(_) | ClientError::Decode { .. } => {
                return CliError::new(Failure::Other, e.to_string())
            }
        };
        let (code, message) = match &e {
            ClientError::Api { body, .. } => (body.error.as_str(), body.message.as_str()),
            _ => ("", ""),
        };
        match status {
            401 => {
                let hint = match &self.token.found {
                    Some((_, source)) => format!("the token from {source} was refused"),
                    None => format!(
                        "no token was sent; tried {}; pass --config, --token-file or set RUSTYBT_API_TOKEN",
                        self.token.tried_list()
                    ),
                };
                CliError::new(
                    Failure::Unauthorized,
                    format!("unauthorized: {message} ({hint})"),
                )
            }
            404 if code == "unknown_strategy" => CliError::new(Failure::UnknownStrategy, message),
            409 => CliError::new(Failure::Refused, format!("refused ({code}): {message}")),
            _ => CliError::new(
                Failure::Other,
                format!("the engine refused ({status} {code}): {message}"),
            ),
        }
    }
}

/// The operator's name for the audit trail: `--operator`, else `$USER`, `$LOGNAME`, else the
/// name of the process's user (`id -un`). Never a placeholder: with none of them, an error
/// asks for `--operator`.
pub fn operator_name(given: Option<&str>) -> Result<String, CliError> {
    if let Some(name) = given {
        let name = name.trim();
        if name.is_empty() {
            return Err(CliError::new(
                Failure::Usage,
                "--operator: \"\" is empty; name who acts",
            ));
        }
        return Ok(name.to_string());
    }
    for var in ["USER", "LOGNAME"] {
        if let Some(name) = non_empty(std::env::var(var).ok()) {
            return Ok(name);
        }
    }
    let why = match std::process::Command::new("id").arg("-un").output() {
        Ok(out) if out.status.success() => {
            match non_empty(Some(String::from_utf8_lossy(&out.stdout).into_owned())) {
                Some(name) => return Ok(name),
                None => "`id -un` printed nothing".to_string(),
            }
        }
        Ok(out) => format!(
            "`id -un` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("`id -un` could not run: {e}"),
    };
    Err(CliError::new(
        Failure::Usage,
        format!("cannot tell who you are for the audit trail ($USER and $LOGNAME are unset; {why}): pass --operator NAME"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_url_of_bind_when_unspecified_then_loopback() {
        assert_eq!(
            url_of_bind("0.0.0.0:9000").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            url_of_bind("[::]:9000").as_deref(),
            Some("http://[::1]:9000")
        );
        assert_eq!(
            url_of_bind("10.1.2.3:80").as_deref(),
            Some("http://10.1.2.3:80")
        );
        assert_eq!(url_of_bind("nonsense"), None);
    }

    #[test]
    fn test_find_token_when_files_missing_or_empty_then_each_tried_with_why() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").unwrap();
        let good = dir.path().join("good");
        std::fs::write(&good, "s3cret\n").unwrap();
        let args = ApiArgs {
            token_file: Some(empty.clone()),
            ..ApiArgs::default()
        };
        let search = find_token(&args, None);
        assert!(search.found.is_none());
        assert_eq!(search.tried[0].why, "empty");
        let args = ApiArgs {
            token_file: Some(good.clone()),
            ..ApiArgs::default()
        };
        let search = find_token(&args, None);
        assert_eq!(search.found.map(|(t, _)| t).as_deref(), Some("s3cret"));
        let args = ApiArgs {
            token: Some("  ".into()),
            token_file: Some(dir.path().join("absent")),
            ..ApiArgs::default()
        };
        let search = find_token(&args, None);
        assert!(search.found.is_none());
        assert_eq!(
            search.tried_list(),
            format!("{} (not found)", dir.path().join("absent").display())
        );
    }

    #[test]
    fn test_operator_name_when_given_empty_then_usage_error() {
        let e = operator_name(Some("  ")).unwrap_err();
        assert_eq!(e.failure, Failure::Usage);
        assert_eq!(operator_name(Some(" alice ")).unwrap(), "alice");
    }
}
