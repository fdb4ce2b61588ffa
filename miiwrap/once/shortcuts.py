"""What a view answers to a form sent a second time: the page the first post led to."""

from django.contrib import messages
from django.shortcuts import redirect

from miiwrap.once.forms import posted_token
from miiwrap.once.services import AlreadySent, form_token_earlier

SENT_BEFORE = "This form had already been sent; it was saved once, as shown here."


def shown_again(request, sent, page, fallback):
    """Redirect to `page(target)` for what the first post created (`fallback` if it is gone)."""
    messages.info(request, SENT_BEFORE)
    return redirect(fallback if sent.target is None else page(sent.target))


def repeated(request, page, fallback, prefix=None):
    """The redirect for a POST that repeats one already handled; None for anything else.
    Checked before anything else where the first post changes what the page allows (a
    draft, once submitted, has no edit page left to answer the second)."""
    if request.method != "POST":
        return None
    try:
        form_token_earlier(token=posted_token(request, prefix), user=request.user)
    except AlreadySent as sent:
        return shown_again(request, sent, page, fallback)
    return None
