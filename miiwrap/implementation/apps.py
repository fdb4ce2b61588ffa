from django.apps import AppConfig


class ImplementationConfig(AppConfig):
    name = "miiwrap.implementation"
    label = "implementation"
    verbose_name = "Implementation"
