from django.apps import AppConfig


class OnceConfig(AppConfig):
    name = "miiwrap.once"
    label = "once"
    verbose_name = "Forms sent once"
