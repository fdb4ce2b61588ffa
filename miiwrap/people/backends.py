from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Case, IntegerField, Q, Value, When


class EmailOrUsernameBackend(ModelBackend):
    """Sign in with the username or the email address, in any letter case.

    What was typed names at most one account, chosen before any password is checked:
    the exact username first, then the username in another letter case, then the email
    address (oldest account first). The password is hashed exactly once whether that
    account exists or not, so the time a sign-in takes does not tell whether it does.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user = self._account_named(username)
        if user is None:
            # Hash anyway, once, so a missing account takes as long as a wrong password.
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def _account_named(self, typed):
        User = get_user_model()
        rank = Case(
            When(username=typed, then=Value(0)),
            When(username__iexact=typed, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
        candidates = User.objects.filter(Q(username__iexact=typed) | Q(email__iexact=typed))
        return candidates.annotate(rank=rank).order_by("rank", "pk").first()
