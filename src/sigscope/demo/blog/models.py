from django.db import models

from sigscope.demo.blog.signals import post_archived, post_published


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    published = models.BooleanField(default=False)
    tag_names = models.CharField(max_length=500, blank=True, editable=False)
    tags = models.ManyToManyField(Tag, blank=True, related_name="posts")

    def __str__(self) -> str:
        return self.title

    def publish(self) -> None:
        """Make the post live and announce it (``post_published``)."""
        self.published = True
        self.save(update_fields=["published"])
        post_published.send(sender=Post, post=self)

    def archive(self) -> None:
        """Take the post down.  Nothing listens to ``post_archived`` any more: the search
        app that did was removed (finding: never_received)."""
        self.published = False
        self.save(update_fields=["published"])
        post_archived.send(sender=Post, post=self)
