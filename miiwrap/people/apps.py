from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "miiwrap.people"
    label = "people"
    verbose_name = "People and organizations"
