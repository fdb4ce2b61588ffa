"""Signed-in sessions: they expire after a spell of idleness without a write on every
request, and they give the second sign-in step before any page."""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.shortcuts import redirect
from django.urls import reverse

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


class SecondFactorMiddleware:
    """Until a signed-in session has given the code it owes (or set up the second step the
    setting requires), every page sends it to the page that asks for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            detour = self._detour(request)
            if detour is not None:
                return detour
        return self.get_response(request)

    def _detour(self, request):
        from miiwrap.people import second_factor

        verify, setup = reverse("second_factor_verify"), reverse("second_factor")
        if request.path_info in {verify, setup, reverse("logout")}:
            return None
        if second_factor.code_owed(request):
            return redirect(f"{verify}?{urlencode({'next': request.get_full_path()})}")
        if second_factor.setup_owed(request):
            return redirect(setup)
        return None
