from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "miiwrap.people"
    label = "people"
    verbose_name = "People and organizations"

    def ready(self):
        from miiwrap import text  # registers the system check on text fields

        text.install_validators()
