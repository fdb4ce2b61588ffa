"""A form that creates something carries a token; the record of its use makes a resend harmless.

The token is issued when the form is drawn (see once.forms) and claimed, with a unique
constraint, in the same transaction as what the form creates. A second post of the same
form (a double click, a replayed request, a retry after a slow answer) finds the claim
and is shown what the first created, instead of creating it again.
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


class FormToken(models.Model):
    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    used_at = models.DateTimeField(default=timezone.now)
    # What the first post created; empty only inside the transaction that claims it.
    content_type = models.ForeignKey(ContentType, null=True, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField(null=True)
    target = GenericForeignKey("content_type", "object_id")

    class Meta:
        indexes = [models.Index(fields=["used_at"])]

    def __str__(self):
        return f"form {self.token[:8]}… used {self.used_at:%Y-%m-%d %H:%M}"
