"""What several tracing test modules share."""

from __future__ import annotations

from django.dispatch import Signal


def forget_receivers(*signals: Signal) -> None:
    """Disconnect everything a test connected to these (module-level, test-only) signals."""
    for signal in signals:
        signal.receivers.clear()
        signal.sender_receivers_cache.clear()
