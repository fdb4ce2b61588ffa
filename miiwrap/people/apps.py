from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "miiwrap.people"
    label = "people"
    verbose_name = "People and organizations"

    def ready(self):
        from miiwrap import text  # registers the system check on text fields

        text.install_validators()

        from django.contrib.auth.signals import user_logged_in

        from miiwrap.people.middleware import stamp_session_at_sign_in
        from miiwrap.people.second_factor import owe_code_at_sign_in

        user_logged_in.connect(stamp_session_at_sign_in, dispatch_uid="stamp_session_at_sign_in")
        user_logged_in.connect(owe_code_at_sign_in, dispatch_uid="owe_code_at_sign_in")
