"""Outgoing webhooks, installed by a helper that more than one app calls."""

from __future__ import annotations

from typing import Any

from sigscope.demo.shop.signals import order_shipped


def install(url: str) -> None:
    """Connect a webhook poster for ``url``.

    Each call makes a new closure; called twice (from two ready() methods) the
    webhook is posted twice (finding: duplicate_rerun).  A dispatch_uid fixes it.
    """

    def post_webhook(sender: type, order: Any, **kwargs: Any) -> str:
        return f"POST {url} order={order.pk}"

    order_shipped.connect(post_webhook, weak=False)
