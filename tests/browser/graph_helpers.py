"""Helpers for the graph widget's browser tests and benchmark.

* :func:`host_page` writes a static HTML page that loads the widget's ES module and
  CSS (the package's own files) into a minimal stand-in for anywidget's ``model``
  (``get``/``set``/``on``/``save_changes``/``send``): no Jupyter, fast, and the same
  module JupyterLab runs.  ``window.__model`` is the model, ``window.__saved`` the
  traits the front end saved, ``window.__painted`` the time of the first paint.
* :func:`graph_state` is the synced state of a :class:`GraphWidget`.
* In JupyterLab, :func:`nodes_of` / :func:`node` find the widget's SVG nodes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sigscope.views import graph_widget

__all__ = ["graph_state", "host_page", "kernel_eval", "node", "nodes_of"]

TRAITS = ("nodes", "links", "groups", "size", "collapsed", "selected_id", "details", "search",
          "status", "live")  # fmt: skip

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>{css}</style>
<style>body{{margin:8px;background:#fff}}</style></head><body>
<div id="host" style="width:{width}px"></div>
<script type="module">
const state = {state};
const listeners = {{}};
window.__saved = [];
const model = {{
  get: (k) => state[k],
  set: (k, v) => {{ state[k] = v; (listeners["change:" + k] || []).forEach((f) => f()); }},
  on: (e, f) => {{ (listeners[e] = listeners[e] || []).push(f); }},
  off: () => {{}},
  save_changes: () => {{ window.__saved.push(JSON.parse(JSON.stringify(state))); }},
  send: () => {{}},
}};
window.__model = model;
const started = performance.now();
const mod = await import("data:text/javascript;base64,{esm}");
mod.default.render({{ model, el: document.getElementById("host") }});
requestAnimationFrame(() => requestAnimationFrame(() => {{
  window.__painted = performance.now() - started;
}}));
</script></body></html>"""


def graph_state(widget: Any) -> dict[str, Any]:
    """The synced traits of a GraphWidget, as the front end receives them."""
    return {name: getattr(widget, name) for name in TRAITS}


def host_page(path: Path, state: dict[str, Any], *, width: int = 1300) -> Path:
    """Write the static host page for ``state`` (a :func:`graph_state`) to ``path``."""
    import base64

    here = Path(graph_widget.__file__).parent
    esm = base64.b64encode((here / "graph_widget.js").read_bytes()).decode()
    css = (here / "graph_widget.css").read_text()
    page = _PAGE.format(css=css, state=json.dumps(state), esm=esm, width=width)
    path.write_text(page)
    return path


def nodes_of(locator: Any) -> list[str]:
    """The ``data-id`` of every node drawn in a graph widget."""
    return locator.locator("g.sigscope-node").evaluate_all("els => els.map(e => e.dataset.id)")


def node(locator: Any, node_id: str) -> Any:
    return locator.locator(f'g.sigscope-node[data-id="{node_id}"]')


_EXECUTE = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, silent: false, store_history: false});
  let out = "";
  future.onIOPub = (msg) => {
    const t = msg.header.msg_type, c = msg.content;
    if (t === "stream") out += c.text;
    else if (t === "execute_result") out += c.data["text/plain"];
    else if (t === "error") out += `${c.ename}: ${c.evalue}`;
  };
  await future.done;
  return out;
}"""


def kernel_eval(page: Any, code: str) -> str:
    """Run ``code`` in the open notebook's kernel; its printed output and result as text."""
    return str(page.evaluate(_EXECUTE, code))
