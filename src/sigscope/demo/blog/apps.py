from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save


class SubscriberDigest:
    """Queues a digest e-mail for the blog's subscribers."""

    def queue(self, sender: type, post: Any, **kwargs: Any) -> str:
        return f"digest queued for {post}"


class BlogConfig(AppConfig):
    name = "sigscope.demo.blog"
    label = "blog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sigscope.demo.shop import webhooks
        from sigscope.demo.shop.signals import log_change

        from . import handlers
        from .models import Post

        # Every save logged: but shop.Order's saves were logged already (any + specific).
        post_save.connect(log_change)

        # The blog wanted the webhook too, and called the installer a second time.
        webhooks.install("https://hooks.example.com/shipped")

        # A local function held weakly: only DEBUG=True's cache keeps it alive.
        # With DEBUG=False it is garbage collected at once and never runs.
        def warm_cache(sender: type, instance: Any, **kwargs: Any) -> None:
            return None

        post_save.connect(warm_cache, sender=Post)

        # A bound method of an object nobody keeps: dead as soon as it is connected.
        # (It stays listed until Django prunes it at the next send or connect.)
        handlers.post_published.connect(SubscriberDigest().queue)
