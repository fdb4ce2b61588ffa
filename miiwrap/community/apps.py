from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "miiwrap.community"
    label = "community"
    verbose_name = "Learning community"
