"""Faithful copies of pretix's signal classes (``pretix/base/signals.py``), trimmed to run here.

What matters is kept as pretix writes it: ``PluginSignal`` overrides ``send``,
``send_robust`` and adds ``send_chained``; each iterates ``_sorted_receivers``
(``sorted()`` of ``_live_receivers`` by core-first, ``__module__``,
``__name__``) and calls only receivers whose plugin is active for the sender
(found from ``receiver.__module__``, unwrapping Sentry's wrapper the way pretix
does).  ``GlobalSignal`` adds a ``send_chained`` over ``_live_receivers``.
``SortedSignal`` is the ``GlobalSignal`` pattern the issue names: an override of
``_live_receivers`` returning ``sorted(super()._live_receivers(sender))``, with
Django's own ``send``.  Plugin lookup uses a module-prefix table instead of app
configs, and ``Event`` is a plain class.
"""

from __future__ import annotations

from typing import Any

import django.dispatch
from django.dispatch.dispatcher import NO_RECEIVERS

from sigscope import _compat

CORE_MODULES = ("pretix.base", "pretix.control", "pretix.presale")
#: plugin module prefix -> plugin name (pretix finds the app config)
PLUGINS = {"pretix.plugins.banktransfer": "banktransfer", "pretix.plugins.stripe": "stripe"}


def _sync(live: Any) -> Any:
    # pretix targets one Django at a time; from 5.0 _live_receivers returns (sync, async).
    return live[0] if _compat.HAS_ASYNC_SIGNALS else live


class Event:
    def __init__(self, plugins: list[str]) -> None:
        self.plugins = plugins

    def get_plugins(self) -> list[str]:
        return self.plugins


def get_defining_app(o: Any) -> Any:
    # If sentry packed this in a wrapper, unpack that
    if "sentry" in o.__module__:
        o = o.__wrapped__
    searchpath = o.__module__
    if any(searchpath.startswith(cm) for cm in CORE_MODULES):
        return "CORE"
    return next((name for prefix, name in PLUGINS.items() if searchpath.startswith(prefix)), None)


def is_receiver_active(sender: Any, receiver: Any) -> bool:
    if sender is None:
        return True
    app = get_defining_app(receiver)
    return app == "CORE" or (app is not None and app in sender.get_plugins())


class PluginSignal(django.dispatch.Signal):
    type: Any = None

    def _is_receiver_active(self, sender: Any, receiver: Any) -> bool:
        return is_receiver_active(sender, receiver)

    def send(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
        if sender and not isinstance(sender, self.type):
            raise ValueError(f"Sender needs to be of type {self.type}.")
        responses: list[tuple[Any, Any]] = []
        if not self.receivers or self.sender_receivers_cache.get(sender) is NO_RECEIVERS:
            return responses
        for receiver in self._sorted_receivers(sender):
            if self._is_receiver_active(sender, receiver):
                response = receiver(signal=self, sender=sender, **named)
                responses.append((receiver, response))
        return responses

    def send_chained(self, sender: Any, chain_kwarg_name: str, **named: Any) -> Any:
        if sender and not isinstance(sender, self.type):
            raise ValueError("Sender needs to be an event.")
        response = named.get(chain_kwarg_name)
        if not self.receivers or self.sender_receivers_cache.get(sender) is NO_RECEIVERS:
            return response
        for receiver in self._sorted_receivers(sender):
            if self._is_receiver_active(sender, receiver):
                named[chain_kwarg_name] = response
                response = receiver(signal=self, sender=sender, **named)
        return response

    def send_robust(self, sender: Any, **named: Any) -> list[tuple[Any, Any]]:
        if sender and not isinstance(sender, self.type):
            raise ValueError("Sender needs to be an event.")
        responses: list[tuple[Any, Any]] = []
        if not self.receivers or self.sender_receivers_cache.get(sender) is NO_RECEIVERS:
            return []
        for receiver in self._sorted_receivers(sender):
            if self._is_receiver_active(sender, receiver):
                try:
                    response = receiver(signal=self, sender=sender, **named)
                except Exception as err:
                    responses.append((receiver, err))
                else:
                    responses.append((receiver, response))
        return responses

    def _sorted_receivers(self, sender: Any) -> list[Any]:
        orig_list = _sync(self._live_receivers(sender))
        sorted_list = sorted(
            orig_list,
            key=lambda receiver: (
                0 if any(receiver.__module__.startswith(m) for m in CORE_MODULES) else 1,
                receiver.__module__,
                receiver.__name__,
            ),
        )
        return sorted_list


class EventPluginSignal(PluginSignal):
    type = Event


class GlobalSignal(django.dispatch.Signal):
    def send_chained(self, sender: Any, chain_kwarg_name: str, **named: Any) -> Any:
        response = named.get(chain_kwarg_name)
        if not self.receivers or self.sender_receivers_cache.get(sender) is NO_RECEIVERS:
            return response
        for receiver in _sync(self._live_receivers(sender)):
            named[chain_kwarg_name] = response
            response = receiver(signal=self, sender=sender, **named)
        return response


class SortedSignal(django.dispatch.Signal):
    """``_live_receivers`` sorted by name; Django's own ``send`` runs them."""

    def _live_receivers(self, sender: Any) -> Any:
        live = super()._live_receivers(sender)
        key = lambda receiver: receiver.__name__  # noqa: E731
        if _compat.HAS_ASYNC_SIGNALS:
            return sorted(live[0], key=key), live[1]
        return sorted(live, key=key)
