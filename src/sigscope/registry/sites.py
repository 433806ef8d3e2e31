"""Where the project's source sends signals and skips them, found by parsing it (never importing).

Two kinds of call are collected, each with the dotted path its target resolves to
through the module's own imports (``from .signals import order_placed``,
``from shop import models``, ``import shop.signals as s``)::

    order_placed.send(sender=Order, order=order)          # a send site
    self.changed.send_robust(sender=type(self))           # a class attribute signal
    Order.objects.filter(paid=False).update(paid=True)    # a bypass site
    Order.objects.bulk_create(orders)

The scan knows nothing about which names are signals or models: it records
candidates (``shop.signals.order_placed``, ``shop.models.Order``) and
:mod:`sigscope.registry.site_match` keeps those that are live signals and models,
looking the path up in ``sys.modules`` (never importing).  ``socket.send(data)`` or
``settings.update(...)`` therefore never become sites.

Files are cached by (path, mtime, size), as the declared-receiver scan is.
"""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sigscope.registry.sourcefiles import DEFAULT_EXCLUDE, project_files

__all__ = ["BYPASS_METHODS", "SEND_METHODS", "FileSites", "RawBypass", "RawSend", "scan_sites"]

#: Django's four, and ``send_chained`` of pretix's ``PluginSignal`` (a ``Signal`` subclass).
SEND_METHODS = frozenset({"send", "send_robust", "asend", "asend_robust", "send_chained"})
#: ``QuerySet`` methods that save rows without sending ``pre_save``/``post_save``.
BYPASS_METHODS = frozenset({"bulk_create", "bulk_update", "update"})
#: ``QuerySet`` methods that return a queryset, so ``Model.objects.filter(...).update()``
#: is followed back to ``Model``.
_CHAINED = "all filter exclude order_by using select_related prefetch_related select_for_update"
_CHAINED += " only defer annotate alias distinct reverse none get_queryset"
_CHAIN_METHODS = frozenset(_CHAINED.split())


#: Calls the visitor could record; a file with none is not parsed.  ``.update(`` is common
#: (``dict.update``), so it only counts in a file that mentions a manager (``objects``,
#: ``_default_manager``): a custom manager's ``update()`` in a file that never writes
#: ``objects`` or ``manager`` is not looked for.
_SEND_OR_BULK = re.compile(rb"\.(?:a?send(?:_robust|_chained)?|bulk_create|bulk_update)\s*\(")
_UPDATE = re.compile(rb"\.update\s*\(")


@dataclass(frozen=True, slots=True)
class RawSend:
    """A ``<target>.send(...)`` call, before anyone knows whether ``target`` is a signal."""

    line: int
    function: str
    method: str
    #: Dotted path the signal expression resolves to (``shop.signals.order_placed``).
    target: str
    sender: str | None
    #: Dotted path of the sender expression, when it is a plain name (``shop.models.Order``).
    sender_target: str | None


@dataclass(frozen=True, slots=True)
class RawBypass:
    """``<model>.<manager>[.<queryset method>(...)...].<operation>(...)``."""

    line: int
    function: str
    operation: str
    #: Dotted path of the model expression (``shop.models.Order``).
    target: str
    #: The manager attribute (``objects``), checked against the live model.
    manager: str


@dataclass(frozen=True, slots=True)
class FileSites:
    path: str
    module: str
    sends: tuple[RawSend, ...]
    bypasses: tuple[RawBypass, ...]


def scan_sites(
    roots: Iterable[tuple[str, str]], *, exclude: Sequence[str] = DEFAULT_EXCLUDE
) -> tuple[FileSites, ...]:
    """Candidate send and bypass sites in every file under ``roots`` (``(directory, package)``)."""
    found: list[FileSites] = []
    for path, module in project_files(roots, exclude=exclude):
        try:
            stat = os.stat(path)
        except OSError:
            continue
        sites = _scan_cached(path, module, stat.st_mtime_ns, stat.st_size)
        if sites.sends or sites.bypasses:
            found.append(sites)
    return tuple(found)


@lru_cache(maxsize=8192)
def _scan_cached(path: str, module: str, mtime: int, size: int) -> FileSites:
    return scan_file(path, module)


def scan_file(path: str, module: str) -> FileSites:
    """The candidate sites of one file; a file that cannot be read or parsed has none
    (the declared-receiver scan reports it)."""
    empty = FileSites(path, module, (), ())
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError:
        return empty
    if not _is_candidate(raw):  # most files: no parse at all
        return empty
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)  # a coding cookie
        source = raw.decode(encoding)
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError, LookupError):  # UnicodeDecodeError is a ValueError
        return empty
    package = module if os.path.basename(path) == "__init__.py" else module.rpartition(".")[0]
    visitor = _Visitor(module, _imports(tree, package), source)
    visitor.visit(tree)
    return FileSites(path, module, tuple(visitor.sends), tuple(visitor.bypasses))


def _is_candidate(raw: bytes) -> bool:
    if _SEND_OR_BULK.search(raw):
        return True
    return (b"objects" in raw or b"manager" in raw) and _UPDATE.search(raw) is not None


def _imports(tree: ast.Module, package: str) -> dict[str, str]:
    """Local name → dotted path, from every import in the file (function-level ones too)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.partition(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            if base is None:
                continue
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = (
                        f"{base}.{alias.name}" if base else alias.name
                    )
    return names


def _absolute(module: str | None, level: int, package: str) -> str | None:
    if not level:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base) or None


def _chain(node: ast.expr) -> list[str] | None:
    """``a.b.c`` → ``["a", "b", "c"]``; anything else (a call, a subscript) → ``None``."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


class _Visitor(ast.NodeVisitor):
    """Walks one module, knowing the enclosing class and function of each call."""

    def __init__(self, module: str, imports: dict[str, str], source: str) -> None:
        self.module, self.imports, self.source = module, imports, source
        self._lines: list[str] | None = None
        self.stack: list[tuple[str, str]] = []  # ("class" | "def", name)
        self.sends: list[RawSend] = []
        self.bypasses: list[RawBypass] = []

    @property
    def function(self) -> str:
        return ".".join(name for _, name in self.stack) or "<module>"

    def _owner_class(self) -> str | None:
        """The class whose method this is, for ``self.x``/``cls.x`` (``Outer.Inner``)."""
        if len(self.stack) < 2 or self.stack[-1][0] != "def" or self.stack[-2][0] != "class":
            return None
        classes = [name for kind, name in self.stack[:-1]]
        return ".".join(classes) if all(k == "class" for k, _ in self.stack[:-1]) else None

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.stack.append(("class", node.name))
        self.generic_visit(node)
        self.stack.pop()

    def _visit_def(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.stack.append(("def", node.name))
        self.generic_visit(node)
        self.stack.pop()

    visit_FunctionDef = _visit_def
    visit_AsyncFunctionDef = _visit_def

    def resolve(self, node: ast.expr) -> str | None:
        """The dotted path a ``Name(.attr)*`` expression names in this module."""
        parts = _chain(node)
        if parts is None:
            return None
        head, rest = parts[0], parts[1:]
        if head in ("self", "cls"):
            owner = self._owner_class()
            base = f"{self.module}.{owner}" if owner else None
        else:
            base = self.imports.get(head, f"{self.module}.{head}")
        return ".".join([base, *rest]) if base else None

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            if func.attr in SEND_METHODS:
                self._send(node, func)
            elif func.attr in BYPASS_METHODS:
                self._bypass(node, func)
        self.generic_visit(node)

    def _send(self, node: ast.Call, func: ast.Attribute) -> None:
        target = self.resolve(func.value)
        if target is None:
            return
        sender = next((kw.value for kw in node.keywords if kw.arg == "sender"), None)
        if sender is None and node.args and not isinstance(node.args[0], ast.Starred):
            sender = node.args[0]
        text = self.segment(sender) if sender is not None else None
        self.sends.append(
            RawSend(
                line=node.lineno,
                function=self.function,
                method=func.attr,
                target=target,
                sender=" ".join(text.split()) if text is not None else None,
                sender_target=self.resolve(sender) if sender is not None else None,
            )
        )

    def segment(self, node: ast.expr) -> str:
        """The source text of ``node`` (``ast.get_source_segment`` splits the whole file on
        every call: quadratic on a file with many sends)."""
        if self._lines is None:
            self._lines = self.source.split("\n")
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        start, end = node.col_offset, node.end_col_offset
        if end is None or last >= len(self._lines):
            return ast.unparse(node)
        lines = [line.encode() for line in self._lines[first : last + 1]]  # offsets are UTF-8
        lines[-1] = lines[-1][:end]
        lines[0] = lines[0][start:]
        return b"\n".join(lines).decode(errors="replace")

    def _bypass(self, node: ast.Call, func: ast.Attribute) -> None:
        value = func.value
        while (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and value.func.attr in _CHAIN_METHODS
        ):
            value = value.func.value
        if not isinstance(value, ast.Attribute):
            return
        target = self.resolve(value.value)
        if target is not None:
            self.bypasses.append(
                RawBypass(node.lineno, self.function, func.attr, target, value.attr)
            )
