"""A synthetic multi-app project for the graph benchmarks and the browser tests.

``build_apps(n)`` connects ``n`` receivers spread over ``n // 20`` "apps" (modules
``synth<k>.handlers``), the way real projects wire them: each app defines a few
signals of its own, listens to some of other apps' signals, and to Django's
``post_save``/``pre_save``/``post_delete`` for the demo's models or for any sender.
Deterministic (a seeded ``random.Random``); ``remove_apps()`` disconnects everything.

The demo project must be set up first (``sigscope.demo.setup()``): its models are senders.
"""

from __future__ import annotations

import random
import sys
import types

from django.db.models import signals as model_signals
from django.dispatch import Signal

__all__ = ["build_apps", "remove_apps"]

_CONNECTED: list[tuple[Signal, str]] = []
_MODULES: list[str] = []


def _module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    sys.modules[name] = module
    _MODULES.append(name)
    return module


def build_apps(n: int, *, per_app: int = 20, seed: int = 7) -> int:
    """Connect ``n`` receivers in ``max(1, n // per_app)`` synthetic apps; returns ``n``."""
    from sigscope.demo.blog.models import Post
    from sigscope.demo.shop.models import Order

    rng = random.Random(seed)
    apps = max(1, n // per_app)
    custom: list[Signal] = []
    for a in range(apps):
        signals = _module(f"synth{a}.signals")
        for s in range(2):
            signal = Signal()
            setattr(signals, f"event_{s}", signal)
            custom.append(signal)
    senders = [Order, Post, None]
    builtin = [model_signals.post_save, model_signals.pre_save, model_signals.post_delete]
    for i in range(n):
        app = i % apps
        handlers = sys.modules.get(f"synth{app}.handlers") or _module(f"synth{app}.handlers")
        name = f"on_change_{i}"
        source = f"def {name}(sender, **kwargs):\n    return {i}\n"
        exec(compile(source, f"<synth{app}.handlers>", "exec"), handlers.__dict__)
        func = handlers.__dict__[name]
        uid = f"synth-{i}"
        if rng.random() < 0.5:
            signal = rng.choice(builtin)
            signal.connect(func, sender=rng.choice(senders), weak=False, dispatch_uid=uid)
        else:
            signal = rng.choice(custom)
            signal.connect(func, weak=False, dispatch_uid=uid)
        _CONNECTED.append((signal, uid))
    return n


def remove_apps() -> None:
    """Disconnect every receiver ``build_apps`` connected and forget its modules."""
    from sigscope.demo.blog.models import Post
    from sigscope.demo.shop.models import Order

    for signal, uid in _CONNECTED:
        for sender in (Order, Post, None):
            signal.disconnect(sender=sender, dispatch_uid=uid)
    _CONNECTED.clear()
    for name in _MODULES:
        sys.modules.pop(name, None)
    _MODULES.clear()
