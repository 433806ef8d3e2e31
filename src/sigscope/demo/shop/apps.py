import importlib

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def create_default_customer(sender: AppConfig, **kwargs: object) -> None:
    from sigscope.demo.shop.models import Customer

    Customer.objects.get_or_create(name="Walk-in", defaults={"email": "shop@example.com"})


class ShopConfig(AppConfig):
    name = "sigscope.demo.shop"
    label = "shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import pricing, signals, webhooks

        # An app config as sender: runs after this app's tables are migrated.
        post_migrate.connect(create_default_customer, sender=self)
        # Renamed dispatch_uid: the old connect in signals.py still runs too.
        signals.order_placed.connect(signals.send_confirmation, dispatch_uid="confirmation-email")
        webhooks.install("https://hooks.example.com/shipped")
        # Re-read pricing rules after settings overrides: leaves a stale receiver behind.
        importlib.reload(pricing)
