// portier dashboard: renders /api and /health, and refreshes on every /api/events message.

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

async function getJSON(path) {
  const resp = await fetch(path, { cache: "no-store" });
  if (!resp.ok) throw new Error(`${path}: ${resp.status}`);
  return resp.json();
}

function renderProviders(providers, configWarnings = []) {
  const tbody = $("#frontends tbody");
  const backends = $("#backends");
  const errors = [];
  const warnings = [...configWarnings];
  const rows = [];
  const cards = [];
  for (const [provider, p] of Object.entries(providers).sort()) {
    for (const e of p.errors || []) errors.push(`${e.source}: ${e.message}`);
    for (const w of p.warnings || []) warnings.push(`${w.source}: ${w.message}`);
    for (const [name, f] of Object.entries(p.frontends || {})) {
      const rules = Object.values(f.routes || {}).map((r) => r.rule).join(" ; ");
      rows.push({ priority: f.effectivePriority ?? f.priority, node: el("tr", { "data-frontend": name },
        el("td", { "data-label": "Frontend" }, el("code", {}, name), ...refusal(f.unenforced)),
        el("td", { "data-label": "Rule" }, el("code", {}, rules)),
        el("td", { "data-label": "Backend" }, el("code", {}, f.backend)),
        el("td", { "data-label": "Middlewares", "data-middlewares": "" }, ...middlewares(f)),
        el("td", { "data-label": "Entrypoints" }, (f.entryPoints || []).join(", ")),
        el("td", { "data-label": "Priority" }, f.effectivePriority ?? f.priority),
        el("td", { "data-label": "Provider" }, provider)) });
    }
    for (const [name, b] of Object.entries(p.backends || {})) {
      const servers = Object.entries(b.servers || {});
      const card = el("div", { class: "card", "data-backend": name },
        el("h3", {}, name),
        el("div", { class: "muted" }, `${provider} · ${b.loadBalancer?.method || "wrr"} · ${servers.length} server${servers.length === 1 ? "" : "s"}`));
      card.append(...refusal(b.unenforced));
      if (b.maxConn) card.append(el("div", { class: "muted", "data-maxconn": "" }, `maxconn ${b.maxConn.amount} per ${b.maxConn.extractorFunc}`));
      if (b.circuitBreaker) {
        const state = b.circuitBreaker.state || "standby";
        const tripped = state !== "standby";
        card.append(el("div", { class: "muted", "data-breaker": state },
          "circuit breaker ", el("code", {}, b.circuitBreaker.expression), " ",
          el("span", { class: tripped ? "badge down" : "badge up" }, tripped ? `${state}: 503` : state)));
      }
      if (servers.length === 0) card.append(el("div", { class: "server" }, el("span", { class: "badge down" }, "no server"), "answers 503"));
      for (const [sname, s] of servers) {
        const up = (s.status || "up") === "up";
        const row = el("div", { class: "server", "data-server": sname },
          el("span", { class: `badge ${up ? "up" : "down"}`, title: s.since ? `since ${s.since}` : "" }, up ? "up" : "down"),
          el("code", {}, s.url),
          ...origin(s.origin),
          el("span", { class: "muted" }, `weight ${s.weight}`),
          el("span", { class: "muted" }, `${s.openConnections ?? 0} open`),
          el("span", { class: "muted" }, `${(s.requestRate ?? 0).toFixed(1)} req/s`));
        if (s.lastError) row.append(el("span", { class: "muted", title: s.lastError }, "last error: " + s.lastError));
        card.append(row);
      }
      cards.push(card);
    }
  }
  rows.sort((a, b) => b.priority - a.priority);
  tbody.replaceChildren(...rows.map((r) => r.node));
  $("#no-frontends").hidden = rows.length > 0;
  backends.replaceChildren(...cards);
  $("#error-list").replaceChildren(...errors.map((e) => el("li", {}, e)));
  $("#errors").hidden = errors.length === 0;
  $("#warning-list").replaceChildren(...warnings.map((w) => el("li", {}, w)));
  $("#warnings").hidden = warnings.length === 0;
}

// Where a server comes from: "container web-1", "task web.2 on node-1", "service web (VIP)".
function origin(o) {
  if (!o) return [];
  const text = o.kind === "task" ? `task ${o.name}${o.node ? ` on ${o.node}` : ""}`
    : o.kind === "service" ? `service ${o.name} (VIP)` : `${o.kind} ${o.name}`;
  return [el("span", { class: "muted", "data-origin": o.kind }, text)];
}

// The frontend's middlewares in the order they run, each with its settings as a tooltip.
function middlewares(f) {
  const names = f.middlewares || [];
  if (names.length === 0) return [el("span", { class: "muted" }, "none")];
  const detail = { whiteList: f.whiteList, customHeaders: f.headers, secureHeaders: f.headers,
    basicAuth: f.auth, digestAuth: f.auth, forwardAuth: f.auth, rateLimit: f.rateLimit };
  return names.flatMap((n) => [el("span", { class: "chip", title: JSON.stringify(detail[n] ?? {}) }, n), " "]);
}

// Rule zero: a route whose protection portier cannot enforce answers 503; say so where it is.
function refusal(unenforced) {
  if (!unenforced || unenforced.length === 0) return [];
  return [" ", el("span", { class: "badge down", "data-refused": "", title: `not enforced: ${unenforced.join(", ")}` }, "503: protection not enforced")];
}

function renderHealth(h) {
  const stat = (label, value) => el("div", { class: "stat" }, el("b", {}, value), el("span", { class: "muted" }, label));
  $("#health").replaceChildren(
    stat("requests", h.total_count),
    stat("last second", h.count),
    stat("avg response", h.average_response_time),
    stat("uptime", h.uptime),
  );
  const codes = Object.entries(h.total_status_code_count || {}).sort();
  $("#codes").replaceChildren(...codes.map(([code, n]) => el("span", { class: "code" }, `${code}: ${n}`)));
}

async function refresh() {
  try {
    const [providers, configWarnings] = await Promise.all([getJSON("../api"), getJSON("../api/config/warnings")]);
    renderProviders(providers, configWarnings);
  } catch (e) {
    console.error(e);
  }
}

async function refreshHealth() {
  try {
    renderHealth(await getJSON("../health"));
  } catch (e) {
    console.error(e);
  }
}

function live() {
  const badge = $("#live");
  const events = new EventSource("../api/events");
  events.addEventListener("table", (msg) => {
    badge.textContent = "live";
    badge.className = "badge up";
    try {
      $("#generation").textContent = `configuration #${JSON.parse(msg.data).generation}`;
    } catch (_) { /* keep the old label */ }
    refresh();
  });
  events.addEventListener("health", () => refresh());
  events.onerror = () => {
    badge.textContent = "reconnecting…";
    badge.className = "badge down";
  };
}

refresh();
refreshHealth();
live();
setInterval(refreshHealth, 2000);
setInterval(refresh, 5000); // request rates; configuration changes arrive through /api/events
