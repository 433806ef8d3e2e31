"""Receivers declared in the project's source, found by parsing it (never importing it).

Three shapes are recognised::

    @receiver(post_save, sender=Order)          # also receiver([sig_a, sig_b], ...)
    def recalculate(sender, **kwargs): ...

    post_save.connect(recalculate, sender=Order, dispatch_uid="...")
    post_save.disconnect(recalculate, sender=Order)

A ``@receiver`` is recorded at its *first decorator's* line (``line``: the
``co_firstlineno`` Python gives a decorated function) and at the ``@receiver``
line itself (``connect_line``).  ``.connect(...)`` calls are only counted on
expressions that look like signals (a name imported from a ``signals`` module
or ``django.dispatch``, a ``Signal()`` assigned in the file, a built-in signal
name, or a call passing ``sender=``/``weak=``/``dispatch_uid=``), so
``socket.connect(address)`` is not mistaken for one.  Signal, receiver and
sender are also resolved through the file's imports to dotted paths
(:mod:`sigscope.registry.source_names`), which is how they are matched to live
registrations.

Files are cached by (path, mtime, size): a second snapshot re-parses only what changed.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Sequence
from functools import lru_cache

from sigscope.records import DeclaredReceiver, ScanError
from sigscope.registry.source_names import SourceNames, dotted
from sigscope.registry.sourcefiles import (
    DEFAULT_EXCLUDE,
    decode_source,
    parse_text,
    project_files,
    project_roots,
)

__all__ = ["DEFAULT_EXCLUDE", "project_roots", "scan_declared", "scan_file", "scan_project"]

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
_METHODS = frozenset({"connect", "disconnect"})


def scan_project(
    roots: Iterable[tuple[str, str]], *, exclude: Sequence[str] = DEFAULT_EXCLUDE
) -> tuple[tuple[DeclaredReceiver, ...], tuple[ScanError, ...]]:
    """Every ``@receiver``/``.connect``/``.disconnect`` under ``roots``, and the files that
    could not be scanned."""
    found: list[DeclaredReceiver] = []
    errors: list[ScanError] = []
    for path, module in project_files(roots, exclude=exclude):
        try:
            stat = os.stat(path)
        except OSError:
            continue
        declared, error = _scan_cached(path, module, stat.st_mtime_ns, stat.st_size)
        found.extend(declared)
        if error is not None:
            errors.append(error)
    return tuple(found), tuple(errors)


def scan_declared(
    roots: Iterable[tuple[str, str]], *, exclude: Sequence[str] = DEFAULT_EXCLUDE
) -> tuple[DeclaredReceiver, ...]:
    """Every ``@receiver``/``.connect``/``.disconnect`` declared under ``roots``."""
    return scan_project(roots, exclude=exclude)[0]


@lru_cache(maxsize=4096)
def _scan_cached(
    path: str, module: str, mtime: int, size: int
) -> tuple[tuple[DeclaredReceiver, ...], ScanError | None]:
    return _scan(path, module)


def scan_file(path: str, module: str) -> tuple[DeclaredReceiver, ...]:
    """The receivers declared in one file; a file that cannot be read or parsed has none."""
    return _scan(path, module)[0]


def _scan(path: str, module: str) -> tuple[tuple[DeclaredReceiver, ...], ScanError | None]:
    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError:
        return (), None
    text, error = decode_source(path, module, source)
    if text is None:
        return (), error
    if "receiver" not in text and "connect(" not in text:
        return (), None
    tree, error = parse_text(path, module, text)
    if tree is None:
        return (), error
    names = SourceNames(tree, module, is_package=path.endswith("__init__.py"))
    visitor = _Visitor(path, module, _signal_names(tree), names)
    visitor.visit(tree)
    return tuple(visitor.found), None


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
            and dotted(node.value.func).rpartition(".")[2].endswith("Signal")
        ):
            for target in node.targets:
                names.add(dotted(target).rpartition(".")[2])
    return frozenset(names)


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

    def __init__(
        self, path: str, module: str, signal_names: frozenset[str], names: SourceNames
    ) -> None:
        self.path, self.module, self.signal_names, self.names = path, module, signal_names, names
        self.found: list[DeclaredReceiver] = []
        self.stack: list[ast.AST] = []  # enclosing ClassDef / FunctionDef nodes

    @property
    def scope(self) -> str:
        defs = [s for s in self.stack if not isinstance(s, ast.ClassDef)]
        if not defs:
            return "module"
        if getattr(defs[0], "name", "") == "ready" and isinstance(self.stack[0], ast.ClassDef):
            return "ready"
        return "function"

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.stack.append(node)
        self.generic_visit(node)
        self.stack.pop()

    def _visit_def(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and dotted(decorator.func).endswith("receiver"):
                self._add_receiver(node, decorator)
        self.stack.append(node)
        self.generic_visit(node)
        self.stack.pop()

    visit_FunctionDef = _visit_def
    visit_AsyncFunctionDef = _visit_def

    def _add_receiver(self, node: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> None:
        target = call.args[0] if call.args else _keyword(call, "signal")
        if target is None:
            return
        signals = target.elts if isinstance(target, (ast.List, ast.Tuple)) else [target]
        qualname = self.names.qualname(self.stack, node.name)
        where = (node.decorator_list[0].lineno, call.lineno)
        for signal in signals:
            self._record(where, qualname, f"{self.module}.{qualname}", signal, call, "receiver")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _METHODS:
            receiver = node.args[0] if node.args else _keyword(node, "receiver")
            uid_only = receiver is None and func.attr == "disconnect"
            if (receiver is not None or uid_only) and self._looks_like_signal(func.value, node):
                path = self.names.receiver(receiver, self.stack) if receiver else None
                text = dotted(receiver) if receiver is not None else ""
                lines = (node.lineno, node.lineno)
                self._record(lines, text, path, func.value, node, func.attr)
        self.generic_visit(node)

    def _looks_like_signal(self, target: ast.expr, call: ast.Call) -> bool:
        if any(kw.arg in _CONNECT_KEYWORDS for kw in call.keywords):
            return True
        written = dotted(target)
        return written.rpartition(".")[2] in self.signal_names or "signals." in written

    def _record(
        self,
        lines: tuple[int, int],
        function: str,
        receiver_path: str | None,
        signal: ast.expr,
        call: ast.Call,
        via: str,
    ) -> None:
        uid, sender = _keyword(call, "dispatch_uid"), _keyword(call, "sender")
        self.found.append(
            DeclaredReceiver(
                file=self.path,
                line=lines[0],
                module=self.module,
                function=function,
                signal=dotted(signal),
                sender=_text(sender),
                dispatch_uid=_text(uid),
                via=via,
                scope=self.scope,
                falsy_dispatch_uid=_is_falsy_literal(uid),
                signal_path=self.names.resolve(signal, self.stack),
                receiver_path=receiver_path,
                sender_path=self.names.sender(sender, self.stack),
                connect_line=lines[1],
            )
        )
