"""Helpers for the real-browser test: an isolated JupyterLab server and a Chromium page on it.

* :func:`jupyter_lab` starts ``jupyter lab`` (this interpreter's) on a free port, in a
  temporary root directory holding a copy of one notebook, with every Jupyter directory
  (config, data, runtime, settings, workspaces, IPython) private to it, and always stops
  the server and its kernels.
* :func:`jupyter_server` is the same server for many notebooks (one per test): it serves
  JupyterLab (``/lab/tree/NAME``) and Notebook 7 (``/notebooks/NAME``), writes notebooks
  into its root (:meth:`JupyterServer.add_notebook`) and shuts a test's kernels down
  (:meth:`JupyterServer.shutdown_kernels`).
* :func:`chromium` launches Debian's Chromium through Playwright (never ``playwright
  install``); :class:`LabPage` opens a notebook in it, waits for the kernel, runs all
  cells and reads the cells' errors.

Every wait is on a condition with a generous ceiling (:data:`CEILING`, 120 s unless
``$SIGSCOPE_BROWSER_TIMEOUT`` says otherwise), so a busy machine is slower, not red.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, ClassVar, TypeVar

__all__ = [
    "CEILING",
    "CHROMIUM_ARGS",
    "JupyterServer",
    "LabPage",
    "build_notebook",
    "chromium",
    "find_chromium",
    "free_port",
    "jupyter_lab",
    "jupyter_server",
    "wait_until",
]

#: The ceiling of every wait, in seconds: generous, because waits end on a condition.
CEILING = float(os.environ.get("SIGSCOPE_BROWSER_TIMEOUT") or 120)

T = TypeVar("T")

#: Flags measured to work for headless Debian Chromium in a container.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: JupyterLab settings: no news toast over the widgets, every cell in the DOM.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

#: Variables of the test process that must not leak into the kernel.
SCRUBBED_ENV = ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "JUPYTER_PATH")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def find_chromium() -> str | None:
    """Debian's Chromium (``$SIGSCOPE_CHROMIUM`` overrides), or None."""
    for candidate in (
        os.environ.get("SIGSCOPE_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


# -- the server


def _children(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux /proc; empty elsewhere)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields and int(fields[1]) == pid:
            found.append(int(entry.parent.name))
    return found


def _is_kernel(pid: int) -> bool:
    try:
        return b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _request(url: str, token: str, method: str = "GET") -> Any:
    req = urllib.request.Request(url, method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


def build_notebook(path: str | os.PathLike[str], cells: Iterable[str]) -> Path:
    """Write a Python 3 notebook of these code cells to ``path``."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.validate(nb)
    nbformat.write(nb, Path(path))
    return Path(path)


class JupyterServer:
    """A running isolated Jupyter server: JupyterLab and Notebook 7 on one port."""

    def __init__(self, base_url: str, token: str, root: Path) -> None:
        self.base_url, self.token, self.root = base_url, token, root

    def lab_url(self, name: str) -> str:
        """The URL of notebook ``name`` (in the root) in JupyterLab, in a workspace of its
        own (the default workspace would reopen every notebook an earlier test opened)."""
        workspace = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(name).stem)
        return f"{self.base_url}/lab/workspaces/{workspace}/tree/{name}?token={self.token}"

    def notebook_url(self, name: str) -> str:
        """The URL of notebook ``name`` in Notebook 7."""
        return f"{self.base_url}/notebooks/{name}?token={self.token}"

    def add_notebook(self, name: str, cells: Iterable[str]) -> Path:
        """Write a notebook of these code cells into the server's root."""
        return build_notebook(self.root / name, cells)

    def sessions(self) -> list[dict[str, Any]]:
        return list(_request(f"{self.base_url}/api/sessions", self.token) or [])

    def shutdown_kernels(self, name: str | None = None) -> None:
        """Stop the kernels of notebook ``name`` (every kernel when ``None``)."""
        for session in self.sessions():
            if name is None or session.get("path") == name:
                with suppress(urllib.error.URLError, OSError):
                    _request(f"{self.base_url}/api/sessions/{session['id']}", self.token, "DELETE")


@contextmanager
def jupyter_server(timeout: float = CEILING) -> Iterator[JupyterServer]:
    """Run an isolated Jupyter server (JupyterLab + Notebook 7) on an empty root directory.

    Every Jupyter directory (config, data, runtime, settings, workspaces, IPython) is
    private to it; the server and the kernels it started are stopped on exit, whatever
    happens.
    """
    with tempfile.TemporaryDirectory(prefix="sigscope-lab-", ignore_cleanup_errors=True) as tmp:
        base = Path(tmp)
        root = base / "root"
        root.mkdir()
        env = _isolated_env(base)
        port, token = free_port(), secrets.token_hex(16)
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--JupyterNotebookApp.expose_app_in_browser=True",
            "--allow-root",
        ]
        log_path = base / "jupyter.log"
        base_url = f"http://127.0.0.1:{port}"
        with open(log_path, "wb") as log:
            server = subprocess.Popen(
                command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        kernels: set[int] = set()
        try:

            def up() -> bool:
                if server.poll() is not None:
                    raise RuntimeError(
                        f"jupyter lab exited with {server.returncode}:\n"
                        + log_path.read_text(errors="replace")[-4000:]
                    )
                try:
                    _request(f"{base_url}/api/status", token)
                except (urllib.error.URLError, OSError):
                    return False
                return True

            try:
                wait_until(up, timeout, "jupyter lab to answer", interval=0.2)
            except TimeoutError as e:
                log_tail = log_path.read_text(errors="replace")[-4000:]
                raise TimeoutError(f"{e}; its log:\n{log_tail}") from None
            try:
                yield JupyterServer(base_url, token, root)
            finally:
                kernels.update(p for p in _children(server.pid) if _is_kernel(p))
        finally:
            _stop(server, base_url, token, kernels)


def _isolated_env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    dirs = {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "settings",
        "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
        "IPYTHONDIR": "ipython",
    }
    for var, name in dirs.items():
        (base / name).mkdir()
        env[var] = str(base / name)
    for plugin, values in LAB_SETTINGS.items():
        path = base / "settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    # the kernelspec's "python" resolves to the server's interpreter: this virtualenv's
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def jupyter_lab(
    notebook: str | os.PathLike[str], timeout: float = CEILING
) -> Iterator[tuple[str, Path]]:
    """Run an isolated JupyterLab serving a copy of ``notebook``.

    Yields ``(url, root)``: the notebook's URL (token included) and the server's root
    directory.  The server and the kernels it started are stopped on exit, whatever happens.
    """
    notebook = Path(notebook)
    with jupyter_server(timeout) as server:
        shutil.copy(notebook, server.root / notebook.name)
        yield server.lab_url(notebook.name), server.root


def _stop(server: subprocess.Popen[bytes], base_url: str, token: str, kernels: set[int]) -> None:
    if server.poll() is None:
        with suppress(urllib.error.URLError, OSError):  # shuts the kernels down too
            _request(f"{base_url}/api/shutdown", token, method="POST")
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.terminate()
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    for pid in kernels:  # a kernel the server failed to stop (its own session)
        if _is_kernel(pid):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# -- the browser


@contextmanager
def chromium(executable: str) -> Iterator[Any]:
    """A headless Chromium ``Browser`` (only one Playwright alive at a time)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


_KERNEL_IDLE = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const ctx = panel && panel.sessionContext;
  const kernel = ctx && ctx.session && ctx.session.kernel;
  return !!(kernel && ctx.isReady && kernel.status === 'idle'
    && kernel.connectionStatus === 'connected');
}"""

_ALL_EXECUTED = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  return panel.content.widgets.every(
    c => c.model.type !== 'code' || (c.model.executionCount !== null && c.promptNode &&
      !c.promptNode.textContent.includes('*')));
}"""

_CELL_REPORT = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  return panel.content.widgets.map((c, i) => ({
    index: i,
    type: c.model.type,
    count: c.model.type === 'code' ? c.model.executionCount : null,
    outputs: c.model.type === 'code' ? c.model.outputs.toJSON() : [],
  }));
}"""


_THEME_APPLIED = """t => {
  const body = document.body;
  if (body.dataset.jpThemeName !== t) return false;
  const probe = document.createElement('div');
  probe.style.background = 'var(--jp-layout-color1)';
  body.append(probe);
  const rgb = getComputedStyle(probe).backgroundColor.match(/[\\d.]+/g).map(Number);
  probe.remove();
  const dark = (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255 < 0.5;
  return dark === (body.dataset.jpThemeLight === 'false');
}"""

_KERNEL_EVAL = """async expr => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  const future = kernel.requestExecute(
    {code: '', silent: true, store_history: false, user_expressions: {v: expr}});
  const reply = await future.done;
  const v = reply.content.user_expressions.v;
  if (v.status !== 'ok') throw new Error(v.ename + ': ' + v.evalue);
  return v.data['text/plain'];
}"""


class LabPage:
    """A notebook open in JupyterLab (or Notebook 7) in one fresh browser context."""

    #: Pages not closed yet: the failure hook (conftest.py) screenshots them.
    open_pages: ClassVar[list[LabPage]] = []

    def __init__(self, browser: Any, *, width: int = 1400, height: int = 1000) -> None:
        self.context = browser.new_context(
            viewport={"width": width, "height": height}, device_scale_factor=1
        )
        self.context.set_default_timeout(CEILING * 1000)  # not Playwright's 30 s
        self.page = self.context.new_page()
        LabPage.open_pages.append(self)
        self.console: list[str] = []
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.on(
            "console",
            lambda m: self.console.append(f"{m.type}: {m.text}") if m.type == "error" else None,
        )

    def close(self) -> None:
        if self in LabPage.open_pages:
            LabPage.open_pages.remove(self)
        self.context.close()

    def open(self, url: str, timeout: float = CEILING) -> None:
        """Load the notebook and wait until its kernel is idle."""
        self.page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
        self.page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout * 1000)
        self.page.wait_for_function(_KERNEL_IDLE, timeout=timeout * 1000, polling=100)

    def command(self, name: str, args: dict[str, Any] | None = None, *, wait: bool = True) -> None:
        """Run a JupyterLab command (awaited unless ``wait`` is false)."""
        script = "([n, a]) => window.jupyterapp.commands.execute(n, a)"
        if not wait:
            script = "([n, a]) => { window.jupyterapp.commands.execute(n, a); return null; }"
        self.page.evaluate(script, [name, args or {}])

    def run_all(self, timeout: float = CEILING) -> None:
        """Run every cell and wait until all have run and the kernel is idle again."""
        self.command("notebook:run-all-cells", wait=False)
        try:
            self.page.wait_for_function(_ALL_EXECUTED, timeout=timeout * 1000, polling=200)
        except Exception as e:
            raise AssertionError(f"the notebook did not finish: {e}\n{self.report()}") from None

    def cells(self) -> list[dict[str, Any]]:
        return self.page.evaluate(_CELL_REPORT)

    def errors(self) -> list[str]:
        """Every error output, as 'cell N: ename: evalue'."""
        return [
            f"cell {c['index']}: {o.get('ename')}: {o.get('evalue')}\n"
            + "\n".join(o.get("traceback", []))
            for c in self.cells()
            for o in c["outputs"]
            if o.get("output_type") == "error"
        ]

    def report(self) -> str:
        """Cells' text outputs and browser errors, for failure messages."""
        lines = []
        for c in self.cells():
            for o in c["outputs"]:
                kind = o.get("output_type")
                if kind == "stream":
                    lines.append(f"cell {c['index']} {o.get('name')}: {o.get('text', '')[:2000]}")
                elif kind == "error":
                    lines.append(f"cell {c['index']} error: {o.get('ename')}: {o.get('evalue')}")
        lines += self.console[-20:]
        return "\n".join(lines) or "(no cell output, no browser errors)"

    def set_theme(self, theme: str) -> None:
        """Switch the theme and wait until its colours apply (not only its name)."""
        self.command("apputils:change-theme", {"theme": theme})
        self.page.wait_for_function(_THEME_APPLIED, arg=theme, timeout=CEILING * 1000, polling=100)

    def kernel_eval(self, expression: str) -> str:
        """``repr`` of ``expression`` evaluated in the notebook's kernel (a silent request)."""
        return str(self.page.evaluate(_KERNEL_EVAL, expression))

    def wait_kernel(self, expression: str, what: str, timeout: float = CEILING) -> str:
        """Evaluate ``expression`` in the kernel until its repr is truthy (not ``''``,
        ``'None'``, ``'False'``, ``'0'``); return that repr."""

        def check() -> str | None:
            value = self.kernel_eval(expression)
            return None if value in ("", "None", "False", "0", "''") else value

        return wait_until(check, timeout, what, interval=0.2)

    def save_screenshot(self, path: str | os.PathLike[str]) -> None:
        """The whole page (for failure reports)."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), timeout=60_000)  # JupyterLab fills the window

    def collapse_sidebars(self) -> None:
        """Give the notebook the whole width."""
        self.page.evaluate(
            "() => { const shell = window.jupyterapp.shell;"
            " shell.collapseLeft(); shell.collapseRight(); }"
        )
