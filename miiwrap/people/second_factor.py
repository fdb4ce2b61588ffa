"""A second sign-in step, a code from an authenticator app (TOTP, through django-otp).

Offered to those who decide certifications or administer (see access.py); with the
REQUIRE_SECOND_FACTOR setting they must turn it on before anything else. Someone with a
confirmed device gives a code after their password, on every sign-in, before any page
(the admin too) opens.

Whether a code is still owed is a flag set in the session at sign-in, so pages cost no
query for it; the code page clears it.
"""

import base64
import io

import segno
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from miiwrap.people.access import viewer_for

PENDING = "_miiwrap_second_factor_pending"


def offered_to(user):
    return viewer_for(user).decides_or_administers


def required_for(user):
    return settings.REQUIRE_SECOND_FACTOR and offered_to(user)


def confirmed_device(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def device_to_confirm(user):
    """The device being set up: the unconfirmed one already made, or a new one."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def code_owed(request):
    """Signed in with a password, and a code is still owed for this session."""
    return bool(request.session.get(PENDING)) and not request.user.is_verified()


def setup_owed(request):
    """The setting requires a second step of this user, and they have none yet."""
    user = request.user
    return required_for(user) and not user.is_verified() and not code_owed(request)


def holds_back(request):
    return code_owed(request) or setup_owed(request)


def owe_code_at_sign_in(sender, request, user, **kwargs):
    """Connected to user_logged_in: from now on this session owes a code, if the user
    has a device to give one."""
    if getattr(request, "session", None) is None:
        return
    if confirmed_device(user) is not None:
        request.session[PENDING] = True


def qr_data_uri(device):
    """The device's setup address as a QR code, an SVG image for an <img> tag."""
    out = io.BytesIO()
    segno.make(device.config_url, error="m").save(out, kind="svg", scale=4, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def secret_for_typing(device):
    """The key as the apps take it typed in: base32, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
