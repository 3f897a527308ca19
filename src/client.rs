//! A typed client of the HTTP API (`../shared/API.md`): one method per action, the bodies of
//! [`crate::api_types`] in and out. The `rustybt live stop|reset|status` commands are built on
//! it; a Rust host that runs the engine as a sidecar can use it too.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rustybt::client::ClientError> {
//! use rustybt::api_types::HaltRequest;
//! let client = rustybt::client::Client::new("http://127.0.0.1:8080", Some("token".into()))?;
//! let answer = client
//!     .halt("momentum", &HaltRequest { operator: "alice".into(), reason: "drill".into() })
//!     .await?;
//! println!("{}", answer.after.state());
//! # Ok(())
//! # }
//! ```

use crate::api_types::{
    Accepted, AuditEntry, ConfirmResetRequest, ErrorBody, HaltAnswer, HaltRequest, Health,
    OrderAnswer, ResetRequest, ResetTicket, StrategyStatus, StrategySummary,
};
use reqwest::Method;
use rustybt_actors::domain::{ErrorReport, Fill, OrderRequest, PortfolioSnapshot};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;
use url::Url;

/// How long one request may take, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a call did not get its answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base address is not an `http` or `https` URL.
    #[error("{url:?} is not an http(s) URL: {reason}")]
    BadUrl {
        /// The address as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be set up (TLS roots, resolver).
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    /// No answer: connection refused, name unknown, timed out, or the connection dropped.
    #[error("cannot reach the engine at {url}: {reason}")]
    Unreachable {
        /// The base address.
        url: String,
        /// The innermost cause.
        reason: String,
    },
    /// The engine answered with an error status and its error body.
    #[error("{status} {}: {}", body.error, body.message)]
    Api {
        /// The HTTP status (401, 404, 409, 422...).
        status: u16,
        /// The answer's body; for an answer without the API's error body (a proxy's page),
        /// `error` is `http_<status>` and `message` the start of the text.
        body: ErrorBody,
    },
    /// A success status with a body that is not the expected type.
    #[error("the engine at {url} answered {status} with a body that is not {expected}: {reason}")]
    Decode {
        /// The base address.
        url: String,
        /// The HTTP status.
        status: u16,
        /// What was expected, in words.
        expected: &'static str,
        /// The decoder's complaint.
        reason: String,
    },
}

impl ClientError {
    /// The error body's machine code, for an [`ClientError::Api`] answer.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { body, .. } => Some(&body.error),
            _ => None,
        }
    }
}

/// A client of one service.
#[derive(Debug, Clone)]
pub struct Client {
    base: Url,
    shown: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// A client of the service at `base` (`http://127.0.0.1:8080`, or a prefix behind a proxy),
    /// sending `token` as the bearer token with every request when there is one (POSTs always
    /// need it; GETs only off loopback).
    pub fn new(base: &str, token: Option<String>) -> Result<Self, ClientError> {
        let bad = |reason: String| ClientError::BadUrl {
            url: base.to_string(),
            reason,
        };
        let mut url = Url::parse(base.trim()).map_err(|e| bad(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(bad(format!("the scheme is {:?}", url.scheme())));
        }
        // A base without a trailing slash would lose its last segment when joined.
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        let http = reqwest::Client::builder()
            .timeout(DEFAULT_TIMEOUT)
            .build()
            .map_err(|e| ClientError::Setup(root_cause(&e)))?;
        Ok(Self {
            shown: base.trim().trim_end_matches('/').to_string(),
            base: url,
            token,
            http,
        })
    }

    /// The base address, as given.
    pub fn base(&self) -> &str {
        &self.shown
    }

    /// Whether a bearer token is sent.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// `GET /api/v1/strategies`: every strategy's state, one line each.
    pub async fn list(&self) -> Result<Vec<StrategySummary>, ClientError> {
        self.call(
            Method::GET,
            &["api", "v1", "strategies"],
            None::<&()>,
            "a list of strategies",
        )
        .await
    }

    /// `GET /api/v1/strategies/{name}`: one strategy's full status.
    pub async fn status(&self, strategy: &str) -> Result<StrategyStatus, ClientError> {
        self.call(
            Method::GET,
            &["api", "v1", "strategies", strategy],
            None::<&()>,
            "a strategy status",
        )
        .await
    }

    /// `GET /api/v1/strategies/{name}/audit`: the audit trail, oldest first.
    pub async fn audit(&self, strategy: &str) -> Result<Vec<AuditEntry>, ClientError> {
        self.call(
            Method::GET,
            &["api", "v1", "strategies", strategy, "audit"],
            None::<&()>,
            "an audit trail",
        )
        .await
    }

    /// `GET /healthz`. A Supervisor that is down answers `503`: [`ClientError::Api`] with
    /// `engine_unavailable`.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.call(Method::GET, &["healthz"], None::<&()>, "a health report")
            .await
    }

    /// `POST .../halt`: the emergency stop, durable when answered.
    pub async fn halt(
        &self,
        strategy: &str,
        request: &HaltRequest,
    ) -> Result<HaltAnswer, ClientError> {
        self.post(strategy, &["halt"], request, "a halt answer")
            .await
    }

    /// `POST .../reset`: the first step of a reset; `409` from NORMAL or while a reset is
    /// pending (`reset_already_pending`).
    pub async fn request_reset(
        &self,
        strategy: &str,
        request: &ResetRequest,
    ) -> Result<ResetTicket, ClientError> {
        self.post(strategy, &["reset"], request, "a reset ticket")
            .await
    }

    /// `POST .../reset/confirm`: the second step; `409` on a wrong or expired token.
    pub async fn confirm_reset(
        &self,
        strategy: &str,
        request: &ConfirmResetRequest,
    ) -> Result<StrategyStatus, ClientError> {
        self.post(
            strategy,
            &["reset", "confirm"],
            request,
            "a strategy status",
        )
        .await
    }

    /// `GET /api/v1/firm`: every host and strategy of the firm, the firm breakers.
    pub async fn firm(&self) -> Result<crate::api_types::FirmStatus, ClientError> {
        self.call(
            Method::GET,
            &["api", "v1", "firm"],
            None::<&()>,
            "a firm status",
        )
        .await
    }

    /// `POST /api/v1/halt`: halts the whole firm, or one desk; durable when answered.
    pub async fn firm_halt(
        &self,
        request: &crate::api_types::FirmHaltRequest,
    ) -> Result<crate::api_types::FirmHaltAnswer, ClientError> {
        self.call(
            Method::POST,
            &["api", "v1", "halt"],
            Some(request),
            "a firm halt answer",
        )
        .await
    }

    /// `POST /api/v1/reset`: the first step of a firm (or desk) reset.
    pub async fn firm_request_reset(
        &self,
        request: &crate::api_types::FirmResetRequest,
    ) -> Result<crate::api_types::FirmResetTicketView, ClientError> {
        self.call(
            Method::POST,
            &["api", "v1", "reset"],
            Some(request),
            "a firm reset ticket",
        )
        .await
    }

    /// `POST /api/v1/reset/confirm`: lifts the firm halts the request named.
    pub async fn firm_confirm_reset(
        &self,
        request: &crate::api_types::FirmConfirmRequest,
    ) -> Result<crate::api_types::FirmStatus, ClientError> {
        self.call(
            Method::POST,
            &["api", "v1", "reset", "confirm"],
            Some(request),
            "a firm status",
        )
        .await
    }

    /// `POST .../portfolio`: a portfolio snapshot from the host.
    pub async fn submit_snapshot(
        &self,
        strategy: &str,
        snapshot: &PortfolioSnapshot,
    ) -> Result<(), ClientError> {
        self.post::<Accepted>(strategy, &["portfolio"], snapshot, "an acceptance")
            .await
            .map(drop)
    }

    /// `POST .../orders`: the order gate. A rejected order is an answer, not an error.
    pub async fn check_order(
        &self,
        strategy: &str,
        order: &OrderRequest,
    ) -> Result<OrderAnswer, ClientError> {
        self.post(strategy, &["orders"], order, "an order decision")
            .await
    }

    /// `POST .../fills`: a fill from the broker.
    pub async fn report_fill(&self, strategy: &str, fill: &Fill) -> Result<(), ClientError> {
        self.post::<Accepted>(strategy, &["fills"], fill, "an acceptance")
            .await
            .map(drop)
    }

    /// `POST .../errors`: an order rejection, broker error or data error.
    pub async fn report_error(
        &self,
        strategy: &str,
        error: &ErrorReport,
    ) -> Result<(), ClientError> {
        self.post::<Accepted>(strategy, &["errors"], error, "an acceptance")
            .await
            .map(drop)
    }

    async fn post<T: DeserializeOwned>(
        &self,
        strategy: &str,
        action: &[&str],
        body: &impl Serialize,
        expected: &'static str,
    ) -> Result<T, ClientError> {
        let mut path = vec!["api", "v1", "strategies", strategy];
        path.extend_from_slice(action);
        self.call(Method::POST, &path, Some(body), expected).await
    }

    /// `segments` are escaped one by one, so a strategy name cannot leave its place in the
    /// path.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&impl Serialize>,
        expected: &'static str,
    ) -> Result<T, ClientError> {
        let mut request = self.http.request(method, self.url(segments));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let unreachable = |e: reqwest::Error| ClientError::Unreachable {
            url: self.shown.clone(),
            reason: root_cause(&e),
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(unreachable)?;
        if !(200..300).contains(&status) {
            let body = serde_json::from_slice::<ErrorBody>(&bytes).unwrap_or_else(|_| {
                let text = String::from_utf8_lossy(&bytes);
                ErrorBody {
                    error: format!("http_{status}"),
                    message: text
                        .chars()
                        .take(200)
                        .collect::<String>()
                        .trim()
                        .to_string(),
                }
            });
            return Err(ClientError::Api { status, body });
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
            url: self.shown.clone(),
            status,
            expected,
            reason: e.to_string(),
        })
    }
}

/// The innermost cause: reqwest's own message ("error sending request") names no reason.
fn root_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_new_when_not_http_then_names_the_url() {
        for bad in ["127.0.0.1:8080", "ftp://host/", "not a url", "mailto:x@y"] {
            let e = Client::new(bad, None).unwrap_err();
            assert!(
                matches!(&e, ClientError::BadUrl { url, .. } if url == bad),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn test_url_when_name_has_slashes_then_escaped_in_one_segment() {
        let c = Client::new("http://127.0.0.1:8080", None).unwrap();
        assert_eq!(
            c.url(&["api", "v1", "strategies", "a/b c", "halt"])
                .as_str(),
            "http://127.0.0.1:8080/api/v1/strategies/a%2Fb%20c/halt"
        );
        let proxied = Client::new("https://ops.example/rustybt", None).unwrap();
        assert_eq!(
            proxied.url(&["healthz"]).as_str(),
            "https://ops.example/rustybt/healthz"
        );
        assert_eq!(proxied.base(), "https://ops.example/rustybt");
    }
}
