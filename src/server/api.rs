//! The endpoints of `../shared/API.md`.

use super::body::{parse, DecimalFields};
use super::errors::ApiError;
use super::ServerState;
use crate::api_types::{
    Accepted, ActorNotReady, ConfirmResetRequest, EngineUnavailable, ErrorBody, EventTag,
    EventsHello, FirmConfirmRequest, FirmHaltAnswer, FirmHaltRequest, FirmRemoveHostRequest,
    FirmResetRequest, FirmResetTicketView, FirmStatus, HaltAnswer, HaltRequest, HaltedState,
    Health, HealthStatus, HeartbeatRequest, HostStrategyRef, OrderAnswer, OrderDoneRequest,
    PricesRequest, ResetRequest, StrategyStatus, StrategySummary,
};
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{HttpRequest, HttpResponse};
use futures::StreamExt;
use rustybt_actors::domain::{ErrorReport, Fill, OrderRequest, PortfolioSnapshot};
use rustybt_actors::engine::EngineHandle;
use rustybt_actors::events::EngineEvent;
use rustybt_actors::events::TelemetryEvent;
use rustybt_actors::state_machine::EngineState;
use rustybt_actors::supervision::ActorName;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The decimal fields of the host events, shared with the Python package's engine.
pub use rustybt_api::{FILL_DECIMALS, ORDER_DECIMALS, PRICES_DECIMALS, SNAPSHOT_DECIMALS};

/// Mounts every API route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics))
        .route("/api/v1/strategies", web::get().to(list))
        .route("/api/v1/strategies/{name}", web::get().to(status))
        .route("/api/v1/strategies/{name}/audit", web::get().to(audit))
        .route("/api/v1/strategies/{name}/events", web::get().to(events))
        .route(
            "/api/v1/strategies/{name}/portfolio",
            web::post().to(portfolio),
        )
        .route("/api/v1/strategies/{name}/orders", web::post().to(orders))
        .route("/api/v1/strategies/{name}/fills", web::post().to(fills))
        .route("/api/v1/strategies/{name}/errors", web::post().to(errors))
        .route(
            "/api/v1/strategies/{name}/orders/{order_id}/done",
            web::post().to(order_done),
        )
        .route("/api/v1/strategies/{name}/prices", web::post().to(prices))
        .route("/api/v1/strategies/{name}/venue", web::post().to(venue))
        .route(
            "/api/v1/strategies/{name}/heartbeat",
            web::post().to(heartbeat),
        )
        .route("/api/v1/strategies/{name}/halt", web::post().to(halt))
        .route("/api/v1/strategies/{name}/reset", web::post().to(reset))
        .route(
            "/api/v1/strategies/{name}/reset/confirm",
            web::post().to(reset_confirm),
        )
        .route("/api/v1/firm", web::get().to(firm_view))
        .route(
            "/api/v1/firm/hosts/{host_id}",
            web::delete().to(firm_remove_host),
        )
        .route("/api/v1/halt", web::post().to(firm_halt))
        .route("/api/v1/reset", web::post().to(firm_reset))
        .route("/api/v1/reset/confirm", web::post().to(firm_reset_confirm));
}

/// Authenticates, finds the strategy and reads the body, in that order, so a refused request
/// has read nothing and changed nothing.
async fn post_body(
    state: &ServerState,
    req: &HttpRequest,
    name: &str,
    payload: web::Payload,
) -> Result<(EngineHandle, BytesMut), ApiError> {
    state.authorize_post(req)?;
    let engine = state.engine(name)?;
    Ok((engine, read_body(req, payload).await?))
}

/// Reads a body of at most [`BODY_LIMIT`] bytes.
async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<BytesMut, ApiError> {
    if let Some(len) = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > BODY_LIMIT {
            return Err(too_large(len));
        }
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::malformed(format!("could not read the body: {e}")))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(too_large(body.len() + chunk.len()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn too_large(len: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the body has {len} bytes; at most {BODY_LIMIT} are accepted"),
    )
}

/// `200` while every strategy's Supervisor answers; the actors not ready (restarting, or a
/// portfolio breaker still waiting for its first snapshot) are listed, and the gate refuses
/// orders while there are any.
async fn healthz(state: web::Data<ServerState>) -> HttpResponse {
    let mut not_ready = Vec::new();
    for (name, engine) in &state.engines {
        let health = engine.actor_health();
        let supervisor_down = health
            .iter()
            .any(|h| h.actor == ActorName::Supervisor && !h.ready);
        if supervisor_down {
            return HttpResponse::ServiceUnavailable().json(EngineUnavailable {
                error: ErrorBody {
                    error: "engine_unavailable".into(),
                    message: format!("{name}: the supervisor is not running; orders are refused"),
                },
                actors: health,
            });
        }
        not_ready.extend(
            health
                .into_iter()
                .filter(|h| !h.ready)
                .map(|h| ActorNotReady {
                    strategy: name.clone(),
                    actor: h.actor,
                    restarts: h.restarts,
                }),
        );
    }
    HttpResponse::Ok().json(Health {
        status: if not_ready.is_empty() {
            HealthStatus::Ok
        } else {
            HealthStatus::Degraded
        },
        strategies: state.engines.len(),
        not_ready,
    })
}

async fn metrics(
    state: web::Data<ServerState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    state.authorize_get(&req)?;
    let mut statuses = Vec::new();
    for engine in state.engines.values() {
        statuses.push(engine.status().await?);
    }
    let now = chrono::Utc::now();
    // The firm's series; a firm that cannot be read leaves them out of this scrape.
    if let Ok(firm) = state.firm().await {
        if let Ok(view) = firm.view().await {
            state.metrics.record_firm(&view);
        }
        if let Some(bus) = firm.store().bus() {
            state.metrics.record_bus(firm.host_id(), &bus, now);
        }
    }
    let text = state.metrics.render(&statuses, now);
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text))
}

async fn list(state: web::Data<ServerState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    state.authorize_get(&req)?;
    let mut out = Vec::new();
    for engine in state.engines.values() {
        out.push(StrategySummary::from(&engine.status().await?));
    }
    Ok(HttpResponse::Ok().json(out))
}

async fn status(
    state: web::Data<ServerState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.authorize_get(&req)?;
    let engine = state.engine(&name)?;
    Ok(HttpResponse::Ok().json(StrategyStatus::from(engine.status().await?)))
}

async fn audit(
    state: web::Data<ServerState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.authorize_get(&req)?;
    let engine = state.engine(&name)?;
    Ok(HttpResponse::Ok().json(engine.audit().await?))
}

/// One server-sent frame named by the event's own serde tag (`event`), so the frame's name
/// and its data's `event` field cannot disagree.
fn sse_frame<T: Serialize>(event: &T) -> String {
    let data = serde_json::to_string(event).unwrap_or_default();
    let name = serde_json::from_str::<EventTag>(&data)
        .map(|t| t.event)
        .unwrap_or_else(|_| "message".into());
    format!("event: {name}\ndata: {data}\n\n")
}

/// One server-sent frame: control events are never skipped; telemetry a slow reader lags
/// behind is.
async fn next_frame(
    control: &mut tokio::sync::mpsc::UnboundedReceiver<EngineEvent>,
    telemetry: &mut tokio::sync::broadcast::Receiver<TelemetryEvent>,
) -> Option<String> {
    use tokio::sync::broadcast::error::RecvError;
    let frame = tokio::select! {
        biased;
        event = control.recv() => sse_frame(&event?),
        t = telemetry.recv() => match t {
            Ok(t) => sse_frame(&t),
            Err(RecvError::Lagged(n)) => format!(": {n} snapshots skipped (slow reader)\n\n"),
            Err(RecvError::Closed) => return None,
        },
        _ = tokio::time::sleep(Duration::from_secs(15)) => ": keep-alive\n\n".to_string(),
    };
    Some(frame)
}

async fn events(
    state: web::Data<ServerState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.authorize_get(&req)?;
    let engine = state.engine(&name)?;
    let rx = (engine.subscribe(), engine.subscribe_telemetry());
    // The current state first, so a client has a baseline before the first change.
    let status = engine.status().await?;
    let hello = format!(
        "event: hello\ndata: {}\n\n",
        serde_json::to_string(&EventsHello {
            strategy: status.name,
            state: status.state,
            since: status.since,
        })
        .unwrap_or_default()
    );
    let first = futures::stream::once(async move { Ok::<_, actix_web::Error>(Bytes::from(hello)) });
    let rest = futures::stream::unfold(rx, |(mut control, mut telemetry)| async move {
        let frame = next_frame(&mut control, &mut telemetry).await?;
        Some((Ok(Bytes::from(frame)), (control, telemetry)))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(first.chain(rest)))
}

async fn portfolio(
    state: web::Data<ServerState>,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (engine, body) = post_body(&state, &req, &name, payload).await?;
    let snapshot: PortfolioSnapshot = parse(&body, SNAPSHOT_DECIMALS)?;
    engine.submit_snapshot(snapshot).await?;
    Ok(HttpResponse::Accepted().json(Accepted::ANSWER))
}

async fn orders(
    state: web::Data<ServerState>,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (engine, body) = post_body(&state, &req, &name, payload).await?;
    let order: OrderRequest = parse(&body, ORDER_DECIMALS)?;
    let started = Instant::now();
    let decision = engine.check_order(order)?;
    state
        .metrics
        .observe_gate(&name, started.elapsed().as_secs_f64());
    Ok(HttpResponse::Ok().json(OrderAnswer::from(decision)))
}

async fn fills(
    state: web::Data<ServerState>,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (engine, body) = post_body(&state, &req, &name, payload).await?;
    let fill: Fill = parse(&body, FILL_DECIMALS)?;
    engine.report_fill(fill)?;
    Ok(HttpResponse::Accepted().json(Accepted::ANSWER))
}

async fn errors(
    state: web::Data<ServerState>,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (engine, body) = post_body(&state, &req, &name, payload).await?;
    let error: ErrorReport = parse(&body, &[])?;
    engine.report_error(error).await?;
    Ok(HttpResponse::Accepted().json(Accepted::ANSWER))
}

async fn order_done(
    state: web::Data<ServerState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (name, order_id) = path.into_inner();
    let (engine, body) = post_body(&state, &req, &name, payload).await?;
    let done: OrderDoneRequest = parse(&body, &[])?;
    engine.order_done(&order_id, done.status, done.timestamp)?;
    Ok(HttpResponse::Accepted().json(Accepted::ANSWER))
}

async fn prices(
    state: web::Data<ServerState>,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (engine, body) = post_body(&state, &req, &name, payload).await?;
    let update: PricesRequest = parse(&body, PRICES_DECIMALS)?;
    let prices = update
        .prices
        .into_iter()
        .map(|p| (p.asset, p.price))
        .collect();
    engine.post_prices(update.timestamp, prices)?;
    Ok(HttpResponse::Accepted().json(Accepted::ANSWER))
}

/// The decimal fields of `POST .../venue`.
pub const VENUE_DECIMALS: DecimalFields = &[
    "positions[].quantity",
    "open_orders[].quantity",
    "open_orders[].filled",
];

/// `POST .../venue`: the broker's or venue's view of positions and open orders.
async fn venue(
    state: web::Data<ServerState>,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (engine, body) = post_body(&state, &req, &name, payload).await?;
    let report: rustybt_actors::domain::VenueReport = parse(&body, VENUE_DECIMALS)?;
    engine.venue_report(report).await?;
    Ok(HttpResponse::Accepted().json(Accepted::ANSWER))
}

async fn heartbeat(
    state: web::Data<ServerState>,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (engine, body) = post_body(&state, &req, &name, payload).await?;
    // An empty body is `{}`.
    let beat: HeartbeatRequest = if body.iter().all(u8::is_ascii_whitespace) {
        HeartbeatRequest::default()
    } else {
        parse(&body, &[])?
    };
    engine.heartbeat(beat.timestamp)?;
    Ok(HttpResponse::Accepted().json(Accepted::ANSWER))
}

async fn halt(
    state: web::Data<ServerState>,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (engine, body) = post_body(&state, &req, &name, payload).await?;
    let b: HaltRequest = parse(&body, &[])?;
    // Read before the halt: a halt while halted keeps the state and its first reason, and the
    // operator should hear that theirs went to the audit trail only.
    let already_halted = engine.state() == EngineState::ManuallyHalted;
    let record = engine.operator().halt(&b.operator, &b.reason).await?;
    // The halt is durable now: its answer must not be lost to a status that cannot be read.
    let after = match engine.status().await {
        Ok(status) => HaltedState::Status(Box::new(status.into())),
        Err(_) => HaltedState::Record(Box::new(record)),
    };
    Ok(HttpResponse::Ok().json(HaltAnswer {
        after,
        already_halted,
    }))
}

async fn reset(
    state: web::Data<ServerState>,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (engine, body) = post_body(&state, &req, &name, payload).await?;
    let b: ResetRequest = parse(&body, &[])?;
    let ticket = engine
        .operator()
        .request_reset(&b.operator, b.reason.as_deref())
        .await?;
    Ok(HttpResponse::Accepted().json(ticket))
}

async fn reset_confirm(
    state: web::Data<ServerState>,
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (engine, body) = post_body(&state, &req, &name, payload).await?;
    let b: ConfirmResetRequest = parse(&body, &[])?;
    engine
        .operator()
        .confirm_reset(&b.operator, &b.confirmation_token, b.rebase_high_water_mark)
        .await?;
    Ok(HttpResponse::Ok().json(StrategyStatus::from(engine.status().await?)))
}

/// `GET /api/v1/firm`: every host and strategy with its state, the firm breakers, the figures.
async fn firm_view(
    state: web::Data<ServerState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    state.authorize_get(&req)?;
    let view = state.firm().await?.view().await?;
    Ok(HttpResponse::Ok().json(FirmStatus::from(view)))
}

/// `POST /api/v1/halt`: durable when answered; applied on this host before the answer.
async fn firm_halt(
    state: web::Data<ServerState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    state.authorize_post(&req)?;
    let body = read_body(&req, payload).await?;
    let b: FirmHaltRequest = parse(&body, &[])?;
    let outcome = state
        .firm()
        .await?
        .halt(&b.operator, &b.reason, b.desk.as_deref())
        .await?;
    Ok(HttpResponse::Ok().json(FirmHaltAnswer {
        halted: outcome
            .halted
            .into_iter()
            .map(|s| HostStrategyRef {
                host_id: s.host_id,
                name: s.name,
            })
            .collect(),
        pending_hosts: outcome.pending_hosts,
        state: outcome.state,
    }))
}

/// `DELETE /api/v1/firm/hosts/{host_id}`: a decommissioned host's strategies leave the firm's
/// figures (value and baselines alike); audited with the operator.
async fn firm_remove_host(
    state: web::Data<ServerState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    state.authorize_post(&req)?;
    let body = read_body(&req, payload).await?;
    let b: FirmRemoveHostRequest = parse(&body, &[])?;
    let removed = state
        .firm()
        .await?
        .remove_host(&b.operator, &path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(removed))
}

/// `POST /api/v1/reset`: the first step of a firm (or desk) reset.
async fn firm_reset(
    state: web::Data<ServerState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    state.authorize_post(&req)?;
    let body = read_body(&req, payload).await?;
    let b: FirmResetRequest = parse(&body, &[])?;
    let ticket = state
        .firm()
        .await?
        .request_reset(&b.operator, b.desk.as_deref())
        .await?;
    Ok(HttpResponse::Accepted().json(FirmResetTicketView {
        confirmation_token: ticket.confirmation_token,
        expires_at: ticket.expires_at,
    }))
}

/// `POST /api/v1/reset/confirm`: lifts the firm's halts the request named.
async fn firm_reset_confirm(
    state: web::Data<ServerState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    state.authorize_post(&req)?;
    let body = read_body(&req, payload).await?;
    let b: FirmConfirmRequest = parse(&body, &[])?;
    let firm = state.firm().await?;
    firm.confirm_reset(&b.operator, &b.confirmation_token)
        .await?;
    Ok(HttpResponse::Ok().json(FirmStatus::from(firm.view().await?)))
}
