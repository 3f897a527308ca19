// The rustybt dashboard: reads the API of API.md, refreshes every 3 s and on every server-sent
// event, and posts halts and resets with the operator's token. Money is shown as the decimal
// strings the API sends; numbers are used only to place chart points.
"use strict";
const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "rustybt-token";
let strategy = null, source = null, ticket = null, refreshing = null, last = null;

// ---- the token field (sessionStorage: gone when the tab closes) ----
$("token").value = sessionStorage.getItem(TOKEN_KEY) || "";
$("token").addEventListener("input", () => {
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").classList.remove("invalid");
});

// ---- small helpers ----
function say(text, kind, origin) {
  const m = $("message");
  m.textContent = text || "";
  m.className = kind || "";
  m.dataset.kind = kind || "";
  m.dataset.origin = origin || "";
}
function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text == null || text === "" ? "–" : String(text);
  if (cls) td.className = cls;
  td.title = td.textContent;
  row.appendChild(td);
  return td;
}
function fill(id, rows, render, empty) {
  const body = $(id);
  body.replaceChildren();
  for (const r of rows) { const tr = document.createElement("tr"); render(tr, r); body.appendChild(tr); }
  if (!rows.length && empty) {
    const tr = document.createElement("tr"), td = document.createElement("td");
    td.colSpan = body.parentElement.querySelectorAll("th").length; td.className = "empty"; td.textContent = empty;
    tr.appendChild(td); body.appendChild(tr);
  }
}
function time(t) { if (!t) return "–"; const d = new Date(t); return isNaN(d) ? t : d.toLocaleTimeString(); }
function when(t) { if (!t) return "–"; const d = new Date(t); return isNaN(d) ? t : d.toLocaleString(); }
function ago(t) {
  const s = Math.round((Date.now() - Date.parse(t)) / 1000);
  if (!isFinite(s) || s < 0) return "";
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}
// A decimal ratio string ("-0.1042") as a percentage string ("-10.42%"), by moving the point.
function pct(ratio) {
  if (ratio == null) return "–";
  const s = String(ratio), neg = s.startsWith("-");
  const [i, f = ""] = s.replace("-", "").split(".");
  const p = (i + (f + "00").slice(0, 2)).replace(/^0+(?=\d)/, "") + "." + (f + "0000").slice(2, 4);
  return (neg ? "-" : "") + p + "%";
}
function sign(el, v) { el.classList.remove("neg", "pos"); if (v != null && !/^-?0(\.0*)?$/.test(String(v))) el.classList.add(String(v).startsWith("-") ? "neg" : "pos"); }
function isRatio(b) { return b.type === "drawdown" || (b.type === "daily_loss" && b.limit != null && /^-?0\./.test(b.limit)); }
const enc = () => encodeURIComponent(strategy);

// ---- the API ----
class ApiError extends Error { constructor(status, msg) { super(msg); this.status = status; } }
async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body) headers["Content-Type"] = "application/json";
  const token = $("token").value.trim();
  if (token) headers.Authorization = "Bearer " + token;
  let r;
  try { r = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined, cache: "no-store" }); }
  catch (e) { throw new ApiError(0, "the engine does not answer (" + e.message + ")"); }
  let data = null; try { data = await r.json(); } catch (_) { /* an empty or non-JSON body */ }
  if (!r.ok) {
    const msg = data && data.message ? data.message : r.statusText;
    if (r.status === 401) {
      $("token").classList.add("invalid");
      throw new ApiError(401, `401 Unauthorized: ${token ? "the API token was refused" : "no API token given"}. Enter RUSTYBT_API_TOKEN in the token field at the top. (${msg})`);
    }
    throw new ApiError(r.status, `${r.status}: ${msg}`);
  }
  return data;
}
function fail(what, e) { say(`${what} failed — ${e.message}`, e.status === 401 ? "auth" : "error"); }

// ---- strategies ----
async function loadStrategies() {
  const list = await api("GET", "/api/v1/strategies");
  const wanted = new URLSearchParams(location.search).get("strategy");
  strategy = list.some((s) => s.name === wanted) ? wanted : (list[0] && list[0].name);
  showStrategies(list);
  if (!strategy) { say("No strategy is configured.", "error"); return; }
  subscribe();
  refresh();
}
function showStrategies(list) {
  const sel = $("strategy-select");
  const same = sel.options.length === list.length && list.every((s, i) => sel.options[i].value === s.name);
  if (!same) sel.replaceChildren(...list.map((s) => { const o = document.createElement("option"); o.value = s.name; return o; }));
  list.forEach((s, i) => { sel.options[i].textContent = `${s.name} — ${s.state}`; sel.options[i].dataset.state = s.state; });
  sel.value = strategy;
}
$("strategy-select").addEventListener("change", (e) => {
  strategy = e.target.value; ticket = null; last = null;
  history.replaceState(null, "", "?strategy=" + enc());
  say("");
  subscribe();
  refresh();
});

// ---- live updates: server-sent events, plus the periodic refresh ----
function subscribe() {
  if (source) source.close();
  $("live").classList.remove("on");
  if (!strategy || !window.EventSource) return;
  source = new EventSource(`/api/v1/strategies/${enc()}/events`);
  let pending = null;
  const soon = () => { if (!pending) pending = setTimeout(() => { pending = null; refresh(); }, 150); };
  source.onopen = () => { $("live").classList.add("on"); $("live").title = "live updates: connected"; };
  source.onerror = () => { $("live").classList.remove("on"); $("live").title = "live updates: reconnecting"; };
  for (const ev of ["hello", "state_changed", "circuit_breaker_tripped", "manual_halt", "reset_requested", "reset_confirmed", "breaker_cleared", "snapshot"]) source.addEventListener(ev, soon);
}

// ---- rendering ----
function renderBanner(s) {
  $("banner").className = "banner state-" + s.state;
  $("banner").dataset.state = s.state;
  $("state").textContent = s.state;
  $("state-reason").textContent = s.reason || (s.state === "NORMAL" ? "Trading: orders pass the gate." : "");
  $("checkpoint-error").textContent = s.checkpoint_error ? "Checkpoint problem: " + s.checkpoint_error : "";
  $("since").textContent = `${when(s.since)}${ago(s.since) ? " (" + ago(s.since) + ")" : ""}`;
  const pr = s.pending_reset;
  $("pending-reset").textContent = pr ? `Reset requested by ${pr.operator}; it lapses at ${time(pr.expires_at)} unless confirmed.` : "";
  $("reset-request").disabled = s.state === "NORMAL";
  $("reset-request").title = s.state === "NORMAL" ? "Nothing to reset: the strategy is trading" : "Request a reset, then confirm it";
}

function renderBreakers(breakers) {
  const box = $("breakers"); box.replaceChildren();
  for (const b of breakers) {
    const d = document.createElement("div");
    const tripped = b.status === "tripped";
    d.className = "breaker" + (tripped ? " tripped" : "") + (b.enabled === false ? " disabled" : "");
    d.dataset.breaker = b.type; d.dataset.status = b.status; d.dataset.testid = "breaker-" + b.type;
    const head = document.createElement("div"); head.className = "head";
    const name = document.createElement("span"); name.className = "name"; name.textContent = b.type.replace(/_/g, " ");
    const st = document.createElement("span"); st.className = "status";
    st.textContent = b.enabled === false ? "OFF" : tripped ? "TRIPPED" : b.ready === false ? "WAITING" : "OK";
    head.append(name, st);
    const vl = document.createElement("div"); vl.className = "vl";
    const ratio = isRatio(b);
    const show = (v) => (v == null ? "–" : ratio ? pct(v) : v);
    if (b.enabled === false) vl.textContent = "switched off";
    else if (b.type === "manual") vl.textContent = b.details && b.details.last_halt_operator ? `${b.details.last_halt_operator}: ${b.details.last_halt_reason}` : "no halt";
    else vl.textContent = `${show(b.value)} / limit ${show(b.limit)}`;
    vl.title = vl.textContent;
    d.append(head, vl);
    if (b.tripped_at) { const t = document.createElement("div"); t.className = "at"; t.textContent = "tripped " + time(b.tripped_at); d.append(t); }
    box.appendChild(d);
  }
}

function renderErrorFilter(totals) {
  const sel = $("error-filter");
  for (const o of sel.options) if (o.value) o.textContent = `${o.value} (${(totals && totals[o.value]) || 0})`;
}

function render(s) {
  last = s;
  renderBanner(s);
  const p = s.portfolio;
  $("value").textContent = p.value ?? "–";
  $("hwm").textContent = p.high_water_mark ?? "–";
  $("drawdown").textContent = pct(p.drawdown); sign($("drawdown"), p.drawdown);
  $("pnl").textContent = p.daily_pnl ?? "–"; sign($("pnl"), p.daily_pnl);
  $("as-of").textContent = p.as_of ? `last snapshot ${time(p.as_of)} ${ago(p.as_of) ? "(" + ago(p.as_of) + ")" : ""}` : "no snapshot yet";
  renderBreakers(s.breakers || []);
  fill("positions", p.positions || [], (tr, x) => { cell(tr, x.asset); cell(tr, x.quantity, "num"); cell(tr, x.market_price, "num"); cell(tr, x.market_value, "num"); }, "no positions");
  fill("orders", (s.recent_orders || []).slice(-60).reverse(), (tr, o) => {
    cell(tr, time(o.at)); cell(tr, o.order.order_id); cell(tr, o.order.asset); cell(tr, o.order.side); cell(tr, o.order.quantity, "num");
    const d = o.decision; cell(tr, d.decision === "accepted" ? "accepted" : "rejected: " + (d.reason || ""), "grow " + d.decision);
  }, "no orders yet");
  fill("fills", (s.recent_fills || []).slice(-60).reverse(), (tr, f) => { cell(tr, time(f.timestamp)); cell(tr, f.order_id); cell(tr, f.asset); cell(tr, f.side); cell(tr, f.quantity, "num"); cell(tr, f.price, "num"); }, "no fills yet");
  renderErrors();
  renderErrorFilter(s.error_totals);
  const alerts = (s.alerts && s.alerts.recent) || [];
  fill("alerts", alerts.slice(-40).reverse(), (tr, a) => {
    cell(tr, time(a.at)); cell(tr, a.channel); cell(tr, a.status, a.status === "sent" ? "accepted" : a.status === "suppressed" ? "" : "rejected"); cell(tr, a.event_type); cell(tr, a.error, "grow");
  }, s.alerts && s.alerts.channels && s.alerts.channels.length ? "no alerts sent" : "no alert channel configured");
  drawChart(p.history || [], p.high_water_mark);
  $("updated").textContent = "updated " + new Date().toLocaleTimeString();
}

function renderErrors() {
  if (!last) return;
  const kind = $("error-filter").value;
  const rows = (last.recent_errors || []).filter((e) => !kind || e.kind === kind).slice(-60).reverse();
  fill("errors", rows, (tr, e) => { tr.dataset.kind = e.kind; cell(tr, time(e.received_at)); cell(tr, e.kind); cell(tr, e.message, "grow"); }, kind ? `no ${kind} errors` : "no errors");
}
$("error-filter").addEventListener("change", renderErrors);

function renderAudit(audit) {
  fill("audit", audit.slice(-60).reverse(), (tr, a) => {
    cell(tr, time(a.at)); cell(tr, `${a.from} → ${a.to}`); cell(tr, a.cause); cell(tr, a.operator);
    const d = a.details || {};
    cell(tr, d.reason || d.breaker || Object.entries(d).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" "), "grow");
  }, "no transitions yet");
}

// The portfolio value over the recent history and the high-water mark. Numbers only place
// pixels; the labels are the API's decimal strings.
function drawChart(history, hwm) {
  const c = $("chart"), ctx = c.getContext("2d"), r = window.devicePixelRatio || 1;
  const cssW = c.clientWidth || 600, cssH = c.clientHeight || 200;
  c.width = Math.round(cssW * r); c.height = Math.round(cssH * r);
  ctx.setTransform(r, 0, 0, r, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  ctx.font = "11px system-ui, sans-serif";
  if (history.length < 2) { ctx.fillStyle = "#6b7280"; ctx.font = "13px system-ui, sans-serif"; ctx.fillText("waiting for portfolio snapshots…", 12, 24); return; }
  const xs = history.map((p) => Date.parse(p[0])), ys = history.map((p) => Number(p[1]));
  let iMax = 0, iMin = 0;
  ys.forEach((y, i) => { if (y > ys[iMax]) iMax = i; if (y < ys[iMin]) iMin = i; });
  const h = hwm != null ? Number(hwm) : null;
  const top = Math.max(ys[iMax], h ?? -Infinity), bottom = ys[iMin];
  const pad = (top - bottom) * 0.08 || Math.abs(top) * 0.001 || 1, y0 = bottom - pad, y1 = top + pad;
  const x0 = xs[0], x1 = xs[xs.length - 1] > x0 ? xs[xs.length - 1] : x0 + 1;
  const L = 78, R = 8, T = 8, B = 20;
  const X = (x) => L + (x - x0) / (x1 - x0) * (cssW - L - R), Y = (y) => T + (y1 - y) / (y1 - y0) * (cssH - T - B);
  ctx.strokeStyle = "#e5e7eb"; ctx.lineWidth = 1; ctx.beginPath(); ctx.moveTo(L, T); ctx.lineTo(L, cssH - B); ctx.lineTo(cssW - R, cssH - B); ctx.stroke();
  ctx.fillStyle = "#6b7280"; ctx.textAlign = "right";
  ctx.fillText(history[iMax][1], L - 4, Math.max(T + 9, Y(ys[iMax]) + 4));
  if (iMin !== iMax) ctx.fillText(history[iMin][1], L - 4, Math.min(cssH - B, Y(ys[iMin]) + 4));
  ctx.textAlign = "left"; ctx.fillText(new Date(x0).toLocaleTimeString(), L, cssH - 5);
  ctx.textAlign = "right"; ctx.fillText(new Date(x1).toLocaleTimeString(), cssW - R, cssH - 5);
  if (h != null) {
    ctx.strokeStyle = "#9ca3af"; ctx.setLineDash([6, 4]); ctx.beginPath(); ctx.moveTo(L, Y(h)); ctx.lineTo(cssW - R, Y(h)); ctx.stroke(); ctx.setLineDash([]);
    ctx.fillStyle = "#6b7280"; ctx.textAlign = "right"; ctx.fillText("high-water mark " + hwm, cssW - R - 2, Math.max(T + 9, Y(h) - 4));
  }
  ctx.strokeStyle = "#2563eb"; ctx.lineWidth = 2; ctx.lineJoin = "round"; ctx.beginPath();
  xs.forEach((x, i) => (i ? ctx.lineTo(X(x), Y(ys[i])) : ctx.moveTo(X(x), Y(ys[i])))); ctx.stroke();
  ctx.textAlign = "left";
}

async function refresh() {
  if (!strategy) return;
  if (refreshing) return refreshing;
  const name = strategy, path = `/api/v1/strategies/${enc()}`;
  refreshing = (async () => {
    try {
      const [s, audit, list] = await Promise.all([api("GET", path), api("GET", path + "/audit"), api("GET", "/api/v1/strategies")]);
      if (name !== strategy) return;
      render(s); renderAudit(audit); showStrategies(list);
      if ($("message").dataset.origin === "refresh") say("");
    } catch (e) { say("Cannot read the status — " + e.message, e.status === 401 ? "auth" : "error", "refresh"); }
  })();
  try { await refreshing; } finally { refreshing = null; }
}

// ---- halt: a confirmation with operator and reason ----
$("halt-button").addEventListener("click", () => {
  const dlg = $("halt-dialog");
  dlg.returnValue = "";
  $("halt-strategy").textContent = strategy || "";
  $("halt-reason").value = "";
  $("halt-confirm").disabled = false;
  dlg.showModal();
  ($("halt-operator").value ? $("halt-reason") : $("halt-operator")).focus();
});
$("halt-dialog").addEventListener("close", async () => {
  const dlg = $("halt-dialog");
  if (dlg.returnValue !== "halt") return;
  dlg.returnValue = "";
  $("halt-button").disabled = true;
  try {
    const s = await api("POST", `/api/v1/strategies/${enc()}/halt`, { operator: $("halt-operator").value.trim(), reason: $("halt-reason").value.trim() });
    say(`Halted by ${$("halt-operator").value.trim()}: ${s.state}. Open orders are being cancelled.`, "ok");
    render(s); refresh();
  } catch (e) { fail("Halt", e); }
  finally { $("halt-button").disabled = false; }
});

// ---- reset: a request (token and expiry), then a confirmation ----
$("reset-request").addEventListener("click", () => {
  ticket = null;
  $("reset-confirm").disabled = true; $("reset-step").disabled = false;
  $("reset-ticket").textContent = ""; $("reset-ticket").className = "";
  $("reset-state").textContent = `${strategy} is ${$("state").textContent}${$("state-reason").textContent ? ": " + $("state-reason").textContent : ""}`;
  $("reset-dialog").returnValue = "";
  $("reset-dialog").showModal();
  ($("reset-operator").value ? $("reset-step") : $("reset-operator")).focus();
});
$("reset-step").addEventListener("click", async (ev) => {
  ev.preventDefault();
  if (!$("reset-operator").reportValidity()) return;
  $("reset-step").disabled = true;
  try {
    ticket = await api("POST", `/api/v1/strategies/${enc()}/reset`, { operator: $("reset-operator").value.trim(), reason: $("reset-reason").value.trim() || null });
    $("reset-ticket").textContent = `Reset requested (${ticket.state}). Confirm before ${time(ticket.expires_at)}, or it lapses.`;
    $("reset-ticket").className = "ok";
    $("reset-expires").textContent = ticket.expires_at;
    $("reset-confirm").disabled = false; $("reset-confirm").focus();
    refresh();
  } catch (e) {
    $("reset-step").disabled = false;
    $("reset-ticket").textContent = "Request failed — " + e.message; $("reset-ticket").className = e.status === 401 ? "auth" : "error";
  }
});
$("reset-confirm").addEventListener("click", async (ev) => {
  ev.preventDefault();
  if (!ticket) return;
  $("reset-confirm").disabled = true;
  try {
    const s = await api("POST", `/api/v1/strategies/${enc()}/reset/confirm`, { operator: $("reset-operator").value.trim(), confirmation_token: ticket.confirmation_token, rebase_high_water_mark: $("reset-rebase").checked });
    ticket = null;
    $("reset-dialog").close();
    say(s.state === "NORMAL" ? "Reset confirmed: trading resumes." : `Tripped again at once: ${s.reason}`, s.state === "NORMAL" ? "ok" : "error");
    render(s); refresh();
  } catch (e) {
    $("reset-confirm").disabled = e.status === 409;
    if (e.status === 409) { ticket = null; $("reset-step").disabled = false; }
    $("reset-ticket").textContent = "Confirmation failed — " + e.message + (e.status === 409 ? " Request a new reset." : "");
    $("reset-ticket").className = e.status === 401 ? "auth" : "error";
  }
});
$("reset-cancel").addEventListener("click", () => { ticket = null; });

window.addEventListener("resize", () => { if (last) drawChart(last.portfolio.history || [], last.portfolio.high_water_mark); });
loadStrategies().catch((e) => say("Cannot reach the engine — " + e.message, e.status === 401 ? "auth" : "error"));
setInterval(() => { if (strategy) refresh(); else loadStrategies().catch(() => {}); }, 3000);
