"""Receivers nobody imports: they are declared, never connected (finding: not_connected).

The fix is one line in ShopConfig.ready(): ``from . import unused_handlers``.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver


@receiver(post_save, sender="shop.Order")
def send_invoice(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        print(f"invoice for {instance}")
