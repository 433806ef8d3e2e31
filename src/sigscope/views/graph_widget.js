// sigscope's graph widget (an anywidget ES module; no build step, no network).
//
// Python lays the graph out (sigscope/views/layout.py) and syncs compact rows:
//   nodes  [id, kind, label, title, group, x, y, w, count, severity, flags]
//   links  [id, source, target, kind, lane, count, severity, flags]
//   groups [name, y, h, count, collapsed]
// This module only draws them as SVG and reports what the user does through synced
// traits: selected_id (a click), collapsed (a folded/unfolded app), search.
// Every user-derived string is set with textContent or setAttribute, never as HTML.

const NS = "http://www.w3.org/2000/svg";
const NODE_H = 18;
const GLYPH = { error: "\u2716", warning: "\u26a0", note: "\u2139" };

function svgEl(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (parent) parent.appendChild(e);
  return e;
}

function htmlEl(tag, cls, parent, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

function pathOf(s, t, lane) {
  const x1 = s.x + s.w, y1 = s.y + NODE_H / 2 + lane * 3;
  const x2 = t.x, y2 = t.y + NODE_H / 2 + lane * 3;
  const m = (x1 + x2) / 2;
  return `M${x1} ${y1}C${m} ${y1} ${m} ${y2} ${x2} ${y2}`;
}

function nodeText(n) {
  const glyph = GLYPH[n.severity] ? GLYPH[n.severity] + " " : "";
  const body = n.kind === "group" ? `\u25b8 ${n.label} \u00b7 ${n.count} registrations` : n.label;
  const extra = n.flags.includes("async") ? " (async)" : "";
  return glyph + body + extra;
}

class GraphView {
  constructor(model, host) {
    this.model = model;
    this.host = host;
    this.view = { x: 0, y: 0, k: 1 };
    this.fitted = false;
    this.live = {};
    this.matches = [];
    this.matchIndex = 0;
    this.build();
  }

  build() {
    const host = this.host;
    host.classList.add("sigscope-gw");
    const bar = htmlEl("div", "sigscope-gw-bar", host);
    this.search = htmlEl("input", "sigscope-gw-search", bar);
    this.search.type = "search";
    this.search.placeholder = "search the graph (Enter: next)";
    this.search.setAttribute("aria-label", "search the graph");
    for (const [label, act] of [["fit", () => this.fit()], ["+", () => this.zoomBy(1.25)],
                                ["\u2212", () => this.zoomBy(0.8)]]) {
      const b = htmlEl("button", "sigscope-gw-" + (label === "fit" ? "fit" : "zoom"), bar, label);
      b.type = "button";
      b.addEventListener("click", act);
    }
    this.statusEl = htmlEl("span", "sigscope-gw-status", bar);
    const main = htmlEl("div", "sigscope-gw-main", host);
    this.svg = svgEl("svg", { class: "sigscope-gw-svg", role: "group",
                               "aria-label": "signal graph" }, main);
    this.viewport = svgEl("g", { class: "sigscope-gw-viewport" }, this.svg);
    this.details = htmlEl("div", "sigscope-gw-details", main);
    this.details.setAttribute("aria-live", "polite");
    this.tip = htmlEl("div", "sigscope-gw-tip", host);
    this.listen();
    this.draw();
    this.renderDetails();
    this.renderStatus();
  }

  listen() {
    const m = this.model;
    m.on("change:nodes", () => this.draw());
    m.on("change:details", () => this.renderDetails());
    m.on("change:status", () => this.renderStatus());
    m.on("change:live", () => this.scheduleLive());
    m.on("change:search", () => { this.search.value = m.get("search"); this.find(true); });
    m.on("change:selected_id", () => this.markSelected());
    // keys typed here must not reach JupyterLab's shortcuts (typing "b" inserts a cell)
    this.host.addEventListener("keydown", (e) => this.onKey(e));
    this.host.addEventListener("keyup", (e) => e.stopPropagation());
    this.host.addEventListener("keypress", (e) => e.stopPropagation());
    this.search.addEventListener("input", () => {
      m.set("search", this.search.value); m.save_changes(); this.find(true);
    });
    this.svg.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = this.svg.getBoundingClientRect();
      this.zoomBy(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    let drag = null;
    this.svg.addEventListener("pointerdown", (e) => {
      if (e.target.closest && e.target.closest(".sigscope-node, .sigscope-group-head")) return;
      drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y };
      this.svg.classList.add("sigscope-panning");
      this.svg.setPointerCapture(e.pointerId);
    });
    this.svg.addEventListener("pointermove", (e) => {
      if (!drag) return;
      this.view.x = drag.vx + e.clientX - drag.x;
      this.view.y = drag.vy + e.clientY - drag.y;
      this.apply();
    });
    const end = () => { drag = null; this.svg.classList.remove("sigscope-panning"); };
    this.svg.addEventListener("pointerup", end);
    this.svg.addEventListener("pointercancel", end);
  }

  onKey(e) {
    e.stopPropagation();
    if (e.target === this.search) {
      if (e.key === "Enter") { this.matchIndex += 1; this.find(false); e.preventDefault(); }
      return;
    }
    const node = e.target.closest && e.target.closest(".sigscope-node");
    if (node && (e.key === "Enter" || e.key === " ")) { this.activate(node.dataset.id); e.preventDefault(); }
    else if (e.key === "+" || e.key === "=") this.zoomBy(1.25);
    else if (e.key === "-") this.zoomBy(0.8);
    else if (e.key === "0") this.fit();
  }

  // -- drawing
  draw() {
    const m = this.model;
    const nodes = m.get("nodes") || [], links = m.get("links") || [], groups = m.get("groups") || [];
    this.nodes = new Map();
    for (const r of nodes) {
      this.nodes.set(r[0], { id: r[0], kind: r[1], label: r[2], title: r[3], group: r[4], x: r[5],
        y: r[6], w: r[7], count: r[8], severity: r[9], flags: r[10] ? r[10].split(" ") : [] });
    }
    this.links = new Map();
    this.up = new Map(); this.down = new Map();
    for (const r of links) {
      const l = { id: r[0], source: r[1], target: r[2], kind: r[3], lane: r[4], count: r[5],
                  severity: r[6], flags: r[7] ? r[7].split(" ") : [] };
      if (!this.nodes.has(l.source) || !this.nodes.has(l.target)) continue;
      this.links.set(l.id, l);
      (this.down.get(l.source) || this.down.set(l.source, []).get(l.source)).push(l);
      (this.up.get(l.target) || this.up.set(l.target, []).get(l.target)).push(l);
    }
    const vp = this.viewport;
    vp.replaceChildren();
    const size = m.get("size") || [400, 200];
    this.size = { w: size[0], h: size[1] };
    let rx = 0;
    for (const n of this.nodes.values()) if (n.kind === "receiver" || n.kind === "group") rx = n.x;
    for (const [name, y, h, count, collapsed] of groups) {
      if (collapsed) continue;
      svgEl("rect", { class: "sigscope-band", x: rx - 6, y, width: this.size.w - rx + 12,
                      height: h, rx: 6 }, vp);
      const head = svgEl("text", { class: "sigscope-group-head", x: rx, y: y + 15,
                                   "data-group": name }, vp);
      head.textContent = `\u25be ${name} \u00b7 ${count}`;
      const title = svgEl("title", {}, head);
      title.textContent = `fold ${name}`;
      head.addEventListener("click", () => this.toggle(name));
    }
    this.linkEls = new Map();
    this.countEls = new Map();
    for (const l of this.links.values()) {
      const cls = ["sigscope-link", "sigscope-kind-" + l.kind];
      if (l.severity) cls.push("sigscope-sev-" + l.severity);
      if (l.flags.includes("dead") || l.flags.includes("pending")) cls.push("sigscope-dashed");
      const p = svgEl("path", { class: cls.join(" "), "data-id": l.id,
        d: pathOf(this.nodes.get(l.source), this.nodes.get(l.target), l.lane) }, vp);
      if (l.kind === "folded") p.style.strokeWidth = String(Math.min(1 + Math.sqrt(l.count), 6));
      this.linkEls.set(l.id, p);
    }
    this.nodeEls = new Map();
    for (const n of this.nodes.values()) this.drawNode(n, vp);
    this.renderStatus();
    if (!this.fitted) requestAnimationFrame(() => { this.fit(); this.fitted = true; });
    else this.apply();
    this.markSelected();
    this.find(false);
    this.applyLive(true);
  }

  drawNode(n, vp) {
    const cls = ["sigscope-node", "sigscope-kind-" + n.kind];
    if (n.severity) cls.push("sigscope-sev-" + n.severity);
    if (n.flags.includes("dead") || n.flags.includes("pending")) cls.push("sigscope-dashed");
    const g = svgEl("g", { class: cls.join(" "), tabindex: 0, role: "button", "data-id": n.id }, vp);
    g.dataset.id = n.id;
    g.setAttribute("aria-label", `${n.kind} ${n.title}${n.severity ? " (" + n.severity + ")" : ""}`);
    svgEl("rect", { x: n.x, y: n.y, width: n.w, height: NODE_H, rx: 4 }, g);
    const t = svgEl("text", { x: n.x + 6, y: n.y + 13 }, g);
    t.textContent = nodeText(n);
    const badge = svgEl("text", { class: "sigscope-badge", x: n.x + n.w + 4, y: n.y + 13 }, g);
    badge.textContent = "";
    g.addEventListener("mouseenter", (e) => this.hover(n.id, e));
    g.addEventListener("mousemove", (e) => this.moveTip(e));
    g.addEventListener("mouseleave", () => this.hover(null));
    g.addEventListener("focus", () => this.hover(n.id));
    g.addEventListener("blur", () => this.hover(null));
    g.addEventListener("click", () => this.activate(n.id));
    this.nodeEls.set(n.id, { g, badge });
  }

  activate(id) {
    const n = this.nodes.get(id);
    if (n && n.kind === "group") { this.toggle(n.group || n.label); return; }
    this.model.set("selected_id", id);
    this.model.save_changes();
    this.markSelected();
  }

  toggle(group) {
    const folded = new Set(this.model.get("collapsed") || []);
    if (folded.has(group)) folded.delete(group); else folded.add(group);
    this.model.set("collapsed", [...folded].sort());
    this.model.save_changes();
  }

  markSelected() {
    const id = this.model.get("selected_id");
    for (const e of this.viewport.querySelectorAll(".sigscope-selected")) e.classList.remove("sigscope-selected");
    const node = this.nodeEls && this.nodeEls.get(id);
    if (node) node.g.classList.add("sigscope-selected");
    const link = this.linkEls && this.linkEls.get(id);
    if (link) link.classList.add("sigscope-selected");
  }

  // -- hover: the whole path through a node
  hover(id, e) {
    for (const el of this.viewport.querySelectorAll(".sigscope-lit")) el.classList.remove("sigscope-lit");
    if (id === null || !this.nodes.has(id)) {
      this.svg.classList.remove("sigscope-hovering");
      this.tip.style.display = "none";
      return;
    }
    const lit = new Set([id]);
    const walk = (start, edges, next) => {
      const todo = [start];
      while (todo.length) {
        for (const l of edges.get(todo.pop()) || []) {
          this.linkEls.get(l.id).classList.add("sigscope-lit");
          const other = l[next];
          if (!lit.has(other)) { lit.add(other); todo.push(other); }
        }
      }
    };
    walk(id, this.down, "target");
    walk(id, this.up, "source");
    for (const n of lit) this.nodeEls.get(n).g.classList.add("sigscope-lit");
    this.svg.classList.add("sigscope-hovering");
    const n = this.nodes.get(id);
    const extra = n.kind === "group" ? `\n${n.count} registrations (click to unfold)` : "";
    this.tip.textContent = `${n.title}${n.severity ? "\n" + GLYPH[n.severity] + " " + n.severity : ""}${extra}`;
    if (e) { this.tip.style.display = "block"; this.moveTip(e); }
  }

  moveTip(e) {
    this.tip.style.left = `${e.clientX + 14}px`;
    this.tip.style.top = `${e.clientY + 10}px`;
  }

  // -- pan and zoom
  apply() {
    const { x, y, k } = this.view;
    this.viewport.setAttribute("transform", `translate(${x} ${y}) scale(${k})`);
  }

  fit() {
    const r = this.svg.getBoundingClientRect();
    const w = r.width || 800;
    const height = Math.min(Math.max(this.size.h * Math.min(w / this.size.w, 1), 160), 640);
    this.svg.style.height = `${height}px`;
    const k = Math.min(w / (this.size.w + 20), height / (this.size.h + 20), 1.5);
    this.view = { k, x: (w - this.size.w * k) / 2, y: Math.max((height - this.size.h * k) / 2, 4) };
    this.apply();
  }

  zoomBy(f, cx, cy) {
    const r = this.svg.getBoundingClientRect();
    cx = cx === undefined ? r.width / 2 : cx;
    cy = cy === undefined ? r.height / 2 : cy;
    const k = Math.min(Math.max(this.view.k * f, 0.05), 8);
    const real = k / this.view.k;
    this.view = { k, x: cx - (cx - this.view.x) * real, y: cy - (cy - this.view.y) * real };
    this.apply();
  }

  centreOn(n) {
    const r = this.svg.getBoundingClientRect();
    const k = Math.max(this.view.k, 0.9);
    this.view = { k, x: r.width / 2 - (n.x + n.w / 2) * k, y: r.height / 2 - (n.y + NODE_H / 2) * k };
    this.apply();
  }

  // -- search
  find(reset) {
    const q = (this.search.value || "").trim().toLowerCase();
    for (const el of this.viewport.querySelectorAll(".sigscope-match")) el.classList.remove("sigscope-match");
    this.matches = q ? [...this.nodes.values()].filter((n) => n.title.toLowerCase().includes(q)) : [];
    for (const n of this.matches) this.nodeEls.get(n.id).g.classList.add("sigscope-match");
    if (reset) this.matchIndex = 0;
    if (this.matches.length) this.centreOn(this.matches[this.matchIndex % this.matches.length]);
    this.renderStatus();
  }

  renderStatus() {
    const parts = [this.model.get("status") || ""];
    const q = (this.search.value || "").trim();
    if (q) parts.push(`${this.matches.length} match${this.matches.length === 1 ? "" : "es"}`);
    const live = this.model.get("live") || {};
    if (live.state) parts.push(live.state);
    this.statusEl.textContent = parts.filter(Boolean).join(" \u00b7 ");
  }

  // -- the details panel (structured data from Python, written as text)
  renderDetails() {
    const d = this.model.get("details") || {};
    const box = this.details;
    box.replaceChildren();
    if (!d.title) { htmlEl("div", "sigscope-gw-status", box, "Click a node to see its details."); return; }
    htmlEl("h4", "", box, d.title);
    const table = htmlEl("table", "", box);
    for (const [k, v] of d.rows || []) {
      const tr = htmlEl("tr", "", table);
      htmlEl("th", "", tr, k);
      htmlEl("td", "", tr, v);
    }
    if (d.source) htmlEl("pre", "sigscope-gw-source", box, d.source);
    for (const [severity, kind, message, fix] of d.findings || []) {
      const f = htmlEl("div", `sigscope-gw-finding sigscope-${severity}`, box);
      htmlEl("b", "", f, `${GLYPH[severity] || ""} ${severity.toUpperCase()} ${kind}`);
      htmlEl("div", "", f, message);
      htmlEl("div", "", f, `fix: ${fix}`);
    }
  }

  // -- live: counts on links, pulses, errors, unheard sends, bypasses
  // Live updates arrive up to 10 a second: the state word is written at once, the
  // graph once per frame with the latest counts (a busy page skips, never queues).
  scheduleLive() {
    this.renderStatus();
    if (this.livePending) return;
    this.livePending = true;
    const run = () => { if (this.livePending) this.applyLive(); };
    requestAnimationFrame(run);
    setTimeout(run, 250); // a hidden tab runs no animation frames
  }

  // Restart a CSS animation without a forced layout: switch between two names.
  restart(el, name) {
    const again = el.classList.contains(name);
    el.classList.remove(again ? name : name + "2");
    el.classList.add(again ? name + "2" : name);
  }

  applyLive(redraw) {
    this.livePending = false;
    const live = this.model.get("live") || {};
    const calls = live.calls || {}, errors = live.errors || {};
    const before = redraw ? {} : (this.live.calls || {});
    for (const [id, count] of Object.entries(calls)) {
      const p = this.linkEls.get(id);
      if (!p) continue;
      p.classList.add("sigscope-ran");
      const l = this.links.get(id), t = this.nodes.get(l.target);
      let c = this.countEls.get(id);
      if (!c) {
        // parallel links into one receiver (a duplicate registration): side by side, not stacked
        c = svgEl("text", { class: "sigscope-count", x: t.x - 4 - l.lane * 40, y: t.y + 8,
                            "text-anchor": "end" }, this.viewport);
        this.countEls.set(id, c);
      }
      const text = `\u00d7${count}`;
      if (c.textContent !== text) c.textContent = text;
      if (!redraw && count !== before[id]) this.restart(p, "sigscope-pulse");
    }
    for (const [id, count] of Object.entries(errors)) {
      const p = this.linkEls.get(id);
      if (!p) continue;
      p.classList.add("sigscope-failed");
      const target = this.nodeEls.get(this.links.get(id).target);
      if (!redraw && count !== (this.live.errors || {})[id] && target) {
        this.restart(target.g, "sigscope-flash");
      }
    }
    const badges = new Map();
    for (const [kind, mark, word] of [["unheard", "\u2205", "unheard"], ["bypassed", "\u21b7", "bypassed"]]) {
      for (const [id, count] of Object.entries(live[kind] || {})) {
        if (this.nodeEls.has(id)) badges.set(id, [`sigscope-badge sigscope-${kind}`, `${mark} ${count} ${word}`]);
      }
    }
    for (const [id, { badge }] of this.nodeEls) { // written only where they change
      const [cls, text] = badges.get(id) || ["sigscope-badge", ""];
      if (badge.textContent !== text) badge.textContent = text;
      if (badge.getAttribute("class") !== cls) badge.setAttribute("class", cls);
    }
    if (!Object.keys(calls).length) {
      for (const p of this.viewport.querySelectorAll("path.sigscope-ran, path.sigscope-failed")) {
        p.classList.remove("sigscope-ran", "sigscope-failed", "sigscope-pulse", "sigscope-pulse2");
      }
      for (const c of this.countEls.values()) c.remove();
      this.countEls.clear();
    }
    this.live = live;
    this.renderStatus();
  }
}

function render({ model, el }) {
  const view = new GraphView(model, el);
  return () => { view.tip.remove(); };
}

export default { render };
