// portier dashboard: an overview, the routes failing now, traffic charts, every route and
// backend with its servers' states, and a detail view per route (#/route/PROVIDER/NAME).
// Everything comes from the JSON API; /api/events says when to fetch again, and fetches are
// coalesced (one in flight, the next after a gap) so a busy proxy or 1,000 routes never pile
// requests up. Plain JS, no build step, nothing loaded from elsewhere.

const $ = (sel) => document.querySelector(sel);
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "style") Object.assign(node.style, v); // CSSOM: allowed by the page's CSP
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function setText(node, text) {
  const t = String(text);
  if (node.textContent !== t) node.textContent = t;
}

async function getJSON(path) {
  const resp = await fetch(path, { cache: "no-store" });
  if (!resp.ok) throw new Error(`${path}: ${resp.status}`);
  return resp.json();
}

const state = {
  providers: {},
  overview: null,
  errors: { current: [], resolved: [], config: [] },
  traffic: null,
  range: "seconds",
  rows: new Map(), // "provider/name" → row
  order: [],
  cards: new Map(), // "provider/name" → card
  lastTotal: null,
  detail: null, // { provider, name, frontend: traffic, backend: traffic }
};

// === Fetching, coalesced ===

// Runs `fn` when asked, never twice at once, at most once per `gap` ms; a request made
// while it runs is served by one more run after it.
function coalesce(fn) {
  let running = false, again = false, timer = null, last = 0, wanted = 0;
  const run = async () => {
    timer = null;
    running = true;
    last = Date.now();
    try { await fn(); } catch (e) { console.error(e); }
    running = false;
    if (again) { again = false; schedule(wanted); }
  };
  const schedule = (gap = 0) => {
    wanted = gap;
    if (running) { again = true; return; }
    if (timer) return;
    timer = setTimeout(run, Math.max(0, last + gap - Date.now()));
  };
  return schedule;
}

// The configuration and every state: on each new table or health change, and every 10 s
// while traffic moves (server rates, ejections).
const refresh = coalesce(async () => {
  const [providers, overview, errors, traffic, mws, l4] = await Promise.all([
    getJSON("../api"), getJSON("../api/overview"), getJSON("../api/errors"), getJSON("../api/traffic"),
    getJSON("../api/http/middlewares").catch(() => []),
    Promise.all(["tcp", "udp"].flatMap((p) => [getJSON(`../api/${p}/routers`), getJSON(`../api/${p}/services`)]))
      .then(([tr, ts, ur, us]) => ({ routers: [...tr, ...ur], services: [...ts, ...us] })).catch(() => ({ routers: [], services: [] })),
  ]);
  state.l4 = l4;
  // 2.x/3.x middlewares by name@provider, for the routes' chips and their own panel.
  const middlewaresByName = Object.fromEntries(mws.map((m) => [m.name, m]));
  Object.assign(state, { providers, overview, errors, traffic, middlewaresByName, configAt: Date.now() });
  state.lastTotal = traffic.proxy?.total ?? state.lastTotal;
  if (state.detail && !state.detail.backendTraffic) refreshDetail(0);
  if (document.hidden) return;
  render();
  // For bench/dashboard.py: when the first full render ended.
  if (!state.marked) { state.marked = true; performance.mark("portier:rendered"); }
});

// The numbers only: every 2 s at most while counts move.
const refreshTraffic = coalesce(async () => {
  const [overview, traffic] = await Promise.all([getJSON("../api/overview"), getJSON("../api/traffic")]);
  Object.assign(state, { overview, traffic });
  if (document.hidden) return;
  renderOverview();
  renderNumbers();
  renderProxyCharts();
});

const refreshDetail = coalesce(async () => {
  const d = state.detail;
  if (!d) return;
  const f = state.providers[d.provider]?.frontends?.[d.name];
  const enc = encodeURIComponent;
  const [ft, bt] = await Promise.all([
    getJSON(`../api/traffic/frontends/${enc(d.provider)}/${enc(d.name)}`).catch(() => null),
    f ? getJSON(`../api/traffic/backends/${enc(d.provider)}/${enc(f.backend)}`).catch(() => null) : null,
  ]);
  if (state.detail !== d) return;
  d.frontendTraffic = ft;
  d.backendTraffic = bt;
  if (!document.hidden) renderDetail();
});

function render() {
  renderOverview();
  renderErrors();
  renderRoutes();
  renderBackends();
  renderMiddlewares();
  renderL4();
  renderProxyCharts();
  if (state.detail) renderDetail();
}

// === Overview, failing routes, errors ===

function tile(label, value, sub, level) {
  return el("div", { class: `tile ${level || ""}`, "data-tile": label },
    el("span", { class: "muted" }, label), el("b", {}, value), sub ? el("span", { class: "muted" }, sub) : null);
}

function counts(c) {
  const parts = [];
  if (c.warnings) parts.push(`${c.warnings} warning${c.warnings === 1 ? "" : "s"}`);
  if (c.errors) parts.push(`${c.errors} failing`);
  return parts.join(" · ") || "all ok";
}

const level = (c) => (c.errors ? "failing" : c.warnings ? "warning" : "ok");

function renderOverview() {
  const o = state.overview;
  if (!o) return;
  const p = state.traffic?.proxy || {};
  const w = p.window || {};
  const http = o.http;
  const conf = o.configuration;
  $("#overview").replaceChildren(
    tile("Requests/s", (p.rate ?? 0).toFixed(1), `${p.total ?? 0} since start`),
    tile("p99", w.p99 == null ? "–" : `${fmt(w.p99)} ms`, w.p50 == null ? "last minute" : `p50 ${fmt(w.p50)} ms, last minute`),
    tile("5xx", w["5xx"] ?? 0, `of ${w.requests ?? 0} in the last minute`, (w["5xx"] ?? 0) > 0 ? "warning" : ""),
    tile("Routes", http.routers.total, counts(http.routers), level(http.routers)),
    tile("Services", http.services.total, counts(http.services), level(http.services)),
    tile("Middlewares", http.middlewares.total, counts(http.middlewares), level(http.middlewares)),
    tile("Config", conf.errors === 0 && conf.warnings === 0 ? "ok" : `${conf.errors} error${conf.errors === 1 ? "" : "s"}`,
      `${conf.warnings} warning${conf.warnings === 1 ? "" : "s"} · configuration #${conf.generation}`, conf.errors ? "failing" : conf.warnings ? "warning" : ""),
  );
  const failing = o.failing || [];
  $("#attention").hidden = failing.length === 0;
  $("#attention-list").replaceChildren(...failing.map((f) => el("li", { "data-failing": `${f.provider}/${f.frontend}` },
    el("a", { href: routeHref(f.provider, f.frontend) }, f.frontend), " ",
    el("span", { class: "muted" }, f.provider), ": ", f.problems.join("; "))));
}

function fmt(ms) {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleTimeString();
}

function ago(iso) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

function errorItem(e) {
  const times = e.count > 1 ? `seen ${e.count}×, first ${when(e.firstSeen)}, last ${when(e.lastSeen)}` : `since ${when(e.firstSeen)}`;
  return el("li", { class: e.kind, "data-error": e.kind },
    el("span", { class: `badge ${e.kind === "error" ? "down" : "warn"}` }, e.kind), " ",
    el("code", {}, e.source), ": ", e.message, " ", el("span", { class: "muted", "data-seen": "" }, `(${times})`));
}

function renderErrors() {
  const { current = [], resolved = [], config = [] } = state.errors || {};
  const items = current.map(errorItem);
  for (const w of config) items.push(el("li", { class: "warning", "data-error": "warning" }, el("span", { class: "badge warn" }, "warning"), " ", w));
  $("#error-list").replaceChildren(...items);
  $("#errors").hidden = items.length === 0 && resolved.length === 0;
  $("#resolved").hidden = resolved.length === 0;
  $("#resolved-list").replaceChildren(...resolved.slice(0, 20).map((e) =>
    el("li", {}, el("code", {}, e.source), ": ", e.message, " ", el("span", { class: "muted" }, `(resolved ${when(e.resolved)}, first seen ${when(e.firstSeen)})`))));
}

// === Routes: one keyed row per frontend, patched in place ===

const routeHref = (p, n) => `#/route/${encodeURIComponent(p)}/${encodeURIComponent(n)}`;

function summaryOf(kind, provider, name) {
  return state.traffic?.[kind]?.[provider]?.[name];
}

function healthBadge(h) {
  if (!h || h.level === "ok") return null;
  return el("span", { class: `badge ${h.level === "failing" ? "down" : "warn"}`, "data-health": h.level, title: h.problems.join("; ") }, h.level);
}

function buildRow(provider, name, f, b) {
  const rules = Object.values(f.routes || {}).map((r) => r.rule).join(" ; ");
  const upText = b ? `${b.up} of ${b.total} up` : "no such backend";
  const tr = el("tr", { "data-frontend": name, "data-provider": provider },
    el("td", { "data-label": "Route" }, el("a", { href: routeHref(provider, name) }, el("code", {}, name)), " ", healthBadge(f.health), ...refusal(f.unenforced)),
    el("td", { "data-label": "Rule" }, el("code", {}, rules)),
    el("td", { "data-label": "Backend" }, el("code", {}, f.backend), " ",
      el("span", { class: `badge ${!b || b.up === 0 ? "down" : b.up < b.total ? "warn" : "up"}`, "data-up": b ? `${b.up}/${b.total}` : "" }, upText)),
    el("td", { "data-label": "Middlewares", "data-middlewares": "" }, ...middlewares(f, provider)),
    el("td", { "data-label": "Req/s", class: "num", "data-rate": "" }),
    el("td", { "data-label": "Total", class: "num", "data-total": "" }),
    el("td", { "data-label": "5xx", class: "num", "data-5xx": "" }),
    el("td", { "data-label": "p99", class: "num", "data-p99": "" }),
    el("td", { "data-label": "Entrypoints" }, (f.entryPoints || []).join(", ")),
    el("td", { "data-label": "Provider" }, provider));
  const hay = [name, rules, f.backend, provider, (f.entryPoints || []).join(" "), (f.middlewares || []).join(" "),
    f.health?.level || "ok", `state:${f.health?.level || "ok"}`, ...(f.health?.problems || [])].join(" ").toLowerCase();
  return { tr, hay, priority: f.effectivePriority ?? f.priority ?? 0,
    cells: { rate: tr.querySelector("[data-rate]"), total: tr.querySelector("[data-total]"), e5: tr.querySelector("[data-5xx]"), p99: tr.querySelector("[data-p99]") } };
}

function renderRoutes() {
  const seen = new Set();
  const list = [];
  for (const [provider, p] of Object.entries(state.providers).sort()) {
    for (const [name, f] of Object.entries(p.frontends || {})) {
      const key = `${provider}/${name}`;
      const b = p.backends?.[f.backend];
      const sig = JSON.stringify([f, b && [b.up, b.total]]);
      let row = state.rows.get(key);
      if (!row || row.sig !== sig) {
        const fresh = buildRow(provider, name, f, b);
        fresh.sig = sig;
        if (row) row.tr.replaceWith(fresh.tr);
        row = fresh;
        state.rows.set(key, row);
      }
      row.provider = provider;
      row.name = name;
      seen.add(key);
      list.push([key, row]);
    }
  }
  for (const [key, row] of state.rows) {
    if (!seen.has(key)) { row.tr.remove(); state.rows.delete(key); }
  }
  list.sort((a, b) => b[1].priority - a[1].priority || (a[0] < b[0] ? -1 : 1));
  const order = list.map((x) => x[0]);
  const tbody = $("#frontends tbody");
  if (order.length !== state.order.length || order.some((k, i) => k !== state.order[i]) || tbody.children.length !== order.length) {
    tbody.replaceChildren(...list.map((x) => x[1].tr));
    state.order = order;
  }
  $("#no-frontends").hidden = list.length > 0;
  renderNumbers();
  applyFilter();
}

// Each route's counts, patched into its row.
function renderNumbers() {
  for (const row of state.rows.values()) {
    const s = summaryOf("frontends", row.provider, row.name);
    setText(row.cells.rate, (s?.rate ?? 0).toFixed(1));
    setText(row.cells.total, s?.total ?? 0);
    setText(row.cells.e5, s?.codes?.["5xx"] ?? 0);
    setText(row.cells.p99, s?.window?.p99 == null ? "–" : `${fmt(s.window.p99)} ms`);
  }
}

function applyFilter() {
  const terms = $("#filter").value.toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const row of state.rows.values()) {
    const hit = terms.every((t) => row.hay.includes(t));
    if (row.tr.hidden === hit) row.tr.hidden = !hit;
    if (hit) shown++;
  }
  for (const card of state.cards.values()) {
    const hit = terms.every((t) => card.hay.includes(t));
    if (card.node.hidden === hit) card.node.hidden = !hit;
  }
  setText($("#shown"), terms.length ? `${shown} of ${state.rows.size} shown` : `${state.rows.size} routes`);
}

// The frontend's middlewares in the order they run, each with its settings as a tooltip.
function middlewareDetail(f) {
  return { whiteList: f.whiteList, customHeaders: f.headers, secureHeaders: f.headers, passTLSClientCert: f.passTLSClientCert,
    basicAuth: f.auth, digestAuth: f.auth, forwardAuth: f.auth, jwtAuth: f.auth, rateLimit: f.rateLimit };
}

// A 2.x/3.x middleware's settings: what the API shows of it without its bookkeeping.
function declared(m) {
  const { status, usedBy, name, provider, type, error, ...settings } = m;
  return settings;
}

function middlewares(f, provider) {
  const names = f.middlewares || [];
  if (names.length === 0) return [el("span", { class: "muted" }, "none")];
  const detail = middlewareDetail(f);
  const named = state.middlewaresByName || {};
  return names.flatMap((n) => {
    const m = named[n.includes("@") ? n : `${n}@${provider}`];
    return [el("span", { class: "chip", title: JSON.stringify(m ? declared(m) : detail[n] ?? {}) }, n), " "];
  });
}

function renderMiddlewares() {
  const list = Object.values(state.middlewaresByName || {});
  $("#middlewares").hidden = list.length === 0;
  $("#middleware-rows").replaceChildren(...list.map((m) =>
    el("tr", { "data-middleware": m.name },
      el("td", { "data-label": "Middleware" }, el("code", {}, m.name), " ",
        el("span", { class: `badge ${m.status === "enabled" ? "up" : "down"}` }, m.status)),
      el("td", { "data-label": "Type" }, m.type),
      el("td", { "data-label": "Settings" }, el("code", {}, JSON.stringify(declared(m)))),
      el("td", { "data-label": "Used by" }, (m.usedBy || []).join(", ") || el("span", { class: "muted" }, "no router")),
      el("td", { "data-label": "Provider" }, m.provider))));
}

// TCP and UDP routers: rule, TLS mode, service with each server's state, counters; a
// refused router (its connections are closed) says why.
function renderL4() {
  const { routers = [], services = [] } = state.l4 || {};
  $("#l4").hidden = routers.length === 0;
  const byName = Object.fromEntries(services.map((s) => [`${s.kind}:${s.name}`, s]));
  $("#l4-rows").replaceChildren(...routers.map((r) => {
    const provider = r.name.split("@").pop();
    const svcName = r.service.includes("@") ? r.service : `${r.service}@${provider}`;
    const svc = byName[`${r.kind}:${svcName}`];
    const st = r.stats || {};
    return el("tr", { "data-l4-router": r.name },
      el("td", { "data-label": "Router" }, el("code", {}, r.name), " ", el("span", { class: "muted" }, r.kind), " ",
        el("span", { class: `badge ${r.status === "enabled" ? "up" : "down"}`, title: r.error || "" }, r.status),
        r.error ? el("div", { class: "reason" }, r.error) : null),
      el("td", { "data-label": "Rule" }, r.rule ? el("code", {}, r.rule) : el("span", { class: "muted" }, "every datagram"),
        r.tls ? el("span", { class: "muted" }, ` tls ${r.tls}`) : null),
      el("td", { "data-label": "Entrypoints" }, (r.entryPoints || []).join(", ")),
      el("td", { "data-label": "Service and servers" }, el("code", {}, svcName), ...(svc?.servers || []).map((s) =>
        el("div", { class: "server", "data-state": s.status },
          el("span", { class: `badge ${STATE_CLASS[s.status] || "down"}` }, s.status), el("code", {}, s.address),
          el("span", { class: "muted" }, `${s.open} open`)))),
      el("td", { "data-label": "Connections", "data-l4-open": st.open ?? 0 }, `${st.open ?? 0} open · ${st.total ?? 0} total · ${st.refused ?? 0} refused`),
      el("td", { "data-label": "Bytes in / out" }, `${st.bytesIn ?? 0} / ${st.bytesOut ?? 0}`));
  }));
}

// Rule zero: a route whose protection portier cannot enforce answers 503; say so where it is.
function refusal(unenforced) {
  if (!unenforced || unenforced.length === 0) return [];
  return [" ", el("span", { class: "badge down", "data-refused": "", title: `not enforced: ${unenforced.join(", ")}` }, "503: protection not enforced")];
}

// === Backends and servers ===

const STATE_CLASS = { up: "up", down: "down", ejected: "down", unhealthy: "down", draining: "warn", paused: "warn", starting: "warn" };

// Where a server comes from: "container web-1", "task web.2 on node-1", "service web (VIP)".
function origin(o) {
  if (!o) return [];
  const text = o.kind === "task" ? `task ${o.name}${o.node ? ` on ${o.node}` : ""}`
    : o.kind === "service" ? `service ${o.name} (VIP)` : `${o.kind} ${o.name}`;
  return [el("span", { class: "origin", "data-origin": o.kind }, text)];
}

function serverRow(name, s) {
  const st = s.state || s.status || "up";
  const row = el("div", { class: "server", "data-server": name, "data-state": st },
    el("span", { class: `badge ${STATE_CLASS[st] || "down"}`, title: s.since ? `since ${s.since}` : "" }, st),
    ...origin(s.origin),
    s.url ? el("code", {}, s.url) : null,
    s.since ? el("span", { class: "muted", title: s.since }, `since ${ago(s.since)}`) : null,
    s.weight !== undefined ? el("span", { class: "muted" }, `weight ${s.weight}`) : null,
    s.openConnections !== undefined ? el("span", { class: "muted" }, `${s.openConnections} open`) : null,
    s.requestRate !== undefined ? el("span", { class: "muted" }, `${s.requestRate.toFixed(1)} req/s`) : null);
  if (s.reason) row.append(el("span", { class: "reason", "data-reason": "" }, s.reason));
  else if (s.lastError) row.append(el("span", { class: "muted", title: s.lastError }, `last error ${ago(s.lastErrorAt)}: ${s.lastError}`));
  return row;
}

function allServers(b) {
  return [...Object.entries(b.servers || {}), ...Object.entries(b.held || {})];
}

function buildCard(provider, name, b) {
  const servers = allServers(b);
  const up = b.up ?? servers.length;
  const total = b.total ?? servers.length;
  const card = el("div", { class: "card", "data-backend": name, "data-provider": provider },
    el("h3", {}, name, " ", el("span", { class: `badge ${up === 0 ? "down" : up < total ? "warn" : "up"}`, "data-up": `${up}/${total}` }, `${up} of ${total} up`)),
    el("div", { class: "muted" }, `${provider} · ${b.loadBalancer?.method || "wrr"}`));
  card.append(...refusal(b.unenforced));
  if (b.maxConn) card.append(el("div", { class: "muted", "data-maxconn": "" }, `maxconn ${b.maxConn.amount} per ${b.maxConn.extractorFunc}`));
  if (b.circuitBreaker) {
    const st = b.circuitBreaker.state || "standby";
    const tripped = st !== "standby";
    card.append(el("div", { class: "muted", "data-breaker": st },
      "circuit breaker ", el("code", {}, b.circuitBreaker.expression), " ",
      el("span", { class: tripped ? "badge down" : "badge up" }, tripped ? `${st}: 503` : st)));
  }
  if (servers.length === 0) card.append(el("div", { class: "server" }, el("span", { class: "badge down" }, "no server"), "answers 503"));
  for (const [sname, s] of servers) card.append(serverRow(sname, s));
  const hay = [name, provider, ...servers.flatMap(([n, s]) => [n, s.url, s.state, s.origin?.name])].join(" ").toLowerCase();
  return { node: card, hay };
}

function renderBackends() {
  const seen = new Set();
  const list = [];
  for (const [provider, p] of Object.entries(state.providers).sort()) {
    for (const [name, b] of Object.entries(p.backends || {}).sort()) {
      const key = `${provider}/${name}`;
      const sig = JSON.stringify(b);
      let card = state.cards.get(key);
      if (!card || card.sig !== sig) {
        const fresh = buildCard(provider, name, b);
        fresh.sig = sig;
        if (card) card.node.replaceWith(fresh.node);
        card = fresh;
        state.cards.set(key, card);
      }
      seen.add(key);
      list.push(card.node);
    }
  }
  for (const [key, card] of state.cards) {
    if (!seen.has(key)) { card.node.remove(); state.cards.delete(key); }
  }
  const box = $("#backends");
  if (box.children.length !== list.length || list.some((n, i) => box.children[i] !== n)) box.replaceChildren(...list);
}

// === Charts: inline SVG polylines over the last 5 or 60 minutes ===

const W = 600, H = 120;

// `series`: {end, step, <column>: [...]}; `lines`: [{key, cls, label}] drawn with a shared scale.
function drawChart(box, series, lines, perSecond, unit) {
  const window = state.range === "minutes" ? 3600 : 300;
  const n = series?.requests?.length || 0;
  box.dataset.points = String(n);
  if (!series || n === 0) {
    box.replaceChildren(el("div", { class: "empty muted" }, "no requests yet"));
    return;
  }
  const step = series.step || 1;
  const start = series.end - window;
  const value = (key, i) => {
    const v = series[key][i] ?? 0;
    return perSecond ? v / step : v;
  };
  let max = 0;
  for (const l of lines) for (let i = 0; i < n; i++) max = Math.max(max, value(l.key, i));
  const top = max > 0 ? max * 1.1 : 1;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  const last = lines.map((l) => `${l.label} ${fmtValue(value(l.key, n - 1), unit)}`).join(", ");
  svg.setAttribute("aria-label", `max ${fmtValue(max, unit)}; now ${last}`);
  for (const l of lines) {
    const pts = [];
    for (let i = 0; i < n; i++) {
      const t = series.end - (n - 1 - i) * step;
      if (t < start) continue;
      const x = ((t - start) / window) * W;
      const y = H - (value(l.key, i) / top) * (H - 4);
      pts.push(`${x.toFixed(1)},${y.toFixed(1)}`);
    }
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", pts.join(" "));
    line.setAttribute("class", `line ${l.cls}`);
    line.setAttribute("vector-effect", "non-scaling-stroke");
    svg.append(line);
  }
  box.replaceChildren(svg,
    el("span", { class: "axis top" }, fmtValue(max, unit)),
    el("span", { class: "axis now" }, last),
    el("span", { class: "axis left" }, state.range === "minutes" ? "−60 min" : "−5 min"));
}

function fmtValue(v, unit) {
  return unit === "ms" ? `${fmt(v)} ms` : `${v >= 10 ? v.toFixed(0) : v.toFixed(1)}/s`;
}

const RATE_LINES = [{ key: "requests", cls: "all", label: "all" }, { key: "5xx", cls: "err", label: "5xx" }];
const LATENCY_LINES = [{ key: "p99", cls: "all", label: "p99" }, { key: "p50", cls: "soft", label: "p50" }];

function drawMix(box, codes) {
  const classes = ["2xx", "3xx", "4xx", "5xx", "1xx", "other"];
  const total = classes.reduce((a, c) => a + (codes?.[c] || 0), 0);
  if (!total) { box.replaceChildren(); return; }
  const bar = el("div", { class: "bar", role: "img", "aria-label": "status codes" });
  const legend = el("div", { class: "legend muted" });
  for (const c of classes) {
    const n = codes[c] || 0;
    if (!n) continue;
    const pct = (100 * n) / total;
    bar.append(el("span", { class: `seg c${c}`, style: { width: `${pct}%` }, title: `${c}: ${n}` }));
    legend.append(el("span", { "data-class": c }, el("i", { class: `dot c${c}` }), `${c} ${n} (${pct < 1 ? pct.toFixed(1) : pct.toFixed(0)}%)`), " ");
  }
  box.replaceChildren(bar, legend);
}

function renderProxyCharts() {
  const p = state.traffic?.proxy;
  const series = p?.[state.range];
  drawChart($("#chart-rate"), series, RATE_LINES, true, "/s");
  drawChart($("#chart-latency"), series, LATENCY_LINES, false, "ms");
  drawMix($("#mix"), p?.codes);
}

// A point from the `traffic` event: append it to the proxy's one-second series, so the chart
// moves every second without a fetch.
function appendProxyPoint(t) {
  const s = state.traffic?.proxy?.seconds;
  if (!s || t.t <= s.end) return;
  const cols = ["requests", "1xx", "2xx", "3xx", "4xx", "5xx", "other", "p50", "p99"];
  const gap = Math.min(300, t.t - s.end);
  const quiet = t.requests === 0 && s.requests.every((v) => v === 0);
  if (s.requests.length === 0 && t.requests === 0) { s.end = t.t; return; }
  for (let g = 1; g < gap; g++) for (const c of cols) s[c].push(0);
  for (const c of cols) s[c].push(c === "requests" ? t.requests : c === "5xx" ? t["5xx"] : c === "p99" ? t.p99 : 0);
  while (s.requests.length > 300) for (const c of cols) s[c].shift();
  s.end = t.t;
  // Idle: nothing on the chart would change but the clock; skip the redraw.
  if (!quiet && state.range === "seconds" && !document.hidden && !state.detail) renderProxyCharts();
}

// === Detail view ===

function renderDetail() {
  const d = state.detail;
  const f = state.providers[d.provider]?.frontends?.[d.name];
  setText($("#detail-title"), d.name);
  if (!f) {
    $("#detail-health").replaceChildren(el("p", { class: "muted" }, `No frontend ${d.name} in provider ${d.provider} (any more).`));
    return;
  }
  const b = state.providers[d.provider]?.backends?.[f.backend];
  const h = f.health || { level: "ok", problems: [] };
  $("#detail-health").replaceChildren(
    el("p", {}, el("span", { class: `badge ${h.level === "ok" ? "up" : h.level === "warning" ? "warn" : "down"}`, "data-detail-level": h.level }, h.level),
      " ", h.problems.length ? h.problems.join("; ") : "serving"),
    ...refusal(f.unenforced));
  const fact = (k, ...v) => [el("dt", {}, k), el("dd", {}, ...v)];
  $("#detail-facts").replaceChildren(
    ...fact("Rule", ...Object.entries(f.routes || {}).flatMap(([r, x]) => [el("code", { "data-rule": r }, x.rule), " "])),
    ...fact("Backend", el("code", {}, f.backend), b ? ` · ${b.up} of ${b.total} up · ${b.loadBalancer?.method || "wrr"}` : " · not defined"),
    ...fact("Entrypoints", (f.entryPoints || []).join(", ")),
    ...fact("Priority", `${f.effectivePriority ?? f.priority}${f.priority ? "" : " (from the rule's length)"}`),
    ...(f.ruleSyntax ? fact("Rule syntax", `Traefik ${f.ruleSyntax}`) : []),
    ...fact("Provider", d.provider),
    ...fact("Pass Host header", f.passHostHeader ? "yes" : "no"));
  // Middlewares in order, then what the backend adds.
  const detail = middlewareDetail(f);
  const named = state.middlewaresByName || {};
  const settingsOf = (n) => {
    const m = named[n.includes("@") ? n : `${n}@${d.provider}`];
    return m ? declared(m) : detail[n] ?? {};
  };
  const steps = (f.middlewares || []).map((n) => el("li", { "data-step": n },
    el("details", {}, el("summary", {}, n), el("pre", {}, JSON.stringify(settingsOf(n), null, 2)))));
  if (f.redirect) steps.push(el("li", { "data-step": "redirect" }, el("details", {}, el("summary", {}, "redirect"), el("pre", {}, JSON.stringify(f.redirect, null, 2)))));
  if (b?.maxConn) steps.push(el("li", { "data-step": "maxConn" }, `maxConn: ${b.maxConn.amount} per ${b.maxConn.extractorFunc}`));
  if (b?.circuitBreaker) steps.push(el("li", { "data-step": "circuitBreaker" }, `circuit breaker: ${b.circuitBreaker.expression} (${b.circuitBreaker.state || "standby"})`));
  if (f.errors && Object.keys(f.errors).length) steps.push(el("li", { "data-step": "errors" }, `error pages: ${Object.keys(f.errors).join(", ")}`));
  $("#detail-middlewares").replaceChildren(...(steps.length ? steps : [el("li", { class: "muted" }, "none: requests go straight to the backend")]));
  const ft = d.frontendTraffic;
  drawChart($("#detail-rate"), ft?.[state.range], RATE_LINES, true, "/s");
  drawChart($("#detail-latency"), ft?.[state.range], LATENCY_LINES, false, "ms");
  drawMix($("#detail-mix"), ft?.codes);
  renderDetailServers(b, d.backendTraffic);
  renderDetailErrors(d, f, b);
}

// Each server with its state, and its state over the last hour as a bar.
function renderDetailServers(b, bt) {
  const box = $("#detail-servers");
  if (!b) { box.replaceChildren(el("p", { class: "muted" }, "No such backend.")); return; }
  const servers = allServers(b);
  if (servers.length === 0) { box.replaceChildren(el("p", {}, el("span", { class: "badge down" }, "no server"), " every request answers 503")); return; }
  const now = Date.now();
  const from = now - 3600 * 1000;
  box.replaceChildren(...servers.map(([name, s]) => {
    const changes = bt?.timelines?.[name] || [];
    const bar = el("div", { class: "timeline", role: "img", "aria-label": `${name}: ${changes.map((c) => `${c.state} at ${when(c.at)}`).join(", ")}` });
    changes.forEach((c, i) => {
      const a = Math.max(from, c.ms);
      const z = i + 1 < changes.length ? changes[i + 1].ms : now;
      if (z <= from) return;
      bar.append(el("span", { class: `seg s-${c.state}`, style: { left: `${((a - from) / 36000).toFixed(3)}%`, width: `${Math.max(0.3, (z - a) / 36000).toFixed(3)}%` }, title: `${c.state} from ${when(c.at)}` }));
    });
    return el("div", { class: "server-detail" }, serverRow(name, s), bar);
  }), el("div", { class: "muted axis-row" }, el("span", {}, "−60 min"), el("span", {}, "now")));
}

// What went wrong lately for this route: its health problems, its servers' errors, and the
// configuration errors that name it or its backend.
function renderDetailErrors(d, f, b) {
  const items = [];
  for (const [name, s] of b ? allServers(b) : []) {
    if (s.lastError) items.push({ at: s.lastErrorAt, text: `server ${name}: ${s.lastError}` });
    if (s.reason && s.state !== "up") items.push({ at: s.since, text: `server ${name} ${s.state}: ${s.reason}` });
  }
  const names = [d.name, f.backend].map((x) => x.toLowerCase());
  const { current = [], resolved = [] } = state.errors || {};
  for (const e of [...current, ...resolved]) {
    const text = `${e.source}: ${e.message}`.toLowerCase();
    if (names.some((n) => text.includes(n))) items.push({ at: e.lastSeen, text: `${e.resolved ? "resolved " : ""}${e.kind} ${e.source}: ${e.message} (seen ${e.count}×)` });
  }
  items.sort((a, b) => (b.at || "").localeCompare(a.at || ""));
  $("#detail-errors").replaceChildren(...(items.length ? items.map((i) => el("li", { "data-recent": "" }, i.at ? el("span", { class: "muted" }, `${when(i.at)} `) : null, i.text))
    : [el("li", { class: "muted" }, "none")]));
}

// === Navigation ===

function route() {
  const m = location.hash.match(/^#\/route\/([^/]+)\/(.+)$/);
  if (m) {
    const provider = decodeURIComponent(m[1]);
    const name = decodeURIComponent(m[2]);
    state.detail = { provider, name };
    $("#home").hidden = true;
    $("#detail").hidden = false;
    renderDetail();
    refreshDetail();
    $("#detail-title").focus();
  } else {
    const was = state.detail;
    state.detail = null;
    $("#detail").hidden = true;
    $("#home").hidden = false;
    if (was) {
      render();
      const row = state.rows.get(`${was.provider}/${was.name}`);
      row?.tr.querySelector("a")?.focus();
    }
  }
}

function setRange(range) {
  state.range = range;
  for (const b of document.querySelectorAll("[data-range]")) b.setAttribute("aria-pressed", String(b.dataset.range === range));
  renderProxyCharts();
  if (state.detail) renderDetail();
}

// === Live updates ===

function live() {
  const badge = $("#live");
  const ok = () => { setText(badge, "live"); badge.className = "badge up"; };
  const events = new EventSource("../api/events");
  events.onopen = ok;
  events.addEventListener("table", (msg) => {
    ok();
    try { setText($("#generation"), `configuration #${JSON.parse(msg.data).generation}`); } catch (_) { /* keep */ }
    refresh(250);
    if (state.detail) refreshDetail(1000);
  });
  events.addEventListener("health", () => { refresh(250); if (state.detail) refreshDetail(1000); });
  events.addEventListener("traffic", (msg) => {
    ok();
    let t;
    try { t = JSON.parse(msg.data); } catch (_) { return; }
    appendProxyPoint(t);
    // Counts moved: fetch the numbers again, at most every 2 s, and the states every 10 s.
    if (t.total !== state.lastTotal) {
      state.lastTotal = t.total;
      if (Date.now() - (state.configAt || 0) > 10000) refresh(0);
      else refreshTraffic(2000);
      if (state.detail) refreshDetail(2000);
    }
  });
  events.onerror = () => {
    setText(badge, "reconnecting…");
    badge.className = "badge down";
  };
}

$("#filter").addEventListener("input", () => requestAnimationFrame(applyFilter));
$("#filter").addEventListener("keydown", (e) => { if (e.key === "Escape") { e.target.value = ""; applyFilter(); } });
for (const b of document.querySelectorAll("[data-range]")) b.addEventListener("click", () => setRange(b.dataset.range));
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && state.detail) location.hash = "";
  if (e.key === "/" && document.activeElement?.tagName !== "INPUT" && !state.detail) { e.preventDefault(); $("#filter").focus(); }
});
document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(0); });
window.addEventListener("hashchange", route);

refresh(0);
route();
live();
