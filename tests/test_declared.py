"""The static scan for receivers declared in source, and matching it against the registry."""

from __future__ import annotations

import sys
import textwrap

from django.apps import apps

import sigscope
from sigscope.registry.declared import project_roots, scan_declared, scan_file

SOURCE = """
import socket
from django.db.models.signals import post_save, pre_delete
from django.dispatch import Signal, receiver
from myapp import signals as app_signals

custom = Signal()


@receiver(post_save, sender="shop.Order")
@some_decorator
def on_save(sender, **kwargs):
    pass


@receiver([post_save, pre_delete], dispatch_uid="")
def on_both(sender, **kwargs):
    pass


custom.connect(on_save, weak=False)
app_signals.order_placed.connect(on_save)
socket.socket().connect(("localhost", 80))


class MyConfig:
    def ready(self):
        post_save.connect(on_save, sender=self, dispatch_uid="cfg")


def helper():
    custom.connect(lambda sender, **kw: None)
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_scan_finds_decorators_and_connects_with_their_scope(tmp_path):
    path = _write(tmp_path, "wiring.py", SOURCE)
    found = scan_file(str(path), "myapp.wiring")
    rows = [(d.via, d.signal, d.function, d.scope, d.line) for d in found]
    assert rows == [
        ("receiver", "post_save", "on_save", "module", 10),  # the first decorator's line
        ("receiver", "post_save", "on_both", "module", 16),
        ("receiver", "pre_delete", "on_both", "module", 16),
        ("connect", "custom", "on_save", "module", 21),
        ("connect", "app_signals.order_placed", "on_save", "module", 22),
        ("connect", "post_save", "on_save", "ready", 28),
        ("connect", "custom", "lambda sender, **kw: None", "function", 32),
    ]
    assert found[0].sender == "shop.Order" and found[0].dispatch_uid is None
    assert found[1].falsy_dispatch_uid and found[1].dispatch_uid == ""
    assert found[5].sender == "self" and found[5].dispatch_uid == "cfg"


def test_first_decorator_line_is_what_python_reports_as_the_function_line(tmp_path):
    source = (
        "from django.dispatch import Signal, receiver\n"
        "import functools\n"
        "sig = Signal()\n\n"
        "@receiver(sig)\n"
        "@functools.lru_cache\n"
        "def on_sig(sender, **kwargs):\n"
        "    pass\n"
    )
    path = _write(tmp_path, "real.py", source)
    namespace: dict = {}
    exec(compile(source, str(path), "exec"), namespace)
    [decl] = scan_file(str(path), "real")
    assert decl.line == namespace["on_sig"].__wrapped__.__code__.co_firstlineno == 5


def test_unparsable_and_unreadable_files_have_no_receivers(tmp_path):
    broken = _write(tmp_path, "broken.py", "@receiver(post_save)\ndef f(:\n")
    assert scan_file(str(broken), "broken") == ()
    assert scan_file(str(tmp_path / "missing.py"), "missing") == ()


def test_scan_walks_packages_and_skips_tests_and_migrations(tmp_path):
    receiver = "from django.dispatch import receiver\n@receiver(sig)\ndef f(sender, **kw): pass\n"
    _write(tmp_path, "app/__init__.py", "")
    _write(tmp_path, "app/handlers.py", receiver)
    _write(tmp_path, "app/sub/__init__.py", "")
    _write(tmp_path, "app/sub/more.py", receiver)
    _write(tmp_path, "app/tests/__init__.py", "")
    _write(tmp_path, "app/tests/test_x.py", receiver)
    _write(tmp_path, "app/migrations/__init__.py", "")
    _write(tmp_path, "app/migrations/0001_initial.py", receiver)
    _write(tmp_path, "app/not_a_package/loose.py", receiver)
    found = scan_declared([(str(tmp_path / "app"), "app")])
    assert sorted(d.module for d in found) == ["app.handlers", "app.sub.more"]


def test_project_roots_are_the_project_apps_only():
    roots = dict((name, path) for path, name in project_roots(apps.get_app_configs()))
    assert set(roots) == {"sigscope.demo.shop", "sigscope.demo.blog"}


def test_nothing_declared_in_the_demo_is_reported_as_not_connected_except_the_unused_module():
    snap = sigscope.snapshot()
    found = [f for f in snap.findings if f.kind == "not_connected"]
    assert [f.receivers for f in found] == [("sigscope.demo.shop.unused_handlers.send_invoice",)]
    assert "never imported" in found[0].message
    assert "from . import unused_handlers" in found[0].fix
    assert "sigscope.demo.shop.unused_handlers" not in sys.modules  # the scan did not import it


def test_a_disconnected_receiver_in_an_imported_module_is_reported():
    from django.db.models.signals import post_save

    from sigscope.demo.shop import signals

    order = apps.get_model("shop", "Order")
    assert post_save.disconnect(signals.notify_shipped, sender=order)
    try:
        found = [f for f in sigscope.snapshot().findings if f.kind == "not_connected"]
        shipped = [
            f for f in found if f.receivers == ("sigscope.demo.shop.signals.notify_shipped",)
        ]
        assert len(shipped) == 1 and "disconnected" in shipped[0].message
    finally:
        post_save.connect(signals.notify_shipped, sender=order)
