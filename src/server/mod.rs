//! The sidecar service: the HTTP API of `../shared/API.md`, the dashboard and `/metrics`,
//! served by actix-web on a thread of its own (the engines have theirs).

pub mod api;
pub mod auth;
pub mod body;
pub mod dashboard;
pub mod errors;
pub mod metrics;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use errors::ApiError;
use rustybt_actors::engine::EngineHandle;
use rustybt_actors::firm::{FirmHandle, FirmParts, SledControlStore};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// What every handler shares.
pub struct ServerState {
    /// The engines, by strategy name.
    pub engines: BTreeMap<String, EngineHandle>,
    /// The API token (POSTs always need it; GETs too off loopback).
    pub token: String,
    /// Whether GETs need the token (bound to a non-loopback address).
    pub token_for_gets: bool,
    /// Prometheus series.
    pub metrics: metrics::Metrics,
    /// How to start the firm (its control record, breakers and members), unless it was
    /// started before the server.
    pub firm_parts: Option<FirmParts>,
    /// The firm, once started (at the server's start, or at its first use).
    pub firm: tokio::sync::OnceCell<FirmHandle>,
}

impl ServerState {
    /// The engine of `name`, or 404.
    pub fn engine(&self, name: &str) -> Result<EngineHandle, ApiError> {
        self.engines
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::unknown_strategy(name))
    }

    /// POSTs need the token.
    /// The firm, started on first use: reads the record in force and applies it.
    pub async fn firm(&self) -> Result<FirmHandle, ApiError> {
        self.firm
            .get_or_try_init(|| async {
                match self.firm_parts.clone() {
                    Some(parts) => FirmHandle::start(parts).await,
                    None => Err(rustybt_actors::firm::FirmOpError::Store(
                        rustybt_actors::firm::FirmStoreError::BusUnavailable(
                            "the firm was not started".into(),
                        ),
                    )),
                }
            })
            .await
            .cloned()
            .map_err(ApiError::from)
    }

    pub fn authorize_post(&self, req: &HttpRequest) -> Result<(), ApiError> {
        auth::require_token(req, &self.token)
    }

    /// GETs need it only off loopback.
    pub fn authorize_get(&self, req: &HttpRequest) -> Result<(), ApiError> {
        if self.token_for_gets {
            auth::require_token(req, &self.token)
        } else {
            Ok(())
        }
    }
}

/// Every request no route took: 405 when the path has a route for another method (routes
/// carry their method as a guard, so a wrong method lands here too), else 404. Both with the
/// API's JSON error body.
async fn no_route(req: HttpRequest) -> HttpResponse {
    let path = req.path();
    let error = if req.resource_map().has_resource(path) {
        ApiError::method_not_allowed(req.method().as_str(), path)
    } else {
        ApiError::not_found(path)
    };
    error.error_response()
}

/// Why the server would not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Bound off loopback with no token.
    #[error("refusing to serve on {0} without RUSTYBT_API_TOKEN: off loopback every request needs a token")]
    TokenRequired(SocketAddr),
    /// The firm's control record could not be opened.
    #[error("the firm's record cannot be opened: {0}")]
    Firm(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A running server.
pub struct RunningServer {
    /// The address it listens on (the real port when asked for port 0).
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting, finishes in-flight requests, and waits for the server thread.
    pub async fn stop(mut self) {
        self.handle.stop(true).await;
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

/// Starts serving `engines` on `bind` with `token`. `token` is required off loopback.
pub fn start(
    engines: BTreeMap<String, EngineHandle>,
    bind: SocketAddr,
    token: String,
    token_for_gets: bool,
) -> Result<RunningServer, ServeError> {
    let store = rustybt_actors::checkpoint::CheckpointStore::temporary()
        .map_err(|e| ServeError::Firm(e.to_string()))?;
    let store = SledControlStore::open(store).map_err(|e| ServeError::Firm(e.to_string()))?;
    let clock = engines
        .values()
        .next()
        .map(|e| e.clock().clone())
        .unwrap_or_else(|| std::sync::Arc::new(rustybt_actors::clock::SystemClock::new()));
    let parts = FirmParts::local(
        "default",
        engines.values(),
        std::sync::Arc::new(store),
        clock,
    );
    start_with_firm(engines, parts.into(), None, bind, token, token_for_gets)
}

/// The firm a server serves: parts to start it from (at the server's start), or one started
/// already (by a host's link to the firm's bus).
pub enum FirmSetup {
    /// Start the firm from these parts.
    Parts(Box<FirmParts>),
    /// The firm, started.
    Started(FirmHandle),
}

impl From<FirmParts> for FirmSetup {
    fn from(parts: FirmParts) -> Self {
        FirmSetup::Parts(Box::new(parts))
    }
}

/// [`start`] with the firm's parts, and how often the firm breakers judge the aggregate
/// (`None`: only on request).
pub fn start_with_firm(
    engines: BTreeMap<String, EngineHandle>,
    firm: FirmSetup,
    evaluate_every: Option<std::time::Duration>,
    bind: SocketAddr,
    token: String,
    token_for_gets: bool,
) -> Result<RunningServer, ServeError> {
    if !auth::is_loopback(&bind) && token.is_empty() {
        return Err(ServeError::TokenRequired(bind));
    }
    let (firm_parts, started) = match firm {
        FirmSetup::Parts(p) => (Some(*p), None),
        FirmSetup::Started(f) => (None, Some(f)),
    };
    let state = web::Data::new(ServerState {
        firm_parts,
        firm: tokio::sync::OnceCell::new_with(started),
        engines,
        token,
        token_for_gets: token_for_gets || !auth::is_loopback(&bind),
        metrics: metrics::Metrics::new(),
    });
    let listener = std::net::TcpListener::bind(bind)
        .map_err(|source| ServeError::Bind { addr: bind, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr: bind, source })?;
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("rustybt-http".into())
        .spawn(move || {
            let sys = actix_rt::System::new();
            sys.block_on(async move {
                let firm_state = state.clone();
                actix_rt::spawn(async move {
                    // Start the firm at once: a host that starts while a halt is in force
                    // applies it without waiting for a request.
                    if let Err(e) = firm_state.firm().await {
                        tracing::error!(error = %e.message, "the firm could not start");
                    }
                    let Some(every) = evaluate_every else { return };
                    // Judge on every accepted snapshot of any strategy, and on a timer for the
                    // order rate and for figures other hosts report.
                    let poke = std::sync::Arc::new(tokio::sync::Notify::new());
                    for engine in firm_state.engines.values() {
                        let (mut rx, poke) = (engine.subscribe_telemetry(), poke.clone());
                        actix_rt::spawn(async move {
                            use tokio::sync::broadcast::error::RecvError;
                            while let Ok(_) | Err(RecvError::Lagged(_)) = rx.recv().await {
                                poke.notify_one();
                            }
                        });
                    }
                    let mut ticks = tokio::time::interval(every);
                    loop {
                        tokio::select! {
                            _ = ticks.tick() => {}
                            _ = poke.notified() => {}
                        }
                        if let Ok(firm) = firm_state.firm().await {
                            match firm.evaluate().await {
                                Ok(_) => {}
                                // The bus's own loss is reported by the host's link.
                                Err(rustybt_actors::firm::FirmOpError::Store(e)) => {
                                    tracing::debug!(error = %e, "firm breakers could not judge the aggregate")
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "firm breakers could not judge the aggregate")
                                }
                            }
                        }
                    }
                });
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(state.clone())
                        .configure(api::configure)
                        .configure(dashboard::configure)
                        .default_service(web::to(no_route))
                })
                .workers(2)
                .disable_signals()
                .listen(listener);
                match server {
                    Ok(s) => {
                        let s = s.run();
                        let _ = tx.send(Ok(s.handle()));
                        let _ = s.await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            });
        })
        .expect("spawn http thread");
    let handle = rx
        .recv()
        .expect("http thread started")
        .map_err(|source| ServeError::Bind { addr, source })?;
    Ok(RunningServer {
        addr,
        handle,
        thread: Some(thread),
    })
}
