// The built-in page: a lazy path tree from metrics/find, the chosen targets plotted with
// uPlot from render's json, and a status view polling status. Relative URLs only, so the
// page works behind a proxy that serves the server under a prefix. Names are only ever
// set as text, never as HTML.
"use strict";

const PALETTE = ["#1f6feb", "#d4380d", "#2f9e44", "#9c36b5", "#e8590c", "#0c8599",
  "#c2255c", "#5c940d", "#364fc7", "#862e9c"];
const REFRESH_MS = 10000;
const STATUS_MS = 3000;

const state = { targets: [], chart: null, plotted: 0, refresh: null, statusTimer: null,
  lastStatus: null, request: 0 };

const $ = (id) => document.getElementById(id);

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || `${response.status} ${response.statusText}`);
  return body;
}

// ---- the path tree -------------------------------------------------------------------

async function loadChildren(list, query) {
  list.replaceChildren(element("li", { className: "loading", textContent: "…" }));
  try {
    const nodes = await getJson(`metrics/find?query=${encodeURIComponent(query)}`);
    list.replaceChildren(...nodes.map(treeNode));
    if (!nodes.length) list.replaceChildren(element("li", { textContent: "(nothing)" }));
  } catch (error) {
    list.replaceChildren(element("li", { className: "error", textContent: error.message }));
  }
}

function treeNode(node) {
  const item = element("li", { role: "treeitem" });
  item.dataset.path = node.id;
  const row = element("div", { className: "node" });
  if (node.expandable) {
    const toggle = element("button", { type: "button", className: "toggle",
      title: `expand ${node.id}` });
    toggle.setAttribute("aria-label", `expand ${node.id}`);
    const children = element("ul", { role: "group", hidden: true });
    item.setAttribute("aria-expanded", "false");
    toggle.addEventListener("click", () => {
      const open = item.getAttribute("aria-expanded") !== "true";
      item.setAttribute("aria-expanded", String(open));
      children.hidden = !open;
      if (open && !children.dataset.loaded) {
        children.dataset.loaded = "1";
        loadChildren(children, `${node.id}.*`);
      }
    });
    row.append(toggle, element("span", { className: "name", textContent: node.text }));
    item.append(row, children);
  } else {
    const box = element("input", { type: "checkbox", checked: state.targets.includes(node.id) });
    box.dataset.path = node.id;
    box.addEventListener("change", () => (box.checked ? addTarget(node.id) : removeTarget(node.id)));
    const label = element("label", {}, box, element("span", { textContent: node.text }));
    label.title = node.id;
    row.append(element("span", { className: "leaf-spacer" }), label);
    item.append(row);
  }
  return item;
}

// ---- targets, range and the plot -----------------------------------------------------

function addTarget(target) {
  target = target.trim();
  if (!target || state.targets.includes(target)) return;
  state.targets.push(target);
  changed();
}

function removeTarget(target) {
  state.targets = state.targets.filter((t) => t !== target);
  changed();
}

function changed() {
  showTargets();
  saveLocation();
  plot();
}

function showTargets() {
  $("targets").replaceChildren(...state.targets.map((target) => {
    const remove = element("button", { type: "button", textContent: "×", title: "remove" });
    remove.addEventListener("click", () => removeTarget(target));
    return element("li", {}, element("span", { textContent: target }), remove);
  }));
  for (const box of document.querySelectorAll("#tree input[type=checkbox]")) {
    box.checked = state.targets.includes(box.dataset.path);
  }
}

function range() {
  return { from: $("from").value.trim() || "-1h", until: $("until").value.trim() || "now" };
}

function renderUrl(format, extra = {}) {
  const params = new URLSearchParams();
  for (const target of state.targets) params.append("target", target);
  const { from, until } = range();
  params.set("from", from);
  params.set("until", until);
  params.set("format", format);
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  return `render?${params}`;
}

function plotWidth() {
  return Math.max(300, $("plot").clientWidth - 2);
}

async function plot() {
  const request = ++state.request;
  const info = $("plot-info");
  for (const id of ["png-link", "svg-link"]) $(id).hidden = !state.targets.length;
  if (!state.targets.length) {
    draw([], []);
    info.className = "";
    info.textContent = "Pick a series in the tree, or type a target.";
    return;
  }
  const width = plotWidth();
  $("png-link").href = renderUrl("png", { width, height: 400, template: "plain" });
  $("svg-link").href = renderUrl("svg", { width, height: 400, template: "plain" });
  try {
    const series = await getJson(renderUrl("json", { maxDataPoints: width }));
    if (request !== state.request) return; // a newer request is on its way
    draw(series.map((s) => s.target), aligned(series));
    info.className = "";
    info.textContent = `${series.length} series, ${state.plotted} points`;
  } catch (error) {
    if (request !== state.request) return;
    draw([], []); // no stale lines beside the message
    info.className = "error";
    info.textContent = error.message;
  }
}

// uPlot wants one time column shared by every series: the union of their times, with
// null where a series has no point.
function aligned(series) {
  const times = [...new Set(series.flatMap((s) => s.datapoints.map((p) => p[1])))]
    .sort((a, b) => a - b);
  const position = new Map(times.map((t, i) => [t, i]));
  const columns = series.map((s) => {
    const column = new Array(times.length).fill(null);
    for (const [value, time] of s.datapoints) {
      column[position.get(time)] = Number.isFinite(value) ? value : null;
    }
    return column;
  });
  return [times, ...columns];
}

function draw(names, data) {
  if (state.chart) state.chart.destroy();
  state.chart = null;
  state.plotted = 0;
  if (names.length) {
    const options = {
      width: plotWidth(),
      height: 400,
      series: [{}, ...names.map((name, i) => ({
        label: name, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false,
      }))],
      axes: [{}, { size: 60 }],
      scales: { x: { time: true } },
    };
    state.chart = new uPlot(options, data, $("plot"));
    state.plotted = state.chart.data.slice(1)
      .reduce((sum, column) => sum + column.filter((v) => v !== null && v !== undefined).length, 0);
  }
  $("plot-info").dataset.points = String(state.plotted);
  $("plot-info").dataset.series = String(names.length);
}

function setRefresh() {
  clearInterval(state.refresh);
  state.refresh = $("refresh").checked ? setInterval(plot, REFRESH_MS) : null;
}

// The view in the address, so it can be bookmarked or sent: #target=a.b&from=-1h
function saveLocation() {
  const params = new URLSearchParams();
  for (const target of state.targets) params.append("target", target);
  const { from, until } = range();
  params.set("from", from);
  params.set("until", until);
  history.replaceState(null, "", `#${params}`);
}

function loadLocation() {
  const params = new URLSearchParams(location.hash.slice(1));
  state.targets = params.getAll("target");
  $("from").value = params.get("from") || "-1h";
  $("until").value = params.get("until") || "now";
  const preset = [...$("preset").options].find((o) => o.value === $("from").value);
  $("preset").value = preset && $("until").value === "now" ? preset.value : "";
}

// ---- the status view -----------------------------------------------------------------

const number = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });

function duration(seconds) {
  const parts = [[86400, "d"], [3600, "h"], [60, "min"], [1, "s"]];
  for (const [size, unit] of parts) {
    if (seconds >= size || size === 1) return `${Math.floor(seconds / size)} ${unit}`;
  }
  return "";
}

function setText(id, text, className) {
  $(id).textContent = text;
  if (className !== undefined) $(id).className = className;
}

function rate(now, previous, key) {
  if (!previous) return "…";
  const seconds = now.time - previous.time;
  if (seconds <= 0) return "…";
  return number.format((now.counters[key] - previous.counters[key]) / seconds);
}

async function refreshStatus() {
  let status;
  try {
    status = await getJson("status");
  } catch (error) {
    setText("uptime", "unreachable", "bad");
    setText("version", error.message);
    return;
  }
  const previous = state.lastStatus;
  state.lastStatus = status;
  const { counters, gauges } = status;
  setText("points-in-rate", rate(status, previous, "points_in"));
  setText("written-rate", rate(status, previous, "snapshots_written"));
  setText("series", number.format(gauges.series));
  setText("paths", `${number.format(gauges.paths)} paths indexed, ${number.format(gauges.open_windows)} windows open`);
  setText("buffered", number.format(gauges.buffered));
  setText("buffer-waits", `snapshots waiting; the buffer filled ${number.format(counters.buffer_full_waits)} times`);
  for (const part of ["store", "index"]) {
    const health = status[part];
    setText(`${part}-health`, health.ok ? "ok" : "failing", health.ok ? "ok" : "bad");
    setText(`${part}-detail`, health.ok ? `answered in ${health.milliseconds} ms` : health.message);
  }
  setText("store-detail", `${$("store-detail").textContent}; ${number.format(counters.write_errors)} write errors, ${number.format(counters.write_retries)} retries`);
  setText("dropped", number.format(counters.points_dropped + counters.datagrams_dropped));
  setText("rejected", `points and datagrams; ${number.format(counters.lines_rejected)} lines rejected`);
  setText("uptime", duration(status.uptime));
  setText("version", `cyanite-py ${status.version}; ${number.format(counters.points_in)} points received`);
  $("problems").tBodies[0].replaceChildren(...status.problems.map((p) => element("tr", {},
    element("td", { textContent: new Date(p.time * 1000).toLocaleString() }),
    element("td", { textContent: p.level, className: p.level === "warning" ? "" : "bad" }),
    element("td", { textContent: p.logger }),
    element("td", { textContent: p.message }))));
  $("problems").hidden = !status.problems.length;
  $("no-problems").hidden = status.problems.length > 0;
}

function show(view) {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.setAttribute("aria-selected", String(tab.dataset.view === view));
  }
  $("graph-view").hidden = view !== "graph";
  $("status-view").hidden = view !== "status";
  $("range").hidden = view !== "graph";
  clearInterval(state.statusTimer);
  state.statusTimer = null;
  if (view === "status") {
    refreshStatus();
    state.statusTimer = setInterval(refreshStatus, STATUS_MS);
  } else {
    plot();
  }
}

// ---- wiring --------------------------------------------------------------------------

function start() {
  loadLocation();
  showTargets();
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => show(tab.dataset.view));
  }
  $("preset").addEventListener("change", () => {
    if (!$("preset").value) return $("from").focus();
    $("from").value = $("preset").value;
    $("until").value = "now";
    changed();
  });
  for (const id of ["from", "until"]) {
    $(id).addEventListener("change", () => { $("preset").value = ""; changed(); });
  }
  $("range").addEventListener("submit", (event) => { event.preventDefault(); changed(); });
  $("refresh").addEventListener("change", setRefresh);
  window.addEventListener("hashchange", () => { loadLocation(); showTargets(); plot(); });
  $("target-form").addEventListener("submit", (event) => {
    event.preventDefault();
    addTarget($("target").value);
    $("target").value = "";
  });
  let width = 0;
  new ResizeObserver(() => {
    const now = plotWidth();
    if (state.chart && now !== width) state.chart.setSize({ width: now, height: 400 });
    width = now;
  }).observe($("plot"));
  loadChildren($("tree"), "*");
  plot();
}

start();
