// The rustybt dashboard: reads the API of API.md, refreshes every 3 s and on every server-sent
// event, and posts halts and resets with the operator's token. Money is shown as the decimal
// strings the API sends (or exact decimal arithmetic on them); numbers are used only to place
// chart points.
"use strict";
const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "rustybt-token";
// `last`: the last status read; `lastAudit`: the last audit trail read; `lastOkAt`: when.
let strategy = null, source = null, ticket = null, refreshing = null, last = null, lastAudit = [], lastOkAt = null, halting = false;

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
// Every time on the page carries its time zone: the operator's browser and the market may differ.
const TIME_FMT = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" });
const WHEN_FMT = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" });
function time(t) { if (!t) return "–"; const d = new Date(t); return isNaN(d) ? String(t) : TIME_FMT.format(d); }
function when(t) { if (!t) return "–"; const d = new Date(t); return isNaN(d) ? String(t) : WHEN_FMT.format(d); }
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
const isZero = (v) => /^[-+]?0*(\.0*)?$/.test(String(v));
const isGain = (v) => v != null && !String(v).startsWith("-") && !isZero(v);
// A figure with its sign spelled out: "+1400.50", "-0.49%".
const plus = (v, text) => (isGain(v) ? "+" : "") + text;
function sign(el, v) { el.classList.remove("neg", "pos"); if (v != null && !isZero(v)) el.classList.add(String(v).startsWith("-") ? "neg" : "pos"); }
function isRatio(b) { return b.type === "drawdown" || (b.type === "daily_loss" && b.limit != null && /^-?0\./.test(String(b.limit))); }
const enc = () => encodeURIComponent(strategy);
const breakerName = (type) => String(type).replace(/_/g, " ");
// A breaker's figure as the operator reads it. The daily-loss breaker measures the P&L since the
// open: a positive one is a gain, and is said so, not shown as a loss.
function figure(b, v) {
  if (b.type === "daily_loss" && v == null) return "no session open";
  if (v == null) return "–";
  if (b.type !== "daily_loss") return isRatio(b) ? pct(v) : String(v);
  return `${plus(v, isRatio(b) ? pct(v) : String(v))} ${isZero(v) ? "flat" : isGain(v) ? "gain" : "loss"}`;
}
const limitText = (b, v) => (v == null ? "–" : isRatio(b) ? pct(v) : String(v));

// ---- exact decimal arithmetic on the API's strings (BigInt), for the chart's limit levels ----
function dec(s) {
  const m = /^([-+]?)(\d+)(?:\.(\d*))?$/.exec(String(s == null ? "" : s).trim());
  if (!m) return null;
  const f = m[3] || "";
  return { n: BigInt((m[1] === "-" ? "-" : "") + m[2] + f), s: f.length };
}
function decAdd(a, b) { const s = Math.max(a.s, b.s); return { n: a.n * 10n ** BigInt(s - a.s) + b.n * 10n ** BigInt(s - b.s), s }; }
function decMul(a, b) { return { n: a.n * b.n, s: a.s + b.s }; }
// Rounds half away from zero to `dp` places.
function decStr(d, dp) {
  let { n, s } = d;
  const neg = n < 0n;
  let m = neg ? -n : n;
  if (s > dp) { const k = 10n ** BigInt(s - dp), r = m % k; m = m / k; if (r * 2n >= k) m += 1n; s = dp; }
  const t = m.toString().padStart(s + 1, "0");
  return (neg && m !== 0n ? "-" : "") + (s ? t.slice(0, -s) + "." + t.slice(-s) : t);
}
const ONE = { n: 1n, s: 0 };

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
      throw new ApiError(401, `401 Unauthorized: ${token ? "the API token was refused" : "no API token given"}. Enter the API token (RUSTYBT_API_TOKEN, or the one in data/api-token) in the token field at the top. (${msg})`);
    }
    throw new ApiError(r.status, `${r.status}: ${msg}`);
  }
  return data;
}
function fail(what, e) { say(`${what} failed — ${e.message}`, e.status === 401 ? "auth" : "error"); }

// ---- strategies ----
async function loadStrategies() {
  let list;
  try { list = await api("GET", "/api/v1/strategies"); }
  catch (e) { renderNoStatus(e); throw e; }
  const wanted = new URLSearchParams(location.search).get("strategy");
  strategy = list.some((s) => s.name === wanted) ? wanted : (list[0] && list[0].name);
  showStrategies(list);
  if (!strategy) { renderLoading("No strategy is configured."); say("No strategy is configured.", "error"); return; }
  renderHalt();
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
  strategy = e.target.value; ticket = null; last = null; lastAudit = [];
  history.replaceState(null, "", "?strategy=" + enc());
  say("");
  // Never the previous strategy's colour while this one's status is on its way.
  renderLoading(`Reading the status of ${strategy}…`);
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
// The banner before any status: neutral, never a trading colour.
function renderLoading(why) {
  $("banner").className = "banner state-LOADING";
  $("banner").dataset.state = "LOADING";
  $("state").textContent = "LOADING";
  $("state-reason").textContent = why || "Waiting for the first status from the engine…";
  for (const id of ["tripped", "pending-reset", "checkpoint-error"]) $(id).textContent = "";
  $("since").textContent = "–";
  document.body.classList.remove("stale");
  renderHalt();
}

// The banner when the status cannot be read: the state is unknown, whatever it was before.
function renderNoStatus(e) {
  const down = !e.status || e.status >= 500;
  $("banner").className = "banner state-UNREACHABLE";
  $("banner").dataset.state = "UNREACHABLE";
  $("state").textContent = down ? "NO CONNECTION" : e.status === 401 || e.status === 403 ? "NO ACCESS" : "STATE UNKNOWN";
  $("state-reason").textContent = (down ? "The engine's API cannot be reached: " : "The status cannot be read: ") + e.message + ".";
  $("tripped").textContent = last ? `Last known state ${last.state}, read ${time(lastOkAt)}: the figures below are from then.` : "No status has been read yet.";
  $("pending-reset").textContent = ""; $("checkpoint-error").textContent = "";
  $("since").textContent = "–";
  if (last) document.body.classList.add("stale");
  $("updated").textContent = lastOkAt ? "last update " + time(lastOkAt) : "";
  // Neither the live-updates light nor the strategy list may claim more than is known.
  $("live").classList.remove("on"); $("live").title = "live updates: the API does not answer";
  for (const o of $("strategy-select").options) o.textContent = `${o.value} — state unknown`;
  renderHalt();
}

function trippedBreakers(s) { return ((s && s.breakers) || []).filter((b) => b.status === "tripped"); }

// The audit entry of a breaker's trip: cause `trip:<type>`, the one nearest its `tripped_at`
// (the status keeps the trip's own time, the audit the engine's clock when it was recorded).
function tripEntry(b) {
  const cause = "trip:" + b.type, at = Date.parse(b.tripped_at);
  let best = null;
  for (const a of lastAudit) {
    if (a.cause !== cause) continue;
    if (!best || !isFinite(at) || Math.abs(Date.parse(a.at) - at) <= Math.abs(Date.parse(best.at) - at)) best = a;
  }
  return best;
}
// "drawdown at -11.88% (limit -10.00%)", from the trip's audit entry; "manual halt by alice".
function tripSummary(b) {
  if (b.type === "manual") {
    const d = b.details || {};
    return d.last_halt_operator ? `manual halt by ${d.last_halt_operator}` : "manual halt";
  }
  const e = tripEntry(b), d = e && e.details;
  return d && d.value != null ? `${breakerName(b.type)} at ${figure(b, d.value)} (limit ${limitText(b, d.limit)})` : breakerName(b.type);
}

function renderBanner(s) {
  $("banner").className = "banner state-" + s.state;
  $("banner").dataset.state = s.state;
  $("state").textContent = s.state;
  $("state-reason").textContent = s.reason || (s.state === "NORMAL" ? "Trading: orders pass the gate." : "");
  const tripped = trippedBreakers(s);
  $("tripped").textContent = tripped.length ? `Tripped breakers (${tripped.length}): ${tripped.map(tripSummary).join("; ")}` : "";
  $("checkpoint-error").textContent = s.checkpoint_error ? "Checkpoint problem: " + s.checkpoint_error : "";
  $("since").textContent = `${when(s.since)}${ago(s.since) ? " (" + ago(s.since) + ")" : ""}`;
  const pr = s.pending_reset;
  $("pending-reset").textContent = pr ? `Reset requested by ${pr.operator}; it lapses at ${time(pr.expires_at)} unless confirmed.` : "";
  $("reset-request").disabled = s.state === "NORMAL";
  $("reset-request").title = s.state === "NORMAL" ? "Nothing to reset: the strategy is trading" : "Request a reset, then confirm it";
  document.body.classList.remove("stale");
  renderHalt();
}

// HALT is offered only when it would change something: not while already halted, not before
// the page knows which strategy, not while a halt is being sent.
function renderHalt() {
  const btn = $("halt-button"), halted = !!last && last.state === "MANUALLY_HALTED";
  btn.disabled = !strategy || halting || halted;
  const why = halted ? "Already halted: trading resumes only after a confirmed reset." : !strategy ? "No strategy loaded yet." : halting ? "Sending the halt…" : "";
  $("halt-note").textContent = why;
  btn.title = why || "Refuse every new order and cancel open orders, until a confirmed reset";
}

// A piece of a card's line that moves to the next line whole rather than break inside.
function seg(text) { const s = document.createElement("span"); s.className = "seg"; s.textContent = text; return s; }

function renderBreakers(breakers, boxId) {
  const box = $(boxId || "breakers"); box.replaceChildren();
  // The bus "breaker" exists only on hosts joined through NATS ([cluster]).
  for (const b of breakers.filter((x) => !(x.type === "bus" && x.enabled === false))) {
    const d = document.createElement("div");
    const tripped = b.status === "tripped";
    d.className = "breaker" + (tripped ? " tripped" : "") + (b.enabled === false ? " disabled" : "");
    d.dataset.breaker = b.type; d.dataset.status = b.status; d.dataset.testid = "breaker-" + b.type;
    const head = document.createElement("div"); head.className = "head";
    const name = document.createElement("span"); name.className = "name"; name.textContent = breakerName(b.type);
    const st = document.createElement("span"); st.className = "status";
    st.textContent = b.enabled === false ? "OFF" : tripped ? "TRIPPED" : b.ready === false ? "WAITING" : "OK";
    head.append(name, st);
    const vl = document.createElement("div"); vl.className = "vl";
    if (b.enabled === false) vl.textContent = "switched off";
    else if (b.type === "manual") vl.textContent = b.details && b.details.last_halt_operator ? `${b.details.last_halt_operator}: ${b.details.last_halt_reason}` : "no halt";
    else vl.append(seg(`now ${figure(b, b.value)}`), " ", seg(`/ limit ${limitText(b, b.limit)}`));
    d.append(head, vl);
    if (tripped && b.type !== "manual") {
      // The value that tripped it, beside the value now: they differ once the market moves on.
      const e = tripEntry(b), t = document.createElement("div"); t.className = "trip";
      if (e && e.details && e.details.value != null) t.append(seg(`at trip ${figure(b, e.details.value)}`), " ", seg(`/ limit ${limitText(b, e.details.limit)}`));
      else t.textContent = "at trip: not in the audit trail";
      d.append(t);
    }
    if (b.tripped_at) { const t = document.createElement("div"); t.className = "at"; t.textContent = "tripped " + time(b.tripped_at); d.append(t); }
    box.appendChild(d);
  }
}

function renderErrorFilter(totals) {
  const sel = $("error-filter");
  for (const o of sel.options) if (o.value) o.textContent = `${o.value} (${(totals && totals[o.value]) || 0})`;
}

function render(s) {
  last = s; lastOkAt = new Date();
  renderBanner(s);
  const p = s.portfolio;
  $("value").textContent = p.value ?? "–";
  $("hwm").textContent = p.high_water_mark ?? "–";
  $("drawdown").textContent = pct(p.drawdown); sign($("drawdown"), p.drawdown);
  $("pnl").textContent = p.daily_pnl == null ? "–" : plus(p.daily_pnl, String(p.daily_pnl)); sign($("pnl"), p.daily_pnl);
  $("pnl-kind").textContent = p.daily_pnl == null ? "no session open" : isZero(p.daily_pnl) ? "flat since the open" : isGain(p.daily_pnl) ? "gain since the open" : "loss since the open";
  $("as-of").textContent = p.as_of ? `last snapshot ${time(p.as_of)} ${ago(p.as_of) ? "(" + ago(p.as_of) + ")" : ""}` : "no snapshot yet";
  renderBreakers(s.breakers || []);
  fill("positions", p.positions || [], (tr, x) => { cell(tr, x.asset); cell(tr, x.quantity, "num"); cell(tr, x.market_price, "num"); cell(tr, x.market_value, "num"); }, "no positions");
  $("gross").textContent = p.gross_exposure ?? "–";
  $("gross-limit").textContent = p.gross_exposure == null && (s.open_orders || []).length ? "unknown: an asset has no reference price" : "";
  $("open-count").textContent = String((s.open_orders || []).length);
  fill("open-orders", (s.open_orders || []).slice(0, 100), (tr, o) => {
    cell(tr, time(o.since), "t"); cell(tr, o.order_id, "wrap"); cell(tr, o.asset, "wrap"); cell(tr, o.side); cell(tr, o.quantity, "num"); cell(tr, o.filled, "num"); cell(tr, o.limit_price ?? "market", "num");
  }, "no open orders");
  const pt = s.pre_trade || {};
  const denials = Object.entries(pt.denials || {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  fill("denials", denials, (tr, [check, n]) => { cell(tr, check, "wrap"); cell(tr, String(n), "num"); }, pt.configured ? "no order denied" : "no pre-trade check configured");
  const ld = pt.last_denial;
  $("last-denial").textContent = ld ? `last: ${ld.order_id} at ${time(ld.at)} — ${ld.reason}` : "";
  fill("orders", (s.recent_orders || []).slice(-60).reverse(), (tr, o) => {
    cell(tr, time(o.at), "t"); cell(tr, o.order.order_id, "wrap"); cell(tr, o.order.asset, "wrap"); cell(tr, o.order.side); cell(tr, o.order.quantity, "num");
    const d = o.decision; cell(tr, d.decision === "accepted" ? "accepted" : (d.check ? `denied by ${d.check}: ` : "rejected: ") + (d.reason || ""), "grow " + d.decision);
  }, "no orders yet");
  fill("fills", (s.recent_fills || []).slice(-60).reverse(), (tr, f) => { cell(tr, time(f.timestamp), "t"); cell(tr, f.order_id, "wrap"); cell(tr, f.asset, "wrap"); cell(tr, f.side); cell(tr, f.quantity, "num"); cell(tr, f.price, "num"); }, "no fills yet");
  renderErrors();
  renderErrorFilter(s.error_totals);
  const alerts = (s.alerts && s.alerts.recent) || [];
  fill("alerts", alerts.slice(-40).reverse(), (tr, a) => {
    cell(tr, time(a.at), "t"); cell(tr, a.channel, "wrap"); cell(tr, a.status, a.status === "sent" ? "accepted" : a.status === "suppressed" ? "" : "rejected"); cell(tr, a.event_type); cell(tr, a.error, "grow");
  }, s.alerts && s.alerts.channels && s.alerts.channels.length ? "no alerts sent" : "no alert channel configured");
  drawChart();
  if ($("reset-dialog").open) renderResetBreakers();
  $("updated").textContent = "updated " + time(lastOkAt);
}

function renderErrors() {
  if (!last) return;
  const kind = $("error-filter").value;
  const rows = (last.recent_errors || []).filter((e) => !kind || e.kind === kind).slice(-60).reverse();
  fill("errors", rows, (tr, e) => { tr.dataset.kind = e.kind; cell(tr, time(e.received_at), "t"); cell(tr, e.kind); cell(tr, e.message, "grow"); }, kind ? `no ${kind} errors` : "no errors");
}
$("error-filter").addEventListener("change", renderErrors);

function renderAudit(audit) {
  fill("audit", audit.slice(-60).reverse(), (tr, a) => {
    cell(tr, time(a.at), "t"); cell(tr, `${a.from} → ${a.to}`); cell(tr, a.cause); cell(tr, a.operator, "wrap op");
    const d = a.details || {};
    cell(tr, d.reason || d.summary || d.breaker || Object.entries(d).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" "), "grow");
  }, "no transitions yet");
}

// ---- the chart ----
// What the chart shows besides the value: the high-water mark, the drawdown limit (the
// threshold applied to the high-water mark), the daily-loss limit (applied to the session's
// open value), and the trips and halts of the audit trail. Levels are exact decimals.
function chartModel(s, audit) {
  const p = (s && s.portfolio) || {}, lines = [], markers = [];
  const find = (t) => ((s && s.breakers) || []).find((b) => b.type === t && b.enabled !== false && b.limit != null);
  const hwm = dec(p.high_water_mark);
  if (hwm) lines.push({ kind: "hwm", value: p.high_water_mark, label: `high-water mark ${p.high_water_mark}`, color: "#6b7280", dash: [6, 4] });
  const dd = find("drawdown"), ddl = dd && dec(dd.limit);
  if (hwm && ddl) {
    const v = decStr(decMul(hwm, decAdd(ONE, ddl)), 2);
    lines.push({ kind: "drawdown_limit", value: v, label: `drawdown limit ${v} (${pct(dd.limit)} from the high-water mark)`, color: "#dc2626", dash: [3, 3] });
  }
  const dl = find("daily_loss"), open = dl && dl.details && dec(dl.details.open_value), dll = dl && dec(dl.limit);
  if (open && dll) {
    const v = decStr(isRatio(dl) ? decMul(open, decAdd(ONE, dll)) : decAdd(open, dll), 2);
    lines.push({ kind: "daily_loss_limit", value: v, label: `daily-loss limit ${v} (${isRatio(dl) ? pct(dl.limit) : dl.limit} from the open ${dl.details.open_value})`, color: "#ea580c", dash: [10, 3, 2, 3] });
  }
  for (const a of audit || []) {
    const c = String(a.cause || "");
    if (c.startsWith("trip:") || c.startsWith("firm:")) markers.push({ kind: "trip", at: a.at, short: c, label: "trip: " + c.slice(5), color: "#dc2626" });
    else if (c === "manual_halt" || c === "firm_halt") {
      const short = c === "firm_halt" ? "firm halt" : "halt";
      markers.push({ kind: "halt", at: a.at, short, label: short + (a.operator ? " by " + a.operator : ""), color: "#7f1d1d" });
    }
  }
  return { lines, markers };
}

function drawChart() {
  const s = last, history = (s && s.portfolio && s.portfolio.history) || [];
  const c = $("chart"), ctx = c.getContext("2d"), r = window.devicePixelRatio || 1;
  const cssW = c.clientWidth || 600, cssH = c.clientHeight || 200;
  c.width = Math.round(cssW * r); c.height = Math.round(cssH * r);
  ctx.setTransform(r, 0, 0, r, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  ctx.font = "11px system-ui, sans-serif";
  const drawn = { lines: [], markers: [], x_labels: [] };
  const done = () => { c.dataset.drawn = JSON.stringify(drawn); renderLegend(drawn); };
  if (history.length < 2) {
    ctx.fillStyle = "#6b7280"; ctx.font = "13px system-ui, sans-serif"; ctx.fillText("waiting for portfolio snapshots…", 12, 24);
    return done();
  }
  const model = chartModel(s, lastAudit);
  const xs = history.map((p) => Date.parse(p[0])), ys = history.map((p) => Number(p[1]));
  const x0 = xs[0];
  // Markers after the last snapshot widen the time axis; those before the history are off it.
  const markers = model.markers.map((m) => ({ ...m, x: Date.parse(m.at) })).filter((m) => isFinite(m.x) && m.x >= x0);
  const x1 = Math.max(xs[xs.length - 1], ...markers.map((m) => m.x), x0 + 1);
  const levels = model.lines.map((l) => ({ ...l, y: Number(l.value) })).filter((l) => isFinite(l.y));
  let iMax = 0, iMin = 0;
  ys.forEach((y, i) => { if (y > ys[iMax]) iMax = i; if (y < ys[iMin]) iMin = i; });
  const top = Math.max(ys[iMax], ...levels.map((l) => l.y)), bottom = Math.min(ys[iMin], ...levels.map((l) => l.y));
  const pad = (top - bottom) * 0.08 || Math.abs(top) * 0.001 || 1, y0 = bottom - pad, y1 = top + pad;
  // Marker labels get a band of their own above the plot, so they never cross a level's label.
  const rows = Math.min(markers.length, 3), L = 78, R = 8, T = 8 + 13 * rows, B = 20;
  const X = (x) => L + (x - x0) / (x1 - x0) * (cssW - L - R), Y = (y) => T + (y1 - y) / (y1 - y0) * (cssH - T - B);
  ctx.strokeStyle = "#e5e7eb"; ctx.lineWidth = 1; ctx.beginPath(); ctx.moveTo(L, T); ctx.lineTo(L, cssH - B); ctx.lineTo(cssW - R, cssH - B); ctx.stroke();
  ctx.fillStyle = "#6b7280"; ctx.textAlign = "right";
  ctx.fillText(history[iMax][1], L - 4, Math.max(T + 9, Y(ys[iMax]) + 4));
  if (iMin !== iMax) ctx.fillText(history[iMin][1], L - 4, Math.min(cssH - B, Y(ys[iMin]) + 4));
  // Time labels carry their zone (the browser's): "10:31:05 AM EDT".
  const span = x1 - x0, fmt = span > 20 * 3600e3 ? when : time;
  drawn.x_labels = [fmt(new Date(x0).toISOString()), fmt(new Date(x1).toISOString())];
  ctx.textAlign = "left"; ctx.fillText(drawn.x_labels[0], L, cssH - 5);
  ctx.textAlign = "right"; ctx.fillText(drawn.x_labels[1], cssW - R, cssH - 5);
  // Horizontal levels, labelled at the right; labels that would overlap are pushed apart.
  let lastLabelY = -Infinity;
  for (const l of [...levels].sort((a, b) => b.y - a.y)) {
    const y = Y(l.y);
    ctx.strokeStyle = l.color; ctx.lineWidth = 1.5; ctx.setLineDash(l.dash); ctx.beginPath(); ctx.moveTo(L, y); ctx.lineTo(cssW - R, y); ctx.stroke(); ctx.setLineDash([]);
    const ly = Math.max(T + 9, y - 3, lastLabelY + 12);
    ctx.fillStyle = l.color; ctx.textAlign = "right"; ctx.fillText(l.label, cssW - R - 2, ly);
    lastLabelY = ly;
    drawn.lines.push({ kind: l.kind, value: l.value, label: l.label });
  }
  // Trips and halts: a vertical line at the audit entry's time, labelled at the top.
  // Each label takes the first row of the band where it does not overlap one already there.
  const rowEnds = Array.from({ length: rows }, () => -Infinity);
  for (const m of markers.sort((a, b) => a.x - b.x)) {
    const x = X(m.x), text = `${m.short} ${time(m.at)}`, w = ctx.measureText(text).width;
    const right = x + 4 + w > cssW - R, x0t = right ? x - 4 - w : x + 4;
    let row = rowEnds.findIndex((end) => end < x0t);
    if (row < 0) row = rowEnds.indexOf(Math.min(...rowEnds));
    rowEnds[row] = x0t + w + 6;
    const ty = 8 + 13 * row + 10;
    ctx.strokeStyle = m.color; ctx.lineWidth = 1.5; ctx.setLineDash(m.kind === "halt" ? [2, 2] : []);
    ctx.beginPath(); ctx.moveTo(x, ty - 8); ctx.lineTo(x, cssH - B); ctx.stroke(); ctx.setLineDash([]);
    ctx.fillStyle = m.color; ctx.textAlign = "left"; ctx.fillText(text, x0t, ty);
    drawn.markers.push({ kind: m.kind, at: m.at, label: `${m.label} ${time(m.at)}` });
  }
  ctx.strokeStyle = "#2563eb"; ctx.lineWidth = 2; ctx.lineJoin = "round"; ctx.beginPath();
  xs.forEach((x, i) => (i ? ctx.lineTo(X(x), Y(ys[i])) : ctx.moveTo(X(x), Y(ys[i])))); ctx.stroke();
  ctx.textAlign = "left";
  done();
}

// The chart's key, as text: every level with its value, every marker with its time.
function renderLegend(drawn) {
  const box = $("chart-legend");
  const item = (cls, text, kind) => { const s = document.createElement("span"); s.className = "key " + cls; s.dataset.kind = kind; s.textContent = text; return s; };
  box.replaceChildren(item("value", "portfolio value", "value"),
    ...drawn.lines.map((l) => item(l.kind, l.label, l.kind)),
    ...drawn.markers.map((m) => item(m.kind, m.label, m.kind)));
}

async function refresh() {
  if (!strategy) return;
  if (refreshing) return refreshing;
  const name = strategy, path = `/api/v1/strategies/${enc()}`;
  refreshing = (async () => {
    try {
      const [s, audit, list] = await Promise.all([api("GET", path), api("GET", path + "/audit"), api("GET", "/api/v1/strategies")]);
      if (name !== strategy) return;
      lastAudit = audit || [];
      render(s); renderAudit(lastAudit); showStrategies(list); refreshFirm();
      if (source && source.readyState === EventSource.OPEN) { $("live").classList.add("on"); $("live").title = "live updates: connected"; }
      if ($("message").dataset.origin === "refresh") say("");
    } catch (e) {
      if (name !== strategy) return;
      renderNoStatus(e);
      say("Cannot read the status — " + e.message, e.status === 401 ? "auth" : "error", "refresh");
    }
  })();
  try { await refreshing; } finally { refreshing = null; }
}

// ---- the firm: every host and strategy, the firm breakers, a firm HALT ----
async function refreshFirm() {
  let f;
  try { f = await api("GET", "/api/v1/firm"); } catch (_) { return; }
  $("firm-name").textContent = f.firm;
  const st = $("firm-state"); st.textContent = f.state; st.dataset.state = f.state; st.className = "firm-state state-" + f.state;
  const p = f.portfolio || {};
  $("firm-value").textContent = p.value == null ? "–" : p.value;
  $("firm-hwm").textContent = p.high_water_mark == null ? "–" : p.high_water_mark;
  $("firm-drawdown").textContent = p.drawdown == null ? "–" : pct(p.drawdown);
  $("firm-pnl").textContent = p.daily_pnl == null ? "–" : p.daily_pnl;
  $("firm-bus").textContent = !f.bus ? "none (one host)" : f.bus.on_bus_loss_applied ? "LOST: on_bus_loss in force" : f.bus.connected ? "connected" : "reconnecting";
  $("firm-desks").textContent = (f.desk_halts || []).map((d) => `desk ${d.desk} HALTED by ${d.operator} (${d.reason}) on ${d.host_id}`).join("; ");
  renderBreakers(f.breakers || [], "firm-breakers");
  fill("firm-strategies", f.strategies || [], (tr, s) => {
    cell(tr, s.host_id); cell(tr, s.name); cell(tr, s.desk); cell(tr, s.state, "state-cell st-" + s.state);
    cell(tr, s.portfolio_value, "num"); cell(tr, s.daily_pnl, "num");
  }, "no strategy has reported yet");
  fill("firm-hosts", f.hosts || [], (tr, h) => { cell(tr, h.host_id); cell(tr, h.connected ? "yes" : "NO"); cell(tr, when(h.last_seen)); });
}
$("firm-halt-button").addEventListener("click", () => {
  $("firm-halt-reason").value = ""; $("firm-halt-desk").value = "";
  $("firm-halt-dialog").showModal();
  ($("firm-halt-operator").value ? $("firm-halt-reason") : $("firm-halt-operator")).focus();
});
$("firm-halt-dialog").addEventListener("close", async () => {
  if ($("firm-halt-dialog").returnValue !== "halt") return;
  const body = { operator: $("firm-halt-operator").value.trim(), reason: $("firm-halt-reason").value.trim() };
  const desk = $("firm-halt-desk").value.trim();
  if (desk) body.desk = desk;
  try {
    const r = await api("POST", "/api/v1/halt", body);
    const pending = r.pending_hosts && r.pending_hosts.length ? `; not confirmed yet by ${r.pending_hosts.join(", ")}` : "";
    say(`${desk ? "Desk " + desk : "Firm"} halted by ${body.operator}: ${r.halted.length} strategies confirmed${pending}.`, "ok");
  } catch (e) { fail("The firm halt", e); }
  refresh(); refreshFirm();
});

// ---- halt: a confirmation with operator and reason ----
$("halt-button").addEventListener("click", () => {
  if ($("halt-button").disabled) return;
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
  halting = true; renderHalt();
  try {
    const s = await api("POST", `/api/v1/strategies/${enc()}/halt`, { operator: $("halt-operator").value.trim(), reason: $("halt-reason").value.trim() });
    say(`Halted by ${$("halt-operator").value.trim()}: ${s.state}. Open orders are being cancelled.`, "ok");
    halting = false;
    render(s); refresh();
  } catch (e) { fail("Halt", e); }
  finally { halting = false; renderHalt(); }
});

// ---- reset: a request (token and expiry), then a confirmation ----
// Every tripped breaker, each with its value at the trip and now: the reset judges each again.
function renderResetBreakers() {
  const s = last;
  $("reset-state").textContent = s ? `${strategy} is ${s.state}${s.reason ? ": " + s.reason : ""}` : `${strategy}: state unknown`;
  const tripped = trippedBreakers(s);
  $("reset-breakers").replaceChildren(...tripped.map((b) => {
    const li = document.createElement("li");
    li.dataset.breaker = b.type;
    li.textContent = b.type === "manual" ? tripSummary(b) : `${tripSummary(b)}; now ${figure(b, b.value)}`;
    return li;
  }));
  $("reset-breakers-head").textContent = tripped.length
    ? `Tripped breakers (${tripped.length}). A breaker still past its limit trips again at once:`
    : "No breaker is tripped.";
}
$("reset-request").addEventListener("click", () => {
  ticket = null;
  $("reset-confirm").disabled = true; $("reset-step").disabled = false;
  $("reset-ticket").textContent = ""; $("reset-ticket").className = "";
  renderResetBreakers();
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

window.addEventListener("resize", () => { if (last) drawChart(); });
renderLoading();
loadStrategies().catch((e) => say("Cannot reach the engine — " + e.message, e.status === 401 ? "auth" : "error"));
setInterval(() => { if (strategy) refresh(); else loadStrategies().catch(() => {}); }, 3000);
// Other hosts change the firm without telling this page: read it every 2 s as well.
setInterval(refreshFirm, 2000);
