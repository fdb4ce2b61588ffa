from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class EmailOrUsernameBackend(ModelBackend):
    """Sign in with the username or the email address, in any letter case."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        User = get_user_model()
        candidates = User.objects.filter(username__iexact=username) | User.objects.filter(
            email__iexact=username
        )
        for user in candidates.order_by("pk"):
            if user.check_password(password) and self.user_can_authenticate(user):
                return user
        # Run the hasher once anyway so a missing account takes as long as a wrong password.
        User().set_password(password)
        return None
