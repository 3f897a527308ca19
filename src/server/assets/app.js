// The rustybt dashboard: reads the API of API.md, refreshes every 3 s and on every server-sent
// event, and posts halts and resets with the operator's token. Money is shown as the decimal
// strings the API sends; numbers are used only to place chart points.
"use strict";
const $ = (id) => document.getElementById(id);
let strategy = null, source = null, ticket = null;

$("token").value = sessionStorage.getItem("rustybt-token") || "";
$("token").addEventListener("change", () => sessionStorage.setItem("rustybt-token", $("token").value.trim()));

function say(text, ok) { $("message").textContent = text || ""; $("message").className = ok ? "ok" : ""; }
function cell(row, text, cls) { const td = document.createElement("td"); td.textContent = text == null ? "–" : String(text); if (cls) td.className = cls; td.title = td.textContent; row.appendChild(td); return td; }
function fill(id, rows, render) { const body = $(id); body.replaceChildren(); for (const r of rows) { const tr = document.createElement("tr"); render(tr, r); body.appendChild(tr); } }
function time(t) { if (!t) return "–"; const d = new Date(t); return isNaN(d) ? t : d.toLocaleTimeString(); }
function pct(ratio) { if (ratio == null) return "–"; const s = String(ratio); const neg = s.startsWith("-"); const [i, f = ""] = s.replace("-", "").split("."); const p = (i + (f + "00").slice(0, 2)).replace(/^0+(?=\d)/, "") + "." + ((f + "0000").slice(2, 4)); return (neg ? "-" : "") + p + "%"; }
function sign(el, v) { el.classList.remove("neg", "pos"); if (v != null && v !== "0") el.classList.add(String(v).startsWith("-") ? "neg" : "pos"); }

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  const token = $("token").value.trim();
  if (token) headers.Authorization = "Bearer " + token;
  const r = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  let data = null; try { data = await r.json(); } catch (_) {}
  if (!r.ok) {
    const msg = data && data.message ? data.message : r.statusText;
    throw new Error(r.status === 401 ? "Unauthorized: enter the API token (RUSTYBT_API_TOKEN, or data/api-token) in the header field. " + msg : msg);
  }
  return data;
}

async function loadStrategies() {
  const list = await api("GET", "/api/v1/strategies");
  const sel = $("strategy-select");
  sel.replaceChildren(...list.map((s) => { const o = document.createElement("option"); o.value = o.textContent = s.name; return o; }));
  const wanted = new URLSearchParams(location.search).get("strategy");
  strategy = list.some((s) => s.name === wanted) ? wanted : (list[0] && list[0].name);
  sel.value = strategy;
  subscribe();
  refresh();
}
$("strategy-select").addEventListener("change", (e) => { strategy = e.target.value; subscribe(); refresh(); });

function subscribe() {
  if (source) source.close();
  if (!strategy || !window.EventSource) return;
  source = new EventSource(`/api/v1/strategies/${encodeURIComponent(strategy)}/events`);
  let pending = null;
  const soon = () => { if (!pending) pending = setTimeout(() => { pending = null; refresh(); }, 200); };
  source.onopen = () => $("live").classList.add("on");
  source.onerror = () => $("live").classList.remove("on");
  for (const ev of ["state_changed", "circuit_breaker_tripped", "manual_halt", "reset_requested", "reset_confirmed", "breaker_cleared", "snapshot"]) source.addEventListener(ev, soon);
}

function render(s) {
  const banner = $("banner");
  banner.className = "banner state-" + s.state;
  $("state").textContent = s.state;
  $("state-reason").textContent = s.reason || (s.checkpoint_error ? "checkpoint: " + s.checkpoint_error : "");
  $("since").textContent = new Date(s.since).toLocaleString();
  const p = s.portfolio;
  $("value").textContent = p.value ?? "–";
  $("hwm").textContent = p.high_water_mark ?? "–";
  $("drawdown").textContent = pct(p.drawdown); sign($("drawdown"), p.drawdown);
  $("pnl").textContent = p.daily_pnl ?? "–"; sign($("pnl"), p.daily_pnl);
  const box = $("breakers"); box.replaceChildren();
  for (const b of s.breakers) {
    const d = document.createElement("div");
    d.className = "breaker" + (b.status === "tripped" ? " tripped" : "") + (b.enabled ? "" : " disabled");
    d.dataset.breaker = b.type; d.dataset.status = b.status;
    const name = document.createElement("span"); name.className = "name"; name.textContent = b.type.replace("_", " ");
    const st = document.createElement("span"); st.className = "status"; st.textContent = b.enabled ? (b.status === "tripped" ? "TRIPPED" : (b.ready ? "OK" : "WAITING")) : "OFF";
    const vl = document.createElement("div"); vl.className = "vl";
    const ratio = b.type === "drawdown" || (b.type === "daily_loss" && b.limit && b.limit.startsWith("-0."));
    vl.textContent = b.enabled ? `${ratio ? pct(b.value) : (b.value ?? "–")} / limit ${ratio ? pct(b.limit) : (b.limit ?? "–")}` : "switched off";
    if (b.type === "manual" && b.details && b.details.last_halt_operator) vl.textContent = `last halt: ${b.details.last_halt_operator} — ${b.details.last_halt_reason}`;
    if (b.tripped_at) { const t = document.createElement("div"); t.className = "vl"; t.textContent = "tripped " + time(b.tripped_at); d.append(name, st, vl, t); } else d.append(name, st, vl);
    box.appendChild(d);
  }
  fill("positions", p.positions, (tr, x) => { cell(tr, x.asset); cell(tr, x.quantity); cell(tr, x.market_price); cell(tr, x.market_value); });
  fill("orders", s.recent_orders.slice(-60).reverse(), (tr, o) => { cell(tr, time(o.at)); cell(tr, o.order.order_id); cell(tr, o.order.side); cell(tr, o.order.quantity); const d = o.decision; cell(tr, d.decision === "accepted" ? "accepted" : "rejected: " + d.reason, d.decision); });
  fill("fills", s.recent_fills.slice(-60).reverse(), (tr, f) => { cell(tr, time(f.timestamp)); cell(tr, f.order_id); cell(tr, f.side); cell(tr, f.quantity); cell(tr, f.price); });
  const kind = $("error-filter").value;
  fill("errors", s.recent_errors.filter((e) => !kind || e.kind === kind).slice(-60).reverse(), (tr, e) => { cell(tr, time(e.received_at)); cell(tr, e.kind); cell(tr, e.message); });
  fill("alerts", (s.alerts.recent || []).slice(-40).reverse(), (tr, a) => { cell(tr, time(a.at)); cell(tr, a.channel); cell(tr, a.status, a.status === "sent" ? "accepted" : "rejected"); cell(tr, a.event_type); cell(tr, a.error); });
  drawChart(p.history, p.high_water_mark);
  $("reset-request").disabled = s.state === "NORMAL";
}
$("error-filter").addEventListener("change", refresh);

function drawChart(history, hwm) {
  const c = $("chart"), ctx = c.getContext("2d");
  const w = c.width = c.clientWidth * devicePixelRatio, h = c.height = 220 * devicePixelRatio;
  ctx.clearRect(0, 0, w, h);
  if (!history || history.length < 2) { ctx.fillStyle = "#6b7280"; ctx.font = `${13 * devicePixelRatio}px system-ui`; ctx.fillText("waiting for portfolio snapshots…", 12, 24 * devicePixelRatio); return; }
  const xs = history.map((p) => Date.parse(p[0])), ys = history.map((p) => Number(p[1]));
  const top = hwm != null ? Math.max(Number(hwm), ...ys) : Math.max(...ys), bottom = Math.min(...ys);
  const pad = (top - bottom) * 0.08 || 1, y0 = bottom - pad, y1 = top + pad, x0 = xs[0], x1 = xs[xs.length - 1] || x0 + 1;
  const X = (x) => 50 * devicePixelRatio + (x - x0) / Math.max(1, x1 - x0) * (w - 60 * devicePixelRatio), Y = (y) => h - 18 * devicePixelRatio - (y - y0) / (y1 - y0) * (h - 30 * devicePixelRatio);
  ctx.font = `${11 * devicePixelRatio}px system-ui`; ctx.fillStyle = "#6b7280";
  ctx.fillText(String(Math.round(y1)), 2, Y(y1) + 10 * devicePixelRatio); ctx.fillText(String(Math.round(y0)), 2, Y(y0));
  ctx.fillText(new Date(x0).toLocaleTimeString(), X(x0), h - 3); ctx.fillText(new Date(x1).toLocaleTimeString(), X(x1) - 60 * devicePixelRatio, h - 3);
  if (hwm != null) { ctx.strokeStyle = "#9ca3af"; ctx.setLineDash([6, 4]); ctx.beginPath(); ctx.moveTo(X(x0), Y(Number(hwm))); ctx.lineTo(X(x1), Y(Number(hwm))); ctx.stroke(); ctx.setLineDash([]); }
  ctx.strokeStyle = "#2563eb"; ctx.lineWidth = 2 * devicePixelRatio; ctx.beginPath();
  xs.forEach((x, i) => (i ? ctx.lineTo(X(x), Y(ys[i])) : ctx.moveTo(X(x), Y(ys[i])))); ctx.stroke();
}

async function refresh() {
  if (!strategy) return;
  try {
    const path = `/api/v1/strategies/${encodeURIComponent(strategy)}`;
    const [s, audit] = await Promise.all([api("GET", path), api("GET", path + "/audit")]);
    render(s);
    fill("audit", audit.slice(-60).reverse(), (tr, a) => { cell(tr, time(a.at)); cell(tr, `${a.from} → ${a.to}`); cell(tr, a.cause); cell(tr, a.operator); });
  } catch (e) { say("Cannot read the status: " + e.message); }
}

// Halt: a confirmation with operator and reason.
$("halt-button").addEventListener("click", () => { $("halt-dialog").showModal(); $("halt-operator").focus(); });
$("halt-dialog").addEventListener("close", async () => {
  if ($("halt-dialog").returnValue !== "halt") return;
  try {
    const s = await api("POST", `/api/v1/strategies/${encodeURIComponent(strategy)}/halt`, { operator: $("halt-operator").value.trim(), reason: $("halt-reason").value.trim() });
    say(`Halted: ${s.state}`, true); render(s); refresh();
  } catch (e) { say("Halt failed: " + e.message); }
});

// Reset: a request (token and expiry), then a confirmation.
$("reset-request").addEventListener("click", () => {
  ticket = null; $("reset-confirm").disabled = true; $("reset-step").disabled = false; $("reset-ticket").textContent = "";
  $("reset-state").textContent = `${strategy} is ${$("state").textContent}: ${$("state-reason").textContent}`;
  $("reset-dialog").showModal();
});
$("reset-step").addEventListener("click", async (ev) => {
  ev.preventDefault();
  try {
    ticket = await api("POST", `/api/v1/strategies/${encodeURIComponent(strategy)}/reset`, { operator: $("reset-operator").value.trim(), reason: $("reset-reason").value.trim() || null });
    $("reset-ticket").textContent = `Reset requested. Confirm before ${new Date(ticket.expires_at).toLocaleTimeString()}.`;
    $("reset-confirm").disabled = false; $("reset-step").disabled = true; refresh();
  } catch (e) { $("reset-ticket").textContent = "Request failed: " + e.message; }
});
$("reset-confirm").addEventListener("click", async (ev) => {
  ev.preventDefault();
  try {
    const s = await api("POST", `/api/v1/strategies/${encodeURIComponent(strategy)}/reset/confirm`, { operator: $("reset-operator").value.trim(), confirmation_token: ticket.confirmation_token, rebase_high_water_mark: $("reset-rebase").checked });
    $("reset-dialog").close();
    say(s.state === "NORMAL" ? "Reset: trading resumes" : `Tripped again at once: ${s.reason}`, s.state === "NORMAL"); render(s); refresh();
  } catch (e) { $("reset-ticket").textContent = "Confirmation failed: " + e.message; }
});

loadStrategies().catch((e) => say("Cannot reach the engine: " + e.message));
setInterval(refresh, 3000);
