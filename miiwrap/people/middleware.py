"""Signed-in sessions expire after a spell of idleness, without a write on every request."""

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY

REFRESHED_AT = "_miiwrap_refreshed_at"


class IdleSessionMiddleware:
    """Pushes a signed-in session's expiry forward at most once per refresh interval.

    A session lives `SESSION_COOKIE_AGE` seconds from its last save. Saving on every
    request (SESSION_SAVE_EVERY_REQUEST) would keep it alive exactly, at the cost of a
    database write per page; here a request saves it only when a tenth of that age has
    passed since the last save, so someone idle for the whole age (less up to a tenth)
    is signed out, and a busy page costs no writes.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY):
            now = int(time.time())
            if now - session.get(REFRESHED_AT, 0) >= settings.SESSION_COOKIE_AGE // 10:
                # Marks the session modified, so SessionMiddleware saves it with a new
                # expiry and sends the cookie again.
                session[REFRESHED_AT] = now
        return response


def stamp_session_at_sign_in(sender, request, user, **kwargs):
    """Signing in saves the session anyway: count it as the first refresh, so the page
    after it does not write again."""
    if request is not None and hasattr(request, "session"):
        request.session[REFRESHED_AT] = int(time.time())
