"""What the shop's views call: placing orders, and a nightly clean-up."""

from __future__ import annotations

from decimal import Decimal

from sigscope.demo.shop.models import Customer, Order
from sigscope.demo.shop.signals import order_placed


def place_order(customer: Customer, total: str | Decimal) -> Order:
    """Create an order and tell the warehouses and the mailer (``order_placed``)."""
    order = Order.objects.create(customer=customer, total=total)
    order_placed.send_robust(sender=Order, order=order)
    return order


def cancel_unpaid(customer: Customer) -> int:
    """Cancel a customer's new orders in one query.

    ``QuerySet.update()`` sends no ``pre_save``/``post_save``: none of the order's
    save receivers run for these rows (finding: bypasses_signals).
    """
    return Order.objects.filter(customer=customer, status=Order.Status.NEW).update(
        status=Order.Status.PAID
    )
