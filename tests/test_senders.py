"""Naming senders: ``sender_label`` (what the tracer calls) and the module-binding lookup."""

from __future__ import annotations

import sys

from django.apps import apps

from sigscope.registry.senders import bound_names, describe_sender, sender_label

LIMIT = object()


class Plain:
    def __repr__(self):  # never called
        raise AssertionError("sender_label called __repr__")


def test_values_classes_and_objects():
    assert sender_label(None) is None
    assert sender_label("billing") == repr("billing")
    assert sender_label(7, bound_as="shop.LIMIT") == "7 (shop.LIMIT)"
    assert sender_label(Plain) == f"{__name__}.Plain"
    assert sender_label(Plain()) == f"<{__name__}.Plain instance>"
    assert describe_sender(Plain()).kind == "object"
    assert describe_sender(("a", 1)).kind == "value"


def test_models_abstract_models_and_app_configs():
    order = apps.get_model("shop", "Order")
    assert sender_label(order) == "shop.Order"
    assert describe_sender(order).path == f"{order.__module__}.Order"
    config = apps.get_app_config("shop")
    info = describe_sender(config)
    assert (info.kind, info.label) == ("app_config", "app:shop")
    assert info.path == f"{type(config).__module__}.{type(config).__qualname__}"
    from django.contrib.auth.models import AbstractUser

    abstract = describe_sender(AbstractUser)
    assert abstract.kind == "abstract_model"
    assert abstract.label == "django.contrib.auth.models.AbstractUser (abstract)"


def test_bound_names_find_module_globals_and_prefer_the_project():
    found = bound_names([id(LIMIT)])
    assert found[id(LIMIT)] == (f"{__name__}.LIMIT", LIMIT)
    assert sys.modules[__name__].__dict__["LIMIT"] is LIMIT
    # a small int is bound all over the standard library: only a preferred package names it
    assert bound_names([id(1)], prefer=["no_such_package"]) == {}
