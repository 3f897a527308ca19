//! `rustybt_live._native`: the rustybt live engine inside a Python process.
//!
//! The public API is the Python package `rustybt_live` (`python/rustybt_live/`); this module is
//! its engine half. It starts the same engines as `rustybt live run` (the same configuration
//! loader, sled checkpoint and alert channels: [`rustybt_actors::config::start::start_engines`]) on the
//! builder's own thread, and speaks the HTTP API's bodies: each call takes the JSON body the
//! API's endpoint takes, read by the API's own parser ([`rustybt_api::parse`]), and
//! answers the JSON the endpoint answers. So a bad value is refused with the same code and
//! message as over HTTP, and the Python result classes are built from the same JSON whether
//! the engine is in-process or a sidecar.
//!
//! `check_order` also has a fast path that takes the order's fields directly (no JSON); any
//! field it cannot read as is sends the caller to the JSON path, whose parser says why.
//!
//! The GIL is released for every engine call ([`Python::detach`]). Asynchronous engine calls
//! are messages to the engine's actors (on the builder's thread); the calling thread waits for
//! the answer on a small current-thread tokio runtime of its own, outside the GIL.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;
use rust_decimal::Decimal;
use rustybt_actors::builder::Engines;
use rustybt_actors::config::Config;
use rustybt_actors::decision::OrderDecision;
use rustybt_actors::domain::{ErrorReport, Fill, OrderRequest, PortfolioSnapshot, Side};
use rustybt_actors::engine::EngineHandle;
use rustybt_actors::events::EngineEvent;
use rustybt_actors::state_machine::EngineState;
use rustybt_api::{
    parse, Accepted, ApiError, ConfirmResetRequest, HaltAnswer, HaltRequest, HaltedState,
    HeartbeatRequest, OrderAnswer, OrderDoneRequest, PricesRequest, ResetRequest, StrategyStatus,
    FILL_DECIMALS, ORDER_DECIMALS, PRICES_DECIMALS, SNAPSHOT_DECIMALS,
};
use serde::Serialize;
use std::str::FromStr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

pyo3::import_exception!(rustybt_live._errors, RustybtError);
pyo3::import_exception!(rustybt_live._errors, InputError);
pyo3::import_exception!(rustybt_live._errors, ConfigError);
pyo3::import_exception!(rustybt_live._errors, ConflictError);
pyo3::import_exception!(rustybt_live._errors, NotFoundError);
pyo3::import_exception!(rustybt_live._errors, UnavailableError);
pyo3::import_exception!(rustybt_live._errors, AuthError);
pyo3::import_exception!(rustybt_live._errors, ClosedError);

/// The API's error as the Python exception of its HTTP status, with the same code and message.
fn api_err(e: ApiError) -> PyErr {
    let status = e.status;
    let args = (e.message, e.code, status);
    match status {
        400 | 413 | 422 => InputError::new_err(args),
        401 => AuthError::new_err(args),
        404 => NotFoundError::new_err(args),
        409 => ConflictError::new_err(args),
        503 => UnavailableError::new_err(args),
        _ => RustybtError::new_err(args),
    }
}

fn to_json<T: Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| PyValueError::new_err(e.to_string()))
}

fn closed() -> PyErr {
    ClosedError::new_err(("the engine is closed", "engine_closed", Option::<u16>::None))
}

/// The Python classes the answers are built from, looked up once.
struct Types {
    order_decision: Py<PyAny>,
    accepted: Py<PyAny>,
}

static TYPES: PyOnceLock<Types> = PyOnceLock::new();

fn types(py: Python<'_>) -> PyResult<&'static Types> {
    TYPES.get_or_try_init(py, || {
        let m = py.import("rustybt_live._types")?;
        Ok(Types {
            order_decision: m.getattr("OrderDecision")?.unbind(),
            accepted: m.getattr("ACCEPTED")?.unbind(),
        })
    })
}

/// The decision as the Python `OrderDecision`, read from the API's answer so that every field
/// the API carries (`check`, `limit` and `value` too, once the engine has them) is there.
fn decision_object(py: Python<'_>, decision: OrderDecision) -> PyResult<Py<PyAny>> {
    let t = types(py)?;
    if decision.is_accepted() {
        return Ok(t.accepted.clone_ref(py));
    }
    let answer = serde_json::to_value(OrderAnswer::from(decision))
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let field = |name: &str| -> Option<String> {
        match answer.get(name) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    };
    let args = (
        false,
        field("reason"),
        field("state"),
        field("breaker"),
        field("check"),
        field("limit"),
        field("value"),
    );
    let obj = t.order_decision.bind(py).call_method1("_from_wire", args)?;
    Ok(obj.unbind())
}

/// One strategy's engine, started in this process.
#[pyclass(module = "rustybt_live._native", frozen)]
struct Engine {
    name: String,
    data_dir: String,
    handle: RwLock<Option<EngineHandle>>,
    engines: Mutex<Option<Engines>>,
    rt: Arc<tokio::runtime::Runtime>,
}

impl Engine {
    fn handle(&self) -> PyResult<EngineHandle> {
        self.handle
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(closed)
    }

    /// Runs `f` on the engine handle with the GIL released, waiting on this runtime.
    fn run<T, F, Fut>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        F: FnOnce(EngineHandle) -> Fut + Send,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
        T: Send,
    {
        let handle = self.handle()?;
        let rt = self.rt.clone();
        py.detach(move || rt.block_on(f(handle))).map_err(api_err)
    }

    fn shutdown(&self) -> Result<(), String> {
        self.handle
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let engines = self
            .engines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match engines {
            Some(engines) => self
                .rt
                .block_on(engines.shutdown())
                .map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}

fn read_money(value: &Bound<'_, PyAny>) -> Option<Decimal> {
    if let Ok(s) = value.cast::<PyString>() {
        return Decimal::from_str(s.to_str().ok()?).ok();
    }
    // decimal.Decimal: its text ("1E+2" is left to the JSON path).
    if value.get_type().name().ok()?.to_str().ok()? == "Decimal" {
        return Decimal::from_str(value.str().ok()?.to_str().ok()?).ok();
    }
    None
}

fn read_time(value: &Bound<'_, PyAny>) -> Option<Option<chrono::DateTime<chrono::Utc>>> {
    if value.is_none() {
        return Some(None);
    }
    let text = match value.cast::<PyString>() {
        Ok(s) => s.to_str().ok()?.to_string(),
        Err(_) => value
            .call_method0("isoformat")
            .ok()?
            .cast::<PyString>()
            .ok()?
            .to_str()
            .ok()?
            .to_string(),
    };
    let t = chrono::DateTime::parse_from_rfc3339(&text).ok()?;
    Some(Some(t.with_timezone(&chrono::Utc)))
}

fn read_text(value: &Bound<'_, PyAny>) -> Option<String> {
    value
        .cast::<PyString>()
        .ok()?
        .to_str()
        .ok()
        .map(String::from)
}

/// The order, when every field reads as it is; `None` sends the caller to the JSON path.
fn fast_order(
    order_id: &Bound<'_, PyAny>,
    asset: &Bound<'_, PyAny>,
    side: &Bound<'_, PyAny>,
    quantity: &Bound<'_, PyAny>,
    limit_price: &Bound<'_, PyAny>,
    timestamp: &Bound<'_, PyAny>,
) -> Option<OrderRequest> {
    let side = match side.cast::<PyString>().ok()?.to_str().ok()? {
        "buy" => Side::Buy,
        "sell" => Side::Sell,
        _ => return None,
    };
    let limit_price = if limit_price.is_none() {
        None
    } else {
        Some(read_money(limit_price)?)
    };
    Some(OrderRequest {
        order_id: read_text(order_id)?,
        asset: read_text(asset)?,
        side,
        quantity: read_money(quantity)?,
        limit_price,
        timestamp: read_time(timestamp)?,
        time_in_force: Default::default(),
    })
}

#[pymethods]
impl Engine {
    /// Loads the configuration as `live run` does and starts the engine of `strategy` (the
    /// file's only strategy when `None`) on a thread of its own.
    #[staticmethod]
    #[pyo3(signature = (path, strategy=None))]
    fn from_config(
        py: Python<'_>,
        path: std::path::PathBuf,
        strategy: Option<String>,
    ) -> PyResult<Engine> {
        let config = Config::load(&path).map_err(|e| {
            ConfigError::new_err((e.to_string(), "invalid_config", Option::<u16>::None))
        })?;
        let names: Vec<String> = config.strategies.iter().map(|s| s.name.clone()).collect();
        let settings = match &strategy {
            Some(name) => config.strategies.iter().find(|s| &s.name == name),
            None if config.strategies.len() == 1 => config.strategies.first(),
            None => None,
        }
        .cloned()
        .ok_or_else(|| {
            let problem = match &strategy {
                Some(name) => format!(
                    "strategy: no strategy named {name:?} in {} (it has: {})",
                    path.display(),
                    names.join(", ")
                ),
                None => format!(
                    "strategy: {} has {} strategies ({}); name the one to run",
                    path.display(),
                    names.len(),
                    names.join(", ")
                ),
            };
            ConfigError::new_err((problem, "invalid_config", Option::<u16>::None))
        })?;
        let name = settings.name.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| UnavailableError::new_err((e.to_string(), "engine_unavailable", 503)))?;
        let started =
            py.detach(|| rustybt_actors::config::start::start_engines(&config, vec![settings]));
        let engines = started.map_err(|e| {
            if e.downcast_ref::<rustybt_actors::config::ConfigError>()
                .is_some()
            {
                ConfigError::new_err((e.to_string(), "invalid_config", Option::<u16>::None))
            } else {
                UnavailableError::new_err((e.to_string(), "checkpoint_unavailable", 503))
            }
        })?;
        let handle = engines.get(&name).cloned().ok_or_else(|| {
            UnavailableError::new_err(("engine did not start", "engine_unavailable", 503))
        })?;
        Ok(Engine {
            name,
            data_dir: config.data_dir.display().to_string(),
            handle: RwLock::new(Some(handle)),
            engines: Mutex::new(Some(engines)),
            rt: Arc::new(rt),
        })
    }

    /// The strategy's name.
    #[getter]
    fn name(&self) -> String {
        self.name.clone()
    }

    /// The checkpoint folder.
    #[getter]
    fn data_dir(&self) -> String {
        self.data_dir.clone()
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.handle
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }

    /// The state orders are judged against now, read without a message.
    fn state(&self) -> PyResult<String> {
        Ok(self.handle()?.state().as_str().to_string())
    }

    /// The order gate, fast path: `None` when a field is not as the fast path reads it (the
    /// caller then sends the JSON body to `check_order_body`).
    #[pyo3(signature = (order_id, asset, side, quantity, limit_price, timestamp))]
    // One argument per field of the API's order: the fast path takes them as they are.
    #[allow(clippy::too_many_arguments)]
    fn check_order(
        &self,
        py: Python<'_>,
        order_id: &Bound<'_, PyAny>,
        asset: &Bound<'_, PyAny>,
        side: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        limit_price: &Bound<'_, PyAny>,
        timestamp: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Py<PyAny>>> {
        let Some(order) = fast_order(order_id, asset, side, quantity, limit_price, timestamp)
        else {
            return Ok(None);
        };
        let handle = self.handle()?;
        let decision = py
            .detach(move || handle.check_order(order))
            .map_err(|e| api_err(e.into()))?;
        decision_object(py, decision).map(Some)
    }

    /// The order gate: `POST .../orders`'s body.
    fn check_order_body(&self, py: Python<'_>, body: &str) -> PyResult<Py<PyAny>> {
        let order: OrderRequest = parse(body.as_bytes(), ORDER_DECIMALS).map_err(api_err)?;
        let handle = self.handle()?;
        let decision = py
            .detach(move || handle.check_order(order))
            .map_err(|e| api_err(e.into()))?;
        decision_object(py, decision)
    }

    /// `POST .../portfolio`: waits until every portfolio breaker has judged it.
    fn submit_snapshot(&self, py: Python<'_>, body: &str) -> PyResult<String> {
        let snapshot: PortfolioSnapshot =
            parse(body.as_bytes(), SNAPSHOT_DECIMALS).map_err(api_err)?;
        self.run(py, |h| async move {
            h.submit_snapshot(snapshot).await?;
            Ok(())
        })?;
        to_json(&Accepted::ANSWER)
    }

    /// `POST .../fills`.
    fn report_fill(&self, py: Python<'_>, body: &str) -> PyResult<String> {
        let fill: Fill = parse(body.as_bytes(), FILL_DECIMALS).map_err(api_err)?;
        let handle = self.handle()?;
        py.detach(move || handle.report_fill(fill))
            .map_err(|e| api_err(e.into()))?;
        to_json(&Accepted::ANSWER)
    }

    /// `POST .../errors`: waits until the error-rate breaker has judged it.
    fn report_error(&self, py: Python<'_>, body: &str) -> PyResult<String> {
        let error: ErrorReport = parse(body.as_bytes(), &[]).map_err(api_err)?;
        self.run(py, |h| async move {
            h.report_error(error).await?;
            Ok(())
        })?;
        to_json(&Accepted::ANSWER)
    }

    /// `POST .../orders/{order_id}/done`: the open order ends; an id the gate never
    /// accepted is the API's 404.
    fn order_done(&self, py: Python<'_>, order_id: &str, body: &str) -> PyResult<String> {
        let done: OrderDoneRequest = parse(body.as_bytes(), &[]).map_err(api_err)?;
        let handle = self.handle()?;
        let order_id = order_id.to_string();
        py.detach(move || handle.order_done(&order_id, done.status, done.timestamp))
            .map_err(|e| api_err(e.into()))?;
        to_json(&Accepted::ANSWER)
    }

    /// `POST .../prices`: reference prices for the pre-trade checks.
    fn post_prices(&self, py: Python<'_>, body: &str) -> PyResult<String> {
        let update: PricesRequest = parse(body.as_bytes(), PRICES_DECIMALS).map_err(api_err)?;
        let handle = self.handle()?;
        let prices = update
            .prices
            .into_iter()
            .map(|p| (p.asset, p.price))
            .collect();
        py.detach(move || handle.post_prices(update.timestamp, prices))
            .map_err(|e| api_err(e.into()))?;
        to_json(&Accepted::ANSWER)
    }

    /// `POST .../heartbeat`: restarts the dead-man's switch's timer.
    fn heartbeat(&self, py: Python<'_>, body: &str) -> PyResult<String> {
        let beat: HeartbeatRequest = if body.trim().is_empty() {
            HeartbeatRequest::default()
        } else {
            parse(body.as_bytes(), &[]).map_err(api_err)?
        };
        let handle = self.handle()?;
        py.detach(move || handle.heartbeat(beat.timestamp))
            .map_err(|e| api_err(e.into()))?;
        to_json(&Accepted::ANSWER)
    }

    /// `POST .../halt`: answers the API's `HaltAnswer` JSON. Durable when it returns.
    fn halt(&self, py: Python<'_>, body: &str) -> PyResult<String> {
        let b: HaltRequest = parse(body.as_bytes(), &[]).map_err(api_err)?;
        let answer = self.run(py, |h| async move {
            let already_halted = h.state() == EngineState::ManuallyHalted;
            let record = h.operator().halt(&b.operator, &b.reason).await?;
            let after = match h.status().await {
                Ok(status) => HaltedState::Status(Box::new(status.into())),
                Err(_) => HaltedState::Record(Box::new(record)),
            };
            Ok(HaltAnswer {
                after,
                already_halted,
            })
        })?;
        to_json(&answer)
    }

    /// `POST .../reset`: answers the reset ticket JSON.
    fn request_reset(&self, py: Python<'_>, body: &str) -> PyResult<String> {
        let b: ResetRequest = parse(body.as_bytes(), &[]).map_err(api_err)?;
        let ticket = self.run(py, |h| async move {
            Ok(h.operator()
                .request_reset(&b.operator, b.reason.as_deref())
                .await?)
        })?;
        to_json(&ticket)
    }

    /// `POST .../reset/confirm`: answers the status JSON. Durable when it returns.
    fn confirm_reset(&self, py: Python<'_>, body: &str) -> PyResult<String> {
        let b: ConfirmResetRequest = parse(body.as_bytes(), &[]).map_err(api_err)?;
        let status = self.run(py, |h| async move {
            h.operator()
                .confirm_reset(&b.operator, &b.confirmation_token, b.rebase_high_water_mark)
                .await?;
            Ok(StrategyStatus::from(h.status().await?))
        })?;
        to_json(&status)
    }

    /// `GET .../{name}`: the status JSON.
    fn status(&self, py: Python<'_>) -> PyResult<String> {
        let status = self.run(py, |h| async move {
            Ok(StrategyStatus::from(h.status().await?))
        })?;
        to_json(&status)
    }

    /// `GET .../audit`: the audit trail JSON, oldest first.
    fn audit(&self, py: Python<'_>) -> PyResult<String> {
        let trail = self.run(py, |h| async move { Ok(h.audit().await?) })?;
        to_json(&trail)
    }

    /// Every control event (state changes, trips, halts, resets, clears) from now on.
    fn subscribe(&self) -> PyResult<EventStream> {
        let rx = self.handle()?.subscribe();
        Ok(EventStream {
            rx: Mutex::new(Some(rx)),
            rt: self.rt.clone(),
        })
    }

    /// Flushes the checkpoint and stops the engine's threads; the sled folder is free when
    /// this returns. Calling it again does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.shutdown())
            .map_err(|e| UnavailableError::new_err((e, "checkpoint_unavailable", 503)))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// The control events of one engine, in order, none dropped.
#[pyclass(module = "rustybt_live._native", frozen)]
struct EventStream {
    rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<EngineEvent>>>,
    rt: Arc<tokio::runtime::Runtime>,
}

#[pymethods]
impl EventStream {
    /// Waits up to `timeout` seconds (forever when `None`) for the next event. Answers
    /// `(ended, json)`: `(False, None)` on timeout, `(True, None)` once the engine is closed.
    #[pyo3(signature = (timeout=None))]
    fn next(&self, py: Python<'_>, timeout: Option<f64>) -> (bool, Option<String>) {
        py.detach(|| {
            let mut guard = self.rx.lock().unwrap_or_else(|p| p.into_inner());
            let Some(rx) = guard.as_mut() else {
                return (true, None);
            };
            let got = match timeout {
                Some(t) => {
                    let wait = Duration::from_secs_f64(t.max(0.0));
                    match self
                        .rt
                        .block_on(async { tokio::time::timeout(wait, rx.recv()).await })
                    {
                        Ok(got) => got,
                        Err(_) => return (false, None),
                    }
                }
                None => self.rt.block_on(rx.recv()),
            };
            match got {
                Some(event) => (false, serde_json::to_string(&event).ok()),
                None => {
                    guard.take();
                    (true, None)
                }
            }
        })
    }

    /// Stops listening.
    fn close(&self) {
        self.rx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_class::<EventStream>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
