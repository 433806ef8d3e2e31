"""Item 5: secrets are hidden the way Django's error pages hide them."""

from __future__ import annotations

import pytest
from django.core.signals import request_started
from django.dispatch import Signal
from django.test import Client, override_settings
from django.test.signals import setting_changed
from django.views.debug import SafeExceptionReporterFilter, get_default_exception_reporter_filter

import sigscope
import sigscope.demo
from sigscope.tracing.redact import Redactor

HIDDEN = "********************"
signal = Signal()


@pytest.fixture(autouse=True)
def _clean():
    yield
    signal.receivers.clear()


def _kwargs(**kwargs):
    signal.connect(lambda sender, **kw: None, weak=False)
    with sigscope.trace() as t:
        signal.send(sender=None, **kwargs)
    return dict(t.events[0].kwargs)


def test_kwarg_names_and_nested_dict_keys_are_hidden():
    kwargs = _kwargs(
        password="hunter2",
        data={"user": "ann", "password": "p", "deeper": {"api_key": "k", "n": 1}},
        items=[{"token": "t"}],
    )
    assert kwargs["password"] == HIDDEN
    assert (
        "hunter2" not in str(kwargs)
        and "'k'" not in kwargs["data"]
        and "'t'" not in kwargs["items"]
    )
    assert f"'password': {HIDDEN}" in kwargs["data"] and "'user': 'ann'" in kwargs["data"]
    assert f"'api_key': {HIDDEN}" in kwargs["data"] and "'n': 1" in kwargs["data"]


def test_the_wsgi_environ_of_request_started_hides_credentials_and_cookies():
    sigscope.demo.migrate()
    seen = []
    request_started.connect(lambda sender, **kw: seen.append(1), weak=False, dispatch_uid="t1")
    try:
        with sigscope.trace(signals=[request_started]) as t:
            Client().get(
                "/orders/",
                HTTP_AUTHORIZATION="Bearer s3cret",
                HTTP_COOKIE="sessionid=abc; csrftoken=def",
                HTTP_X_API_KEY="key123",
            )
    finally:
        request_started.disconnect(dispatch_uid="t1")
    [event] = t.sends(request_started)
    environ = dict(event.kwargs)["environ"]
    for secret in ("s3cret", "abc", "def", "key123"):
        assert secret not in environ
    assert f"'HTTP_COOKIE': {HIDDEN}" in environ and "'PATH_INFO': '/orders/'" in environ
    assert seen
    signal.receivers.clear()
    headers = {"HTTP_AUTHORIZATION": "Bearer s", "HTTP_X_API_KEY": "k", "HTTP_COOKIE": "c=1"}
    shown = _kwargs(environ=headers)["environ"]
    assert shown == "{" + ", ".join(f"'{k}': {HIDDEN}" for k in headers) + "}"


def test_setting_changed_hides_the_value_of_sensitive_settings():
    with (
        sigscope.trace(signals=[setting_changed]) as t,
        override_settings(SECRET_KEY="x" * 50, AWS_SECRET_ACCESS_KEY="aws", LANGUAGE_CODE="de"),
    ):
        pass
    by_name = {dict(e.kwargs)["setting"].strip("'"): dict(e.kwargs)["value"] for e in t.events}
    assert by_name["SECRET_KEY"] == HIDDEN and by_name["AWS_SECRET_ACCESS_KEY"] == HIDDEN
    assert by_name["LANGUAGE_CODE"] in ("'de'", "'en-us'")


def test_a_project_filter_decides():
    get_default_exception_reporter_filter.cache_clear()
    try:
        with override_settings(DEFAULT_EXCEPTION_REPORTER_FILTER=f"{__name__}.NoCardFilter"):
            redactor = Redactor(())
            assert redactor.hides("card") and redactor.hides("password")
            assert not redactor.hides("n") and redactor.substitute == "[hidden]"
    finally:
        get_default_exception_reporter_filter.cache_clear()
    assert not Redactor(()).hides("card") and not Redactor(None).hides("password")


class NoCardFilter(SafeExceptionReporterFilter):
    cleansed_substitute = "[hidden]"

    def cleanse_setting(self, key, value):
        if "card" in key:
            return self.cleansed_substitute
        return super().cleanse_setting(key, value)


def test_a_str_dict_kwarg_is_copied_at_send_time_and_described_when_read():
    environ = {f"K{i}": f"v{i}" for i in range(12)}
    environ["HTTP_COOKIE"] = "sessionid=abc"
    environ = {"HTTP_COOKIE": environ.pop("HTTP_COOKIE"), **environ}
    signal.connect(lambda sender, **kw: None, weak=False)
    with sigscope.trace() as t:
        signal.send(sender=None, environ=environ)
        environ["K0"] = "changed later"  # the record shows the send-time value
        environ.clear()
    shown = dict(t.events[0].kwargs)["environ"]
    assert shown.startswith(f"{{'HTTP_COOKIE': {HIDDEN}, 'K0': 'v0', 'K1': 'v1'")
    assert "abc" not in shown and "changed" not in shown
    assert shown.endswith(", …5 more}")  # 13 items, 8 shown


def test_a_dict_with_other_values_is_described_during_the_send():
    class Loud:
        def __repr__(self):
            raise SystemExit("never called")

    shown = _kwargs(data={"a": "x", "obj": Loud(), "n": 3})["data"]
    assert shown.startswith("{'a': 'x', 'obj': <") and shown.endswith(".Loud>, 'n': 3}")
    long = _kwargs(data={f"key{i}": "y" * 60 for i in range(10)})["data"]
    assert len(long) <= 200 and long.endswith("…[10 items]")
