"""What did not fire: ORM calls that skip model signals, and on_commit callbacks of receivers.

Real demo models on real SQLite; the tracer must change nothing Django does.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import sys
import threading
import weakref
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.query import QuerySet
from django.db.models.signals import post_save
from django.dispatch import Signal
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

import sigscope
import sigscope.demo
from sigscope.demo.blog.models import Post, Tag
from sigscope.demo.shop.models import Customer, Order
from sigscope.demo.shop.signals import log_change
from sigscope.tracing import Tracer, active_tracers, current_call

pytestmark = pytest.mark.usefixtures("tracing_path")  # the C and the pure-Python path

PATCHED = ("bulk_create", "bulk_update", "update", "_raw_delete", "aupdate", "abulk_create")
SAVE = ("django.db.models.signals.pre_save", "django.db.models.signals.post_save")

restock = Signal()
checkout = Signal()


@pytest.fixture(scope="module", autouse=True)
def _database():
    sigscope.demo.migrate()


@pytest.fixture(autouse=True)
def _clean():
    yield
    assert active_tracers() == ()
    for signal in (restock, checkout):
        signal.receivers.clear()
        signal.sender_receivers_cache.clear()


@pytest.fixture
def rollback():
    """Run the test's ORM calls in a transaction that is rolled back afterwards."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def customer(rollback):
    return Customer.objects.create(name="Grace", email="grace@example.com")


@pytest.fixture
def no_catch_all_save_receiver():
    """The demo connects ``log_change`` to post_save for every sender; take it away."""
    saved = list(post_save.receivers)
    post_save.disconnect(log_change)
    yield
    post_save.receivers[:] = saved
    post_save.sender_receivers_cache.clear()


def here() -> int:
    return sys._getframe(1).f_lineno


def class_state():
    return {n: vars(QuerySet).get(n) for n in PATCHED}, vars(BaseDatabaseWrapper)["on_commit"]


# --------------------------------------------------------------------------- bypasses


def test_each_operation_is_recorded_with_its_fields(customer):
    orders = [Order(customer=customer, total="3.00") for _ in range(3)]
    with sigscope.trace() as t:
        line = here() + 1
        created = Order.objects.bulk_create(orders)
        for order in created:
            order.total = Decimal("4.00")
        Order.objects.bulk_update(created, ["total"])
        pks = [o.pk for o in created]
        Order.objects.filter(pk__in=pks).update(status=Order.Status.PAID)
        doomed = Order.objects.filter(pk__in=pks)
        doomed._raw_delete(doomed.db)
    create, bulk_update, update, raw = t.bypassed
    operations = [b.operation for b in t.bypassed]
    assert operations == ["bulk_create", "bulk_update", "update", "raw_delete"]
    assert [b.rows for b in t.bypassed] == [3, 3, 3, 3]
    assert create.model == "shop.Order" and create.signals == SAVE
    assert "sigscope.demo.shop.signals.stamp_updated_at" in create.receivers  # a pre_save one
    assert "sigscope.demo.shop.signals.notify_shipped" in create.receivers  # a post_save one
    assert len(set(create.receivers)) == len(create.receivers)
    assert (create.file, create.line) == (__file__, line)
    assert create.function == "test_each_operation_is_recorded_with_its_fields"
    assert bulk_update.line == line + 3 and update.line == line + 5
    assert create.parent is None and create.thread == threading.current_thread().name
    assert raw.signals == ("django.db.models.signals.post_delete",)  # no pre_delete receiver
    assert "sigscope.demo.shop.signals.release_stock" in raw.receivers
    assert create.id < bulk_update.id < update.id < raw.id


def test_a_bypass_inside_a_receiver_is_nested_under_it(customer):
    order = Order.objects.create(customer=customer, total="1.00")

    def restock_all(sender, **kwargs):
        return Order.objects.filter(pk=order.pk).update(status=Order.Status.SHIPPED)

    restock.connect(restock_all)
    with sigscope.trace(signals=[restock, post_save]) as t:
        restock.send(sender=None)
    [send] = t.sends(restock)
    [bypass] = t.bypassed
    assert bypass.parent == (send.id, 0) and bypass.function.endswith("restock_all")
    tree = t.tree().splitlines()
    call = next(i for i, text in enumerate(tree) if "restock_all" in text)
    assert tree[call + 1].strip().startswith("⤼ update shop.Order ×1 — pre_save, post_save")
    assert "receivers skipped" in tree[call + 1] and "test_tracing_bypass.py:" in tree[call + 1]
    assert "bypassed: 1 ORM call skipped model signals (update ×1)" in t.summary_text()
    html = t._repr_html_()
    assert "sigscope-bypass" in html and "⤼ update shop.Order" in html


def test_no_record_without_receivers_for_the_model(rollback, no_catch_all_save_receiver):
    with sigscope.trace() as t:
        tags = Tag.objects.bulk_create([Tag(name="a"), Tag(name="b")])
        Tag.objects.filter(name="a").update(name="c")
        Tag.objects.bulk_update(tags, ["name"])
        Tag.objects.all()._raw_delete("default")  # Tag has no delete receivers
    assert t.bypassed == ()


def test_no_record_for_zero_rows_django_internals_or_m2m_through_rows(customer):
    post = Post.objects.create(title="t")
    tag = Tag.objects.create(name="bypass-m2m")
    with sigscope.trace() as t:
        Order.objects.filter(pk=-1).update(status="paid")  # nothing updated: nothing skipped
        Order.objects.bulk_create([])
        post.tags.add(tag)  # Django bulk-creates the through rows and sends m2m_changed
    # add() ran reindex_tags, whose own update() is user code: that one is recorded
    assert [(b.operation, b.model, b.function) for b in t.bypassed] == [
        ("update", "blog.Post", "reindex_tags"),
        ("update", "blog.Post", "reindex_tags"),
    ]


def test_without_a_tracer_the_class_attributes_are_djangos_own():
    before = class_state()
    outer = Tracer().start()
    during = class_state()
    inner = Tracer().start()
    inner.stop()
    assert class_state() == during  # another tracer still runs
    outer.stop()
    after = class_state()
    assert all(after[0][n] is before[0][n] for n in PATCHED) and after[1] is before[1]
    assert all(during[0][n] is not before[0][n] for n in PATCHED[:4]) and during[1] is not before[1]
    patched = during[0]["update"]
    assert patched.alters_data is True and patched.__wrapped__ is before[0]["update"]


def _run_every_operation(customer):
    """Every operation once; returns what Django returned and the SQL it ran."""
    with CaptureQueriesContext(connection) as queries:
        made = Order.objects.bulk_create([Order(customer=customer, total="2.00") for _ in "ab"])
        for order in made:
            order.status = Order.Status.PAID
        updated = Order.objects.bulk_update(made, ["status"], batch_size=1)
        changed = Order.objects.filter(pk__in=[o.pk for o in made]).update(total="3.00")
        doomed = Order.objects.filter(pk__in=[o.pk for o in made])
        deleted = doomed._raw_delete(doomed.db)
    results = (len(made), all(o.pk for o in made), updated, changed, deleted)
    return results, [re.sub(r"\d+", "N", q["sql"]) for q in queries.captured_queries]


def test_return_values_and_queries_are_identical_with_and_without_tracing(customer):
    plain = _run_every_operation(customer)
    with sigscope.trace() as t:
        traced = _run_every_operation(customer)
    assert plain == traced and plain[0] == (2, True, 2, 2, 2)
    assert len(t.bypassed) == 4


@pytest.mark.parametrize(
    "call",
    [
        lambda: Order.objects.bulk_create([Order()], batch_size=0),
        lambda: Order.objects.bulk_update([Order(pk=1)], []),
        lambda: Order.objects.all()[:1].update(status="paid"),
        lambda: Order.objects.filter(nope=1).update(status="paid"),
    ],
)
def test_exceptions_are_djangos_own(rollback, call):
    with pytest.raises(Exception) as plain:
        call()
    with sigscope.trace() as t, pytest.raises(Exception) as traced:
        call()
    assert type(traced.value) is type(plain.value) and traced.value.args == plain.value.args
    assert t.bypassed == ()


def test_a_base_exception_propagates_and_leaves_the_tracer_working(customer):
    def orders():
        yield Order(customer=customer)
        raise KeyboardInterrupt

    with sigscope.trace() as t:
        with pytest.raises(KeyboardInterrupt):
            Order.objects.bulk_create(orders())
        Order.objects.bulk_create([Order(customer=customer)])
    assert [b.rows for b in t.bypassed] == [1]  # the flag of the interrupted call was reset


def test_a_tracer_with_filters_only_records_bypasses_of_its_signals(customer):
    with sigscope.trace(signals=["order_placed"]) as quiet, sigscope.trace(apps=["shop"]) as shop:
        Order.objects.bulk_create([Order(customer=customer)])
        Post.objects.bulk_create([Post(title="x")])
    assert quiet.bypassed == ()
    assert [b.model for b in shop.bypassed] == ["shop.Order"]


def test_async_entry_points_record_the_async_caller(customer):
    import asyncio

    from asgiref.sync import async_to_sync

    async def nightly():
        line = here() + 1
        rows = await Order.objects.filter(customer=customer).aupdate(status="paid")
        return line, rows

    Order.objects.create(customer=customer, total="1.00")
    with sigscope.trace() as t:
        line, rows = async_to_sync(nightly)()
    [bypass] = t.bypassed
    assert bypass.operation == "update" and bypass.rows == rows == 1
    assert (bypass.file, bypass.line, bypass.function) == (__file__, line, _qualname(nightly))
    assert asyncio.iscoroutinefunction(QuerySet.aupdate)


def _qualname(func):
    return func.__qualname__ if sys.version_info >= (3, 11) else func.__name__


def test_the_trace_keeps_no_model_instance_alive(customer):
    orders = [Order(customer=customer) for _ in range(2)]
    refs = [weakref.ref(o) for o in orders]
    with sigscope.trace() as t:
        Order.objects.bulk_create(orders)
    del orders
    gc.collect()
    assert len(t.bypassed) == 1 and all(r() is None for r in refs)


# --------------------------------------------------------------------------- on_commit

log = logging.getLogger("tests.on_commit")


def _register_in_receiver(callback, *, robust=False):
    def register(sender, **kwargs):
        transaction.on_commit(callback, robust=robust)

    checkout.connect(register, weak=False)
    return register


def test_a_callback_that_ran_and_one_discarded_with_the_rollback():
    ran = []

    def send_mail():
        ran.append(True)

    _register_in_receiver(send_mail)
    with sigscope.trace(signals=[checkout]) as t:
        with transaction.atomic():
            checkout.send(sender=None)
            [pending] = t.on_commit
            assert pending.ran is None and pending.finished_at is None
        with transaction.atomic():
            checkout.send(sender=None)
            transaction.set_rollback(True)
        discarded_now = t.on_commit[1]
    first, second = t.sends(checkout)
    committed, rolled_back = t.on_commit
    assert ran == [True]
    assert committed.ran is True and committed.registered_by == (first.id, 0)
    test = test_a_callback_that_ran_and_one_discarded_with_the_rollback
    assert committed.callback == f"{__name__}.{test.__qualname__}.<locals>.send_mail"
    assert committed.using == "default" and committed.error is None
    assert committed.registered_at <= committed.finished_at
    assert discarded_now.ran is False and rolled_back.registered_by == (second.id, 0)
    tree = t.tree()
    assert "⏲ on_commit" in tree and "— discarded (rolled back)" in tree and "— ran" in tree
    assert "on_commit: 2 callbacks registered by receivers (1 ran, 0 raised, 1 discarded" in (
        t.summary_text()
    )


def test_a_savepoint_rollback_discards_only_its_callbacks():
    ran = []
    _register_in_receiver(lambda: ran.append("cb"))
    with sigscope.trace() as t, transaction.atomic():
        checkout.send(sender=None)
        with pytest.raises(ValueError), transaction.atomic():
            checkout.send(sender=None)
            raise ValueError("declined")
        assert [c.ran for c in t.on_commit] == [None, False]  # seen while still open
    assert [c.ran for c in t.on_commit] == [True, False] and ran == ["cb"]


def test_robust_callbacks_log_what_django_logs_and_errors_are_recorded(caplog):
    def flaky():
        raise ValueError("smtp down")

    _register_in_receiver(flaky, robust=True)

    def run():
        caplog.clear()
        with caplog.at_level(logging.ERROR, "django.db.backends.base"), transaction.atomic():
            checkout.send(sender=None)
        return [(r.getMessage(), r.exc_info[0]) for r in caplog.records]

    plain = run()
    with sigscope.trace() as t:
        traced = run()
    assert plain == traced and "flaky" in plain[0][0] and plain[0][1] is ValueError
    [record] = t.on_commit
    assert record.ran is True and record.error.type == "ValueError"
    assert record.error.message == "smtp down" and "in flaky" in record.error.traceback


def test_a_raising_callback_raises_the_same_exception_object():
    error = RuntimeError("boom")

    def fail():
        raise error

    _register_in_receiver(fail)
    with sigscope.trace() as t, pytest.raises(RuntimeError) as raised, transaction.atomic():
        checkout.send(sender=None)
    assert raised.value is error and t.on_commit[0].error.type == "RuntimeError"


def test_outside_a_receiver_or_atomic_block_django_gets_the_callback_itself():
    calls = []

    def callback():
        calls.append(current_call())

    with sigscope.trace() as t:
        with transaction.atomic():
            transaction.on_commit(callback)
            assert [f for _, f, _ in connection.run_on_commit] == [callback]
        _register_in_receiver(callback)
        checkout.send(sender=None)  # autocommit: Django runs it at once, inside the receiver
    [record] = t.on_commit
    assert record.ran is True and calls[0] is None and calls[1] == record.registered_by


def test_captured_callbacks_compare_equal_and_run_through_the_wrapper():
    ran = []

    def callback():
        ran.append(1)

    _register_in_receiver(callback)
    with sigscope.trace() as t, transaction.atomic():
        with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
            checkout.send(sender=None)
        assert callbacks == [callback] and callbacks[0].__qualname__ == callback.__qualname__
        assert ran == [1] and t.on_commit[0].ran is True
        transaction.set_rollback(True)


def test_on_commit_keeps_nothing_alive():
    class Mail:
        def __call__(self):
            return None

    refs = []

    def register(sender, **kwargs):
        mail = Mail()
        refs.append(weakref.ref(mail))
        transaction.on_commit(mail)

    checkout.connect(register)
    with sigscope.trace() as t, transaction.atomic():
        checkout.send(sender=None)
        assert refs[0]() is not None  # Django holds it until the transaction ends
        transaction.set_rollback(True)
    gc.collect()
    assert refs[0]() is None and t.on_commit[0].ran is False


def test_jsonl_has_bypass_and_on_commit_lines(tmp_path, customer):
    _register_in_receiver(lambda: None)
    with sigscope.trace() as t:
        checkout.send(sender=None)
        Order.objects.bulk_create([Order(customer=customer)])
    path = tmp_path / "trace.jsonl"
    t.to_jsonl(str(path))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    by_type = {line["type"]: line for line in lines}
    assert by_type["bypass"]["operation"] == "bulk_create" and by_type["bypass"]["rows"] == 1
    assert by_type["on_commit"]["ran"] is None  # the test's transaction is still open
    assert by_type["on_commit"]["registered_by"] == [t.sends(checkout)[0].id, 0]


# --------------------------------------------------------------------------- threads

_db_lock = threading.Lock()


def test_two_threads_record_their_own_bypasses_and_callbacks():
    both_in_receivers = threading.Barrier(2, timeout=30)
    customer = Customer.objects.create(name="threads", email="t@example.com")
    try:
        order = Order.objects.create(customer=customer, total="1.00")

        def restock_receiver(sender, **kwargs):
            both_in_receivers.wait()  # both receivers are running now
            with _db_lock:  # SQLite's shared in-memory cache allows one writer at a time
                Order.objects.filter(pk=order.pk).update(status="paid")
            transaction.on_commit(lambda: None)  # autocommit: runs at once

        idents = {}

        def work():
            idents[threading.current_thread().name] = threading.get_ident()
            try:
                restock.send(sender=None)
            finally:
                connections.close_all()

        restock.connect(restock_receiver)
        with sigscope.trace(signals=[restock, post_save]) as t:
            threads = [threading.Thread(target=work, name=f"worker-{i}") for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        # (by thread id: the core caches thread names per ident, which Python reuses)
        by_ident = {e.thread_id: e.id for e in t.sends(restock)}
        sends = {name: by_ident[ident] for name, ident in idents.items()}
        assert sorted(sends) == ["worker-0", "worker-1"]
        assert sorted((b.thread, b.parent) for b in t.bypassed) == sorted(
            (name, (send_id, 0)) for name, send_id in sends.items()
        )
        assert sorted(c.registered_by for c in t.on_commit) == sorted(
            (send_id, 0) for send_id in sends.values()
        )
        assert all(c.ran for c in t.on_commit)
    finally:
        customer.delete()


def test_a_raising_robust_partial_behaves_as_without_tracing(caplog):
    # Django 4.2 reads func.__qualname__ (a partial has none: AttributeError); 5.0+ logs it.
    import functools

    def fail(reason):
        raise ValueError(reason)

    _register_in_receiver(functools.partial(fail, "nope"), robust=True)

    def run():
        caplog.clear()
        try:
            with transaction.atomic():
                checkout.send(sender=None)
        except AttributeError as exc:
            return ("raised", str(exc))
        return ("logged", [r.getMessage() for r in caplog.records])

    plain = run()
    with sigscope.trace() as t:
        traced = run()
    assert traced == plain
    assert t.on_commit[0].ran is True and t.on_commit[0].error.type == "ValueError"


def test_the_trace_view_lists_bypasses_and_callbacks(customer):
    _register_in_receiver(lambda: None)
    with sigscope.trace() as t:
        checkout.send(sender=None)
        Order.objects.bulk_create([Order(customer=customer)])
    view = t.show()
    [bypass] = view.data["bypassed"]
    assert (bypass["op"], bypass["model"], bypass["rows"]) == ("bulk_create", "shop.Order", 1)
    [callback] = view.data["on_commit"]
    assert callback["ran"] is None and callback["p"] is not None  # still open, by a receiver
