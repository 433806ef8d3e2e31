"""The shop's signals and receivers: one of every kind, and a few classic mistakes."""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

import django

# Written when the project directory was on sys.path: this imports the blog's handlers
# a second time, as ``blog.handlers`` next to ``sigscope.demo.blog.handlers``, and every
# receiver in that module is connected twice (finding: duplicate_module_alias).
from blog.handlers import reindex_tags  # noqa: F401
from django.core.signals import request_finished
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import Signal, receiver
from django.utils import timezone

from sigscope.demo.shop.models import Order

log = logging.getLogger(__name__)

#: Sent with ``order=`` when a customer places an order.
order_placed = Signal()
#: Sent with ``order=`` when an order's status becomes "shipped".
order_shipped = Signal()


def timed(func: Any) -> Any:
    """A ``functools.wraps`` decorator, as profiling helpers are written."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            log.debug("%s took %.1f ms", func.__name__, (time.perf_counter() - started) * 1e3)

    return wrapper


# A plain function with a dispatch_uid.
@receiver(pre_save, sender=Order, dispatch_uid="shop.stamp_updated_at")
def stamp_updated_at(sender: type[Order], instance: Order, **kwargs: Any) -> None:
    instance.updated_at = timezone.now()


# A plain function; it sends another signal, so its send is nested in post_save's.
@receiver(post_save, sender=Order)
def notify_shipped(sender: type[Order], instance: Order, created: bool, **kwargs: Any) -> None:
    if not created and instance.status == Order.Status.SHIPPED:
        order_shipped.send(sender=Order, order=instance)


# A functools.wraps-decorated function; the sleep stands in for a search-engine call.
@receiver(post_save, sender=Order)
@timed
def update_search_index(sender: type[Order], instance: Order, **kwargs: Any) -> str:
    time.sleep(0.002)
    return f"indexed order {instance.pk}"


# Connected for shop.Order here and, later, for every sender in the blog's ready():
# it runs twice for each order saved (finding: duplicate_any_and_specific).
@receiver(post_save, sender=Order)
def log_change(sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
    log.info("%s %s", "created" if created else "changed", instance)


# An empty dispatch_uid is ignored by Django (finding: falsy_dispatch_uid).
@receiver(post_delete, sender=Order, dispatch_uid="")
def release_stock(sender: type[Order], instance: Order, **kwargs: Any) -> None:
    log.info("stock released for %s", instance)


# A lambda, held strongly (a weak lambda would be garbage collected at once).
post_delete.connect(
    lambda sender, instance, **kwargs: log.info("deleted %s", instance), sender=Order, weak=False
)


class AuditTrail:
    """A callable instance: keeps the last few changes in memory."""

    def __init__(self) -> None:
        self.entries: list[str] = []

    def __call__(self, sender: type, instance: Any, created: bool, **kwargs: Any) -> None:
        self.entries = [*self.entries[-99:], f"{'+' if created else '~'} {instance}"]


audit_trail = AuditTrail()
post_save.connect(audit_trail, sender=Order, dispatch_uid="shop.audit_trail")


class Warehouse:
    """Each warehouse reserves stock: one bound method, several instances (a note)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def reserve(self, sender: type[Order], order: Order, **kwargs: Any) -> str:
        return f"{self.name} reserved stock for order {order.pk}"

    def __repr__(self) -> str:
        return f"<Warehouse {self.name}>"


WAREHOUSES = [Warehouse("north"), Warehouse("south")]
for warehouse in WAREHOUSES:
    order_placed.connect(warehouse.reserve, sender=Order)


class Metrics:
    """Class-level counters; the receiver is a classmethod."""

    requests = 0

    @classmethod
    def count_request(cls, sender: Any, **kwargs: Any) -> None:
        cls.requests += 1


request_finished.connect(Metrics.count_request)


def send_email(sender: type[Order], order: Order, *, template: str, **kwargs: Any) -> str:
    return f"email {template!r} queued for {order.customer.email}"


# A functools.partial, which must be held strongly.
order_shipped.connect(
    functools.partial(send_email, template="shipped"), weak=False, dispatch_uid="shop.ship_mail"
)


def send_confirmation(sender: type[Order], order: Order, **kwargs: Any) -> str:
    # The e-mail goes out only if the order's transaction commits (trace.on_commit shows it).
    def deliver() -> None:
        log.info("confirmation e-mail sent to %s", order.customer.email)

    transaction.on_commit(deliver)
    return f"confirmation queued for order {order.pk}"


# Connected again in ShopConfig.ready() under another dispatch_uid after a rename:
# the confirmation goes out twice (finding: duplicate_dispatch_uid).
order_placed.connect(send_confirmation, dispatch_uid="shop.send_confirmation")


def count_orders(sender: type[Order], instance: Order, created: bool, **kwargs: Any) -> None:
    if created:
        customer = instance.customer
        type(customer).objects.filter(pk=customer.pk).update(order_count=customer.orders.count())


post_save.connect(count_orders, sender=Order)


def sync_to_erp(sender: type, instance: Any, **kwargs: Any) -> None:
    log.info("ERP sync %s", instance)


# A typo in a lazy sender: it stays pending forever and never runs (pending_unresolved).
post_save.connect(sync_to_erp, sender="shop.Ordr")


async def push_to_dashboard(sender: type[Order], order: Order, **kwargs: Any) -> str:
    return f"dashboard updated for order {order.pk}"


def _connect_async_receivers() -> None:
    # Django calls async receivers from 5.0 on; 4.2 would never await the coroutine.
    if django.VERSION >= (5, 0):
        order_shipped.connect(push_to_dashboard)


_connect_async_receivers()


#: Sent with ``order=`` when an order is refunded.  Refunds moved to the payment
#: provider's dashboard and nothing sends it any more: the receiver below is still
#: connected and never runs (finding: never_sent).
order_refunded = Signal()


@receiver(order_refunded)
def restock(sender: type[Order], order: Order, **kwargs: Any) -> None:
    log.info("restocking %s", order)
