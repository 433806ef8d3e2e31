"""``sigscope`` as a Django app: add it to INSTALLED_APPS for ``manage.py sigscope``."""

from django.apps import AppConfig


class SigscopeConfig(AppConfig):
    name = "sigscope"
    verbose_name = "sigscope"
    default_auto_field = "django.db.models.AutoField"
