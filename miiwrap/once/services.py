"""Claiming a form's token in the transaction that creates what the form asks for."""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from miiwrap.once.models import FormToken

SOMEONE_ELSE = "This form was sent before from another account: reload the page to start again."


class AlreadySent(Exception):
    """The same form was sent before by the same user; `target` is what that post created
    (None when it has since been deleted)."""

    def __init__(self, target):
        super().__init__("This form was sent before.")
        self.target = target


def form_token_earlier(*, token, user):
    """AlreadySent when `user` has sent a form with this token before; None otherwise."""
    claim = _claim(token) if token else None
    if claim is not None and claim.user_id == user.pk:
        raise AlreadySent(claim.target)


def form_token_once(*, token, user, create):
    """`create()` once for this token, its result returned; AlreadySent if it was sent before.

    The claim and what `create` writes commit together or not at all, so a post refused by
    a rule leaves the token free for the corrected one. Two posts racing on one token: the
    unique constraint makes the later wait for the earlier (PostgreSQL) or fail at once
    (SQLite's single writer), and it is then shown what the earlier created.
    """
    if not token:
        return create()
    # No look for an earlier claim first: the claim's INSERT finds it (the constraint), and
    # before anything else is written.
    try:
        with transaction.atomic():
            claim = FormToken.objects.create(token=token, user=user)
            created = create()
            claim.content_type = ContentType.objects.get_for_model(created)
            claim.object_id = created.pk
            claim.save(update_fields=["content_type", "object_id"])
    except IntegrityError:
        earlier = _claim(token)
        if earlier is None:
            raise  # the constraint that failed was not the token's
        if earlier.user_id != user.pk:
            raise ValidationError(SOMEONE_ELSE) from None
        raise AlreadySent(earlier.target) from None
    return created


def _claim(token):
    return FormToken.objects.select_related("content_type").filter(token=token).first()
