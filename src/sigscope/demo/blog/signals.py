"""The blog's custom signal."""

from django.dispatch import Signal

#: Sent with ``post=`` when a post goes live.
post_published = Signal()
#: Sent with ``post=`` when a post is taken down.
post_archived = Signal()
