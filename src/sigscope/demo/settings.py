"""Settings of the bundled demo project (development-style: ``DEBUG = True``)."""

import os
import sys

DEMO_DIR = os.path.dirname(os.path.abspath(__file__))

# Like a project whose manage.py sits beside its apps: the project directory is on
# sys.path, so ``blog.handlers`` and ``sigscope.demo.blog.handlers`` both import.
# That is how one module ends up imported under two names (see shop/signals.py).
if DEMO_DIR not in sys.path:
    sys.path.append(DEMO_DIR)

SECRET_KEY = "sigscope-demo-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "sigscope.demo.urls"
MIDDLEWARE: list[str] = []

# shop/signals.py connects a receiver to the lazy sender "shop.Ordr" on purpose (a typo
# sigscope reports as pending_unresolved). Django's own check reports it too, as an error
# that would stop migrate/runserver/check: silenced here so the demo runs as a project.
SILENCED_SYSTEM_CHECKS = ["signals.E001"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "sigscope",
    "sigscope.demo.shop",
    "sigscope.demo.blog",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        # One in-memory database per process, shared by its threads.
        "NAME": os.environ.get("SIGSCOPE_DEMO_DB", "file:sigscope-demo?mode=memory&cache=shared"),
    }
}
