"""Item 1: recording runs none of the application's code (no repr, str, eq, bool, query)."""

from __future__ import annotations

import functools
import logging

import pytest
from django.apps import apps
from django.db import connection
from django.dispatch import Signal
from django.template import Context, Engine, RequestContext, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils.functional import SimpleLazyObject

import sigscope
import sigscope.demo
from sigscope.tracing.values import describe

from .helpers import forget_receivers

signal = Signal()


@pytest.fixture(autouse=True)
def _clean():
    yield
    forget_receivers(signal)


class Touched(Exception):
    """Raised by a hostile object if sigscope ever touches it."""


class Hostile:
    """Every dunder a recorder might call raises or would be noticed."""

    calls: list[str] = []

    def __repr__(self):
        Hostile.calls.append("repr")
        raise SystemExit("repr ran")

    def __str__(self):
        Hostile.calls.append("str")
        raise KeyboardInterrupt

    def __eq__(self, other):
        Hostile.calls.append("eq")
        raise Touched("eq ran")

    __hash__ = object.__hash__

    def __bool__(self):
        Hostile.calls.append("bool")
        raise Touched("bool ran")

    def __len__(self):
        Hostile.calls.append("len")
        raise Touched("len ran")


class ArrayLike:
    """numpy's contract: ``==`` gives an element-wise array whose truth is ambiguous."""

    def __eq__(self, other):
        return ArrayLike()

    __hash__ = object.__hash__

    def __bool__(self):
        raise ValueError("The truth value of an array with more than one element is ambiguous.")


class BadStr(Exception):
    def __str__(self):
        raise SystemExit("str of the exception ran")


def _trace_one(receiver_, **kwargs):
    signal.connect(receiver_, weak=False)
    with sigscope.trace() as t:
        result = signal.send(sender=None, **kwargs)
    return t.events[0], result


def test_hostile_values_are_never_touched_in_kwargs_results_or_sender():
    Hostile.calls.clear()
    hostile = Hostile()
    signal.connect(lambda sender, **kw: hostile, weak=False)
    with sigscope.trace() as t:
        result = signal.send(sender=hostile, value=hostile, nested={"x": [hostile]})
    assert result[0][1] is hostile
    [event] = t.events  # reading the events does not touch them either
    assert Hostile.calls == []
    assert dict(event.kwargs)["value"] == f"<{__name__}.Hostile>"
    assert dict(event.kwargs)["nested"] == f"{{'x': [<{__name__}.Hostile>]}}"
    assert event.calls[0].result == f"<{__name__}.Hostile>"


class _AskedReceiver:
    """A callable receiver whose ``__getattr__`` is application code (notes each call)."""

    def __init__(self) -> None:
        self.__dict__["asked"] = []

    def __getattr__(self, name: str) -> object:
        self.__dict__["asked"].append(name)
        raise AttributeError(name)

    def __call__(self, sender, **kwargs):
        return None


def test_receivers_whose_attribute_lookup_is_code_are_described_without_running_it():
    plain = _AskedReceiver()
    partial = _AskedReceiver()

    def wrapper(sender, **kwargs):
        return None

    wrapper.__wrapped__ = wrapped = _AskedReceiver()  # as functools.wraps() leaves it
    for receiver in (plain, functools.partial(partial), wrapper):
        signal.connect(receiver, weak=False)
    for each in (plain, partial, wrapped):
        each.asked.clear()  # what Django's connect() asked
    with sigscope.trace() as t:
        signal.send(sender=None)
    assert (plain.asked, partial.asked, wrapped.asked) == ([], [], [])
    [event] = t.events
    kinds = [c.receiver.kind for c in event.calls]
    assert kinds == ["callable", "partial", "function"]
    assert event.calls[0].receiver.qualname.endswith("_AskedReceiver.__call__")


def test_results_are_never_compared_or_tested_for_truth():
    event, result = _trace_one(lambda sender, **kw: ArrayLike())
    assert type(result[0][1]) is ArrayLike
    assert event.calls[0].result == f"<{__name__}.ArrayLike>"

    signal.receivers.clear()
    Hostile.calls.clear()
    event, _ = _trace_one(lambda sender, **kw: Hostile())
    assert Hostile.calls == []


def test_an_exception_whose_str_raises_systemexit_is_recorded_by_type_and_args():
    def raising(sender, **kwargs):
        raise BadStr("the args", 42)

    signal.connect(raising, weak=False)
    # Django's own send_robust logs the error with %s: that str() raising SystemExit is
    # Django's behaviour, the same with and without tracing.
    with pytest.raises(SystemExit):
        signal.send_robust(sender=None)
    with sigscope.trace(), pytest.raises(SystemExit):
        signal.send_robust(sender=None)
    logger = logging.getLogger("django.dispatch")
    logger.disabled = True
    try:
        with sigscope.trace() as t:
            with pytest.raises(BadStr) as caught:
                signal.send(sender=None)
            robust = signal.send_robust(sender=None)
    finally:
        logger.disabled = False
    assert type(robust[0][1]) is BadStr  # recording did not call its __str__
    first, second = t.events
    for event in (first, second):
        error = event.calls[0].error
        assert error.type == "BadStr" and error.message == "('the args', 42)"
        assert error.frames[-1][2] == "raising" and error.frames[-1][0] == __file__
        assert "raise BadStr(" in error.traceback  # formatted when read, from linecache
    assert first.error.type == "BadStr" and caught.value.args == ("the args", 42)


def test_an_exception_traceback_is_kept_as_frames_only():
    def deep(n):
        if n == 0:
            raise ValueError("bottom")
        deep(n - 1)

    signal.connect(lambda sender, **kw: deep(100), weak=False)
    with sigscope.trace() as t, pytest.raises(ValueError):
        signal.send(sender=None)
    error = t.events[0].calls[0].error
    assert len(error.frames) == 40 and error.frames[-1][2] == "deep"
    assert "earlier frames not kept" in error.traceback


def test_lazy_objects_stay_unevaluated():
    evaluated = []
    lazy = SimpleLazyObject(lambda: evaluated.append(1) or "value")
    event, _ = _trace_one(lambda sender, **kw: lazy, user=lazy)
    assert evaluated == []
    assert dict(event.kwargs)["user"] == "<lazy SimpleLazyObject, unevaluated>"
    assert event.calls[0].result == "<lazy SimpleLazyObject, unevaluated>"
    str(lazy)  # the application evaluates it
    assert describe(lazy) == "<lazy → 'value'>"


def test_querysets_models_and_contexts_run_no_query():
    sigscope.demo.migrate()
    order_model = apps.get_model("shop", "Order")
    customer_model = apps.get_model("shop", "Customer")
    queryset = order_model.objects.select_related("customer").all()
    evaluated = customer_model.objects.all()
    list(evaluated)
    request = RequestFactory().get("/orders/?q=1", HTTP_AUTHORIZATION="Bearer secret")
    context = RequestContext(request, {"orders": queryset, "title": "x"})
    order = order_model(pk=7, customer_id=12345)  # its customer does not exist: a query would fail
    with CaptureQueriesContext(connection) as queries:
        event, _ = _trace_one(
            lambda sender, **kw: queryset,
            qs=queryset,
            cached=evaluated,
            context=context,
            plain=Context({"orders": queryset}),
            request=request,
            instance=order,
            model=order_model,
        )
    assert len(queries) == 0 and queryset._result_cache is None
    kwargs = dict(event.kwargs)
    assert kwargs["qs"] == "<QuerySet shop.Order (unevaluated)>"
    rows = f"{len(evaluated)} row{'s' if len(evaluated) != 1 else ''}"
    assert kwargs["cached"] == f"<QuerySet shop.Customer ({rows} cached)>"
    assert "orders" in kwargs["context"] and "title" in kwargs["context"]
    assert (
        kwargs["context"].startswith("<RequestContext keys:")
        and "QuerySet" not in kwargs["context"]
    )
    assert kwargs["plain"].startswith("<Context keys:")
    assert kwargs["request"] == "<WSGIRequest GET /orders/>" and "Bearer" not in kwargs["request"]
    assert kwargs["instance"] == "<shop.Order pk=7>" and kwargs["model"] == "shop.Order"
    assert event.calls[0].result == "<QuerySet shop.Order (unevaluated)>"


def test_partials_templates_and_callables_are_named_not_called():
    def store(data, **kwargs):
        return None

    event, _ = _trace_one(
        lambda sender, **kw: None,
        receiver=functools.partial(store, {"secret": "x"}),
        template=Template("{{ x }}", name="page.html", engine=Engine()),
        func=store,
    )
    kwargs = dict(event.kwargs)
    assert kwargs["receiver"].startswith("<partial ") and kwargs["receiver"].endswith("store>")
    assert kwargs["template"] == "<Template 'page.html'>"
    assert kwargs["func"].startswith("<function ") and "secret" not in kwargs["receiver"]


def test_full_reprs_are_opt_in_bounded_and_survive_a_raising_repr():
    class Loud:
        def __repr__(self):
            return "L" * 10_000

    class Broken:
        def __repr__(self):
            raise RuntimeError("no")

    signal.connect(lambda sender, **kw: Loud(), weak=False)
    with sigscope.trace(reprs="full") as t:
        signal.send(sender=None, loud=Loud(), broken=Broken())
    kwargs = dict(t.events[0].kwargs)
    assert kwargs["loud"].startswith("LLLL") and len(kwargs["loud"]) <= 220
    assert kwargs["broken"].startswith("<repr-error RuntimeError")
    assert t.events[0].calls[0].result.startswith("LLLL")
    with pytest.raises(ValueError, match="reprs"):
        sigscope.Tracer(reprs="everything")  # type: ignore[arg-type]


def test_builtin_containers_are_bounded():
    assert describe(list(range(100))).endswith("…92 more]")
    assert describe({i: i for i in range(3)}) == "{0: 0, 1: 1, 2: 2}"
    assert describe((1,)) == "(1,)" and describe(set()) == "set()"
    assert describe([[[[[1]]]]]) == "[[[<list of 1>]]]"
    assert len(describe("x" * 10_000)) < 230
