"""The bundled demo project: a small shop and blog whose signal wiring has every problem.

It runs with zero set-up (SQLite in memory, shared between threads; set
``SIGSCOPE_DEMO_DB`` to a file path to keep the data).  Every receiver kind
sigscope decodes and every finding it explains is here, on purpose, with a
comment saying how real projects get there:

>>> import sigscope.demo
>>> sigscope.demo.setup()
>>> snap = sigscope.snapshot()
>>> kinds = {f.kind for f in snap.findings}
>>> sorted(kinds & {"duplicate_module_alias", "pending_unresolved", "not_connected"})
['duplicate_module_alias', 'not_connected', 'pending_unresolved']
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["DEMO_DIR", "SETTINGS", "migrate", "run_scenario", "setup"]

#: The settings module of the demo project.
SETTINGS = "sigscope.demo.settings"
#: The demo project's directory (where its ``manage.py`` is).
DEMO_DIR = os.path.dirname(os.path.abspath(__file__))

_migrated = False


def setup() -> None:
    """Configure Django with the demo's settings and load its apps (idempotent)."""
    from sigscope._setup import setup as sigscope_setup

    sigscope_setup(SETTINGS, _stacklevel=3)  # a notebook's warning points at its cell


def migrate() -> None:
    """Create the demo's tables (once per process; the database is in memory by default)."""
    global _migrated
    setup()
    if _migrated:
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)  # the apps' shipped migrations
    _migrated = True


def run_scenario() -> dict[str, Any]:
    """A short story that fires the demo's signals: an order placed, shipped and deleted,
    a post tagged and published.  Returns the objects it made (deleted ones as their pk).

    In a notebook (an event loop running in this thread) it runs in a worker thread:
    Django ≥ 5.0 cannot run the demo's async receiver from ``send()`` on the loop's
    thread ("You cannot use AsyncToSync in the same thread as an async event loop").
    A tracer records it either way.
    """
    from sigscope._setup import loop_running

    migrate()  # here: this thread's connection keeps the in-memory database alive
    if not loop_running():
        return _scenario()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="sigscope-demo") as pool:
        return pool.submit(_scenario_in_worker).result()


def _scenario_in_worker() -> dict[str, Any]:
    from django.db import connections

    try:
        return _scenario()
    finally:
        connections.close_all()  # the worker's own connections: nobody else would close them


def _scenario() -> dict[str, Any]:
    migrate()
    from sigscope.demo.blog.models import Post, Tag
    from sigscope.demo.shop.models import Customer, Order
    from sigscope.demo.shop.services import place_order

    customer = Customer.objects.create(name="Ada Lovelace", email="ada@example.com")
    order = place_order(customer, "42.00")
    order.status = Order.Status.SHIPPED
    order.save()
    tag, _ = Tag.objects.get_or_create(name="signals")
    post = Post.objects.create(title="Signals, explained", body="…")
    post.tags.add(tag)
    post.publish()
    spare = Order.objects.create(customer=customer, total="1.00")
    spare_pk = spare.pk
    spare.delete()
    _what_did_not_fire(customer)
    return {"customer": customer, "order": order, "post": post, "tag": tag, "deleted": spare_pk}


def _what_did_not_fire(customer: Any) -> None:
    """An import that skips the save receivers, and a checkout whose e-mail never goes out
    (``trace.bypassed`` and ``trace.on_commit`` show both)."""
    from django.db import transaction

    from sigscope.demo.shop.models import Order
    from sigscope.demo.shop.signals import order_placed

    # A nightly import of past orders: fast, but no pre_save/post_save, so no discount,
    # no search index, no audit trail, and the customer's order_count stays stale.
    Order.objects.bulk_create([Order(customer=customer, total=t) for t in ("5.00", "7.50")])
    with transaction.atomic():
        order = Order.objects.create(customer=customer, total="99.00")
        order_placed.send_robust(sender=Order, order=order)
        transaction.set_rollback(True)  # the payment was declined: the order never existed
