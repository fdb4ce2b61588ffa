"""Throttling failed sign-ins, through django-axes.

Failures are counted for each pair of (what was typed, address) and for each address
alone, over the last `LOGIN_COOLOFF_MINUTES`. A pair is refused after
`LOGIN_FAILURES_PER_ACCOUNT` failures, an address after `LOGIN_FAILURES_PER_ADDRESS`;
both lift by themselves once the failures age past the cool-off, and a success clears
the pair. Nothing is ever locked for good, and since the pair includes the address,
someone guessing from elsewhere never locks a coach out of their own desk.
"""

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.http import HttpResponse

# Axes keeps what was typed in a 255-character column; no account's name is longer.
TYPED_NAME_KEPT = 255

LOCKED_MESSAGE = (
    "Too many failed sign-ins from here. Wait {minutes} minutes, then try again, "
    "or reset your password."
)


def typed_name(request, credentials):
    """What was typed as the username, in one letter case, as the backend reads it, cut
    to what axes can keep (a longer one names no account, and must not fail the page)."""
    if credentials:
        typed = credentials.get("username")
    else:
        typed = getattr(request, "POST", {}).get("username")
    return typed.strip().lower()[:TYPED_NAME_KEPT] if typed else typed


def client_address(request):
    """The client's address: REMOTE_ADDR, or behind `TRUSTED_PROXY_COUNT` proxies the
    entry of X-Forwarded-For that the nearest proxy saw (earlier ones can be forged)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if proxies and len(hops) >= proxies:
        return hops[-proxies]
    return request.META.get("REMOTE_ADDR")


class PairAndAddressHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit of its own for an address alone.

    Axes compares one count with one limit (`AXES_FAILURE_LIMIT`, here the pair's):
    the count reported is the pair's, or at least that limit once the address alone
    has reached `LOGIN_FAILURES_PER_ADDRESS`.
    """

    def get_failures(self, request, credentials=None):
        pair, address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if address >= settings.LOGIN_FAILURES_PER_ADDRESS:
            return max(pair, settings.AXES_FAILURE_LIMIT)
        return pair


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page again, with a message that says nothing about the account.

    The failed attempt has already rendered the sign-in form (ours or the admin's) with
    its errors; the same page is rendered again with the lockout message in their place.
    """
    message = LOCKED_MESSAGE.format(minutes=settings.LOGIN_COOLOFF_MINUTES)
    form = (getattr(original_response, "context_data", None) or {}).get("form")
    if form is None:
        return HttpResponse(message, status=429, content_type="text/plain")
    form.errors["__all__"] = form.error_class([message], error_class="nonfield")
    original_response.content = original_response.rendered_content
    original_response.status_code = 429
    return original_response
