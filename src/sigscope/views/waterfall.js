// sigscope's Trace view (anywidget front end): a waterfall of the sends on one time axis and
// a cascade graph of what they triggered.  Data comes from Python as plain JSON (`data`);
// clicking a row or bar sets `selection`.  Every string from the trace is set as text
// (textContent / SVG text nodes), never parsed as HTML.

const SVG = "http://www.w3.org/2000/svg";
const LABEL_WIDTH = 380;
const FOLD_ABOVE = 60;

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function s(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

export function formatUs(us) {
  if (us === 0) return "0";
  if (us < 100) return `${us < 10 ? us.toFixed(1) : us.toFixed(0)} µs`;
  const ms = us / 1000;
  if (ms < 100) return `${ms.toFixed(2)} ms`;
  if (ms < 10000) return `${ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

function niceStep(span, ticks) {
  const raw = span / ticks;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

// -- the rows of the waterfall, nested as the sends were

function buildRows(data, keep) {
  const sends = data.sends || [];
  const ids = new Set(sends.map((e) => e.id));
  const kids = new Map();
  const roots = [];
  const put = (parent, item) => {
    if (parent && ids.has(parent[0])) {
      const key = `${parent[0]}:${parent[1]}`;
      if (!kids.has(key)) kids.set(key, []);
      kids.get(key).push(item);
    } else roots.push(item);
  };
  for (const e of sends) put(e.p, { kind: "send", rec: e, t: e.t });
  for (const b of data.bypassed || []) put(b.p, { kind: "bypass", rec: b, t: b.t });
  for (const o of data.on_commit || []) put(o.p, { kind: "on_commit", rec: o, t: o.t });
  const byTime = (a, b) => a.t - b.t;
  roots.sort(byTime);
  const rows = [];
  // `under`: the keys of the sends a row is nested in (collapsing one hides the row)
  const walk = (item, depth, under) => {
    const r = item.rec;
    if (item.kind === "bypass") {
      rows.push({ kind: "bypass", key: `bypass:${r.id}`, depth, under, start: r.t, dur: 0, rec: r });
      return;
    }
    if (item.kind === "on_commit") {
      const dur = r.end !== null && r.end !== undefined ? Math.max(r.end - r.t, 0) : 0;
      rows.push({ kind: "on_commit", key: `on_commit:${r.id}`, depth, under, start: r.t, dur, rec: r });
      return;
    }
    const key = `send:${r.id}`;
    rows.push({ kind: "send", key, depth, under, start: r.t, dur: r.d, rec: r });
    const inside = [...under, key];
    for (const c of r.calls) {
      rows.push({ kind: "call", key: `call:${r.id}:${c.i}`, depth: depth + 1, under: inside,
                  start: r.t + c.t, dur: c.d, rec: c, send: r });
      const inner = (kids.get(`${r.id}:${c.i}`) || []).sort(byTime);
      for (const k of inner) walk(k, depth + 2, inside);
    }
  };
  for (const item of roots) if (keep(item)) walk(item, 0, []);
  return rows;
}

function childrenOf(data) {
  const byParent = new Map();
  for (const e of data.sends || []) {
    if (e.p) {
      const k = e.p[0];
      if (!byParent.has(k)) byParent.set(k, []);
      byParent.get(k).push(e);
    }
  }
  return byParent;
}

function subtreeMatches(item, byParent, test) {
  if (item.kind !== "send") return false;
  const stack = [item.rec];
  while (stack.length) {
    const e = stack.pop();
    if (test(e)) return true;
    stack.push(...(byParent.get(e.id) || []));
  }
  return false;
}

function hasError(e) {
  return !!e.err || e.calls.some((c) => !!c.err);
}

// -- what a row says: its label, its tooltip, its details

function rowLabel(row) {
  const r = row.rec;
  if (row.kind === "send") {
    const n = r.calls.length;
    return `${r.sig} ← ${r.snd ?? "no sender"} · ${r.m} · ${n} receiver${n === 1 ? "" : "s"}`;
  }
  if (row.kind === "call") return `${r.a ? "async " : ""}${r.n}`;
  if (row.kind === "bypass") {
    const rows = r.rows === null || r.rows === undefined ? "" : ` · ${r.rows} rows`;
    return `⚠ ${r.op} ${r.model}${rows} · no ${r.signals.join(", ")}`;
  }
  const state = r.err ? `✗ ${r.err[0]}` : r.ran === true ? "ran" : r.ran === false ? "not run" : "pending";
  return `↪ on_commit → ${r.cb} (${state})`;
}

function facts(row) {
  // [label, value] pairs; every value is shown as text
  const r = row.rec;
  const out = [];
  if (row.kind === "send") {
    out.push(["signal", r.signal], ["sender", r.snd ?? "—"], ["method", r.m]);
    out.push(["took", formatUs(r.d)], ["receivers", String(r.calls.length)], ["thread", r.thread]);
    for (const [k, v] of r.kw) out.push([`kwargs.${k}`, v]);
    if (r.err) out.push(["raised", `${r.err[0]}: ${r.err[1]}`]);
  } else if (row.kind === "call") {
    const e = row.send;
    out.push(["receiver", r.n], ["where", r.at || "(no source)"], ["took", formatUs(r.d)]);
    out.push(["signal", `${e.sig} ← ${e.snd ?? "no sender"} (${e.m})`]);
    if (r.a) out.push(["async", "yes"]);
    for (const [k, v] of e.kw) out.push([`kwargs.${k}`, v]);
    if (r.err) out.push(["raised", `${r.err[0]}: ${r.err[1]}`]);
    else out.push(["returned", r.r ?? "None"]);
  } else if (row.kind === "bypass") {
    out.push(["operation", r.op], ["model", r.model], ["rows", r.rows ?? "?"]);
    out.push(["signals not sent", r.signals.join(", ")]);
    out.push(["receivers not run", r.receivers.join(", ") || "—"]);
    out.push(["where", r.at || "?"], ["function", r.fn ?? "?"]);
  } else if (row.kind === "on_commit") {
    out.push(["callback", r.cb], ["database", r.using]);
    out.push(["ran", r.ran === true ? "yes" : r.ran === false ? "no (rolled back)" : "not yet"]);
    if (r.end !== null && r.end !== undefined) out.push(["finished", `+${formatUs(r.end)}`]);
    if (r.err) out.push(["raised", `${r.err[0]}: ${r.err[1]}`]);
  }
  return out;
}

function factTable(pairs, limit) {
  const table = h("table", "sigscope-tv-facts");
  for (const [k, v] of pairs.slice(0, limit)) {
    const tr = h("tr");
    tr.append(h("th", null, k), h("td", null, v));
    table.append(tr);
  }
  if (pairs.length > limit) table.append(h("tr", null, `… ${pairs.length - limit} more`));
  return table;
}

// -- the waterfall

function waterfall(root, data, hooks) {
  const state = { full: [0, 1], domain: [0, 1], collapsed: new Set(), rows: [], filter: {} };
  const box = h("div", "sigscope-tv-waterfall");
  box.tabIndex = 0;
  const axisRow = h("div", "sigscope-tv-axis");
  const axisLabel = h("div", "sigscope-tv-label sigscope-tv-dim", "time after the first send");
  const axis = h("div", "sigscope-tv-track");
  axisRow.append(axisLabel, axis);
  const body = h("div", "sigscope-tv-body");
  const brush = h("div", "sigscope-tv-brush");
  box.append(axisRow, body);
  root.append(box);

  function draw() {
    body.replaceChildren();
    for (const row of state.rows) {
      if (row.under.some((key) => state.collapsed.has(key))) { row.bar = null; continue; }
      body.append(rowNode(row));
    }
    for (const u of data.unheard || []) {
      const r = h("div", "sigscope-tv-row sigscope-tv-unheard");
      r.append(h("div", "sigscope-tv-label",
                 `∅ ${u.sig} ← ${u.snd ?? "no sender"} ×${u.count}: nobody listening`), h("div", "sigscope-tv-track"));
      body.append(r);
    }
    body.append(brush);
    place();
  }

  function rowNode(row) {
    const node = h("div", `sigscope-tv-row sigscope-tv-${row.kind}`);
    node.dataset.key = row.key;
    const label = h("div", "sigscope-tv-label");
    label.style.paddingLeft = `${4 + row.depth * 14}px`;
    if (row.kind === "send") {
      const caret = h("span", "sigscope-tv-caret", state.collapsed.has(row.key) ? "▸" : "▾");
      caret.dataset.toggle = row.key;
      label.append(caret);
    }
    label.append(h("span", "sigscope-tv-name", rowLabel(row)));
    const track = h("div", "sigscope-tv-track");
    const failed = row.rec.err;
    const bar = h("div", `sigscope-tv-bar${failed ? " sigscope-tv-failed" : ""}`);
    if (row.kind === "bypass" || (row.kind === "on_commit" && !row.dur)) bar.classList.add("sigscope-tv-mark");
    if (failed) bar.append(h("span", "sigscope-tv-bar-text", `✗ ${failed[0]}`));
    const took = h("span", "sigscope-tv-took", row.kind === "call" || row.kind === "send" ? formatUs(row.dur) : "");
    track.append(bar, took);
    node.append(label, track);
    row.bar = bar;
    row.took = took;
    if (hooks.selected() === row.key) node.classList.add("sigscope-tv-selected");
    return node;
  }

  function place() {
    const [a, b] = state.domain;
    const span = b - a || 1;
    const trackWidth = axis.clientWidth || 800;
    for (const row of state.rows) {
      if (!row.bar) continue;
      const left = ((row.start - a) / span) * 100;
      const width = (row.dur / span) * 100;
      row.bar.style.left = `${left}%`;
      row.bar.style.width = `${Math.max(width, 0)}%`;
      if (row.rec.err && (row.kind === "call" || row.kind === "send")) {
        // the exception type on the bar when it fits, else beside it (never cut off)
        const text = `✗ ${row.rec.err[0]}`;
        const fits = (width / 100) * trackWidth >= text.length * 7 + 8;
        row.bar.classList.toggle("sigscope-tv-narrow", !fits);
        row.took.textContent = fits ? formatUs(row.dur) : `${text} · ${formatUs(row.dur)}`;
      }
      const after = left + width;
      row.took.style.left = after > 75 ? "" : `calc(${after}% + 4px)`;
      row.took.style.right = after > 75 ? `calc(${100 - left}% + 4px)` : "";
    }
    axis.replaceChildren();
    const step = niceStep(span, 8);
    for (let t = Math.ceil(a / step) * step; t <= b; t += step) {
      const tick = h("span", "sigscope-tv-tick", formatUs(t));
      tick.style.left = `${((t - a) / span) * 100}%`;
      axis.append(tick);
    }
    box.dataset.domain = `${a.toFixed(1)},${b.toFixed(1)}`;
    hooks.zoomed(state.domain, state.full);
  }

  function setDomain(a, b) {
    const [lo, hi] = state.full;
    const span = Math.max(b - a, 1);
    a = Math.max(lo, Math.min(a, hi - span));
    state.domain = [a, Math.min(hi, a + span)];
    place();
  }

  function fraction(clientX) {
    const rect = axis.getBoundingClientRect();
    return Math.min(Math.max((clientX - rect.left) / rect.width, 0), 1);
  }

  function zoomAt(clientX, factor) {
    const [a, b] = state.domain;
    const at = a + fraction(clientX) * (b - a);
    const span = (b - a) * factor;
    setDomain(at - fraction(clientX) * span, at - fraction(clientX) * span + span);
  }

  box.addEventListener("wheel", (ev) => {
    // the axis zooms on a plain wheel; the bars only with Ctrl/⌘ (a plain wheel scrolls)
    if (!(ev.ctrlKey || ev.metaKey || axisRow.contains(ev.target))) return;
    if (ev.clientX < axis.getBoundingClientRect().left) return;
    ev.preventDefault();
    zoomAt(ev.clientX, ev.deltaY > 0 ? 1.25 : 0.8);
  }, { passive: false });

  let drag = null;
  box.addEventListener("pointerdown", (ev) => {
    state.draggedAt = 0;  // a new press: whatever follows is a click of its own
    if (ev.button !== 0 || ev.clientX < axis.getBoundingClientRect().left) return;
    drag = { x: ev.clientX, moved: false, id: ev.pointerId };
  });
  box.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    if (!drag.moved && Math.abs(ev.clientX - drag.x) > 4) {
      drag.moved = true;
      box.setPointerCapture(drag.id);
    }
    if (!drag.moved) return;
    const rect = axis.getBoundingClientRect();
    const x0 = Math.max(Math.min(drag.x, ev.clientX), rect.left);
    const x1 = Math.min(Math.max(drag.x, ev.clientX), rect.right);
    brush.style.display = "block";
    brush.style.left = `${x0 - body.getBoundingClientRect().left}px`;
    brush.style.width = `${Math.max(x1 - x0, 0)}px`;
  });
  const stopDrag = (ev) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    brush.style.display = "none";
    if (!d.moved) return;
    state.draggedAt = performance.now();  // the click that ends a drag is not a click
    const [a, b] = state.domain;
    const f0 = fraction(Math.min(d.x, ev.clientX)), f1 = fraction(Math.max(d.x, ev.clientX));
    if (f1 - f0 > 0.002) setDomain(a + f0 * (b - a), a + f1 * (b - a));
  };
  box.addEventListener("pointerup", stopDrag);
  box.addEventListener("pointercancel", () => { drag = null; brush.style.display = "none"; });
  box.addEventListener("dblclick", () => reset());

  box.addEventListener("click", (ev) => {
    if (state.draggedAt && performance.now() - state.draggedAt < 500) { state.draggedAt = 0; return; }
    const toggle = ev.target.closest("[data-toggle]");
    if (toggle) {
      const key = toggle.dataset.toggle;
      if (state.collapsed.has(key)) state.collapsed.delete(key); else state.collapsed.add(key);
      draw();
      return;
    }
    const node = ev.target.closest("[data-key]");
    if (!node) return;
    for (const old of body.querySelectorAll(".sigscope-tv-selected")) old.classList.remove("sigscope-tv-selected");
    node.classList.add("sigscope-tv-selected");
    hooks.select(state.rows.find((r) => r.key === node.dataset.key));
  });
  box.addEventListener("mouseover", (ev) => {
    const node = ev.target.closest("[data-key]");
    if (node) hooks.hover(state.rows.find((r) => r.key === node.dataset.key), ev);
  });
  box.addEventListener("mousemove", (ev) => hooks.move(ev));
  box.addEventListener("mouseleave", () => hooks.hover(null));

  function reset() { setDomain(state.full[0], state.full[1]); }

  function collapseAll(on) {
    state.collapsed = new Set(on ? state.rows.filter((r) => r.kind === "send").map((r) => r.key) : []);
    draw();
  }

  function show(filter) {
    const test = (e) => (!filter.signal || e.sig === filter.signal)
      && (!filter.sender || (e.snd ?? "no sender") === filter.sender)
      && (!filter.errors || hasError(e));
    const active = filter.signal || filter.sender || filter.errors;
    const byParent = childrenOf(data);
    state.rows = buildRows(data, (item) => !active || subtreeMatches(item, byParent, test));
    const end = Math.max(1, ...state.rows.map((r) => r.start + r.dur));
    const start = Math.min(end - 1, ...state.rows.map((r) => r.start));
    const pad = (end - start) * 0.01;
    state.full = [Math.max(0, start - pad), end + pad];
    state.domain = state.full.slice();
    // a long trace opens folded: one row per send, unfold what you want to see
    if ((data.sends || []).length > FOLD_ABOVE) collapseAll(true); else draw();
    return state.rows;
  }

  return { show, reset, zoomAt, collapseAll, element: box };
}

// -- the cascade graph (SVG): signal → receiver → nested signal, aggregated

function cascadeGraph(root, nodes, hooks) {
  const box = h("div", "sigscope-tv-cascade");
  root.append(box);
  const place = [];
  let leaf = 0;
  const walk = (node, depth) => {
    const item = { node, depth };
    const kids = node.children.map((c) => walk(c, depth + 1));
    item.y = kids.length ? (kids[0].y + kids[kids.length - 1].y) / 2 : leaf++;
    item.kids = kids;
    place.push(item);
    return item;
  };
  const roots = nodes.map((n) => walk(n, 0));
  if (!roots.length) {
    box.append(h("div", "sigscope-tv-dim", "(no signals sent)"));
    return box;
  }
  const ctx = document.createElement("canvas").getContext("2d");
  const font = getComputedStyle(root).fontFamily || "sans-serif";
  const measure = (text) => (ctx ? (ctx.font = `12px ${font}`, ctx.measureText(text).width) : text.length * 7);
  const widest = [];
  for (const item of place) {
    const n = item.node;
    const w = measure(`◆ ${clip(n.label)}`) + measure(statsOf(n)) + 28;
    widest[item.depth] = Math.max(widest[item.depth] || 0, w);
  }
  const widths = widest.map((w) => Math.ceil(w));
  const xs = [8];
  for (const w of widths) xs.push(xs[xs.length - 1] + w + 28);
  const dy = 28;
  const height = leaf * dy + 16;
  const svg = s("svg", { width: xs[xs.length - 1], height, class: "sigscope-tv-cascade-svg",
                         role: "img", "aria-label": "what the trace triggered" });
  const edges = s("g", { class: "sigscope-tv-edges" });
  svg.append(edges);
  for (const item of place) {
    const x = xs[item.depth], y = 8 + item.y * dy, w = widths[item.depth];
    for (const k of item.kids) {
      const x2 = xs[k.depth], y2 = 8 + k.y * dy;
      edges.append(s("path", { d: `M${x + w},${y + 11} C${x + w + 20},${y + 11} ${x2 - 20},${y2 + 11} ${x2},${y2 + 11}` }));
    }
    const n = item.node;
    const g = s("g", { class: `sigscope-tv-node sigscope-tv-node-${n.kind}${n.errors ? " sigscope-tv-failed" : ""}`,
                       transform: `translate(${x},${y})` });
    g.append(s("title", {}, n.label));
    g.append(s("rect", { width: w, height: 22, rx: 4 }));
    const glyph = { send: "◆", receiver: "▸", bypass: "⚠", on_commit: "↪" }[n.kind] || "";
    g.append(s("text", { x: 6, y: 15, class: "sigscope-tv-node-label" }, `${glyph} ${clip(n.label)}`));
    g.append(s("text", { x: w - 6, y: 15, "text-anchor": "end", class: "sigscope-tv-node-stats" }, statsOf(n)));
    g.addEventListener("click", () => hooks.pick(n));
    g.addEventListener("mouseenter", (ev) => hooks.hover({ kind: "cascade", rec: n }, ev));
    g.addEventListener("mouseleave", () => hooks.hover(null));
    g.addEventListener("mousemove", (ev) => hooks.move(ev));
    svg.append(g);
  }
  box.append(svg);
  return box;
}

function clip(label) {
  return label.length > 56 ? `${label.slice(0, 55)}…` : label;
}

function statsOf(n) {
  const stats = [`×${n.count}`];
  if (n.kind === "send" || n.kind === "receiver") stats.push(formatUs(n.us));
  if (n.errors) stats.push(`✗ ${n.errors}`);
  return stats.join(" · ");
}

function cascadeFacts(n) {
  const out = [["what", n.label], ["times", String(n.count)]];
  if (n.kind === "send" || n.kind === "receiver") {
    out.push(["total", formatUs(n.us)], ["mean", formatUs(n.us / Math.max(n.count, 1))]);
  }
  if (n.errors) out.push(["errors", String(n.errors)]);
  if (n.children.length) out.push(["then", n.children.map((c) => c.label).join(", ")]);
  return out;
}

// -- the widget

const HINT = "Click a bar for its details; drag, or scroll on the time axis (Ctrl+wheel on the bars), to zoom; double-click to reset.";

function render({ model, el }) {
  const root = h("div", "sigscope-tv");
  root.dataset.lmSuppressShortcuts = "true";
  el.append(root);
  // the tooltip lives on <body>, above JupyterLab's scrolling panels
  const tip = h("div", "sigscope-tv-tooltip");
  tip.setAttribute("role", "tooltip");
  document.body.append(tip);

  function build() {
    const data = model.get("data") || {};
    root.replaceChildren();
    const summary = h("div", "sigscope-tv-summary", `sigscope trace · ${data.summary || ""}`);
    const extra = [];
    if (data.dropped) extra.push(`${data.dropped} earlier sends dropped`);
    if ((data.bypassed || []).length) extra.push(`⚠ ${data.bypassed.length} ORM calls bypassed signals`);
    if ((data.on_commit || []).length) extra.push(`↪ ${data.on_commit.length} on_commit callbacks`);
    if ((data.unheard || []).length) extra.push(`∅ ${data.unheard.length} signals sent with nobody listening`);
    if (data.total > (data.sends || []).length) extra.push(`waterfall shows the first ${data.sends.length} of ${data.total} sends`);
    if (extra.length) summary.append(h("span", "sigscope-tv-dim", ` · ${extra.join(" · ")}`));

    const bar = h("div", "sigscope-tv-toolbar");
    const tabs = ["waterfall", "cascade"].map((name) => {
      const b = h("button", "sigscope-tv-tab", name);
      b.type = "button";
      b.dataset.tab = name;
      return b;
    });
    const pick = (name, values) => {
      const sel = h("select", `sigscope-tv-filter-${name}`);
      sel.setAttribute("aria-label", name);
      sel.append(new Option(`every ${name}`, ""));
      for (const v of [...new Set(values)].sort()) sel.append(new Option(v, v));
      return sel;
    };
    const sends = data.sends || [];
    const signalSel = pick("signal", sends.map((e) => e.sig));
    const senderSel = pick("sender", sends.map((e) => e.snd ?? "no sender"));
    const errorsBox = h("label", "sigscope-tv-errors");
    const check = h("input");
    check.type = "checkbox";
    errorsBox.append(check, document.createTextNode(" only sends with errors"));
    const fold = h("button", "sigscope-tv-fold", "Collapse all");
    fold.type = "button";
    const reset = h("button", "sigscope-tv-reset", "Reset zoom");
    reset.type = "button";
    const zoom = h("span", "sigscope-tv-zoom sigscope-tv-dim");
    bar.append(...tabs, signalSel, senderSel, errorsBox, fold, reset, zoom);

    const panes = h("div", "sigscope-tv-panes");
    const details = h("div", "sigscope-tv-details sigscope-tv-dim", HINT);
    tip.style.display = "none";
    root.append(summary, bar, panes, details);

    const hooks = {
      selected: () => model.get("selection"),
      select(row) {
        if (!row) return;
        model.set("selection", row.key);
        model.save_changes();
        details.className = "sigscope-tv-details";
        details.replaceChildren(h("div", "sigscope-tv-details-head", rowLabel(row)), factTable(facts(row), 200));
        if (row.rec.err && row.rec.err[2]) details.append(h("pre", "sigscope-tv-traceback", row.rec.err[2]));
      },
      pick(node) {
        details.className = "sigscope-tv-details";
        details.replaceChildren(h("div", "sigscope-tv-details-head", node.label), factTable(cascadeFacts(node), 200));
      },
      hover(row, ev) {
        if (!row) { tip.style.display = "none"; return; }
        const head = row.kind === "cascade" ? row.rec.label : rowLabel(row);
        tip.replaceChildren(h("div", "sigscope-tv-tooltip-head", head),
                            factTable(row.kind === "cascade" ? cascadeFacts(row.rec) : facts(row), 12));
        tip.style.display = "block";
        if (ev) hooks.move(ev);
      },
      move(ev) {
        if (tip.style.display !== "block") return;
        const x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
        const y = ev.clientY + 16 + tip.offsetHeight > window.innerHeight ? ev.clientY - tip.offsetHeight - 8 : ev.clientY + 16;
        tip.style.left = `${Math.max(x, 4)}px`;
        tip.style.top = `${Math.max(y, 4)}px`;
      },
      zoomed(domain, full) {
        const whole = domain[0] <= full[0] && domain[1] >= full[1];
        zoom.textContent = `${formatUs(domain[0])} – ${formatUs(domain[1])}${whole ? "" : " (zoomed)"}`;
        reset.disabled = whole;
      },
    };
    const wf = waterfall(panes, data, hooks);
    const cg = cascadeGraph(panes, data.cascade || [], hooks);
    const showTab = (name) => {
      for (const t of tabs) t.setAttribute("aria-selected", String(t.dataset.tab === name));
      wf.element.style.display = name === "waterfall" ? "" : "none";
      cg.style.display = name === "cascade" ? "" : "none";
      for (const c of [signalSel, senderSel, errorsBox, fold, reset, zoom]) c.style.display = name === "waterfall" ? "" : "none";
      if (details.classList.contains("sigscope-tv-dim")) {
        details.textContent = name === "waterfall" ? HINT : "Click a box for its totals; hover for what it triggered.";
      }
    };
    for (const t of tabs) t.addEventListener("click", () => showTab(t.dataset.tab));
    const refilter = () => {
      wf.show({ signal: signalSel.value, sender: senderSel.value, errors: check.checked });
      setFold(sends.length > FOLD_ABOVE);
    };
    signalSel.addEventListener("change", refilter);
    senderSel.addEventListener("change", refilter);
    check.addEventListener("change", refilter);
    reset.addEventListener("click", () => wf.reset());
    const setFold = (folded) => { fold.textContent = folded ? "Expand all" : "Collapse all"; fold.dataset.folded = String(folded); };
    fold.addEventListener("click", () => {
      const folded = fold.dataset.folded !== "true";
      wf.collapseAll(folded);
      setFold(folded);
    });
    refilter();
    showTab("waterfall");
  }

  build();
  model.on("change:data", build);
  return () => {
    model.off("change:data", build);
    tip.remove();
  };
}

export default { render };
