"""``sigscope.setup()``: configure Django for a script or a notebook, deliberately."""

from __future__ import annotations

import asyncio
import os
import sys
import warnings

__all__ = ["load_urlconf", "setup", "urlconf_state"]

ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


def loop_running() -> bool:
    """An asyncio event loop is running in this thread (as in a notebook kernel)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def setup(
    settings: str | None = None, *, pythonpath: str | None = None, _stacklevel: int = 2
) -> None:
    """Set up Django with ``settings`` (a dotted module), once; a no-op if already set up.

    Inside a Jupyter kernel an asyncio loop is running in the main thread, and
    Django refuses ORM calls there (``SynchronousOnlyOperation``).  ``setup``
    then sets ``DJANGO_ALLOW_ASYNC_UNSAFE=true`` for this process, as
    ``shell_plus --notebook`` does, and says so with a warning: only do this
    in a notebook, never in a server.  Async receivers still need
    ``await signal.asend(...)`` in a cell (``send()`` cannot run them there).
    """
    import django
    from django.apps import apps
    from django.conf import settings as django_settings

    if pythonpath:
        sys.path.insert(0, pythonpath)
    if settings:
        current = os.environ.get("DJANGO_SETTINGS_MODULE")
        if django_settings.configured and current and current != settings:
            raise RuntimeError(
                f"Django is already configured with {current!r}; cannot switch to {settings!r}"
            )
        os.environ["DJANGO_SETTINGS_MODULE"] = settings
    if loop_running() and not os.environ.get(ASYNC_UNSAFE):
        os.environ[ASYNC_UNSAFE] = "true"
        warnings.warn(
            "sigscope.setup(): an event loop is running (a notebook kernel), so "
            f"{ASYNC_UNSAFE}=true was set to allow ORM calls from cells. Use "
            "`await signal.asend(...)` for async receivers.",
            RuntimeWarning,
            stacklevel=_stacklevel,
        )
    if not apps.ready:
        django.setup()


def _root_urlconf() -> object:
    from django.conf import settings

    return getattr(settings, "ROOT_URLCONF", None) if settings.configured else None


def load_urlconf() -> None:
    """Import the project's URLconf (and the modules it includes), as Django's checks do.

    ``django.core.checks.urls`` resolves ``get_resolver().url_patterns``; real projects
    import receiver modules from their URLconf, so a snapshot taken without it misses
    them.  Does nothing without ``ROOT_URLCONF``; an exception from the URLconf propagates.
    """
    if not _root_urlconf():
        return
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (the property imports the URLconf)


def urlconf_state() -> str:
    """``"URLconf loaded"``, ``"URLconf not loaded"`` or ``"no ROOT_URLCONF"`` (for summaries)."""
    root = _root_urlconf()
    if not root:
        return "no ROOT_URLCONF"
    loaded = not isinstance(root, str) or root in sys.modules
    return "URLconf loaded" if loaded else "URLconf not loaded"
