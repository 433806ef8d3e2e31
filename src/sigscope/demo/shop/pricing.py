"""Pricing rules, read from settings at import time."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models.signals import pre_save

from sigscope.demo.shop.models import Order

DISCOUNT_RATE = Decimal(str(getattr(settings, "SHOP_DISCOUNT_RATE", "0.05")))


def apply_discount(sender: type[Order], instance: Order, **kwargs: Any) -> None:
    instance.discount = (Decimal(instance.total) * DISCOUNT_RATE).quantize(Decimal("0.01"))


# weak=False keeps the function alive: after importlib.reload(pricing) the old one is
# still connected next to the new one (finding: stale_reload).
pre_save.connect(apply_discount, sender=Order, weak=False)
