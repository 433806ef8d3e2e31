"""Hide secrets the way Django's error pages do.

The decision "is this name sensitive?" is Django's: the project's
``DEFAULT_EXCEPTION_REPORTER_FILTER`` (``SafeExceptionReporterFilter`` unless
configured) is asked through its ``cleanse_setting(name, probe)``, so its
``hidden_settings`` pattern, ``SESSION_COOKIE_NAME`` and any override a project
wrote all apply; its ``cleansed_substitute`` is what is shown instead.  A tracer
adds its own words on top (``redact=``; :data:`DEFAULT_REDACT` by default,
because Django 4.2's pattern lacks ``AUTH`` and none has ``COOKIE``).

Names are checked once each (cached), so redaction costs a dict lookup per
keyword argument.  What is hidden: keyword-argument names, dict keys at any
depth (a WSGI ``environ``'s ``HTTP_AUTHORIZATION``, ``HTTP_COOKIE``,
``HTTP_X_API_KEY``), and ``setting_changed``'s ``value`` when its ``setting``
is sensitive.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["DEFAULT_REDACT", "Redactor"]

#: Words hidden in addition to Django's filter (case-insensitive, anywhere in a name).
DEFAULT_REDACT = ("AUTH", "COOKIE", "CSRF", "PASSWD", "CREDENTIAL")
_FALLBACK_SUBSTITUTE = "********************"


class _Probe:
    """A value ``cleanse_setting`` returns unchanged when the name is not sensitive."""

    __slots__ = ()


_PROBE = _Probe()


class Redactor:
    """Answers "hide the value of this name?" with Django's filter plus extra words.

    Examples
    --------
    >>> redactor = Redactor(["card"])
    >>> redactor.hides("card_number"), redactor.hides("HTTP_X_API_KEY"), redactor.hides("sku")
    (True, True, False)
    """

    __slots__ = ("_filter", "_lock", "_words", "decided", "enabled", "plans", "substitute")

    def __init__(self, words: Iterable[str] | None) -> None:
        self.enabled = words is not None
        escaped = [re.escape(w) for w in (words or ())]
        self._words = re.compile("|".join(escaped), re.IGNORECASE) if escaped else None
        #: name -> hidden?, for the names seen so far
        self.decided: dict[str, bool] = {}
        #: a send's keyword-argument names -> whether any is hidden (or is ``setting``)
        self.plans: dict[tuple[str, ...], bool] = {}
        self._filter: Any = None
        self._lock = threading.Lock()
        self.substitute = _FALLBACK_SUBSTITUTE

    def hides(self, name: str) -> bool:
        """Whether ``name``'s value is hidden (cached per name)."""
        hidden = self.decided.get(name)
        if hidden is None:
            hidden = self.decided[name] = self._decide(name)
        return hidden

    def _decide(self, name: str) -> bool:
        if not self.enabled:
            return False
        if self._words is not None and self._words.search(name):
            return True
        reporter = self._reporter()
        try:
            return reporter.cleanse_setting(name, _PROBE) is not _PROBE
        except Exception:  # settings not configured yet: Django's default pattern alone
            from django.views.debug import SafeExceptionReporterFilter

            return bool(SafeExceptionReporterFilter.hidden_settings.search(name))

    def _reporter(self) -> Any:
        if self._filter is not None:
            return self._filter
        with self._lock:
            found, configured = _project_filter()
            substitute = getattr(found, "cleansed_substitute", None)
            if type(substitute) is str:
                self.substitute = substitute
            if configured:  # before settings are configured, ask again next time
                self._filter = found
        return found

    def any_hidden(self, names: tuple[str, ...]) -> bool:
        """Whether a send with these keyword-argument names needs the per-name check."""
        found = self.plans.get(names)
        if found is None:
            found = "setting" in names or any(self.hides(name) for name in names)
            if len(self.plans) > 1000:
                self.plans.clear()
            self.plans[names] = found
        return found

    def hides_setting_value(self, named: dict[str, Any]) -> bool:
        """``setting_changed(setting=..., value=...)`` with a sensitive ``setting``."""
        setting = named.get("setting")
        return type(setting) is str and "value" in named and self.hides(setting)


def _project_filter() -> tuple[Any, bool]:
    """The project's exception reporter filter, and whether it could be read."""
    from django.views.debug import SafeExceptionReporterFilter

    try:
        from django.views.debug import get_default_exception_reporter_filter

        return get_default_exception_reporter_filter(), True
    except Exception:  # settings not configured, or a filter that cannot be imported
        return SafeExceptionReporterFilter(), False
