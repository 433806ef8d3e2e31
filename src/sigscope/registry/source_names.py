"""Resolve names in one source file to dotted paths, through its imports (statically).

``post_save`` → ``django.db.models.signals.post_save`` after
``from django.db.models.signals import post_save``; ``audit`` →
``shop.handlers.audit`` after ``from .handlers import audit``; ``self`` inside
``class ShopConfig`` → ``shop.apps.ShopConfig``.  Imports anywhere in the file
count (``ready()`` often imports its handlers locally).  ``None`` when the scan
cannot tell (a call's result, a subscript).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

__all__ = ["SourceNames", "dotted"]


def dotted(node: ast.AST) -> str:
    """The source text of a name or attribute chain (``signals.order_placed``)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return ast.unparse(node)


class SourceNames:
    """What each top-level name of a module stands for."""

    def __init__(self, tree: ast.Module, module: str, *, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.names: dict[str, str] = {}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.names[node.name] = f"{module}.{node.name}"
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        self.names[target.id] = f"{module}.{target.id}"
        for child in ast.walk(tree):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.asname:
                        self.names[alias.asname] = alias.name
                    else:
                        top = alias.name.partition(".")[0]
                        self.names[top] = top
            elif isinstance(child, ast.ImportFrom):
                base = self._base(child)
                for alias in child.names:
                    if alias.name != "*" and base is not None:
                        self.names[alias.asname or alias.name] = f"{base}.{alias.name}"

    def _base(self, node: ast.ImportFrom) -> str | None:
        if not node.level:
            return node.module
        parts = self.package.split(".") if self.package else []
        if node.level - 1 > len(parts):
            return None
        parts = parts[: len(parts) - (node.level - 1)]
        if node.module:
            parts.append(node.module)
        return ".".join(parts) or None

    def qualname(self, stack: Sequence[ast.AST], name: str) -> str:
        """Python's ``__qualname__`` for ``name`` defined inside ``stack``."""
        parts = []
        for node in stack:
            if isinstance(node, ast.ClassDef):
                parts.append(node.name)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                parts += [node.name, "<locals>"]
        return ".".join([*parts, name])

    def _class_path(self, stack: Sequence[ast.AST]) -> str | None:
        for index in range(len(stack) - 1, -1, -1):
            if isinstance(stack[index], ast.ClassDef):
                return f"{self.module}.{self.qualname(stack[:index], stack[index].name)}"  # type: ignore[attr-defined]
        return None

    def resolve(self, node: ast.AST | None, stack: Sequence[ast.AST] = ()) -> str | None:
        """The dotted path a name or attribute chain stands for, or ``None``."""
        if isinstance(node, ast.Name):
            if node.id in ("self", "cls"):
                return self._class_path(stack)
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value, stack)
            return f"{base}.{node.attr}" if base else None
        return None

    def receiver(self, node: ast.AST, stack: Sequence[ast.AST]) -> str | None:
        """The dotted name of a connected receiver (``module.outer.<locals>.inner`` for a
        nested ``def``, ``module.Class.method`` for ``self.method`` or ``Class().method``)."""
        if isinstance(node, ast.Name) and stack:
            inner = stack[-1]
            if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == node.id
                for n in inner.body
            ):
                return f"{self.module}.{self.qualname(stack, node.id)}"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Call):
            owner = self.resolve(node.value.func, stack)
            return f"{owner}.{node.attr}" if owner else None
        return self.resolve(node, stack)

    def sender(self, node: ast.AST | None, stack: Sequence[ast.AST]) -> str | None:
        """A sender's dotted path, or the literal itself (``"shop.Order"``, ``"billing"``)."""
        if isinstance(node, ast.Constant):
            return None if node.value is None else repr(node.value)
        return self.resolve(node, stack)
