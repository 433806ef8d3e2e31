"""A snapshot: every signal, registration and pending lazy connect, as records.

>>> import sigscope
>>> snap = sigscope.snapshot()            # doctest: +SKIP
>>> snap.receivers_for(post_save, sender=Order)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import gc
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

import django

from sigscope import _compat
from sigscope.describe import Memo
from sigscope.records import (
    AppInfo,
    BypassSite,
    DeclaredReceiver,
    Findings,
    ModelInfo,
    PendingInfo,
    ReceiverInfo,
    ScanError,
    SignalInfo,
)
from sigscope.registry import SenderIndex, collect_signals, read_signal
from sigscope.registry.collect import mark_kept_alive, read_pending
from sigscope.registry.declared import project_roots, scan_project
from sigscope.registry.declared_match import match_declared
from sigscope.registry.live import LiveFacts
from sigscope.registry.models import read_apps, read_models
from sigscope.registry.site_match import attach_sites
from sigscope.registry.sites import scan_sites

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Snapshot", "snapshot"]


class Snapshot:
    """Everything sigscope read from the process at one moment.

    Plain records only: a snapshot keeps no signal, receiver or sender alive.
    ``graph`` and ``findings`` are computed on first use.
    """

    def __init__(
        self,
        signals: Iterable[SignalInfo],
        pending: Iterable[PendingInfo] = (),
        declared: Iterable[DeclaredReceiver] = (),
        *,
        django_version: str = django.get_version(),
        debug: bool = False,
        apps_ready: bool = True,
        imported_modules: Iterable[str] = (),
        taken_at: float | None = None,
        apps: Iterable[tuple[str, str]] = (),
        apps_info: Iterable[AppInfo] = (),
        models: Iterable[ModelInfo] = (),
        scan_errors: Iterable[ScanError] = (),
        include_builtin: bool = False,
        bypass_sites: Iterable[BypassSite] = (),
        project_packages: Iterable[str] | None = None,
        urlconf: str = "",
    ) -> None:
        self.signals: tuple[SignalInfo, ...] = tuple(signals)
        self.pending: tuple[PendingInfo, ...] = tuple(pending)
        self.declared: tuple[DeclaredReceiver, ...] = tuple(declared)
        self.django_version = django_version
        self.debug = debug
        self.apps_ready = apps_ready
        #: Which of the modules that declare receivers in source are imported.
        self.imported_modules: frozenset[str] = frozenset(imported_modules)
        self.taken_at = time.time() if taken_at is None else taken_at
        #: ``(app module, app label)`` of every installed app, longest module first.
        self.apps: tuple[tuple[str, str], ...] = tuple(
            sorted(apps, key=lambda a: len(a[0]), reverse=True)
        )
        #: Installed apps with their ``AppConfig`` (where a fix says to import a module).
        self.apps_info: tuple[AppInfo, ...] = tuple(apps_info)
        #: Installed models, with their proxy / multi-table / abstract ancestry.
        self.models: tuple[ModelInfo, ...] = tuple(models)
        #: Project files the source scan could not decode or parse.
        self.scan_errors: tuple[ScanError, ...] = tuple(scan_errors)
        #: Findings about Django's own receivers are kept.
        self.include_builtin = include_builtin
        #: ``bulk_create``/``bulk_update``/``update()`` calls on live models in the source.
        self.bypass_sites: tuple[BypassSite, ...] = tuple(bypass_sites)
        #: Packages of the project's own apps whose source was scanned for send and bypass
        #: sites; ``None`` when no scan ran (``scan_source=False``).
        self.project_packages: tuple[str, ...] | None = (
            None if project_packages is None else tuple(project_packages)
        )
        #: Whether the URLconf was loaded ("URLconf loaded", "URLconf not loaded"), for the
        #: summary line; empty when not known.
        self.urlconf = urlconf

    def in_project(self, dotted: str) -> bool:
        """Is ``dotted`` (a module or a name in one) inside one of the scanned apps?"""
        return any(dotted.startswith(p + ".") for p in self.project_packages or ())

    def app_of(self, module: str | None) -> str:
        """The label of the installed app a module belongs to (else its top-level package)."""
        module = module or ""
        for name, label in self.apps:
            if module == name or module.startswith(name + "."):
                return label
        return module.split(".", 1)[0]

    def __repr__(self) -> str:
        return (
            f"<Snapshot: {len(self.signals)} signals, {len(self.receivers)} receivers, "
            f"{len(self.pending)} pending, Django {self.django_version}>"
        )

    @cached_property
    def receivers(self) -> tuple[ReceiverInfo, ...]:
        """Every registration of every signal."""
        return tuple(r for s in self.signals for r in s.receivers)

    def signal(self, signal: Any) -> SignalInfo:
        """The record of a signal, given the live ``Signal`` or its name."""
        for info in self.signals:
            if info.obj_id == id(signal) or signal in (info.name, *info.aliases):
                return info
        if isinstance(signal, str):
            matches = [s for s in self.signals if s.name.rpartition(".")[2] == signal]
            if len(matches) == 1:
                return matches[0]
        raise KeyError(f"no such signal in this snapshot: {signal!r}")

    def receivers_for(self, signal: Any, sender: Any = None) -> list[ReceiverInfo]:
        """The registrations Django calls for ``signal.send(sender)``, in its call order.

        Sync receivers in registration order, then (Django 5.0+) async ones.
        ``sender`` is the live sender (a model class) or its label
        (``"shop.Order"``); ``None`` gives only the any-sender registrations.
        """
        info = self.signal(signal)
        if isinstance(sender, str):
            matches = [r for r in info.receivers if r.sender.is_any or r.sender.label == sender]
        else:
            wanted = {_compat.NONE_ID, id(sender)}
            matches = [r for r in info.receivers if r.sender.obj_id in wanted]
        matches = [r for r in matches if not r.dead]
        if _compat.HAS_ASYNC_SIGNALS:
            matches.sort(key=lambda r: r.is_async)  # stable: keeps registration order
        return matches

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """A ``networkx.MultiDiGraph``: senders → signals → receivers (see ``sigscope.graph``)."""
        with paused_gc():  # networkx's first import, too, makes many objects
            from sigscope.graph import build_graph

            return build_graph(self)

    @cached_property
    def findings(self) -> Findings:
        """Problems found, most severe first (see ``sigscope.analysis``)."""
        with paused_gc():
            from sigscope.analysis import analyse

            return Findings(analyse(self))

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """text/plain, text/html (an inline SVG of the graph, findings, registrations),
        image/png (the matplotlib picture, without Django's own receivers).
        """
        import base64

        from sigscope.views.draw import snapshot_png
        from sigscope.views.html import snapshot_html
        from sigscope.views.svg import snapshot_svg
        from sigscope.views.text import format_inspect

        png = snapshot_png(self, dpi=72)
        bundle: dict[str, Any] = {
            "text/plain": format_inspect(self),
            "text/html": snapshot_html(self, svg=snapshot_svg(self)),
        }
        if png is not None:
            bundle["image/png"] = base64.b64encode(png).decode()
        return bundle

    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON document (``"schema": 1``) the CLI prints."""
        from sigscope.graph.export import to_dict

        return to_dict(self)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off cyclic garbage collection while records are built.

    Building ~10k records on a large heap triggers many full collections
    (a third of the time at 10,000 receivers).  Nothing is freed or kept that
    would not be anyway: collection resumes, with the same thresholds, after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def snapshot(
    *,
    scan_source: bool = True,
    load_urlconf: bool = False,
    app_registry: Any = None,
    include_builtin: bool = False,
) -> Snapshot:
    """Read every live signal, its receivers and pending lazy connects.

    Needs a configured Django (``django.setup()`` or :func:`sigscope.setup`).
    Reads only: nothing is imported, connected, pruned or evaluated.
    ``scan_source`` also parses the project's own apps (never importing them)
    to find receivers declared in source but not connected, where each
    registration was connected, and where signals are sent and bypassed
    (``SignalInfo.sent_from``, ``Snapshot.bypass_sites``).  ``include_builtin``
    keeps findings about Django's own receivers (left out by default: they are
    not yours to fix).

    ``load_urlconf=True`` first imports the project's URLconf, as Django's
    ``check`` command does (many projects import receiver modules from there);
    that is the one thing that imports project code, so it is off by default.
    The ``sigscope`` command turns it on (``--no-urlconf`` turns it off).
    An exception from the URLconf propagates.
    """
    from sigscope._setup import load_urlconf as load
    from sigscope._setup import urlconf_state

    if load_urlconf:
        load()
    with paused_gc():
        snap = _snapshot(
            scan_source=scan_source, app_registry=app_registry, include_builtin=include_builtin
        )
    snap.urlconf = urlconf_state()
    return snap


def _snapshot(*, scan_source: bool, app_registry: Any, include_builtin: bool) -> Snapshot:
    from django.apps import apps as default_apps
    from django.conf import settings

    registry = app_registry if app_registry is not None else default_apps
    roots = project_roots(_compat.app_configs(registry))
    senders = SenderIndex(registry, project_packages=[name for _, name in roots])
    signals: list[SignalInfo] = []
    live_lists: list[list[Any]] = []
    # The heap as it is now, read only if a sender must be searched for: paused_gc() holds
    # collection off, so the older generations stay as they are; the young one is copied.
    young = gc.get_objects(generation=0)
    found = collect_signals(senders, heap=partial(_heap_as_of, young))
    del young  # it holds objects: gone before anything counts referrers
    debug = bool(settings.DEBUG) if settings.configured else False
    facts = LiveFacts(debug=debug)
    memo: Memo = {}  # each function described once, for this snapshot only
    for signal, name, aliases, entries in found:
        info, receivers = read_signal(
            signal, name, aliases, senders, entries, memo=memo, facts=facts
        )
        signals.append(info)
        live_lists.append(receivers)
    del found, memo  # before the DEBUG check: the memo would count as a referrer
    signals = mark_kept_alive(signals, live_lists, facts)
    del live_lists
    pending = read_pending(registry, {s.obj_id: s.name for s in signals})
    declared: tuple[DeclaredReceiver, ...] = ()
    errors: tuple[ScanError, ...] = ()
    bypasses: tuple[BypassSite, ...] = ()
    packages: list[str] | None = None
    if scan_source:
        declared, errors = scan_project(roots)
        signals, pending = match_declared(signals, pending, declared)
        signals, bypasses = attach_sites(signals, scan_sites(roots), registry)
        packages = [package for _, package in roots]
    return Snapshot(
        signals,
        pending,
        declared,
        debug=debug,
        apps_ready=bool(getattr(registry, "ready", False)),
        imported_modules={d.module for d in declared if d.module in sys.modules},
        apps=[(c.name, c.label) for c in _compat.app_configs(registry)],
        apps_info=read_apps(registry),
        models=read_models(registry),
        scan_errors=errors,
        include_builtin=include_builtin,
        bypass_sites=bypasses,
        project_packages=packages,
    )


def _heap_as_of(young: list[Any]) -> list[Any]:
    """``gc.get_objects()`` as it was when ``young`` (generation 0) was read, if no
    collection ran since: what a snapshot made meanwhile is young, and not in it."""
    return young + gc.get_objects(generation=1) + gc.get_objects(generation=2)


def _matches_app(module: str | None, label: str | None, app: str) -> bool:
    parts = (module or "").split(".")
    if app in parts or (module or "").startswith(app + "."):
        return True
    return bool(label) and str(label).split(".")[0] == app


def _matches_signal(name: str | None, wanted: Iterable[str]) -> bool:
    if name is None:
        return False
    return any(name == w or name.rpartition(".")[2] == w for w in wanted)


def filter_snapshot(
    snap: Snapshot, *, apps: Iterable[str] = (), signals: Iterable[str] = ()
) -> Snapshot:
    """The part of a snapshot about some apps (receiver module or sender) and/or signals."""
    apps, signals = tuple(apps), tuple(signals)
    if not apps and not signals:
        return snap

    def keep(signal: str | None, module: str | None, sender: str | None) -> bool:
        if signals and not _matches_signal(signal, signals):
            return False
        return not apps or any(_matches_app(module, sender, a) for a in apps)

    kept = []
    for s in snap.signals:
        regs = tuple(r for r in s.receivers if keep(s.name, r.receiver.module, r.sender.label))
        if regs or (signals and _matches_signal(s.name, signals) and not apps):
            kept.append(dataclasses.replace(s, receivers=regs))
    result = Snapshot(
        kept,
        [p for p in snap.pending if keep(p.signal, p.receiver.module, p.model)],
        snap.declared,
        django_version=snap.django_version,
        debug=snap.debug,
        apps_ready=snap.apps_ready,
        imported_modules=snap.imported_modules,
        taken_at=snap.taken_at,
        apps=snap.apps,
        apps_info=snap.apps_info,
        models=snap.models,
        scan_errors=snap.scan_errors,
        include_builtin=snap.include_builtin,
        bypass_sites=snap.bypass_sites,
        project_packages=snap.project_packages,
        urlconf=snap.urlconf,
    )
    result.findings = Findings(
        f
        for f in snap.findings
        if keep(f.signal, f.receivers[0] if f.receivers else None, f.sender)
    )
    return result
