from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "miiwrap.notifications"
    label = "notifications"
    verbose_name = "Notifications"
