from django.apps import AppConfig


class NightlyConfig(AppConfig):
    name = "miiwrap.nightly"
    label = "nightly"
    verbose_name = "Nightly runs"
