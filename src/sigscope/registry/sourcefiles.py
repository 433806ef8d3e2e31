"""Which files belong to the project, and reading them for the source scans.

Nothing is imported: files are read as bytes, decoded the way Python would
(PEP 263 coding cookie, else UTF-8) and parsed with :mod:`ast`.  A file that
does not decode or parse is reported as a :class:`~sigscope.records.ScanError`,
never skipped silently.
"""

from __future__ import annotations

import ast
import fnmatch
import io
import os
import sysconfig
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sigscope.records import ScanError

__all__ = [
    "DEFAULT_EXCLUDE",
    "decode_source",
    "parse_file",
    "parse_text",
    "project_files",
    "project_roots",
]

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


def project_files(
    roots: Iterable[tuple[str, str]], *, exclude: Sequence[str] = DEFAULT_EXCLUDE
) -> Iterator[tuple[str, str]]:
    """``(path, dotted module)`` of every Python file under the roots, each file once."""
    seen: set[str] = set()
    for directory, package in roots:
        for path, module in _python_files(directory, package, exclude):
            if path not in seen:
                seen.add(path)
                yield path, module


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


def decode_source(path: str, module: str, source: bytes) -> tuple[str | None, ScanError | None]:
    """A file's text, decoded as Python would (coding cookie, else UTF-8), or why not."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        return source.decode(encoding), None
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        start = getattr(exc, "start", None)
        line = source[:start].count(b"\n") + 1 if isinstance(start, int) else None
        if isinstance(exc, UnicodeDecodeError):
            reason = f"{exc.encoding} {reason} at byte {start}"
        return None, ScanError(path, module, "decode", f"does not decode: {reason}", line)


def parse_text(path: str, module: str, text: str) -> tuple[ast.Module | None, ScanError | None]:
    """The syntax tree of a file's text, or why there is none."""
    try:
        return ast.parse(text, filename=path), None
    except SyntaxError as exc:
        return None, ScanError(path, module, "syntax", f"does not parse: {exc.msg}", exc.lineno)
    except ValueError as exc:  # null bytes
        return None, ScanError(path, module, "syntax", f"does not parse: {exc}")


def parse_file(path: str, module: str, source: bytes) -> tuple[ast.Module | None, ScanError | None]:
    """The syntax tree of a file's bytes, or why there is none."""
    text, error = decode_source(path, module, source)
    return (None, error) if text is None else parse_text(path, module, text)
