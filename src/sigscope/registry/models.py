"""Installed models and apps as records: what the sender analysis needs to know.

Read from the app registry's ``_meta`` (Django's documented ``Options`` API)
and from class ``__dict__``s; nothing is imported or evaluated.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from sigscope import _compat
from sigscope.records import AppInfo, ModelInfo
from sigscope.safe import type_name

__all__ = ["read_apps", "read_models"]


def _own_meta(cls: Any) -> Any:
    try:
        return type.__getattribute__(cls, "__dict__").get("_meta")
    except Exception:
        return None


def read_models(app_registry: Any) -> tuple[ModelInfo, ...]:
    """Every installed model (not auto-created ``through`` models), sorted by label."""
    found = []
    for model in _compat.registered_models(app_registry):
        meta = model._meta
        if meta.auto_created:
            continue
        concrete: list[str] = []
        abstract: list[str] = []
        for base in model.__mro__[1:]:
            base_meta = _own_meta(base)
            if base_meta is None or not hasattr(base_meta, "abstract"):
                continue
            if base_meta.abstract:
                abstract.append(type_name(base))
            else:
                concrete.append(base_meta.label)
        found.append(
            ModelInfo(
                label=meta.label,
                path=type_name(model),
                proxy=bool(meta.proxy),
                concrete_ancestors=tuple(concrete),
                abstract_ancestors=tuple(abstract),
            )
        )
    return tuple(sorted(found, key=lambda m: m.label))


def _package_of(module_name: str) -> str:
    module = sys.modules.get(module_name)
    if issubclass(type(module), types.ModuleType):
        namespace = object.__getattribute__(module, "__dict__")
        package = namespace.get("__package__")
        if isinstance(package, str):
            return package
    return module_name.rpartition(".")[0]


def read_apps(app_registry: Any) -> tuple[AppInfo, ...]:
    """Every installed app with its ``AppConfig`` class, in ``INSTALLED_APPS`` order."""
    from django.apps import AppConfig

    apps = []
    for config in _compat.app_configs(app_registry):
        cls = type(config)
        module = cls.__module__
        apps.append(
            AppInfo(
                label=config.label,
                name=config.name,
                config=type_name(cls),
                config_package=_package_of(module),
                has_ready=cls.ready is not AppConfig.ready,
            )
        )
    return tuple(apps)
