"""The blog's receivers.

Imported as ``sigscope.demo.blog.handlers`` by BlogConfig.ready() and, by
mistake, as ``blog.handlers`` from the shop (see ``shop/signals.py``).  Absolute
imports of the models keep the second import from defining the models twice.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from sigscope.demo.blog.models import Post
from sigscope.demo.blog.signals import post_published


# The auto-created through model of Post.tags is the sender of m2m_changed.
@receiver(m2m_changed, sender=Post.tags.through)
def reindex_tags(sender: type, instance: Any, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear") and isinstance(instance, Post):
        names = ", ".join(sorted(t.name for t in instance.tags.all()))
        Post.objects.filter(pk=instance.pk).update(tag_names=names)


# Two signals, one decorator.
@receiver([post_published, user_logged_in], dispatch_uid="blog.remember_activity")
def remember_activity(sender: Any, **kwargs: Any) -> None:
    return None
