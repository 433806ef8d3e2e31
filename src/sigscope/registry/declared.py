"""Receivers declared in the project's source, found by parsing it (never importing it).

Two shapes are recognised::

    @receiver(post_save, sender=Order)          # also receiver([sig_a, sig_b], ...)
    def recalculate(sender, **kwargs): ...

    post_save.connect(recalculate, sender=Order, dispatch_uid="...")

A ``@receiver`` is recorded at its *first decorator's* line: that is the
``co_firstlineno`` Python gives a decorated function, so a live registration
can be matched to its declaration by ``file:line``.  ``.connect(...)`` calls are
only counted on expressions that look like signals (a name imported from a
``signals`` module or ``django.dispatch``, a ``Signal()`` assigned in the file,
a built-in signal name, or a call passing ``sender=``/``weak=``/``dispatch_uid=``),
so ``socket.connect(address)`` is not mistaken for one.

Files are cached by (path, mtime, size): a second snapshot re-parses only what changed.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import sysconfig
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from sigscope.records import DeclaredReceiver

__all__ = ["DEFAULT_EXCLUDE", "project_roots", "scan_declared", "scan_file"]

#: Paths (relative to an app's directory, ``fnmatch`` patterns) not scanned by default:
#: tests connect receivers for themselves, migrations never do.
DEFAULT_EXCLUDE = (
    "tests/*",
    "*/tests/*",
    "test_*.py",
    "*/test_*.py",
    "*_tests.py",
    "tests.py",
    "conftest.py",
    "migrations/*",
    "*/migrations/*",
)

_BUILTIN_SIGNAL_NAMES = frozenset(
    {
        "pre_init",
        "post_init",
        "pre_save",
        "post_save",
        "pre_delete",
        "post_delete",
        "m2m_changed",
        "pre_migrate",
        "post_migrate",
        "class_prepared",
        "request_started",
        "request_finished",
        "got_request_exception",
        "setting_changed",
        "connection_created",
        "user_logged_in",
        "user_logged_out",
        "user_login_failed",
        "template_rendered",
    }
)
_CONNECT_KEYWORDS = frozenset({"sender", "weak", "dispatch_uid"})
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", ".git", ".tox", ".venv", "venv"})


def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    found = {os.path.realpath(paths[k]) for k in ("stdlib", "purelib", "platlib") if k in paths}
    import django

    found.add(os.path.realpath(os.path.dirname(django.__file__)))
    return tuple(sorted(found))


def project_roots(app_configs: Iterable[Any]) -> list[tuple[str, str]]:
    """``(directory, package)`` of each installed app that belongs to the project.

    Apps installed in site-packages, the standard library or Django itself are
    left out, and so is sigscope (but not its bundled demo project).
    """
    here = os.path.realpath(os.path.dirname(os.path.dirname(__file__)))  # the sigscope package
    demo = os.path.join(here, "demo")
    libraries = _library_dirs()
    roots = []
    for config in app_configs:
        path = getattr(config, "path", None)
        name = getattr(config, "name", None)
        if not isinstance(path, str) or not isinstance(name, str) or not os.path.isdir(path):
            continue
        real = os.path.realpath(path)
        if _inside(real, here) and not _inside(real, demo):
            continue
        if any(_inside(real, lib) for lib in libraries) and not _inside(real, demo):
            continue
        roots.append((real, name))
    return roots


def _inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip(os.sep) + os.sep)


def scan_declared(
    roots: Iterable[tuple[str, str]], *, exclude: Sequence[str] = DEFAULT_EXCLUDE
) -> tuple[DeclaredReceiver, ...]:
    """Every ``@receiver``/``.connect`` declared under ``roots`` (``(directory, package)``)."""
    found: list[DeclaredReceiver] = []
    seen: set[str] = set()
    for directory, package in roots:
        for path, module in _python_files(directory, package, exclude):
            if path in seen:
                continue
            seen.add(path)
            try:
                stat = os.stat(path)
            except OSError:
                continue
            found.extend(_scan_cached(path, module, stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def _python_files(
    directory: str, package: str, exclude: Sequence[str]
) -> Iterator[tuple[str, str]]:
    for dirpath, dirnames, filenames in os.walk(directory):
        rel_dir = os.path.relpath(dirpath, directory)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in _SKIP_DIRS
            and not d.startswith(".")
            and os.path.exists(os.path.join(dirpath, d, "__init__.py"))
        )
        for filename in sorted(filenames):
            if not filename.endswith(".py"):
                continue
            rel = filename if rel_dir == "." else os.path.join(rel_dir, filename)
            rel = rel.replace(os.sep, "/")
            if any(fnmatch.fnmatch(rel, pattern) for pattern in exclude):
                continue
            parts = rel[:-3].split("/")
            if parts[-1] == "__init__":
                parts.pop()
            yield os.path.join(dirpath, filename), ".".join([package, *parts])


@lru_cache(maxsize=4096)
def _scan_cached(path: str, module: str, mtime: int, size: int) -> tuple[DeclaredReceiver, ...]:
    return scan_file(path, module)


def scan_file(path: str, module: str) -> tuple[DeclaredReceiver, ...]:
    """The receivers declared in one file; a file that cannot be read or parsed has none."""
    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError:
        return ()
    if b"receiver" not in source and b".connect(" not in source:
        return ()
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError):
        return ()
    visitor = _Visitor(path, module, _signal_names(tree))
    visitor.visit(tree)
    return tuple(visitor.found)


def _signal_names(tree: ast.Module) -> frozenset[str]:
    """Names in this file that are signals: imported from a signals module, or ``Signal()``."""
    names = set(_BUILTIN_SIGNAL_NAMES)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if "signal" in node.module or node.module.startswith("django.dispatch"):
                names.update(alias.asname or alias.name for alias in node.names)
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and _dotted(node.value.func).rpartition(".")[2].endswith("Signal")
        ):
            for target in node.targets:
                names.add(_dotted(target).rpartition(".")[2])
    return frozenset(names)


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ast.unparse(node)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def _text(node: ast.expr | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, ast.Constant):
        return None if node.value is None else str(node.value)
    return ast.unparse(node)


def _is_falsy_literal(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is not None and not node.value


class _Visitor(ast.NodeVisitor):
    """Walks one module, keeping track of whether it is at top level, in ``ready()`` or deeper."""

    def __init__(self, path: str, module: str, signal_names: frozenset[str]) -> None:
        self.path, self.module, self.signal_names = path, module, signal_names
        self.found: list[DeclaredReceiver] = []
        self.stack: list[str] = []  # "class:Name" / "def:name"

    @property
    def scope(self) -> str:
        defs = [s for s in self.stack if s.startswith("def:")]
        if not defs:
            return "module"
        if defs[0] == "def:ready" and self.stack[0].startswith("class:"):
            return "ready"
        return "function"

    def _qualname(self, name: str) -> str:
        parts = [s.partition(":")[2] for s in self.stack]
        return ".".join([*parts, name])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.stack.append(f"class:{node.name}")
        self.generic_visit(node)
        self.stack.pop()

    def _visit_def(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and _dotted(decorator.func).endswith("receiver"):
                self._add_receiver(node, decorator)
        self.stack.append(f"def:{node.name}")
        self.generic_visit(node)
        self.stack.pop()

    visit_FunctionDef = _visit_def
    visit_AsyncFunctionDef = _visit_def

    def _add_receiver(self, node: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> None:
        target = call.args[0] if call.args else _keyword(call, "signal")
        if target is None:
            return
        signals = target.elts if isinstance(target, (ast.List, ast.Tuple)) else [target]
        line = node.decorator_list[0].lineno
        for signal in signals:
            self._record(line, self._qualname(node.name), _dotted(signal), call, "receiver")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "connect":
            receiver = node.args[0] if node.args else _keyword(node, "receiver")
            if receiver is not None and self._looks_like_signal(func.value, node):
                self._record(node.lineno, _dotted(receiver), _dotted(func.value), node, "connect")
        self.generic_visit(node)

    def _looks_like_signal(self, target: ast.expr, call: ast.Call) -> bool:
        if any(kw.arg in _CONNECT_KEYWORDS for kw in call.keywords):
            return True
        dotted = _dotted(target)
        return dotted.rpartition(".")[2] in self.signal_names or "signals." in dotted

    def _record(self, line: int, function: str, signal: str, call: ast.Call, via: str) -> None:
        uid = _keyword(call, "dispatch_uid")
        self.found.append(
            DeclaredReceiver(
                file=self.path,
                line=line,
                module=self.module,
                function=function,
                signal=signal,
                sender=_text(_keyword(call, "sender")),
                dispatch_uid=_text(uid),
                via=via,
                scope=self.scope,
                falsy_dispatch_uid=_is_falsy_literal(uid),
            )
        )
